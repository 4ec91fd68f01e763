//! What a person watching a run sees: a progress bar with the smoothed loss per task, the
//! learning rate and the throughput, or, without a terminal (CI, logs), a plain line every
//! 30 s. Also keeps the training clock, summed over resumed sessions.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Seconds over which the sentences/s figure is averaged.
const RATE_WINDOW_S: f64 = 5.0;
/// Seconds between plain lines when there is no terminal.
const PLAIN_EVERY_S: u64 = 30;

pub struct Progress {
    bar: ProgressBar,
    total: usize,
    /// Exponential moving average of each task's loss.
    ema: Vec<Option<f64>>,
    window: (Instant, usize),
    rate: f64,
    plain: bool,
    last_plain: Instant,
    started: Instant,
    elapsed_before: f64,
}

impl Progress {
    /// A bar over `total` steps starting at `step`, for a run that trained `elapsed_before`
    /// seconds in earlier sessions.
    pub fn new(total: usize, step: usize, tasks: usize, elapsed_before: f64) -> Self {
        let bar = ProgressBar::new(total as u64).with_position(step as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps {elapsed_precise} (eta {eta}) {msg}",
            )
            .expect("valid template"),
        );
        let plain = bar.is_hidden();
        Self {
            bar,
            total,
            ema: vec![None; tasks],
            window: (Instant::now(), 0),
            rate: 0.0,
            plain,
            last_plain: Instant::now(),
            started: Instant::now(),
            elapsed_before,
        }
    }

    /// Training seconds so far, this session and the earlier ones.
    pub fn elapsed_s(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Counts sentences towards the throughput figure.
    pub fn trained(&mut self, sentences: usize) {
        self.window.1 += sentences;
    }

    /// After a step: fold in the losses (task index, loss) and show where the run is.
    pub fn stepped(&mut self, step: usize, names: &[&str], losses: &[(usize, f64)], lr: f64) {
        let secs = self.window.0.elapsed().as_secs_f64();
        if secs > RATE_WINDOW_S {
            self.rate = self.window.1 as f64 / secs;
            self.window = (Instant::now(), 0);
        }
        for &(ti, loss) in losses {
            self.ema[ti] = Some(self.ema[ti].map_or(loss, |e| 0.9 * e + 0.1 * loss));
        }
        let shown = self.losses(names);
        self.bar.set_message(format!(
            "loss {shown} | lr {lr:.2e} | {:.1} sent/s",
            self.rate
        ));
        self.bar.set_position(step as u64);
        if self.plain && self.last_plain.elapsed().as_secs() >= PLAIN_EVERY_S {
            self.last_plain = Instant::now();
            eprintln!(
                "step {step}/{}: loss {shown} | lr {lr:.2e} | {:.1} sent/s",
                self.total, self.rate
            );
        }
    }

    fn losses(&self, names: &[&str]) -> String {
        names
            .iter()
            .zip(&self.ema)
            .map(|(t, e)| format!("{t} {}", e.map_or("-".into(), |v| format!("{v:.3}"))))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A line above the bar (dev results, early stopping).
    pub fn println(&self, line: String) {
        self.bar.println(line);
    }

    /// Leaves the bar where it is when the run stops with an error.
    pub fn abandon(&self) {
        self.bar.abandon();
    }

    pub fn finish(&self) {
        self.bar.finish();
    }
}
