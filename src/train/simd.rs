//! Explicit AVX2 + FMA versions of the six kernels that dominate training: the conv forward planes and
//! weight gradient, the 2×2 max pool over planes, and the dense forward, weight-gradient and
//! input-gradient products. Each public kernel takes an [`Avx2Fma`] token, the proof that the CPU has
//! the features, so calling it is safe; the layers pick it at run time and otherwise run its portable
//! twin in kernels.rs, which stays the reference. The conv and dense kernels compute the same sums with
//! fused multiply-adds and a different grouping of the partial sums, so results agree to rounding; the
//! pool's results are identical.
//!
//! Vectors are loaded from and stored to `&[f32; 8]`s, so every memory access is checked by the slice
//! that produced the array; the `unsafe` blocks in `load`, `store` and `store_u32` only turn those
//! references into pointers.

use std::arch::x86_64::*;

use crate::cpu::Avx2Fma;

/// Floats per AVX vector.
pub const LANES: usize = 8;

/// Load 8 floats.
#[inline]
#[target_feature(enable = "avx")]
fn load(a: &[f32; LANES]) -> __m256 {
    // SAFETY: `a` is a reference to 8 initialized floats; loadu has no alignment requirement.
    unsafe { _mm256_loadu_ps(a.as_ptr()) }
}

/// Store 8 floats.
#[inline]
#[target_feature(enable = "avx")]
fn store(a: &mut [f32; LANES], v: __m256) {
    // SAFETY: `a` is an exclusive reference to 8 floats; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) }
}

/// Output channels per register tile of the forward kernel (6 accumulators + input + weight).
const OC_TILE: usize = 6;

/// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k w[oc·K + k] · cols[k·R + b·P + p])`
/// for whole tiles of `OC_TILE` channels and whole vectors of positions. Returns how many channels and
/// positions it covered; the caller computes the rest.
#[allow(clippy::too_many_arguments)]
pub fn conv_forward(
    _cpu: Avx2Fma,
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
) -> (usize, usize) {
    // SAFETY: `_cpu` proves the CPU has AVX2 and FMA (see `crate::cpu`).
    unsafe { conv_forward_avx2(cols, b, p, weights, bias, relu, planes) }
}

/// [`conv_forward`] compiled for the vector features.
#[target_feature(enable = "avx2,fma")]
fn conv_forward_avx2(
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
) -> (usize, usize) {
    let o = bias.len();
    let k = weights.len() / o;
    let r = cols.len() / k;
    let vectors = p / LANES;
    // every tap's slice has exactly `vectors` entries, so indexing them by `v < vectors` needs no checks
    let taps: Vec<&[[f32; LANES]]> = cols
        .chunks_exact(r)
        .map(|t| &t[b * p..(b + 1) * p].as_chunks::<LANES>().0[..vectors])
        .collect();
    let oc_done = o / OC_TILE * OC_TILE;
    let zero = _mm256_setzero_ps();
    for oc in (0..oc_done).step_by(OC_TILE) {
        // the tile's weights by tap: wt[kk][t] = w[oc + t, kk]
        let wt: Vec<[f32; OC_TILE]> = (0..k)
            .map(|kk| std::array::from_fn(|t| weights[(oc + t) * k + kk]))
            .collect();
        let mut tile = planes[oc * p..(oc + OC_TILE) * p].chunks_exact_mut(p);
        let mut rows: [&mut [[f32; LANES]]; OC_TILE] = std::array::from_fn(|_| match tile.next() {
            Some(r) => &mut r.as_chunks_mut::<LANES>().0[..vectors],
            None => &mut [], // never: the tile has OC_TILE planes
        });
        for v in 0..vectors {
            let mut acc: [__m256; OC_TILE] = std::array::from_fn(|t| _mm256_set1_ps(bias[oc + t]));
            for (tap, w) in taps.iter().zip(&wt) {
                let x = load(&tap[v]);
                for (a, &wv) in acc.iter_mut().zip(w) {
                    *a = _mm256_fmadd_ps(_mm256_set1_ps(wv), x, *a);
                }
            }
            for (row, a) in rows.iter_mut().zip(&acc) {
                let y = if relu { _mm256_max_ps(*a, zero) } else { *a };
                store(&mut row[v], y);
            }
        }
    }
    (oc_done, vectors * LANES)
}

/// Taps per weight-gradient tile (a 3×3 single-channel conv has 9).
const GRAD_K: usize = 3;

/// Adds `Σ_p dY[oc, p] · cols[k, b·P + p]` over whole vectors of positions to `lanes[oc·K + k]` (8
/// partial sums each), for whole tiles of channels × taps: channels in threes when they divide evenly
/// (9 accumulators), else in pairs. The first tap tile also adds `Σ_p dY[oc, p]` to `bias[oc]`.
/// Returns (channels, taps, positions) covered, for the weights and (when taps > 0) the biases.
pub fn conv_weight_grad(
    _cpu: Avx2Fma,
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    lanes: &mut [[f32; LANES]],
    bias: &mut [[f32; LANES]],
) -> (usize, usize, usize) {
    // SAFETY: `_cpu` proves the CPU has AVX2 and FMA (see `crate::cpu`).
    unsafe { conv_weight_grad_avx2(cols, b, p, d_planes, lanes, bias) }
}

/// [`conv_weight_grad`] compiled for the vector features.
#[target_feature(enable = "avx2,fma")]
fn conv_weight_grad_avx2(
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    lanes: &mut [[f32; LANES]],
    bias: &mut [[f32; LANES]],
) -> (usize, usize, usize) {
    if bias.len().is_multiple_of(3) {
        weight_grad_tiles::<3>(cols, b, p, d_planes, lanes, bias)
    } else {
        weight_grad_tiles::<2>(cols, b, p, d_planes, lanes, bias)
    }
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn weight_grad_tiles<const OC: usize>(
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    lanes: &mut [[f32; LANES]],
    bias: &mut [[f32; LANES]],
) -> (usize, usize, usize) {
    let o = bias.len();
    let k = lanes.len() / o;
    let r = cols.len() / k;
    let vectors = p / LANES;
    let taps: Vec<&[[f32; LANES]]> = cols
        .chunks_exact(r)
        .map(|t| &t[b * p..(b + 1) * p].as_chunks::<LANES>().0[..vectors])
        .collect();
    let planes: Vec<&[[f32; LANES]]> = d_planes
        .chunks_exact(p)
        .take(o)
        .map(|d| &d.as_chunks::<LANES>().0[..vectors])
        .collect();
    let (oc_done, k_done) = (o / OC * OC, k / GRAD_K * GRAD_K);
    for oc in (0..oc_done).step_by(OC) {
        for kk in (0..k_done).step_by(GRAD_K) {
            let mut acc = [[_mm256_setzero_ps(); GRAD_K]; OC];
            let mut sums = [_mm256_setzero_ps(); OC];
            let first = kk == 0;
            for v in 0..vectors {
                let x: [__m256; GRAD_K] = std::array::from_fn(|t| load(&taps[kk + t][v]));
                for (c, (row, sum)) in acc.iter_mut().zip(sums.iter_mut()).enumerate() {
                    let d = load(&planes[oc + c][v]);
                    if first {
                        *sum = _mm256_add_ps(*sum, d);
                    }
                    for (a, &xv) in row.iter_mut().zip(&x) {
                        *a = _mm256_fmadd_ps(d, xv, *a);
                    }
                }
            }
            if first {
                for (c, sum) in sums.iter().enumerate() {
                    let total = _mm256_add_ps(load(&bias[oc + c]), *sum);
                    store(&mut bias[oc + c], total);
                }
            }
            for (c, row) in acc.iter().enumerate() {
                for (t, a) in row.iter().enumerate() {
                    let dst = &mut lanes[(oc + c) * k + kk + t];
                    let sum = _mm256_add_ps(load(dst), *a);
                    store(dst, sum);
                }
            }
        }
    }
    (oc_done, k_done, vectors * LANES)
}

/// Store 8 u32s.
#[inline]
#[target_feature(enable = "avx")]
fn store_u32(a: &mut [u32; LANES], v: __m256i) {
    // SAFETY: `a` is an exclusive reference to 8 u32s (32 bytes); storeu has no alignment requirement.
    unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), v) }
}

/// A 2×2, stride-2 max pool over channel planes (`planes`: `count` planes of `h × w`), writing NHWC
/// output (`c` channels) and, per output in plane order (`[count][h/2][w/2]`), the index into `planes`
/// of its window's first maximum (in the order top-left, top-right, bottom-left, bottom-right). Eight
/// windows of a row per step: the even and odd
/// columns are separated with shuffles, then three compare-and-blend rounds; a row's last step is
/// shifted back to end at its last window (recomputing a few, which gives the same values) instead of
/// running a scalar tail. Rows with fewer than 8 windows return `false` untouched.
#[allow(clippy::too_many_arguments)]
pub fn max_pool_2x2_planes(
    _cpu: Avx2Fma,
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) -> bool {
    // SAFETY: `_cpu` proves the CPU has AVX2 and FMA (see `crate::cpu`).
    unsafe { max_pool_2x2_planes_avx2(planes, count, h, w, c, output, argmax) }
}

/// [`max_pool_2x2_planes`] compiled for the vector features.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn max_pool_2x2_planes_avx2(
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) -> bool {
    let (oh, ow) = (h / 2, w / 2);
    if ow < LANES {
        return false;
    }
    let lane_offsets = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    let split = |a: __m256, b: __m256| {
        // (a0 a2 b0 b2 | a4 a6 b4 b6), then the 64-bit halves reordered: a0 a2 a4 a6 b0 b2 b4 b6
        let even = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(
            _mm256_shuffle_ps::<0b10_00_10_00>(a, b),
        )));
        let odd = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(
            _mm256_shuffle_ps::<0b11_01_11_01>(a, b),
        )));
        (even, odd)
    };
    let mut best = [0.0f32; LANES];
    // every step of 8 windows; a row's last step is shifted back to end at its last window
    let starts = (0..ow).step_by(LANES).map(|x| x.min(ow - LANES));
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let o = (b * oh + out_y) * ow * c + ch;
            for x in starts.clone() {
                let t: &[[f32; LANES]] = top[2 * x..2 * x + 2 * LANES].as_chunks::<LANES>().0;
                let bo: &[[f32; LANES]] = bottom[2 * x..2 * x + 2 * LANES].as_chunks::<LANES>().0;
                let (t0, t1) = split(load(&t[0]), load(&t[1]));
                let (b0, b1) = split(load(&bo[0]), load(&bo[1]));
                let base = _mm256_add_epi32(
                    _mm256_set1_epi32((plane_start + (top_start + 2 * x) as u32) as i32),
                    lane_offsets,
                );
                let (mut m, mut a) = (t0, base);
                for (v, offset) in [(t1, 1), (b0, w as i32), (b1, w as i32 + 1)] {
                    let better = _mm256_cmp_ps::<_CMP_GT_OQ>(v, m);
                    m = _mm256_blendv_ps(m, v, better);
                    let at = _mm256_add_epi32(base, _mm256_set1_epi32(offset));
                    a = _mm256_castps_si256(_mm256_blendv_ps(
                        _mm256_castsi256_ps(a),
                        _mm256_castsi256_ps(at),
                        better,
                    ));
                }
                store(&mut best, m);
                for j in 0..LANES {
                    output[o + (x + j) * c] = best[j];
                }
                if let Some(arg) = argmax[(index * oh + out_y) * ow + x..].first_chunk_mut() {
                    store_u32(arg, a);
                }
            }
        }
    }
    true
}

/// Units per register tile of the dense kernels (5 accumulators, the tutorial's 10 units in two tiles).
pub(super) const UNIT_TILE: usize = 5;

/// The lanes of `v` summed in lane order.
#[inline]
#[target_feature(enable = "avx")]
pub(super) fn lane_sum(v: __m256) -> f32 {
    let mut lanes = [0.0f32; LANES];
    store(&mut lanes, v);
    lanes.iter().sum()
}

/// The batch size of a dense product: `batch_by_units` holds whole rows of `units`, and the other two
/// slices are `batch × n` and `units × n` long; `None` if they are not.
pub(super) fn dense_batch(
    batch_by_units: usize,
    batch_by_n: usize,
    units_by_n: usize,
    n: usize,
    units: usize,
) -> Option<usize> {
    let batch = batch_by_units / units.max(1);
    (n > 0
        && units > 0
        && batch_by_units == batch * units
        && batch_by_n == batch * n
        && units_by_n == units * n)
        .then_some(batch)
}

/// `(first unit, tile size)` of the unit tiles: whole tiles of `UNIT_TILE`, then single units.
pub(super) fn unit_tiles(units: usize) -> impl Iterator<Item = (usize, usize)> {
    let whole = units / UNIT_TILE * UNIT_TILE;
    (0..whole)
        .step_by(UNIT_TILE)
        .map(|u| (u, UNIT_TILE))
        .chain((whole..units).map(|u| (u, 1)))
}

/// Dense layer forward without bias: `out[b·U + u] = Σ_i x[b·N + i] · w[u·N + i]` (`x`: batch×N,
/// `w`: U×N). Returns false, doing nothing, if the slices do not have those sizes. Two samples share
/// each tile of weight loads.
pub fn dense_forward(
    _cpu: Avx2Fma,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    n: usize,
    units: usize,
) -> bool {
    // SAFETY: `_cpu` proves the CPU has AVX2 and FMA (see `crate::cpu`).
    unsafe { dense_forward_avx2(x, w, out, n, units) }
}

/// [`dense_forward`] compiled for the vector features.
#[target_feature(enable = "avx2,fma")]
fn dense_forward_avx2(x: &[f32], w: &[f32], out: &mut [f32], n: usize, units: usize) -> bool {
    if dense_batch(out.len(), x.len(), w.len(), n, units).is_none() {
        return false;
    }
    let mut samples = x.chunks_exact(n).zip(out.chunks_exact_mut(units));
    while let Some((x0, o0)) = samples.next() {
        let mut second = samples.next();
        for (u, tile) in unit_tiles(units) {
            let rows = &w[u * n..(u + tile) * n];
            match (&mut second, tile == UNIT_TILE) {
                (Some((x1, o1)), true) => dot_tile::<UNIT_TILE, 2>([x0, x1], rows, [o0, o1], u),
                (None, true) => dot_tile::<UNIT_TILE, 1>([x0], rows, [o0], u),
                (Some((x1, o1)), false) => dot_tile::<1, 2>([x0, x1], rows, [o0, o1], u),
                (None, false) => dot_tile::<1, 1>([x0], rows, [o0], u),
            }
        }
    }
    true
}

/// `out[s][u + t] = Σ_i x[s][i] · rows[t·N + i]` for `T` rows of `N = x[s].len()` and `S` samples.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn dot_tile<const T: usize, const S: usize>(
    x: [&[f32]; S],
    rows: &[f32],
    out: [&mut [f32]; S],
    u: usize,
) {
    let n = rows.len() / T;
    let rows: [(&[[f32; LANES]], &[f32]); T] =
        std::array::from_fn(|t| rows[t * n..(t + 1) * n].as_chunks::<LANES>());
    let xs: [(&[[f32; LANES]], &[f32]); S] = std::array::from_fn(|s| x[s].as_chunks::<LANES>());
    let mut acc = [[_mm256_setzero_ps(); T]; S];
    for c in 0..rows[0].0.len() {
        let xv: [__m256; S] = std::array::from_fn(|s| load(&xs[s].0[c]));
        for t in 0..T {
            let wv = load(&rows[t].0[c]);
            for s in 0..S {
                acc[s][t] = _mm256_fmadd_ps(xv[s], wv, acc[s][t]);
            }
        }
    }
    for (s, o) in out.into_iter().enumerate() {
        for t in 0..T {
            let mut sum = lane_sum(acc[s][t]);
            for (&a, &b) in xs[s].1.iter().zip(rows[t].1) {
                sum = a.mul_add(b, sum);
            }
            o[u + t] = sum;
        }
    }
}

/// Dense layer weight gradient: `gw[u·N + i] = Σ_b d[b·U + u] · x[b·N + i]` (`d`: batch×U, `x`:
/// batch×N). Returns false, doing nothing, if the slices do not have those sizes.
pub fn dense_weight_grad(
    _cpu: Avx2Fma,
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    n: usize,
    units: usize,
) -> bool {
    // SAFETY: `_cpu` proves the CPU has AVX2 and FMA (see `crate::cpu`).
    unsafe { dense_weight_grad_avx2(d, x, gw, n, units) }
}

/// [`dense_weight_grad`] compiled for the vector features.
#[target_feature(enable = "avx2,fma")]
fn dense_weight_grad_avx2(d: &[f32], x: &[f32], gw: &mut [f32], n: usize, units: usize) -> bool {
    if dense_batch(d.len(), x.len(), gw.len(), n, units).is_none() {
        return false;
    }
    let whole = n / LANES * LANES;
    for c in (0..whole).step_by(LANES) {
        for (u, tile) in unit_tiles(units) {
            if tile == UNIT_TILE {
                grad_tile::<UNIT_TILE>(d, x, gw, n, units, u, c);
            } else {
                grad_tile::<1>(d, x, gw, n, units, u, c);
            }
        }
    }
    weight_grad_columns(d, x, gw, n, units, whole);
    true
}

/// Columns `from..n` of [`dense_weight_grad`], one at a time.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn weight_grad_columns(
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    n: usize,
    units: usize,
    from: usize,
) {
    for u in 0..units {
        for i in from..n {
            let mut sum = 0.0f32;
            for (db, xb) in d.chunks_exact(units).zip(x.chunks_exact(n)) {
                sum = db[u].mul_add(xb[i], sum);
            }
            gw[u * n + i] = sum;
        }
    }
}

/// Columns `c..c + 8` of weight-gradient rows `u..u + T`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn grad_tile<const T: usize>(
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    n: usize,
    units: usize,
    u: usize,
    c: usize,
) {
    let mut acc = [_mm256_setzero_ps(); T];
    for (db, xb) in d.chunks_exact(units).zip(x.chunks_exact(n)) {
        let Some(xv) = xb[c..].first_chunk::<LANES>() else {
            return;
        };
        let xv = load(xv);
        for t in 0..T {
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(db[u + t]), xv, acc[t]);
        }
    }
    for (t, a) in acc.into_iter().enumerate() {
        if let Some(dst) = gw[(u + t) * n + c..].first_chunk_mut::<LANES>() {
            store(dst, a);
        }
    }
}

/// Dense layer input gradient: `dx[b·N + i] = Σ_u d[b·U + u] · w[u·N + i]` (`d`: batch×U, `w`: U×N).
/// Returns false, doing nothing, if the slices do not have those sizes. Column block by column block,
/// a tile of weight vectors stays in registers while every sample of the batch uses it (so the weights
/// are read once per batch, not once per sample).
pub fn dense_input_grad(
    _cpu: Avx2Fma,
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
) -> bool {
    // SAFETY: `_cpu` proves the CPU has AVX2 and FMA (see `crate::cpu`).
    unsafe { dense_input_grad_avx2(d, w, dx, n, units) }
}

/// [`dense_input_grad`] compiled for the vector features.
#[target_feature(enable = "avx2,fma")]
fn dense_input_grad_avx2(d: &[f32], w: &[f32], dx: &mut [f32], n: usize, units: usize) -> bool {
    if dense_batch(d.len(), dx.len(), w.len(), n, units).is_none() {
        return false;
    }
    let whole = n / LANES * LANES;
    for c in (0..whole).step_by(LANES) {
        for (u, tile) in unit_tiles(units) {
            if tile == UNIT_TILE {
                input_grad_tile::<UNIT_TILE>(d, w, dx, n, units, u, c);
            } else {
                input_grad_tile::<1>(d, w, dx, n, units, u, c);
            }
        }
    }
    input_grad_columns(d, w, dx, n, units, whole);
    true
}

/// Columns `from..n` of [`dense_input_grad`], one at a time.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn input_grad_columns(
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
    from: usize,
) {
    for (db, dxb) in d.chunks_exact(units).zip(dx.chunks_exact_mut(n)) {
        for i in from..n {
            let mut sum = 0.0f32;
            for (u, &g) in db.iter().enumerate() {
                sum = g.mul_add(w[u * n + i], sum);
            }
            dxb[i] = sum;
        }
    }
}

/// Adds units `u..u + T`'s terms to columns `c..c + 8` of every sample's input gradient (the first
/// tile, `u = 0`, starts the sums).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn input_grad_tile<const T: usize>(
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
    u: usize,
    c: usize,
) {
    let mut wv = [_mm256_setzero_ps(); T];
    for (t, v) in wv.iter_mut().enumerate() {
        let Some(row) = w[(u + t) * n + c..].first_chunk::<LANES>() else {
            return;
        };
        *v = load(row);
    }
    for (db, dxb) in d.chunks_exact(units).zip(dx.chunks_exact_mut(n)) {
        let Some(dst) = dxb[c..].first_chunk_mut::<LANES>() else {
            return;
        };
        let mut acc = if u == 0 {
            _mm256_setzero_ps()
        } else {
            load(dst)
        };
        for t in 0..T {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(db[u + t]), wv[t], acc);
        }
        store(dst, acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::train::kernels;
    use crate::train::kernels::tests::{
        CONV_SHAPES, DENSE_SHAPES, POOL_SHAPES, gamma, lanes, values,
    };

    /// Against the portable twin. Both sum each output from the bias through the taps in order; the
    /// vector kernel fuses each multiply-add (at most K roundings per term), the twin rounds products
    /// and additions apart (at most K + 1), so they differ by at most (γ(K) + γ(K + 1))·Σ|term|, the
    /// bias counted as a term. What the vector tiles leave, the portable code finishes, equal to the
    /// twin's values.
    #[test]
    fn conv_forward_matches_the_portable_twin() {
        let Some(cpu) = Avx2Fma::detect() else {
            return;
        };
        let mut rng = Rng::new(21);
        for (o, k, images, p) in CONV_SHAPES {
            let r = images * p;
            let cols = values(&mut rng, k * r);
            let (weights, bias) = (values(&mut rng, o * k), values(&mut rng, o));
            for relu in [false, true] {
                for b in 0..images {
                    let mut want = vec![f32::NAN; o * p];
                    kernels::conv_forward(&cols, b, p, &weights, &bias, relu, &mut want);
                    let mut got = vec![f32::NAN; o * p];
                    let (oc_done, p_done) =
                        conv_forward(cpu, &cols, b, p, &weights, &bias, relu, &mut got);
                    assert_eq!((oc_done, p_done), (o / 6 * 6, p / LANES * LANES));
                    kernels::conv_forward_rest(
                        &cols, b, p, &weights, &bias, relu, &mut got, oc_done, p_done,
                    );
                    for oc in 0..o {
                        for q in 0..p {
                            let (got, want) = (got[oc * p + q], want[oc * p + q]);
                            let at = format!("{o}×{k}×{p} relu {relu} ({b}, {oc}, {q})");
                            if oc >= oc_done || q >= p_done {
                                assert_eq!(got, want, "{at}");
                                continue;
                            }
                            let size = bias[oc].abs() as f64
                                + (0..k)
                                    .map(|kk| {
                                        (weights[oc * k + kk] as f64
                                            * cols[kk * r + b * p + q] as f64)
                                            .abs()
                                    })
                                    .sum::<f64>();
                            let bound = (gamma(k) + gamma(k + 1)) * size;
                            let diff = (got as f64 - want as f64).abs();
                            assert!(diff <= bound, "{at}: {got} vs {want} ± {bound}");
                        }
                    }
                }
            }
        }
    }

    /// Against the portable twin, from zeroed lanes and from lanes already holding sums. Each lane
    /// gains n = ⌈P / LANES⌉ terms; the twin adds them to the lane one by one (at most n + 1 roundings
    /// per term), the vector kernel first sums its whole vectors apart, fused, then adds that sum and
    /// the portable code adds the rest (also at most n + 1), so the lanes differ by at most
    /// 2·γ(n + 1)·(|start| + Σ|term|). The bias sums have no products: from zero both add the same
    /// values in the same order, so they are equal.
    #[test]
    fn conv_weight_grad_matches_the_portable_twin() {
        let Some(cpu) = Avx2Fma::detect() else {
            return;
        };
        let mut rng = Rng::new(22);
        for (o, k, images, p) in CONV_SHAPES {
            let r = images * p;
            let (cols, d) = (values(&mut rng, k * r), values(&mut rng, o * p));
            let zero = (vec![[0.0; LANES]; o * k], vec![[0.0; LANES]; o]);
            for (start_w, start_b) in [zero, (lanes(&mut rng, o * k), lanes(&mut rng, o))] {
                let from_zero = start_b.iter().flatten().all(|&v| v == 0.0);
                for b in 0..images {
                    let (mut want_w, mut want_b) = (start_w.clone(), start_b.clone());
                    kernels::conv_weight_grad(&cols, b, p, &d, &mut want_w, &mut want_b);
                    let (mut got_w, mut got_b) = (start_w.clone(), start_b.clone());
                    let done = conv_weight_grad(cpu, &cols, b, p, &d, &mut got_w, &mut got_b);
                    if p >= LANES && o >= 2 && k >= GRAD_K {
                        assert!(done.0 > 0 && done.1 > 0 && done.2 > 0, "{done:?}");
                    }
                    kernels::conv_weight_grad_rest(&cols, b, p, &d, &mut got_w, &mut got_b, done);
                    let n = p.div_ceil(LANES);
                    // Σ|term| over the positions of lane j, term(q) giving one position's term
                    let size = |j: usize, term: &dyn Fn(usize) -> f64| -> f64 {
                        (j..p).step_by(LANES).map(|q| term(q).abs()).sum()
                    };
                    for oc in 0..o {
                        for j in 0..LANES {
                            let at = format!("{o}×{k}×{p} image {b} channel {oc} lane {j}");
                            let (got, want) = (got_b[oc][j], want_b[oc][j]);
                            if from_zero {
                                assert_eq!(got, want, "bias {at}");
                            }
                            let bound = 2.0
                                * gamma(n + 1)
                                * (start_b[oc][j].abs() as f64
                                    + size(j, &|q| d[oc * p + q] as f64));
                            let diff = (got as f64 - want as f64).abs();
                            assert!(diff <= bound, "bias {at}: {got} vs {want} ± {bound}");
                            for kk in 0..k {
                                let e = oc * k + kk;
                                let (got, want) = (got_w[e][j], want_w[e][j]);
                                let term = |q: usize| {
                                    d[oc * p + q] as f64 * cols[kk * r + b * p + q] as f64
                                };
                                let bound = 2.0
                                    * gamma(n + 1)
                                    * (start_w[e][j].abs() as f64 + size(j, &term));
                                let diff = (got as f64 - want as f64).abs();
                                assert!(diff <= bound, "tap {kk} {at}: {got} vs {want} ± {bound}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Against the portable twin: a maximum and the index of its first occurrence involve no
    /// rounding, so they are equal, ties included. Rows of fewer than 8 windows are refused untouched.
    #[test]
    fn max_pool_matches_the_portable_twin() {
        let Some(cpu) = Avx2Fma::detect() else {
            return;
        };
        let mut rng = Rng::new(23);
        for (h, w, c, images) in POOL_SHAPES {
            let count = images * c;
            // coarse values so that ties are common
            let planes: Vec<f32> = (0..count * h * w)
                .map(|_| rng.below(7) as f32 - 2.0)
                .collect();
            let len = images * (h / 2) * (w / 2) * c;
            let (mut want, mut want_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
            kernels::max_pool_2x2_planes(&planes, count, h, w, c, &mut want, &mut want_arg);
            let (mut got, mut got_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
            let done = max_pool_2x2_planes(cpu, &planes, count, h, w, c, &mut got, &mut got_arg);
            assert_eq!(done, w / 2 >= LANES, "{h}×{w}");
            if !done {
                assert!(got.iter().all(|v| v.is_nan()) && got_arg.iter().all(|&a| a == u32::MAX));
                continue;
            }
            assert_eq!(got, want, "{h}×{w} maxima");
            assert_eq!(got_arg, want_arg, "{h}×{w} winners");
        }
    }

    /// Against the portable twins (general products). Each output is a sum of n products (n = N, the
    /// batch or the units) in which every term passes through at most n roundings in either kernel,
    /// whatever their grouping, so they differ by at most 2·γ(n)·Σ|term|. Wrong sizes are refused.
    #[test]
    fn dense_products_match_the_portable_twins() {
        let Some(cpu) = Avx2Fma::detect() else {
            return;
        };
        let mut rng = Rng::new(24);
        for (batch, n, units) in DENSE_SHAPES {
            let (x, w) = (values(&mut rng, batch * n), values(&mut rng, units * n));
            let d = values(&mut rng, batch * units);
            let (mut out, mut out_twin) = (vec![f32::NAN; batch * units], vec![0.0; batch * units]);
            let (mut gw, mut gw_twin) = (vec![f32::NAN; units * n], vec![0.0; units * n]);
            let (mut dx, mut dx_twin) = (vec![f32::NAN; batch * n], vec![0.0; batch * n]);
            assert!(dense_forward(cpu, &x, &w, &mut out, n, units));
            assert!(dense_weight_grad(cpu, &d, &x, &mut gw, n, units));
            assert!(dense_input_grad(cpu, &d, &w, &mut dx, n, units));
            kernels::dense_forward(&x, &w, &mut out_twin, batch, n, units);
            kernels::dense_weight_grad(&d, &x, &mut gw_twin, batch, n, units);
            kernels::dense_input_grad(&d, &w, &mut dx_twin, batch, n, units);
            assert!(!dense_forward(cpu, &x[1..], &w, &mut out, n, units));
            assert!(!dense_weight_grad(cpu, &d, &x, &mut gw[1..], n, units));
            assert!(!dense_input_grad(cpu, &d, &w[1..], &mut dx, n, units));
            // got[row·cols + col] against the twin's, with Σ_i |term(row, col, i)|
            let check = |name: &str,
                         (got, twin): (&[f32], &[f32]),
                         (rows, cols, inner): (usize, usize, usize),
                         term: &dyn Fn(usize, usize, usize) -> f64| {
                for row in 0..rows {
                    for col in 0..cols {
                        let size: f64 = (0..inner).map(|i| term(row, col, i).abs()).sum();
                        let bound = 2.0 * gamma(inner) * size;
                        let (got, want) = (got[row * cols + col], twin[row * cols + col]);
                        assert!(
                            (got as f64 - want as f64).abs() <= bound,
                            "{name} {batch}×{n}×{units} ({row}, {col}): {got} vs {want} ± {bound}"
                        );
                    }
                }
            };
            check(
                "forward",
                (&out, &out_twin),
                (batch, units, n),
                &|b, u, i| x[b * n + i] as f64 * w[u * n + i] as f64,
            );
            check(
                "weight grad",
                (&gw, &gw_twin),
                (units, n, batch),
                &|u, i, b| d[b * units + u] as f64 * x[b * n + i] as f64,
            );
            check(
                "input grad",
                (&dx, &dx_twin),
                (batch, n, units),
                &|b, i, u| d[b * units + u] as f64 * w[u * n + i] as f64,
            );
        }
    }
}
