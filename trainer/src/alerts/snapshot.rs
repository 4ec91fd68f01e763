//! The server's metrics at one instant, copied out of its Prometheus registry, and what
//! Prometheus computes from two of them: counter increases, histogram bucket increases and
//! `histogram_quantile`'s interpolated quantile.
//!
//! Only increases between two snapshots are ever used, so the numbers are those of
//! `increase(...[window])` without Prometheus' extrapolation to the window's edges.

use std::collections::{BTreeMap, HashMap};

use prometheus::proto::{MetricFamily, MetricType};

/// Label name → value of one series.
pub(crate) type Labels = BTreeMap<String, String>;

/// Every series of every family, by family name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    families: HashMap<String, Vec<Series>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub labels: Labels,
    pub value: Sample,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sample {
    /// A counter's or a gauge's value.
    Scalar(f64),
    Histogram(Histogram),
}

/// A histogram as Prometheus exposes it: cumulative counts per upper bound (`le`), ascending,
/// without the `+Inf` bucket, whose count is `count`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
    pub sum: f64,
}

impl Snapshot {
    /// Copies the families a registry's `gather()` returned.
    pub fn from_families(families: &[MetricFamily]) -> Self {
        let families = families
            .iter()
            .map(|f| {
                let series = f.get_metric().iter();
                let series = series.filter_map(|m| series_of(f.get_field_type(), m));
                (f.name().to_string(), series.collect())
            })
            .collect();
        Self { families }
    }

    /// Adds one series (hand-built snapshots in tests).
    #[cfg(test)]
    pub fn insert(&mut self, name: &str, labels: &[(&str, &str)], value: Sample) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let list = self.families.entry(name.to_string()).or_default();
        list.push(Series { labels, value });
    }

    /// The series of a family (none if the family is not exported, or not yet).
    pub fn series(&self, name: &str) -> &[Series] {
        self.families.get(name).map_or(&[], Vec::as_slice)
    }

    fn find(&self, name: &str, labels: &Labels) -> Option<&Sample> {
        let found = self.series(name).iter().find(|s| &s.labels == labels);
        found.map(|s| &s.value)
    }

    /// How much each series of a counter family grew since `old`, with its labels. A series
    /// missing from `old` started at 0; one that went down was reset (restart) and counts
    /// from 0 again, as Prometheus' `increase` does.
    pub fn counter_increases(&self, old: &Snapshot, name: &str) -> Vec<(&Labels, f64)> {
        let grown = |s: &Series| match (&s.value, old.find(name, &s.labels)) {
            (Sample::Scalar(now), Some(Sample::Scalar(then))) => Some(increase(*now, *then)),
            (Sample::Scalar(now), None) => Some(*now),
            _ => None,
        };
        let series = self.series(name).iter();
        series
            .filter_map(|s| grown(s).map(|d| (&s.labels, d)))
            .collect()
    }

    /// Each histogram series' increase since `old`, with its labels.
    pub fn histogram_increases(&self, old: &Snapshot, name: &str) -> Vec<(&Labels, Histogram)> {
        let grown = |s: &Series| match (&s.value, old.find(name, &s.labels)) {
            (Sample::Histogram(now), Some(Sample::Histogram(then))) => Some(now.since(then)),
            (Sample::Histogram(now), None) => Some(now.clone()),
            _ => None,
        };
        let series = self.series(name).iter();
        series
            .filter_map(|s| grown(s).map(|h| (&s.labels, h)))
            .collect()
    }
}

fn increase(now: f64, then: f64) -> f64 {
    if now >= then {
        now - then
    } else {
        now
    }
}

/// One series; None for kinds no rule reads (the server exports no summaries).
fn series_of(kind: MetricType, m: &prometheus::proto::Metric) -> Option<Series> {
    let labels = m
        .get_label()
        .iter()
        .map(|l| (l.name().to_string(), l.value().to_string()))
        .collect();
    let value = match kind {
        MetricType::COUNTER => Sample::Scalar(m.get_counter().get_value()),
        MetricType::GAUGE => Sample::Scalar(m.get_gauge().get_value()),
        MetricType::HISTOGRAM => Sample::Histogram(histogram(m.get_histogram())),
        _ => return None,
    };
    Some(Series { labels, value })
}

fn histogram(h: &prometheus::proto::Histogram) -> Histogram {
    let buckets = h
        .get_bucket()
        .iter()
        .filter(|b| b.upper_bound().is_finite())
        .map(|b| (b.upper_bound(), b.cumulative_count() as f64))
        .collect();
    Histogram {
        buckets,
        count: h.get_sample_count() as f64,
        sum: h.get_sample_sum(),
    }
}

impl Histogram {
    /// The observations made since `old` (same buckets); a reset counts from 0 again.
    pub fn since(&self, old: &Histogram) -> Histogram {
        if self.count < old.count || self.buckets.len() != old.buckets.len() {
            return self.clone();
        }
        let buckets = self.buckets.iter().zip(&old.buckets);
        Histogram {
            buckets: buckets.map(|(n, o)| (n.0, n.1 - o.1)).collect(),
            count: self.count - old.count,
            sum: self.sum - old.sum,
        }
    }

    /// Adds another series' counts (same buckets): `sum by (le)` across routes or labels.
    pub fn add(&mut self, other: &Histogram) {
        if self.buckets.is_empty() {
            self.buckets = other.buckets.iter().map(|b| (b.0, 0.0)).collect();
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.1 += theirs.1;
        }
        self.count += other.count;
        self.sum += other.sum;
    }

    /// The `q`-quantile as Prometheus' `histogram_quantile` estimates it: find the bucket
    /// holding rank `q × count` and interpolate linearly inside it (the first bucket starts
    /// at 0); a rank beyond the last finite bound answers that bound. None without data.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 || self.buckets.is_empty() {
            return None;
        }
        let rank = q * self.count;
        let i = self.buckets.iter().position(|b| b.1 >= rank);
        let Some(i) = i else {
            return Some(self.buckets[self.buckets.len() - 1].0);
        };
        let (upper, cumulative) = self.buckets[i];
        if i == 0 && upper <= 0.0 {
            return Some(upper);
        }
        let (lower, below) = if i == 0 {
            (0.0, 0.0)
        } else {
            self.buckets[i - 1]
        };
        let inside = cumulative - below;
        Some(lower + (upper - lower) * (rank - below) / inside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bounds 0.01, 0.05, 0.1 s with 10, 40, 10 observations and 0 beyond: 60 in all.
    fn hist() -> Histogram {
        Histogram {
            buckets: vec![(0.01, 10.0), (0.05, 50.0), (0.1, 60.0)],
            count: 60.0,
            sum: 2.0,
        }
    }

    #[test]
    fn quantile_interpolates_inside_the_bucket_like_prometheus() {
        let h = hist();
        // p99: rank 59.4 lies in (0.05, 0.1] holding ranks 50..60 → 0.05 + 0.05 × 9.4/10.
        assert!((h.quantile(0.99).unwrap() - 0.097).abs() < 1e-12);
        // p50: rank 30 in (0.01, 0.05] holding 10..50 → 0.01 + 0.04 × 20/40 = 0.03.
        assert!((h.quantile(0.5).unwrap() - 0.03).abs() < 1e-12);
        // p10: rank 6 in the first bucket, which starts at 0 → 0.01 × 6/10.
        assert!((h.quantile(0.1).unwrap() - 0.006).abs() < 1e-12);
        assert_eq!(Histogram::default().quantile(0.99), None);
    }

    #[test]
    fn a_rank_in_the_inf_bucket_answers_the_last_finite_bound() {
        let mut h = hist();
        h.count = 100.0; // 40 observations above 0.1 s
        assert_eq!(h.quantile(0.99), Some(0.1));
    }

    #[test]
    fn increases_subtract_the_old_snapshot_and_survive_resets() {
        let (mut old, mut new) = (Snapshot::default(), Snapshot::default());
        let c = "glassbox_requests_total";
        old.insert(c, &[("status", "200")], Sample::Scalar(100.0));
        old.insert(c, &[("status", "500")], Sample::Scalar(7.0));
        new.insert(c, &[("status", "200")], Sample::Scalar(130.0));
        new.insert(c, &[("status", "500")], Sample::Scalar(2.0)); // reset: 2 since
        new.insert(c, &[("status", "429")], Sample::Scalar(5.0)); // new series
        let mut got: Vec<_> = new
            .counter_increases(&old, c)
            .into_iter()
            .map(|(l, d)| (l["status"].clone(), d))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [("200", 30.0), ("429", 5.0), ("500", 2.0)].map(|(s, d)| (s.to_string(), d));
        assert_eq!(got, want);
    }

    #[test]
    fn histogram_increase_is_per_bucket() {
        let mut later = hist();
        later.buckets = vec![(0.01, 15.0), (0.05, 70.0), (0.1, 90.0)];
        later.count = 95.0;
        later.sum = 5.5;
        let d = later.since(&hist());
        assert_eq!(d.buckets, vec![(0.01, 5.0), (0.05, 20.0), (0.1, 30.0)]);
        assert_eq!((d.count, d.sum), (35.0, 3.5));
    }

    #[test]
    fn reads_a_real_registry() {
        let r = prometheus::Registry::new();
        let opts = prometheus::HistogramOpts::new("h", "h").buckets(vec![0.1, 1.0]);
        let h = prometheus::HistogramVec::new(opts, &["route"]).unwrap();
        r.register(Box::new(h.clone())).unwrap();
        for x in [0.05, 0.5, 0.7, 3.0] {
            h.with_label_values(&["/predict"]).observe(x);
        }
        let snap = Snapshot::from_families(&r.gather());
        let [s] = snap.series("h") else {
            panic!("one series")
        };
        assert_eq!(s.labels["route"], "/predict");
        let want = Histogram {
            buckets: vec![(0.1, 1.0), (1.0, 3.0)],
            count: 4.0,
            sum: 4.25,
        };
        assert_eq!(s.value, Sample::Histogram(want));
    }
}
