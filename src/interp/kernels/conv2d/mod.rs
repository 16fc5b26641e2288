//! CONV_2D: the shape and per-channel quantization every convolution kernel takes, and the reference
//! kernels: float32, int8 (per-channel), and hybrid (float activations, int8 weights). The fast kernels
//! are in [`fast`], those fused with a following MAX_POOL_2D in [`fused_pool`]; the int8 ones take
//! their sums from `avx512.rs` (VNNI) on AVX-512 CPUs.
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

#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod fast;
pub mod fused_pool;
#[cfg(test)]
mod tests;

pub use fast::{
    ConvF32Fast, ConvFast, ConvFastScratch, ConvI8Fast, EXACT_F32_INTEGER, MAX_FAST_SCRATCH,
    conv2d_f32_fast, conv2d_i8_fast,
};
pub use fused_pool::{conv2d_f32_max_pool2d_fast, conv2d_i8_max_pool2d_fast};

use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::check_len;
use crate::interp::kernels::quantize::QuantElement;
use crate::interp::kernels::window::Window;

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
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    // the C++ sums in int32, wrapping on overflow: the low 32 bits of the exact sum
                    let mut acc = conv_window_sum(
                        s,
                        input,
                        filter,
                        [batch, out_y, out_x, out_c],
                        q.input_offset,
                    ) as i32;
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

/// `Σ filter · (input + input_offset)` over the window of output element `[batch, out_y, out_x,
/// out_c]` of a quantized convolution (its group's input channels; taps outside the image skipped), in
/// i64: exact for every int8 and int16 input. The reference kernels of both types take it.
#[inline]
pub(crate) fn conv_window_sum<T: QuantElement>(
    s: &ConvShape,
    input: &[T],
    filter: &[i8],
    [batch, out_y, out_x, out_c]: [usize; 4],
    input_offset: i32,
) -> i64 {
    let w = &s.window;
    let group = out_c / s.filters_per_group().max(1);
    let mut acc: i64 = 0;
    for filter_y in 0..w.filter_h {
        let Some(in_y) = w.in_y(out_y, filter_y) else {
            continue;
        };
        for filter_x in 0..w.filter_w {
            let Some(in_x) = w.in_x(out_x, filter_x) else {
                continue;
            };
            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + group * s.filter_c;
            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x) * s.filter_c;
            for (&x, &f) in input[in_base..][..s.filter_c]
                .iter()
                .zip(&filter[f_base..][..s.filter_c])
            {
                acc += (f as i32 * (x.to_i32() + input_offset)) as i64;
            }
        }
    }
    acc
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
