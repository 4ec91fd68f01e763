//! Charts for run folders, drawn with plotters as PNG (to look at) and SVG (to print or put
//! on a slide). Text needs a TrueType font; the system's DejaVu Sans is used (Debian
//! `fonts-dejavu-core`, installed by `scripts/setup.sh`).

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

const FONT: &str = "sans-serif";
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
];

fn ensure_font() -> Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let path = FONT_PATHS
            .iter()
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| {
                "no TrueType font for chart text; install one (Debian: apt-get install fonts-dejavu-core)"
                    .to_string()
            })?;
        let bytes: &'static [u8] = Box::leak(std::fs::read(path).map_err(|e| e.to_string())?.into_boxed_slice());
        plotters::style::register_font(FONT, FontStyle::Normal, bytes)
            .map_err(|_| format!("{path} is not a usable font"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Matplotlib's first six category colours, shared by every chart the trainer draws.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing chart: {e:?}")
}

/// Draws with `f` into `<stem>.png` and `<stem>.svg`.
fn both(
    stem: &Path,
    size: (u32, u32),
    f: impl Fn(DrawingArea<BitMapBackend, Shift>) -> Result<()>,
    g: impl Fn(DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<()> {
    ensure_font()?;
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let root = BitMapBackend::new(&png, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    f(root)?;
    let root = SVGBackend::new(&svg, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    g(root)?;
    Ok(())
}

/// One named series of (x, y) points.
pub type Series = (String, Vec<(f64, f64)>);

fn bounds(series: &[Series], log_y: bool) -> (f64, f64, f64, f64) {
    let pts = series.iter().flat_map(|s| &s.1);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        if log_y && y <= 0.0 {
            continue;
        }
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return (0.0, 1.0, 0.0, 1.0);
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    if y1 == y0 {
        y1 = y0 + 1.0;
    }
    let pad = (y1 - y0) * 0.05;
    (x0, x1, y0 - pad, y1 + pad)
}

fn draw_lines<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<()> {
    let (x0, x1, y0, y1) = bounds(series, false);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

pub fn lines(
    stem: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<()> {
    both(
        stem,
        (900, 500),
        |r| draw_lines(r, title, x_desc, y_desc, series),
        |r| draw_lines(r, title, x_desc, y_desc, series),
    )
}

fn draw_heatmap<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    rows: &[String],
    cols: &[String],
    m: &[Vec<usize>],
) -> Result<()> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let max = m.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let n = rows.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(110)
        .build_cartesian_2d((0..cols.len()).into_segmented(), (0..n).into_segmented())
        .map_err(err)?;
    let centre = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) => Some(*i),
        _ => None,
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(cols.len())
        .y_labels(n)
        .x_desc("predicted")
        .y_desc("true")
        .x_label_formatter(&|x| {
            centre(x)
                .and_then(|i| cols.get(i).cloned())
                .unwrap_or_default()
        })
        .y_label_formatter(&|y| {
            centre(y)
                .and_then(|i| rows.get(n.checked_sub(1 + i)?).cloned())
                .unwrap_or_default()
        })
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(m.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                let t = v as f64 / max;
                let shade = RGBColor(
                    (255.0 - 224.0 * t) as u8,
                    (255.0 - 136.0 * t) as u8,
                    (255.0 - 75.0 * t) as u8,
                );
                Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(n - 1 - r)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(n - r)),
                    ],
                    shade.filled(),
                )
            })
        }))
        .map_err(err)?;
    chart
        .draw_series(m.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                let color = if v as f64 / max > 0.6 { WHITE } else { BLACK };
                Text::new(
                    v.to_string(),
                    (SegmentValue::CenterOf(c), SegmentValue::CenterOf(n - 1 - r)),
                    (FONT, 15)
                        .into_font()
                        .color(&color)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )
            })
        }))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Confusion matrix `m[row][col]` with counts written in the cells.
pub fn heatmap(
    stem: &Path,
    title: &str,
    rows: &[String],
    cols: &[String],
    m: &[Vec<usize>],
) -> Result<()> {
    let size = (
        (200 + 70 * cols.len()).max(500) as u32,
        (170 + 40 * rows.len()).max(400) as u32,
    );
    both(
        stem,
        size,
        |r| draw_heatmap(r, title, rows, cols, m),
        |r| draw_heatmap(r, title, rows, cols, m),
    )
}

fn draw_bars<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    bars: &[(String, f64)],
) -> Result<()> {
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(80)
        .y_label_area_size(60)
        .build_cartesian_2d((0..bars.len()).into_segmented(), 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len())
        .y_desc(y_desc)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            Histogram::vertical(&chart)
                .style(PALETTE[0].filled())
                .margin(8)
                .data(bars.iter().enumerate().map(|(i, b)| (i, b.1))),
        )
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

pub fn bar_chart(stem: &Path, title: &str, y_desc: &str, bars: &[(String, f64)]) -> Result<()> {
    let w = (150 + 80 * bars.len()).max(600) as u32;
    both(
        stem,
        (w, 450),
        |r| draw_bars(r, title, y_desc, bars),
        |r| draw_bars(r, title, y_desc, bars),
    )
}

fn draw_strip<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    groups: &[(String, Vec<f64>)],
) -> Result<()> {
    let all: Vec<f64> = groups.iter().flat_map(|g| g.1.iter().copied()).collect();
    let lo = all.iter().copied().fold(f64::MAX, f64::min).min(1.0);
    let hi = all.iter().copied().fold(f64::MIN, f64::max).max(0.0);
    let pad = ((hi - lo) * 0.15).max(0.01);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(70)
        .y_label_area_size(60)
        .build_cartesian_2d((0..groups.len()).into_segmented(), (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => groups.get(*i).map(|g| g.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    for (i, (_, vals)) in groups.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(
                vals.iter()
                    .map(|&v| Circle::new((SegmentValue::CenterOf(i), v), 5, c.filled())),
            )
            .map_err(err)?;
        if !vals.is_empty() {
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (SegmentValue::Exact(i), mean),
                        (SegmentValue::Exact(i + 1), mean),
                    ],
                    BLACK.stroke_width(2),
                )))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Each group's values as dots with a bar at the mean (cross-validation spread).
pub fn strip(stem: &Path, title: &str, groups: &[(String, Vec<f64>)]) -> Result<()> {
    let w = (200 + 140 * groups.len()).max(600) as u32;
    both(
        stem,
        (w, 450),
        |r| draw_strip(r, title, groups),
        |r| draw_strip(r, title, groups),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_written_as_png_and_svg() {
        let dir = std::env::temp_dir().join(format!("glassbox-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s: Vec<Series> = vec![("loss".into(), vec![(0.0, 1.0), (1.0, 0.5), (2.0, 0.25)])];
        lines(&dir.join("l"), "loss", "step", "loss", &s).unwrap();
        let labels: Vec<String> = vec!["a".into(), "b".into()];
        heatmap(
            &dir.join("h"),
            "cm",
            &labels,
            &labels,
            &[vec![3, 1], vec![0, 4]],
        )
        .unwrap();
        bar_chart(
            &dir.join("b"),
            "f1",
            "F1",
            &[("a".into(), 0.5), ("b".into(), 0.7)],
        )
        .unwrap();
        strip(&dir.join("s"), "cv", &[("a".into(), vec![0.5, 0.6, 0.55])]).unwrap();
        for stem in ["l", "h", "b", "s"] {
            let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
            assert_eq!(&png[1..4], b"PNG", "{stem}.png");
            let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
            assert!(
                svg.contains("<svg") && svg.contains("<text"),
                "{stem}.svg has no text"
            );
        }
        let svg = std::fs::read_to_string(dir.join("h.svg")).unwrap();
        let compact: String = svg.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains(">4</text>"), "cell counts are drawn");
        std::fs::remove_dir_all(dir).ok();
    }
}
