//! Online A/B and shadow tests of a challenger model (`--ab-weight`, `--shadow`).
//!
//! **A/B**: each `/predict` request goes to the challenger with probability `--ab-weight`,
//! decided by a seeded hash of the client key (header `--ab-client-header`, default
//! `x-client-id`), so a client always lands in the same arm; requests without the header are
//! assigned by their request id (not sticky). The answer carries `x-glassbox-arm` and
//! `x-glassbox-model-version`.
//! **Shadow**: every `/predict` is answered by the champion; the challenger gets a copy after
//! the answer is sent, and its prediction is only logged.
//!
//! With `--ab-log FILE` every prediction (arm, model version, class, confidence, request id)
//! and every `POST /feedback` (the true label for a request's input) is appended to a JSONL
//! log that `glassbox ab-report` turns into per-arm metrics with intervals and a test of the
//! difference. Other routes are answered by the champion.

pub mod log;
pub mod report;
pub(crate) mod route;

use std::path::PathBuf;

use anyhow::{bail, Result};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// The A/B flags of `glassbox serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct AbArgs {
    /// Share of `/predict` requests (0 to 1) answered by the challenger: with --registry its
    /// `challenger` alias, else --ab-challenger.
    #[arg(long, default_value_t = 0.0)]
    pub ab_weight: f64,
    /// Mirror every `/predict` to the challenger and log its answers without returning them.
    #[arg(long, conflicts_with = "ab_weight")]
    pub shadow: bool,
    /// The challenger bundle when there is no --registry.
    #[arg(long)]
    pub ab_challenger: Option<PathBuf>,
    /// The registry alias of the challenger.
    #[arg(long, default_value = "challenger")]
    pub ab_challenger_alias: String,
    /// Request header whose value keeps a client in one arm.
    #[arg(long, default_value = "x-client-id")]
    pub ab_client_header: String,
    /// Seed of the arm assignment (a new seed reshuffles clients between arms).
    #[arg(long, default_value_t = 0)]
    pub ab_seed: u64,
    /// JSONL log of every prediction's arm and outcome and of every /feedback.
    #[arg(long)]
    pub ab_log: Option<PathBuf>,
}

impl AbArgs {
    /// Whether a challenger runs at all.
    pub fn enabled(&self) -> bool {
        self.ab_weight > 0.0 || self.shadow
    }

    pub fn check(&self, registry: bool) -> Result<()> {
        if !(0.0..=1.0).contains(&self.ab_weight) {
            bail!(
                "--ab-weight must be between 0 and 1, got {}",
                self.ab_weight
            );
        }
        if self.enabled() && !registry && self.ab_challenger.is_none() {
            bail!("--ab-weight/--shadow need a challenger: --registry (its `{}` alias) or --ab-challenger DIR", self.ab_challenger_alias);
        }
        Ok(())
    }
}

/// Shadow copies being answered at once, at most.
pub const SHADOW_IN_FLIGHT: usize = 64;

/// The two arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    Champion,
    Challenger,
}

impl Arm {
    pub fn name(self) -> &'static str {
        match self {
            Arm::Champion => "champion",
            Arm::Challenger => "challenger",
        }
    }
}

/// The running test: how requests are split and where outcomes are logged.
pub struct Ab {
    pub weight: f64,
    pub shadow: bool,
    pub header: String,
    pub seed: u64,
    pub log: Option<log::AbLog>,
    /// Shadow copies in flight at most (they run after the answer and hold no request
    /// permit); beyond it a copy is dropped and counted, so a slow challenger cannot pile up
    /// work under load.
    pub shadow_slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Ab {
    pub fn new(a: &AbArgs) -> Result<Self> {
        Ok(Ab {
            weight: a.ab_weight,
            shadow: a.shadow,
            header: a.ab_client_header.to_ascii_lowercase(),
            seed: a.ab_seed,
            log: a.ab_log.as_deref().map(log::AbLog::open).transpose()?,
            shadow_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(SHADOW_IN_FLIGHT)),
        })
    }

    /// The client key of a request: the client header, else the request id.
    pub fn client<'a>(&self, headers: &'a HeaderMap, request_id: &'a str) -> (&'a str, bool) {
        match headers
            .get(self.header.as_str())
            .and_then(|v| v.to_str().ok())
        {
            Some(k) if !k.is_empty() => (k, true),
            _ => (request_id, false),
        }
    }

    /// The arm of `client` (never the challenger in shadow mode).
    pub fn arm(&self, client: &str) -> Arm {
        if !self.shadow && unit(self.seed, client) < self.weight {
            Arm::Challenger
        } else {
            Arm::Champion
        }
    }
}

/// A uniform number in [0, 1) from the seed and the key: the first 8 bytes of
/// SHA-256(seed ‖ key), so the split is the same on every replica and every restart.
pub fn unit(seed: u64, key: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(key.as_bytes());
    let bytes: [u8; 8] = h.finalize()[..8].try_into().expect("8 bytes");
    (u64::from_be_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ab(weight: f64, shadow: bool) -> Ab {
        Ab {
            weight,
            shadow,
            header: "x-client-id".into(),
            seed: 3,
            log: None,
            shadow_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    #[test]
    fn the_split_follows_the_weight_and_sticks() {
        let t = ab(0.2, false);
        let n = 20_000;
        let hits = (0..n)
            .filter(|i| t.arm(&format!("client-{i}")) == Arm::Challenger)
            .count();
        // Binomial(20000, 0.2): sd = 56.6; 4 sd either side.
        assert!((hits as f64 - 4000.0).abs() < 4.0 * 56.6, "{hits}");
        for i in 0..100 {
            let k = format!("client-{i}");
            assert_eq!(t.arm(&k), t.arm(&k));
        }
        assert!((0..1000).all(|i| ab(0.0, false).arm(&i.to_string()) == Arm::Champion));
        assert!((0..1000).all(|i| ab(1.0, false).arm(&i.to_string()) == Arm::Challenger));
        assert!((0..1000).all(|i| ab(1.0, true).arm(&i.to_string()) == Arm::Champion));
    }

    #[test]
    fn the_unit_hash_is_sha256_of_seed_and_key() {
        // sha256(le_bytes(0) ‖ "a"), first 8 bytes, top 53 bits — computed independently.
        let mut h = Sha256::new();
        h.update([0u8; 8]);
        h.update(b"a");
        let d = h.finalize();
        let top = u64::from_be_bytes(d[..8].try_into().unwrap()) >> 11;
        assert_eq!(unit(0, "a"), top as f64 / 9007199254740992.0);
        assert_ne!(unit(0, "a"), unit(1, "a"));
    }
}
