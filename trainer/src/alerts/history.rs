//! The snapshots taken at each evaluation, kept as long as the longest rule window needs:
//! a rule over `5m` compares now with the oldest snapshot at most 5 minutes old.

use std::collections::VecDeque;
use std::time::Duration;

use super::eval::Window;
use super::snapshot::Snapshot;

pub(crate) struct History {
    /// (time since the evaluator started, snapshot), oldest first.
    entries: VecDeque<(Duration, Snapshot)>,
    /// The longest window any rule looks back over.
    keep: Duration,
}

impl History {
    pub fn new(keep: Duration) -> Self {
        Self {
            entries: VecDeque::new(),
            keep,
        }
    }

    /// Adds the snapshot taken at `at` and forgets those no window can reach any more.
    pub fn push(&mut self, at: Duration, snapshot: Snapshot) {
        self.entries.push_back((at, snapshot));
        let oldest_needed = at.saturating_sub(self.keep);
        while self.entries.len() > 2 && self.entries[1].0 <= oldest_needed {
            self.entries.pop_front();
        }
    }

    /// The window of length `span` ending at the newest snapshot: from the oldest snapshot
    /// inside it, or — when the interval is longer than the span — from the one before the
    /// newest. A zero span (gauges) is the newest snapshot alone. None before two snapshots.
    pub fn window(&self, span: Duration) -> Option<Window<'_>> {
        let (now_at, now) = self.entries.back()?;
        if span.is_zero() {
            return Some(Window {
                start: now,
                now,
                seconds: 0.0,
            });
        }
        let from = now_at.saturating_sub(span);
        let last = self.entries.len() - 1;
        let first = self.entries.iter().position(|(t, _)| *t >= from)?;
        let i = if first == last {
            last.checked_sub(1)?
        } else {
            first
        };
        let (start_at, start) = &self.entries[i];
        let seconds = (*now_at - *start_at).as_secs_f64();
        Some(Window {
            start,
            now,
            seconds,
        })
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::Sample;
    use super::*;

    /// A snapshot whose one counter holds `v`: which snapshot a window picked is its value.
    fn snap(v: f64) -> Snapshot {
        let mut s = Snapshot::default();
        s.insert("c", &[], Sample::Scalar(v));
        s
    }

    fn value(s: &Snapshot) -> f64 {
        match s.series("c")[0].value {
            Sample::Scalar(v) => v,
            Sample::Histogram(_) => unreachable!(),
        }
    }

    #[test]
    fn windows_start_at_the_oldest_snapshot_inside_them() {
        let mut h = History::new(Duration::from_secs(60));
        h.push(Duration::ZERO, snap(0.0));
        assert!(
            h.window(Duration::from_secs(30)).is_none(),
            "one snapshot is no window"
        );
        for s in 1..=10 {
            h.push(Duration::from_secs(s * 10), snap(s as f64));
        }
        // Now at 100 s: a 30 s window starts at 70 s, a 60 s one at 40 s.
        let w = h.window(Duration::from_secs(30)).unwrap();
        assert_eq!((value(w.start), value(w.now), w.seconds), (7.0, 10.0, 30.0));
        let w = h.window(Duration::from_secs(60)).unwrap();
        assert_eq!((value(w.start), w.seconds), (4.0, 60.0));
        // A 5 s window is shorter than the interval: from the previous snapshot.
        let w = h.window(Duration::from_secs(5)).unwrap();
        assert_eq!((value(w.start), w.seconds), (9.0, 10.0));
        // Older snapshots than the longest window needs are gone.
        assert_eq!(h.len(), 7);
    }
}
