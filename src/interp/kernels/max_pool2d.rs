//! MAX_POOL_2D reference kernels (float32 and int8).
//!
//! Legend: N batches, H/W height/width, C channels; NHWC in and out, same C.
//!
//! Facts from `tflite/kernels/internal/reference/pooling.h` and `reference/integer_ops/pooling.h`: the
//! window is clipped to the image (padding never contributes), the max starts from the type's lowest
//! value, then the fused activation clamps it. int8 does no rescaling: TF's converter gives the output
//! the input's (scale, zero point), and TFLite only checks that in debug builds.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::quantize::QuantElement;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{FastCall, Io, check_len};

pub(crate) fn check<T>(w: &Window, channels: usize, input: &[T], output: &[T]) -> Result<()> {
    check_len("MAX_POOL_2D", "input", input.len(), w.in_len(channels))?;
    check_len("MAX_POOL_2D", "output", output.len(), w.out_len(channels))
}

/// Float32 max pooling.
pub fn max_pool2d_f32(
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
                    let mut max = f32::MIN;
                    for filter_y in fy_start..fy_end {
                        let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                        for filter_x in fx_start..fx_end {
                            let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                            let v = input
                                [((batch * w.in_h + in_y) * w.in_w + in_x) * channels + channel];
                            // std::max(max, v) = (max < v) ? v : max
                            if max < v {
                                max = v;
                            }
                        }
                    }
                    output[((batch * w.out_h + out_y) * w.out_w + out_x) * channels + channel] =
                        clamp_f32(max, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Int8 or int16 max pooling (reference `MaxPool` of `integer_ops/pooling.h`, one template for both);
/// `act` is the quantized activation range of the output.
pub fn max_pool2d_quant<T: QuantElement>(
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
                    let mut max = T::MIN;
                    for filter_y in fy_start..fy_end {
                        let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                        for filter_x in fx_start..fx_end {
                            let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                            max = max.max(
                                input[((batch * w.in_h + in_y) * w.in_w + in_x) * channels
                                    + channel]
                                    .to_i32(),
                            );
                        }
                    }
                    let clamped = max.max(act_min).min(act_max);
                    output[((batch * w.out_h + out_y) * w.out_w + out_x) * channels + channel] =
                        T::from_i32(clamped);
                }
            }
        }
    }
    Ok(())
}

/// A pooling's window, channel count and fused activation range: the kernel half of the fast pools'
/// [`FastCall`]s (the input, the scratch and the output are the other).
pub(crate) struct Pool<'w, R> {
    pub window: &'w Window,
    pub channels: usize,
    pub act: R,
}

/// Fast max pooling: the same per-channel sequence of comparisons as the reference kernels (taps in
/// filter_y, filter_x order), with channels innermost so each tap is one contiguous slice and the
/// compiler vectorizes across channels. Identical results, NaN included. Runs through
/// [`cpu::dispatch`]: portable, AVX2 (the same body) or AVX-512 (explicit, `pool_avx512.rs`).
pub fn max_pool2d_f32_fast(
    w: &Window,
    channels: usize,
    input: &[f32],
    act: (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: &Pool {
            window: w,
            channels,
            act,
        },
        args: &mut Io {
            input,
            scratch: &mut (),
            output,
        },
    })
}

impl Kernel for FastCall<'_, Pool<'_, (f32, f32)>, Io<'_, f32, (), f32>> {
    type Output = Result<()>;

    /// Comparisons only: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let k = self.kernel;
        max_pool2d_f32_body(
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
        let k = self.kernel;
        let io = self.args;
        super::pool_avx512::max_pool2d_f32(cpu, k, io.input, io.output)
    }
}

/// The body of [`max_pool2d_f32_fast`], compiled into the build it is called from.
#[inline(always)]
fn max_pool2d_f32_body(
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
                out.iter_mut().for_each(|o| *o = f32::MIN);
                for filter_y in fy_start..fy_end {
                    let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                    for filter_x in fx_start..fx_end {
                        let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                        let src = &input[((batch * w.in_h + in_y) * w.in_w + in_x) * channels..]
                            [..channels];
                        for (o, &v) in out.iter_mut().zip(src) {
                            *o = if *o < v { v } else { *o };
                        }
                    }
                }
                for o in out.iter_mut() {
                    *o = clamp_f32(*o, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Fast int8 max pooling (see [`max_pool2d_f32_fast`]).
pub fn max_pool2d_i8_fast(
    w: &Window,
    channels: usize,
    input: &[i8],
    act: (i32, i32),
    output: &mut [i8],
) -> Result<()> {
    cpu::dispatch(FastCall {
        kernel: &Pool {
            window: w,
            channels,
            act,
        },
        args: &mut Io {
            input,
            scratch: &mut (),
            output,
        },
    })
}

impl Kernel for FastCall<'_, Pool<'_, (i32, i32)>, Io<'_, i8, (), i8>> {
    type Output = Result<()>;

    /// Comparisons only: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        let k = self.kernel;
        max_pool2d_i8_body(
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
        let k = self.kernel;
        let io = self.args;
        super::pool_avx512::max_pool2d_i8(cpu, k, io.input, io.output)
    }
}

/// The body of [`max_pool2d_i8_fast`], compiled into the build it is called from.
#[inline(always)]
fn max_pool2d_i8_body(
    w: &Window,
    channels: usize,
    input: &[i8],
    (act_min, act_max): (i32, i32),
    output: &mut [i8],
) -> Result<()> {
    check(w, channels, input, output)?;
    if channels == 0 {
        return Ok(());
    }
    let (lo, hi) = (
        act_min.clamp(-128, 127) as i8,
        act_max.clamp(-128, 127) as i8,
    );
    let mut outputs = output.chunks_exact_mut(channels);
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            let (fy_start, fy_end) = w.clipped_y(out_y);
            for out_x in 0..w.out_w {
                let (fx_start, fx_end) = w.clipped_x(out_x);
                let Some(out) = outputs.next() else {
                    return Ok(());
                };
                out.iter_mut().for_each(|o| *o = i8::MIN);
                for filter_y in fy_start..fy_end {
                    let in_y = out_y * w.stride_h + filter_y - w.pad_h;
                    for filter_x in fx_start..fx_end {
                        let in_x = out_x * w.stride_w + filter_x - w.pad_w;
                        let src = &input[((batch * w.in_h + in_y) * w.in_w + in_x) * channels..]
                            [..channels];
                        for (o, &v) in out.iter_mut().zip(src) {
                            *o = (*o).max(v);
                        }
                    }
                }
                for o in out.iter_mut() {
                    // (act_min ≤ act_max within the int8 range, so clamping in i8 is the same)
                    *o = (*o).max(lo).min(hi);
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
    fn two_by_two_stride_two() {
        // 1×2×4×1 input → 1×1×2×1: windows {1, 5, 2, 6} and {3, 7, 4, −8}.
        let w = Window::new("t", Padding::Valid, 1, (2, 4), (2, 2), (2, 2), (1, 1)).unwrap();
        let mut out = [0i8; 2];
        max_pool2d_quant(&w, 1, &[1, 2, 3, 4, 5, 6, 7, -8], (-128, 127), &mut out).unwrap();
        assert_eq!(out, [6, 7]);
        // Activation clamp at 6.5 (float) / 6 (int8).
        max_pool2d_quant(&w, 1, &[1, 2, 3, 4, 5, 6, 7, -8], (-128, 6), &mut out).unwrap();
        assert_eq!(out, [6, 6]);
        let mut outf = [0.0f32; 2];
        let input: Vec<f32> = [1, 2, 3, 4, 5, 6, 7, -8]
            .iter()
            .map(|&v| v as f32)
            .collect();
        max_pool2d_f32(&w, 1, &input, (0.0, 6.5), &mut outf).unwrap();
        assert_eq!(outf, [6.0, 6.5]);
    }

    #[test]
    fn same_padding_ignores_pad() {
        // 1×1×1×1 input −100, SAME 3×3: the window is clipped to the single pixel.
        let w = Window::new("t", Padding::Same, 1, (1, 1), (3, 3), (1, 1), (1, 1)).unwrap();
        let mut out = [0i8; 1];
        max_pool2d_quant(&w, 1, &[-100], (-128, 127), &mut out).unwrap();
        assert_eq!(out, [-100]);
    }

    #[test]
    fn fast_matches_reference() {
        let mut rng = Rng::new(99);
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
            max_pool2d_quant(&w, c, &input, act, &mut want).unwrap();
            max_pool2d_i8_fast(&w, c, &input, act, &mut got).unwrap();
            assert_eq!(got, want, "case {case}");
            let mut inputf: Vec<f32> = input.iter().map(|&v| v as f32 * 0.37).collect();
            if case % 7 == 0 {
                inputf[0] = f32::NAN;
            }
            let actf = if case % 2 == 0 {
                (f32::MIN, f32::MAX)
            } else {
                (0.0, 6.0)
            };
            let (mut wantf, mut gotf) = (vec![0.0f32; w.out_len(c)], vec![0.0f32; w.out_len(c)]);
            max_pool2d_f32(&w, c, &inputf, actf, &mut wantf).unwrap();
            max_pool2d_f32_fast(&w, c, &inputf, actf, &mut gotf).unwrap();
            assert_eq!(
                gotf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                wantf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "case {case}"
            );
        }
    }
}
