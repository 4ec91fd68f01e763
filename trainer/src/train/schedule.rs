//! Learning-rate schedules as pure functions of the step, so a resumed run continues on the
//! very same curve and tests can compare with the closed form.

use std::f64::consts::PI;

use crate::config::{Schedule, TrainParams};

/// Linear warmup from 0 to `base` over `warmup` steps, then linear decay to 0 at `total`.
pub fn warmup_linear(step: usize, total: usize, warmup: usize, base: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let rest = total.saturating_sub(warmup).max(1) as f64;
    base * (1.0 - (step - warmup) as f64 / rest).max(0.0)
}

/// Linear warmup as in [`warmup_linear`], then half a cosine from `base` to 0 at `total`.
pub fn warmup_cosine(step: usize, total: usize, warmup: usize, base: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let rest = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / rest).min(1.0);
    base * 0.5 * (1.0 + (PI * progress).cos())
}

/// Smith's triangular policy: `half` steps up from `low` to `high`, `half` steps down, repeat.
pub fn triangular(step: usize, half: usize, low: f64, high: f64) -> f64 {
    let h = half.max(1) as f64;
    let cycle = (1.0 + step as f64 / (2.0 * h)).floor();
    let x = (step as f64 / h - 2.0 * cycle + 1.0).abs();
    low + (high - low) * (1.0 - x).max(0.0)
}

fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * (1.0 + (PI * pct).cos())
}

/// One cycle: cosine from `max/div` up to `max` over the first `pct` of the steps, then cosine
/// down to `max/(div·final_div)` at the last step.
pub fn one_cycle(step: usize, total: usize, pct: f64, max: f64, div: f64, final_div: f64) -> f64 {
    let start = max / div;
    let end = start / final_div;
    let up = ((pct * total as f64).round() as usize).max(1);
    if step < up {
        cos_anneal(start, max, step as f64 / up as f64)
    } else {
        let down = total.saturating_sub(up + 1).max(1) as f64;
        cos_anneal(max, end, ((step - up) as f64 / down).min(1.0))
    }
}

/// The base learning rate of `step` under the configured schedule (group factors apply on top).
pub fn lr_at(t: &TrainParams, step: usize) -> f64 {
    let warmup = (t.warmup_ratio * t.steps as f64).round() as usize;
    match t.schedule {
        Schedule::Constant => t.lr,
        Schedule::Linear => warmup_linear(step, t.steps, warmup, t.lr),
        Schedule::Cosine => warmup_cosine(step, t.steps, warmup, t.lr),
        Schedule::Cyclical => triangular(step, t.cycle_steps, t.lr * t.min_lr_ratio, t.lr),
        Schedule::OneCycle => one_cycle(
            step,
            t.steps,
            t.one_cycle_pct,
            t.lr,
            t.one_cycle_div,
            t.one_cycle_final_div,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn warmup_then_linear_decay() {
        // 10 steps, 2 of warmup, base 1.0.
        assert_eq!(warmup_linear(0, 10, 2, 1.0), 0.5);
        assert_eq!(warmup_linear(1, 10, 2, 1.0), 1.0);
        assert_eq!(warmup_linear(2, 10, 2, 1.0), 1.0);
        assert_eq!(warmup_linear(6, 10, 2, 1.0), 0.5);
        assert_eq!(warmup_linear(9, 10, 2, 1.0), 0.125);
        assert_eq!(warmup_linear(0, 10, 0, 2.0), 2.0);
    }

    #[test]
    fn cosine_after_warmup_follows_half_a_cosine() {
        // 12 steps, 2 of warmup: decay over 10 steps.
        close(warmup_cosine(0, 12, 2, 1.0), 0.5);
        close(warmup_cosine(2, 12, 2, 1.0), 1.0);
        close(warmup_cosine(7, 12, 2, 1.0), 0.5); // halfway: cos(π/2) = 0
        close(warmup_cosine(4, 12, 2, 1.0), 0.5 * (1.0 + (0.2 * PI).cos()));
        close(warmup_cosine(12, 12, 2, 1.0), 0.0);
    }

    #[test]
    fn triangular_rises_and_falls_linearly_between_bounds() {
        // Half cycle 4 steps between 0.1 and 1.0.
        close(triangular(0, 4, 0.1, 1.0), 0.1);
        close(triangular(2, 4, 0.1, 1.0), 0.55);
        close(triangular(4, 4, 0.1, 1.0), 1.0);
        close(triangular(6, 4, 0.1, 1.0), 0.55);
        close(triangular(8, 4, 0.1, 1.0), 0.1);
        // Second cycle, 3.25 half-cycles in: a quarter of the way down from the peak.
        close(triangular(13, 4, 0.1, 1.0), 0.1 + 0.9 * 0.75);
    }

    #[test]
    fn one_cycle_starts_low_peaks_at_pct_and_ends_lowest() {
        // 100 steps, peak at 30, max 1, div 25, final div 1e4.
        close(one_cycle(0, 100, 0.3, 1.0, 25.0, 1e4), 0.04);
        close(
            one_cycle(15, 100, 0.3, 1.0, 25.0, 1e4),
            0.04 + (1.0 - 0.04) / 2.0,
        );
        close(one_cycle(30, 100, 0.3, 1.0, 25.0, 1e4), 1.0);
        close(one_cycle(99, 100, 0.3, 1.0, 25.0, 1e4), 0.04 / 1e4);
        let mid = one_cycle(30 + 69 / 2, 100, 0.3, 1.0, 25.0, 1e4);
        let want = 0.04 / 1e4 + (1.0 - 0.04 / 1e4) / 2.0 * (1.0 + (PI * 34.0 / 69.0).cos());
        close(mid, want);
    }

    #[test]
    fn lr_at_dispatches_on_the_configured_schedule() {
        let mut t: TrainParams =
            toml::from_str("steps = 100\nlr = 0.5\nwarmup_ratio = 0.1").unwrap();
        for (s, want) in [
            (Schedule::Constant, 0.5),
            (Schedule::Linear, 0.5 * (1.0 - 40.0 / 90.0)),
            (Schedule::Cosine, 0.25 * (1.0 + (PI * 40.0 / 90.0).cos())),
        ] {
            t.schedule = s;
            close(lr_at(&t, 50), want);
        }
        t.schedule = Schedule::Cyclical;
        t.cycle_steps = 10;
        close(lr_at(&t, 5), 0.05 + 0.45 * 0.5);
    }
}
