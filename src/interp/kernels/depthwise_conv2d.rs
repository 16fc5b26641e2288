//! DEPTHWISE_CONV_2D reference kernels: float32, int8 (per-channel) and hybrid.
//!
//! Legend: N batches, H/W height/width, C input channels, M depth multiplier, O = C·M output channels.
//! Input NHWC, filter 1HWO, output NHWO. Output channel `o = c·M + m` reads only input channel `c`.
//!
//! Quantization spec (DEPTHWISE_CONV_2D): input/output int8 per tensor; filter int8 symmetric per axis 3
//! (O), zero point 0; bias int32 per axis with scale input scale · filter scale`[o]`.
//!
//! Facts from `tflite/kernels/internal/reference/depthwiseconv_float.h` and
//! `reference/integer_ops/depthwise_conv.h`: same accumulate → bias → requantize → zero point → clamp
//! order as CONV_2D; the hybrid kernel scales with `(float)acc · (filter_scale[o] · scaling_factor[b])`
//! (note the grouping, unlike CONV_2D's hybrid).

use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::check_len;
use crate::interp::kernels::conv2d::ChannelQuant;
use crate::interp::kernels::window::Window;

/// Shape of one depthwise convolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepthwiseShape {
    pub window: Window,
    /// Input channels C.
    pub in_c: usize,
    /// Depth multiplier M.
    pub multiplier: usize,
}

impl DepthwiseShape {
    pub fn out_c(&self) -> usize {
        self.in_c * self.multiplier
    }

    pub fn filter_len(&self) -> usize {
        self.window.filter_h * self.window.filter_w * self.out_c()
    }

    fn check<I, F, O>(
        &self,
        input: &[I],
        filter: &[F],
        bias: Option<usize>,
        output: &[O],
    ) -> Result<()> {
        let op = "DEPTHWISE_CONV_2D";
        check_len(op, "input", input.len(), self.window.in_len(self.in_c))?;
        check_len(op, "filter", filter.len(), self.filter_len())?;
        if let Some(b) = bias {
            check_len(op, "bias", b, self.out_c())?;
        }
        check_len(
            op,
            "output",
            output.len(),
            self.window.out_len(self.out_c()),
        )
    }
}

/// Float32 depthwise convolution.
pub fn depthwise_conv2d_f32(
    s: &DepthwiseShape,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    s.check(input, filter, bias.map(<[f32]>::len), output)?;
    let w = &s.window;
    let out_c_count = s.out_c();
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                for in_c in 0..s.in_c {
                    for m in 0..s.multiplier {
                        let out_c = m + in_c * s.multiplier;
                        let mut total = 0.0f32;
                        for filter_y in 0..w.filter_h {
                            let Some(in_y) = w.in_y(out_y, filter_y) else {
                                continue;
                            };
                            for filter_x in 0..w.filter_w {
                                let Some(in_x) = w.in_x(out_x, filter_x) else {
                                    continue;
                                };
                                let input_val = input
                                    [((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + in_c];
                                let filter_val = filter
                                    [(filter_y * w.filter_w + filter_x) * out_c_count + out_c];
                                total += input_val * filter_val;
                            }
                        }
                        let bias_value = bias.map_or(0.0, |b| b[out_c]);
                        output
                            [((batch * w.out_h + out_y) * w.out_w + out_x) * out_c_count + out_c] =
                            clamp_f32(total + bias_value, act_min, act_max);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Int8 depthwise convolution with per-channel requantization (reference `DepthwiseConvPerChannel`).
pub fn depthwise_conv2d_i8(
    s: &DepthwiseShape,
    q: &ChannelQuant,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    s.check(input, filter, bias.map(<[i32]>::len), output)?;
    let out_c_count = s.out_c();
    check_len(
        "DEPTHWISE_CONV_2D",
        "multipliers",
        q.multiplier.len(),
        out_c_count,
    )?;
    check_len("DEPTHWISE_CONV_2D", "shifts", q.shift.len(), out_c_count)?;
    let w = &s.window;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                for in_c in 0..s.in_c {
                    for m in 0..s.multiplier {
                        let out_c = m + in_c * s.multiplier;
                        let mut acc: i32 = 0;
                        for filter_y in 0..w.filter_h {
                            let Some(in_y) = w.in_y(out_y, filter_y) else {
                                continue;
                            };
                            for filter_x in 0..w.filter_w {
                                let Some(in_x) = w.in_x(out_x, filter_x) else {
                                    continue;
                                };
                                let input_val = input
                                    [((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + in_c]
                                    as i32;
                                let filter_val = filter
                                    [(filter_y * w.filter_w + filter_x) * out_c_count + out_c]
                                    as i32;
                                acc = acc.wrapping_add(filter_val * (input_val + q.input_offset));
                            }
                        }
                        if let Some(b) = bias {
                            acc = acc.wrapping_add(b[out_c]);
                        }
                        acc = multiply_by_quantized_multiplier(
                            acc,
                            q.multiplier[out_c],
                            q.shift[out_c],
                        );
                        acc = acc.wrapping_add(q.output_offset);
                        acc = acc.max(q.act_min).min(q.act_max);
                        output
                            [((batch * w.out_h + out_y) * w.out_w + out_x) * out_c_count + out_c] =
                            acc as i8;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Hybrid depthwise convolution (reference `DepthwiseConvHybridPerChannel`); the input was quantized
/// per batch with [`super::hybrid::asymmetric_quantize_floats`].
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d_hybrid(
    s: &DepthwiseShape,
    input_q: &[i8],
    scaling_factor: &[f32],
    input_zero_point: &[i32],
    filter: &[i8],
    filter_scale: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    s.check(input_q, filter, bias.map(<[f32]>::len), output)?;
    let out_c_count = s.out_c();
    let w = &s.window;
    check_len(
        "DEPTHWISE_CONV_2D",
        "scaling factors",
        scaling_factor.len(),
        w.batches,
    )?;
    check_len(
        "DEPTHWISE_CONV_2D",
        "input zero points",
        input_zero_point.len(),
        w.batches,
    )?;
    check_len(
        "DEPTHWISE_CONV_2D",
        "filter scales",
        filter_scale.len(),
        out_c_count,
    )?;
    for batch in 0..w.batches {
        let zp = input_zero_point[batch];
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                for in_c in 0..s.in_c {
                    for m in 0..s.multiplier {
                        let out_c = m + in_c * s.multiplier;
                        let mut acc: i32 = 0;
                        for filter_y in 0..w.filter_h {
                            let Some(in_y) = w.in_y(out_y, filter_y) else {
                                continue;
                            };
                            for filter_x in 0..w.filter_w {
                                let Some(in_x) = w.in_x(out_x, filter_x) else {
                                    continue;
                                };
                                let input_val = input_q
                                    [((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + in_c]
                                    as i32;
                                let filter_val = filter
                                    [(filter_y * w.filter_w + filter_x) * out_c_count + out_c]
                                    as i32;
                                acc = acc.wrapping_add(filter_val * (input_val - zp));
                            }
                        }
                        let mut acc_float = acc as f32;
                        acc_float *= filter_scale[out_c] * scaling_factor[batch];
                        if let Some(b) = bias {
                            acc_float += b[out_c];
                        }
                        output
                            [((batch * w.out_h + out_y) * w.out_w + out_x) * out_c_count + out_c] =
                            clamp_f32(acc_float, act_min, act_max);
                    }
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

    fn shape(in_hw: (usize, usize), k: (usize, usize), c: usize, m: usize) -> DepthwiseShape {
        DepthwiseShape {
            window: Window::new("t", Padding::Valid, 1, in_hw, k, (1, 1), (1, 1)).unwrap(),
            in_c: c,
            multiplier: m,
        }
    }

    #[test]
    fn f32_multiplier_2() {
        // 1×1×2×2 input: pixel0 (c0=1, c1=2), pixel1 (c0=3, c1=4). 1×1×2 filter, M = 2 → O = 4.
        // filter[x][o]: x0 = [1, 10, 100, 1000], x1 = [2, 20, 200, 2000].
        // o0 (c0,m0) = 1·1 + 3·2 = 7; o1 (c0,m1) = 10 + 60 = 70; o2 (c1,m0) = 200 + 800 = 1000;
        // o3 (c1,m1) = 2000 + 8000 = 10000.
        let s = shape((1, 2), (1, 2), 2, 2);
        let mut out = [0.0f32; 4];
        let filter = [1.0, 10.0, 100.0, 1000.0, 2.0, 20.0, 200.0, 2000.0];
        depthwise_conv2d_f32(
            &s,
            &[1.0, 2.0, 3.0, 4.0],
            &filter,
            None,
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [7.0, 70.0, 1000.0, 10000.0]);
    }

    #[test]
    fn i8_per_channel() {
        // 1×1×1×2 input [4, −6], zp 2 (offset −2) → [2, −8]; 1×1 filter [3, 5]; bias [1, 0];
        // acc = [7, −40]; multipliers 0.5 (2^30, 0) → [3.5 → 4, −20]; output zp −1 → [3, −21].
        let s = shape((1, 1), (1, 1), 2, 1);
        let q = ChannelQuant {
            input_offset: -2,
            output_offset: -1,
            multiplier: vec![1 << 30; 2],
            shift: vec![0; 2],
            act_min: -128,
            act_max: 127,
        };
        let mut out = [0i8; 2];
        depthwise_conv2d_i8(&s, &q, &[4, -6], &[3, 5], Some(&[1, 0]), &mut out).unwrap();
        assert_eq!(out, [3, -21]);
    }

    #[test]
    fn hybrid() {
        // input_q [10], zp 2, scale 0.5; filter [3]; filter scale 0.25; bias 1 → 24·(0.25·0.5) + 1 = 4
        let s = shape((1, 1), (1, 1), 1, 1);
        let mut out = [0.0f32; 1];
        depthwise_conv2d_hybrid(
            &s,
            &[10],
            &[0.5],
            &[2],
            &[3],
            &[0.25],
            Some(&[1.0]),
            (f32::MIN, f32::MAX),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [4.0]);
    }
}
