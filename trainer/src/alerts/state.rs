//! Where each rule stands between evaluations, with Prometheus' semantics: a breached
//! condition makes the alert *pending*; held for the rule's `for` it *fires*; the first
//! evaluation without the breach (or without data) *resolves* it.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::eval::Observation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Phase {
    Inactive,
    Pending,
    Firing,
}

/// A change worth telling someone about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    Fired,
    Resolved,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleState {
    pub phase: Phase,
    /// When the condition started to hold (pending or firing), else None.
    pub active_since: Option<SystemTime>,
    /// When it fired (kept after it resolves, for the resolved notification).
    pub fired_at: Option<SystemTime>,
    /// When it last resolved.
    pub resolved_at: Option<SystemTime>,
    /// The last value computed; None when there was no data.
    pub value: Option<f64>,
}

impl Default for RuleState {
    fn default() -> Self {
        Self {
            phase: Phase::Inactive,
            active_since: None,
            fired_at: None,
            resolved_at: None,
            value: None,
        }
    }
}

impl RuleState {
    /// Takes one evaluation at `now`; returns the transition it caused, if any.
    pub fn step(
        &mut self,
        seen: Option<Observation>,
        hold: Duration,
        now: SystemTime,
    ) -> Option<Transition> {
        self.value = seen.map(|o| o.value);
        if !seen.is_some_and(|o| o.breached) {
            let was_firing = self.phase == Phase::Firing;
            self.phase = Phase::Inactive;
            self.active_since = None;
            if was_firing {
                self.resolved_at = Some(now);
                return Some(Transition::Resolved);
            }
            return None;
        }
        let since = *self.active_since.get_or_insert(now);
        let held = now.duration_since(since).unwrap_or(Duration::ZERO);
        if self.phase != Phase::Firing && held >= hold {
            self.phase = Phase::Firing;
            self.fired_at = Some(now);
            self.resolved_at = None;
            return Some(Transition::Fired);
        }
        if self.phase == Phase::Inactive {
            self.phase = Phase::Pending;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn obs(breached: bool) -> Option<Observation> {
        Some(Observation {
            value: 1.0,
            breached,
        })
    }

    #[test]
    fn fires_only_after_holding_for_the_duration_then_resolves() {
        let (mut s, hold) = (RuleState::default(), Duration::from_secs(30));
        assert_eq!(s.step(obs(true), hold, at(0)), None);
        assert_eq!(s.phase, Phase::Pending);
        assert_eq!(s.step(obs(true), hold, at(20)), None);
        assert_eq!(s.step(obs(true), hold, at(30)), Some(Transition::Fired));
        assert_eq!((s.phase, s.fired_at), (Phase::Firing, Some(at(30))));
        assert_eq!(s.step(obs(true), hold, at(40)), None, "fires once");
        assert_eq!(s.step(obs(false), hold, at(50)), Some(Transition::Resolved));
        assert_eq!((s.phase, s.resolved_at), (Phase::Inactive, Some(at(50))));
        assert_eq!(s.step(obs(false), hold, at(60)), None, "resolves once");
    }

    #[test]
    fn a_gap_while_pending_restarts_the_clock() {
        let (mut s, hold) = (RuleState::default(), Duration::from_secs(30));
        s.step(obs(true), hold, at(0));
        assert_eq!(s.step(None, hold, at(20)), None, "no data is not a breach");
        assert_eq!(s.step(obs(true), hold, at(40)), None);
        assert_eq!(s.step(obs(true), hold, at(69)), None);
        assert_eq!(s.step(obs(true), hold, at(70)), Some(Transition::Fired));
    }

    #[test]
    fn zero_hold_fires_at_the_first_breach() {
        let mut s = RuleState::default();
        assert_eq!(
            s.step(obs(true), Duration::ZERO, at(5)),
            Some(Transition::Fired)
        );
    }
}
