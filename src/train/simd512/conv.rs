//! The conv layer's kernels: forward planes, weight gradient, and the rows of im2col.

use std::arch::x86_64::*;

use crate::cpu::Avx512;
#[cfg(doc)]
use crate::train::kernels;

use super::{HALF, LANES, first8, first16, load, load_tail, load8, store, store_tail, store8};

/// One tap's positions of one image: whole vectors of 16, then the vector of 8 the AVX2 kernel has
/// left when its count is odd, then the fewer than 8 positions it leaves to the portable code.
struct TapVectors<'a> {
    sixteens: &'a [[f32; LANES]],
    eight: Option<&'a [f32; HALF]>,
    tail: &'a [f32],
}

/// Output channels per register tile of the AVX2 forward kernel: it covers whole tiles of 6.
const AVX2_OC_TILE: usize = 6;

/// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k w[oc·K + k] · cols[k·R + b·P +
/// p])` for the channels [`crate::train::simd::conv_forward`] covers (whole tiles of 6), at every
/// position, with the bits of that kernel where it covers them (whole vectors of 8 positions) and
/// of the portable code that finishes its work elsewhere: the last positions are summed with
/// separate multiplications and additions, and a ReLU that keeps NaN, as
/// [`kernels::conv_forward_rest`] sums them. Returns how many channels and positions it covered;
/// the caller computes the rest.
#[allow(clippy::too_many_arguments)]
pub fn conv_forward(
    _cpu: Avx512,
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
) -> (usize, usize) {
    let o = bias.len();
    if o == 0 || weights.len() < o || cols.len() < weights.len() / o {
        return (0, 0);
    }
    let oc_done = o / AVX2_OC_TILE * AVX2_OC_TILE;
    let mut oc = 0;
    // SAFETY: `_cpu` proves the CPU has AVX-512F, AVX2 and FMA (see `crate::cpu`).
    unsafe {
        while oc + 2 * AVX2_OC_TILE <= oc_done {
            conv_forward_tile::<12>(cols, b, p, weights, bias, relu, planes, oc);
            oc += 2 * AVX2_OC_TILE;
        }
        if oc < oc_done {
            conv_forward_tile::<6>(cols, b, p, weights, bias, relu, planes, oc);
        }
    }
    (oc_done, p)
}

/// Channels `oc..oc + OC` of [`conv_forward`].
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn conv_forward_tile<const OC: usize>(
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
    oc: usize,
) {
    let o = bias.len();
    let k = weights.len() / o;
    let r = cols.len() / k;
    let eights = p / HALF;
    let (wide, odd) = (eights / 2, eights % 2 == 1);
    // every tap's slice has exactly `wide` vectors of 16, then (when `odd`) one of 8
    let taps: Vec<TapVectors> = cols
        .chunks_exact(r)
        .map(|t| {
            let image = &t[b * p..(b + 1) * p];
            let (sixteens, rest) = image.split_at(wide * LANES);
            TapVectors {
                sixteens: &sixteens.as_chunks::<LANES>().0[..wide],
                eight: rest.first_chunk::<HALF>().filter(|_| odd),
                tail: &image[eights * HALF..],
            }
        })
        .collect();
    // the tile's weights by tap: wt[kk][t] = w[oc + t, kk]
    let wt: Vec<[f32; OC]> = (0..k)
        .map(|kk| std::array::from_fn(|t| weights[(oc + t) * k + kk]))
        .collect();
    let mut tile = planes[oc * p..(oc + OC) * p].chunks_exact_mut(p);
    let mut rows: [&mut [f32]; OC] = std::array::from_fn(|_| tile.next().unwrap_or_default());
    for v in 0..wide {
        let mut acc: [__m512; OC] = std::array::from_fn(|t| _mm512_set1_ps(bias[oc + t]));
        for (tap, w) in taps.iter().zip(&wt) {
            let x = load(&tap.sixteens[v]);
            for (a, &wv) in acc.iter_mut().zip(w) {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(wv), x, *a);
            }
        }
        for (row, a) in rows.iter_mut().zip(&acc) {
            let y = if relu {
                _mm512_max_ps(*a, _mm512_setzero_ps())
            } else {
                *a
            };
            if let Some(dst) = row[v * LANES..].first_chunk_mut::<LANES>() {
                store(dst, y);
            }
        }
    }
    if odd {
        let mut acc: [__m256; OC] = std::array::from_fn(|t| _mm256_set1_ps(bias[oc + t]));
        for (tap, w) in taps.iter().zip(&wt) {
            let Some(eight) = tap.eight else { return };
            let x = load8(eight);
            for (a, &wv) in acc.iter_mut().zip(w) {
                *a = _mm256_fmadd_ps(_mm256_set1_ps(wv), x, *a);
            }
        }
        for (row, a) in rows.iter_mut().zip(&acc) {
            let y = if relu {
                _mm256_max_ps(*a, _mm256_setzero_ps())
            } else {
                *a
            };
            if let Some(dst) = row[wide * LANES..].first_chunk_mut::<HALF>() {
                store8(dst, y);
            }
        }
    }
    if p > eights * HALF {
        // the portable code's arithmetic: a product rounded, then added
        let mut acc: [__m256; OC] = std::array::from_fn(|t| _mm256_set1_ps(bias[oc + t]));
        for (tap, w) in taps.iter().zip(&wt) {
            let x = load_tail(tap.tail);
            for (a, &wv) in acc.iter_mut().zip(w) {
                *a = _mm256_add_ps(*a, _mm256_mul_ps(_mm256_set1_ps(wv), x));
            }
        }
        let zero = _mm256_setzero_ps();
        for (row, a) in rows.iter_mut().zip(&acc) {
            // `a <= 0 → 0` (NaN kept), as the portable code's select
            let y = if relu {
                _mm256_mask_mov_ps(*a, _mm256_cmp_ps_mask::<_CMP_LE_OQ>(*a, zero), zero)
            } else {
                *a
            };
            if let Some(dst) = row.get_mut(eights * HALF..) {
                store_tail(dst, y);
            }
        }
    }
}

/// Taps per weight-gradient tile (the AVX2 kernel's: it covers whole tiles of 3 taps).
const GRAD_K: usize = 3;

/// Adds `Σ_p dY[oc, p] · cols[k, b·P + p]` to `lanes[oc·K + k]` (8 partial sums each) and, with the
/// first tap tile, `Σ_p dY[oc, p]` to `bias[oc]`, for the channels, taps and positions
/// [`crate::train::simd::conv_weight_grad`] covers, with its bits, and for those channels and taps
/// the positions after its vectors too, with the portable code's bits. Channels go in pairs, a
/// pair's two sets of partial sums side by side in one register, three pairs per tile where they
/// fit; a lone last channel runs at 8 lanes. Returns (channels, taps, positions) covered.
pub fn conv_weight_grad(
    _cpu: Avx512,
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    lanes: &mut [[f32; HALF]],
    bias: &mut [[f32; HALF]],
) -> (usize, usize, usize) {
    let o = bias.len();
    if o == 0 || lanes.len() < o || cols.len() < lanes.len() / o {
        return (0, 0, 0);
    }
    // the AVX2 kernel's tiles: channels in threes when they divide evenly, else in pairs
    let oc_tile = if o.is_multiple_of(3) { 3 } else { 2 };
    let k = lanes.len() / o;
    let (oc_done, k_done) = (o / oc_tile * oc_tile, k / GRAD_K * GRAD_K);
    let vectors = p / HALF;
    let taps: Vec<&[[f32; HALF]]> = cols
        .chunks_exact(cols.len() / k)
        .map(|t| &t[b * p..(b + 1) * p].as_chunks::<HALF>().0[..vectors])
        .collect();
    let planes: Vec<&[[f32; HALF]]> = d_planes
        .chunks_exact(p.max(1))
        .take(o)
        .map(|d| &d.as_chunks::<HALF>().0[..vectors])
        .collect();
    if planes.len() < oc_done {
        return (0, 0, 0);
    }
    // the fewer than 8 positions after the vectors, which the AVX2 kernel leaves to the portable code
    let tail = vectors * HALF..p;
    let tap_tails: Vec<&[f32]> = cols
        .chunks_exact(cols.len() / k)
        .map(|t| &t[b * p..(b + 1) * p][tail.clone()])
        .collect();
    let plane_tails: Vec<&[f32]> = d_planes
        .chunks_exact(p.max(1))
        .take(o)
        .map(|d| &d[tail.clone()])
        .collect();
    let grad = Grad {
        taps: &taps,
        planes: &planes,
        tap_tails: &tap_tails,
        plane_tails: &plane_tails,
        k,
        k_done,
    };
    let mut oc = 0;
    // SAFETY: `_cpu` proves the CPU has AVX-512F and DQ, AVX2 and FMA (see `crate::cpu`).
    unsafe {
        while oc_done - oc >= 2 {
            match (oc_done - oc) / 2 {
                1 => grad.pairs::<1>(oc, lanes, bias),
                2 => grad.pairs::<2>(oc, lanes, bias),
                _ => grad.pairs::<3>(oc, lanes, bias),
            }
            oc += 2 * ((oc_done - oc) / 2).min(3);
        }
        if oc < oc_done {
            grad.single(oc, lanes, bias);
        }
    }
    (oc_done, k_done, p)
}

/// What every tile of [`conv_weight_grad`] reads: each tap's and each channel's vectors of 8
/// positions, and the positions after them.
struct Grad<'a> {
    taps: &'a [&'a [[f32; HALF]]],
    planes: &'a [&'a [[f32; HALF]]],
    tap_tails: &'a [&'a [f32]],
    plane_tails: &'a [&'a [f32]],
    k: usize,
    k_done: usize,
}

/// The multiply-adds of one tile of [`Grad::pairs`] over every vector of positions: `acc[c][t] +=
/// d · x` with `d` channels `2c` and `2c + 1` side by side and `x` tap `t` in both halves, and, with
/// `SUMS`, `sums[c] += d`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
fn grad_vectors<const PAIRS: usize, const SUMS: bool>(
    taps: &[&[[f32; HALF]]; GRAD_K],
    planes: &[[&[[f32; HALF]]; 2]; PAIRS],
    acc: &mut [[__m512; GRAD_K]; PAIRS],
    sums: &mut [__m512; PAIRS],
) {
    let vectors = taps[0].len();
    for v in 0..vectors {
        let x: [__m512; GRAD_K] =
            std::array::from_fn(|t| _mm512_broadcast_f32x8(load8(&taps[t][v])));
        for (c, (row, sum)) in acc.iter_mut().zip(sums.iter_mut()).enumerate() {
            let low = load8(&planes[c][0][v]);
            let high = load8(&planes[c][1][v]);
            let d = _mm512_insertf32x8::<1>(_mm512_castps256_ps512(low), high);
            if SUMS {
                *sum = _mm512_add_ps(*sum, d);
            }
            for (a, &xv) in row.iter_mut().zip(&x) {
                *a = _mm512_fmadd_ps(d, xv, *a);
            }
        }
    }
}

/// `dst += v`, 8 lanes.
#[inline]
#[target_feature(enable = "avx")]
fn add_to(dst: &mut [f32; HALF], v: __m256) {
    let sum = _mm256_add_ps(load8(dst), v);
    store8(dst, sum);
}

impl Grad<'_> {
    /// Channels `oc..oc + 2·PAIRS`.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
    fn pairs<const PAIRS: usize>(
        &self,
        oc: usize,
        lanes: &mut [[f32; HALF]],
        bias: &mut [[f32; HALF]],
    ) {
        let (k, vectors) = (self.k, self.taps.first().map_or(0, |t| t.len()));
        // the rows this tile reads, cut to `vectors` once, out of the loops
        let planes: [[&[[f32; HALF]]; 2]; PAIRS] = std::array::from_fn(|c| {
            [
                &self.planes[oc + 2 * c][..vectors],
                &self.planes[oc + 2 * c + 1][..vectors],
            ]
        });
        for kk in (0..self.k_done).step_by(GRAD_K) {
            let taps: [&[[f32; HALF]]; GRAD_K] =
                std::array::from_fn(|t| &self.taps[kk + t][..vectors]);
            let mut acc = [[_mm512_setzero_ps(); GRAD_K]; PAIRS];
            let mut sums = [_mm512_setzero_ps(); PAIRS];
            let first = kk == 0;
            if first {
                grad_vectors::<PAIRS, true>(&taps, &planes, &mut acc, &mut sums);
            } else {
                grad_vectors::<PAIRS, false>(&taps, &planes, &mut acc, &mut sums);
            }
            let halves = |v: __m512| (_mm512_castps512_ps256(v), _mm512_extractf32x8_ps::<1>(v));
            if first {
                for (c, sum) in sums.iter().enumerate() {
                    let (low, high) = halves(*sum);
                    add_to(&mut bias[oc + 2 * c], low);
                    add_to(&mut bias[oc + 2 * c + 1], high);
                }
            }
            for (c, row) in acc.iter().enumerate() {
                for (t, a) in row.iter().enumerate() {
                    let (low, high) = halves(*a);
                    add_to(&mut lanes[(oc + 2 * c) * k + kk + t], low);
                    add_to(&mut lanes[(oc + 2 * c + 1) * k + kk + t], high);
                }
            }
            for channel in oc..oc + 2 * PAIRS {
                self.add_tail(channel, kk, lanes, bias);
            }
        }
    }

    /// The positions after the vectors, for channel `oc` and the tap tile from `kk` (and the bias
    /// with the first): each term added on its own, `lane[j] += d · x` with the product rounded, as
    /// [`kernels::conv_weight_grad_rest`] adds them.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    fn add_tail(&self, oc: usize, kk: usize, lanes: &mut [[f32; HALF]], bias: &mut [[f32; HALF]]) {
        let Some(&d) = self.plane_tails.get(oc).filter(|d| !d.is_empty()) else {
            return;
        };
        let mask = first8(d.len());
        let d = load_tail(d);
        let add = |dst: &mut [f32; HALF], v: __m256| {
            let old = load8(dst);
            store8(dst, _mm256_mask_add_ps(old, mask, old, v));
        };
        if kk == 0 {
            add(&mut bias[oc], d);
        }
        for t in 0..GRAD_K {
            let x = load_tail(self.tap_tails[kk + t]);
            add(&mut lanes[oc * self.k + kk + t], _mm256_mul_ps(d, x));
        }
    }

    /// Channel `oc` alone, 8 lanes (the AVX2 kernel's arithmetic).
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    fn single(&self, oc: usize, lanes: &mut [[f32; HALF]], bias: &mut [[f32; HALF]]) {
        let k = self.k;
        for kk in (0..self.k_done).step_by(GRAD_K) {
            let mut acc = [_mm256_setzero_ps(); GRAD_K];
            let mut sum = _mm256_setzero_ps();
            let first = kk == 0;
            for (v, dv) in self.planes[oc].iter().enumerate() {
                let d = load8(dv);
                if first {
                    sum = _mm256_add_ps(sum, d);
                }
                for (t, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(d, load8(&self.taps[kk + t][v]), *a);
                }
            }
            if first {
                add_to(&mut bias[oc], sum);
            }
            for (t, a) in acc.iter().enumerate() {
                add_to(&mut lanes[oc * k + kk + t], *a);
            }
            self.add_tail(oc, kk, lanes, bias);
        }
    }
}

/// `dst`'s rows of `width` floats copied from rows `stride` floats apart in `src` (row `y` from
/// `src[y·stride..][..width]`), 16 floats per masked move: an image's rows into one tap of the conv's
/// im2col matrix, where `copy_from_slice` would call `memmove` once per short row. Returns false,
/// doing nothing, if `width` is 0 or `src` is too short for `dst.len() / width` rows.
pub fn copy_rows(_cpu: Avx512, dst: &mut [f32], src: &[f32], width: usize, stride: usize) -> bool {
    let rows = dst.len() / width.max(1);
    if width == 0 || rows == 0 || src.len() < (rows - 1) * stride + width {
        return rows == 0 && width > 0;
    }
    // SAFETY: `_cpu` proves the CPU has AVX-512F (see `crate::cpu`).
    unsafe { copy_rows_512(dst, src, width, stride) };
    true
}

/// [`copy_rows`] compiled for the vector features.
#[target_feature(enable = "avx512f")]
fn copy_rows_512(dst: &mut [f32], src: &[f32], width: usize, stride: usize) {
    for (y, row) in dst.chunks_exact_mut(width).enumerate() {
        let from = &src[y * stride..y * stride + width];
        for (d, s) in row.chunks_mut(LANES).zip(from.chunks(LANES)) {
            let mask = first16(s.len().min(d.len()));
            // SAFETY: the masked load reads, and the masked store writes, only the first
            // `min(s.len(), d.len())` (at most 16) floats from each pointer, inside `s` and inside
            // `d` (exclusive); masked-off lanes are not accessed.
            unsafe {
                let v = _mm512_maskz_loadu_ps(mask, s.as_ptr());
                _mm512_mask_storeu_ps(d.as_mut_ptr(), mask, v);
            }
        }
    }
}
