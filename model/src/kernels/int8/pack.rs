//! Packing a weight matrix once, at load time, into the layout the kernels stream.

use super::{quantize_row, GROUP, PANEL};

/// Largest `k` whose offset sums cannot overflow i32: the VNNI paths accumulate
/// `(x + 128) · w`, at most `255 · 127` per term (the plain sums are half that).
const MAX_K: usize = (i32::MAX as usize) / (255 * 127);

/// A weight matrix `W[k][n]` quantized to i8 and packed for [`matmul`](super::matmul).
///
/// Quantization is symmetric per output column: `scale[j] = max|W[:, j]| / 127`, values
/// rounded to nearest, so a column of large weights does not flatten the others. Storage is
/// `n` rounded up to 16 columns times `k` rounded up to 4, one byte each: the 1536 × 384
/// MiniLM matrix takes 590 KB instead of 2.4 MB in f32.
#[derive(Clone, Debug)]
pub struct PackedI8 {
    k: usize,
    n: usize,
    /// `k` rounded up to [`GROUP`]; also the row length of quantized `x`.
    pub(super) kp: usize,
    /// `ceil(n / PANEL)`.
    pub(super) panels: usize,
    /// `[panel][k / GROUP][column in panel][k % GROUP]`: each panel is `kp · PANEL` bytes,
    /// each group 64 bytes holding 16 columns × 4 consecutive `k`. Padding is zero.
    pub(super) data: Vec<i8>,
    /// Per-column scales, `n` long.
    scale: Vec<f32>,
    /// `-128 · Σ_k W_q[k][j]` per padded column: the VNNI paths start their accumulators
    /// here, which cancels the +128 they add to `x` to make it unsigned.
    pub(super) offset_init: Vec<i32>,
}

impl PackedI8 {
    /// Quantizes and packs `w`, given row-major in burn's `Linear` layout `w[k][n]`
    /// (input dimension first).
    ///
    /// # Panics
    /// If `w.len() != k · n`, or if `k` exceeds 66 313 (i32 accumulators could overflow).
    pub fn from_f32(w: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "w must be k × n = {k} × {n}");
        assert!(
            k <= MAX_K,
            "k = {k} is over {MAX_K}: i32 accumulators could overflow"
        );
        let kp = k.div_ceil(GROUP) * GROUP;
        let panels = n.div_ceil(PANEL);
        let mut packed = PackedI8 {
            k,
            n,
            kp,
            panels,
            data: vec![0; panels * kp * PANEL],
            scale: Vec::with_capacity(n),
            offset_init: vec![0; panels * PANEL],
        };
        let mut column = vec![0f32; k];
        let mut q = vec![0i8; k];
        for j in 0..n {
            column
                .iter_mut()
                .zip(w.iter().skip(j).step_by(n.max(1)))
                .for_each(|(c, &v)| *c = v);
            packed.scale.push(quantize_row(&column, &mut q, 0));
            packed.store_column(j, &q);
        }
        packed
    }

    /// Writes quantized column `j` into its panel and records its offset correction.
    fn store_column(&mut self, j: usize, q: &[i8]) {
        let (panel, col) = (j / PANEL, j % PANEL);
        let base = panel * self.kp * PANEL;
        for (kk, &v) in q.iter().enumerate() {
            self.data[base + (kk / GROUP * PANEL + col) * GROUP + kk % GROUP] = v;
        }
        let sum: i32 = q.iter().map(|&v| i32::from(v)).sum();
        self.offset_init[j] = -128 * sum;
    }

    /// Input dimension (rows of `W`, columns of `x`).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Output dimension (columns of `W` and of the result).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes held, buffers included, for memory reporting.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.data.len()
            + self.scale.len() * std::mem::size_of::<f32>()
            + self.offset_init.len() * std::mem::size_of::<i32>()
    }

    /// Per-column scales, `n` long.
    pub(super) fn scales(&self) -> &[f32] {
        &self.scale
    }

    /// Columns including the padding of the last panel: the accumulator row length.
    pub(super) fn padded_n(&self) -> usize {
        self.panels * PANEL
    }

    /// The quantized weight `W_q[kk][j]`, read back from the packed layout.
    #[cfg(test)]
    pub(super) fn get(&self, kk: usize, j: usize) -> i8 {
        let (panel, col) = (j / PANEL, j % PANEL);
        self.data[panel * self.kp * PANEL + (kk / GROUP * PANEL + col) * GROUP + kk % GROUP]
    }
}
