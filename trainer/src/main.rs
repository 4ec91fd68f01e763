fn main() {
    if let Err(e) = glassbox_trainer::cli::main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
