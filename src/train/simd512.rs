//! AVX-512 builds of the trainer's conv forward planes, conv weight gradient and 2×2 max pool, picked
//! at run time by the layers when the CPU has the [`Avx512`] tier. They give the same bits as the
//! AVX2 kernels of simd.rs, not merely close ones: a model trained from a seed is the same on every
//! x86-64 CPU with AVX2, with or without AVX-512 (the site's default model is trained when the site is
//! built, on whatever machine builds it).
//!
//! How each keeps the AVX2 kernel's arithmetic:
//! - conv forward: a lane is one output position, summed from the bias through the taps in order with
//!   fused multiply-adds, whatever the vector's width. 16 positions per vector, then one vector of 8
//!   where the AVX2 kernel has an odd one left; the channels covered are the AVX2 kernel's. The
//!   fewer than 8 positions it leaves to the portable code are summed here with the portable code's
//!   arithmetic (products rounded, then added), masked.
//! - conv weight gradient: the AVX2 kernel keeps 8 partial sums per (channel, tap), lane `j` summing
//!   the positions `≡ j (mod 8)` in order. Here a 512-bit register holds two channels' 8 partial sums
//!   side by side (the positions are not widened), so each sum sees the same terms in the same order,
//!   and the channels and taps covered are the AVX2 kernel's; the last positions are added term by
//!   term as the portable code adds them.
//! - max pool: maxima and their indices are exact; 16 windows per step, the last step of a row masked.
//!
//! Vectors are loaded from and stored to arrays (`&[f32; 16]`, `&[f32; 8]`), so every memory access is
//! checked by the slice that produced the array; the `unsafe` blocks in the load and store helpers
//! only turn those references into pointers, and the pool's masked loads and stores touch only lanes
//! inside the slices they are given.

use std::arch::x86_64::*;

use crate::cpu::Avx512;
#[cfg(doc)]
use crate::train::kernels;
use crate::train::simd;

/// Floats per AVX-512 vector.
const LANES: usize = 16;

/// Floats per AVX vector: the AVX2 kernels' width, and so the width of the gradient's partial sums.
const HALF: usize = 8;

/// Load 16 floats.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(a: &[f32; LANES]) -> __m512 {
    // SAFETY: `a` is a reference to 16 initialized floats; loadu has no alignment requirement.
    unsafe { _mm512_loadu_ps(a.as_ptr()) }
}

/// Store 16 floats.
#[inline]
#[target_feature(enable = "avx512f")]
fn store(a: &mut [f32; LANES], v: __m512) {
    // SAFETY: `a` is an exclusive reference to 16 floats; storeu has no alignment requirement.
    unsafe { _mm512_storeu_ps(a.as_mut_ptr(), v) }
}

/// Load 8 floats.
#[inline]
#[target_feature(enable = "avx")]
fn load8(a: &[f32; HALF]) -> __m256 {
    // SAFETY: `a` is a reference to 8 initialized floats; loadu has no alignment requirement.
    unsafe { _mm256_loadu_ps(a.as_ptr()) }
}

/// Store 8 floats.
#[inline]
#[target_feature(enable = "avx")]
fn store8(a: &mut [f32; HALF], v: __m256) {
    // SAFETY: `a` is an exclusive reference to 8 floats; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) }
}

/// One tap's positions of one image: whole vectors of 16, then the vector of 8 the AVX2 kernel has
/// left when its count is odd, then the fewer than 8 positions it leaves to the portable code.
struct TapVectors<'a> {
    sixteens: &'a [[f32; LANES]],
    eight: Option<&'a [f32; HALF]>,
    tail: &'a [f32],
}

/// A mask of the first `n` (≤ 8) lanes of an 8-lane vector.
#[inline]
fn first8(n: usize) -> __mmask8 {
    if n >= HALF { u8::MAX } else { (1u8 << n) - 1 }
}

/// The first `a.len()` (< 8) floats of `a` in a vector, the other lanes zero.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn load_tail(a: &[f32]) -> __m256 {
    // SAFETY: the masked load reads only the lanes its mask sets, the first `a.len()` (at most 8)
    // floats from the pointer, all inside `a`; masked-off lanes are not accessed.
    unsafe { _mm256_maskz_loadu_ps(first8(a.len()), a.as_ptr()) }
}

/// Store the first `a.len()` (< 8) lanes of `v` into `a`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn store_tail(a: &mut [f32], v: __m256) {
    // SAFETY: the masked store writes only the lanes its mask sets, the first `a.len()` (at most 8)
    // floats from the pointer, all inside `a`, which is exclusive.
    unsafe { _mm256_mask_storeu_ps(a.as_mut_ptr(), first8(a.len()), v) }
}

/// Output channels per register tile of the AVX2 forward kernel: it covers whole tiles of 6.
const AVX2_OC_TILE: usize = 6;

/// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k w[oc·K + k] · cols[k·R + b·P + p])`
/// for the channels [`super::simd::conv_forward`] covers (whole tiles of 6), at every position, with
/// the bits of that kernel where it covers them (whole vectors of 8 positions) and of the portable
/// code that finishes its work elsewhere: the last positions are summed with separate multiplications
/// and additions, and a ReLU that keeps NaN, as [`kernels::conv_forward_rest`] sums them. Returns how
/// many channels and positions it covered; the caller computes the rest.
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
/// [`super::simd::conv_weight_grad`] covers, with its bits, and for those channels and taps the
/// positions after its vectors too, with the portable code's bits. Channels go in pairs, a pair's two sets of
/// partial sums side by side in one register, three pairs per tile where they fit; a lone last channel
/// runs at 8 lanes. Returns (channels, taps, positions) covered.
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
        for kk in (0..self.k_done).step_by(GRAD_K) {
            let mut acc = [[_mm512_setzero_ps(); GRAD_K]; PAIRS];
            let mut sums = [_mm512_setzero_ps(); PAIRS];
            let first = kk == 0;
            for v in 0..vectors {
                let x: [__m512; GRAD_K] =
                    std::array::from_fn(|t| _mm512_broadcast_f32x8(load8(&self.taps[kk + t][v])));
                for (c, (row, sum)) in acc.iter_mut().zip(sums.iter_mut()).enumerate() {
                    let low = load8(&self.planes[oc + 2 * c][v]);
                    let high = load8(&self.planes[oc + 2 * c + 1][v]);
                    let d = _mm512_insertf32x8::<1>(_mm512_castps256_ps512(low), high);
                    if first {
                        *sum = _mm512_add_ps(*sum, d);
                    }
                    for (a, &xv) in row.iter_mut().zip(&x) {
                        *a = _mm512_fmadd_ps(d, xv, *a);
                    }
                }
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

/// A row of 8-float vectors and the floats after them.
type Row<'a> = (&'a [[f32; HALF]], &'a [f32]);

/// One sample of a dense product: its inputs (or gradient) and its outputs.
type Sample<'a> = (&'a [f32], &'a mut [f32]);

/// [`super::simd::dense_forward`] with its bits: `out[b·U + u] = Σ_i x[b·N + i] · w[u·N + i]`. Each
/// output's 8 partial sums, its lane sum and its tail are the AVX2 kernel's; here two samples' partial
/// sums share a register (their inputs side by side, the weights repeated in both halves), four
/// samples per tile. Returns false, doing nothing, if the slices do not have those sizes.
pub fn dense_forward(
    _cpu: Avx512,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    n: usize,
    units: usize,
) -> bool {
    if simd::dense_batch(out.len(), x.len(), w.len(), n, units).is_none() {
        return false;
    }
    let mut samples: Vec<Sample> = x.chunks_exact(n).zip(out.chunks_exact_mut(units)).collect();
    for group in samples.chunks_mut(4) {
        for (u, tile) in simd::unit_tiles(units) {
            let rows = &w[u * n..(u + tile) * n];
            let whole = tile == simd::UNIT_TILE;
            // SAFETY: `_cpu` proves the CPU has AVX-512F and DQ, AVX2 and FMA (see `crate::cpu`).
            unsafe {
                match (group.len(), whole) {
                    (4, true) => pair_dot::<{ simd::UNIT_TILE }, 2>(group, rows, u),
                    (4, false) => pair_dot::<1, 2>(group, rows, u),
                    (2 | 3, true) => pair_dot::<{ simd::UNIT_TILE }, 1>(group, rows, u),
                    (2 | 3, false) => pair_dot::<1, 1>(group, rows, u),
                    _ => {}
                }
                if let [lone] | [_, _, lone] = group {
                    let (x, out) = (lone.0, &mut *lone.1);
                    if whole {
                        simd::dot_tile::<{ simd::UNIT_TILE }, 1>([x], rows, [out], u);
                    } else {
                        simd::dot_tile::<1, 1>([x], rows, [out], u);
                    }
                }
            }
        }
    }
    true
}

/// `out[s][u + t] = Σ_i x[s][i] · rows[t·N + i]` for `T` rows and the first `2·P` samples of `group`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
fn pair_dot<const T: usize, const P: usize>(group: &mut [Sample], rows: &[f32], u: usize) {
    if group.len() < 2 * P {
        return;
    }
    let n = rows.len() / T;
    let rows: [Row; T] = std::array::from_fn(|t| rows[t * n..(t + 1) * n].as_chunks::<HALF>());
    let xs: [[Row; 2]; P] =
        std::array::from_fn(|q| std::array::from_fn(|h| group[2 * q + h].0.as_chunks::<HALF>()));
    let mut acc = [[_mm512_setzero_ps(); T]; P];
    for c in 0..rows[0].0.len() {
        let xv: [__m512; P] = std::array::from_fn(|q| {
            let low = load8(&xs[q][0].0[c]);
            _mm512_insertf32x8::<1>(_mm512_castps256_ps512(low), load8(&xs[q][1].0[c]))
        });
        for t in 0..T {
            let wv = _mm512_broadcast_f32x8(load8(&rows[t].0[c]));
            for q in 0..P {
                acc[q][t] = _mm512_fmadd_ps(xv[q], wv, acc[q][t]);
            }
        }
    }
    for q in 0..P {
        for t in 0..T {
            let halves = [
                _mm512_castps512_ps256(acc[q][t]),
                _mm512_extractf32x8_ps::<1>(acc[q][t]),
            ];
            for (h, half) in halves.into_iter().enumerate() {
                let mut sum = simd::lane_sum(half);
                for (&a, &b) in xs[q][h].1.iter().zip(rows[t].1) {
                    sum = a.mul_add(b, sum);
                }
                group[2 * q + h].1[u + t] = sum;
            }
        }
    }
}

/// Load 16 floats from the start of `a`, if it has them.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_at(a: &[f32]) -> Option<__m512> {
    a.first_chunk::<LANES>().map(|v| load(v))
}

/// [`super::simd::dense_weight_grad`] with its bits: `gw[u·N + i] = Σ_b d[b·U + u] · x[b·N + i]`. A
/// lane is one column, so 16 columns per vector give the AVX2 kernel's sums; a last block of 8 and
/// the columns after it run in the AVX2 code. Returns false, doing nothing, if the slices do not have
/// those sizes.
pub fn dense_weight_grad(
    _cpu: Avx512,
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    n: usize,
    units: usize,
) -> bool {
    if simd::dense_batch(d.len(), x.len(), gw.len(), n, units).is_none() {
        return false;
    }
    let (sixteens, eights) = (n / LANES * LANES, n / HALF * HALF);
    // SAFETY: `_cpu` proves the CPU has AVX-512F, AVX2 and FMA (see `crate::cpu`).
    unsafe {
        for c in (0..sixteens).step_by(LANES) {
            for (u, tile) in simd::unit_tiles(units) {
                if tile == simd::UNIT_TILE {
                    grad_tile16::<{ simd::UNIT_TILE }>(d, x, gw, n, units, u, c);
                } else {
                    grad_tile16::<1>(d, x, gw, n, units, u, c);
                }
            }
        }
        if eights > sixteens {
            for (u, tile) in simd::unit_tiles(units) {
                if tile == simd::UNIT_TILE {
                    simd::grad_tile::<{ simd::UNIT_TILE }>(d, x, gw, n, units, u, sixteens);
                } else {
                    simd::grad_tile::<1>(d, x, gw, n, units, u, sixteens);
                }
            }
        }
        simd::weight_grad_columns(d, x, gw, n, units, eights);
    }
    true
}

/// Columns `c..c + 16` of weight-gradient rows `u..u + T`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
fn grad_tile16<const T: usize>(
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    n: usize,
    units: usize,
    u: usize,
    c: usize,
) {
    let mut acc = [_mm512_setzero_ps(); T];
    for (db, xb) in d.chunks_exact(units).zip(x.chunks_exact(n)) {
        let Some(xv) = load_at(&xb[c..]) else {
            return;
        };
        for t in 0..T {
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(db[u + t]), xv, acc[t]);
        }
    }
    for (t, a) in acc.into_iter().enumerate() {
        if let Some(dst) = gw[(u + t) * n + c..].first_chunk_mut::<LANES>() {
            store(dst, a);
        }
    }
}

/// [`super::simd::dense_input_grad`] with its bits: `dx[b·N + i] = Σ_u d[b·U + u] · w[u·N + i]`. A
/// lane is one column, so 16 columns per vector give the AVX2 kernel's sums; a last block of 8 and
/// the columns after it run in the AVX2 code. Returns false, doing nothing, if the slices do not have
/// those sizes.
pub fn dense_input_grad(
    _cpu: Avx512,
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
) -> bool {
    if simd::dense_batch(d.len(), dx.len(), w.len(), n, units).is_none() {
        return false;
    }
    let (sixteens, eights) = (n / LANES * LANES, n / HALF * HALF);
    // SAFETY: `_cpu` proves the CPU has AVX-512F, AVX2 and FMA (see `crate::cpu`).
    unsafe {
        for c in (0..sixteens).step_by(LANES) {
            for (u, tile) in simd::unit_tiles(units) {
                if tile == simd::UNIT_TILE {
                    input_grad_tile16::<{ simd::UNIT_TILE }>(d, w, dx, n, units, u, c);
                } else {
                    input_grad_tile16::<1>(d, w, dx, n, units, u, c);
                }
            }
        }
        if eights > sixteens {
            for (u, tile) in simd::unit_tiles(units) {
                if tile == simd::UNIT_TILE {
                    simd::input_grad_tile::<{ simd::UNIT_TILE }>(d, w, dx, n, units, u, sixteens);
                } else {
                    simd::input_grad_tile::<1>(d, w, dx, n, units, u, sixteens);
                }
            }
        }
        simd::input_grad_columns(d, w, dx, n, units, eights);
    }
    true
}

/// Adds units `u..u + T`'s terms to columns `c..c + 16` of every sample's input gradient (the first
/// tile, `u = 0`, starts the sums).
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
fn input_grad_tile16<const T: usize>(
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
    u: usize,
    c: usize,
) {
    let mut wv = [_mm512_setzero_ps(); T];
    for (t, v) in wv.iter_mut().enumerate() {
        let Some(row) = load_at(&w[(u + t) * n + c..]) else {
            return;
        };
        *v = row;
    }
    for (db, dxb) in d.chunks_exact(units).zip(dx.chunks_exact_mut(n)) {
        let Some(dst) = dxb[c..].first_chunk_mut::<LANES>() else {
            return;
        };
        let mut acc = if u == 0 {
            _mm512_setzero_ps()
        } else {
            load(dst)
        };
        for t in 0..T {
            acc = _mm512_fmadd_ps(_mm512_set1_ps(db[u + t]), wv[t], acc);
        }
        store(dst, acc);
    }
}

/// [`super::simd::max_pool_2x2_planes`] (the same outputs and indices, which are exact) with 16
/// windows per step; a row's last step is masked to the windows left, so rows of any width run here.
/// Returns false, doing nothing, if the slices are too short for the shapes.
#[allow(clippy::too_many_arguments)]
pub fn max_pool_2x2_planes(
    _cpu: Avx512,
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) -> bool {
    let (oh, ow) = (h / 2, w / 2);
    let batch = count / c.max(1);
    if c == 0
        || planes.len() < count * h * w
        || argmax.len() < count * oh * ow
        || output.len() < batch * oh * ow * c
        || count != batch * c
    {
        return false;
    }
    // SAFETY: `_cpu` proves the CPU has AVX-512F (see `crate::cpu`).
    unsafe { max_pool_512(planes, count, h, w, c, output, argmax) };
    true
}

/// [`max_pool_2x2_planes`] compiled for the vector features.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
fn max_pool_512(
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) {
    let (oh, ow) = (h / 2, w / 2);
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    let window_offsets = even;
    let mut best = [0.0f32; LANES];
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let o = (b * oh + out_y) * ow * c + ch;
            let arg_row = &mut argmax[(index * oh + out_y) * ow..][..ow];
            for x in (0..ow).step_by(LANES) {
                let m = (ow - x).min(LANES);
                let (t0, t1) = load_pairs(&top[2 * x..2 * (x + m)]);
                let (b0, b1) = load_pairs(&bottom[2 * x..2 * (x + m)]);
                let split = |lo: __m512, hi: __m512| {
                    (
                        _mm512_permutex2var_ps(lo, even, hi),
                        _mm512_permutex2var_ps(lo, odd, hi),
                    )
                };
                let (tl, tr) = split(t0, t1);
                let (bl, br) = split(b0, b1);
                let base = _mm512_add_epi32(
                    _mm512_set1_epi32((plane_start + (top_start + 2 * x) as u32) as i32),
                    window_offsets,
                );
                let (mut mv, mut a) = (tl, base);
                for (v, offset) in [(tr, 1), (bl, w as i32), (br, w as i32 + 1)] {
                    let better = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, mv);
                    mv = _mm512_mask_mov_ps(mv, better, v);
                    let at = _mm512_add_epi32(base, _mm512_set1_epi32(offset));
                    a = _mm512_mask_mov_epi32(a, better, at);
                }
                scatter(output, o + x * c, c, m, mv, &mut best);
                store_u32s(&mut arg_row[x..x + m], a);
            }
        }
    }
}

/// `out[start + j·stride] = v[j]` for the first `m` (≤ 16) lanes: one scatter when every index fits
/// in 32 bits and `out`, else one store at a time (through `spill`).
#[inline]
#[target_feature(enable = "avx512f")]
fn scatter(
    out: &mut [f32],
    start: usize,
    stride: usize,
    m: usize,
    v: __m512,
    spill: &mut [f32; 16],
) {
    let m = m.min(LANES);
    let last = start + m.saturating_sub(1) * stride;
    if m > 0 && last < out.len() && last <= i32::MAX as usize {
        let index = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(stride as i32),
        );
        // SAFETY: the mask sets the first `m` lanes, whose indices `j·stride` (j < m) are at most
        // `last - start` and fit in an i32; every element written, `out[start + j·stride]`, is at most
        // `out[last]`, inside `out`, which is exclusive; masked-off lanes are not written.
        unsafe {
            _mm512_mask_i32scatter_ps::<4>(
                out.as_mut_ptr().add(start).cast(),
                first_lanes(m),
                index,
                v,
            )
        }
        return;
    }
    store(spill, v);
    for (dst, &value) in out
        .iter_mut()
        .skip(start)
        .step_by(stride.max(1))
        .zip(&spill[..m])
    {
        *dst = value;
    }
}

/// [`MaxPool2D::route`](super::layers::MaxPool2D) over channel planes with its bits, for pools whose
/// windows do not overlap (stride ≥ pool size), so the winners of one plane are distinct elements:
/// `d_in[argmax[q]] += g` where `g = d_out[j]`, or 0 when `relu_input` and `output[j] ≤ 0`; output
/// `q = plane·P + pos` of plane `plane = b·C + ch` sits at `j = (b·P + pos)·C + ch` of the NHWC `d_out`
/// and `output`. `d_in` must hold zeros at the winners (the layer routes into a cleared buffer), so
/// each is set to `0 + g`, the sum the scalar code makes there. 16 outputs per step (gathers of the
/// gradients and outputs, one addition, a scatter); winners outside `d_in` are skipped, as the scalar
/// code skips them. Returns false, doing nothing, when an index would not
/// fit the gathers' 32 bits or `d_out` and `output` are shorter than the planes need.
pub fn route_planes(
    _cpu: Avx512,
    output: &[f32],
    d_out: &[f32],
    argmax: &[u32],
    d_in: &mut [f32],
    (p, c): (usize, usize),
    relu_input: bool,
) -> bool {
    let limit = i32::MAX as usize;
    let planes = argmax.len() / p.max(1);
    let needed = planes * p; // the NHWC outputs of `planes / C` images (and the plane rest)
    if p == 0
        || c == 0
        || !planes.is_multiple_of(c)
        || d_out.len() < needed
        || output.len() < needed
        || needed > limit
        || d_in.len() > limit
    {
        return false;
    }
    // SAFETY: `_cpu` proves the CPU has AVX-512F (see `crate::cpu`).
    unsafe { route_512(output, d_out, argmax, d_in, p, c, relu_input) };
    true
}

/// [`route_planes`] compiled for the vector features.
#[target_feature(enable = "avx512f")]
fn route_512(
    output: &[f32],
    d_out: &[f32],
    argmax: &[u32],
    d_in: &mut [f32],
    p: usize,
    c: usize,
    relu_input: bool,
) {
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let step = _mm512_mullo_epi32(lane, _mm512_set1_epi32(c as i32));
    let d_in_len = _mm512_set1_epi32(d_in.len() as i32);
    let zero = _mm512_setzero_ps();
    for (plane, args) in argmax.chunks_exact(p).enumerate() {
        let (b, ch) = (plane / c, plane % c);
        for pos in (0..p).step_by(LANES) {
            let m = (p - pos).min(LANES);
            let live = first_lanes(m);
            // j = (b·P + pos + lane)·C + ch, all below `needed` ≤ the lengths of d_out and output
            let j = _mm512_add_epi32(_mm512_set1_epi32(((b * p + pos) * c + ch) as i32), step);
            let at = &args[pos..pos + m];
            // SAFETY: a masked load reads only the first `m` u32s of `at`, inside it.
            let i = unsafe { _mm512_maskz_loadu_epi32(live, at.as_ptr().cast()) };
            // winners outside d_in are skipped (unsigned compare: the indices are u32)
            let inside = _mm512_mask_cmplt_epu32_mask(live, i, d_in_len);
            // SAFETY: the gathers read, for the `live` lanes only, `d_out[j]` and `output[j]` with
            // j < planes·P ≤ their lengths (checked by `route_planes`).
            let mut g =
                unsafe { _mm512_mask_i32gather_ps::<4>(zero, live, j, d_out.as_ptr().cast()) };
            if relu_input {
                // SAFETY: as above.
                let y =
                    unsafe { _mm512_mask_i32gather_ps::<4>(zero, live, j, output.as_ptr().cast()) };
                g = _mm512_mask_mov_ps(g, _mm512_cmp_ps_mask::<_CMP_LE_OQ>(y, zero), zero);
            }
            // `0 + g`: what adding g to the zero there gives (a −0 lands as +0)
            let new = _mm512_add_ps(zero, g);
            // SAFETY: the scatter writes, for the `inside` lanes only, `d_in[i]` with i < d_in.len()
            // (just compared), an exclusive slice; the indices of one plane's winners are distinct
            // (the windows do not overlap), so no lane's write is lost to another's.
            unsafe { _mm512_mask_i32scatter_ps::<4>(d_in.as_mut_ptr().cast(), inside, i, new) };
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
            let mask = first_lanes(s.len().min(d.len()));
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

/// The mask of the first `n` (≤ 16) lanes.
#[inline]
fn first_lanes(n: usize) -> __mmask16 {
    if n >= LANES {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// The 2·m floats of `pairs` (m ≤ 16 windows) as two vectors, lanes past the end zero.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_pairs(pairs: &[f32]) -> (__m512, __m512) {
    let n = pairs.len().min(2 * LANES);
    let (lo, hi) = (n.min(LANES), n.saturating_sub(LANES));
    // SAFETY: a masked load reads only the lanes its mask sets, here the first `lo` (then `hi`)
    // floats from the pointer, all inside `pairs`; masked-off lanes are not accessed.
    unsafe {
        (
            _mm512_maskz_loadu_ps(first_lanes(lo), pairs.as_ptr()),
            _mm512_maskz_loadu_ps(first_lanes(hi), pairs.as_ptr().add(lo)),
        )
    }
}

/// Store the first `dst.len()` (≤ 16) lanes of `v`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store_u32s(dst: &mut [u32], v: __m512i) {
    // SAFETY: a masked store writes only the lanes its mask sets, the first `dst.len()` (at most 16)
    // u32s from the pointer, all inside `dst`, which is exclusive.
    unsafe { _mm512_mask_storeu_epi32(dst.as_mut_ptr().cast(), first_lanes(dst.len()), v) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::Avx2Fma;
    use crate::rng::Rng;
    use crate::train::kernels;
    use crate::train::kernels::tests::{CONV_SHAPES, DENSE_SHAPES, POOL_SHAPES, lanes, values};

    /// Conv shapes (O, K, images, P) beyond the shared ones: 12 and 18 channels (tiles of 12, then
    /// 6), an odd number of 8-position vectors, channels in pairs and a lone channel, 3 channels
    /// (one pair and a lone one), fewer positions than one vector.
    const MORE_CONV: [(usize, usize, usize, usize); 8] = [
        (18, 9, 1, 676),
        (12, 9, 2, 40),
        (8, 9, 1, 24),
        (10, 27, 2, 57),
        (3, 9, 1, 169),
        (5, 6, 1, 33),
        (9, 12, 1, 100),
        (6, 4, 1, 7),
    ];

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The same bits as the AVX2 kernel, and the same coverage, on every shape.
    #[test]
    fn conv_forward_is_the_avx2_kernel_bit_for_bit() {
        let (Some(cpu), Some(avx2)) = (Avx512::detect(), Avx2Fma::detect()) else {
            return;
        };
        let mut rng = Rng::new(25);
        for (o, k, images, p) in CONV_SHAPES.into_iter().chain(MORE_CONV) {
            let cols = values(&mut rng, k * images * p);
            let (weights, bias) = (values(&mut rng, o * k), values(&mut rng, o));
            for relu in [false, true] {
                for b in 0..images {
                    let mut want = vec![f32::NAN; o * p];
                    let want_done =
                        simd::conv_forward(avx2, &cols, b, p, &weights, &bias, relu, &mut want);
                    let mut got = vec![f32::NAN; o * p];
                    let done = conv_forward(cpu, &cols, b, p, &weights, &bias, relu, &mut got);
                    // the AVX2 kernel's channels, and every position of them
                    assert_eq!(done, (want_done.0, p), "{o}×{k}×{p}");
                    // whole planes, once the portable code has finished both
                    for (planes, done) in [(&mut got, done), (&mut want, want_done)] {
                        kernels::conv_forward_rest(
                            &cols, b, p, &weights, &bias, relu, planes, done.0, done.1,
                        );
                    }
                    assert_eq!(bits(&got), bits(&want), "{o}×{k}×{p} relu {relu}");
                }
            }
        }
    }

    /// The same bits as the AVX2 kernel, from zeroed partial sums and from sums already holding
    /// values, image after image, and the same coverage.
    #[test]
    fn conv_weight_grad_is_the_avx2_kernel_bit_for_bit() {
        let (Some(cpu), Some(avx2)) = (Avx512::detect(), Avx2Fma::detect()) else {
            return;
        };
        let mut rng = Rng::new(26);
        for (o, k, images, p) in CONV_SHAPES.into_iter().chain(MORE_CONV) {
            let cols = values(&mut rng, k * images * p);
            let d = values(&mut rng, o * p);
            let zero = (vec![[0.0; HALF]; o * k], vec![[0.0; HALF]; o]);
            for (start_w, start_b) in [zero, (lanes(&mut rng, o * k), lanes(&mut rng, o))] {
                let (mut want_w, mut want_b) = (start_w.clone(), start_b.clone());
                let (mut got_w, mut got_b) = (start_w, start_b);
                for b in 0..images {
                    let want =
                        simd::conv_weight_grad(avx2, &cols, b, p, &d, &mut want_w, &mut want_b);
                    let got = conv_weight_grad(cpu, &cols, b, p, &d, &mut got_w, &mut got_b);
                    assert_eq!(got, (want.0, want.1, p), "{o}×{k}×{p}");
                    kernels::conv_weight_grad_rest(&cols, b, p, &d, &mut want_w, &mut want_b, want);
                    kernels::conv_weight_grad_rest(&cols, b, p, &d, &mut got_w, &mut got_b, got);
                }
                let flat = |l: &[[f32; HALF]]| bits(l.as_flattened());
                assert_eq!(flat(&got_w), flat(&want_w), "weights {o}×{k}×{p}");
                assert_eq!(flat(&got_b), flat(&want_b), "bias {o}×{k}×{p}");
            }
        }
    }

    /// The three dense products give the AVX2 kernels' bits: batches of 1 to 9 samples (groups of
    /// four, a pair, a lone sample), inputs with whole 16-blocks, a last block of 8 and a tail, unit
    /// tiles of 5 and single units.
    #[test]
    fn dense_products_are_the_avx2_kernels_bit_for_bit() {
        let (Some(cpu), Some(avx2)) = (Avx512::detect(), Avx2Fma::detect()) else {
            return;
        };
        let mut rng = Rng::new(28);
        let more = [
            (9, 40, 7),
            (6, 24, 10),
            (2, 7, 3),
            (7, 2028, 10),
            (4, 33, 12),
        ];
        for (batch, n, units) in DENSE_SHAPES.into_iter().chain(more) {
            let (x, w, d) = (
                values(&mut rng, batch * n),
                values(&mut rng, units * n),
                values(&mut rng, batch * units),
            );
            let at = format!("{batch}×{n}×{units}");
            let (mut got, mut want) =
                (vec![f32::NAN; batch * units], vec![f32::NAN; batch * units]);
            assert!(dense_forward(cpu, &x, &w, &mut got, n, units));
            assert!(simd::dense_forward(avx2, &x, &w, &mut want, n, units));
            assert_eq!(bits(&got), bits(&want), "forward {at}");
            let (mut got, mut want) = (vec![f32::NAN; units * n], vec![f32::NAN; units * n]);
            assert!(dense_weight_grad(cpu, &d, &x, &mut got, n, units));
            assert!(simd::dense_weight_grad(avx2, &d, &x, &mut want, n, units));
            assert_eq!(bits(&got), bits(&want), "weight gradient {at}");
            let (mut got, mut want) = (vec![f32::NAN; batch * n], vec![f32::NAN; batch * n]);
            assert!(dense_input_grad(cpu, &d, &w, &mut got, n, units));
            assert!(simd::dense_input_grad(avx2, &d, &w, &mut want, n, units));
            assert_eq!(bits(&got), bits(&want), "input gradient {at}");
            // wrong sizes are refused
            assert!(!dense_forward(cpu, &x[1..], &w, &mut got, n, units));
        }
    }

    /// The portable twin's maxima and indices exactly, on the shared shapes (rows of fewer than 8
    /// windows included, which the AVX2 kernel leaves to the twin) and on rows of 16, 17 and 33
    /// windows.
    #[test]
    fn max_pool_matches_the_portable_twin() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut rng = Rng::new(27);
        let shapes = POOL_SHAPES.into_iter().chain([
            (4, 32, 2, 1),
            (6, 35, 3, 2),
            (2, 66, 1, 1),
            (3, 2, 4, 2),
        ]);
        for (h, w, c, images) in shapes {
            let count = images * c;
            let mut planes = values(&mut rng, count * h * w);
            // ties: the first maximum in window order must win
            for v in planes.iter_mut().step_by(3) {
                *v = 0.5;
            }
            let len = images * (h / 2) * (w / 2) * c;
            let (mut want, mut want_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
            kernels::max_pool_2x2_planes(&planes, count, h, w, c, &mut want, &mut want_arg);
            let (mut got, mut got_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
            assert!(max_pool_2x2_planes(
                cpu,
                &planes,
                count,
                h,
                w,
                c,
                &mut got,
                &mut got_arg
            ));
            assert_eq!(bits(&got), bits(&want), "{h}×{w}×{c}");
            assert_eq!(got_arg, want_arg, "{h}×{w}×{c}");
        }
    }

    /// The layer's scalar routing into a cleared buffer, term by term: distinct winners per plane
    /// (some outside `d_in`, which are skipped), gradients that a ReLU blocks or passes (−0 among
    /// them), partial last steps, one to three images.
    #[test]
    fn route_matches_the_scalar_routing() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut rng = Rng::new(29);
        for (p, c, images) in [(169, 12, 2), (17, 3, 3), (5, 1, 1), (32, 4, 1), (1, 2, 2)] {
            let n = images * p * c;
            let (mut output, d_out) = (values(&mut rng, n), values(&mut rng, n));
            for y in output.iter_mut().step_by(5) {
                *y = 0.0;
            }
            let mut d_out = d_out;
            for g in d_out.iter_mut().skip(2).step_by(7) {
                *g = -0.0;
            }
            let d_len = 4 * n;
            // each plane's winners: distinct, from a shuffled range, a few past the end of d_in
            let mut argmax = Vec::with_capacity(n);
            for plane in 0..images * c {
                let mut pool: Vec<u32> = (0..4 * p as u32)
                    .map(|v| plane as u32 * 4 * p as u32 + v)
                    .collect();
                rng.shuffle(&mut pool);
                argmax.extend(
                    pool[..p]
                        .iter()
                        .map(|&i| if i % 11 == 3 { i + d_len as u32 } else { i }),
                );
            }
            for relu in [false, true] {
                // the layer routes into a cleared buffer
                let start = vec![0.0; d_len];
                let mut want = start.clone();
                for (plane, args) in argmax.chunks_exact(p).enumerate() {
                    let (b, ch) = (plane / c, plane % c);
                    for (pos, &i) in args.iter().enumerate() {
                        let j = (b * p + pos) * c + ch;
                        let g = if relu && output[j] <= 0.0 {
                            0.0
                        } else {
                            d_out[j]
                        };
                        if let Some(d) = want.get_mut(i as usize) {
                            *d += g;
                        }
                    }
                }
                let mut got = start;
                assert!(route_planes(
                    cpu,
                    &output,
                    &d_out,
                    &argmax,
                    &mut got,
                    (p, c),
                    relu
                ));
                assert_eq!(bits(&got), bits(&want), "{p}×{c}×{images} relu {relu}");
            }
            // outputs shorter than the planes need are refused
            let mut d_in = vec![0.0; d_len];
            assert!(!route_planes(
                cpu,
                &output[1..],
                &d_out,
                &argmax,
                &mut d_in,
                (p, c),
                true
            ));
        }
    }

    /// Rows copied as `copy_from_slice` would copy them, nothing written past `dst`; a source too
    /// short for the rows is refused.
    #[test]
    fn row_copies() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut rng = Rng::new(30);
        for (rows, width, stride) in [(26, 26, 28), (3, 16, 16), (4, 33, 40), (1, 5, 5), (2, 1, 3)]
        {
            let src = values(&mut rng, (rows - 1) * stride + width);
            let mut got = vec![f32::NAN; rows * width + 3];
            assert!(copy_rows(
                cpu,
                &mut got[..rows * width],
                &src,
                width,
                stride
            ));
            let mut want = vec![f32::NAN; rows * width + 3];
            for (y, row) in want[..rows * width].chunks_exact_mut(width).enumerate() {
                row.copy_from_slice(&src[y * stride..y * stride + width]);
            }
            assert_eq!(bits(&got), bits(&want), "{rows}×{width}/{stride}");
            assert!(!copy_rows(
                cpu,
                &mut got[..rows * width],
                &src[1..],
                width,
                stride
            ));
        }
    }

    /// Slices too short for the shapes are refused, not read past.
    #[test]
    fn short_slices_are_refused() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let (mut out, mut arg) = (vec![0.0; 4], vec![0; 4]);
        assert!(!max_pool_2x2_planes(
            cpu, &[0.0; 15], 1, 4, 4, 1, &mut out, &mut arg
        ));
        assert!(!max_pool_2x2_planes(
            cpu,
            &[0.0; 16],
            1,
            4,
            4,
            1,
            &mut out,
            &mut arg[..3]
        ));
        assert_eq!(
            conv_forward(cpu, &[0.0; 4], 0, 4, &[], &[0.0; 6], false, &mut [0.0; 24]),
            (0, 0)
        );
    }
}
