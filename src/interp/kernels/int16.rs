//! The 16x8 reference kernels: int16 activations, int8 weights, int64 (or int32) bias — what TF's
//! converter writes for `EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8`.
//!
//! Facts from LiteRT's reference kernels (`reference/integer_ops/{conv,depthwise_conv,fully_connected}.h`,
//! `reference/softmax.h`, `kernels/activations.cc`, `kernels/internal/common.{h,cc}`):
//!
//! - int16 activations are symmetric: the planner refuses a non-zero zero point, as LiteRT's `Prepare`
//!   does, so there is no input offset.
//! - CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED sum `w · x` in int64 and add the bias.
//!   Convolutions requantize with the 64-bit `MultiplyByQuantizedMultiplier`
//!   ([`multiply_by_quantized_multiplier_i64`]) and add the output zero point (0). FULLY_CONNECTED
//!   requantizes as TF 2.21's int8 kernel does, `round((double)acc · s_in·s_w/s_out)` half away from
//!   zero, and adds no zero point: with the 64-bit multiplier instead, about half of the 10,000 test
//!   images of TF's 16x8 tutorial file differ from LiteRT's BUILTIN_REF by one unit (tried; see
//!   `tests/int16x8_exact.rs`). The fused activation clamps to its int16 range.
//! - SOFTMAX uses two 513-entry tables read with linear interpolation: `exp` on [−10, 0] and
//!   `1 / (1 + x)` on [0, 1], both built in double at planning time ([`Int16Softmax::new`]).

use crate::error::{Error, Result};
use crate::interp::fixed_point::{multiply_by_quantized_multiplier_i64, quantize_multiplier};
use crate::interp::kernels::check_len;
use crate::interp::kernels::conv2d::{ChannelQuant, ConvShape};
use crate::interp::kernels::depthwise_conv2d::DepthwiseShape;
use crate::interp::kernels::fully_connected::{FcQuant, FcShape};

/// The requantized value of one int64 convolution accumulator for output channel `c`, clamped.
#[inline]
fn requantize(acc: i64, q: &ChannelQuant, c: usize, offset: i32) -> i16 {
    multiply_by_quantized_multiplier_i64(acc, q.multiplier[c], q.shift[c])
        .wrapping_add(offset)
        .max(q.act_min)
        .min(q.act_max)
        .clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

fn check_quant(op: &str, q: &ChannelQuant, channels: usize) -> Result<()> {
    check_len(op, "multipliers", q.multiplier.len(), channels)?;
    check_len(op, "shifts", q.shift.len(), channels)
}

/// int16 × int8 convolution with per-channel requantization (reference `ConvPerChannel`, 16x8).
pub fn conv2d_i16(
    s: &ConvShape,
    q: &ChannelQuant,
    input: &[i16],
    filter: &[i8],
    bias: Option<&[i64]>,
    output: &mut [i16],
) -> Result<()> {
    s.check("CONV_2D", input, filter, bias.map(<[i64]>::len), output)?;
    check_quant("CONV_2D", q, s.out_c)?;
    let w = &s.window;
    let groups = s.groups().max(1);
    let per_group = s.out_c / groups;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let group = out_c / per_group.max(1);
                    let mut acc: i64 = 0;
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else {
                            continue;
                        };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else {
                                continue;
                            };
                            let x = &input[((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c
                                + group * s.filter_c..][..s.filter_c];
                            let f = &filter[((out_c * w.filter_h + filter_y) * w.filter_w
                                + filter_x)
                                * s.filter_c..][..s.filter_c];
                            for (&xv, &fv) in x.iter().zip(f) {
                                acc += (fv as i32 * xv as i32) as i64;
                            }
                        }
                    }
                    if let Some(b) = bias {
                        acc = acc.wrapping_add(b[out_c]);
                    }
                    output[out_base + out_c] = requantize(acc, q, out_c, q.output_offset);
                }
            }
        }
    }
    Ok(())
}

/// int16 × int8 depthwise convolution (reference `DepthwiseConvPerChannel`, 16x8).
pub fn depthwise_conv2d_i16(
    s: &DepthwiseShape,
    q: &ChannelQuant,
    input: &[i16],
    filter: &[i8],
    bias: Option<&[i64]>,
    output: &mut [i16],
) -> Result<()> {
    s.check(input, filter, bias.map(<[i64]>::len), output)?;
    let out_c_count = s.out_c();
    check_quant("DEPTHWISE_CONV_2D", q, out_c_count)?;
    let w = &s.window;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * out_c_count;
                for in_c in 0..s.in_c {
                    for m in 0..s.multiplier {
                        let out_c = m + in_c * s.multiplier;
                        let mut acc: i64 = 0;
                        for filter_y in 0..w.filter_h {
                            let Some(in_y) = w.in_y(out_y, filter_y) else {
                                continue;
                            };
                            for filter_x in 0..w.filter_w {
                                let Some(in_x) = w.in_x(out_x, filter_x) else {
                                    continue;
                                };
                                let xv = input
                                    [((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + in_c]
                                    as i32;
                                let fv = filter
                                    [(filter_y * w.filter_w + filter_x) * out_c_count + out_c]
                                    as i32;
                                acc += (fv * xv) as i64;
                            }
                        }
                        if let Some(b) = bias {
                            acc = acc.wrapping_add(b[out_c]);
                        }
                        output[out_base + out_c] = requantize(acc, q, out_c, q.output_offset);
                    }
                }
            }
        }
    }
    Ok(())
}

/// int16 × int8 fully connected (reference `FullyConnected` / `FullyConnectedPerChannel`, 16x8):
/// per-tensor weights may carry a zero point; requantized in double (see the module docs); no output
/// zero point is added.
pub fn fully_connected_i16(
    s: FcShape,
    q: &FcQuant,
    input: &[i16],
    weights: &[i8],
    bias: Option<&[i64]>,
    output: &mut [i16],
) -> Result<()> {
    let op = "FULLY_CONNECTED";
    check_len(op, "input", input.len(), s.batches * s.depth)?;
    check_len(op, "weights", weights.len(), s.units * s.depth)?;
    check_len(op, "output", output.len(), s.batches * s.units)?;
    if let Some(b) = bias {
        check_len(op, "bias", b.len(), s.units)?;
    }
    check_len(op, "scales", q.effective_scale.len(), s.units)?;
    if s.depth == 0 {
        output.iter_mut().for_each(|o| *o = 0);
        return Ok(());
    }
    let weights_offset = q.weights_offset;
    for (in_row, out_row) in input
        .chunks_exact(s.depth)
        .zip(output.chunks_exact_mut(s.units))
    {
        for (out_c, (w_row, out)) in weights
            .chunks_exact(s.depth)
            .zip(out_row.iter_mut())
            .enumerate()
        {
            let mut acc: i64 = 0;
            for (&xv, &wv) in in_row.iter().zip(w_row) {
                acc += ((wv as i32 + weights_offset) * xv as i32) as i64;
            }
            if let Some(b) = bias {
                acc = acc.wrapping_add(b[out_c]);
            }
            // `static_cast<int32_t>(round(double))`; Rust's `as` saturates where C++ is undefined.
            let scaled = (acc as f64 * q.effective_scale[out_c]).round() as i32;
            *out = scaled.max(q.act_min).min(q.act_max).clamp(-32768, 32767) as i16;
        }
    }
    Ok(())
}

/// Entries of an int16 lookup table: 512 intervals and the end point for the last slope.
const LUT_LEN: usize = 513;

/// TFLite's `LUTPopulateInt16<double>`: `f` sampled at 512 evenly spaced inputs over the int16 range of
/// `(input_scale, input_zero_point)`, scaled to the int16 range of `(output_scale, 0)`, each entry
/// nudged by half the error the interpolation would make at the interval's midpoint; rounding half away
/// from zero throughout (`std::round`).
fn lut_populate(
    input_scale: f64,
    input_zero_point: i32,
    output_scale: f64,
    f: impl Fn(f64) -> f64,
) -> [i16; LUT_LEN] {
    let input_min = input_scale * (-32768 - input_zero_point) as f64;
    let input_max = input_scale * (32767 - input_zero_point) as f64;
    let output_min = output_scale * -32768.0;
    let output_max = output_scale * 32767.0;
    let steps = (LUT_LEN - 1) as f64;
    let step = (input_max - input_min) / steps;
    let half_step = step / 2.0;
    let inv = 65536.0 / (output_max - output_min);
    let clamp = |v: f64| v.clamp(-32768.0, 32767.0) as i16;
    let mut lut = [0i16; LUT_LEN];
    for (i, entry) in lut.iter_mut().take(LUT_LEN - 1).enumerate() {
        let i = i as f64;
        let val = f(input_min + i * step);
        let val_mid = f(input_min + i * step + half_step);
        let val_next = f(input_min + (i + 1.0) * step);
        let sample = (val * inv).round();
        let interpolated = ((val_next * inv + (val * inv).round()) / 2.0).round();
        let midpoint = (val_mid * inv).round();
        let bias = ((interpolated - midpoint) / 2.0).round();
        *entry = clamp(sample - bias);
    }
    lut[LUT_LEN - 1] = clamp((f(input_max) * inv).round());
    lut
}

/// TFLite's `LUTLookup` for int16: the entry at the top 9 bits of `value` plus the slope to the next
/// entry times the low 7 bits, rounded.
#[inline]
fn lut_lookup(value: i16, lut: &[i16; LUT_LEN]) -> i16 {
    let index = (256 + (value as i32 >> 7)) as usize;
    let offset = (value & 0x7f) as i32;
    let base = lut[index];
    let slope = lut[index + 1].wrapping_sub(base) as i32;
    let delta = (slope * offset + 64) >> 7;
    (base as i32 + delta) as i16
}

/// The prepared int16 SOFTMAX (`SoftmaxPrepare` for int16): the two tables and the multiplier that maps
/// an input difference onto the exp table's [−10, 0] input range.
#[derive(Clone, Debug, PartialEq)]
pub struct Int16Softmax {
    exp_lut: Box<[i16; LUT_LEN]>,
    one_over_one_plus_x_lut: Box<[i16; LUT_LEN]>,
    input_multiplier: i32,
    input_left_shift: i32,
}

impl Int16Softmax {
    /// Tables and multiplier for an input scale and `beta`; refuses a rescale that cannot be
    /// represented (the reference asserts it).
    pub fn new(input_scale: f32, beta: f32) -> Result<Int16Softmax> {
        let range = 65535.0f64;
        let exp_lut = lut_populate(10.0 / range, 32767, 2.0 / range, f64::exp);
        let one_over = lut_populate(1.0 / range, -32768, 2.0 / range, |x| 1.0 / (1.0 + x));
        // `input->params.scale * params->beta` is a float product, then divided in double.
        let rescale = (input_scale * beta) as f64 / (10.0 / 65535.0);
        if !(rescale.is_finite() && rescale > 0.0) {
            return Err(Error::InvalidModel(format!(
                "SOFTMAX: input scale {input_scale} × beta {beta} is not a positive finite number"
            )));
        }
        let (input_multiplier, input_left_shift) = quantize_multiplier(rescale);
        if !(-31..=30).contains(&input_left_shift) {
            return Err(Error::Unsupported {
                op: "SOFTMAX".into(),
                what: format!("an int16 input rescale of {rescale}"),
            });
        }
        Ok(Int16Softmax {
            exp_lut: Box::new(exp_lut),
            one_over_one_plus_x_lut: Box::new(one_over),
            input_multiplier,
            input_left_shift,
        })
    }
}

/// int16 softmax over rows of `depth` (reference `SoftmaxInt16`); the output has scale 1/32768.
pub fn softmax_i16(
    p: &Int16Softmax,
    depth: usize,
    input: &[i16],
    output: &mut [i16],
) -> Result<()> {
    check_len("SOFTMAX", "output", output.len(), input.len())?;
    if depth == 0 {
        return Ok(());
    }
    for (row, out) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        let max = row.iter().copied().max().unwrap_or(i16::MIN) as i32;
        // exp(x − max) in Q0.15, kept in the output row, and their sum (Q16.15).
        let mut sum: i32 = 0;
        for (o, &x) in out.iter_mut().zip(row) {
            let diff = x as i32 - max;
            let scaled = crate::interp::fixed_point::multiply_by_quantized_multiplier(
                diff,
                p.input_multiplier,
                p.input_left_shift,
            );
            let centred = scaled.wrapping_add(32767).clamp(-32768, 32767) as i16;
            *o = lut_lookup(centred, &p.exp_lut);
            sum = sum.wrapping_add(*o as i32);
        }
        // 1 / sum through the 1/(1 + x) table: normalize the sum to [1, 2), take x = sum − 1, centre it.
        let headroom_plus_one = (sum as u32).leading_zeros() as i32;
        let shifted =
            ((((sum as i64) << (headroom_plus_one - 1).clamp(0, 62)) + (1 << 13)) >> 14) as i32;
        let centred = shifted
            .wrapping_add(-((1 << 15) + (1 << 16)))
            .clamp(-32768, 32767) as i16;
        let reciprocal = lut_lookup(centred, &p.one_over_one_plus_x_lut) as i64;
        let right_shift = (31 - headroom_plus_one).clamp(1, 62) as u32;
        let round = 1i64 << (right_shift - 1);
        for o in out.iter_mut() {
            let result = ((*o as i64 * reciprocal + round) >> right_shift) as i32;
            *o = result.clamp(0, 32767) as i16;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_span_their_functions() {
        let p = Int16Softmax::new(1.0 / 32768.0, 1.0).unwrap();
        // exp(0) = 1 is the last entry; exp(−10) ≈ 0 the first (Q0.15, symmetric output range).
        assert_eq!(p.exp_lut[LUT_LEN - 1], 32767);
        assert!(p.exp_lut[0].abs() <= 2, "{}", p.exp_lut[0]);
        // 1/(1 + 0) = 1 at the start, 1/2 at the end.
        assert_eq!(p.one_over_one_plus_x_lut[0], 32767);
        assert_eq!(p.one_over_one_plus_x_lut[LUT_LEN - 1], 16384);
        // Monotone.
        assert!(p.exp_lut.windows(2).all(|w| w[0] <= w[1]));
        assert!(p.one_over_one_plus_x_lut.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn lookup_interpolates_between_entries() {
        let mut lut = [0i16; LUT_LEN];
        for (i, e) in lut.iter_mut().enumerate() {
            *e = (i as i32 * 100 - 25600).clamp(-32768, 32767) as i16;
        }
        // value 0 → index 256, offset 0 → lut[256] = 0; value 64 → half-way to lut[257] = 100.
        assert_eq!(lut_lookup(0, &lut), 0);
        assert_eq!(lut_lookup(64, &lut), 50);
        assert_eq!(lut_lookup(-128, &lut), -100);
    }

    #[test]
    fn softmax_of_equal_inputs_is_uniform() {
        let p = Int16Softmax::new(0.001, 1.0).unwrap();
        let mut out = [0i16; 4];
        softmax_i16(&p, 4, &[100, 100, 100, 100], &mut out).unwrap();
        for &o in &out {
            assert!((o as i32 - 8192).abs() <= 2, "{out:?}");
        }
        // One dominant input takes (almost) everything; the others bottom out at the table's exp(−10)
        // (about 1.5/32768): differences below −10 are not told apart.
        softmax_i16(&p, 4, &[30000, -30000, -30000, -30000], &mut out).unwrap();
        assert!(
            out[0] >= 32760 && out[1..].iter().all(|&o| o <= 2),
            "{out:?}"
        );
    }

    #[test]
    fn the_64_bit_multiplier_rounds_once() {
        // 0.5 as Q0.31 with shift 0: x/2 rounded half up.
        let (m, s) = quantize_multiplier(0.5);
        assert_eq!(multiply_by_quantized_multiplier_i64(5, m, s), 3);
        assert_eq!(multiply_by_quantized_multiplier_i64(-5, m, s), -2);
        assert_eq!(
            multiply_by_quantized_multiplier_i64(1 << 40, m, s >> 0) as i64,
            (1i64 << 39) as i32 as i64
        );
        assert_eq!(
            multiply_by_quantized_multiplier_i64(3 << 40, m, s - 12),
            3 << 27
        );
        // Hostile values wrap instead of panicking.
        let _ = multiply_by_quantized_multiplier_i64(i64::MAX, i32::MAX, 100);
        let _ = multiply_by_quantized_multiplier_i64(i64::MIN, 0, -100);
    }
}
