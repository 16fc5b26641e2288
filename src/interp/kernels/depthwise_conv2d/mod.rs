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

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::fixed_point::multiply_by_quantized_multiplier;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::conv2d::ChannelQuant;
use crate::interp::kernels::quantize::QuantElement;
use crate::interp::kernels::requant::RequantLanes;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{FastCall, Io, check_len};

#[cfg(target_arch = "x86_64")]
mod avx512;

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

    pub(crate) fn check<I, F, O>(
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
                for out_c in 0..out_c_count {
                    // the C++ sums in int32, wrapping on overflow: the low 32 bits of the exact sum
                    let mut acc = depthwise_window_sum(
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
                    output[((batch * w.out_h + out_y) * w.out_w + out_x) * out_c_count + out_c] =
                        acc as i8;
                }
            }
        }
    }
    Ok(())
}

/// `Σ filter · (input + input_offset)` over the window of output element `[batch, out_y, out_x,
/// out_c]` of a quantized depthwise convolution (input channel `out_c / multiplier`; taps outside the
/// image skipped), in i64: exact for every int8 and int16 input. The reference kernels of both types
/// take it.
#[inline]
pub(crate) fn depthwise_window_sum<T: QuantElement>(
    s: &DepthwiseShape,
    input: &[T],
    filter: &[i8],
    [batch, out_y, out_x, out_c]: [usize; 4],
    input_offset: i32,
) -> i64 {
    let w = &s.window;
    let (in_c, out_c_count) = (out_c / s.multiplier.max(1), s.out_c());
    let mut acc: i64 = 0;
    for filter_y in 0..w.filter_h {
        let Some(in_y) = w.in_y(out_y, filter_y) else {
            continue;
        };
        for filter_x in 0..w.filter_w {
            let Some(in_x) = w.in_x(out_x, filter_x) else {
                continue;
            };
            let x = input[((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + in_c].to_i32();
            let f = filter[(filter_y * w.filter_w + filter_x) * out_c_count + out_c] as i32;
            acc += (f * (x + input_offset)) as i64;
        }
    }
    acc
}

// ---- fast kernels ------------------------------------------------------------------------------
//
// Bit-identical to the reference kernels above (compared on random shapes in the tests): per output
// pixel, the taps inside the image are visited in the reference order (filter_y, filter_x) and each
// adds `w[tap][o] · x[o / M]` to all O channels at once (the input pixel expanded to O lanes first), so
// every channel still sums in the reference order (float) or in wrapping i32 (int8, where the order
// does not matter). int8 requantizes all channels at once, branch-free ([`RequantLanes`]). Both
// kernels run through [`cpu::dispatch`], so on x86-64 with AVX2+FMA in a build compiled for those
// features (results unchanged: separate float multiplies and adds, exact integer sums), and on CPUs
// with AVX-512 in the explicit build of `avx512.rs` (16 channels per vector over a padded copy of the
// input; the same bits again).

/// A prepared fast depthwise convolution (float32 or int8).
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseFast<T> {
    pub shape: DepthwiseShape,
    /// The filter `[KH·KW][O]` (int8 weights widened to i32).
    filter: Vec<T>,
    /// The bias (0 without one; int8 keeps it in `lanes`).
    bias: Vec<T>,
    act: (f32, f32),
    quant: Option<(ChannelQuant, RequantLanes)>,
    /// The AVX-512 build's layout, on CPUs with that tier (see `avx512.rs`); `None` elsewhere and
    /// where it does not apply (the AVX2 build runs then).
    #[cfg(target_arch = "x86_64")]
    vector: Option<avx512::DwVector<T>>,
}

/// Scratch: every output pixel's accumulators and one input pixel expanded to O lanes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DepthwiseScratch<T> {
    acc: Vec<T>,
    expanded: Vec<T>,
    /// The AVX-512 build's padded image (empty without that build); made all 0, its border is never
    /// written.
    #[cfg(target_arch = "x86_64")]
    image: Vec<T>,
}

impl DepthwiseFast<f32> {
    pub fn new_f32(
        s: &DepthwiseShape,
        filter: &[f32],
        bias: Option<&[f32]>,
        act: (f32, f32),
    ) -> Option<(DepthwiseFast<f32>, DepthwiseScratch<f32>)> {
        let o = s.out_c();
        if filter.len() != s.filter_len() || s.multiplier == 0 {
            return None;
        }
        let bias = bias.map_or_else(|| vec![0.0; o], <[f32]>::to_vec);
        #[cfg(target_arch = "x86_64")]
        let vector =
            cpu::Avx512::detect().and_then(|_| avx512::DwVector::new_f32(s, filter, &bias));
        let k = DepthwiseFast {
            shape: s.clone(),
            filter: filter.to_vec(),
            bias,
            act,
            quant: None,
            #[cfg(target_arch = "x86_64")]
            vector,
        };
        #[cfg(target_arch = "x86_64")]
        let image = vec![0.0; k.vector.as_ref().map_or(0, |v| v.image_len(s))];
        let acc = vec![0.0; s.window.out_len(o)];
        Some((
            k,
            DepthwiseScratch {
                acc,
                expanded: vec![0.0; o],
                #[cfg(target_arch = "x86_64")]
                image,
            },
        ))
    }
}

impl DepthwiseFast<i32> {
    pub fn new_i8(
        s: &DepthwiseShape,
        q: &ChannelQuant,
        filter: &[i8],
        bias: Option<&[i32]>,
    ) -> Option<(DepthwiseFast<i32>, DepthwiseScratch<i32>)> {
        let o = s.out_c();
        if filter.len() != s.filter_len() || s.multiplier == 0 || q.multiplier.len() != o {
            return None;
        }
        let lanes = RequantLanes::new(q, bias.unwrap_or(&[]))?;
        #[cfg(target_arch = "x86_64")]
        let vector =
            cpu::Avx512::detect().and_then(|_| avx512::DwVector::new_i8(s, filter, q.input_offset));
        let k = DepthwiseFast {
            shape: s.clone(),
            filter: filter.iter().map(|&w| w as i32).collect(),
            bias: vec![0; o],
            act: (0.0, 0.0),
            quant: Some((q.clone(), lanes)),
            #[cfg(target_arch = "x86_64")]
            vector,
        };
        #[cfg(target_arch = "x86_64")]
        let image = vec![0; k.vector.as_ref().map_or(0, |v| v.image_len(s))];
        let acc = vec![0; s.window.out_len(o)];
        Some((
            k,
            DepthwiseScratch {
                acc,
                expanded: vec![0; o],
                #[cfg(target_arch = "x86_64")]
                image,
            },
        ))
    }
}

/// A lane value: f32 (multiply, then add: the reference's rounding) or i32 (wrapping, exact).
pub trait Lane: Copy + Default {
    fn madd(self, a: Self, b: Self) -> Self;
}

impl Lane for f32 {
    #[inline(always)]
    fn madd(self, a: f32, b: f32) -> f32 {
        self + a * b
    }
}

impl Lane for i32 {
    #[inline(always)]
    fn madd(self, a: i32, b: i32) -> i32 {
        self.wrapping_add(a.wrapping_mul(b))
    }
}

/// The shared loop: `scratch.acc` gets, for every output pixel (`[N][OH][OW][O]`), the sum over the
/// in-image taps of `filter[tap][o] · expand(x)[o]` in tap order, from 0.
#[inline(always)]
fn depthwise_pixels<T: Lane, X: Copy>(
    k: &DepthwiseFast<T>,
    input: &[X],
    convert: impl Fn(X) -> T,
    scratch: &mut DepthwiseScratch<T>,
) -> Result<()> {
    let s = &k.shape;
    let w = &s.window;
    let (c, m, o) = (s.in_c, s.multiplier, s.out_c());
    check_len("DEPTHWISE_CONV_2D", "input", input.len(), w.in_len(c))?;
    check_len(
        "DEPTHWISE_CONV_2D",
        "filter",
        k.filter.len(),
        s.filter_len(),
    )?;
    check_len(
        "DEPTHWISE_CONV_2D",
        "accumulators",
        scratch.acc.len(),
        w.out_len(o),
    )?;
    check_len(
        "DEPTHWISE_CONV_2D",
        "expanded input",
        scratch.expanded.len(),
        o,
    )?;
    let DepthwiseScratch { acc, expanded, .. } = scratch;
    let mut pixels = acc.chunks_exact_mut(o.max(1));
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let Some(acc) = pixels.next() else {
                    return Ok(());
                };
                acc.iter_mut().for_each(|a| *a = T::default());
                for filter_y in 0..w.filter_h {
                    let Some(in_y) = w.in_y(out_y, filter_y) else {
                        continue;
                    };
                    for filter_x in 0..w.filter_w {
                        let Some(in_x) = w.in_x(out_x, filter_x) else {
                            continue;
                        };
                        let x = &input[((batch * w.in_h + in_y) * w.in_w + in_x) * c..][..c];
                        if m == 1 {
                            for (e, &v) in expanded.iter_mut().zip(x) {
                                *e = convert(v);
                            }
                        } else {
                            for (e_row, &v) in expanded.chunks_exact_mut(m).zip(x) {
                                e_row.iter_mut().for_each(|e| *e = convert(v));
                            }
                        }
                        let f = &k.filter[(filter_y * w.filter_w + filter_x) * o..][..o];
                        for ((a, &fv), &e) in acc.iter_mut().zip(f).zip(expanded.iter()) {
                            *a = a.madd(e, fv);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Fast float32 depthwise convolution; identical to [`depthwise_conv2d_f32`].
pub fn depthwise_conv2d_f32_fast(
    k: &DepthwiseFast<f32>,
    input: &[f32],
    scratch: &mut DepthwiseScratch<f32>,
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

impl Kernel for FastCall<'_, DepthwiseFast<f32>, Io<'_, f32, DepthwiseScratch<f32>, f32>> {
    type Output = Result<()>;

    /// Float sums: `FMA` is ignored, every product is added separately as in the reference.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }

    /// The explicit AVX-512 sums where they apply (same bits, see `avx512.rs`).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: cpu::Avx512) -> Result<()> {
        let k = self.kernel;
        let Some(v) = &k.vector else {
            return cpu.avx2_fma().run(self);
        };
        let io = self.args;
        v.run_f32(
            cpu,
            &k.shape,
            k.act,
            io.input,
            &mut io.scratch.image,
            io.output,
        )
    }
}

impl DepthwiseFast<f32> {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(
        &self,
        input: &[f32],
        scratch: &mut DepthwiseScratch<f32>,
        output: &mut [f32],
    ) -> Result<()> {
        let o = self.shape.out_c();
        check_len(
            "DEPTHWISE_CONV_2D",
            "output",
            output.len(),
            self.shape.window.out_len(o),
        )?;
        check_len("DEPTHWISE_CONV_2D", "bias", self.bias.len(), o)?;
        let (lo, hi) = self.act;
        depthwise_pixels(self, input, |v| v, scratch)?;
        for (out, acc) in output
            .chunks_exact_mut(o.max(1))
            .zip(scratch.acc.chunks_exact(o.max(1)))
        {
            for ((y, &a), &b) in out.iter_mut().zip(acc).zip(&self.bias) {
                *y = clamp_f32(a + b, lo, hi);
            }
        }
        Ok(())
    }
}

/// Fast int8 depthwise convolution; identical to [`depthwise_conv2d_i8`].
pub fn depthwise_conv2d_i8_fast(
    k: &DepthwiseFast<i32>,
    input: &[i8],
    scratch: &mut DepthwiseScratch<i32>,
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

impl Kernel for FastCall<'_, DepthwiseFast<i32>, Io<'_, i8, DepthwiseScratch<i32>, i8>> {
    type Output = Result<()>;

    /// Wrapping i32 sums: no floats, `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let io = self.args;
        self.kernel.invoke(io.input, io.scratch, io.output)
    }

    /// The explicit AVX-512 sums and requantization where they apply (same bits, see `avx512.rs`).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: cpu::Avx512) -> Result<()> {
        let k = self.kernel;
        let (Some(v), Some((q, lanes))) = (&k.vector, &k.quant) else {
            return cpu.avx2_fma().run(self);
        };
        let io = self.args;
        let image = &mut io.scratch.image;
        v.run_i8(
            cpu,
            &k.shape,
            (lanes, q.input_offset),
            io.input,
            image,
            io.output,
        )
    }
}

impl DepthwiseFast<i32> {
    /// The kernel's body, compiled into the build [`Kernel::run`] is called from.
    #[inline(always)]
    fn invoke(
        &self,
        input: &[i8],
        scratch: &mut DepthwiseScratch<i32>,
        output: &mut [i8],
    ) -> Result<()> {
        let o = self.shape.out_c();
        check_len(
            "DEPTHWISE_CONV_2D",
            "output",
            output.len(),
            self.shape.window.out_len(o),
        )?;
        let Some((q, lanes)) = &self.quant else {
            return Err(crate::Error::InvalidModel(
                "DEPTHWISE_CONV_2D: int8 kernel without quantization".into(),
            ));
        };
        let offset = q.input_offset;
        // Products of int8 weights and `x − zp` (|·| ≤ 255): i32 sums wrap exactly like the reference's.
        depthwise_pixels(self, input, |v| v as i32 + offset, scratch)?;
        for (out, acc) in output
            .chunks_exact_mut(o.max(1))
            .zip(scratch.acc.chunks_exact(o.max(1)))
        {
            lanes.requantize(acc, (i32::MIN, i32::MAX), out);
        }
        Ok(())
    }
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
    use crate::interp::kernels::Draws;
    use crate::rng::Rng;
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

    #[test]
    fn fast_kernels_match_reference() {
        let mut r = Rng::new(11);
        for case in 0..400 {
            let padding = if r.index(2) == 0 {
                Padding::Same
            } else {
                Padding::Valid
            };
            let (kh, kw) = (1 + r.index(4), 1 + r.index(4));
            let Ok(window) = Window::new(
                "t",
                padding,
                1 + r.index(2),
                (1 + r.index(9), 1 + r.index(9)),
                (kh, kw),
                (1 + r.index(3), 1 + r.index(3)),
                (1 + r.index(2), 1 + r.index(2)),
            ) else {
                continue;
            };
            let s = DepthwiseShape {
                window,
                in_c: 1 + r.index(6),
                multiplier: 1 + r.index(3),
            };
            let o = s.out_c();
            let with_bias = case % 3 != 0;
            // float: values with many significant bits, so any change of order would show
            let input: Vec<f32> = (0..s.window.in_len(s.in_c))
                .map(|_| r.u32() as f32 / 7e8 - 3.0)
                .collect();
            let filter: Vec<f32> = (0..s.filter_len())
                .map(|_| r.u32() as f32 / 3e9 - 0.7)
                .collect();
            let bias: Vec<f32> = (0..o).map(|_| r.u32() as f32 / 4e9).collect();
            let act = (-2.5, 6.0);
            let bias_opt = with_bias.then_some(&bias[..]);
            let mut want = vec![0.0f32; s.window.out_len(o)];
            depthwise_conv2d_f32(&s, &input, &filter, bias_opt, act, &mut want).unwrap();
            let (k, mut scratch) = DepthwiseFast::new_f32(&s, &filter, bias_opt, act).unwrap();
            let mut got = vec![0.0f32; want.len()];
            depthwise_conv2d_f32_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "f32 case {case}: {s:?}"
            );
            // int8, per-channel multipliers and shifts of both signs
            let zp = r.index(256) as i32 - 128;
            let input: Vec<i8> = (0..s.window.in_len(s.in_c))
                .map(|_| r.u32() as i8)
                .collect();
            let filter: Vec<i8> = (0..s.filter_len()).map(|_| (r.u32() % 255) as i8).collect();
            let bias: Vec<i32> = (0..o).map(|_| (r.u32() % 20001) as i32 - 10000).collect();
            let q = ChannelQuant {
                input_offset: -zp,
                output_offset: r.index(256) as i32 - 128,
                multiplier: (0..o).map(|_| (1 << 30) + (r.u32() >> 2) as i32).collect(),
                shift: (0..o).map(|_| r.index(14) as i32 - 11).collect(),
                act_min: -128 + r.index(50) as i32,
                act_max: 127 - r.index(50) as i32,
            };
            let bias_opt = with_bias.then_some(&bias[..]);
            let mut want = vec![0i8; s.window.out_len(o)];
            depthwise_conv2d_i8(&s, &q, &input, &filter, bias_opt, &mut want).unwrap();
            let (k, mut scratch) = DepthwiseFast::new_i8(&s, &q, &filter, bias_opt).unwrap();
            let mut got = vec![0i8; want.len()];
            depthwise_conv2d_i8_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "i8 case {case}: {s:?}");
        }
    }
}
