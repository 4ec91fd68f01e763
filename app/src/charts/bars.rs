//! Horizontal bars with a label and a value each: class probabilities, and the change in
//! probability when a word is left out (signed, around a zero line).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::palette::{BLUE, GREY, INK, ORANGE};
use super::{clip, text_style, DrawResult};

const ROW: i32 = 20;
const LABEL_CHARS: usize = 14;
const LABEL_W: i32 = 110;
const BAR_W: i32 = 220;
const VALUE_W: i32 = 64;

#[derive(Clone, PartialEq, Debug)]
pub struct Bars {
    pub labels: Vec<String>,
    pub values: Vec<f32>,
    /// Values drawn from a centre line (blue up, orange down) instead of [0, 1].
    pub signed: bool,
    /// The magnitude drawn as a full-length bar.
    pub range: f32,
    /// The row drawn in colour (the predicted class); the others are grey.
    pub highlight: Option<usize>,
}

impl Bars {
    pub fn size(&self) -> (u32, u32) {
        (
            (LABEL_W + BAR_W + VALUE_W) as u32,
            (ROW * self.values.len() as i32 + 8) as u32,
        )
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let x0 = LABEL_W;
        let mid = if self.signed { x0 + BAR_W / 2 } else { x0 };
        let half = if self.signed { BAR_W / 2 } else { BAR_W } as f32;
        let scale = half / self.range.max(1e-6);
        for (i, (label, &v)) in self.labels.iter().zip(&self.values).enumerate() {
            let y = 4 + i as i32 * ROW;
            let cy = y + ROW / 2;
            root.draw(&Text::new(
                clip(label, LABEL_CHARS),
                (LABEL_W - 6, cy),
                text_style(12, INK, HPos::Right, VPos::Center),
            ))?;
            let color = if self.signed {
                if v >= 0.0 {
                    BLUE
                } else {
                    ORANGE
                }
            } else if self.highlight == Some(i) {
                BLUE
            } else {
                GREY
            };
            let len = (v * scale).clamp(-half, half).round() as i32;
            let (a, b) = if len >= 0 {
                (mid, mid + len)
            } else {
                (mid + len, mid)
            };
            root.draw(&Rectangle::new(
                [(a, y + 3), (b.max(a + 1), y + ROW - 3)],
                color.filled(),
            ))?;
            let shown = if self.signed {
                format!("{:+.3}", v)
            } else {
                format!("{:.1}%", v * 100.0)
            };
            root.draw(&Text::new(
                shown,
                (x0 + BAR_W + 6, cy),
                text_style(12, INK, HPos::Left, VPos::Center),
            ))?;
        }
        if self.signed {
            let h = ROW * self.values.len() as i32 + 4;
            root.draw(&PathElement::new(vec![(mid, 2), (mid, h)], INK))?;
        }
        Ok(())
    }
}
