//! AVERAGE_POOL_2D reference kernels (float32 and int8).
//!
//! Legend: N batches, H/W height/width, C channels; NHWC in and out, same C.
//!
//! Facts from `tflite/kernels/internal/reference/pooling.h` and `reference/integer_ops/pooling.h`: the
//! window is clipped to the image and the divisor is the number of pixels actually inside it. Float:
//! sum in loop order, then `sum / count`, then the clamp. int8: sum in an integer, then round half away
//! from zero with C division, `(sum ± count/2) / count`, then the clamp; no rescaling (output and input
//! share scale and zero point). An empty window is an error in TFLite; the planner rejects it.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::max_pool2d::Pool;
use crate::interp::kernels::quantize::QuantElement;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{FastCall, Io, check_len};

pub(crate) fn check<T>(w: &Window, channels: usize, input: &[T], output: &[T]) -> Result<()> {
    check_len("AVERAGE_POOL_2D", "input", input.len(), w.in_len(channels))?;
    check_len(
        "AVERAGE_POOL_2D",
        "output",
        output.len(),
        w.out_len(channels),
    )
}

/// Float32 average pooling.
pub fn average_pool2d_f32(
    w: &Window,
    channels: usize,
    input: &[f32],
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    check(w, channels, input, output)?;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            let (fy_start, fy_end) = w.clipped_y(out_y);
            for out_x in 0..w.out_w {
                let (fx_start, fx_end) = w.clipped_x(out_x);
                for channel in 0..channels {
                    let mut total = 0.0f32;
                    let mut count = 0.0f32;
                    for filter_y in fy_start..fy_end {
                        let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                        for filter_x in fx_start..fx_end {
                            let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                            total += input
                                [((batch * w.in_h + in_y) * w.in_w + in_x) * channels + channel];
                            count += 1.0;
                        }
                    }
                    let average = total / count;
                    output[((batch * w.out_h + out_y) * w.out_w + out_x) * channels + channel] =
                        clamp_f32(average, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Int8 or int16 average pooling (reference `AveragePool` of `integer_ops/pooling.h`, the same
/// rounding for both); `act` is the quantized activation range of the output.
pub fn average_pool2d_quant<T: QuantElement>(
    w: &Window,
    channels: usize,
    input: &[T],
    (act_min, act_max): (i32, i32),
    output: &mut [T],
) -> Result<()> {
    check(w, channels, input, output)?;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            let (fy_start, fy_end) = w.clipped_y(out_y);
            for out_x in 0..w.out_w {
                let (fx_start, fx_end) = w.clipped_x(out_x);
                for channel in 0..channels {
                    let mut acc: i64 = 0;
                    let mut count: i64 = 0;
                    for filter_y in fy_start..fy_end {
                        let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                        for filter_x in fx_start..fx_end {
                            let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                            acc += input
                                [((batch * w.in_h + in_y) * w.in_w + in_x) * channels + channel]
                                .to_i32() as i64;
                            count += 1;
                        }
                    }
                    if count == 0 {
                        return Err(crate::Error::InvalidModel(
                            "AVERAGE_POOL_2D: a window lies entirely in the padding".into(),
                        ));
                    }
                    // Round half away from zero; Rust's `/` truncates toward zero like C's.
                    let rounded = if acc > 0 {
                        (acc + count / 2) / count
                    } else {
                        (acc - count / 2) / count
                    };
                    let clamped = rounded.max(act_min as i64).min(act_max as i64);
                    output[((batch * w.out_h + out_y) * w.out_w + out_x) * channels + channel] =
                        T::from_i32(clamped as i32);
                }
            }
        }
    }
    Ok(())
}

/// Fast float32 average pooling: channels innermost (contiguous slices), each channel summing its taps
/// in the reference order; identical results. Runs through [`cpu::dispatch`]: portable, AVX2 (the same
/// body) or AVX-512 (explicit, `pool_avx512.rs`).
pub fn average_pool2d_f32_fast(
    w: &Window,
    channels: usize,
    input: &[f32],
    act: (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: &AveragePool(Pool {
            window: w,
            channels,
            act,
        }),
        args: &mut Io {
            input,
            scratch: &mut (),
            output,
        },
    })
}

/// [`Pool`] for the average (its own type, so that its `FastCall`s implement [`Kernel`] apart from
/// the max pool's).
pub(crate) struct AveragePool<'w, R>(pub Pool<'w, R>);

impl Kernel for FastCall<'_, AveragePool<'_, (f32, f32)>, Io<'_, f32, (), f32>> {
    type Output = Result<()>;

    /// Float sums in the reference order: `FMA` is ignored.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let k = &self.kernel.0;
        average_pool2d_f32_body(
            k.window,
            k.channels,
            self.args.input,
            k.act,
            self.args.output,
        )
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: cpu::Avx512) -> Result<()> {
        let io = self.args;
        super::pool_avx512::average_pool2d_f32(cpu, &self.kernel.0, io.input, io.output)
    }
}

/// The body of [`average_pool2d_f32_fast`], compiled into the build it is called from.
#[inline(always)]
fn average_pool2d_f32_body(
    w: &Window,
    channels: usize,
    input: &[f32],
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    check(w, channels, input, output)?;
    if channels == 0 {
        return Ok(());
    }
    let mut outputs = output.chunks_exact_mut(channels);
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            let (fy_start, fy_end) = w.clipped_y(out_y);
            for out_x in 0..w.out_w {
                let (fx_start, fx_end) = w.clipped_x(out_x);
                let Some(out) = outputs.next() else {
                    return Ok(());
                };
                out.iter_mut().for_each(|o| *o = 0.0);
                let mut count = 0.0f32;
                for filter_y in fy_start..fy_end {
                    let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                    for filter_x in fx_start..fx_end {
                        let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                        let src = &input[((batch * w.in_h + in_y) * w.in_w + in_x) * channels..]
                            [..channels];
                        for (o, &v) in out.iter_mut().zip(src) {
                            *o += v;
                        }
                        count += 1.0;
                    }
                }
                for o in out.iter_mut() {
                    *o = clamp_f32(*o / count, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Fast int8 average pooling (see [`average_pool2d_f32_fast`]); the integer sums are exact in i32.
pub fn average_pool2d_i8_fast(
    w: &Window,
    channels: usize,
    input: &[i8],
    act: (i32, i32),
    sums: &mut [i32],
    output: &mut [i8],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: &AveragePool(Pool {
            window: w,
            channels,
            act,
        }),
        args: &mut Io {
            input,
            scratch: &mut &mut *sums,
            output,
        },
    })
}

impl Kernel for FastCall<'_, AveragePool<'_, (i32, i32)>, Io<'_, i8, &mut [i32], i8>> {
    type Output = Result<()>;

    /// Integer sums: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let k = &self.kernel.0;
        let io = self.args;
        average_pool2d_i8_body(k.window, k.channels, io.input, k.act, io.scratch, io.output)
    }

    /// The explicit sums (in registers, so without the scratch), unless the window has 2^23 taps or
    /// more, where only the plan's bound keeps the i32 sums exact (the planner sends such windows
    /// to the reference kernel; this kernel then runs its AVX2 build, the same as the portable one).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn run_avx512(self, cpu: cpu::Avx512) -> Result<()> {
        let k = &self.kernel.0;
        if k.window.filter_h.saturating_mul(k.window.filter_w) >= 1 << 23 {
            return cpu.avx2_fma().run(self);
        }
        let io = self.args;
        super::pool_avx512::average_pool2d_i8(cpu, k, io.input, io.output)
    }
}

/// The body of [`average_pool2d_i8_fast`], compiled into the build it is called from.
#[inline(always)]
fn average_pool2d_i8_body(
    w: &Window,
    channels: usize,
    input: &[i8],
    (act_min, act_max): (i32, i32),
    sums: &mut [i32],
    output: &mut [i8],
) -> Result<()> {
    check(w, channels, input, output)?;
    check_len("AVERAGE_POOL_2D", "scratch", sums.len(), channels)?;
    if channels == 0 {
        return Ok(());
    }
    let mut outputs = output.chunks_exact_mut(channels);
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            let (fy_start, fy_end) = w.clipped_y(out_y);
            for out_x in 0..w.out_w {
                let (fx_start, fx_end) = w.clipped_x(out_x);
                let Some(out) = outputs.next() else {
                    return Ok(());
                };
                sums.iter_mut().for_each(|s| *s = 0);
                for filter_y in fy_start..fy_end {
                    let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                    for filter_x in fx_start..fx_end {
                        let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                        let src = &input[((batch * w.in_h + in_y) * w.in_w + in_x) * channels..]
                            [..channels];
                        for (s, &v) in sums.iter_mut().zip(src) {
                            *s += v as i32;
                        }
                    }
                }
                let count =
                    ((fy_end.saturating_sub(fy_start)) * (fx_end.saturating_sub(fx_start))) as i32;
                if count == 0 {
                    return Err(crate::Error::InvalidModel(
                        "AVERAGE_POOL_2D: a window lies entirely in the padding".into(),
                    ));
                }
                for (o, &acc) in out.iter_mut().zip(sums.iter()) {
                    let rounded = if acc > 0 {
                        (acc + count / 2) / count
                    } else {
                        (acc - count / 2) / count
                    };
                    *o = rounded.max(act_min).min(act_max) as i8;
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

    #[test]
    fn rounding_half_away() {
        // 1×1×2×1 windows of two: (1 + 2)/2 = 1.5 → 2; (−1 − 2)/2 = −1.5 → −2.
        let w = Window::new("t", Padding::Valid, 1, (1, 2), (1, 2), (1, 1), (1, 1)).unwrap();
        let mut out = [0i8; 1];
        average_pool2d_quant(&w, 1, &[1, 2], (-128, 127), &mut out).unwrap();
        assert_eq!(out, [2]);
        average_pool2d_quant(&w, 1, &[-1, -2], (-128, 127), &mut out).unwrap();
        assert_eq!(out, [-2]);
        // 1.25 → 1 with a window of 4 (1×4).
        let w4 = Window::new("t", Padding::Valid, 1, (1, 4), (1, 4), (1, 1), (1, 1)).unwrap();
        average_pool2d_quant(&w4, 1, &[1, 1, 1, 2], (-128, 127), &mut out).unwrap();
        assert_eq!(out, [1]);
        let mut outf = [0.0f32; 1];
        average_pool2d_f32(
            &w4,
            1,
            &[1.0, 1.0, 1.0, 2.0],
            (f32::MIN, f32::MAX),
            &mut outf,
        )
        .unwrap();
        assert_eq!(outf, [1.25]);
    }

    #[test]
    fn same_padding_divides_by_pixels_inside() {
        // 1×2×2×1 [4, 8, 12, 16], SAME 3×3 stride 1 → every window covers all 4 pixels: mean 10;
        // the corner windows clip to the image, so the divisor is 4, not 9.
        let w = Window::new("t", Padding::Same, 1, (2, 2), (3, 3), (1, 1), (1, 1)).unwrap();
        let mut out = [0i8; 4];
        average_pool2d_quant(&w, 1, &[4, 8, 12, 16], (-128, 127), &mut out).unwrap();
        assert_eq!(out, [10; 4]);
    }

    #[test]
    fn fast_matches_reference() {
        let mut rng = Rng::new(5);
        let mut next = || rng.u32();
        for case in 0..200 {
            let pad = if next() % 2 == 0 {
                Padding::Same
            } else {
                Padding::Valid
            };
            let (h, wd, c) = (
                1 + next() as usize % 9,
                1 + next() as usize % 9,
                1 + next() as usize % 13,
            );
            let (fh, fw, sh, sw) = (
                1 + next() as usize % 3,
                1 + next() as usize % 3,
                1 + next() as usize % 3,
                1 + next() as usize % 2,
            );
            let Ok(w) = Window::new(
                "t",
                pad,
                1 + next() as usize % 2,
                (h, wd),
                (fh, fw),
                (sh, sw),
                (1, 1),
            ) else {
                continue;
            };
            let input: Vec<i8> = (0..w.in_len(c)).map(|_| next() as i8).collect();
            let act = (-128 + (next() % 50) as i32, 127 - (next() % 50) as i32);
            let (mut want, mut got) = (vec![0i8; w.out_len(c)], vec![0i8; w.out_len(c)]);
            average_pool2d_quant(&w, c, &input, act, &mut want).unwrap();
            average_pool2d_i8_fast(&w, c, &input, act, &mut vec![0; c], &mut got).unwrap();
            assert_eq!(got, want, "case {case}");
            let inputf: Vec<f32> = input.iter().map(|&v| v as f32 * 0.37).collect();
            let actf = if case % 2 == 0 {
                (f32::MIN, f32::MAX)
            } else {
                (0.0, 6.0)
            };
            let (mut wantf, mut gotf) = (vec![0.0f32; w.out_len(c)], vec![0.0f32; w.out_len(c)]);
            average_pool2d_f32(&w, c, &inputf, actf, &mut wantf).unwrap();
            average_pool2d_f32_fast(&w, c, &inputf, actf, &mut gotf).unwrap();
            assert_eq!(
                gotf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                wantf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "case {case}"
            );
        }
    }
}
