//! `robustness.svg`: one horizontal bar per test, its failure rate on a 0–100 % axis, coloured
//! by capability. Drawn with plotters' SVG backend from rectangles, lines and text placed by
//! hand: SVG text is laid out by the viewer, so the chart needs no font on this machine
//! (plotters' chart builder would, to measure its axis labels).

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{kind_name, TestResult};
use crate::plots::{err, PALETTE};

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1000;
const LABEL_W: i32 = 430;
const BAR_W: i32 = 480;
const ROW: i32 = 24;
const TOP: i32 = 56;

fn text(size: u32, h: HPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, VPos::Center))
}

/// The chart as SVG text.
pub fn failure_chart(model: &str, tests: &[TestResult]) -> Result<String> {
    let caps = capabilities(tests);
    let height = (TOP + ROW * tests.len() as i32 + 90) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = format!("Behavioural tests: failure rate per test ({model})");
        root.draw(&Text::new(title, (16, 22), text(18, HPos::Left)))
            .map_err(err)?;
        axis(&root, tests.len() as i32)?;
        for (i, t) in tests.iter().enumerate() {
            let colour = PALETTE[caps.iter().position(|c| *c == t.capability).unwrap_or(0) % 6];
            bar(&root, i as i32, t, colour)?;
        }
        legend(&root, &caps, TOP + ROW * tests.len() as i32 + 50)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn capabilities(tests: &[TestResult]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in tests {
        if !out.contains(&t.capability.as_str()) {
            out.push(&t.capability);
        }
    }
    out
}

/// Grid lines at 0, 25, 50, 75 and 100 % with their labels under the bars.
fn axis<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    rows: i32,
) -> Result<()> {
    let bottom = TOP + ROW * rows;
    for q in 0..=4 {
        let x = LABEL_W + BAR_W * q / 4;
        let line = PathElement::new(vec![(x, TOP - 4), (x, bottom)], RGBColor(210, 210, 210));
        root.draw(&line).map_err(err)?;
        let label = Text::new(
            format!("{} %", 25 * q),
            (x, bottom + 12),
            text(12, HPos::Center),
        );
        root.draw(&label).map_err(err)?;
    }
    let caption = Text::new(
        "failure rate".to_string(),
        (LABEL_W + BAR_W / 2, bottom + 30),
        text(13, HPos::Center),
    );
    root.draw(&caption).map_err(err)?;
    Ok(())
}

fn bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    row: i32,
    t: &TestResult,
    colour: RGBColor,
) -> Result<()> {
    let y = TOP + ROW * row;
    let mid = y + ROW / 2;
    let label = format!("{} · {}", kind_name(t.kind), t.name);
    root.draw(&Text::new(label, (LABEL_W - 8, mid), text(13, HPos::Right)))
        .map_err(err)?;
    let len = (BAR_W as f64 * t.failure_rate.clamp(0.0, 1.0)).round() as i32;
    let rect = Rectangle::new(
        [(LABEL_W, y + 4), (LABEL_W + len, y + ROW - 4)],
        colour.filled(),
    );
    root.draw(&rect).map_err(err)?;
    let value = format!("{:.1} % of {}", 100.0 * t.failure_rate, t.cases);
    root.draw(&Text::new(
        value,
        (LABEL_W + len + 6, mid),
        text(12, HPos::Left),
    ))
    .map_err(err)?;
    Ok(())
}

fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    caps: &[&str],
    y: i32,
) -> Result<()> {
    let mut x = 16;
    for (i, cap) in caps.iter().enumerate() {
        let swatch = Rectangle::new([(x, y + 4), (x + 14, y + 18)], PALETTE[i % 6].filled());
        root.draw(&swatch).map_err(err)?;
        root.draw(&Text::new(
            cap.to_string(),
            (x + 20, y + 11),
            text(13, HPos::Left),
        ))
        .map_err(err)?;
        x += 40 + 8 * cap.chars().count() as i32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robustness::suite::{Head, Kind};

    fn result(name: &str, cap: &str, rate: f64) -> TestResult {
        TestResult {
            name: name.into(),
            capability: cap.into(),
            kind: Kind::Mft,
            head: Head::Token,
            expectation: String::new(),
            cases: 10,
            failures: (rate * 10.0) as usize,
            failure_rate: rate,
            examples: vec![],
        }
    }

    #[test]
    fn each_test_is_a_bar_as_long_as_its_failure_rate() {
        let tests = [result("half <b>", "NER", 0.5), result("all", "Vocab", 1.0)];
        let svg = failure_chart("m", &tests).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("MFT · half &lt;b&gt;"), "labels are escaped");
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .map(|t| t.split("</text>").next().unwrap())
            .collect();
        for label in ["50.0 % of 10", "100.0 % of 10"] {
            assert!(
                texts.iter().any(|t| t.trim_end().ends_with(label)),
                "{label}"
            );
        }
        // bars: 240 and 480 px wide from x = LABEL_W
        assert!(svg.contains(&format!("x=\"{LABEL_W}\" y=\"{}\" width=\"240\"", TOP + 4)));
        assert!(svg.contains(&format!(
            "x=\"{LABEL_W}\" y=\"{}\" width=\"480\"",
            TOP + ROW + 4
        )));
    }
}
