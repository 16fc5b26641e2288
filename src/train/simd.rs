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
pub fn conv_forward(cols: &[f32], b: usize, p: usize, weights: &[f32], bias: &[f32], relu: bool, planes: &mut [f32]) -> (usize, usize) {
    let o = bias.len();
    let k = weights.len() / o;
    let r = cols.len() / k;
    let taps: Vec<&[[f32; LANES]]> = cols.chunks_exact(r).map(|t| t[b * p..(b + 1) * p].as_chunks::<LANES>().0).collect();
    let vectors = p / LANES;
    let oc_done = o / OC_TILE * OC_TILE;
    let zero = _mm256_setzero_ps();
    for oc in (0..oc_done).step_by(OC_TILE) {
        let w = &weights[oc * k..(oc + OC_TILE) * k];
        let mut rows: Vec<&mut [[f32; LANES]]> =
            planes[oc * p..(oc + OC_TILE) * p].chunks_exact_mut(p).map(|r| r.as_chunks_mut::<LANES>().0).collect();
        for v in 0..vectors {
            let mut acc = [zero; OC_TILE];
            for (t, a) in acc.iter_mut().enumerate() {
                *a = _mm256_set1_ps(bias[oc + t]);
            }
            for (kk, tap) in taps.iter().enumerate() {
                let x = load(&tap[v]);
                for (t, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(_mm256_set1_ps(w[t * k + kk]), x, *a);
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
const GRAD_OC: usize = 2;
const GRAD_K: usize = 3;

/// Adds `Σ_p dY[oc, p] · cols[k, b·P + p]` over whole vectors of positions to `lanes[oc·K + k]` (8
/// partial sums each), for whole tiles of channels × taps. Returns (channels, taps, positions) covered.
#[target_feature(enable = "avx2,fma")]
pub fn conv_weight_grad(cols: &[f32], b: usize, p: usize, d_planes: &[f32], o: usize, lanes: &mut [[f32; LANES]]) -> (usize, usize, usize) {
    let k = lanes.len() / o;
    let r = cols.len() / k;
    let taps: Vec<&[[f32; LANES]]> = cols.chunks_exact(r).map(|t| t[b * p..(b + 1) * p].as_chunks::<LANES>().0).collect();
    let planes: Vec<&[[f32; LANES]]> = d_planes.chunks_exact(p).take(o).map(|d| d.as_chunks::<LANES>().0).collect();
    let vectors = p / LANES;
    let (oc_done, k_done) = (o / GRAD_OC * GRAD_OC, k / GRAD_K * GRAD_K);
    for oc in (0..oc_done).step_by(GRAD_OC) {
        for kk in (0..k_done).step_by(GRAD_K) {
            let mut acc = [[_mm256_setzero_ps(); GRAD_K]; GRAD_OC];
            for v in 0..vectors {
                let x: [__m256; GRAD_K] = std::array::from_fn(|t| load(&taps[kk + t][v]));
                for (c, row) in acc.iter_mut().enumerate() {
                    let d = load(&planes[oc + c][v]);
                    for (a, &xv) in row.iter_mut().zip(&x) {
                        *a = _mm256_fmadd_ps(d, xv, *a);
                    }
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
