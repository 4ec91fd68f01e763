//! No code: see Cargo.toml. Depending on this crate pins the features every native glassbox
//! build resolves, so burn and everything under it is compiled once.
