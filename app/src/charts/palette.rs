//! Colours chosen to survive colour-blindness and projectors: Paul Tol's "muted" set for the
//! ten entity types (always also named in text), Okabe–Ito blue/orange for signed values,
//! viridis for every heatmap (perceptually uniform, readable in greyscale).

use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use plotters::style::RGBColor;

pub const TOL_MUTED: [RGBColor; 10] = [
    RGBColor(0x88, 0xCC, 0xEE),
    RGBColor(0x44, 0xAA, 0x99),
    RGBColor(0x11, 0x77, 0x33),
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0xDD, 0xCC, 0x77),
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0xCC, 0x66, 0x77),
    RGBColor(0x88, 0x22, 0x55),
    RGBColor(0xAA, 0x44, 0x99),
    RGBColor(0xDD, 0xDD, 0xDD),
];

pub const BLUE: RGBColor = RGBColor(0, 114, 178);
pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub const GREY: RGBColor = RGBColor(150, 150, 150);
pub const INK: RGBColor = RGBColor(27, 27, 31);
pub const HIGHLIGHT: RGBColor = RGBColor(213, 94, 0);

/// Viridis at `v` in [0, 1] (clamped).
pub fn viridis(v: f32) -> RGBColor {
    ViridisRGB.get_color(v.clamp(0.0, 1.0))
}
