//! A labelled matrix: one attention map (rows attend to columns) or the cosine similarity of
//! the pasted sentences. Cells shrink with the matrix; labels are dropped when they would no
//! longer be readable.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::palette::{viridis, HIGHLIGHT, INK};
use super::{clip, text_style, DrawResult};

const MAX_SIDE: i32 = 560;
const LABEL_CHARS: usize = 12;
const LABELLED_UP_TO: usize = 64;

#[derive(Clone, PartialEq, Debug)]
pub struct Heatmap {
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// Row-major `rows × cols`.
    pub values: Vec<f32>,
    /// The value drawn brightest (values above it saturate).
    pub vmax: f32,
    /// Values written in the cells (small matrices only).
    pub annotate: bool,
    /// A row to outline, e.g. the token whose attention the head view follows.
    pub mark_row: Option<usize>,
}

impl Heatmap {
    fn cell(&self) -> i32 {
        let n = self.rows.len().max(self.cols.len()).max(1) as i32;
        (MAX_SIDE / n).clamp(2, 40)
    }

    fn margin(&self) -> i32 {
        if self.rows.len().max(self.cols.len()) <= LABELLED_UP_TO {
            84
        } else {
            8
        }
    }

    pub fn size(&self) -> (u32, u32) {
        let (c, m) = (self.cell(), self.margin());
        (
            (m + c * self.cols.len() as i32 + 8) as u32,
            (m + c * self.rows.len() as i32 + 8) as u32,
        )
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (c, m) = (self.cell(), self.margin());
        let ncols = self.cols.len();
        let vmax = self.vmax.max(1e-6);
        for (i, row) in self.values.chunks(ncols.max(1)).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let (x, y) = (m + j as i32 * c, m + i as i32 * c);
                let color = viridis(v / vmax);
                root.draw(&Rectangle::new([(x, y), (x + c, y + c)], color.filled()))?;
                if self.annotate && c >= 28 {
                    let ink = if v / vmax > 0.6 { INK } else { WHITE };
                    root.draw(&Text::new(
                        format!("{v:.2}"),
                        (x + c / 2, y + c / 2),
                        text_style(10, ink, HPos::Center, VPos::Center),
                    ))?;
                }
            }
        }
        if m > 8 {
            let size = (c - 2).clamp(8, 12) as u32;
            for (i, r) in self.rows.iter().enumerate() {
                root.draw(&Text::new(
                    clip(r, LABEL_CHARS),
                    (m - 4, m + i as i32 * c + c / 2),
                    text_style(size, INK, HPos::Right, VPos::Center),
                ))?;
            }
            for (j, col) in self.cols.iter().enumerate() {
                root.draw(&Text::new(
                    clip(col, LABEL_CHARS),
                    (m + j as i32 * c + c / 2, m - 4),
                    text_style(size, INK, HPos::Left, VPos::Center)
                        .transform(FontTransform::Rotate270),
                ))?;
            }
        }
        if let Some(r) = self.mark_row {
            let y = m + r as i32 * c;
            root.draw(&Rectangle::new(
                [(m - 1, y - 1), (m + c * ncols as i32 + 1, y + c + 1)],
                HIGHLIGHT.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}
