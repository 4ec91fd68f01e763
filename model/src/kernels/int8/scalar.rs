//! The portable path and the reference: plain i32 sums over the packed layout.

use super::{PackedI8, GROUP, PANEL};

/// `acc[r][j] = Σ_k q[r][k] · W_q[k][j]` for `rows` quantized rows (plain i8, no offset),
/// over every padded column (padding columns come out 0).
pub(super) fn dot(q: &[i8], rows: usize, w: &PackedI8, acc: &mut [i32]) {
    let panel_len = w.kp * PANEL;
    let acc_rows = acc.chunks_exact_mut(w.padded_n());
    for (x, acc) in q.chunks_exact(w.kp).zip(acc_rows).take(rows) {
        let panels = w.data.chunks_exact(panel_len);
        for (panel, acc) in panels.zip(acc.chunks_exact_mut(PANEL)) {
            acc.copy_from_slice(&dot_panel(x, panel));
        }
    }
}

/// One row against one panel: 16 column sums.
fn dot_panel(x: &[i8], panel: &[i8]) -> [i32; PANEL] {
    let mut sums = [0i32; PANEL];
    for (x, group) in x.chunks_exact(GROUP).zip(panel.chunks_exact(GROUP * PANEL)) {
        let x = [0, 1, 2, 3].map(|i| i32::from(x[i]));
        for (sum, w) in sums.iter_mut().zip(group.chunks_exact(GROUP)) {
            let w = [0, 1, 2, 3].map(|i| i32::from(w[i]));
            *sum += (x[0] * w[0] + x[1] * w[1]) + (x[2] * w[2] + x[3] * w[3]);
        }
    }
    sums
}
