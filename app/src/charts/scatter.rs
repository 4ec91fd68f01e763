//! The pasted sentences' embeddings in two dimensions (PCA), numbered as in the list.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::palette::{BLUE, GREY, INK};
use super::{text_style, DrawResult};

const W: i32 = 420;
const H: i32 = 320;
const PAD: i32 = 28;

#[derive(Clone, PartialEq, Debug)]
pub struct Scatter {
    pub points: Vec<(f32, f32)>,
    pub labels: Vec<String>,
}

impl Scatter {
    pub fn size(&self) -> (u32, u32) {
        (W as u32, H as u32)
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let span = |f: fn(&(f32, f32)) -> f32| {
            let lo = self.points.iter().map(f).fold(f32::INFINITY, f32::min);
            let hi = self.points.iter().map(f).fold(f32::NEG_INFINITY, f32::max);
            if (hi - lo).abs() < 1e-9 {
                (lo - 1.0, hi + 1.0)
            } else {
                (lo, hi)
            }
        };
        let ((x0, x1), (y0, y1)) = (span(|p| p.0), span(|p| p.1));
        let sx = |x: f32| PAD + ((x - x0) / (x1 - x0) * (W - 2 * PAD) as f32) as i32;
        let sy = |y: f32| H - PAD - ((y - y0) / (y1 - y0) * (H - 2 * PAD) as f32) as i32;
        root.draw(&PathElement::new(
            vec![(PAD - 8, H - PAD + 8), (W - PAD + 8, H - PAD + 8)],
            GREY,
        ))?;
        root.draw(&PathElement::new(
            vec![(PAD - 8, PAD - 8), (PAD - 8, H - PAD + 8)],
            GREY,
        ))?;
        root.draw(&Text::new(
            "PC 1",
            (W - PAD, H - 6),
            text_style(11, INK, HPos::Right, VPos::Center),
        ))?;
        root.draw(&Text::new(
            "PC 2",
            (6, PAD - 16),
            text_style(11, INK, HPos::Left, VPos::Center),
        ))?;
        for (p, label) in self.points.iter().zip(&self.labels) {
            let (x, y) = (sx(p.0), sy(p.1));
            root.draw(&Circle::new((x, y), 5, BLUE.filled()))?;
            root.draw(&Text::new(
                label.clone(),
                (x + 8, y - 8),
                text_style(12, INK, HPos::Left, VPos::Center),
            ))?;
        }
        Ok(())
    }
}
