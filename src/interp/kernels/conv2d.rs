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
//! | bias   | int32 | per axis 0  | 0, scale = input scale · filter scale[o] |
//! | output | int8  | per tensor  | any |
//!
//! Facts from `tflite/kernels/internal/reference/conv.h` and `reference/integer_ops/conv.h`:
//! int8 accumulates `filter · (input − input_zp)` in i32, adds the bias, requantizes with the
//! double-rounding `MultiplyByQuantizedMultiplier` per output channel, adds the output zero point and
//! clamps to the activation range. Float accumulates in the loop order filter_y, filter_x, in_channel
//! starting from 0.0, then adds the bias and clamps. The hybrid kernels are described at each function.

use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::check_len;
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

    fn check<I, F, O>(&self, op: &str, input: &[I], filter: &[F], bias: Option<usize>, output: &[O]) -> Result<()> {
        check_len(op, "input", input.len(), self.window.in_len(self.in_c))?;
        check_len(op, "filter", filter.len(), self.filter_len())?;
        if let Some(b) = bias {
            check_len(op, "bias", b, self.out_c)?;
        }
        check_len(op, "output", output.len(), self.window.out_len(self.out_c))?;
        // A filter depth of 0, or channels that do not split into groups, would make the loops below
        // read nothing or out of range; the planner never builds such a shape.
        if self.filter_c == 0 || self.in_c % self.filter_c != 0 || self.out_c % self.groups() != 0 {
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
                        let Some(in_y) = w.in_y(out_y, filter_y) else { continue };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else { continue };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x) * s.filter_c;
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
                        let Some(in_y) = w.in_y(out_y, filter_y) else { continue };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else { continue };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x) * s.filter_c;
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
                    acc = multiply_by_quantized_multiplier(acc, q.multiplier[out_c], q.shift[out_c]);
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
    check_len("CONV_2D", "scaling factors", scaling_factor.len(), w.batches)?;
    check_len("CONV_2D", "input zero points", input_zero_point.len(), w.batches)?;
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
                        let Some(in_y) = w.in_y(out_y, filter_y) else { continue };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else { continue };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x) * s.filter_c;
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
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let group = out_c / filters_per_group;
                    let mut acc: i32 = 0;
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else { continue };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else { continue };
                            let in_base = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + group * s.filter_c;
                            let f_base = ((out_c * w.filter_h + filter_y) * w.filter_w + filter_x) * s.filter_c;
                            for in_c in 0..s.filter_c {
                                acc = acc.wrapping_add(filter[f_base + in_c] as i32 * input_q[in_base + in_c] as i32);
                            }
                        }
                    }
                    let bias_value = bias.map_or(0.0, |b| b[out_c]);
                    output[out_base + out_c] = clamp_f32(acc as f32 * scale[batch] + bias_value, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::Padding;

    fn shape(padding: Padding, in_hw: (usize, usize), k: (usize, usize), stride: usize, c: usize, o: usize) -> ConvShape {
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
        conv2d_f32(&s, &input, &[1.0; 9], Some(&[0.5]), (f32::MIN, f32::MAX), &mut out).unwrap();
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
    fn f32_dilation_and_groups() {
        // Dilation 2: 1×5×1×1 input [1,2,3,4,5], 1×2 filter taps at x and x+2 (as a 2×1 filter in h).
        let s = ConvShape {
            window: Window::new("t", Padding::Valid, 1, (5, 1), (2, 1), (1, 1), (2, 1)).unwrap(),
            in_c: 1,
            out_c: 1,
            filter_c: 1,
        };
        let mut out = [0.0f32; 3];
        conv2d_f32(&s, &[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 10.0], None, (f32::MIN, f32::MAX), &mut out).unwrap();
        assert_eq!(out, [31.0, 42.0, 53.0]); // 1+30, 2+40, 3+50
        // Two groups: 1×1×1×2 input [3, 5], two 1×1×1×1 filters [2], [7] → [6, 35].
        let s = ConvShape {
            window: Window::new("t", Padding::Valid, 1, (1, 1), (1, 1), (1, 1), (1, 1)).unwrap(),
            in_c: 2,
            out_c: 2,
            filter_c: 1,
        };
        let mut out = [0.0f32; 2];
        conv2d_f32(&s, &[3.0, 5.0], &[2.0, 7.0], None, (f32::MIN, f32::MAX), &mut out).unwrap();
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
        conv2d_i8(&s, &q, &[10, 20, 30, 40], &[1, 1, 1, 1, 1, -1, 1, -1], Some(&[5, -5]), &mut out).unwrap();
        assert_eq!(out, [76, -3]);
        // RELU-style clamp at the output zero point 3.
        let q = ChannelQuant { act_min: 3, ..q };
        conv2d_i8(&s, &q, &[10, 20, 30, 40], &[1, 1, 1, 1, 1, -1, 1, -1], Some(&[5, -5]), &mut out).unwrap();
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
        conv2d_hybrid_per_channel(&s, &[10, -4], &[0.5], &[2], &[3, 1], &[0.25], Some(&[1.0]), (f32::MIN, f32::MAX), &mut out)
            .unwrap();
        assert_eq!(out, [3.25]);
        conv2d_hybrid(&s, &[10, -4], &[0.125], &[3, 1], Some(&[1.0]), (f32::MIN, f32::MAX), &mut out).unwrap();
        assert_eq!(out, [1.0 + 26.0 * 0.125]);
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let s = shape(Padding::Valid, (3, 3), (3, 3), 1, 1, 1);
        let mut out = [0.0f32; 1];
        assert!(conv2d_f32(&s, &[0.0; 8], &[1.0; 9], None, (f32::MIN, f32::MAX), &mut out).is_err());
    }
}
