//! bertviz's "head view": the tokens twice, side by side, with a line from each token on the
//! left to every token it attends to on the right, as opaque as the attention weight.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::palette::{BLUE, HIGHLIGHT, INK};
use super::{clip, text_style, DrawResult};

const ROW: i32 = 18;
const COL_W: i32 = 110;
const GAP: i32 = 150;
/// Weights below this are not drawn: they would only grey the picture.
const MIN_WEIGHT: f32 = 0.02;

#[derive(Clone, PartialEq, Debug)]
pub struct HeadView {
    pub tokens: Vec<String>,
    /// Row-major `n × n`, row i = how token i attends to each token.
    pub weights: Vec<f32>,
    /// Only this token's lines are drawn when set (the others are faded out).
    pub focus: Option<usize>,
}

impl HeadView {
    pub fn size(&self) -> (u32, u32) {
        (
            (2 * COL_W + GAP) as u32,
            (ROW * self.tokens.len() as i32 + 8) as u32,
        )
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let n = self.tokens.len();
        let (xl, xr) = (COL_W, COL_W + GAP);
        let y = |i: usize| 4 + i as i32 * ROW + ROW / 2;
        for i in 0..n {
            if self.focus.is_some_and(|f| f != i) {
                continue;
            }
            for j in 0..n {
                let w = self.weights[i * n + j];
                if w < MIN_WEIGHT {
                    continue;
                }
                let color = if self.focus.is_some() {
                    HIGHLIGHT
                } else {
                    BLUE
                };
                root.draw(&PathElement::new(
                    vec![(xl + 4, y(i)), (xr - 4, y(j))],
                    color.mix(w.min(1.0) as f64).stroke_width(2),
                ))?;
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            let ink = if self.focus == Some(i) {
                HIGHLIGHT
            } else {
                INK
            };
            root.draw(&Text::new(
                clip(t, 14),
                (xl - 4, y(i)),
                text_style(12, ink, HPos::Right, VPos::Center),
            ))?;
            root.draw(&Text::new(
                clip(t, 14),
                (xr + 4, y(i)),
                text_style(12, INK, HPos::Left, VPos::Center),
            ))?;
        }
        Ok(())
    }
}
