//! glassbox-model as a library: load a bundle from disk, classify sentences and find their
//! entities. It uses nothing of the trainer but its dependencies (the model crate and burn):
//! it lives here so that it builds with the same burn features as the CLI.
//!
//! ```sh
//! cargo run --release -p glassbox-trainer --example predict -- public/models/default "Paris in the spring"
//! ```
//!
//! The crate takes bytes, not paths (the page fetches the same files over HTTP), so reading
//! the three files is the caller's part.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::backend::Flex;
use glassbox_model::text::decode::{argmax, entities};
use glassbox_model::view::{read, ReadBack};
use glassbox_model::weights::bundle::{load_bundle, LoadedBundle, MANIFEST, TOKENIZER, WEIGHTS};

type B = Flex;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), texts) = (args.next(), args.collect::<Vec<_>>()) else {
        eprintln!("usage: predict BUNDLE_DIR TEXT...");
        return ExitCode::from(64);
    };
    match run(&PathBuf::from(dir), &texts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path, texts: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let bundle = load(dir)?;
    let device = Default::default();
    let items = texts
        .iter()
        .map(|t| bundle.tokenizer.encode(t))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = bundle.tokenizer.batch::<B>(&items, &device);
    let output = bundle.model.forward(batch.input_ids, batch.pad_mask);
    let config = &bundle.manifest.config;
    for r in read(output, &ReadBack::Outputs)?.split(items) {
        let (class, p) = argmax(&r.sentence_probs);
        println!(
            "{}\n  class: {} ({p:.3})",
            r.tokenized.text, config.sentence_labels[class]
        );
        for e in entities(&r.tokenized, &r.token_probs, &config.token_labels) {
            println!(
                "  {} [{}..{}) {:?} ({:.3})",
                e.label, e.start, e.end, e.text, e.score
            );
        }
    }
    Ok(())
}

/// Reads the manifest, weights and tokenizer; `load_bundle` checks each against its hash.
fn load(dir: &Path) -> Result<LoadedBundle<B>, Box<dyn std::error::Error>> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    Ok(load_bundle(
        &read(MANIFEST)?,
        read(WEIGHTS)?,
        &read(TOKENIZER)?,
        &Default::default(),
    )?)
}
