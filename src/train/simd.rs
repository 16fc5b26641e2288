//! Explicit AVX2 + FMA versions of the two convolution kernels that dominate training (forward planes
//! and the weight gradient), chosen at run time when the CPU has both features. The portable versions
//! in `layers.rs` stay the reference: these compute the same sums over the same positions, with fused
//! multiply-adds and a different grouping of the partial sums, so results agree to rounding.
//!
//! Vectors are loaded from and stored to `&[f32; 8]`s, so every memory access is checked by the slice
//! that produced the array; the one `unsafe` pair below only turns those references into pointers.

use std::arch::x86_64::*;

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
#[target_feature(enable = "avx2,fma")]
pub fn conv_forward(
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
        let mut rows: Vec<&mut [[f32; LANES]]> = planes[oc * p..(oc + OC_TILE) * p]
            .chunks_exact_mut(p)
            .map(|r| &mut r.as_chunks_mut::<LANES>().0[..vectors])
            .collect();
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

/// Weight-gradient tiles: channels in pairs, taps in threes (a 3×3 single-channel conv has 9 taps).
/// Taps per weight-gradient tile (a 3×3 single-channel conv has 9).
const GRAD_K: usize = 3;

/// Adds `Σ_p dY[oc, p] · cols[k, b·P + p]` over whole vectors of positions to `lanes[oc·K + k]` (8
/// partial sums each), for whole tiles of channels × taps: channels in threes when they divide evenly
/// (9 accumulators), else in pairs. The first tap tile also adds `Σ_p dY[oc, p]` to `bias[oc]`.
/// Returns (channels, taps, positions) covered, for the weights and (when taps > 0) the biases.
#[target_feature(enable = "avx2,fma")]
pub fn conv_weight_grad(
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
/// output (`c` channels) and, per output, the plane index of its window's first maximum (in the order
/// top-left, top-right, bottom-left, bottom-right). Eight windows of a row per step: the even and odd
/// columns are separated with shuffles, then three compare-and-blend rounds; a row's last step is
/// shifted back to end at its last window (recomputing a few, which gives the same values) instead of
/// running a scalar tail. Rows with fewer than 8 windows return `false` untouched.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub fn max_pool_2x2_planes(
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
    let mut arg = [0u32; LANES];
    let starts: Vec<usize> = (0..ow / LANES)
        .map(|s| s * LANES)
        .chain((ow % LANES != 0).then_some(ow - LANES))
        .collect();
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let o = (b * oh + out_y) * ow * c + ch;
            for &x in &starts {
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
                store_u32(&mut arg, a);
                for j in 0..LANES {
                    output[o + (x + j) * c] = best[j];
                    argmax[o + (x + j) * c] = arg[j];
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The vector pool against a direct scalar one: same maxima, same winning indices (first maximum
    /// in window order), including ties and rows whose last step overlaps the previous one.
    #[test]
    fn vector_max_pool_matches_scalar() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut rng = Rng::new(3);
        for (h, w, c, batch) in [(26, 26, 12, 2), (16, 16, 3, 1), (20, 34, 5, 2)] {
            let count = batch * c;
            // coarse values so ties happen often
            let planes: Vec<f32> = (0..count * h * w)
                .map(|_| (rng.below(7) as f32) - 2.0)
                .collect();
            let (oh, ow) = (h / 2, w / 2);
            let mut out = vec![0.0; batch * oh * ow * c];
            let mut arg = vec![0; out.len()];
            // SAFETY: AVX2 is available (checked above).
            assert!(unsafe { max_pool_2x2_planes(&planes, count, h, w, c, &mut out, &mut arg) });
            for index in 0..count {
                let (b, ch) = (index / c, index % c);
                for y in 0..oh {
                    for x in 0..ow {
                        let at =
                            |dy: usize, dx: usize| index * h * w + (2 * y + dy) * w + 2 * x + dx;
                        let mut best = (planes[at(0, 0)], at(0, 0));
                        for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                            if planes[at(dy, dx)] > best.0 {
                                best = (planes[at(dy, dx)], at(dy, dx));
                            }
                        }
                        let o = ((b * oh + y) * ow + x) * c + ch;
                        assert_eq!(
                            (out[o], arg[o] as usize),
                            best,
                            "plane {index} window ({y}, {x})"
                        );
                    }
                }
            }
        }
    }
}
