//! Native forward pass of the real MiniLM on the CPU backend: batch 1 and batch 32 of
//! 32-wordpiece sentences. Throughput is reported by criterion in elements (sentences)/s.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glassbox_trainer::backend::Cpu;
use glassbox_trainer::infer::run;
use glassbox_trainer::load::load_dir;

/// A sentence that is exactly 32 wordpieces with [CLS] and [SEP].
fn sentence_of_32(loaded: &glassbox_trainer::load::Loaded<Cpu>) -> glassbox_model::Tokenized {
    let words = "the quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence near the river bank at dawn and then goes home to rest again";
    let mut text = String::new();
    for w in words.split(' ') {
        let candidate = if text.is_empty() {
            w.to_string()
        } else {
            format!("{text} {w}")
        };
        if loaded.tokenizer.encode(&candidate).unwrap().ids.len() > 32 {
            break;
        }
        text = candidate;
    }
    let t = loaded.tokenizer.encode(&text).unwrap();
    assert_eq!(t.ids.len(), 32, "bench sentence must be 32 wordpieces");
    t
}

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/all-MiniLM-L6-v2");
    let device = Default::default();
    let loaded = load_dir::<Cpu>(&dir, &device).expect("run `glassbox fetch` first");
    let one = sentence_of_32(&loaded);
    let mut group = c.benchmark_group("forward_cpu_32_wordpieces");
    group.sample_size(10);
    for batch in [1usize, 32] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| run(&loaded, vec![one.clone(); batch], batch, true, &device))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
