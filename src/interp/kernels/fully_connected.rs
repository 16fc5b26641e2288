//! FULLY_CONNECTED reference kernels: float32, int8 (per-channel and per-tensor weights) and hybrid.
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

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::hybrid::{
    asymmetric_quantize_floats, asymmetric_quantize_floats_body, symmetric_quantize_floats,
    symmetric_quantize_floats_body,
};
use crate::interp::kernels::{FastCall, Io, check_len};

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
/// 2.3.0 on a 4096-wide dense layer, see the test below).
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

// ---- fast kernels ------------------------------------------------------------------------------
//
// Bit-identical to the reference kernels above (compared on random shapes in the tests):
//
// - The weights are transposed to `[D][U_pad]` (U rounded up with zero lanes), so the inner loop runs
//   over a register block of units, `acc[u] += x[d] · w[d][u]`; each unit still sums over d in order
//   from 0.0, so float results are unchanged.
// - Inputs that are 0 are skipped (a first pass lists the non-zero ones, in order). A term `0 · w` adds
//   nothing, exactly, in float too for finite weights. After ReLU and max pooling most of an MNIST
//   feature vector is 0.
// - int8 and hybrid work on the centred input `x − zp` (in [−255, 255]) as i16 against i16 weights,
//   summed densely in wrapping i32 ([`dot_i16`], `pmaddwd` with AVX2): `Σ w·(x − zp)` is exactly the
//   reference's accumulator (int8) or its `dot − row_sum·zp` (hybrid), modulo 2^32 like the reference.

/// Weights transposed to `[D][U_pad]` as f32 (float kernel).
#[derive(Clone, Debug, PartialEq)]
struct Transposed {
    shape: FcShape,
    u_pad: usize,
    wt: Vec<f32>,
}

impl Transposed {
    fn new<T: Copy + Into<f32>>(shape: FcShape, weights: &[T]) -> Option<Transposed> {
        if !shape.fits_weights(weights.len()) {
            return None;
        }
        let u_pad = crate::interp::kernels::block::padded_channels(shape.units);
        let mut wt = vec![0.0f32; shape.depth * u_pad];
        for u in 0..shape.units {
            for d in 0..shape.depth {
                wt[d * u_pad + u] = weights[u * shape.depth + d].into();
            }
        }
        Some(Transposed { shape, u_pad, wt })
    }

    #[inline(always)]
    fn check(&self, input: usize, output: usize, scratch: &FcFastScratch) -> Result<()> {
        let s = self.shape;
        s.check_io(input, output)?;
        check_len(
            "FULLY_CONNECTED",
            "accumulators",
            scratch.acc.len(),
            self.u_pad,
        )?;
        check_len(
            "FULLY_CONNECTED",
            "index scratch",
            scratch.nonzero.len(),
            s.depth,
        )
    }

    /// `acc[u] = Σ_{d in nonzero} x[d] · w[d][u]` over the listed depths (ascending), from 0.0.
    #[inline(always)]
    fn dot(&self, x: &[f32], nonzero: &[u32], acc: &mut [f32]) {
        match crate::interp::kernels::block::block_width(self.u_pad) {
            4 => self.dot_blocks::<4>(x, nonzero, acc),
            8 => self.dot_blocks::<8>(x, nonzero, acc),
            12 => self.dot_blocks::<12>(x, nonzero, acc),
            _ => self.dot_blocks::<16>(x, nonzero, acc),
        }
    }

    /// Units in register blocks of `B` (a `[f32; B]` accumulator kept in vector registers).
    #[inline(always)]
    fn dot_blocks<const B: usize>(&self, x: &[f32], nonzero: &[u32], acc: &mut [f32]) {
        for (block, out) in acc.chunks_exact_mut(B).enumerate() {
            let mut sums = [0.0f32; B];
            for &d in nonzero {
                let d = d as usize;
                let xv = x[d];
                let w_block = &self.wt[d * self.u_pad + block * B..][..B];
                for i in 0..B {
                    sums[i] += xv * w_block[i];
                }
            }
            out.copy_from_slice(&sums);
        }
    }
}

/// `Σ_d w[d]·x[d]` with wrapping i32 sums, which is the reference's i32 accumulator exactly (wrapping
/// addition is associative, so any order gives the same bits). The operands are i16 (int8 weights and
/// centred inputs in [−255, 255]), so the loop compiles to `pmaddwd` pairs.
#[inline(always)]
fn dot_i16(w: &[i16], x: &[i16]) -> i32 {
    w.iter()
        .zip(x)
        .fold(0i32, |acc, (&a, &b)| acc.wrapping_add(a as i32 * b as i32))
}

/// Weights `[units][depth]` as i16, for [`dot_i16`].
fn weights_i16(weights: &[i8]) -> Vec<i16> {
    weights.iter().map(|&w| w as i16).collect()
}

/// List the indices of the non-zero values of `x` (in order) into `nonzero`; returns how many.
/// Branch-free: every index is written, the count advances only past non-zeros.
#[inline(always)]
fn list_nonzero(x: &[f32], nonzero: &mut [u32]) -> usize {
    let mut n = 0;
    for (d, &v) in x.iter().enumerate() {
        if let Some(slot) = nonzero.get_mut(n) {
            *slot = d as u32;
        }
        n += (v != 0.0) as usize;
    }
    n
}

/// Scratch of the fast kernels, sized when they are prepared (each kernel gets only what it uses).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FcFastScratch {
    /// Float kernel: one row of unit sums, and the indices of the non-zero inputs.
    acc: Vec<f32>,
    nonzero: Vec<u32>,
    /// Hybrid kernel: one row of inputs quantized to int8.
    input_q: Vec<i8>,
    /// Int8 and hybrid kernels: one row of centred integer inputs as i16.
    x16: Vec<i16>,
}

impl FcFastScratch {
    fn float(t: &Transposed) -> FcFastScratch {
        FcFastScratch {
            acc: vec![0.0; t.u_pad],
            nonzero: vec![0; t.shape.depth],
            ..FcFastScratch::default()
        }
    }

    fn integer(shape: FcShape, hybrid: bool) -> FcFastScratch {
        FcFastScratch {
            input_q: vec![0; if hybrid { shape.depth } else { 0 }],
            x16: vec![0; shape.depth],
            ..FcFastScratch::default()
        }
    }

    /// The integer kernels' checks: input and output sizes, and the i16 (and, hybrid, int8) row.
    #[inline(always)]
    fn check_integer(
        &self,
        shape: FcShape,
        input: usize,
        output: usize,
        hybrid: bool,
    ) -> Result<()> {
        shape.check_io(input, output)?;
        check_len(
            "FULLY_CONNECTED",
            "i16 scratch",
            self.x16.len(),
            shape.depth,
        )?;
        if hybrid {
            check_len(
                "FULLY_CONNECTED",
                "int8 scratch",
                self.input_q.len(),
                shape.depth,
            )?;
        }
        Ok(())
    }
}

impl FcShape {
    /// Whether `input` and `output` hold whole batches for this shape.
    #[inline(always)]
    fn check_io(&self, input: usize, output: usize) -> Result<()> {
        check_len("FULLY_CONNECTED", "input", input, self.batches * self.depth)?;
        check_len(
            "FULLY_CONNECTED",
            "output",
            output,
            self.batches * self.units,
        )
    }

    /// Whether `weights` are `units × depth` with a non-zero depth (what the fast kernels need).
    fn fits_weights(&self, weights: usize) -> bool {
        self.depth > 0 && weights == self.units * self.depth
    }
}

/// A prepared fast float32 fully-connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct FcF32Fast {
    t: Transposed,
    bias: Vec<f32>,
    act: (f32, f32),
}

impl FcF32Fast {
    /// Prepare; `None` for non-finite weights (skipping `0 · inf` would change the result).
    pub fn new(
        shape: FcShape,
        weights: &[f32],
        bias: Option<&[f32]>,
        act: (f32, f32),
    ) -> Option<(FcF32Fast, FcFastScratch)> {
        if weights.iter().any(|w| !w.is_finite()) {
            return None;
        }
        let t = Transposed::new(shape, weights)?;
        let scratch = FcFastScratch::float(&t);
        let bias = bias.map_or_else(|| vec![0.0; shape.units], <[f32]>::to_vec);
        Some((FcF32Fast { t, bias, act }, scratch))
    }
}

/// Fast float32 fully connected; identical to [`fully_connected_f32`].
pub fn fully_connected_f32_fast(
    k: &FcF32Fast,
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

impl Kernel for FastCall<'_, FcF32Fast, Io<'_, f32, FcFastScratch, f32>> {
    type Output = Result<()>;

    /// Float sums: `FMA` is ignored, every product is added separately as in the reference.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }
}

impl FcF32Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(&self, input: &[f32], scratch: &mut FcFastScratch, output: &mut [f32]) -> Result<()> {
        let s = self.t.shape;
        self.t.check(input.len(), output.len(), scratch)?;
        check_len("FULLY_CONNECTED", "bias", self.bias.len(), s.units)?;
        for (in_row, out_row) in input
            .chunks_exact(s.depth)
            .zip(output.chunks_exact_mut(s.units))
        {
            let n = list_nonzero(in_row, &mut scratch.nonzero);
            self.t.dot(in_row, &scratch.nonzero[..n], &mut scratch.acc);
            for ((o, &a), &b) in out_row.iter_mut().zip(&scratch.acc).zip(&self.bias) {
                *o = clamp_f32(a + b, self.act.0, self.act.1);
            }
        }
        Ok(())
    }
}

/// A prepared fast int8 fully-connected layer (symmetric weights only).
#[derive(Clone, Debug, PartialEq)]
pub struct FcI8Fast {
    shape: FcShape,
    /// The weights as i16, `[units][depth]`.
    w16: Vec<i16>,
    bias: Vec<i32>,
    quant: FcQuant,
    fixed_point: bool,
}

impl FcI8Fast {
    /// Prepare; `None` when the fast kernel does not apply (a weight zero point). `fixed_point` selects
    /// [`fully_connected_i8_fixed_point`]'s requantization instead of [`fully_connected_i8`]'s.
    pub fn new(
        shape: FcShape,
        q: &FcQuant,
        weights: &[i8],
        bias: Option<&[i32]>,
        fixed_point: bool,
    ) -> Option<(FcI8Fast, FcFastScratch)> {
        if q.weights_offset != 0 || !(-255..=255).contains(&q.input_offset) {
            return None;
        }
        if q.effective_scale.len() != shape.units
            || q.multiplier.len() != shape.units
            || q.shift.len() != shape.units
        {
            return None;
        }
        if !shape.fits_weights(weights.len()) {
            return None;
        }
        let bias = (0..shape.units)
            .map(|u| bias.and_then(|b| b.get(u).copied()).unwrap_or(0))
            .collect();
        Some((
            FcI8Fast {
                shape,
                w16: weights_i16(weights),
                bias,
                quant: q.clone(),
                fixed_point,
            },
            FcFastScratch::integer(shape, false),
        ))
    }
}

/// Fast int8 fully connected; identical to [`fully_connected_i8`] (or the fixed-point variant).
pub fn fully_connected_i8_fast(
    k: &FcI8Fast,
    input: &[i8],
    scratch: &mut FcFastScratch,
    output: &mut [i8],
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

impl Kernel for FastCall<'_, FcI8Fast, Io<'_, i8, FcFastScratch, i8>> {
    type Output = Result<()>;

    /// Wrapping i32 sums: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }
}

impl FcI8Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(&self, input: &[i8], scratch: &mut FcFastScratch, output: &mut [i8]) -> Result<()> {
        let s = self.shape;
        scratch.check_integer(s, input.len(), output.len(), false)?;
        let q = &self.quant;
        for (in_row, out_row) in input
            .chunks_exact(s.depth)
            .zip(output.chunks_exact_mut(s.units))
        {
            // Centred inputs x − zp lie in [−255, 255] (checked when prepared).
            for (v, &x) in scratch.x16.iter_mut().zip(in_row) {
                *v = (x as i32 + q.input_offset) as i16;
            }
            for (u, (o, w_row)) in out_row
                .iter_mut()
                .zip(self.w16.chunks_exact(s.depth))
                .enumerate()
            {
                let acc = dot_i16(w_row, &scratch.x16).wrapping_add(self.bias[u]);
                let scaled = if self.fixed_point {
                    crate::interp::fixed_point::multiply_by_quantized_multiplier_fast(
                        acc,
                        q.multiplier[u],
                        q.shift[u],
                    )
                } else {
                    (acc as f64 * q.effective_scale[u]).round() as i32
                };
                *o = scaled
                    .wrapping_add(q.output_offset)
                    .max(q.act_min)
                    .min(q.act_max) as i8;
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_two_units() {
        // input [1, 2, 3]; weights [[1, 1, 1], [1, −1, 0.5]]; bias [0.5, 0] → [6.5, 0.5]
        let s = FcShape {
            batches: 1,
            depth: 3,
            units: 2,
        };
        let mut out = [0.0f32; 2];
        fully_connected_f32(
            s,
            &[1.0, 2.0, 3.0],
            &[1.0, 1.0, 1.0, 1.0, -1.0, 0.5],
            Some(&[0.5, 0.0]),
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [6.5, 0.5]);
        // RELU on a negative unit.
        fully_connected_f32(
            s,
            &[1.0, 2.0, 3.0],
            &[-1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            None,
            (0.0, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0.0, 1.0]);
    }

    fn quant(scales: &[f64]) -> FcQuant {
        FcQuant {
            input_offset: 3,
            weights_offset: 0,
            output_offset: -5,
            effective_scale: scales.to_vec(),
            multiplier: scales
                .iter()
                .map(|&m| crate::interp::fixed_point::quantize_multiplier(m).0)
                .collect(),
            shift: scales
                .iter()
                .map(|&m| crate::interp::fixed_point::quantize_multiplier(m).1)
                .collect(),
            act_min: -128,
            act_max: 127,
        }
    }

    #[test]
    fn i8_double_requant_ties_away() {
        // input [−1, 1] with zp −3 → centred [2, 4]; weights [[1, 1], [1, −1]]; bias [1, 0]
        // acc = [7, −2]; scales [0.5, 0.25] → [3.5 → 4, −0.5 → −1]; zp −5 → [−1, −6]
        let s = FcShape {
            batches: 1,
            depth: 2,
            units: 2,
        };
        let q = quant(&[0.5, 0.25]);
        let mut out = [0i8; 2];
        fully_connected_i8(s, &q, &[-1, 1], &[1, 1, 1, -1], Some(&[1, 0]), &mut out).unwrap();
        assert_eq!(out, [-1, -6]);
        // The fixed-point path agrees on these exact ties.
        fully_connected_i8_fixed_point(s, &q, &[-1, 1], &[1, 1, 1, -1], Some(&[1, 0]), &mut out)
            .unwrap();
        assert_eq!(out, [-1, -6]);
    }

    #[test]
    fn double_and_fixed_point_can_differ() {
        // acc = 5 with scale 0.09375 (= 0.75 · 2^−3): exact 0.46875 → 0 in double; the fixed-point path
        // rounds twice (3.75 → 4, then 4/8 = 0.5 → 1).
        let s = FcShape {
            batches: 1,
            depth: 1,
            units: 1,
        };
        let mut q = quant(&[0.09375]);
        q.input_offset = 0;
        q.output_offset = 0;
        let mut out = [0i8; 1];
        fully_connected_i8(s, &q, &[5], &[1], None, &mut out).unwrap();
        assert_eq!(out, [0]);
        fully_connected_i8_fixed_point(s, &q, &[5], &[1], None, &mut out).unwrap();
        assert_eq!(out, [1]);
    }

    #[test]
    fn per_tensor_weight_offset() {
        // weights_offset −2 (weights zp 2): weights [4, 6] → [2, 4]; input [1, 1] zp 0 → acc 6; scale 1.
        let s = FcShape {
            batches: 1,
            depth: 2,
            units: 1,
        };
        let mut q = quant(&[1.0]);
        q.input_offset = 0;
        q.output_offset = 0;
        q.weights_offset = -2;
        let mut out = [0i8; 1];
        fully_connected_i8(s, &q, &[1, 1], &[4, 6], None, &mut out).unwrap();
        assert_eq!(out, [6]);
    }

    #[test]
    fn hybrid_asymmetric() {
        // input [0, 2.55] → scale 0.01, zp −128, q = [−128, 127]. weights [[1, 2]] row sum 3,
        // per-tensor weight scale 0.5. dot = −128 + 254 = 126; − 3·(−128) = 510; scale 0.01·0.5;
        // out = 1 + 510 · 0.005 = 3.55 (in float).
        let s = FcShape {
            batches: 1,
            depth: 2,
            units: 1,
        };
        let w = HybridWeights {
            weights: vec![1, 2],
            per_channel_scale: None,
            scale: 0.5,
            row_sums: vec![3],
            asymmetric: true,
        };
        let mut scratch = HybridScratch::new(1, 2);
        let mut out = [0.0f32; 1];
        fully_connected_hybrid(
            s,
            &w,
            &[0.0, 2.55],
            Some(&[1.0]),
            (f32::MIN, f32::MAX),
            &mut scratch,
            &mut out,
        )
        .unwrap();
        let sf = (2.55f32 as f64 / 255.0) as f32 * 0.5;
        assert_eq!(out, [1.0 + 510.0 * sf]);
        // All-zero input: just the bias.
        fully_connected_hybrid(
            s,
            &w,
            &[0.0, 0.0],
            Some(&[1.0]),
            (f32::MIN, f32::MAX),
            &mut scratch,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [1.0]);
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
        fn below(&mut self, n: u32) -> usize {
            (self.next() % n) as usize
        }
        fn f(&mut self) -> f32 {
            (self.next() as f32 / u32::MAX as f32) * 2.0 - 1.0
        }
    }

    #[test]
    fn fast_kernels_match_reference() {
        let mut r = Lcg(3);
        for case in 0..200 {
            // Every 10th case is deep with full-scale weights (large i32 sums).
            let depth = if case % 10 == 0 {
                600 + r.below(900)
            } else {
                1 + r.below(300)
            };
            let s = FcShape {
                batches: 1 + r.below(3),
                depth,
                units: 1 + r.below(20),
            };
            let act = if case % 2 == 0 {
                (f32::MIN, f32::MAX)
            } else {
                (0.0, 6.0)
            };
            // float, with about a third of the inputs exactly 0 (skipped by the fast kernels)
            let x: Vec<f32> = (0..s.batches * s.depth)
                .map(|_| if r.below(3) == 0 { 0.0 } else { r.f() })
                .collect();
            let w: Vec<f32> = (0..s.units * s.depth).map(|_| r.f()).collect();
            let b: Vec<f32> = (0..s.units).map(|_| r.f()).collect();
            let bias = (case % 3 != 0).then_some(b.as_slice());
            let mut want = vec![0.0f32; s.batches * s.units];
            fully_connected_f32(s, &x, &w, bias, act, &mut want).unwrap();
            let (k, mut scratch) = FcF32Fast::new(s, &w, bias, act).unwrap();
            let mut got = vec![0.0f32; want.len()];
            fully_connected_f32_fast(&k, &x, &mut scratch, &mut got).unwrap();
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "f32 case {case}"
            );
            // int8, both requantizations
            let zp_in = r.next() as i8;
            let xq: Vec<i8> = (0..s.batches * s.depth)
                .map(|_| {
                    if r.below(3) == 0 {
                        zp_in
                    } else {
                        r.next() as i8
                    }
                })
                .collect();
            let wq: Vec<i8> = (0..s.units * s.depth)
                .map(|_| {
                    if case % 10 == 0 {
                        if r.below(2) == 0 { 127 } else { -127 }
                    } else {
                        (r.next() as i8).max(-127)
                    }
                })
                .collect();
            let bq: Vec<i32> = (0..s.units).map(|_| r.next() as i32 >> 12).collect();
            let bias_q = (case % 3 != 0).then_some(bq.as_slice());
            let scales: Vec<f64> = (0..s.units)
                .map(|_| 1e-4 + r.below(1000) as f64 * 1e-5)
                .collect();
            let mut q = quant(&scales);
            q.input_offset = -(zp_in as i32);
            q.output_offset = r.next() as i8 as i32;
            for fixed_point in [false, true] {
                let mut want = vec![0i8; s.batches * s.units];
                if fixed_point {
                    fully_connected_i8_fixed_point(s, &q, &xq, &wq, bias_q, &mut want).unwrap();
                } else {
                    fully_connected_i8(s, &q, &xq, &wq, bias_q, &mut want).unwrap();
                }
                let (k, mut scratch) = FcI8Fast::new(s, &q, &wq, bias_q, fixed_point).unwrap();
                let mut got = vec![0i8; want.len()];
                fully_connected_i8_fast(&k, &xq, &mut scratch, &mut got).unwrap();
                assert_eq!(got, want, "int8 case {case} fixed_point {fixed_point}");
            }
            // hybrid
            let row_sums = wq.chunks_exact(s.depth).map(litert_row_sum).collect();
            let per_channel = case % 2 == 0;
            let hw = HybridWeights {
                weights: wq.clone(),
                per_channel_scale: per_channel
                    .then(|| (0..s.units).map(|_| 0.001 + r.f().abs() * 0.01).collect()),
                scale: 0.004,
                row_sums,
                asymmetric: case % 4 != 1,
            };
            let mut want = vec![0.0f32; s.batches * s.units];
            let mut scratch_ref = HybridScratch::new(s.batches, s.batches * s.depth);
            fully_connected_hybrid(s, &hw, &x, bias, act, &mut scratch_ref, &mut want).unwrap();
            let (k, mut scratch) = FcHybridFast::new(s, &hw, bias, act).unwrap();
            let mut got = vec![0.0f32; want.len()];
            fully_connected_hybrid_fast(&k, &x, &mut scratch, &mut got).unwrap();
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "hybrid case {case}"
            );
        }
    }

    #[test]
    fn litert_row_sums_wrap_like_sse() {
        // Exact while the eight 16-bit lanes stay in range.
        let row: Vec<i8> = (0..100).map(|i| (i % 7) as i8 - 3).collect();
        assert_eq!(
            litert_row_sum(&row),
            row.iter().map(|&v| v as i32).sum::<i32>()
        );
        assert_eq!(litert_row_sum(&[127; 24]), 24 * 127); // one block of 16 + one of 8
        assert_eq!(litert_row_sum(&[-5; 7]), -35); // tail only
        // 4096 × 127: each lane gets 256 × 254 = 65024 ≡ −512 (mod 2^16); 8 lanes → −4096.
        assert_eq!(litert_row_sum(&[127; 4096]), -4096);
    }

    #[test]
    fn hybrid_reproduces_litert_on_a_wrapping_row_sum() {
        // tf.keras Dense(4) on 4096 inputs with kernel columns +0.5, −0.5, ±0.5 alternating and
        // linspace(−1, 1), zero bias, converted with Optimize.DEFAULT (per-channel int8 weights: 127,
        // −127, ±127 and a ramp; scales 0.5/127 and 1/127), input linspace(0, 1, 4096). LiteRT 2.3.0
        // BUILTIN_REF on x86 outputs [−12.110298, 12.110298, −0.26666668, 683.0265] where float math
        // gives [1024, −1024, −0.25, 683]: units 0 and 1 hit the wrapped row sums.
        let depth = 4096;
        let s = FcShape {
            batches: 1,
            depth,
            units: 4,
        };
        let mut weights = vec![0i8; 4 * depth];
        for d in 0..depth {
            weights[d] = 127;
            weights[depth + d] = -127;
            weights[2 * depth + d] = if d % 2 == 0 { 127 } else { -127 };
            let ramp = -1.0 + 2.0 * d as f32 / (depth - 1) as f32;
            weights[3 * depth + d] = (ramp * 127.0).round() as i8;
        }
        let x: Vec<f32> = (0..depth).map(|d| d as f32 / (depth - 1) as f32).collect();
        let hw = HybridWeights {
            row_sums: weights.chunks_exact(depth).map(litert_row_sum).collect(),
            per_channel_scale: Some(vec![0.5 / 127.0, 0.5 / 127.0, 0.5 / 127.0, 1.0 / 127.0]),
            scale: 0.0,
            weights,
            asymmetric: true,
        };
        let mut out = [0.0f32; 4];
        let mut scratch = HybridScratch::new(1, depth);
        fully_connected_hybrid(
            s,
            &hw,
            &x,
            Some(&[0.0; 4]),
            (f32::MIN, f32::MAX),
            &mut scratch,
            &mut out,
        )
        .unwrap();
        let litert = [-12.110298f32, 12.110298, -0.26666668, 683.0265];
        for (o, l) in out.iter().zip(litert) {
            assert!((o - l).abs() < 1e-3, "{out:?} vs LiteRT {litert:?}");
        }
        let (k, mut fast_scratch) =
            FcHybridFast::new(s, &hw, Some(&[0.0; 4]), (f32::MIN, f32::MAX)).unwrap();
        let mut fast = [0.0f32; 4];
        fully_connected_hybrid_fast(&k, &x, &mut fast_scratch, &mut fast).unwrap();
        assert_eq!(fast, out);
    }
}
