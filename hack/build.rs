//! Empty: its presence makes cargo resolve this crate's build-dependencies, which pin the
//! features of proc-macro2, syn and serde on the host side (see Cargo.toml).
fn main() {}
