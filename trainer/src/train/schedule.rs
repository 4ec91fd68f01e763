//! Learning-rate schedules as pure functions of the step, so a resumed run continues on the
//! very same curve and tests can compare with the closed form.

/// Linear warmup from 0 to `base` over `warmup` steps, then linear decay to 0 at `total`.
pub fn warmup_linear(step: usize, total: usize, warmup: usize, base: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let rest = total.saturating_sub(warmup).max(1) as f64;
    base * (1.0 - (step - warmup) as f64 / rest).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
