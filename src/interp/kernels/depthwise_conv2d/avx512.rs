//! The fast depthwise convolutions' AVX-512 builds (float32 and int8), for CPUs with the [`Avx512`]
//! tier. Same results, bit for bit, as the portable twins in [`super`] (compared on random shapes in
//! the tests below).
//!
//! Lanes are output channels, 16 per vector (`O_pad` = O rounded up to 16). The input is first copied
//! into a padded image `[N][HP][WP][O_pad]` already expanded to output channels (lane `o` holds input
//! channel `o / M`), with 0 in the border and in the lanes past O; the filter is kept as
//! `[KH·KW][O_pad]`. Every tap of every window then lies in the image, so the sums run without
//! branches: four output pixels of a row at a time (their chains of additions overlap), each tap one
//! vector load of the image and one multiply-add with the tap's filter vector.
//!
//! A border tap adds `0 · w`, where the reference skips the tap:
//! - int8: the image holds `x − zp` (multiplied as an i16, see [`DwVector::new_i8`]), so the
//!   border's 0 adds exactly nothing to the wrapping i32 sum (`vpdpwssd` wraps, it does not
//!   saturate).
//! - float32: the products are rounded and added separately, in the reference's tap order, from +0.
//!   Such a sum is never −0 (round-to-nearest gives +0 for exact cancellation, and +0 + −0 = +0), and
//!   adding ±0 to a value that is not −0 leaves it unchanged (NaN included), so border taps change
//!   nothing as long as `0 · w` is a zero: the filter must be finite ([`DwVector::new_f32`] checks).
//!
//! The padded image's border and its lanes past O are written once, when the scratch is made, and
//! never again: each call overwrites only the image's interior channels.

use std::arch::x86_64::*;

use super::DepthwiseShape;
use crate::cpu::Avx512;
use crate::error::Result;
use crate::interp::kernels::check_len;
use crate::interp::kernels::conv2d::MAX_FAST_SCRATCH;
use crate::interp::kernels::requant::RequantLanes;

/// Output channels per vector.
const LANES: usize = 16;

/// Output pixels summed together along a row.
const GROUP: usize = 4;

/// The geometry and the filter (and the float bias) in the vector layout.
#[derive(Clone, Debug, PartialEq)]
pub struct DwVector<T> {
    /// O rounded up to a multiple of 16.
    o_pad: usize,
    /// Rows and columns of the padded image.
    hp: usize,
    wp: usize,
    /// `[KH·KW][O_pad]`, 0 past O.
    filter: Vec<T>,
    /// `[O_pad]` (float only; 0 past O, and everywhere without a bias).
    bias: Vec<T>,
    /// How each block of 16 output lanes is gathered from an input pixel.
    expand: Vec<Expand>,
}

/// The input channels of a block of 16 output lanes: lane `o` of block `b` takes input channel
/// `(16·b + o) / M`, all within the 16 channels from `first` on.
#[derive(Clone, Debug, PartialEq)]
struct Expand {
    /// The block's first input channel.
    first: usize,
    /// Input channels read from `first` on (at most 16, none past C).
    read: usize,
    /// Output lanes written (at most 16, none past O).
    write: usize,
    /// Per lane, its input channel minus `first`.
    index: [i32; LANES],
}

impl<T: Copy + Default> DwVector<T> {
    /// The layout for `s` with `filter` (`[KH·KW][O]`) and `bias` (`[O]`, or empty); `None` when the
    /// padded image would exceed [`MAX_FAST_SCRATCH`] elements (or its size overflows).
    fn new(s: &DepthwiseShape, filter: &[T], bias: &[T]) -> Option<DwVector<T>> {
        let w = &s.window;
        let (c, m, o) = (s.in_c, s.multiplier, s.out_c());
        if o == 0 || m == 0 || w.filter_h == 0 || w.filter_w == 0 || filter.len() != s.filter_len()
        {
            return None;
        }
        let o_pad = o.div_ceil(LANES).checked_mul(LANES)?;
        // Rows/columns the windows reach: (out − 1)·stride + (k − 1)·dilation + 1, at least the image
        // and its leading padding.
        let reach = |out: usize, stride: usize, filter: usize, dilation: usize, image: usize| {
            let span = (out.max(1) - 1)
                .checked_mul(stride)?
                .checked_add(filter.checked_sub(1)?.checked_mul(dilation)?)?
                .checked_add(1)?;
            Some(span.max(image))
        };
        let hp = reach(
            w.out_h,
            w.stride_h,
            w.filter_h,
            w.dilation_h,
            w.in_h.checked_add(w.pad_h)?,
        )?;
        let wp = reach(
            w.out_w,
            w.stride_w,
            w.filter_w,
            w.dilation_w,
            w.in_w.checked_add(w.pad_w)?,
        )?;
        let len = [w.batches, hp, wp, o_pad]
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))?;
        if len > MAX_FAST_SCRATCH {
            return None;
        }
        let mut vf = vec![T::default(); w.filter_h * w.filter_w * o_pad];
        for (dst, src) in vf.chunks_exact_mut(o_pad).zip(filter.chunks_exact(o)) {
            dst[..o].copy_from_slice(src);
        }
        let mut vb = vec![T::default(); o_pad];
        if bias.len() == o {
            vb[..o].copy_from_slice(bias);
        }
        let expand = (0..o_pad / LANES)
            .map(|block| {
                let first = block * LANES / m;
                let mut index = [0i32; LANES];
                for (lane, i) in index.iter_mut().enumerate() {
                    // At most 15 (lanes past O read channel `first`, and are not written).
                    *i = ((block * LANES + lane) / m - first).min(LANES - 1) as i32;
                }
                Expand {
                    first,
                    read: (c - first).min(LANES),
                    write: (o - block * LANES).min(LANES),
                    index,
                }
            })
            .collect();
        Some(DwVector {
            o_pad,
            hp,
            wp,
            filter: vf,
            bias: vb,
            expand,
        })
    }

    /// Elements of the padded image (the scratch the kernel needs, made all 0).
    pub(super) fn image_len(&self, s: &DepthwiseShape) -> usize {
        s.window.batches * self.hp * self.wp * self.o_pad
    }

    /// Elements of an image row that the taps of one filter row read for `P` output pixels of a row
    /// and one block of 16 channels, from the first pixel's first tap on.
    #[inline(always)]
    fn span<const P: usize>(&self, s: &DepthwiseShape) -> usize {
        let w = &s.window;
        ((P - 1) * w.stride_w + (w.filter_w - 1) * w.dilation_w) * self.o_pad + LANES
    }

    /// The interior of the padded image as `[N·H·W][O_pad]` pixels, with the checks of the input
    /// and the image: each input pixel is gathered into its image pixel by the caller.
    fn interior<'i, X>(
        &self,
        s: &DepthwiseShape,
        input: &'i [X],
        image: &'i mut [T],
    ) -> Result<impl Iterator<Item = (&'i [X], &'i mut [T])>> {
        let w = &s.window;
        let c = s.in_c;
        check_len("DEPTHWISE_CONV_2D", "input", input.len(), w.in_len(c))?;
        check_len(
            "DEPTHWISE_CONV_2D",
            "padded image",
            image.len(),
            self.image_len(s),
        )?;
        let (o_pad, hp, wp) = (self.o_pad, self.hp, self.wp);
        let (pad_h, pad_w, in_h, in_w) = (w.pad_h, w.pad_w, w.in_h, w.in_w);
        // Image rows: batch b's row y + pad_h holds input row y, from column pad_w on.
        let rows = image
            .chunks_exact_mut(wp * o_pad)
            .enumerate()
            .filter(move |(r, _)| (pad_h..pad_h + in_h).contains(&(r % hp)))
            .flat_map(move |(_, row)| row[pad_w * o_pad..][..in_w * o_pad].chunks_exact_mut(o_pad));
        Ok(input.chunks_exact(c.max(1)).zip(rows))
    }

    /// The checks both kernels make before their unchecked-geometry loops.
    fn check_io<Y>(&self, s: &DepthwiseShape, image: &[T], output: &[Y]) -> Result<()> {
        let w = &s.window;
        check_len(
            "DEPTHWISE_CONV_2D",
            "output",
            output.len(),
            w.out_len(s.out_c()),
        )?;
        check_len(
            "DEPTHWISE_CONV_2D",
            "padded image",
            image.len(),
            self.image_len(s),
        )?;
        check_len(
            "DEPTHWISE_CONV_2D",
            "filter",
            self.filter.len(),
            w.filter_h * w.filter_w * self.o_pad,
        )?;
        check_len("DEPTHWISE_CONV_2D", "bias", self.bias.len(), self.o_pad)
    }
}

impl DwVector<i32> {
    /// For an int8 depthwise convolution with `filter` (`[KH·KW][O]`) and the input offset (−zp);
    /// `None` unless `x − zp` fits an i16 for every int8 `x` (|offset| ≤ 255), or per [`Self::new`].
    ///
    /// Image lanes hold `x − zp` as i32, so their low halves hold it as an i16; filter lanes hold
    /// `w` as an i16 in their low half and 0 in their high one. `vpdpwssd` adds to each accumulator
    /// lane the two 16-bit products of the lane's halves: `(x − zp) · w + high · 0`, exactly the tap.
    pub(super) fn new_i8(
        s: &DepthwiseShape,
        filter: &[i8],
        input_offset: i32,
    ) -> Option<DwVector<i32>> {
        if !(-255..=255).contains(&input_offset) {
            return None;
        }
        let filter: Vec<i32> = filter.iter().map(|&v| low_half(v as i32)).collect();
        DwVector::new(s, &filter, &[])
    }

    /// Fill the image from `input` and write the requantized output.
    #[inline(always)]
    pub(super) fn run_i8(
        &self,
        _cpu: Avx512,
        s: &DepthwiseShape,
        (lanes, input_offset): (&RequantLanes, i32),
        input: &[i8],
        image: &mut [i32],
        output: &mut [i8],
    ) -> Result<()> {
        self.fill_i8(_cpu, s, input_offset, input, image)?;
        self.check_io(s, image, output)?;
        check_len(
            "DEPTHWISE_CONV_2D",
            "requantization blocks",
            lanes.vector_blocks().len(),
            self.o_pad / LANES,
        )?;
        // SAFETY: `_cpu` proves the CPU has AVX-512 F, BW, VL and VNNI (see `crate::cpu`).
        unsafe { self.conv_i8(s, lanes, image, output) };
        Ok(())
    }

    /// Copy `input` into the image interior: lane `o` gets `x[o / M] − zp`.
    #[inline(always)]
    fn fill_i8(
        &self,
        _cpu: Avx512,
        s: &DepthwiseShape,
        input_offset: i32,
        input: &[i8],
        image: &mut [i32],
    ) -> Result<()> {
        for (src, dst) in self.interior(s, input, image)? {
            // SAFETY: `_cpu` proves the CPU has AVX-512 F, BW and VL (see `crate::cpu`).
            unsafe { self.gather_i8(input_offset, src, dst) };
        }
        Ok(())
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn gather_i8(&self, input_offset: i32, src: &[i8], dst: &mut [i32]) {
        let offset = _mm512_set1_epi32(input_offset);
        for (e, dst) in self.expand.iter().zip(dst.chunks_exact_mut(LANES)) {
            let Some(src) = src.get(e.first..e.first + e.read) else {
                return;
            };
            let k_in = ((1u32 << e.read) - 1) as u16;
            // SAFETY: the mask reads lanes `0..read` only, all within `src`.
            let x = unsafe { _mm_maskz_loadu_epi8(k_in, src.as_ptr().cast()) };
            let x = _mm512_add_epi32(_mm512_cvtepi8_epi32(x), offset);
            let x = _mm512_permutexvar_epi32(load_i32(&e.index), x);
            let k_out = ((1u32 << e.write) - 1) as u16;
            // SAFETY: `dst` holds 16 i32; the mask writes lanes `0..write` only.
            unsafe { _mm512_mask_storeu_epi32(dst.as_mut_ptr().cast(), k_out, x) };
        }
    }

    /// The sums of `P` output pixels `(b, out_y, out_x + p)` for channels `block·16 ..`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vnni")]
    fn sums_i8<const P: usize>(
        &self,
        s: &DepthwiseShape,
        image: &[i32],
        (b, out_y, out_x): (usize, usize, usize),
        block: usize,
    ) -> [__m512i; P] {
        let w = &s.window;
        let mut acc = [_mm512_setzero_si512(); P];
        let (o_pad, step) = (self.o_pad, w.stride_w * self.o_pad);
        let span = self.span::<P>(s);
        for filter_y in 0..w.filter_h {
            let start = ((b * self.hp + out_y * w.stride_h + filter_y * w.dilation_h) * self.wp
                + out_x * w.stride_w)
                * o_pad
                + block * LANES;
            // Hoisted and bounds-checked once: the image row the P windows' taps of this filter row
            // read, and the filter row.
            let row = &image[start..][..span];
            let filters = &self.filter[filter_y * w.filter_w * o_pad + block * LANES..]
                [..(w.filter_w - 1) * o_pad + LANES];
            for filter_x in 0..w.filter_w {
                let f = load_i32(&filters[filter_x * o_pad..]);
                let at = filter_x * w.dilation_w * o_pad;
                for (p, a) in acc.iter_mut().enumerate() {
                    // SAFETY: at + p·step + 16 ≤ (filter_w − 1)·dilation_w·O_pad + (P − 1)·step + 16
                    // = span, the length of `row`; loadu has no alignment requirement.
                    let x = unsafe { _mm512_loadu_si512(row.as_ptr().add(at + p * step).cast()) };
                    *a = _mm512_dpwssd_epi32(*a, x, f);
                }
            }
        }
        acc
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    fn conv_i8(&self, s: &DepthwiseShape, lanes: &RequantLanes, image: &[i32], output: &mut [i8]) {
        let w = &s.window;
        let o = s.out_c();
        let all = (i32::MIN, i32::MAX);
        for b in 0..w.batches {
            for out_y in 0..w.out_h {
                let mut out_x = 0;
                while out_x < w.out_w {
                    let group = if out_x + GROUP <= w.out_w { GROUP } else { 1 };
                    for (block, rb) in lanes.vector_blocks().iter().enumerate() {
                        let first = ((b * w.out_h + out_y) * w.out_w + out_x) * o + block * LANES;
                        let n = (o - block * LANES).min(LANES);
                        if group == GROUP {
                            let acc = self.sums_i8::<GROUP>(s, image, (b, out_y, out_x), block);
                            for (p, &a) in acc.iter().enumerate() {
                                let v = lanes.requantize_block(rb, a, all);
                                store_i8(&mut output[first + p * o..][..n], v);
                            }
                        } else {
                            let [a] = self.sums_i8::<1>(s, image, (b, out_y, out_x), block);
                            let v = lanes.requantize_block(rb, a, all);
                            store_i8(&mut output[first..][..n], v);
                        }
                    }
                    out_x += group;
                }
            }
        }
    }
}

impl DwVector<f32> {
    /// For a float32 depthwise convolution with `filter` (`[KH·KW][O]`) and `bias` (`[O]`, or empty
    /// for none); `None` unless every weight is finite (see the module notes), or per [`Self::new`].
    pub(super) fn new_f32(
        s: &DepthwiseShape,
        filter: &[f32],
        bias: &[f32],
    ) -> Option<DwVector<f32>> {
        if !filter.iter().all(|v| v.is_finite()) {
            return None;
        }
        DwVector::new(s, filter, bias)
    }

    /// Fill the image from `input` and write the clamped output.
    #[inline(always)]
    pub(super) fn run_f32(
        &self,
        _cpu: Avx512,
        s: &DepthwiseShape,
        act: (f32, f32),
        input: &[f32],
        image: &mut [f32],
        output: &mut [f32],
    ) -> Result<()> {
        self.fill_f32(_cpu, s, input, image)?;
        self.check_io(s, image, output)?;
        // SAFETY: `_cpu` proves the CPU has AVX-512 F (see `crate::cpu`).
        unsafe { self.conv_f32(s, act, image, output) };
        Ok(())
    }

    /// Copy `input` into the image interior: lane `o` gets `x[o / M]`.
    #[inline(always)]
    fn fill_f32(
        &self,
        _cpu: Avx512,
        s: &DepthwiseShape,
        input: &[f32],
        image: &mut [f32],
    ) -> Result<()> {
        for (src, dst) in self.interior(s, input, image)? {
            // SAFETY: `_cpu` proves the CPU has AVX-512 F (see `crate::cpu`).
            unsafe { self.gather_f32(src, dst) };
        }
        Ok(())
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn gather_f32(&self, src: &[f32], dst: &mut [f32]) {
        for (e, dst) in self.expand.iter().zip(dst.chunks_exact_mut(LANES)) {
            let Some(src) = src.get(e.first..e.first + e.read) else {
                return;
            };
            let k_in = ((1u32 << e.read) - 1) as u16;
            // SAFETY: the mask reads lanes `0..read` only, all within `src`.
            let x = unsafe { _mm512_maskz_loadu_ps(k_in, src.as_ptr()) };
            let x = _mm512_permutexvar_ps(load_i32(&e.index), x);
            let k_out = ((1u32 << e.write) - 1) as u16;
            // SAFETY: `dst` holds 16 f32; the mask writes lanes `0..write` only.
            unsafe { _mm512_mask_storeu_ps(dst.as_mut_ptr(), k_out, x) };
        }
    }

    /// The sums of `P` output pixels `(b, out_y, out_x + p)` for channels `block·16 ..`: each tap's
    /// product rounded, then added, in the reference's tap order.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sums_f32<const P: usize>(
        &self,
        s: &DepthwiseShape,
        image: &[f32],
        (b, out_y, out_x): (usize, usize, usize),
        block: usize,
    ) -> [__m512; P] {
        let w = &s.window;
        let mut acc = [_mm512_setzero_ps(); P];
        let (o_pad, step) = (self.o_pad, w.stride_w * self.o_pad);
        let span = self.span::<P>(s);
        for filter_y in 0..w.filter_h {
            let start = ((b * self.hp + out_y * w.stride_h + filter_y * w.dilation_h) * self.wp
                + out_x * w.stride_w)
                * o_pad
                + block * LANES;
            // Hoisted and bounds-checked once, as in `sums_i8`.
            let row = &image[start..][..span];
            let filters = &self.filter[filter_y * w.filter_w * o_pad + block * LANES..]
                [..(w.filter_w - 1) * o_pad + LANES];
            for filter_x in 0..w.filter_w {
                let f = load_f32(&filters[filter_x * o_pad..]);
                let at = filter_x * w.dilation_w * o_pad;
                for (p, a) in acc.iter_mut().enumerate() {
                    // SAFETY: at + p·step + 16 ≤ span, the length of `row` (see `sums_i8`).
                    let x = unsafe { _mm512_loadu_ps(row.as_ptr().add(at + p * step)) };
                    *a = _mm512_add_ps(*a, _mm512_mul_ps(x, f));
                }
            }
        }
        acc
    }

    /// `clamp_f32(acc + bias, lo, hi)`, lane for lane.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn finish(&self, acc: __m512, block: usize, (lo, hi): (__m512, __m512)) -> __m512 {
        let y = _mm512_add_ps(acc, load_f32(&self.bias[block * LANES..]));
        // (y < lo) ? lo : y, then (hi < y) ? hi : y: ordered comparisons, so a NaN stays.
        let y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(y, lo), y, lo);
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(hi, y), y, hi)
    }

    #[target_feature(enable = "avx512f")]
    fn conv_f32(&self, s: &DepthwiseShape, act: (f32, f32), image: &[f32], output: &mut [f32]) {
        let w = &s.window;
        let o = s.out_c();
        let bounds = (_mm512_set1_ps(act.0), _mm512_set1_ps(act.1));
        let blocks = self.o_pad / LANES;
        for b in 0..w.batches {
            for out_y in 0..w.out_h {
                let mut out_x = 0;
                while out_x < w.out_w {
                    let group = if out_x + GROUP <= w.out_w { GROUP } else { 1 };
                    for block in 0..blocks {
                        let first = ((b * w.out_h + out_y) * w.out_w + out_x) * o + block * LANES;
                        let n = (o - block * LANES).min(LANES);
                        if group == GROUP {
                            let acc = self.sums_f32::<GROUP>(s, image, (b, out_y, out_x), block);
                            for (p, &a) in acc.iter().enumerate() {
                                let v = self.finish(a, block, bounds);
                                store_f32(&mut output[first + p * o..][..n], v);
                            }
                        } else {
                            let [a] = self.sums_f32::<1>(s, image, (b, out_y, out_x), block);
                            let v = self.finish(a, block, bounds);
                            store_f32(&mut output[first..][..n], v);
                        }
                    }
                    out_x += group;
                }
            }
        }
    }
}

/// The bits of the i16 `v` (an int8 weight) in the low half of an i32, 0 in the high half.
#[inline(always)]
fn low_half(v: i32) -> i32 {
    v as i16 as u16 as i32
}

/// The first 16 i32 of `s` (bounds-checked).
#[inline]
#[target_feature(enable = "avx512f")]
fn load_i32(s: &[i32]) -> __m512i {
    let s = &s[..LANES];
    // SAFETY: `s` holds 16 initialized i32; loadu has no alignment requirement.
    unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
}

/// The first 16 f32 of `s` (bounds-checked).
#[inline]
#[target_feature(enable = "avx512f")]
fn load_f32(s: &[f32]) -> __m512 {
    let s = &s[..LANES];
    // SAFETY: `s` holds 16 initialized f32; loadu has no alignment requirement.
    unsafe { _mm512_loadu_ps(s.as_ptr()) }
}

/// Narrow the lanes of `v` (each within int8) and store the first `out.len()` (at most 16).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn store_i8(out: &mut [i8], v: __m512i) {
    let k = ((1u32 << out.len().min(LANES)) - 1) as u16;
    // SAFETY: the mask writes lanes `0..out.len()` only, all within `out`.
    unsafe { _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().cast(), k, v) };
}

/// Store the first `out.len()` (at most 16) lanes of `v`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store_f32(out: &mut [f32], v: __m512) {
    let k = ((1u32 << out.len().min(LANES)) - 1) as u16;
    // SAFETY: the mask writes lanes `0..out.len()` only, all within `out`.
    unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), k, v) };
}

#[cfg(test)]
mod tests {
    use super::super::{
        DepthwiseFast, DepthwiseShape, depthwise_conv2d_f32, depthwise_conv2d_f32_fast,
        depthwise_conv2d_i8, depthwise_conv2d_i8_fast,
    };
    use crate::cpu::{Avx512, Kernel};
    use crate::interp::kernels::conv2d::ChannelQuant;
    use crate::interp::kernels::window::Window;
    use crate::interp::kernels::{Draws, FastCall, Io};
    use crate::rng::Rng;
    use crate::tflite::Padding;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|v| v.to_bits()).collect()
    }

    /// The AVX-512 builds against the portable builds of the same prepared kernels (and the reference
    /// kernels) on random shapes: batches, image sizes, 1×1 to 5×5 filters, strides 1 to 3, dilations
    /// 1 and 2, SAME and VALID, 1 to 40 input channels (partial and several blocks of 16), depth
    /// multipliers 1 to 4, with and without bias, activation ranges; float inputs with NaN, infinities
    /// and −0 now and then.
    #[test]
    fn matches_the_portable_builds() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut r = Rng::new(29);
        let (mut f32_cases, mut i8_cases) = (0, 0);
        for case in 0..600 {
            let padding = if r.index(2) == 0 {
                Padding::Same
            } else {
                Padding::Valid
            };
            let Ok(window) = Window::new(
                "t",
                padding,
                1 + r.index(2),
                (1 + r.index(12), 1 + r.index(12)),
                (1 + r.index(5), 1 + r.index(5)),
                (1 + r.index(3), 1 + r.index(3)),
                (1 + r.index(2), 1 + r.index(2)),
            ) else {
                continue;
            };
            let s = DepthwiseShape {
                window,
                in_c: 1 + r.index(if case % 3 == 0 { 40 } else { 12 }),
                multiplier: 1 + r.index(4),
            };
            let o = s.out_c();
            let with_bias = case % 4 != 0;

            // float32
            let mut input: Vec<f32> = (0..s.window.in_len(s.in_c))
                .map(|_| r.u32() as f32 / 7e8 - 3.0)
                .collect();
            if case % 5 == 0 {
                for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0] {
                    let i = r.index(input.len());
                    input[i] = special;
                }
            }
            let filter: Vec<f32> = (0..s.filter_len())
                .map(|_| r.u32() as f32 / 3e9 - 0.7)
                .collect();
            let bias: Vec<f32> = (0..o).map(|_| r.u32() as f32 / 4e9 - 0.5).collect();
            let act = match case % 3 {
                0 => (f32::MIN, f32::MAX),
                1 => (0.0, 6.0),
                _ => (-1.5, 1.0),
            };
            let bias_opt = with_bias.then_some(&bias[..]);
            let mut want = vec![0.0f32; s.window.out_len(o)];
            depthwise_conv2d_f32(&s, &input, &filter, bias_opt, act, &mut want).unwrap();
            let (k, mut scratch) = DepthwiseFast::new_f32(&s, &filter, bias_opt, act).unwrap();
            f32_cases += k.vector.is_some() as usize;
            let mut portable = vec![0.0f32; want.len()];
            let call = FastCall {
                kernel: &k,
                args: &mut Io {
                    input: &input,
                    scratch: &mut scratch,
                    output: &mut portable,
                },
            };
            call.run::<false>().unwrap();
            assert_eq!(bits(&portable), bits(&want), "f32 case {case}: {s:?}");
            let mut got = vec![0.0f32; want.len()];
            // Twice: the second call reuses the padded image.
            for _ in 0..2 {
                let call = FastCall {
                    kernel: &k,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut scratch,
                        output: &mut got,
                    },
                };
                cpu.run(call).unwrap();
                assert_eq!(bits(&got), bits(&want), "f32 case {case}: {s:?}");
            }
            depthwise_conv2d_f32_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(bits(&got), bits(&want), "f32 case {case} dispatched");

            // int8
            let zp = r.index(256) as i32 - 128;
            let input: Vec<i8> = (0..s.window.in_len(s.in_c)).map(|_| r.i8()).collect();
            let filter: Vec<i8> = (0..s.filter_len()).map(|_| r.i8()).collect();
            let bias: Vec<i32> = (0..o).map(|_| (r.u32() % 200001) as i32 - 100000).collect();
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
            i8_cases += k.vector.is_some() as usize;
            let mut portable = vec![0i8; want.len()];
            let call = FastCall {
                kernel: &k,
                args: &mut Io {
                    input: &input,
                    scratch: &mut scratch,
                    output: &mut portable,
                },
            };
            call.run::<false>().unwrap();
            assert_eq!(portable, want, "i8 case {case}: {s:?}");
            let mut got = vec![0i8; want.len()];
            for _ in 0..2 {
                let call = FastCall {
                    kernel: &k,
                    args: &mut Io {
                        input: &input,
                        scratch: &mut scratch,
                        output: &mut got,
                    },
                };
                cpu.run(call).unwrap();
                assert_eq!(got, want, "i8 case {case}: {s:?}");
            }
            depthwise_conv2d_i8_fast(&k, &input, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "i8 case {case} dispatched");
        }
        assert!(f32_cases > 400 && i8_cases > 400, "{f32_cases} {i8_cases}");
    }

    /// A non-finite weight keeps the float kernel on the AVX2 build (`0 · ∞` would be NaN where the
    /// reference skips the tap), with the same results.
    #[test]
    fn non_finite_filter_takes_the_avx2_build() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let s = DepthwiseShape {
            window: Window::new("t", Padding::Same, 1, (3, 3), (3, 3), (1, 1), (1, 1)).unwrap(),
            in_c: 2,
            multiplier: 1,
        };
        let mut filter = vec![0.5f32; s.filter_len()];
        filter[0] = f32::INFINITY;
        let input = vec![1.0f32; s.window.in_len(2)];
        let (k, mut scratch) =
            DepthwiseFast::new_f32(&s, &filter, None, (f32::MIN, f32::MAX)).unwrap();
        assert!(k.vector.is_none());
        let mut want = vec![0.0f32; s.window.out_len(2)];
        depthwise_conv2d_f32(&s, &input, &filter, None, (f32::MIN, f32::MAX), &mut want).unwrap();
        let mut got = vec![0.0f32; want.len()];
        let call = FastCall {
            kernel: &k,
            args: &mut Io {
                input: &input,
                scratch: &mut scratch,
                output: &mut got,
            },
        };
        cpu.run(call).unwrap();
        assert_eq!(bits(&got), bits(&want));
    }
}
