/// Tensor outputs are allocated and freed every op; see the note in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = glassbox_trainer::cli::main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
