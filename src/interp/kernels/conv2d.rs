//! CONV_2D reference kernels: float32, int8 (per-channel), and hybrid (float activations, int8 weights).
//!
//! Legend: N batches, H/W height/width, C input channels, O output channels (filters), G groups.
//! Input NHWC, filter OHWI with I = C / G, output NHW·O. Filter `o` belongs to group
//! `o / (O / G)` and reads input channels `group·I .. group·I + I`.
//!
//! Quantization spec (tensorflow.org/lite/performance/quantization_spec, CONV_2D):
//!
//! | tensor | type  | granularity | zero point |
//! |--------|-------|-------------|------------|
//! | input  | int8  | per tensor  | any in [−128, 127] |
//! | filter | int8  | per axis 0 (O) | 0 (symmetric, values in [−127, 127]) |
//! | bias   | int32 | per axis 0  | 0, scale = input scale · filter scale`[o]` |
//! | output | int8  | per tensor  | any |
//!
//! Facts from `tflite/kernels/internal/reference/conv.h` and `reference/integer_ops/conv.h`:
//! int8 accumulates `filter · (input − input_zp)` in i32, adds the bias, requantizes with the
//! double-rounding `MultiplyByQuantizedMultiplier` per output channel, adds the output zero point and
//! clamps to the activation range. Float accumulates in the loop order filter_y, filter_x, in_channel
//! starting from 0.0, then adds the bias and clamps. The hybrid kernels are described at each function.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::requant::RequantLanes;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{FastCall, Io, check_len};

/// Shape of one convolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvShape {
    pub window: Window,
    /// Input channels C.
    pub in_c: usize,
    /// Output channels O.
    pub out_c: usize,
    /// Filter input depth I = C / G.
    pub filter_c: usize,
}

impl ConvShape {
    pub fn groups(&self) -> usize {
        self.in_c / self.filter_c.max(1)
    }

    fn filters_per_group(&self) -> usize {
        self.out_c / self.groups().max(1)
    }

    pub fn filter_len(&self) -> usize {
        self.out_c * self.window.filter_h * self.window.filter_w * self.filter_c
    }

    pub(crate) fn check<I, F, O>(
        &self,
        op: &str,
        input: &[I],
        filter: &[F],
        bias: Option<usize>,
        output: &[O],
    ) -> Result<()> {
        check_len(op, "input", input.len(), self.window.in_len(self.in_c))?;
        check_len(op, "filter", filter.len(), self.filter_len())?;
        if let Some(b) = bias {
            check_len(op, "bias", b, self.out_c)?;
        }
        check_len(op, "output", output.len(), self.window.out_len(self.out_c))?;
        // A filter depth of 0, or channels that do not split into groups, would make the loops below
        // read nothing or out of range; the planner never builds such a shape.
        if self.filter_c == 0
            || !self.in_c.is_multiple_of(self.filter_c)
            || !self.out_c.is_multiple_of(self.groups())
        {
            return Err(crate::Error::InvalidModel(format!(
                "{op}: {} input channels, filter depth {}, {} filters do not form groups",
                self.in_c, self.filter_c, self.out_c
            )));
        }
        Ok(())
    }
}

/// Per-output-channel requantization of an int8 kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelQuant {
    /// −input zero point.
    pub input_offset: i32,
    /// Output zero point.
    pub output_offset: i32,
    /// Q0.31 multipliers, one per output channel.
    pub multiplier: Vec<i32>,
    /// Exponents, one per output channel (positive = left shift).
    pub shift: Vec<i32>,
    pub act_min: i32,
    pub act_max: i32,
}

/// Float32 convolution (reference `Conv` for float).
pub fn conv2d_f32(
    s: &ConvShape,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    s.check("CONV_2D", input, filter, bias.map(<[f32]>::len), output)?;
    let w = &s.window;
    let filters_per_group = s.filters_per_group();
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let group = out_c / filters_per_group;
                    let mut total = 0.0f32;
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else {
                            continue;
                        };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else {
                                continue;
                            };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c
                                + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x)
                                * s.filter_c;
                            for in_c in 0..s.filter_c {
                                total += input[in_base + in_c] * filter[f_base + in_c];
                            }
                        }
                    }
                    let bias_value = bias.map_or(0.0, |b| b[out_c]);
                    output[out_base + out_c] = clamp_f32(total + bias_value, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Int8 convolution with per-channel requantization (reference `ConvPerChannel`).
///
/// Overflow bound (from the reference kernel's comment): each product is at most 127 · 255 in
/// magnitude, so an i32 accumulator holds 2^16 taps. Sums wrap instead of trapping on hostile models.
pub fn conv2d_i8(
    s: &ConvShape,
    q: &ChannelQuant,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    s.check("CONV_2D", input, filter, bias.map(<[i32]>::len), output)?;
    check_len("CONV_2D", "multipliers", q.multiplier.len(), s.out_c)?;
    check_len("CONV_2D", "shifts", q.shift.len(), s.out_c)?;
    let w = &s.window;
    let filters_per_group = s.filters_per_group();
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let group = out_c / filters_per_group;
                    let mut acc: i32 = 0;
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else {
                            continue;
                        };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else {
                                continue;
                            };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c
                                + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x)
                                * s.filter_c;
                            for in_c in 0..s.filter_c {
                                let input_val = input[in_base + in_c] as i32;
                                let filter_val = filter[f_base + in_c] as i32;
                                acc = acc.wrapping_add(filter_val * (input_val + q.input_offset));
                            }
                        }
                    }
                    if let Some(b) = bias {
                        acc = acc.wrapping_add(b[out_c]);
                    }
                    acc =
                        multiply_by_quantized_multiplier(acc, q.multiplier[out_c], q.shift[out_c]);
                    acc = acc.wrapping_add(q.output_offset);
                    acc = acc.max(q.act_min).min(q.act_max);
                    output[out_base + out_c] = acc as i8;
                }
            }
        }
    }
    Ok(())
}

/// Hybrid convolution with per-channel filter scales (reference `HybridConvPerChannel`).
///
/// The input was quantized per batch with [`super::hybrid::asymmetric_quantize_floats`] into
/// `input_q` with `scaling_factor[b]` and `input_zero_point[b]`. Taps outside the image are skipped (so
/// they contribute 0, not `−zp`). Then, in float and in this order:
/// `out = (float)acc · filter_scale[o] · scaling_factor[b] + bias[o]`, clamped.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_hybrid_per_channel(
    s: &ConvShape,
    input_q: &[i8],
    scaling_factor: &[f32],
    input_zero_point: &[i32],
    filter: &[i8],
    filter_scale: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    s.check("CONV_2D", input_q, filter, bias.map(<[f32]>::len), output)?;
    let w = &s.window;
    check_len(
        "CONV_2D",
        "scaling factors",
        scaling_factor.len(),
        w.batches,
    )?;
    check_len(
        "CONV_2D",
        "input zero points",
        input_zero_point.len(),
        w.batches,
    )?;
    check_len("CONV_2D", "filter scales", filter_scale.len(), s.out_c)?;
    let filters_per_group = s.filters_per_group();
    for batch in 0..w.batches {
        let zp = input_zero_point[batch];
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let group = out_c / filters_per_group;
                    let mut acc: i32 = 0;
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else {
                            continue;
                        };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else {
                                continue;
                            };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c
                                + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x)
                                * s.filter_c;
                            for in_c in 0..s.filter_c {
                                let input_val = input_q[in_base + in_c] as i32;
                                let filter_val = filter[f_base + in_c] as i32;
                                acc = acc.wrapping_add(filter_val * (input_val - zp));
                            }
                        }
                    }
                    let mut acc_float = acc as f32 * filter_scale[out_c] * scaling_factor[batch];
                    if let Some(b) = bias {
                        acc_float += b[out_c];
                    }
                    output[out_base + out_c] = clamp_f32(acc_float, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Hybrid convolution with one filter scale (TFLite's `optimized_ops::HybridConv`, which the reference
/// resolver also uses; TFLite takes this path when all per-channel scales are equal).
///
/// The input was quantized per batch with [`super::hybrid::symmetric_quantize_floats`] (zero point 0,
/// so padding taps are 0 either way), and `scale[b]` is that batch's scaling factor times the filter
/// scale, multiplied in float. Output: `(float)acc · scale[b] + bias[o]`, clamped.
pub fn conv2d_hybrid(
    s: &ConvShape,
    input_q: &[i8],
    scale: &[f32],
    filter: &[i8],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    s.check("CONV_2D", input_q, filter, bias.map(<[f32]>::len), output)?;
    let w = &s.window;
    check_len("CONV_2D", "scaling factors", scale.len(), w.batches)?;
    let filters_per_group = s.filters_per_group();
    for (batch, &batch_scale) in scale.iter().enumerate() {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let group = out_c / filters_per_group;
                    let mut acc: i32 = 0;
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else {
                            continue;
                        };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else {
                                continue;
                            };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c
                                + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x)
                                * s.filter_c;
                            for in_c in 0..s.filter_c {
                                acc = acc.wrapping_add(
                                    filter[f_base + in_c] as i32 * input_q[in_base + in_c] as i32,
                                );
                            }
                        }
                    }
                    let bias_value = bias.map_or(0.0, |b| b[out_c]);
                    output[out_base + out_c] =
                        clamp_f32(acc as f32 * batch_scale + bias_value, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

// ---- fast kernels ------------------------------------------------------------------------------
//
// Same results as the reference kernels above (bit for bit; the tests below compare them on random
// shapes), organised for speed:
//
// - The input is copied once per invoke into a padded float image whose border holds the value that
//   contributes nothing (0.0 for float; the input zero point for int8, since taps are `x − zp`). Every
//   output pixel then reads all KH·KW taps without bounds tests.
// - The filter is transposed to `[KH·KW·C][O_pad]` (O rounded up with zero lanes, see
//   [`padded_channels`]), so the innermost loop runs over a register block of output channels:
//   `acc[o] += x · w[k][o]`. Each channel still sums its taps in the reference order (filter_y,
//   filter_x, in_channel, from 0.0), so float results are identical.
// - int8 converts the input to `x − zp` once (so padding is 0, like a skipped tap) and accumulates in
//   f32, which is exact here: every partial sum is an integer of magnitude at most
//   `Σ_k |w[o][k]| · 255 ≤ 2^24` (checked when the kernel is prepared; otherwise the plan keeps the
//   reference kernel).
// - Output pixels whose whole receptive field is 0 (most of an MNIST digit's background) get 0 without
//   multiplying: every term would be `0 · w`, which adds nothing (exactly, in float too, for the finite
//   weights the fast kernels require).
// - int8 requantizes all channels at once and branch-free ([`RequantLanes`], equal to the reference
//   for every input; a channel whose right shift exceeds 30 leaves the convolution to the reference
//   kernel). An int8 MAX_POOL_2D right after the convolution can be fused: requantization is monotone
//   (non-decreasing) per channel, so the max of the requantized values is the requantization of the
//   max accumulator, and only the pooled values are requantized; a pool window whose receptive fields
//   are all zero is found with one integral-image query and gets the precomputed requantized zero.
// - Each public fast kernel runs its body through [`cpu::dispatch`]: on x86-64 with AVX2+FMA the whole
//   body (every helper is `#[inline(always)]`) is compiled with those features, so the channel blocks
//   become 8-lane vectors. The int8 kernels also fuse multiply and add there (exact for their integer
//   sums); the float kernels keep separate multiplies and adds (Rust never contracts them), so their
//   results are the same on every CPU. Elsewhere (wasm32 with simd128, other CPUs) the same body runs
//   as compiled.
// - Single-channel 3×3 and 5×5 filters get loops with compile-time tap counts, and a 2×2 / stride 2
//   pool over them (the tutorial) a loop without per-pixel bookkeeping.

/// Largest partial-sum magnitude for which f32 accumulation of integers is exact.
pub const EXACT_F32_INTEGER: i64 = 1 << 24;

/// Geometry and transposed weights shared by the fast convolutions.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvFast {
    pub shape: ConvShape,
    /// Output channels rounded up for register blocks ([`padded_channels`]).
    o_pad: usize,
    /// Filter as f32, `[KH][KW][C][O_pad]`.
    wt: Vec<f32>,
    /// Padded input height and width.
    hp: usize,
    wp: usize,
}

/// Largest padded input (and integral image) the fast convolution kernels allocate, in elements: far
/// above any real model's (a 224×224×64 image is 3.2 M), far below what a forged stride or dilation
/// could ask for.
pub const MAX_FAST_SCRATCH: usize = 1 << 24;

impl ConvFast {
    /// Transpose `filter` (OHWI) for a convolution without groups; `None` with groups or when the
    /// padded image would be too large (see [`MAX_FAST_SCRATCH`]).
    fn new<T: Copy + Into<f32>>(shape: &ConvShape, filter: &[T]) -> Option<ConvFast> {
        if shape.groups() != 1 || filter.len() != shape.filter_len() {
            return None;
        }
        let w = &shape.window;
        let k = w.filter_h * w.filter_w * shape.in_c;
        let o_pad = padded_channels(shape.out_c);
        let mut wt = vec![0.0f32; k * o_pad];
        for o in 0..shape.out_c {
            for t in 0..k {
                wt[t * o_pad + o] = filter[o * k + t].into();
            }
        }
        // Rows/columns the windows reach: (out − 1)·stride + (k − 1)·dilation + 1, at least the image.
        // Strides and dilations come from the file: the arithmetic is checked, and a geometry whose
        // padded image (or its integral image) would exceed `MAX_FAST_SCRATCH` elements is left to the
        // reference kernel, which needs no padded copy.
        let reach = |out: usize, stride: usize, filter: usize, dilation: usize, image: usize| {
            let span = (out.max(1) - 1)
                .checked_mul(stride)?
                .checked_add(filter.checked_sub(1)?.checked_mul(dilation)?)?
                .checked_add(1)?;
            Some(span.max(image))
        };
        let hp = reach(
            w.out_h,
            w.stride_h,
            w.filter_h,
            w.dilation_h,
            w.in_h.checked_add(w.pad_h)?,
        )?;
        let wp = reach(
            w.out_w,
            w.stride_w,
            w.filter_w,
            w.dilation_w,
            w.in_w.checked_add(w.pad_w)?,
        )?;
        let padded = [w.batches, hp, wp, shape.in_c]
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))?;
        let integral = (hp + 1).checked_mul(wp + 1)?;
        if padded.max(integral) > MAX_FAST_SCRATCH {
            return None;
        }
        Some(ConvFast {
            shape: shape.clone(),
            o_pad,
            wt,
            hp,
            wp,
        })
    }

    /// Elements of the padded input.
    fn padded_len(&self) -> usize {
        self.shape.window.batches * self.hp * self.wp * self.shape.in_c
    }

    /// Elements of a per-pixel accumulator map (`[N][OH][OW][O_pad]`).
    fn acc_map_len(&self) -> usize {
        let w = &self.shape.window;
        w.batches * w.out_h * w.out_w * self.o_pad
    }

    /// Copy `input` into the padded image, converting with `f` and filling the border with `pad`.
    #[inline(always)]
    fn pad_input<T: Copy>(
        &self,
        input: &[T],
        pad: f32,
        f: impl Fn(T) -> f32,
        xpad: &mut [f32],
    ) -> Result<()> {
        let s = &self.shape;
        let w = &s.window;
        check_len("CONV_2D", "input", input.len(), w.in_len(s.in_c))?;
        check_len("CONV_2D", "padded input", xpad.len(), self.padded_len())?;
        xpad.iter_mut().for_each(|v| *v = pad);
        let row = w.in_w * s.in_c;
        for b in 0..w.batches {
            for y in 0..w.in_h {
                let src = &input[(b * w.in_h + y) * row..][..row];
                let dst =
                    &mut xpad[((b * self.hp + y + w.pad_h) * self.wp + w.pad_w) * s.in_c..][..row];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = f(v);
                }
            }
        }
        Ok(())
    }

    /// Elements of the per-batch nonzero-count integral image.
    fn integral_len(&self) -> usize {
        (self.hp + 1) * (self.wp + 1)
    }

    /// Accumulate `Σ_k x · w[k][o]` for every output pixel into `acc_map` (`[N][OH][OW][O_pad]`).
    #[inline(always)]
    fn accumulate<const FMA: bool>(
        &self,
        xpad: &[f32],
        acc_map: &mut [f32],
        integral: &mut [u32],
    ) -> Result<()> {
        check_len("CONV_2D", "padded input", xpad.len(), self.padded_len())?;
        check_len("CONV_2D", "accumulators", acc_map.len(), self.acc_map_len())?;
        check_len(
            "CONV_2D",
            "integral image",
            integral.len(),
            self.integral_len(),
        )?;
        // Channels go in register-sized blocks (a `[f32; B]` the compiler keeps in vector registers for
        // the whole tap loop); the block width is a compile-time constant per instance.
        match block_width(self.o_pad) {
            4 => self.accumulate_blocks::<4, FMA>(xpad, acc_map, integral),
            8 => self.accumulate_blocks::<8, FMA>(xpad, acc_map, integral),
            12 => self.accumulate_blocks::<12, FMA>(xpad, acc_map, integral),
            _ => self.accumulate_blocks::<16, FMA>(xpad, acc_map, integral),
        }
        Ok(())
    }

    /// Build the integral image of "pixel is non-zero" for batch `b`: `integral[(y+1)(W+1) + x+1]` counts
    /// the non-zero pixels (any channel) in rows `..=y`, columns `..=x` of the padded image.
    #[inline(always)]
    fn build_integral(&self, xpad: &[f32], b: usize, integral: &mut [u32]) {
        let (c, wp1) = (self.shape.in_c, self.wp + 1);
        integral[..wp1].iter_mut().for_each(|v| *v = 0);
        for y in 0..self.hp {
            let row = &xpad[(b * self.hp + y) * self.wp * c..][..self.wp * c];
            let (above, rest) = integral.split_at_mut((y + 1) * wp1);
            let above = &above[y * wp1..];
            let current = &mut rest[..wp1];
            current[0] = 0;
            let mut row_count = 0u32;
            if c == 1 {
                for ((cur, &up), &v) in current[1..].iter_mut().zip(&above[1..]).zip(row) {
                    row_count += (v != 0.0) as u32;
                    *cur = up + row_count;
                }
            } else {
                for (x, pixel) in row.chunks_exact(c.max(1)).enumerate() {
                    row_count += pixel.iter().any(|&v| v != 0.0) as u32;
                    current[x + 1] = above[x + 1] + row_count;
                }
            }
        }
    }

    /// Whether rows `y0..y1`, columns `x0..x1` of the padded input (of the batch `integral` was built
    /// for) are all zero: 4 lookups in the integral image.
    #[inline(always)]
    fn rect_is_zero(
        &self,
        integral: &[u32],
        (y0, x0): (usize, usize),
        (y1, x1): (usize, usize),
    ) -> bool {
        let wp1 = self.wp + 1;
        integral[y1 * wp1 + x1] + integral[y0 * wp1 + x0]
            == integral[y0 * wp1 + x1] + integral[y1 * wp1 + x0]
    }

    /// Whether every tap of output pixel (`b`, `out_y`, `out_x`) reads 0. Without dilation the window is
    /// a rectangle and its non-zero count is 4 lookups in `integral` (built for batch `b`); dilated
    /// windows test their taps one by one.
    #[inline(always)]
    fn receptive_field_is_zero(
        &self,
        xpad: &[f32],
        integral: &[u32],
        b: usize,
        out_y: usize,
        out_x: usize,
    ) -> bool {
        let w = &self.shape.window;
        let c = self.shape.in_c;
        if w.dilation_h == 1 && w.dilation_w == 1 {
            let (y0, x0) = (out_y * w.stride_h, out_x * w.stride_w);
            self.rect_is_zero(integral, (y0, x0), (y0 + w.filter_h, x0 + w.filter_w))
        } else {
            (0..w.filter_h).all(|filter_y| {
                let y = out_y * w.stride_h + filter_y * w.dilation_h;
                (0..w.filter_w).all(|filter_x| {
                    let x = out_x * w.stride_w + filter_x * w.dilation_w;
                    xpad[((b * self.hp + y) * self.wp + x) * c..][..c]
                        .iter()
                        .all(|&v| v == 0.0)
                })
            })
        }
    }

    /// One output pixel's sums for channels `block·B .. block·B + B`. With `FMA` the products are
    /// fused into the sums, which only the integer (int8) kernels may ask for: their products and
    /// partial sums are integers below 2^24, exact either way.
    #[inline(always)]
    fn pixel_block<const B: usize, const FMA: bool>(
        &self,
        xpad: &[f32],
        b: usize,
        out_y: usize,
        out_x: usize,
        block: usize,
    ) -> [f32; B] {
        let w = &self.shape.window;
        let (c, o_pad) = (self.shape.in_c, self.o_pad);
        // With dilation 1 along x, one filter row's taps are contiguous in the padded image: KW·C
        // values, matching KW·C consecutive rows of the transposed filter.
        let (row_taps, row_steps) = if w.dilation_w == 1 {
            (w.filter_w * c, 1)
        } else {
            (c, w.filter_w)
        };
        // Common small filters with compile-time sizes, so the tap loops unroll.
        match (row_steps, w.filter_h, row_taps) {
            (1, 3, 3) => {
                return self.pixel_block_fixed::<B, FMA, 3, 3>(xpad, b, out_y, out_x, block);
            }
            (1, 5, 5) => {
                return self.pixel_block_fixed::<B, FMA, 5, 5>(xpad, b, out_y, out_x, block);
            }
            _ => {}
        }
        let mut acc = [0.0f32; B];
        for filter_y in 0..w.filter_h {
            let y = out_y * w.stride_h + filter_y * w.dilation_h;
            for step in 0..row_steps {
                let x = out_x * w.stride_w + step * w.dilation_w;
                // Hoisted slices: the padded-image row segment and the matching filter rows, so the
                // inner loops index without bounds checks.
                let xs = &xpad[((b * self.hp + y) * self.wp + x) * c..][..row_taps];
                let ws =
                    &self.wt[((filter_y * w.filter_w + step) * c) * o_pad..][..row_taps * o_pad];
                for (&xv, w_row) in xs.iter().zip(ws.chunks_exact(o_pad)) {
                    madd_block::<B, FMA>(&mut acc, xv, &w_row[block * B..][..B]);
                }
            }
        }
        acc
    }

    /// [`Self::pixel_block`] for `KH` filter rows of `RT` contiguous taps each (dilation 1 along x).
    #[inline(always)]
    fn pixel_block_fixed<const B: usize, const FMA: bool, const KH: usize, const RT: usize>(
        &self,
        xpad: &[f32],
        b: usize,
        out_y: usize,
        out_x: usize,
        block: usize,
    ) -> [f32; B] {
        let w = &self.shape.window;
        let (c, o_pad) = (self.shape.in_c, self.o_pad);
        let mut acc = [0.0f32; B];
        for filter_y in 0..KH {
            let y = out_y * w.stride_h + filter_y * w.dilation_h;
            let xs = &xpad[((b * self.hp + y) * self.wp + out_x * w.stride_w) * c..][..RT];
            let ws = &self.wt[filter_y * RT * o_pad..][..RT * o_pad];
            for t in 0..RT {
                madd_block::<B, FMA>(&mut acc, xs[t], &ws[t * o_pad + block * B..][..B]);
            }
        }
        acc
    }

    #[inline(always)]
    fn accumulate_blocks<const B: usize, const FMA: bool>(
        &self,
        xpad: &[f32],
        acc_map: &mut [f32],
        integral: &mut [u32],
    ) {
        let w = &self.shape.window;
        let mut pixels = acc_map.chunks_exact_mut(self.o_pad);
        for b in 0..w.batches {
            self.build_integral(xpad, b, integral);
            for out_y in 0..w.out_h {
                for out_x in 0..w.out_w {
                    let Some(acc_px) = pixels.next() else { return };
                    if self.receptive_field_is_zero(xpad, integral, b, out_y, out_x) {
                        acc_px.iter_mut().for_each(|a| *a = 0.0);
                        continue;
                    }
                    for (block, out) in acc_px.chunks_exact_mut(B).enumerate() {
                        out.copy_from_slice(
                            &self.pixel_block::<B, FMA>(xpad, b, out_y, out_x, block),
                        );
                    }
                }
            }
        }
    }
}

/// `acc[i] += x · w[i]` for a register block, fused when `FMA` (integer kernels only).
#[inline(always)]
fn madd_block<const B: usize, const FMA: bool>(acc: &mut [f32; B], x: f32, w: &[f32]) {
    let w = &w[..B];
    for i in 0..B {
        acc[i] = if FMA {
            x.mul_add(w[i], acc[i])
        } else {
            acc[i] + x * w[i]
        };
    }
}

/// Channels rounded up for register blocks: to a multiple of 4 up to 16, else to a multiple of 8.
pub(crate) fn padded_channels(n: usize) -> usize {
    let four = n.div_ceil(4) * 4;
    if four <= 16 {
        four.max(4)
    } else {
        n.div_ceil(8) * 8
    }
}

/// The register block width for `padded` channels (see [`padded_channels`]).
pub(crate) fn block_width(padded: usize) -> usize {
    if padded <= 16 { padded } else { 8 }
}

/// Scratch space of the fast convolutions, sized when the kernel is prepared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvFastScratch {
    xpad: Vec<f32>,
    acc_map: Vec<f32>,
    /// Pooled accumulators, `O_pad` per pool output (fused pooling).
    pooled: Vec<f32>,
    /// Per pool output: every convolution pixel of its window reads only zeros, so its pooled
    /// accumulators are all 0 (fused pooling).
    pooled_zero: Vec<bool>,
    /// Non-zero-count integral image of one batch of the padded input.
    integral: Vec<u32>,
}

/// A prepared fast float32 convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvF32Fast {
    pub(crate) conv: ConvFast,
    bias: Vec<f32>,
    act: (f32, f32),
}

impl ConvF32Fast {
    /// Prepare; `None` when the fast kernel does not apply (groups, or non-finite weights, whose
    /// products with padding would not be 0).
    pub fn new(
        shape: &ConvShape,
        filter: &[f32],
        bias: Option<&[f32]>,
        act: (f32, f32),
    ) -> Option<(ConvF32Fast, ConvFastScratch)> {
        if filter.iter().any(|w| !w.is_finite()) {
            return None;
        }
        let conv = ConvFast::new(shape, filter)?;
        let scratch = ConvFastScratch {
            xpad: vec![0.0; conv.padded_len()],
            acc_map: vec![0.0; conv.acc_map_len()],
            pooled: vec![0.0; conv.o_pad],
            pooled_zero: Vec::new(),
            integral: vec![0; conv.integral_len()],
        };
        let bias = bias.map_or_else(|| vec![0.0; shape.out_c], <[f32]>::to_vec);
        Some((ConvF32Fast { conv, bias, act }, scratch))
    }
}

impl ConvFastScratch {
    /// Size the pooled-maxima scratch for fusing `conv` with the max pool `pool` (plan time).
    pub fn for_pool(&mut self, conv: &ConvFast, pool: &Window) {
        self.pooled = vec![0.0; pool.out_len(conv.o_pad)];
        self.pooled_zero = vec![false; pool.out_len(1)];
    }
}

/// Fast float32 convolution; identical to [`conv2d_f32`].
pub fn conv2d_f32_fast(
    k: &ConvF32Fast,
    input: &[f32],
    scratch: &mut ConvFastScratch,
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

impl Kernel for FastCall<'_, ConvF32Fast, Io<'_, f32, ConvFastScratch, f32>> {
    type Output = Result<()>;

    /// Float sums: `FMA` is ignored, every product is added separately as in the reference.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }
}

impl ConvF32Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(
        &self,
        input: &[f32],
        scratch: &mut ConvFastScratch,
        output: &mut [f32],
    ) -> Result<()> {
        let s = &self.conv.shape;
        check_len("CONV_2D", "output", output.len(), s.window.out_len(s.out_c))?;
        check_len("CONV_2D", "bias", self.bias.len(), s.out_c)?;
        self.conv.pad_input(input, 0.0, |v| v, &mut scratch.xpad)?;
        self.conv.accumulate::<false>(
            &scratch.xpad,
            &mut scratch.acc_map,
            &mut scratch.integral,
        )?;
        let (lo, hi) = self.act;
        for (out, acc) in output
            .chunks_exact_mut(s.out_c)
            .zip(scratch.acc_map.chunks_exact(self.conv.o_pad))
        {
            for ((o, &a), &b) in out.iter_mut().zip(acc).zip(&self.bias) {
                *o = clamp_f32(a + b, lo, hi);
            }
        }
        Ok(())
    }
}

/// A prepared fast int8 convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvI8Fast {
    pub(crate) conv: ConvFast,
    /// −input zero point.
    input_offset: i32,
    /// The bias and the per-channel requantization.
    lanes: RequantLanes,
}

impl ConvI8Fast {
    /// Prepare; `None` when the fast kernel does not apply: groups, weights large enough that f32
    /// accumulation could be inexact, or a right shift above 30 (see [`RequantLanes::new`]).
    pub fn new(
        shape: &ConvShape,
        q: &ChannelQuant,
        filter: &[i8],
        bias: Option<&[i32]>,
    ) -> Option<(ConvI8Fast, ConvFastScratch)> {
        let k = shape.window.filter_h * shape.window.filter_w * shape.in_c;
        if k == 0
            || q.multiplier.len() != shape.out_c
            || q.shift.len() != shape.out_c
            || !(-255..=255).contains(&q.input_offset)
        {
            return None;
        }
        // The centred input x − zp lies in [−255, 255].
        if filter
            .chunks_exact(k)
            .any(|row| row.iter().map(|&w| (w as i64).abs()).sum::<i64>() * 255 > EXACT_F32_INTEGER)
        {
            return None;
        }
        let lanes = RequantLanes::new(q, bias.unwrap_or(&[]))?;
        let conv = ConvFast::new(shape, filter)?;
        let scratch = ConvFastScratch {
            xpad: vec![0.0; conv.padded_len()],
            acc_map: vec![0.0; conv.acc_map_len()],
            pooled: vec![0.0; conv.o_pad],
            pooled_zero: Vec::new(),
            integral: vec![0; conv.integral_len()],
        };
        let k = ConvI8Fast {
            conv,
            input_offset: q.input_offset,
            lanes,
        };
        Some((k, scratch))
    }

    #[inline(always)]
    fn prepare_accumulators<const FMA: bool>(
        &self,
        input: &[i8],
        scratch: &mut ConvFastScratch,
    ) -> Result<()> {
        // Centred input x − zp (exact in f32); padding taps are then 0 like the reference's skipped ones.
        let offset = self.input_offset;
        self.conv.pad_input(
            input,
            0.0,
            |v| (v as i32 + offset) as f32,
            &mut scratch.xpad,
        )?;
        self.conv
            .accumulate::<FMA>(&scratch.xpad, &mut scratch.acc_map, &mut scratch.integral)
    }
}

/// Fast int8 convolution; identical to [`conv2d_i8`].
pub fn conv2d_i8_fast(
    k: &ConvI8Fast,
    input: &[i8],
    scratch: &mut ConvFastScratch,
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

impl Kernel for FastCall<'_, ConvI8Fast, Io<'_, i8, ConvFastScratch, i8>> {
    type Output = Result<()>;

    /// Integer sums in f32, exact either way: fused multiply-adds where the CPU has them.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke::<FMA>(io.input, io.scratch, io.output)
    }
}

impl ConvI8Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke<const FMA: bool>(
        &self,
        input: &[i8],
        scratch: &mut ConvFastScratch,
        output: &mut [i8],
    ) -> Result<()> {
        let s = &self.conv.shape;
        check_len("CONV_2D", "output", output.len(), s.window.out_len(s.out_c))?;
        self.prepare_accumulators::<FMA>(input, scratch)?;
        for (out, acc) in output
            .chunks_exact_mut(s.out_c)
            .zip(scratch.acc_map.chunks_exact(self.conv.o_pad))
        {
            self.lanes.requantize(acc, (i32::MIN, i32::MAX), out);
        }
        Ok(())
    }
}

impl ConvFast {
    /// For every pool output, the window maximum of the convolution sums (per channel, NaN skipped like
    /// `max < v` skips it), computed pixel by pixel in registers, into `scratch.pooled`: `O_pad`
    /// maxima per pool output (`[N][PH][PW][O_pad]`). `xpad` must already hold the padded input.
    #[inline(always)]
    fn pooled_maxima<const FMA: bool>(
        &self,
        pool: &Window,
        scratch: &mut ConvFastScratch,
    ) -> Result<()> {
        let w = &self.shape.window;
        if (pool.batches, pool.in_h, pool.in_w) != (w.batches, w.out_h, w.out_w) {
            return Err(crate::Error::InvalidModel(
                "CONV_2D + MAX_POOL_2D: pool geometry does not fit the convolution".into(),
            ));
        }
        // Every window must reach the image (the planner checks; empty windows would leave −∞).
        if (0..pool.out_h).any(|y| pool.clipped_y(y).0 >= pool.clipped_y(y).1)
            || (0..pool.out_w).any(|x| pool.clipped_x(x).0 >= pool.clipped_x(x).1)
        {
            return Err(crate::Error::InvalidModel(
                "MAX_POOL_2D: a window lies entirely in the padding".into(),
            ));
        }
        check_len(
            "CONV_2D",
            "integral image",
            scratch.integral.len(),
            self.integral_len(),
        )?;
        check_len(
            "MAX_POOL_2D",
            "pool scratch",
            scratch.pooled.len(),
            pool.out_len(self.o_pad),
        )?;
        check_len(
            "MAX_POOL_2D",
            "pool flags",
            scratch.pooled_zero.len(),
            pool.out_len(1),
        )?;
        match block_width(self.o_pad) {
            4 => self.pooled_blocks::<4, FMA>(pool, scratch),
            8 => self.pooled_blocks::<8, FMA>(pool, scratch),
            12 => self.pooled_blocks::<12, FMA>(pool, scratch),
            _ => self.pooled_blocks::<16, FMA>(pool, scratch),
        }
        Ok(())
    }

    #[inline(always)]
    fn pooled_blocks<const B: usize, const FMA: bool>(
        &self,
        pool: &Window,
        scratch: &mut ConvFastScratch,
    ) {
        let ConvFastScratch {
            xpad,
            integral,
            pooled,
            pooled_zero,
            ..
        } = scratch;
        let w = &self.shape.window;
        let undilated = w.dilation_h == 1 && w.dilation_w == 1;
        // The common case gets a specialised loop: a 2×2 / stride 2 pool without padding over a
        // single-channel 3×3 or 5×5 convolution (the tutorial's first layer).
        let two_by_two = (pool.filter_h, pool.filter_w, pool.stride_h, pool.stride_w)
            == (2, 2, 2, 2)
            && pool.pad_h == 0
            && pool.pad_w == 0
            && pool.out_h * 2 <= pool.in_h
            && pool.out_w * 2 <= pool.in_w;
        let fixed = match (w.filter_h, w.filter_w * self.shape.in_c, w.dilation_w) {
            (3, 3, 1) | (5, 5, 1) if two_by_two => Some(w.filter_h),
            _ => None,
        };
        let mut outputs = pooled
            .chunks_exact_mut(self.o_pad)
            .zip(pooled_zero.iter_mut());
        for b in 0..pool.batches {
            self.build_integral(xpad, b, integral);
            for out_y in 0..pool.out_h {
                let (fy0, fy1) = pool.clipped_y(out_y);
                for out_x in 0..pool.out_w {
                    let (fx0, fx1) = pool.clipped_x(out_x);
                    let Some((pooled, zero)) = outputs.next() else {
                        return;
                    };
                    // The union of the window's receptive fields is a rectangle of the padded input;
                    // if it is all zeros (MNIST background) so is every sum, with no per-pixel work.
                    let (cy0, cx0) = (
                        out_y * pool.stride_h + fy0 - pool.pad_h,
                        out_x * pool.stride_w + fx0 - pool.pad_w,
                    );
                    let (cy1, cx1) = (
                        out_y * pool.stride_h + fy1 - pool.pad_h,
                        out_x * pool.stride_w + fx1 - pool.pad_w,
                    );
                    *zero = undilated
                        && self.rect_is_zero(
                            integral,
                            (cy0 * w.stride_h, cx0 * w.stride_w),
                            (
                                (cy1 - 1) * w.stride_h + w.filter_h,
                                (cx1 - 1) * w.stride_w + w.filter_w,
                            ),
                        );
                    if *zero {
                        pooled.iter_mut().for_each(|v| *v = 0.0);
                        continue;
                    }
                    if let Some(fixed) = fixed {
                        // 2×2 windows inside the image: the four pixels without per-pixel checks
                        // (a zero receptive field sums to 0 anyway), in registers.
                        let (y, x) = (out_y * 2, out_x * 2);
                        for (block, max_block) in pooled.chunks_exact_mut(B).enumerate() {
                            let mut max = [f32::NEG_INFINITY; B];
                            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                                let acc = match fixed {
                                    3 => self.pixel_block_fixed::<B, FMA, 3, 3>(
                                        xpad,
                                        b,
                                        y + dy,
                                        x + dx,
                                        block,
                                    ),
                                    _ => self.pixel_block_fixed::<B, FMA, 5, 5>(
                                        xpad,
                                        b,
                                        y + dy,
                                        x + dx,
                                        block,
                                    ),
                                };
                                for i in 0..B {
                                    max[i] = if max[i] < acc[i] { acc[i] } else { max[i] };
                                }
                            }
                            max_block.copy_from_slice(&max);
                        }
                        continue;
                    }
                    for (block, max_block) in pooled.chunks_exact_mut(B).enumerate() {
                        let mut max = [f32::NEG_INFINITY; B];
                        for fy in fy0..fy1 {
                            let y = out_y * pool.stride_h + fy - pool.pad_h;
                            for fx in fx0..fx1 {
                                let x = out_x * pool.stride_w + fx - pool.pad_w;
                                let acc = if self.receptive_field_is_zero(xpad, integral, b, y, x) {
                                    [0.0f32; B]
                                } else {
                                    self.pixel_block::<B, FMA>(xpad, b, y, x, block)
                                };
                                for i in 0..B {
                                    max[i] = if max[i] < acc[i] { acc[i] } else { max[i] };
                                }
                            }
                        }
                        max_block.copy_from_slice(&max);
                    }
                }
            }
        }
    }
}

/// The arguments of a fast convolution with the max pool fused after it: the pool's geometry on the
/// convolution's output, the pool's activation range `A`, and the input, scratch and output `X`/`Y`.
pub(crate) struct PooledIo<'a, A, X, Y> {
    pool: &'a Window,
    act: A,
    input: &'a [X],
    scratch: &'a mut ConvFastScratch,
    output: &'a mut [Y],
}

/// Fast int8 convolution followed by int8 MAX_POOL_2D (`pool` is the pooling geometry on the
/// convolution's output, `pool_act` the pool's activation range); identical to running
/// [`conv2d_i8`] then `max_pool2d_i8`. Each pool window's convolution pixels are computed and maxed in
/// registers, then only the maxima are requantized (requantization is monotone per channel, so it
/// commutes with the max).
pub fn conv2d_i8_max_pool2d_fast(
    k: &ConvI8Fast,
    pool: &Window,
    pool_act: (i32, i32),
    input: &[i8],
    scratch: &mut ConvFastScratch,
    output: &mut [i8],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut PooledIo {
            pool,
            act: pool_act,
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, ConvI8Fast, PooledIo<'_, (i32, i32), i8, i8>> {
    type Output = Result<()>;

    /// Integer sums in f32, exact either way: fused multiply-adds where the CPU has them.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel
            .invoke_pooled::<FMA>(io.pool, io.act, io.input, io.scratch, io.output)
    }
}

impl ConvI8Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke_pooled<const FMA: bool>(
        &self,
        pool: &Window,
        pool_act: (i32, i32),
        input: &[i8],
        scratch: &mut ConvFastScratch,
        output: &mut [i8],
    ) -> Result<()> {
        let out_c = self.conv.shape.out_c;
        check_len("MAX_POOL_2D", "output", output.len(), pool.out_len(out_c))?;
        let offset = self.input_offset;
        self.conv.pad_input(
            input,
            0.0,
            |v| (v as i32 + offset) as f32,
            &mut scratch.xpad,
        )?;
        self.conv.pooled_maxima::<FMA>(pool, scratch)?;
        // What an all-zero window gives, requantized once.
        let mut zero_out = [0i8; 64];
        let zeros = [0.0f32; 64];
        let precomputed = out_c <= zero_out.len();
        if precomputed {
            self.lanes
                .requantize(&zeros[..out_c], pool_act, &mut zero_out[..out_c]);
        }
        let pooled = scratch
            .pooled
            .chunks_exact(self.conv.o_pad)
            .zip(&scratch.pooled_zero);
        for (out, (maxima, &zero)) in output.chunks_exact_mut(out_c).zip(pooled) {
            if zero && precomputed {
                out.copy_from_slice(&zero_out[..out_c]);
                continue;
            }
            self.lanes.requantize(maxima, pool_act, out);
        }
        Ok(())
    }
}

/// Fast float32 convolution followed by float32 MAX_POOL_2D; identical to running [`conv2d_f32`] then
/// `max_pool2d_f32` for inputs without NaN. `x ↦ clamp(x + bias)` is monotone, so the window max is
/// taken on the raw sums and the bias and activations applied once per pooled value. (A window whose
/// sums are all NaN gives the conv's activation minimum here, the pool's initial lowest value there.)
pub fn conv2d_f32_max_pool2d_fast(
    k: &ConvF32Fast,
    pool: &Window,
    pool_act: (f32, f32),
    input: &[f32],
    scratch: &mut ConvFastScratch,
    output: &mut [f32],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: k,
        args: &mut PooledIo {
            pool,
            act: pool_act,
            input,
            scratch,
            output,
        },
    })
}

impl Kernel for FastCall<'_, ConvF32Fast, PooledIo<'_, (f32, f32), f32, f32>> {
    type Output = Result<()>;

    /// Float sums: `FMA` is ignored, every product is added separately as in the reference.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel
            .invoke_pooled(io.pool, io.act, io.input, io.scratch, io.output)
    }
}

impl ConvF32Fast {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke_pooled(
        &self,
        pool: &Window,
        pool_act: (f32, f32),
        input: &[f32],
        scratch: &mut ConvFastScratch,
        output: &mut [f32],
    ) -> Result<()> {
        let out_c = self.conv.shape.out_c;
        check_len("MAX_POOL_2D", "output", output.len(), pool.out_len(out_c))?;
        check_len("CONV_2D", "bias", self.bias.len(), out_c)?;
        self.conv.pad_input(input, 0.0, |v| v, &mut scratch.xpad)?;
        let (lo, hi) = self.act;
        self.conv.pooled_maxima::<false>(pool, scratch)?;
        let pooled = scratch.pooled.chunks_exact(self.conv.o_pad);
        for (out, maxima) in output.chunks_exact_mut(out_c).zip(pooled) {
            for ((o, &max), &b) in out.iter_mut().zip(maxima).zip(&self.bias) {
                *o = clamp_f32(clamp_f32(max + b, lo, hi), pool_act.0, pool_act.1);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::Padding;

    fn shape(
        padding: Padding,
        in_hw: (usize, usize),
        k: (usize, usize),
        stride: usize,
        c: usize,
        o: usize,
    ) -> ConvShape {
        ConvShape {
            window: Window::new("t", padding, 1, in_hw, k, (stride, stride), (1, 1)).unwrap(),
            in_c: c,
            out_c: o,
            filter_c: c,
        }
    }

    #[test]
    fn f32_valid_3x3() {
        // 1×3×3×1 input 1..9, one 3×3 filter of ones, bias 0.5 → one output 45.5.
        let s = shape(Padding::Valid, (3, 3), (3, 3), 1, 1, 1);
        let input: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = [0.0f32; 1];
        conv2d_f32(
            &s,
            &input,
            &[1.0; 9],
            Some(&[0.5]),
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [45.5]);
        // RELU6 clamps to 6.
        conv2d_f32(&s, &input, &[1.0; 9], Some(&[0.5]), (0.0, 6.0), &mut out).unwrap();
        assert_eq!(out, [6.0]);
    }

    #[test]
    fn f32_same_padding_and_stride() {
        // 1×3×3×1 input 1..9, 3×3 ones filter, SAME, stride 2 → 2×2 output, pad 1 top/left.
        // (0,0): rows 0..1, cols 0..1 → 1+2+4+5 = 12      (0,1): rows 0..1, cols 1..2 → 2+3+5+6 = 16
        // (1,0): rows 1..2, cols 0..1 → 4+5+7+8 = 24      (1,1): rows 1..2, cols 1..2 → 5+6+8+9 = 28
        let s = shape(Padding::Same, (3, 3), (3, 3), 2, 1, 1);
        assert_eq!((s.window.out_h, s.window.pad_h), (2, 1));
        let input: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = [0.0f32; 4];
        conv2d_f32(&s, &input, &[1.0; 9], None, (f32::MIN, f32::MAX), &mut out).unwrap();
        assert_eq!(out, [12.0, 16.0, 24.0, 28.0]);
    }

    #[test]
    fn forged_stride_and_dilation_leave_the_fast_kernel_out() {
        // The fuzzer's case (tests/fixtures/fuzz-regressions/tflite/oom-conv-fast-scratch-…): SAME
        // padding with stride 4194305 and dilation 67108866 asked the fast kernel for a 16 GB padded
        // image. Such a geometry now falls back to the reference kernel.
        let huge = ConvShape {
            window: Window::new(
                "t",
                Padding::Same,
                1,
                (28, 28),
                (3, 3),
                (4_194_305, 1),
                (67_108_866, 2),
            )
            .unwrap(),
            in_c: 1,
            out_c: 8,
            filter_c: 1,
        };
        assert!(ConvFast::new(&huge, &[1i8; 72]).is_none());
        // an ordinary dilated conv still gets it
        let fine = ConvShape {
            window: Window::new("t", Padding::Same, 1, (28, 28), (3, 3), (1, 1), (2, 2)).unwrap(),
            in_c: 1,
            out_c: 8,
            filter_c: 1,
        };
        assert!(ConvFast::new(&fine, &[1i8; 72]).is_some());
    }

    #[test]
    fn f32_dilation_and_groups() {
        // Dilation 2: 1×5×1×1 input [1,2,3,4,5], 1×2 filter taps at x and x+2 (as a 2×1 filter in h).
        let s = ConvShape {
            window: Window::new("t", Padding::Valid, 1, (5, 1), (2, 1), (1, 1), (2, 1)).unwrap(),
            in_c: 1,
            out_c: 1,
            filter_c: 1,
        };
        let mut out = [0.0f32; 3];
        conv2d_f32(
            &s,
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[1.0, 10.0],
            None,
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [31.0, 42.0, 53.0]); // 1+30, 2+40, 3+50
        // Two groups: 1×1×1×2 input [3, 5], two 1×1×1×1 filters [2], [7] → [6, 35].
        let s = ConvShape {
            window: Window::new("t", Padding::Valid, 1, (1, 1), (1, 1), (1, 1), (1, 1)).unwrap(),
            in_c: 2,
            out_c: 2,
            filter_c: 1,
        };
        let mut out = [0.0f32; 2];
        conv2d_f32(
            &s,
            &[3.0, 5.0],
            &[2.0, 7.0],
            None,
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [6.0, 35.0]);
    }

    #[test]
    fn i8_per_channel() {
        // 1×2×2×1 input [10, 20, 30, 40], zp −10 (offset +10) → centred [20, 30, 40, 50].
        // Two 2×2 filters: ones and [1, −1, 1, −1]. Biases [5, −5].
        // acc0 = 140 + 5 = 145; acc1 = 20 − 30 + 40 − 50 − 5 = −25.
        // Channel 0 multiplier 0.5 (2^30, 0) → 72.5 → 73; channel 1 multiplier 0.25 (2^30, −1) →
        // −6.25 → −6. Output zp 3 → [76, −3].
        let s = shape(Padding::Valid, (2, 2), (2, 2), 1, 1, 2);
        let q = ChannelQuant {
            input_offset: 10,
            output_offset: 3,
            multiplier: vec![1 << 30, 1 << 30],
            shift: vec![0, -1],
            act_min: -128,
            act_max: 127,
        };
        let mut out = [0i8; 2];
        conv2d_i8(
            &s,
            &q,
            &[10, 20, 30, 40],
            &[1, 1, 1, 1, 1, -1, 1, -1],
            Some(&[5, -5]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [76, -3]);
        // RELU-style clamp at the output zero point 3.
        let q = ChannelQuant { act_min: 3, ..q };
        conv2d_i8(
            &s,
            &q,
            &[10, 20, 30, 40],
            &[1, 1, 1, 1, 1, -1, 1, -1],
            Some(&[5, -5]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [76, 3]);
    }

    #[test]
    fn i8_padding_taps_are_skipped() {
        // SAME 3×3 on a 1×1 image: only the centre tap is inside. input 5, zp 0, centre weight 2 → 10,
        // with all other weights 100 (which would matter if padding were read as −zp ≠ 0... here zp 0).
        let s = shape(Padding::Same, (1, 1), (3, 3), 1, 1, 1);
        let q = ChannelQuant {
            input_offset: 7, // zp −7: padding taps would add 100·7 each if they were not skipped
            output_offset: 0,
            multiplier: vec![1 << 30],
            shift: vec![1],
            act_min: -128,
            act_max: 127,
        };
        let mut filter = [100i8; 9];
        filter[4] = 2;
        let mut out = [0i8; 1];
        conv2d_i8(&s, &q, &[5], &filter, None, &mut out).unwrap();
        assert_eq!(out, [24]); // 2 · (5 + 7)
    }

    #[test]
    fn hybrid_matches_formula() {
        // 1×1×2×1 input quantized [10, −4] with zp 2, scale 0.5; filter 1×1×2×1 [3, 1], filter scale 0.25,
        // bias 1. acc = 3·8 + 1·(−6) = 18 → 18 · 0.25 · 0.5 + 1 = 3.25.
        let s = shape(Padding::Valid, (1, 2), (1, 2), 1, 1, 1);
        let mut out = [0.0f32; 1];
        conv2d_hybrid_per_channel(
            &s,
            &[10, -4],
            &[0.5],
            &[2],
            &[3, 1],
            &[0.25],
            Some(&[1.0]),
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [3.25]);
        conv2d_hybrid(
            &s,
            &[10, -4],
            &[0.125],
            &[3, 1],
            Some(&[1.0]),
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [1.0 + 26.0 * 0.125]);
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let s = shape(Padding::Valid, (3, 3), (3, 3), 1, 1, 1);
        let mut out = [0.0f32; 1];
        assert!(
            conv2d_f32(
                &s,
                &[0.0; 8],
                &[1.0; 9],
                None,
                (f32::MIN, f32::MAX),
                &mut out
            )
            .is_err()
        );
    }

    /// Tiny deterministic generator for the oracle tests.
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
        fn i8(&mut self) -> i8 {
            self.next() as i8
        }
    }

    fn random_shape(r: &mut Lcg) -> ConvShape {
        let padding = if r.below(2) == 0 {
            Padding::Same
        } else {
            Padding::Valid
        };
        loop {
            // A third of the cases are single-channel 3×3 or 5×5 filters without x dilation, which
            // the fast kernels unroll.
            let unrolled = r.below(3) == 0;
            let (mut kh, mut kw) = (1 + r.below(4), 1 + r.below(4));
            let (sh, sw) = (1 + r.below(3), 1 + r.below(3));
            let (dh, mut dw) = (1 + r.below(2), 1 + r.below(3));
            let (h, w) = (1 + r.below(11), 1 + r.below(11));
            let batches = 1 + r.below(2);
            if unrolled {
                let k = if r.below(2) == 0 { 3 } else { 5 };
                (kh, kw, dw) = (k, k, 1);
            }
            if let Ok(window) =
                Window::new("t", padding, batches, (h, w), (kh, kw), (sh, sw), (dh, dw))
            {
                let c = if unrolled { 1 } else { 1 + r.below(4) };
                return ConvShape {
                    window,
                    in_c: c,
                    out_c: 1 + r.below(13),
                    filter_c: c,
                };
            }
        }
    }

    #[test]
    fn fast_i8_matches_reference() {
        let mut r = Lcg(42);
        for case in 0..900 {
            let s = random_shape(&mut r);
            // Half the inputs equal the zero point, so whole receptive fields are often 0 (skipped).
            let zp_in = r.i8();
            let input: Vec<i8> = (0..s.window.in_len(s.in_c))
                .map(|_| if r.below(2) == 0 { zp_in } else { r.i8() })
                .collect();
            let filter: Vec<i8> = (0..s.filter_len()).map(|_| r.i8().max(-127)).collect();
            let bias: Vec<i32> = (0..s.out_c).map(|_| r.next() as i32 >> 14).collect();
            let q = ChannelQuant {
                input_offset: -(zp_in as i32),
                output_offset: r.i8() as i32,
                multiplier: (0..s.out_c)
                    .map(|_| (1 << 30) + (r.next() >> 2) as i32)
                    .collect(),
                shift: (0..s.out_c).map(|_| -(r.below(12) as i32)).collect(),
                act_min: -128 + r.below(100) as i32,
                act_max: 127,
            };
            let bias_opt = if case % 3 == 0 {
                None
            } else {
                Some(bias.as_slice())
            };
            let mut want = vec![0i8; s.window.out_len(s.out_c)];
            conv2d_i8(&s, &q, &input, &filter, bias_opt, &mut want).unwrap();
            let (k, mut scratch) =
                ConvI8Fast::new(&s, &q, &filter, bias_opt).expect("fast kernel applies");
            let mut got = vec![0i8; want.len()];
            conv2d_i8_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "case {case}: {s:?}");

            // Fused with a max pool of random geometry on the conv output.
            // Every third pool is the tutorial's 2×2 / stride 2 VALID one (a specialised loop).
            let tutorial_pool = case % 3 == 0;
            let (ph, pw) = if tutorial_pool {
                (2, 2)
            } else {
                (1 + r.below(3), 1 + r.below(3))
            };
            let pad = if r.below(2) == 0 && !tutorial_pool {
                Padding::Same
            } else {
                Padding::Valid
            };
            let strides = if tutorial_pool {
                (2, 2)
            } else {
                (1 + r.below(2), 1 + r.below(2))
            };
            let Ok(pool) = Window::new(
                "t",
                pad,
                s.window.batches,
                (s.window.out_h, s.window.out_w),
                (ph, pw),
                strides,
                (1, 1),
            ) else {
                continue;
            };
            let pool_act = (-128 + r.below(60) as i32, 127 - r.below(60) as i32);
            let mut want_pool = vec![0i8; pool.out_len(s.out_c)];
            crate::interp::kernels::max_pool2d::max_pool2d_i8(
                &pool,
                s.out_c,
                &want,
                pool_act,
                &mut want_pool,
            )
            .unwrap();
            let mut got_pool = vec![0i8; want_pool.len()];
            scratch.for_pool(&k.conv, &pool);
            conv2d_i8_max_pool2d_fast(&k, &pool, pool_act, &input, &mut scratch, &mut got_pool)
                .unwrap();
            assert_eq!(got_pool, want_pool, "case {case} pooled: {s:?} {pool:?}");
        }
    }

    #[test]
    fn fast_f32_matches_reference_bit_for_bit() {
        let mut r = Lcg(7);
        for case in 0..900 {
            let s = random_shape(&mut r);
            let f = |r: &mut Lcg| (r.next() as f32 / u32::MAX as f32) * 2.0 - 1.0;
            let input: Vec<f32> = (0..s.window.in_len(s.in_c))
                .map(|_| if r.below(2) == 0 { 0.0 } else { f(&mut r) })
                .collect();
            let filter: Vec<f32> = (0..s.filter_len()).map(|_| f(&mut r)).collect();
            let bias: Vec<f32> = (0..s.out_c).map(|_| f(&mut r)).collect();
            let act = if case % 2 == 0 {
                (f32::MIN, f32::MAX)
            } else {
                (0.0, 6.0)
            };
            let bias_opt = if case % 3 == 0 {
                None
            } else {
                Some(bias.as_slice())
            };
            let mut want = vec![0.0f32; s.window.out_len(s.out_c)];
            conv2d_f32(&s, &input, &filter, bias_opt, act, &mut want).unwrap();
            let (k, mut scratch) = ConvF32Fast::new(&s, &filter, bias_opt, act).unwrap();
            let mut got = vec![0.0f32; want.len()];
            conv2d_f32_fast(&k, &input, &mut scratch, &mut got).unwrap();
            // Fused with a max pool of random geometry.
            // Every third pool is the tutorial's 2×2 / stride 2 VALID one (a specialised loop).
            let tutorial_pool = case % 3 == 0;
            let (ph, pw) = if tutorial_pool {
                (2, 2)
            } else {
                (1 + r.below(3), 1 + r.below(3))
            };
            let pad = if r.below(2) == 0 && !tutorial_pool {
                Padding::Same
            } else {
                Padding::Valid
            };
            let strides = if tutorial_pool {
                (2, 2)
            } else {
                (1 + r.below(2), 1 + r.below(2))
            };
            if let Ok(pool) = Window::new(
                "t",
                pad,
                s.window.batches,
                (s.window.out_h, s.window.out_w),
                (ph, pw),
                strides,
                (1, 1),
            ) {
                let pool_act = if case % 4 < 2 {
                    (f32::MIN, f32::MAX)
                } else {
                    (-0.5, 0.75)
                };
                let mut want_pool = vec![0.0f32; pool.out_len(s.out_c)];
                crate::interp::kernels::max_pool2d::max_pool2d_f32(
                    &pool,
                    s.out_c,
                    &want,
                    pool_act,
                    &mut want_pool,
                )
                .unwrap();
                let mut got_pool = vec![0.0f32; want_pool.len()];
                scratch.for_pool(&k.conv, &pool);
                conv2d_f32_max_pool2d_fast(
                    &k,
                    &pool,
                    pool_act,
                    &input,
                    &mut scratch,
                    &mut got_pool,
                )
                .unwrap();
                assert_eq!(
                    got_pool.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want_pool.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "case {case} pooled"
                );
            }
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "case {case}"
            );
        }
    }

    #[test]
    fn fast_i8_refuses_right_shifts_above_30() {
        // Two 1×1 filters of weight 1 on one pixel of value 100 (zp 0). Channel 0 scales by 0.5
        // (2^30, shift 0) → 50; channel 1 by 0.5 · 2^−31 (right shift 31), which the fast kernel's
        // requantization cannot take: no fast kernel, and the reference kernel gives 0.
        let s = shape(Padding::Valid, (1, 1), (1, 1), 1, 1, 2);
        let mut q = ChannelQuant {
            input_offset: 0,
            output_offset: 0,
            multiplier: vec![1 << 30, 1 << 30],
            shift: vec![0, -31],
            act_min: -128,
            act_max: 127,
        };
        assert!(ConvI8Fast::new(&s, &q, &[1, 1], None).is_none());
        let mut out = [0i8; 2];
        conv2d_i8(&s, &q, &[100], &[1, 1], None, &mut out).unwrap();
        assert_eq!(out, [50, 0]);
        // A right shift of 30 still gets the fast kernel, with the reference's result: 100 · 2^−31 → 0.
        q.shift[1] = -30;
        let (k, mut scratch) = ConvI8Fast::new(&s, &q, &[1, 1], None).expect("fast kernel applies");
        conv2d_i8_fast(&k, &[100], &mut scratch, &mut out).unwrap();
        assert_eq!(out, [50, 0]);
    }

    #[test]
    fn fast_i8_refuses_inexact_or_grouped() {
        let s = ConvShape {
            window: Window::new("t", Padding::Valid, 1, (1, 1100), (1, 1100), (1, 1), (1, 1))
                .unwrap(),
            in_c: 1,
            out_c: 1,
            filter_c: 1,
        };
        let q = ChannelQuant {
            multiplier: vec![1 << 30],
            shift: vec![0],
            act_min: -128,
            act_max: 127,
            ..Default::default()
        };
        // 1100 · 127 · 255 > 2^24: f32 sums could round.
        assert!(ConvI8Fast::new(&s, &q, &vec![127i8; 1100], None).is_none());
        assert!(ConvI8Fast::new(&s, &q, &vec![1i8; 1100], None).is_some());
    }
}
