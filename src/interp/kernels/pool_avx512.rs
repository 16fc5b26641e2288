//! The fast pools' AVX-512 builds (MAX_POOL_2D and AVERAGE_POOL_2D, float32 and int8), for CPUs with
//! the [`Avx512`] tier: the portable bodies of `max_pool2d.rs` and `average_pool2d.rs`, with each
//! block of channels (16 f32 or i32 lanes, 64 int8 lanes) in one vector and the channels past the last
//! block's end masked off, so a channel count that is not a multiple of the vector (the tutorial's 12)
//! takes no scalar loop. Same bits as the portable bodies (compared on random shapes below):
//!
//! - max: per channel the same comparisons in the same tap order, `(max < v) ? v : max` for float (so
//!   a NaN is kept or skipped exactly as there), then the same clamps;
//! - float average: per channel the same additions in the same tap order from +0, the count summed
//!   as the portable body sums it, one IEEE division, the same clamp;
//! - int8 average: the same exact i32 sums, then `(sum ± count/2) / count` truncated. The division is
//!   done in f64, which is exact here: with fewer than 2^23 taps (the caller checks) and int8 inputs,
//!   `|sum ± count/2| < 2^31` is exact in f64, and the quotient `q` has `|q| ≤ 129`, so f64 rounds it
//!   by less than 2^−45, while a quotient that is not an integer lies at least `1/count > 2^−23` from
//!   the next one: truncating the rounded quotient gives the integer division's result.

use std::arch::x86_64::*;

use crate::cpu::{Avx512, first16, first64};
use crate::error::Result;
use crate::interp::kernels::max_pool2d::Pool;
use crate::interp::kernels::window::Window;
use crate::interp::kernels::{average_pool2d, max_pool2d};

/// 32-bit lanes per vector.
const LANES: usize = 16;
/// Byte lanes per vector.
const BYTES: usize = 64;

/// The input offset of pixel `(b, in_y, in_x)` of `w`, channel 0.
#[inline(always)]
fn pixel(w: &Window, channels: usize, b: usize, in_y: usize, in_x: usize) -> usize {
    ((b * w.in_h + in_y) * w.in_w + in_x) * channels
}

/// The taps of output pixel `(out_y, out_x)`: its window clipped to the image, as input rows and
/// columns.
#[inline(always)]
fn taps(
    w: &Window,
    out_y: usize,
    out_x: usize,
) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let (fy0, fy1) = w.clipped_y(out_y);
    let (fx0, fx1) = w.clipped_x(out_x);
    let (y0, x0) = (out_y * w.stride_h, out_x * w.stride_w);
    // clipped_* never start before the padding ends, so these do not underflow.
    (
        (y0 + fy0).saturating_sub(w.pad_h)..(y0 + fy1.max(fy0)).saturating_sub(w.pad_h),
        (x0 + fx0).saturating_sub(w.pad_w)..(x0 + fx1.max(fx0)).saturating_sub(w.pad_w),
    )
}

/// Float32 max pooling (the AVX-512 build of `max_pool2d_f32_fast`).
pub(super) fn max_pool2d_f32(
    _cpu: Avx512,
    k: &Pool<'_, (f32, f32)>,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    max_pool2d::check(k.window, k.channels, input, output)?;
    // SAFETY: `_cpu` proves the CPU has AVX-512 F (see `crate::cpu`).
    unsafe { max_f32(k, input, output) };
    Ok(())
}

#[target_feature(enable = "avx512f")]
fn max_f32(k: &Pool<'_, (f32, f32)>, input: &[f32], output: &mut [f32]) {
    let (w, c) = (k.window, k.channels);
    if c == 0 {
        return;
    }
    let (lo, hi) = (_mm512_set1_ps(k.act.0), _mm512_set1_ps(k.act.1));
    let mut outputs = output.chunks_exact_mut(c);
    for b in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let Some(out) = outputs.next() else { return };
                let (ys, xs) = taps(w, out_y, out_x);
                for (block, out) in out.chunks_mut(LANES).enumerate() {
                    let (first, n) = (block * LANES, out.len());
                    let m = first16(n);
                    let mut max = _mm512_set1_ps(f32::MIN);
                    for in_y in ys.clone() {
                        for in_x in xs.clone() {
                            let src = &input[pixel(w, c, b, in_y, in_x) + first..][..n];
                            // SAFETY: the mask reads lanes `0..n` only, all within `src`.
                            let v = unsafe { _mm512_maskz_loadu_ps(m, src.as_ptr()) };
                            // (max < v) ? v : max
                            max = _mm512_mask_blend_ps(
                                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(max, v),
                                max,
                                v,
                            );
                        }
                    }
                    let y = clamp_ps(max, lo, hi);
                    // SAFETY: the mask writes lanes `0..n` only, all within `out`.
                    unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), m, y) };
                }
            }
        }
    }
}

/// `clamp_f32(x, lo, hi)` lane for lane: `(x < lo) ? lo : x`, then `(hi < y) ? hi : y`.
#[inline]
#[target_feature(enable = "avx512f")]
fn clamp_ps(x: __m512, lo: __m512, hi: __m512) -> __m512 {
    let y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, lo), x, lo);
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(hi, y), y, hi)
}

/// Int8 max pooling (the AVX-512 build of `max_pool2d_i8_fast`).
pub(super) fn max_pool2d_i8(
    _cpu: Avx512,
    k: &Pool<'_, (i32, i32)>,
    input: &[i8],
    output: &mut [i8],
) -> Result<()> {
    max_pool2d::check(k.window, k.channels, input, output)?;
    // SAFETY: `_cpu` proves the CPU has AVX-512 F and BW (see `crate::cpu`).
    unsafe { max_i8(k, input, output) };
    Ok(())
}

#[target_feature(enable = "avx512f,avx512bw")]
fn max_i8(k: &Pool<'_, (i32, i32)>, input: &[i8], output: &mut [i8]) {
    let (w, c) = (k.window, k.channels);
    if c == 0 {
        return;
    }
    // The portable body's bounds: the activation range clamped to int8.
    let lo = _mm512_set1_epi8(k.act.0.clamp(-128, 127) as i8);
    let hi = _mm512_set1_epi8(k.act.1.clamp(-128, 127) as i8);
    let mut outputs = output.chunks_exact_mut(c);
    for b in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let Some(out) = outputs.next() else { return };
                let (ys, xs) = taps(w, out_y, out_x);
                for (block, out) in out.chunks_mut(BYTES).enumerate() {
                    let (first, n) = (block * BYTES, out.len());
                    let m = first64(n);
                    let mut max = _mm512_set1_epi8(i8::MIN);
                    for in_y in ys.clone() {
                        for in_x in xs.clone() {
                            let src = &input[pixel(w, c, b, in_y, in_x) + first..][..n];
                            // SAFETY: the mask reads lanes `0..n` only, all within `src`.
                            let v = unsafe { _mm512_maskz_loadu_epi8(m, src.as_ptr()) };
                            max = _mm512_max_epi8(max, v);
                        }
                    }
                    let y = _mm512_min_epi8(_mm512_max_epi8(max, lo), hi);
                    // SAFETY: the mask writes lanes `0..n` only, all within `out`.
                    unsafe { _mm512_mask_storeu_epi8(out.as_mut_ptr(), m, y) };
                }
            }
        }
    }
}

/// Float32 average pooling (the AVX-512 build of `average_pool2d_f32_fast`).
pub(super) fn average_pool2d_f32(
    _cpu: Avx512,
    k: &Pool<'_, (f32, f32)>,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    average_pool2d::check(k.window, k.channels, input, output)?;
    // SAFETY: `_cpu` proves the CPU has AVX-512 F (see `crate::cpu`).
    unsafe { average_f32(k, input, output) };
    Ok(())
}

#[target_feature(enable = "avx512f")]
fn average_f32(k: &Pool<'_, (f32, f32)>, input: &[f32], output: &mut [f32]) {
    let (w, c) = (k.window, k.channels);
    if c == 0 {
        return;
    }
    let (lo, hi) = (_mm512_set1_ps(k.act.0), _mm512_set1_ps(k.act.1));
    let mut outputs = output.chunks_exact_mut(c);
    for b in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let Some(out) = outputs.next() else { return };
                let (ys, xs) = taps(w, out_y, out_x);
                // The count as the portable body sums it, one 1.0 per tap.
                let mut count = 0.0f32;
                for _ in 0..ys.len() * xs.len() {
                    count += 1.0;
                }
                let count = _mm512_set1_ps(count);
                for (block, out) in out.chunks_mut(LANES).enumerate() {
                    let (first, n) = (block * LANES, out.len());
                    let m = first16(n);
                    let mut sum = _mm512_setzero_ps();
                    for in_y in ys.clone() {
                        for in_x in xs.clone() {
                            let src = &input[pixel(w, c, b, in_y, in_x) + first..][..n];
                            // SAFETY: the mask reads lanes `0..n` only, all within `src`.
                            let v = unsafe { _mm512_maskz_loadu_ps(m, src.as_ptr()) };
                            sum = _mm512_add_ps(sum, v);
                        }
                    }
                    let y = clamp_ps(_mm512_div_ps(sum, count), lo, hi);
                    // SAFETY: the mask writes lanes `0..n` only, all within `out`.
                    unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), m, y) };
                }
            }
        }
    }
}

/// Int8 average pooling (the AVX-512 build of `average_pool2d_i8_fast`, for windows of fewer than
/// 2^23 taps: see the module notes).
pub(super) fn average_pool2d_i8(
    _cpu: Avx512,
    k: &Pool<'_, (i32, i32)>,
    input: &[i8],
    output: &mut [i8],
) -> Result<()> {
    average_pool2d::check(k.window, k.channels, input, output)?;
    // SAFETY: `_cpu` proves the CPU has AVX-512 F, BW and VL (see `crate::cpu`).
    unsafe { average_i8(k, input, output) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn average_i8(k: &Pool<'_, (i32, i32)>, input: &[i8], output: &mut [i8]) -> Result<()> {
    let (w, c) = (k.window, k.channels);
    if c == 0 {
        return Ok(());
    }
    let (act_min, act_max) = (_mm512_set1_epi32(k.act.0), _mm512_set1_epi32(k.act.1));
    let zero = _mm512_setzero_si512();
    let mut outputs = output.chunks_exact_mut(c);
    for b in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let Some(out) = outputs.next() else {
                    return Ok(());
                };
                let (ys, xs) = taps(w, out_y, out_x);
                let count = ys.len() * xs.len();
                if count == 0 {
                    return Err(crate::Error::InvalidModel(
                        "AVERAGE_POOL_2D: a window lies entirely in the padding".into(),
                    ));
                }
                // Fewer than 2^23 (checked by the caller), so exact in i32 and in f64.
                let half = _mm512_set1_epi32((count / 2) as i32);
                let divisor = _mm512_set1_pd(count as f64);
                for (block, out) in out.chunks_mut(LANES).enumerate() {
                    let (first, n) = (block * LANES, out.len());
                    let m = first16(n);
                    let mut sum = zero;
                    for in_y in ys.clone() {
                        for in_x in xs.clone() {
                            let src = &input[pixel(w, c, b, in_y, in_x) + first..][..n];
                            // SAFETY: the mask reads lanes `0..n` only, all within `src`.
                            let v = unsafe { _mm_maskz_loadu_epi8(m, src.as_ptr()) };
                            sum = _mm512_add_epi32(sum, _mm512_cvtepi8_epi32(v));
                        }
                    }
                    // sum > 0 ? sum + count/2 : sum − count/2, then divided, truncated.
                    let positive = _mm512_cmpgt_epi32_mask(sum, zero);
                    let num =
                        _mm512_mask_add_epi32(_mm512_sub_epi32(sum, half), positive, sum, half);
                    let low = _mm512_cvttpd_epi32(_mm512_div_pd(
                        _mm512_cvtepi32_pd(_mm512_castsi512_si256(num)),
                        divisor,
                    ));
                    let high = _mm512_cvttpd_epi32(_mm512_div_pd(
                        _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64::<1>(num)),
                        divisor,
                    ));
                    let q = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(low), high);
                    let y = _mm512_min_epi32(_mm512_max_epi32(q, act_min), act_max);
                    // SAFETY: the mask writes lanes `0..n` only, all within `out` (each lane
                    // narrowed to its low byte, as the portable body's `as i8`).
                    unsafe { _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().cast(), m, y) };
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cpu::{Avx512, Kernel};
    use crate::interp::kernels::average_pool2d::{
        AveragePool, average_pool2d_f32, average_pool2d_f32_fast, average_pool2d_i8_fast,
        average_pool2d_quant,
    };
    use crate::interp::kernels::max_pool2d::{
        Pool, max_pool2d_f32, max_pool2d_f32_fast, max_pool2d_i8_fast, max_pool2d_quant,
    };
    use crate::interp::kernels::window::Window;
    use crate::interp::kernels::{Draws, FastCall, Io};
    use crate::rng::Rng;
    use crate::tflite::Padding;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|v| v.to_bits()).collect()
    }

    /// Runs `call` in its portable build and in its AVX-512 build.
    fn both<K: Kernel>(cpu: Avx512, portable: K, vector: K) -> (K::Output, K::Output) {
        (portable.run::<false>(), cpu.run(vector))
    }

    /// The four AVX-512 pools against their portable builds (and the reference kernels) on random
    /// shapes: batches, image sizes, 1×1 to 4×4 windows, strides 1 to 3, SAME and VALID, 1 to 150
    /// channels (partial and several vectors of 16 and of 64 lanes), activation ranges; float inputs
    /// with NaN, infinities and −0 now and then. Windows entirely in the padding (which the planner
    /// rejects) must fail or agree too.
    #[test]
    fn match_the_portable_builds() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut r = Rng::new(41);
        let mut cases = 0;
        for case in 0..800 {
            let padding = if r.index(2) == 0 {
                Padding::Same
            } else {
                Padding::Valid
            };
            let Ok(w) = Window::new(
                "t",
                padding,
                1 + r.index(2),
                (1 + r.index(10), 1 + r.index(10)),
                (1 + r.index(4), 1 + r.index(4)),
                (1 + r.index(3), 1 + r.index(3)),
                (1, 1),
            ) else {
                continue;
            };
            cases += 1;
            let c = 1 + r.index(if case % 4 == 0 { 150 } else { 20 });
            let len = w.out_len(c);

            // int8
            let input: Vec<i8> = (0..w.in_len(c)).map(|_| r.i8()).collect();
            let act = (-128 + r.index(60) as i32, 127 - r.index(60) as i32);
            let pool = Pool {
                window: &w,
                channels: c,
                act,
            };
            let mut want = vec![0i8; len];
            max_pool2d_quant(&w, c, &input, act, &mut want).unwrap();
            let (mut a, mut b) = (vec![0i8; len], vec![0i8; len]);
            let (ra, rb) = both(
                cpu,
                FastCall {
                    kernel: &pool,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut (),
                        output: &mut a,
                    },
                },
                FastCall {
                    kernel: &pool,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut (),
                        output: &mut b,
                    },
                },
            );
            ra.unwrap();
            rb.unwrap();
            assert_eq!(a, want, "max i8 case {case}: {w:?} {c}");
            assert_eq!(b, want, "max i8 case {case}: {w:?} {c}");
            max_pool2d_i8_fast(&w, c, &input, act, &mut b).unwrap();
            assert_eq!(b, want, "max i8 case {case} dispatched");

            let avg = AveragePool(Pool {
                window: &w,
                channels: c,
                act,
            });
            let mut want = vec![0i8; len];
            let reference = average_pool2d_quant(&w, c, &input, act, &mut want);
            let (mut a, mut b) = (vec![0i8; len], vec![0i8; len]);
            let (mut sa, mut sb) = (vec![0i32; c], vec![0i32; c]);
            let (ra, rb) = both(
                cpu,
                FastCall {
                    kernel: &avg,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut &mut sa[..],
                        output: &mut a,
                    },
                },
                FastCall {
                    kernel: &avg,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut &mut sb[..],
                        output: &mut b,
                    },
                },
            );
            assert_eq!(ra.is_ok(), reference.is_ok(), "avg i8 case {case}");
            assert_eq!(rb.is_ok(), reference.is_ok(), "avg i8 case {case}");
            if reference.is_ok() {
                assert_eq!(a, want, "avg i8 case {case}: {w:?} {c}");
                assert_eq!(b, want, "avg i8 case {case}: {w:?} {c}");
                average_pool2d_i8_fast(&w, c, &input, act, &mut sb, &mut b).unwrap();
                assert_eq!(b, want, "avg i8 case {case} dispatched");
            }

            // float32
            let mut input: Vec<f32> = (0..w.in_len(c))
                .map(|_| r.u32() as f32 / 5e8 - 4.0)
                .collect();
            if case % 5 == 0 {
                for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0] {
                    let i = r.index(input.len());
                    input[i] = special;
                }
            }
            let act = match case % 3 {
                0 => (f32::MIN, f32::MAX),
                1 => (0.0, 6.0),
                _ => (-1.5, 1.0),
            };
            let pool = Pool {
                window: &w,
                channels: c,
                act,
            };
            let mut want = vec![0.0f32; len];
            max_pool2d_f32(&w, c, &input, act, &mut want).unwrap();
            let (mut a, mut b) = (vec![0.0f32; len], vec![0.0f32; len]);
            let (ra, rb) = both(
                cpu,
                FastCall {
                    kernel: &pool,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut (),
                        output: &mut a,
                    },
                },
                FastCall {
                    kernel: &pool,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut (),
                        output: &mut b,
                    },
                },
            );
            ra.unwrap();
            rb.unwrap();
            assert_eq!(bits(&a), bits(&want), "max f32 case {case}: {w:?} {c}");
            assert_eq!(bits(&b), bits(&want), "max f32 case {case}: {w:?} {c}");
            max_pool2d_f32_fast(&w, c, &input, act, &mut b).unwrap();
            assert_eq!(bits(&b), bits(&want), "max f32 case {case} dispatched");

            let avg = AveragePool(pool);
            let mut want = vec![0.0f32; len];
            average_pool2d_f32(&w, c, &input, act, &mut want).unwrap();
            let (mut a, mut b) = (vec![0.0f32; len], vec![0.0f32; len]);
            let (ra, rb) = both(
                cpu,
                FastCall {
                    kernel: &avg,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut (),
                        output: &mut a,
                    },
                },
                FastCall {
                    kernel: &avg,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut (),
                        output: &mut b,
                    },
                },
            );
            ra.unwrap();
            rb.unwrap();
            assert_eq!(bits(&a), bits(&want), "avg f32 case {case}: {w:?} {c}");
            assert_eq!(bits(&b), bits(&want), "avg f32 case {case}: {w:?} {c}");
            average_pool2d_f32_fast(&w, c, &input, act, &mut b).unwrap();
            assert_eq!(bits(&b), bits(&want), "avg f32 case {case} dispatched");
        }
        assert!(cases > 600, "{cases}");
    }
}
