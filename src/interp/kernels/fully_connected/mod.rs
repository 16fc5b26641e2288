//! FULLY_CONNECTED: the shape and int8 quantization the kernels take, and the float32 and int8
//! (per-channel and per-tensor weights) reference kernels. The fast float32 and int8 kernels are in
//! [`fast`] (with VNNI dot products for AVX-512 CPUs in `avx512.rs`); the hybrid (float input, int8
//! weights) kernels, reference and fast, in [`hybrid`].
//!
//! Legend: B batches (rows of the flattened input), D depth (input features), U units (outputs).
//! Input `[B, D]` row-major, weights `[U, D]`, bias `[U]`, output `[B, U]`.
//!
//! Quantization spec (FULLY_CONNECTED): input/output int8 per tensor; weights int8 symmetric, per
//! tensor or (what TF's converter now writes by default) per axis 0 (U), zero point 0; bias int32 with
//! scale input scale · weight scale`[u]`.
//!
//! **Requantization.** The TF/LiteRT reference kernel (`reference/integer_ops/fully_connected.h` since
//! April 2025, TF 2.20+) no longer uses `MultiplyByQuantizedMultiplier`: it computes
//! `round((double)acc · ((double)s_in · (double)s_w[u] / (double)s_out))` with `std::round` (half away
//! from zero), for per-channel and per-tensor weights alike. [`fully_connected_i8`] does that; the
//! reference vectors of TF 2.21 agree with it on all 10,000 images of the three int8 tutorial files
//! (`tests/reference_exact.rs`), where [`fully_connected_i8_fixed_point`] — the older fixed-point
//! requantization (double-rounding MBQM) of tflite-micro, TF ≤ 2.19 and LiteRT's optimized kernels —
//! differs on 28.

#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod fast;
pub mod hybrid;
#[cfg(test)]
mod tests;

pub use fast::{
    FcF32Fast, FcFastScratch, FcI8Fast, fully_connected_f32_fast, fully_connected_i8_fast,
};
pub use hybrid::{
    FcHybridFast, HybridScratch, HybridWeights, fully_connected_hybrid,
    fully_connected_hybrid_fast, litert_row_sum,
};

use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::check_len;

/// Sizes of one fully-connected layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FcShape {
    pub batches: usize,
    pub depth: usize,
    pub units: usize,
}

impl FcShape {
    fn check<I, W, O>(
        &self,
        input: &[I],
        weights: &[W],
        bias: Option<usize>,
        output: &[O],
    ) -> Result<()> {
        let op = "FULLY_CONNECTED";
        check_len(op, "input", input.len(), self.batches * self.depth)?;
        check_len(op, "weights", weights.len(), self.units * self.depth)?;
        if let Some(b) = bias {
            check_len(op, "bias", b, self.units)?;
        }
        check_len(op, "output", output.len(), self.batches * self.units)
    }
}

/// Float32 fully connected (reference `FullyConnected` for float): a sequential dot product from 0.0,
/// then `+ bias`, then the clamp.
pub fn fully_connected_f32(
    s: FcShape,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    s.check(input, weights, bias.map(<[f32]>::len), output)?;
    if s.depth == 0 {
        // TFLite zero-fills the output when the weights have no columns.
        output.iter_mut().for_each(|o| *o = 0.0);
        return Ok(());
    }
    for (in_row, out_row) in input
        .chunks_exact(s.depth)
        .zip(output.chunks_exact_mut(s.units))
    {
        for (out_c, (w_row, out)) in weights
            .chunks_exact(s.depth)
            .zip(out_row.iter_mut())
            .enumerate()
        {
            let mut total = 0.0f32;
            for (x, w) in in_row.iter().zip(w_row) {
                total += x * w;
            }
            let bias_value = bias.map_or(0.0, |b| b[out_c]);
            *out = clamp_f32(total + bias_value, act_min, act_max);
        }
    }
    Ok(())
}

/// Requantization of an int8 fully-connected layer, reference (double) flavour.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FcQuant {
    /// −input zero point.
    pub input_offset: i32,
    /// −weights zero point (per-tensor weights only; per-channel weights are symmetric and use 0).
    pub weights_offset: i32,
    /// Output zero point.
    pub output_offset: i32,
    /// `(double)s_in · (double)s_w[u] / (double)s_out`, one per unit (all equal for per-tensor weights).
    pub effective_scale: Vec<f64>,
    /// Fixed-point form of the same scales (for [`fully_connected_i8_fixed_point`]).
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
    pub act_min: i32,
    pub act_max: i32,
}

fn dot_i8(in_row: &[i8], w_row: &[i8], input_offset: i32, weights_offset: i32) -> i32 {
    let mut acc: i32 = 0;
    for (&x, &w) in in_row.iter().zip(w_row) {
        acc = acc.wrapping_add((w as i32 + weights_offset) * (x as i32 + input_offset));
    }
    acc
}

/// Int8 fully connected with the TF 2.20+ reference requantization in double (see the module docs).
pub fn fully_connected_i8(
    s: FcShape,
    q: &FcQuant,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    s.check(input, weights, bias.map(<[i32]>::len), output)?;
    check_len(
        "FULLY_CONNECTED",
        "scales",
        q.effective_scale.len(),
        s.units,
    )?;
    if s.depth == 0 {
        output.iter_mut().for_each(|o| *o = 0);
        return Ok(());
    }
    for (in_row, out_row) in input
        .chunks_exact(s.depth)
        .zip(output.chunks_exact_mut(s.units))
    {
        for (out_c, (w_row, out)) in weights
            .chunks_exact(s.depth)
            .zip(out_row.iter_mut())
            .enumerate()
        {
            let mut acc = dot_i8(in_row, w_row, q.input_offset, q.weights_offset);
            if let Some(b) = bias {
                acc = acc.wrapping_add(b[out_c]);
            }
            // `static_cast<int32_t>(round(double))`; Rust's `as` saturates where C++ would be undefined.
            let mut acc_scaled = (acc as f64 * q.effective_scale[out_c]).round() as i32;
            acc_scaled = acc_scaled.wrapping_add(q.output_offset);
            *out = acc_scaled.max(q.act_min).min(q.act_max) as i8;
        }
    }
    Ok(())
}

/// Int8 fully connected with fixed-point requantization (`MultiplyByQuantizedMultiplier`, double
/// rounding): tflite-micro and TF ≤ 2.19 reference kernels. Not what TF 2.21's reference does.
pub fn fully_connected_i8_fixed_point(
    s: FcShape,
    q: &FcQuant,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    s.check(input, weights, bias.map(<[i32]>::len), output)?;
    check_len(
        "FULLY_CONNECTED",
        "multipliers",
        q.multiplier.len(),
        s.units,
    )?;
    check_len("FULLY_CONNECTED", "shifts", q.shift.len(), s.units)?;
    if s.depth == 0 {
        output.iter_mut().for_each(|o| *o = 0);
        return Ok(());
    }
    for (in_row, out_row) in input
        .chunks_exact(s.depth)
        .zip(output.chunks_exact_mut(s.units))
    {
        for (out_c, (w_row, out)) in weights
            .chunks_exact(s.depth)
            .zip(out_row.iter_mut())
            .enumerate()
        {
            let mut acc = dot_i8(in_row, w_row, q.input_offset, q.weights_offset);
            if let Some(b) = bias {
                acc = acc.wrapping_add(b[out_c]);
            }
            let acc_scaled =
                multiply_by_quantized_multiplier(acc, q.multiplier[out_c], q.shift[out_c])
                    .wrapping_add(q.output_offset);
            *out = acc_scaled.max(q.act_min).min(q.act_max) as i8;
        }
    }
    Ok(())
}
