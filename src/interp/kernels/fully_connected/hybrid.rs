//! Hybrid (dynamic-range) FULLY_CONNECTED: float input quantized per batch row on every invoke, int8
//! weights, float output. The reference kernel (`EvalHybridDense`), LiteRT's wrapping weight row sums,
//! and the fast kernel.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::fully_connected::FcShape;
use crate::interp::kernels::fully_connected::fast::{FcFastScratch, dot_i16, weights_i16};
use crate::interp::kernels::hybrid::{
    asymmetric_quantize_floats, asymmetric_quantize_floats_body, symmetric_quantize_floats,
    symmetric_quantize_floats_body,
};
use crate::interp::kernels::{FastCall, Io, check_len};

/// Weights of a hybrid (float input, int8 weights) fully-connected layer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HybridWeights {
    /// `[U, D]` int8 weights.
    pub weights: Vec<i8>,
    /// Per-unit scales, or `None` for one scale ([`HybridWeights::scale`]).
    pub per_channel_scale: Option<Vec<f32>>,
    /// The per-tensor scale (unused with per-channel scales).
    pub scale: f32,
    /// Row sums of the weights as LiteRT computes them ([`litert_row_sum`]), for the asymmetric input
    /// zero point.
    pub row_sums: Vec<i32>,
    /// Quantize inputs asymmetrically (`asymmetric_quantize_inputs`, what TF's converter sets).
    pub asymmetric: bool,
}

/// The row sum `Σ_d w[d]` of a hybrid FULLY_CONNECTED's int8 weights, as LiteRT's x86 build computes
/// it (`SseReductionSumVector`, which its reference resolver uses too).
///
/// Blocks of 16 weights are summed pairwise into eight 16-bit lanes (`maddubs` with ones) that are
/// accumulated with *wrapping* 16-bit adds; a remaining block of 8 is widened and added the same way;
/// the lanes are then summed in 32 bits and the last (< 8) weights added one by one. For rows whose
/// lane sums stay within ±32767 this is the exact sum. Beyond that LiteRT's result is wrapped — e.g.
/// a row of 4096 weights of 127 sums to −4096 instead of 520192, and LiteRT's output is off by
/// `zp · scale` times the difference — and we reproduce it to stay bit-exact (checked against LiteRT
/// 2.3.0 on a 4096-wide dense layer, see `hybrid_reproduces_litert_on_a_wrapping_row_sum`).
pub fn litert_row_sum(row: &[i8]) -> i32 {
    let mut lanes = [0i16; 8];
    let blocks = row.chunks_exact(16);
    let rest = blocks.remainder();
    for block in blocks {
        for (j, lane) in lanes.iter_mut().enumerate() {
            *lane = lane.wrapping_add(block[2 * j] as i16 + block[2 * j + 1] as i16);
        }
    }
    let tail = if rest.len() >= 8 {
        for (lane, &w) in lanes.iter_mut().zip(&rest[..8]) {
            *lane = lane.wrapping_add(w as i16);
        }
        &rest[8..]
    } else {
        rest
    };
    let mut sum = lanes
        .iter()
        .fold(0i32, |acc, &l| acc.wrapping_add(l as i32));
    for &w in tail {
        sum = sum.wrapping_add(w as i32);
    }
    sum
}

/// Scratch space of the hybrid kernel, sized by the plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HybridScratch {
    pub input_q: Vec<i8>,
    pub scaling_factor: Vec<f32>,
    pub zero_point: Vec<i32>,
}

impl HybridScratch {
    pub fn new(batches: usize, input_len: usize) -> HybridScratch {
        HybridScratch {
            input_q: vec![0; input_len],
            scaling_factor: vec![0.0; batches],
            zero_point: vec![0; batches],
        }
    }
}

/// Hybrid fully connected (`EvalHybridDense`, the same for the reference and optimized resolvers).
///
/// The output starts as the bias (or 0). If the whole input is zero that is the result (after the
/// activation). Otherwise each batch row is quantized (asymmetric by default), per-tensor weights fold
/// their scale into the row's scaling factor (`sf · s_w`, in float), and each output adds
/// `(float)(dot − row_sum[u]·zp) · (sf · s_w[u])` to the bias. With symmetric input quantization the
/// zero point is 0 (TFLite leaves it uninitialized there; TF's converter always sets asymmetric).
pub fn fully_connected_hybrid(
    s: FcShape,
    w: &HybridWeights,
    input: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    scratch: &mut HybridScratch,
    output: &mut [f32],
) -> Result<()> {
    s.check(input, &w.weights, bias.map(<[f32]>::len), output)?;
    let op = "FULLY_CONNECTED";
    check_len(op, "row sums", w.row_sums.len(), s.units)?;
    if let Some(pcs) = &w.per_channel_scale {
        check_len(op, "weight scales", pcs.len(), s.units)?;
    }
    check_len(
        op,
        "quantized input scratch",
        scratch.input_q.len(),
        input.len(),
    )?;
    check_len(
        op,
        "scaling factor scratch",
        scratch.scaling_factor.len(),
        s.batches,
    )?;
    check_len(
        op,
        "zero point scratch",
        scratch.zero_point.len(),
        s.batches,
    )?;

    for out_row in output.chunks_exact_mut(s.units.max(1)) {
        for (u, o) in out_row.iter_mut().enumerate() {
            *o = bias.map_or(0.0, |b| b[u]);
        }
    }
    if s.depth == 0 {
        output.iter_mut().for_each(|o| *o = 0.0);
        return Ok(());
    }
    if input.iter().any(|&x| x != 0.0) {
        for (b, (in_row, q_row)) in input
            .chunks_exact(s.depth)
            .zip(scratch.input_q.chunks_exact_mut(s.depth))
            .enumerate()
        {
            if w.asymmetric {
                let (sf, zp) = asymmetric_quantize_floats(in_row, q_row);
                scratch.scaling_factor[b] = sf;
                scratch.zero_point[b] = zp;
            } else {
                scratch.scaling_factor[b] = symmetric_quantize_floats(in_row, q_row);
                scratch.zero_point[b] = 0;
            }
            if w.per_channel_scale.is_none() {
                scratch.scaling_factor[b] *= w.scale;
            }
        }
        for (b, (q_row, out_row)) in scratch
            .input_q
            .chunks_exact(s.depth)
            .zip(output.chunks_exact_mut(s.units))
            .enumerate()
        {
            let batch_scale = scratch.scaling_factor[b];
            let batch_offset = scratch.zero_point[b];
            for (u, (w_row, out)) in w
                .weights
                .chunks_exact(s.depth)
                .zip(out_row.iter_mut())
                .enumerate()
            {
                let mut dot: i32 = 0;
                for (&x, &wv) in q_row.iter().zip(w_row) {
                    dot = dot.wrapping_add(wv as i32 * x as i32);
                }
                dot = dot.wrapping_sub(w.row_sums[u].wrapping_mul(batch_offset));
                let mut scale = batch_scale;
                if let Some(pcs) = &w.per_channel_scale {
                    scale *= pcs[u];
                }
                *out += dot as f32 * scale;
            }
        }
    }
    for o in output.iter_mut() {
        *o = clamp_f32(*o, act_min, act_max);
    }
    Ok(())
}

/// A prepared fast hybrid fully-connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct FcHybridFast {
    shape: FcShape,
    /// The weights as i16, `[units][depth]`.
    w16: Vec<i16>,
    w: HybridWeights,
    /// `Σ_d w[u][d] − row_sums[u]` (0 unless LiteRT's 16-bit row sum wrapped; see [`litert_row_sum`]).
    row_sum_error: Vec<i32>,
    bias: Option<Vec<f32>>,
    act: (f32, f32),
}

impl FcHybridFast {
    pub fn new(
        shape: FcShape,
        w: &HybridWeights,
        bias: Option<&[f32]>,
        act: (f32, f32),
    ) -> Option<(FcHybridFast, FcFastScratch)> {
        if w.row_sums.len() != shape.units {
            return None;
        }
        if !shape.fits_weights(w.weights.len()) {
            return None;
        }
        let row_sum_error = w
            .weights
            .chunks_exact(shape.depth)
            .zip(&w.row_sums)
            .map(|(row, &rs)| {
                row.iter()
                    .fold(0i32, |a, &v| a.wrapping_add(v as i32))
                    .wrapping_sub(rs)
            })
            .collect();
        Some((
            FcHybridFast {
                shape,
                w16: weights_i16(&w.weights),
                w: w.clone(),
                row_sum_error,
                bias: bias.map(<[f32]>::to_vec),
                act,
            },
            FcFastScratch::integer(shape, true),
        ))
    }
}

/// Fast hybrid fully connected; identical to [`fully_connected_hybrid`].
pub fn fully_connected_hybrid_fast(
    k: &FcHybridFast,
    input: &[f32],
    scratch: &mut FcFastScratch,
    output: &mut [f32],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut Io {
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, FcHybridFast, Io<'_, f32, FcFastScratch, f32>> {
    type Output = Result<()>;

    /// Wrapping i32 dot products, then float scaling without fused multiply-adds: `FMA` is ignored.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }
}

impl FcHybridFast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(&self, input: &[f32], scratch: &mut FcFastScratch, output: &mut [f32]) -> Result<()> {
        let s = self.shape;
        scratch.check_integer(s, input.len(), output.len(), true)?;
        if let Some(b) = &self.bias {
            check_len("FULLY_CONNECTED", "bias", b.len(), s.units)?;
        }
        let w = &self.w;
        for out_row in output.chunks_exact_mut(s.units) {
            for (u, o) in out_row.iter_mut().enumerate() {
                *o = self.bias.as_ref().map_or(0.0, |b| b[u]);
            }
        }
        if input.iter().any(|&x| x != 0.0) {
            let FcFastScratch { input_q, x16, .. } = scratch;
            for (in_row, out_row) in input
                .chunks_exact(s.depth)
                .zip(output.chunks_exact_mut(s.units))
            {
                let (sf, zp) = if w.asymmetric {
                    asymmetric_quantize_floats_body(in_row, input_q)
                } else {
                    (symmetric_quantize_floats_body(in_row, input_q), 0)
                };
                let batch_scale = if w.per_channel_scale.is_none() {
                    sf * w.scale
                } else {
                    sf
                };
                // Σ_d w·(q − zp) is the reference's `dot − row_sum·zp` with the true row sum; the
                // correction `zp · (true − LiteRT row sum)` below makes it LiteRT's.
                // q − zp lies in [−255, 255]: both are int8.
                for (v, &q) in x16.iter_mut().zip(input_q.iter()) {
                    *v = (q as i32 - zp) as i16;
                }
                for (u, (out, w_row)) in out_row
                    .iter_mut()
                    .zip(self.w16.chunks_exact(s.depth))
                    .enumerate()
                {
                    let dot = dot_i16(w_row, x16);
                    let dot = dot.wrapping_add(zp.wrapping_mul(self.row_sum_error[u]));
                    let scale = match &w.per_channel_scale {
                        Some(pcs) => batch_scale * pcs[u],
                        None => batch_scale,
                    };
                    *out += dot as f32 * scale;
                }
            }
        }
        for o in output.iter_mut() {
            *o = clamp_f32(*o, self.act.0, self.act.1);
        }
        Ok(())
    }
}
