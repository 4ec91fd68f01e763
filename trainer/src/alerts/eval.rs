//! One rule expression evaluated on the server's metrics, in-process: the same numbers the
//! PromQL of `promql` computes from the same series, read from two snapshots (the window's
//! start and now) instead of a time-series database.

use super::rules::{confidence_floor, seconds, Expr, StatusMatch};
use super::snapshot::{Histogram, Labels, Snapshot};

/// The families the expressions read (their exact exported names).
pub(crate) const REQUESTS: &str = "glassbox_requests_total";
pub(crate) const REQUEST_SECONDS: &str = "glassbox_request_duration_seconds";
pub(crate) const CONFIDENCE: &str = "glassbox_confidence";

/// Two snapshots `seconds` apart: what the window's increases are taken between.
pub(crate) struct Window<'a> {
    pub start: &'a Snapshot,
    pub now: &'a Snapshot,
    pub seconds: f64,
}

/// The value an expression computed, and whether it breaches the rule's threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Observation {
    /// In the PromQL expression's unit (seconds for latency, a share, a rate, a statistic).
    pub value: f64,
    pub breached: bool,
}

impl Expr {
    /// Evaluates on a window; None when there is no data (a gauge not exported yet, no
    /// request in the window), which — as in Prometheus — never fires.
    pub fn evaluate(&self, w: &Window) -> Option<Observation> {
        let seen = |value: f64, breached: bool| Some(Observation { value, breached });
        match self {
            Self::GaugeAbove { metric, threshold } => {
                let v = gauge_values(w.now, metric).reduce(f64::max)?;
                seen(v, v > *threshold)
            }
            Self::GaugeBelow { metric, threshold } => {
                let v = gauge_values(w.now, metric).reduce(f64::min)?;
                seen(v, v < *threshold)
            }
            Self::LatencyQuantileAbove {
                route,
                quantile,
                threshold_ms,
                ..
            } => {
                let v = route_latency(w, route).quantile(*quantile)?;
                seen(v, v > seconds(*threshold_ms))
            }
            Self::StatusShareAbove {
                status,
                route,
                exclude_routes,
                threshold,
                ..
            } => {
                let (matching, all) = status_increases(w, status, route.as_deref(), exclude_routes);
                let v = (all > 0.0).then(|| matching / all)?;
                seen(v, v > *threshold)
            }
            Self::StatusRateAbove {
                status,
                route,
                exclude_routes,
                threshold_per_second,
                ..
            } => {
                let (matching, _) = status_increases(w, status, route.as_deref(), exclude_routes);
                let v = (w.seconds > 0.0).then(|| matching / w.seconds)?;
                seen(v, v > *threshold_per_second)
            }
            Self::MeanConfidenceBelow {
                reference,
                max_drop,
                ..
            } => {
                let h = summed(w.now.histogram_increases(w.start, CONFIDENCE), |_| true);
                let v = (h.count > 0.0).then(|| h.sum / h.count)?;
                seen(v, v < confidence_floor(*reference, *max_drop))
            }
        }
    }
}

/// Every series' value of a gauge family, NaN left out.
fn gauge_values<'a>(s: &'a Snapshot, metric: &str) -> impl Iterator<Item = f64> + 'a {
    let scalar = |v: &super::snapshot::Sample| match v {
        super::snapshot::Sample::Scalar(x) if !x.is_nan() => Some(*x),
        _ => None,
    };
    s.series(metric)
        .iter()
        .filter_map(move |x| scalar(&x.value))
}

/// The route's latency observations within the window (`sum by (le)` over its series).
fn route_latency(w: &Window, route: &str) -> Histogram {
    let grown = w.now.histogram_increases(w.start, REQUEST_SECONDS);
    summed(grown, |l| l.get("route").is_some_and(|r| r == route))
}

fn summed(series: Vec<(&Labels, Histogram)>, keep: impl Fn(&Labels) -> bool) -> Histogram {
    let mut total = Histogram::default();
    for (_, h) in series.iter().filter(|(l, _)| keep(l)) {
        total.add(h);
    }
    total
}

/// (requests whose status matches, all requests) within the window, on one route or on all
/// but the excluded ones.
fn status_increases(
    w: &Window,
    status: &StatusMatch,
    route: Option<&str>,
    exclude: &[String],
) -> (f64, f64) {
    let on_route = |l: &Labels| {
        let r = l.get("route").map_or("", String::as_str);
        route.map_or_else(|| !exclude.iter().any(|x| x == r), |want| r == want)
    };
    let grown = w.now.counter_increases(w.start, REQUESTS);
    let mut counts = (0.0, 0.0);
    for (labels, d) in grown.into_iter().filter(|(l, _)| on_route(l)) {
        if labels.get("status").is_some_and(|s| status.matches(s)) {
            counts.0 += d;
        }
        counts.1 += d;
    }
    counts
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::snapshot::Sample;
    use super::*;

    fn status(s: &str) -> StatusMatch {
        StatusMatch::try_from(s.to_string()).unwrap()
    }

    /// Requests on /predict and /health, 60 s apart.
    fn requests() -> (Snapshot, Snapshot) {
        let (mut start, mut now) = (Snapshot::default(), Snapshot::default());
        let rows = [
            ("/predict", "200", 1000.0, 1090.0),
            ("/predict", "503", 10.0, 16.0),
            ("/predict", "429", 0.0, 0.0),
            ("/health", "200", 50.0, 74.0),
        ];
        for (route, code, a, b) in rows {
            start.insert(
                REQUESTS,
                &[("route", route), ("status", code)],
                Sample::Scalar(a),
            );
            now.insert(
                REQUESTS,
                &[("route", route), ("status", code)],
                Sample::Scalar(b),
            );
        }
        // A series born inside the window: all of it is an increase.
        now.insert(
            REQUESTS,
            &[("route", "/embed"), ("status", "429")],
            Sample::Scalar(12.0),
        );
        (start, now)
    }

    fn window<'a>(start: &'a Snapshot, now: &'a Snapshot) -> Window<'a> {
        Window {
            start,
            now,
            seconds: 60.0,
        }
    }

    #[test]
    fn status_share_and_rate_come_from_counter_increases() {
        let (start, now) = requests();
        let w = window(&start, &now);
        let minutes = Duration::from_secs(60);
        // All routes: increases 90 + 6 + 0 + 24 + 12 = 132, of which 6 are 5xx.
        let share = Expr::StatusShareAbove {
            status: status("5xx"),
            route: None,
            exclude_routes: vec![],
            threshold: 0.04,
            window: minutes,
        };
        let got = share.evaluate(&w).unwrap();
        assert!((got.value - 6.0 / 132.0).abs() < 1e-12 && got.breached);
        // /predict only: 6 of 96 = 0.0625.
        let only = Expr::StatusShareAbove {
            status: status("5xx"),
            route: Some("/predict".into()),
            exclude_routes: vec![],
            threshold: 0.07,
            window: minutes,
        };
        let got = only.evaluate(&w).unwrap();
        assert!((got.value - 0.0625).abs() < 1e-12 && !got.breached);
        // 429s: 12 in 60 s = 0.2/s.
        let rate = Expr::StatusRateAbove {
            status: status("429"),
            route: None,
            exclude_routes: vec![],
            threshold_per_second: 0.1,
            window: minutes,
        };
        let got = rate.evaluate(&w).unwrap();
        assert!((got.value - 0.2).abs() < 1e-12 && got.breached);
    }

    #[test]
    fn excluded_routes_count_neither_way() {
        let (start, now) = requests();
        // Without /health: 6 of 90 + 6 + 0 + 12 = 108.
        let share = Expr::StatusShareAbove {
            status: status("5xx"),
            route: None,
            exclude_routes: vec!["/health".into(), "/ready".into()],
            threshold: 0.05,
            window: Duration::from_secs(60),
        };
        let got = share.evaluate(&window(&start, &now)).unwrap();
        assert!((got.value - 6.0 / 108.0).abs() < 1e-12 && got.breached);
    }

    #[test]
    fn no_request_in_the_window_is_no_data() {
        let (_, now) = requests();
        let share = Expr::StatusShareAbove {
            status: status("5xx"),
            route: None,
            exclude_routes: vec![],
            threshold: 0.0,
            window: Duration::from_secs(60),
        };
        assert_eq!(share.evaluate(&window(&now, &now)), None);
    }

    #[test]
    fn latency_quantile_sums_the_routes_series_over_the_window() {
        let (mut start, mut now) = (Snapshot::default(), Snapshot::default());
        let h = |b: [f64; 3], count: f64| {
            Sample::Histogram(Histogram {
                buckets: vec![(0.01, b[0]), (0.05, b[1]), (0.1, b[2])],
                count,
                sum: 0.0,
            })
        };
        start.insert(
            REQUEST_SECONDS,
            &[("route", "/predict")],
            h([100.0, 100.0, 100.0], 100.0),
        );
        now.insert(
            REQUEST_SECONDS,
            &[("route", "/predict")],
            h([110.0, 150.0, 160.0], 160.0),
        );
        now.insert(
            REQUEST_SECONDS,
            &[("route", "/health")],
            h([1000.0, 1000.0, 1000.0], 1000.0),
        );
        // In the window /predict saw 10, 40, 10 per bucket: p99 = 0.097 s (see snapshot's test).
        let expr = |ms: f64| Expr::LatencyQuantileAbove {
            route: "/predict".into(),
            quantile: 0.99,
            threshold_ms: ms,
            window: Duration::from_secs(60),
        };
        let w = window(&start, &now);
        let got = expr(96.0).evaluate(&w).unwrap();
        assert!((got.value - 0.097).abs() < 1e-12 && got.breached);
        assert!(!expr(98.0).evaluate(&w).unwrap().breached);
    }

    #[test]
    fn mean_confidence_is_sum_over_count_within_the_window() {
        let (mut start, mut now) = (Snapshot::default(), Snapshot::default());
        let h = |count: f64, sum: f64| {
            Sample::Histogram(Histogram {
                buckets: vec![(1.0, count)],
                count,
                sum,
            })
        };
        start.insert(CONFIDENCE, &[], h(100.0, 90.0));
        now.insert(CONFIDENCE, &[], h(150.0, 120.0));
        // 50 answers with confidences summing to 30: mean 0.6 < 0.9 - 0.2.
        let expr = Expr::MeanConfidenceBelow {
            reference: 0.9,
            max_drop: 0.2,
            window: Duration::from_secs(60),
        };
        let got = expr.evaluate(&window(&start, &now)).unwrap();
        assert!((got.value - 0.6).abs() < 1e-12 && got.breached);
    }

    #[test]
    fn gauges_read_the_latest_value_and_missing_is_no_data() {
        let mut now = Snapshot::default();
        let psi = "glassbox_drift_class_psi";
        let above = Expr::GaugeAbove {
            metric: psi.into(),
            threshold: 0.2,
        };
        assert_eq!(above.evaluate(&window(&now, &now)), None);
        now.insert(psi, &[], Sample::Scalar(0.35));
        assert_eq!(
            above.evaluate(&window(&now, &now)),
            Some(Observation {
                value: 0.35,
                breached: true
            })
        );
        let below = Expr::GaugeBelow {
            metric: psi.into(),
            threshold: 0.2,
        };
        assert!(!below.evaluate(&window(&now, &now)).unwrap().breached);
    }
}
