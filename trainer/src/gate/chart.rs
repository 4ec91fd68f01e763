//! `gate.svg`: each metric's difference (challenger − champion) with its bootstrap interval,
//! against the zero line and the rule's two thresholds — a forest plot. Written as SVG text
//! directly: a viewer renders the labels, so no font has to be found at run time.

use std::fmt::Write as _;

use super::rules::{GateRules, GateStats, MetricRule, MetricStat};

const WIDTH: f64 = 760.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 60.0;
const ROW: f64 = 80.0;
const BOTTOM: f64 = 80.0;
const PASS: &str = "#2ca02c";
const FAIL: &str = "#d62728";

/// One row of the plot: a metric's name, statistics and rule.
type Row<'a> = (&'a str, MetricStat, MetricRule);

pub fn difference_chart(stats: &GateStats, rules: &GateRules) -> String {
    let rows: Vec<Row> = [
        ("macro-F1", stats.macro_f1, rules.macro_f1),
        ("span micro-F1", stats.span_f1, rules.span_f1),
    ]
    .into_iter()
    .filter_map(|(n, m, r)| m.map(|m| (n, m, r)))
    .collect();
    let height = TOP + ROW * rows.len().max(1) as f64 + BOTTOM;
    let scale = Scale::over(&rows);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"30\" font-size=\"18\" text-anchor=\"middle\">challenger − champion, {:.0}% bootstrap intervals</text>",
        WIDTH / 2.0,
        rules.level * 100.0
    );
    let plot_bottom = height - BOTTOM;
    let x0 = scale.x(0.0);
    let _ = writeln!(
        s,
        "<line x1=\"{x0:.1}\" y1=\"{TOP}\" x2=\"{x0:.1}\" y2=\"{plot_bottom}\" stroke=\"#888\"/>"
    );
    if rows.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no metric evaluated</text>",
            WIDTH / 2.0,
            TOP + ROW / 2.0
        );
    }
    for (i, row) in rows.iter().enumerate() {
        draw_row(&mut s, &scale, TOP + ROW * (i as f64 + 0.5), row);
    }
    draw_axis(&mut s, &scale, plot_bottom);
    s.push_str("</svg>\n");
    s
}

/// Maps differences to x pixels over a range holding every value drawn, zero included.
struct Scale {
    lo: f64,
    hi: f64,
}

impl Scale {
    fn over(rows: &[Row]) -> Scale {
        let mut vals = vec![0.0];
        for (_, m, r) in rows {
            let d = m.difference;
            vals.extend([d.low, d.high, d.point, r.min_improvement, -r.max_regression]);
        }
        let lo = vals.iter().copied().fold(f64::MAX, f64::min);
        let hi = vals.iter().copied().fold(f64::MIN, f64::max);
        let pad = ((hi - lo) * 0.1).max(0.005);
        Scale {
            lo: lo - pad,
            hi: hi + pad,
        }
    }

    fn x(&self, v: f64) -> f64 {
        LEFT + (v - self.lo) / (self.hi - self.lo) * (WIDTH - LEFT - RIGHT)
    }
}

fn draw_row(s: &mut String, scale: &Scale, y: f64, (name, m, rule): &Row) {
    let d = m.difference;
    let ok = d.point >= rule.min_improvement && d.low >= -rule.max_regression;
    let colour = if ok { PASS } else { FAIL };
    let (xl, xh, xp) = (scale.x(d.low), scale.x(d.high), scale.x(d.point));
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{:.1}\" font-size=\"14\" text-anchor=\"end\">{name}</text>",
        LEFT - 12.0,
        y + 5.0
    );
    for (v, c) in [(rule.min_improvement, PASS), (-rule.max_regression, FAIL)] {
        let x = scale.x(v);
        let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{c}\" stroke-dasharray=\"4 3\"/>", y - 24.0, y + 24.0);
    }
    let _ = writeln!(s, "<line x1=\"{xl:.1}\" y1=\"{y:.1}\" x2=\"{xh:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/>");
    for x in [xl, xh] {
        let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>", y - 8.0, y + 8.0);
    }
    let _ = writeln!(
        s,
        "<circle cx=\"{xp:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"{colour}\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{xp:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{:+.4} [{:+.4}, {:+.4}]</text>",
        y + 30.0,
        d.point,
        d.low,
        d.high
    );
}

fn draw_axis(s: &mut String, scale: &Scale, y: f64) {
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"black\"/>",
        WIDTH - RIGHT
    );
    for k in 0..=4 {
        let v = scale.lo + (scale.hi - scale.lo) * k as f64 / 4.0;
        let x = scale.x(v);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"black\"/>",
            y + 5.0
        );
        let _ = writeln!(
            s,
            "<text x=\"{x:.1}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{v:+.3}</text>",
            y + 20.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">dot: difference on the gate set; bar: interval; dashed: <tspan fill=\"{PASS}\">min improvement</tspan> and <tspan fill=\"{FAIL}\">−max regression</tspan></text>",
        WIDTH / 2.0,
        y + 48.0
    );
}

#[cfg(test)]
mod tests {
    use super::super::bootstrap::Interval;
    use super::*;

    #[test]
    fn rows_are_drawn_with_their_numbers_and_verdict_colour() {
        let stat = |point, low, high| MetricStat {
            champion: 0.5,
            challenger: 0.5 + point,
            difference: Interval {
                point,
                low,
                high,
                level: 0.95,
                resamples: 10,
            },
        };
        let stats = GateStats {
            mcnemar: None,
            macro_f1: Some(stat(0.03, 0.01, 0.05)),
            span_f1: Some(stat(-0.04, -0.08, 0.0)),
        };
        let svg = difference_chart(&stats, &GateRules::default());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(">macro-F1</text>") && svg.contains(">span micro-F1</text>"));
        assert!(svg.contains("+0.0300 [+0.0100, +0.0500]"));
        // macro-F1 passes (green dot), span F1 fails (red dot).
        assert!(svg.contains(&format!("r=\"6\" fill=\"{PASS}\"")));
        assert!(svg.contains(&format!("r=\"6\" fill=\"{FAIL}\"")));
    }
}
