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
use crate::interp::kernels::conv2d::{ChannelQuant, ConvShape, conv_window_sum};
use crate::interp::kernels::depthwise_conv2d::{DepthwiseShape, depthwise_window_sum};
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
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * s.out_c;
                for out_c in 0..s.out_c {
                    let acc = conv_window_sum(s, input, filter, [batch, out_y, out_x, out_c], 0)
                        .wrapping_add(bias.map_or(0, |b| b[out_c]));
                    output[out_base + out_c] = requantize(acc, q, out_c, q.output_offset);
                }
            }
        }
    }
    Ok(())
}

/// A prepared fast int16 convolution (one group), in three passes per image: the input patches laid
/// out tap by tap with the output pixels contiguous (taps outside the image hold 0, which is what the
/// reference's skipping adds, the zero point being 0); for each output channel, one long
/// multiply-add per tap across all pixels (it vectorizes); then the requantization, channel by
/// channel, into the NHWC output. Identical to [`conv2d_i16`]: integer sums are exact in any order,
/// and [`ConvI16Fast::new`] only accepts patches short enough that the i32 sums cannot overflow.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvI16Fast {
    shape: ConvShape,
    /// Per output channel: bias, the 16-bit rounded multiplier of the 64-bit
    /// `MultiplyByQuantizedMultiplier`, its total right shift, and the output offset and clamp.
    bias: Vec<i64>,
    reduced: Vec<i64>,
    total_shift: Vec<u32>,
    offset: i32,
    act: (i32, i32),
    /// OHWI filter rows, widened to i32.
    filter: Vec<i32>,
}

/// Taps whose int16 × int8 products (|p| ≤ 32768 · 128 = 2²²) still sum within i32: 2⁸ of them is 2³⁰.
const FAST_MAX_TAPS: usize = 256;
/// The largest scratch (patches and accumulators of one image, in i32) the fast kernel allocates.
const FAST_MAX_SCRATCH: usize = 1 << 22;

/// Scratch of a [`ConvI16Fast`]: one image's patches (`taps × pixels`), accumulators
/// (`channels × pixels`) and requantized channel (`pixels`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvI16Scratch {
    cols: Vec<i32>,
    acc: Vec<i32>,
    row: Vec<i16>,
}

impl ConvI16Fast {
    /// The fast kernel and its scratch, or `None` where the reference one must run (builds without the
    /// `int16` feature, grouped convolutions, patches longer than [`FAST_MAX_TAPS`], scratch above [`FAST_MAX_SCRATCH`], or
    /// arguments that do not fit the shape).
    pub fn new(
        shape: &ConvShape,
        quant: &ChannelQuant,
        filter: &[i8],
        bias: Option<&[i64]>,
    ) -> Option<(ConvI16Fast, ConvI16Scratch)> {
        let w = &shape.window;
        let taps = w.filter_h * w.filter_w * shape.filter_c;
        let pixels = w.out_h * w.out_w;
        // Builds without the `int16` feature (the page's small module) keep the reference kernel only.
        if !cfg!(feature = "int16")
            || shape.groups() != 1
            || taps == 0
            || taps > FAST_MAX_TAPS
            || shape.out_c == 0
            || (taps + shape.out_c) * pixels > FAST_MAX_SCRATCH
            || filter.len() != shape.filter_len()
            || quant.multiplier.len() != shape.out_c
            || quant.shift.len() != shape.out_c
            || bias.is_some_and(|b| b.len() != shape.out_c)
        {
            return None;
        }
        // The same constants as `multiply_by_quantized_multiplier_i64`.
        let reduced = quant
            .multiplier
            .iter()
            .map(|&m| {
                if m < 0x7FFF_0000 {
                    (m as i64 + (1 << 15)) >> 16
                } else {
                    0x7FFF
                }
            })
            .collect();
        let total_shift = quant
            .shift
            .iter()
            .map(|&s| (15 - s.clamp(-31, 7)) as u32)
            .collect();
        let kernel = ConvI16Fast {
            shape: shape.clone(),
            bias: bias.map_or_else(|| vec![0; shape.out_c], <[i64]>::to_vec),
            reduced,
            total_shift,
            offset: quant.output_offset,
            act: (quant.act_min.max(-32768), quant.act_max.min(32767)),
            filter: filter.iter().map(|&v| v as i32).collect(),
        };
        let scratch = ConvI16Scratch {
            cols: vec![0; taps * pixels],
            acc: vec![0; shape.out_c * pixels],
            row: vec![0; pixels],
        };
        Some((kernel, scratch))
    }
}

/// Run a [`ConvI16Fast`] with its scratch.
pub fn conv2d_i16_fast(
    k: &ConvI16Fast,
    input: &[i16],
    scratch: &mut ConvI16Scratch,
    output: &mut [i16],
) -> Result<()> {
    let s = &k.shape;
    s.check("CONV_2D", input, &k.filter, None, output)?;
    let pixels = s.window.out_h * s.window.out_w;
    let taps = k.filter.len() / s.out_c.max(1);
    check_len("CONV_2D", "patches", scratch.cols.len(), taps * pixels)?;
    check_len(
        "CONV_2D",
        "accumulators",
        scratch.acc.len(),
        s.out_c * pixels,
    )?;
    check_len("CONV_2D", "row", scratch.row.len(), pixels)?;
    crate::cpu::dispatch(FastConv {
        k,
        input,
        scratch,
        output,
    });
    Ok(())
}

/// The arguments of one [`conv2d_i16_fast`], run through [`crate::cpu::dispatch`] (the long loops
/// vectorize with AVX2 where the CPU has it; the results are the same).
struct FastConv<'a> {
    k: &'a ConvI16Fast,
    input: &'a [i16],
    scratch: &'a mut ConvI16Scratch,
    output: &'a mut [i16],
}

impl crate::cpu::Kernel for FastConv<'_> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let FastConv {
            k,
            input,
            scratch,
            output,
        } = self;
        let (s, w) = (&k.shape, &k.shape.window);
        let pixels = w.out_h * w.out_w;
        let taps = k.filter.len() / s.out_c;
        for batch in 0..w.batches {
            // 1. patches: cols[tap][pixel]
            for filter_y in 0..w.filter_h {
                for filter_x in 0..w.filter_w {
                    for in_c in 0..s.in_c {
                        let tap = (filter_y * w.filter_w + filter_x) * s.in_c + in_c;
                        let col = &mut scratch.cols[tap * pixels..][..pixels];
                        for out_y in 0..w.out_h {
                            let dst = &mut col[out_y * w.out_w..][..w.out_w];
                            let Some(in_y) = w.in_y(out_y, filter_y) else {
                                dst.fill(0);
                                continue;
                            };
                            let base = (batch * w.in_h + in_y) * w.in_w;
                            for (out_x, d) in dst.iter_mut().enumerate() {
                                *d = w
                                    .in_x(out_x, filter_x)
                                    .map_or(0, |in_x| input[(base + in_x) * s.in_c + in_c] as i32);
                            }
                        }
                    }
                }
            }
            // 2. accumulators: acc[c][pixel] = Σ_tap w[c][tap] · cols[tap][pixel]
            for (acc, f) in scratch
                .acc
                .chunks_exact_mut(pixels)
                .zip(k.filter.chunks_exact(taps))
            {
                acc.fill(0);
                for (&wv, col) in f.iter().zip(scratch.cols.chunks_exact(pixels)) {
                    for (a, &x) in acc.iter_mut().zip(col) {
                        *a += wv * x;
                    }
                }
            }
            // 3. requantization, one channel at a time, into NHWC
            let out = &mut output[batch * pixels * s.out_c..][..pixels * s.out_c];
            for (c, acc) in scratch.acc.chunks_exact(pixels).enumerate() {
                let (bias, reduced, shift) = (k.bias[c], k.reduced[c], k.total_shift[c]);
                let round = 1i64 << (shift - 1);
                for (r, &a) in scratch.row.iter_mut().zip(acc) {
                    let v = (((a as i64 + bias).wrapping_mul(reduced) + round) >> shift) as i32;
                    *r = v.wrapping_add(k.offset).clamp(k.act.0, k.act.1) as i16;
                }
                for (o, &r) in out.iter_mut().skip(c).step_by(s.out_c).zip(&scratch.row) {
                    *o = r;
                }
            }
        }
    }
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
                for out_c in 0..out_c_count {
                    let acc =
                        depthwise_window_sum(s, input, filter, [batch, out_y, out_x, out_c], 0)
                            .wrapping_add(bias.map_or(0, |b| b[out_c]));
                    output[out_base + out_c] = requantize(acc, q, out_c, q.output_offset);
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
    #[cfg(feature = "int16")]
    fn the_fast_convolution_equals_the_reference() {
        use crate::interp::kernels::window::Window;
        use crate::tflite::Padding;
        let mut rng = crate::rng::Rng::new(16);
        for (padding, stride, in_c, out_c, kh) in [
            (Padding::Valid, 1, 1, 12, 3),
            (Padding::Same, 2, 3, 5, 5),
            (Padding::Same, 1, 4, 7, 2),
        ] {
            let window =
                Window::new("T", padding, 2, (9, 8), (kh, kh), (stride, stride), (1, 1)).unwrap();
            let shape = ConvShape {
                window,
                in_c,
                out_c,
                filter_c: in_c,
            };
            let input: Vec<i16> = (0..2 * 9 * 8 * in_c)
                .map(|_| rng.below(65536) as i32 as i16)
                .collect();
            let filter: Vec<i8> = (0..shape.filter_len())
                .map(|_| rng.below(255) as i32 as i8)
                .collect();
            let bias: Vec<i64> = (0..out_c)
                .map(|_| rng.below(1 << 20) as i64 - (1 << 19))
                .collect();
            let quant = ChannelQuant {
                input_offset: 0,
                output_offset: 0,
                multiplier: (0..out_c).map(|c| (1 << 30) + c as i32 * 7919).collect(),
                shift: (0..out_c).map(|c| -(c as i32 % 9)).collect(),
                act_min: -32768,
                act_max: 32767,
            };
            let len = 2 * shape.window.out_h * shape.window.out_w * out_c;
            let (mut want, mut got) = (vec![0i16; len], vec![0i16; len]);
            conv2d_i16(&shape, &quant, &input, &filter, Some(&bias), &mut want).unwrap();
            let (k, mut scratch) = ConvI16Fast::new(&shape, &quant, &filter, Some(&bias)).unwrap();
            conv2d_i16_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "{padding:?} stride {stride}");
        }
    }

    #[test]
    fn the_64_bit_multiplier_rounds_once() {
        // 0.5 as Q0.31 with shift 0: x/2 rounded half up.
        let (m, s) = quantize_multiplier(0.5);
        assert_eq!(multiply_by_quantized_multiplier_i64(5, m, s), 3);
        assert_eq!(multiply_by_quantized_multiplier_i64(-5, m, s), -2);
        assert_eq!(
            multiply_by_quantized_multiplier_i64(1 << 40, m, s) as i64,
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
