//! Every head of every layer at once, as thumbnails: the overview teachers start from
//! ("this head looks at the next word, that one at [SEP]"). A click picks a head.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use glassbox_model::view::attention::Attention;

use super::palette::{viridis, HIGHLIGHT, INK};
use super::{text_style, DrawResult};

pub const CELL: i32 = 40;
pub const GAP: i32 = 4;
pub const LEFT: i32 = 28;
pub const TOP: i32 = 18;
/// Bins per thumbnail side: long inputs are averaged into blocks so each map stays legible.
const BINS: usize = 20;

#[derive(Clone, PartialEq, Debug)]
pub struct Grid {
    pub layers: usize,
    pub heads: usize,
    /// Tokens per side of every map.
    pub n: usize,
    /// One per layer, each weight in [0, 1].
    pub maps: Vec<Attention>,
    pub selected: Option<(usize, usize)>,
}

/// The (layer, head) under a click at chart coordinates `(x, y)`, if any.
pub fn hit(layers: usize, heads: usize, x: f64, y: f64) -> Option<(usize, usize)> {
    let col = ((x as i32 - LEFT) as f64 / (CELL + GAP) as f64).floor();
    let row = ((y as i32 - TOP) as f64 / (CELL + GAP) as f64).floor();
    (col >= 0.0 && row >= 0.0 && (col as usize) < heads && (row as usize) < layers)
        .then_some((row as usize, col as usize))
}

impl Grid {
    pub fn size(&self) -> (u32, u32) {
        (
            (LEFT + self.heads as i32 * (CELL + GAP) + 4) as u32,
            (TOP + self.layers as i32 * (CELL + GAP) + 4) as u32,
        )
    }

    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let n = self.n.max(1);
        for h in 0..self.heads {
            root.draw(&Text::new(
                format!("H{}", h + 1),
                (LEFT + h as i32 * (CELL + GAP) + CELL / 2, TOP / 2),
                text_style(11, INK, HPos::Center, VPos::Center),
            ))?;
        }
        for (l, layer) in self.maps.iter().enumerate() {
            let y0 = TOP + l as i32 * (CELL + GAP);
            root.draw(&Text::new(
                format!("L{}", l + 1),
                (LEFT - 6, y0 + CELL / 2),
                text_style(11, INK, HPos::Right, VPos::Center),
            ))?;
            let weights = layer.to_f32();
            for h in 0..self.heads {
                let x0 = LEFT + h as i32 * (CELL + GAP);
                thumbnail(root, &weights[h * n * n..(h + 1) * n * n], n, (x0, y0))?;
            }
        }
        if let Some((l, h)) = self.selected {
            let (x, y) = (
                LEFT + h as i32 * (CELL + GAP),
                TOP + l as i32 * (CELL + GAP),
            );
            root.draw(&Rectangle::new(
                [(x - 2, y - 2), (x + CELL + 1, y + CELL + 1)],
                HIGHLIGHT.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}

/// One head's `n × n` map at `(x0, y0)`, averaged into at most [`BINS`]² blocks.
fn thumbnail<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    map: &[f32],
    n: usize,
    (x0, y0): (i32, i32),
) -> DrawResult<DB> {
    let bins = n.min(BINS);
    let px = CELL as f32 / bins as f32;
    // Block b covers rows (or columns) b·n/bins up to (b+1)·n/bins, at least one of them.
    let span = |b: usize| (b * n / bins, ((b + 1) * n / bins).max(b * n / bins + 1));
    let edge = |b: usize| (b as f32 * px) as i32;
    for bi in 0..bins {
        let (r0, r1) = span(bi);
        for bj in 0..bins {
            let (c0, c1) = span(bj);
            let s: f32 = (r0..r1)
                .map(|r| map[r * n + c0..r * n + c1].iter().sum::<f32>())
                .sum();
            // Row sums are one: a block's mean row mass, scaled by its width.
            let v = s / (r1 - r0) as f32;
            let (xa, ya) = (x0 + edge(bj), y0 + edge(bi));
            let (xb, yb) = (x0 + edge(bj + 1), y0 + edge(bi + 1));
            root.draw(&Rectangle::new([(xa, ya), (xb, yb)], viridis(v).filled()))?;
        }
    }
    Ok(())
}
