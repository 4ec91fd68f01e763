//! Throughput of the int8 kernels against f32: a naive loop and burn's own matmul on the
//! Flex backend (burn-flex over `gemm`; single-threaded in this crate's build, which leaves
//! burn-flex's `rayon` feature off), on the MiniLM linear-layer shapes.
//!
//! ```text
//! cargo run --release -p glassbox-model --example int8_gemm
//! ```
//!
//! Numbers are multiply-adds per second (m · k · n per call, no bias), best of 5 rounds of
//! at least 100 ms each. Time is this thread's CPU time where Linux reports it, so a busy
//! machine slows the numbers less than it would wall-clock time.

use std::hint::black_box;
use std::time::Instant;

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use glassbox_model::kernels::int8::{matmul_with, Isa, PackedI8};

const ROWS: [usize; 2] = [16, 128];
const SHAPES: [(usize, usize); 3] = [(384, 384), (384, 1536), (1536, 384)];

fn main() {
    let paths: Vec<Isa> = Isa::ALL
        .into_iter()
        .filter(|isa| isa.is_available())
        .collect();
    println!(
        "int8 GEMM vs f32, one thread, G multiply-adds/s ({})",
        clock_name()
    );
    println!("int8 paths here: {paths:?} (best first)\n");
    let mut header = format!(
        "{:>5} {:>5} {:>5} | {:>9} {:>9} | {:>10} {:>9}",
        "m", "k", "n", "f32 naive", "burn f32", "int8 best", "int8/burn"
    );
    for isa in &paths[1..] {
        header += &format!(" {:>10}", format!("{isa:?}"));
    }
    println!("{header}");
    for m in ROWS {
        for (k, n) in SHAPES {
            println!("{}", row(m, k, n, &paths));
        }
    }
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count());
    if threads > 1 {
        println!("\nnote: {threads} threads ran; burn's number may use more than one core");
    }
}

/// One table row: every implementation on an `m × k` by `k × n` product.
fn row(m: usize, k: usize, n: usize, paths: &[Isa]) -> String {
    let mut rng = 0x2545_F491_4F6C_DD1D_u64;
    let x: Vec<f32> = (0..m * k).map(|_| normal(&mut rng)).collect();
    let w: Vec<f32> = (0..k * n).map(|_| normal(&mut rng)).collect();
    let macs = (m * k * n) as f64;
    let mut out = vec![0f32; m * n];

    let naive = macs / seconds_per_call(|| naive_matmul(&x, &w, (m, k, n), &mut out));

    let device = Default::default();
    let xt = Tensor::<Flex, 2>::from_data(TensorData::new(x.clone(), [m, k]), &device);
    let wt = Tensor::<Flex, 2>::from_data(TensorData::new(w.clone(), [k, n]), &device);
    let burn = macs / seconds_per_call(|| drop(black_box(xt.clone().matmul(wt.clone()))));

    let packed = PackedI8::from_f32(&w, k, n);
    let int8: Vec<f64> = paths
        .iter()
        .map(|&isa| macs / seconds_per_call(|| matmul_with(isa, &x, m, &packed, None, &mut out)))
        .collect();

    let mut line = format!(
        "{m:>5} {k:>5} {n:>5} | {:>9.1} {:>9.1} | {:>10.1} {:>8.2}x",
        naive / 1e9,
        burn / 1e9,
        int8[0] / 1e9,
        int8[0] / burn
    );
    for rate in &int8[1..] {
        line += &format!(" {:>10.1}", rate / 1e9);
    }
    line
}

/// `out = x · w`, the textbook loop order that lets the compiler vectorize over `n`.
fn naive_matmul(x: &[f32], w: &[f32], (m, k, n): (usize, usize, usize), out: &mut [f32]) {
    out.fill(0.0);
    for (x, out) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)).take(m) {
        for (&a, w) in x.iter().zip(w.chunks_exact(n)) {
            for (o, &b) in out.iter_mut().zip(w) {
                *o += a * b;
            }
        }
    }
    black_box(out);
}

/// Best time per call over 5 rounds of at least 100 ms.
fn seconds_per_call(mut f: impl FnMut()) -> f64 {
    f(); // warm up caches and lazy initialisation
    (0..5)
        .map(|_| {
            let start = now();
            let mut calls = 0u32;
            while now() - start < 0.1 {
                f();
                calls += 1;
            }
            (now() - start) / f64::from(calls)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Seconds on this thread's CPU clock (Linux), or on the wall clock elsewhere.
fn now() -> f64 {
    thread_cpu_seconds().unwrap_or_else(|| {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64()
    })
}

fn clock_name() -> &'static str {
    match thread_cpu_seconds() {
        Some(_) => "thread CPU time",
        None => "wall-clock time",
    }
}

/// The first field of `/proc/thread-self/schedstat`: nanoseconds this thread ran.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 * 1e-9)
}

/// A standard normal from a xorshift64 state (Box–Muller); no `rand` dependency.
fn normal(state: &mut u64) -> f32 {
    let mut uniform = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        ((*state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (u, v) = (uniform(), uniform());
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}
