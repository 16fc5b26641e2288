//! The int8 CONV_2D sums with AVX-512 VNNI (`vpdpbusd`), alone and with the fused MAX_POOL_2D, for
//! [`super::fast`]'s and [`super::fused_pool`]'s int8 kernels on CPUs with the [`Avx512`] tier. They
//! fill the same accumulator map / pooled maxima as the portable twins (`ConvFast::accumulate`,
//! `ConvFast::pooled_maxima`), with the same values, and share their requantization.
//!
//! Lanes are output channels, 16 per vector; each `vpdpbusd` adds four taps of one filter row to all
//! of them: the four input bytes are broadcast, and lane `o` holds filter `o`'s four weights. With
//! dilation 1 along x a filter row's KW·C taps are contiguous in the padded image, so they are read as
//! ⌈KW·C / 4⌉ little-endian words; taps past the row's end get weight 0 (whatever byte they read).
//!
//! `vpdpbusd` multiplies unsigned bytes by signed ones, so the image holds `u = x + 128` and the
//! correction `(input_offset − 128)·Σ w[o]` starts each sum (see `fully_connected/avx512.rs`):
//! `Σ w·u + (input_offset − 128)·Σ w = Σ w·(x − zp)`. Padding holds the `u` of `x = zp`, so a padded
//! tap contributes 0, as the reference's skipped tap does. The sums are integers of magnitude at most
//! `Σ |w|·255 ≤ 2^24` (the fast kernel's condition), so they convert to the f32 accumulators exactly.

use std::arch::x86_64::*;

use crate::cpu::Avx512;
use crate::error::Result;
use crate::interp::kernels::check_len;
use crate::interp::kernels::conv2d::fast::{ConvFast, ConvFastScratch};
use crate::interp::kernels::window::Window;

/// Output channels per vector.
const LANES: usize = 16;

/// The filter as `vpdpbusd` takes it, and the constants of the unsigned image.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvVnni {
    /// `[block][filter_y][word]` vectors: lane `o` holds taps `4·word .. 4·word + 4` of filter row
    /// `filter_y` of output channel `block·16 + o` (0 past the row or the channels).
    w: Vec<[i8; 64]>,
    /// Words per filter row, ⌈KW·C / 4⌉.
    words: usize,
    /// `(input_offset − 128)·Σ w[o]` per channel, 16 per block.
    correction: Vec<[i32; LANES]>,
    /// The byte of a tap that contributes nothing: `zp + 128`.
    pad: u8,
}

impl ConvVnni {
    /// For `conv` with `filter` (OHWI) and the input offset (−zp); `None` unless the convolution has
    /// dilation 1 along x and the zero point is an int8 value.
    pub(super) fn new(conv: &ConvFast, filter: &[i8], input_offset: i32) -> Option<ConvVnni> {
        let s = &conv.shape;
        let w = &s.window;
        let pad = u8::try_from(128 - input_offset).ok()?;
        let row = w.filter_w * s.in_c;
        let k = w.filter_h * row;
        if w.dilation_w != 1 || k == 0 || filter.len() != s.out_c * k {
            return None;
        }
        let words = row.div_ceil(4);
        let blocks = s.out_c.div_ceil(LANES);
        let mut wv = vec![[0i8; 64]; blocks * w.filter_h * words];
        for (o, taps) in filter.chunks_exact(k).enumerate() {
            let (block, lane) = (o / LANES, o % LANES);
            for (filter_y, row_taps) in taps.chunks_exact(row).enumerate() {
                for (t, &v) in row_taps.iter().enumerate() {
                    wv[(block * w.filter_h + filter_y) * words + t / 4][lane * 4 + t % 4] = v;
                }
            }
        }
        let mut correction = vec![[0i32; LANES]; blocks];
        for (o, taps) in filter.chunks_exact(k).enumerate() {
            let sum: i32 = taps.iter().map(|&v| v as i32).sum();
            correction[o / LANES][o % LANES] = (input_offset - 128).wrapping_mul(sum);
        }
        Some(ConvVnni {
            w: wv,
            words,
            correction,
            pad,
        })
    }

    /// Bytes of the unsigned padded image: the float image's elements, and 3 more that the last
    /// word of the last row may read.
    pub(super) fn image_len(conv: &ConvFast) -> usize {
        conv.padded_len() + 3
    }

    /// Copy `input` into the unsigned padded image `image` (`x + 128`, the border `zp + 128`).
    #[inline(always)]
    fn pad_input(&self, conv: &ConvFast, input: &[i8], image: &mut [u8]) -> Result<()> {
        let s = &conv.shape;
        let w = &s.window;
        check_len("CONV_2D", "input", input.len(), w.in_len(s.in_c))?;
        check_len("CONV_2D", "byte image", image.len(), Self::image_len(conv))?;
        image.iter_mut().for_each(|v| *v = self.pad);
        let row = w.in_w * s.in_c;
        for b in 0..w.batches {
            for y in 0..w.in_h {
                let src = &input[(b * w.in_h + y) * row..][..row];
                let dst =
                    &mut image[((b * conv.hp + y + w.pad_h) * conv.wp + w.pad_w) * s.in_c..][..row];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = v as u8 ^ 0x80;
                }
            }
        }
        Ok(())
    }

    /// The accumulator map `[N][OH][OW][O_pad]` of `conv` for `input`, as `ConvFast::accumulate` makes
    /// it (into `scratch.acc_map`).
    #[inline(always)]
    pub(super) fn accumulate(
        &self,
        cpu: Avx512,
        conv: &ConvFast,
        input: &[i8],
        scratch: &mut ConvFastScratch,
    ) -> Result<()> {
        self.pad_input(conv, input, &mut scratch.xbytes)?;
        check_len(
            "CONV_2D",
            "accumulators",
            scratch.acc_map.len(),
            conv.acc_map_len(),
        )?;
        check_len(
            "CONV_2D",
            "integral image",
            scratch.integral.len(),
            conv.integral_len(),
        )?;
        // SAFETY: `cpu` proves the CPU has AVX-512 F and VNNI (see `crate::cpu`).
        unsafe { self.accumulate_vnni(cpu, conv, scratch) };
        Ok(())
    }

    /// The pooled maxima `[N][PH][PW][O_pad]` and their all-zero flags, as `ConvFast::pooled_maxima`
    /// makes them (into `scratch.pooled` and `scratch.pooled_zero`).
    #[inline(always)]
    pub(super) fn pooled_maxima(
        &self,
        cpu: Avx512,
        conv: &ConvFast,
        pool: &Window,
        input: &[i8],
        scratch: &mut ConvFastScratch,
    ) -> Result<()> {
        let w = &conv.shape.window;
        if (pool.batches, pool.in_h, pool.in_w) != (w.batches, w.out_h, w.out_w)
            || (0..pool.out_h).any(|y| pool.clipped_y(y).0 >= pool.clipped_y(y).1)
            || (0..pool.out_w).any(|x| pool.clipped_x(x).0 >= pool.clipped_x(x).1)
        {
            return Err(crate::Error::InvalidModel(
                "CONV_2D + MAX_POOL_2D: pool geometry does not fit the convolution".into(),
            ));
        }
        self.pad_input(conv, input, &mut scratch.xbytes)?;
        check_len(
            "CONV_2D",
            "integral image",
            scratch.integral.len(),
            conv.integral_len(),
        )?;
        check_len(
            "MAX_POOL_2D",
            "pool scratch",
            scratch.pooled.len(),
            pool.out_len(conv.o_pad),
        )?;
        check_len(
            "MAX_POOL_2D",
            "pool flags",
            scratch.pooled_zero.len(),
            pool.out_len(1),
        )?;
        // SAFETY: `cpu` proves the CPU has AVX-512 F and VNNI (see `crate::cpu`).
        unsafe { self.pooled_vnni(cpu, conv, pool, scratch) };
        Ok(())
    }

    /// One output pixel's sums for channels `block·16 ..`, from the correction on. `KH` filter rows of
    /// `WORDS` words each when they are not 0 (compile-time sizes for the common small filters, so the
    /// loops unroll and this inlines); otherwise the filter's own.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vnni")]
    fn pixel<const KH: usize, const WORDS: usize>(
        &self,
        conv: &ConvFast,
        image: &[u8],
        (b, out_y, out_x): Pixel,
        block: usize,
    ) -> __m512i {
        let w = &conv.shape.window;
        let c = conv.shape.in_c;
        let (kh, words) = if KH == 0 {
            (w.filter_h, self.words)
        } else {
            (KH, WORDS)
        };
        let mut acc = load_i32(&self.correction[block]);
        let filters = &self.w[block * kh * words..][..kh * words];
        for (filter_y, row_w) in filters.chunks_exact(words).enumerate() {
            let y = out_y * w.stride_h + filter_y * w.dilation_h;
            let at = ((b * conv.hp + y) * conv.wp + out_x * w.stride_w) * c;
            // Hoisted: the row's words (bounds-checked once; the image has 3 bytes of slack).
            let taps = image[at..][..words * 4].as_chunks::<4>().0;
            for (word, wv) in taps.iter().zip(row_w) {
                let x = _mm512_set1_epi32(i32::from_le_bytes(*word));
                acc = _mm512_dpbusd_epi32(acc, x, load_i8(wv));
            }
        }
        acc
    }

    /// [`Self::pixel`] for the four pixels `(y, x)`, `(y, x + 1)`, `(y + 1, x)`, `(y + 1, x + 1)`,
    /// computed together so that their four chains of `vpdpbusd` overlap.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vnni")]
    fn pixels_2x2<const KH: usize, const WORDS: usize>(
        &self,
        conv: &ConvFast,
        image: &[u8],
        (b, y, x): Pixel,
        block: usize,
    ) -> [__m512i; 4] {
        let w = &conv.shape.window;
        let c = conv.shape.in_c;
        let (kh, words) = if KH == 0 {
            (w.filter_h, self.words)
        } else {
            (KH, WORDS)
        };
        let correction = load_i32(&self.correction[block]);
        let mut acc = [correction; 4];
        let filters = &self.w[block * kh * words..][..kh * words];
        // (No closures here: they would not inherit the target features, and not inline.)
        let (step_y, step_x) = (w.stride_h * conv.wp * c, w.stride_w * c);
        for (filter_y, row_w) in filters.chunks_exact(words).enumerate() {
            let at = ((b * conv.hp + y * w.stride_h + filter_y * w.dilation_h) * conv.wp
                + x * w.stride_w)
                * c;
            // The four pixels' rows of words (bounds-checked here; the image has 3 bytes of slack).
            let rows = [
                &image[at..][..words * 4],
                &image[at + step_x..][..words * 4],
                &image[at + step_y..][..words * 4],
                &image[at + step_y + step_x..][..words * 4],
            ];
            for (word, wv) in row_w.iter().enumerate() {
                let wv = load_i8(wv);
                for i in 0..4 {
                    let bytes = rows[i].as_chunks::<4>().0[word];
                    let x = _mm512_set1_epi32(i32::from_le_bytes(bytes));
                    acc[i] = _mm512_dpbusd_epi32(acc[i], x, wv);
                }
            }
        }
        acc
    }

    #[target_feature(enable = "avx512f,avx512vnni")]
    fn accumulate_vnni(&self, cpu: Avx512, conv: &ConvFast, scratch: &mut ConvFastScratch) {
        match (conv.shape.window.filter_h, self.words) {
            (3, 1) => self.accumulate_sized::<3, 1>(cpu, conv, scratch),
            (5, 2) => self.accumulate_sized::<5, 2>(cpu, conv, scratch),
            _ => self.accumulate_sized::<0, 0>(cpu, conv, scratch),
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512vnni")]
    fn accumulate_sized<const KH: usize, const WORDS: usize>(
        &self,
        _cpu: Avx512,
        conv: &ConvFast,
        scratch: &mut ConvFastScratch,
    ) {
        let w = &conv.shape.window;
        let o_pad = conv.o_pad;
        let ConvFastScratch {
            xbytes,
            acc_map,
            integral,
            ..
        } = scratch;
        let mut pixels = acc_map.chunks_exact_mut(o_pad);
        for b in 0..w.batches {
            conv.build_integral(xbytes, self.pad, b, integral);
            for out_y in 0..w.out_h {
                for out_x in 0..w.out_w {
                    let Some(acc_px) = pixels.next() else { return };
                    if conv.receptive_field_is_zero(xbytes, self.pad, integral, b, out_y, out_x) {
                        acc_px.iter_mut().for_each(|a| *a = 0.0);
                        continue;
                    }
                    for (block, out) in acc_px.chunks_mut(LANES).enumerate() {
                        let acc = self.pixel::<KH, WORDS>(conv, xbytes, (b, out_y, out_x), block);
                        store_f32(out, _mm512_cvtepi32_ps(acc));
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512vnni")]
    fn pooled_vnni(
        &self,
        cpu: Avx512,
        conv: &ConvFast,
        pool: &Window,
        scratch: &mut ConvFastScratch,
    ) {
        match (conv.shape.window.filter_h, self.words) {
            (3, 1) => self.pooled_sized::<3, 1>(cpu, conv, pool, scratch),
            (5, 2) => self.pooled_sized::<5, 2>(cpu, conv, pool, scratch),
            _ => self.pooled_sized::<0, 0>(cpu, conv, pool, scratch),
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512vnni")]
    fn pooled_sized<const KH: usize, const WORDS: usize>(
        &self,
        _cpu: Avx512,
        conv: &ConvFast,
        pool: &Window,
        scratch: &mut ConvFastScratch,
    ) {
        let w = &conv.shape.window;
        let undilated = w.dilation_h == 1 && w.dilation_w == 1;
        let ConvFastScratch {
            xbytes,
            integral,
            pooled,
            pooled_zero,
            ..
        } = scratch;
        let mut outputs = pooled
            .chunks_exact_mut(conv.o_pad)
            .zip(pooled_zero.iter_mut());
        for b in 0..pool.batches {
            conv.build_integral(xbytes, self.pad, b, integral);
            for out_y in 0..pool.out_h {
                let (fy0, fy1) = pool.clipped_y(out_y);
                for out_x in 0..pool.out_w {
                    let (fx0, fx1) = pool.clipped_x(out_x);
                    let Some((pooled, zero)) = outputs.next() else {
                        return;
                    };
                    // The window's receptive fields together: a rectangle of the padded image, all
                    // padding-valued (background) in most of an MNIST digit.
                    let (cy0, cx0) = (
                        out_y * pool.stride_h + fy0 - pool.pad_h,
                        out_x * pool.stride_w + fx0 - pool.pad_w,
                    );
                    let (cy1, cx1) = (
                        out_y * pool.stride_h + fy1 - pool.pad_h,
                        out_x * pool.stride_w + fx1 - pool.pad_w,
                    );
                    *zero = undilated
                        && conv.rect_is_zero(
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
                    // Integer maxima, converted once (conversion is exact and monotone).
                    for (block, out) in pooled.chunks_mut(LANES).enumerate() {
                        if (cy1 - cy0, cx1 - cx0) == (2, 2) {
                            // The common 2×2 window: four independent sums, interleaved.
                            let [a, b_, c, d] =
                                self.pixels_2x2::<KH, WORDS>(conv, xbytes, (b, cy0, cx0), block);
                            let max =
                                _mm512_max_epi32(_mm512_max_epi32(a, b_), _mm512_max_epi32(c, d));
                            store_f32(out, _mm512_cvtepi32_ps(max));
                            continue;
                        }
                        let mut max = _mm512_set1_epi32(i32::MIN);
                        for y in cy0..cy1 {
                            for x in cx0..cx1 {
                                let acc = self.pixel::<KH, WORDS>(conv, xbytes, (b, y, x), block);
                                max = _mm512_max_epi32(max, acc);
                            }
                        }
                        store_f32(out, _mm512_cvtepi32_ps(max));
                    }
                }
            }
        }
    }
}

/// Batch, row and column of an output pixel.
type Pixel = (usize, usize, usize);

/// Load 64 signed bytes.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_i8(a: &[i8; 64]) -> __m512i {
    // SAFETY: `a` is a reference to 64 initialized bytes; loadu has no alignment requirement.
    unsafe { _mm512_loadu_si512(a.as_ptr().cast()) }
}

/// Load 16 i32.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_i32(a: &[i32; LANES]) -> __m512i {
    // SAFETY: `a` is a reference to 16 initialized i32; loadu has no alignment requirement.
    unsafe { _mm512_loadu_si512(a.as_ptr().cast()) }
}

/// Store the first `out.len()` (at most 16) lanes of `v`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store_f32(out: &mut [f32], v: __m512) {
    let n = out.len().min(LANES);
    let mask = crate::cpu::first16(n);
    // SAFETY: `out` is an exclusive reference to at least `n` floats and the mask writes lanes
    // `0..n` only (masked-off lanes are not accessed); storeu has no alignment requirement.
    unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), mask, v) };
}

#[cfg(test)]
mod tests {
    use crate::cpu::{Avx512, Kernel};
    use crate::interp::kernels::conv2d::fused_pool::portable_pooled;
    use crate::interp::kernels::conv2d::tests::random_shape;
    use crate::interp::kernels::conv2d::{
        ChannelQuant, ConvI8Fast, conv2d_i8_fast, conv2d_i8_max_pool2d_fast,
    };
    use crate::interp::kernels::window::Window;
    use crate::interp::kernels::{Draws, FastCall, Io};
    use crate::rng::Rng;
    use crate::tflite::Padding;

    /// The VNNI build against the portable build of the same kernels (bit for bit), alone and fused
    /// with a 2×2 or random max pool, on random shapes with up to 40 output channels (several
    /// vectors of 16, the last partial).
    #[test]
    fn vnni_builds_match_the_portable_ones() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut r = Rng::new(1616);
        let mut vnni_cases = 0;
        for case in 0..600 {
            let mut s = random_shape(&mut r);
            s.out_c = 1 + r.index(40);
            let zp_in = r.i8();
            let input: Vec<i8> = (0..s.window.in_len(s.in_c))
                .map(|_| if r.index(2) == 0 { zp_in } else { r.i8() })
                .collect();
            let filter: Vec<i8> = (0..s.filter_len()).map(|_| r.i8().max(-127)).collect();
            let bias: Vec<i32> = (0..s.out_c).map(|_| r.u32() as i32 >> 14).collect();
            let q = ChannelQuant {
                input_offset: -(zp_in as i32),
                output_offset: r.i8() as i32,
                multiplier: (0..s.out_c)
                    .map(|_| (1 << 30) + (r.u32() >> 2) as i32)
                    .collect(),
                shift: (0..s.out_c).map(|_| 3 - (r.index(16) as i32)).collect(),
                act_min: -128 + r.index(100) as i32,
                act_max: 127 - r.index(20) as i32,
            };
            let Some((k, mut scratch)) = ConvI8Fast::new(&s, &q, &filter, Some(&bias)) else {
                continue;
            };
            vnni_cases += k.vnni.is_some() as usize;
            let n = s.window.out_len(s.out_c);
            let (mut want, mut got) = (vec![0i8; n], vec![0i8; n]);
            let mut io = Io {
                input: &input,
                scratch: &mut scratch,
                output: &mut want,
            };
            let portable = FastCall {
                kernel: &k,
                args: &mut io,
            };
            portable.run::<false>().unwrap();
            let mut io = Io {
                input: &input,
                scratch: &mut scratch,
                output: &mut got,
            };
            let vnni = FastCall {
                kernel: &k,
                args: &mut io,
            };
            cpu.run(vnni).unwrap();
            assert_eq!(got, want, "case {case}: {s:?}");
            // The dispatcher picks the same build.
            conv2d_i8_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "case {case} dispatched");

            let (ph, pw, stride) = if case % 2 == 0 {
                (2, 2, 2)
            } else {
                (1 + r.index(3), 1 + r.index(3), 1 + r.index(2))
            };
            let Ok(pool) = Window::new(
                "t",
                if case % 4 == 1 {
                    Padding::Same
                } else {
                    Padding::Valid
                },
                s.window.batches,
                (s.window.out_h, s.window.out_w),
                (ph, pw),
                (stride, stride),
                (1, 1),
            ) else {
                continue;
            };
            let pool_act = (-128 + r.index(60) as i32, 127 - r.index(60) as i32);
            scratch.for_pool(&k.conv, &pool);
            let m = pool.out_len(s.out_c);
            let (mut want, mut got) = (vec![0i8; m], vec![0i8; m]);
            portable_pooled(&k, &pool, pool_act, &input, &mut scratch, &mut want).unwrap();
            conv2d_i8_max_pool2d_fast(&k, &pool, pool_act, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "case {case} pooled: {s:?} {pool:?}");
        }
        assert!(vnni_cases > 300, "{vnni_cases}");
    }
}
