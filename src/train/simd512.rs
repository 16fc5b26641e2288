//! AVX-512F versions of the trainer's conv forward planes (16 positions per vector, up to 12 output
//! channels per register tile) and conv weight gradient (16 positions per vector, up to 3 × 3
//! accumulators), picked at run time by the conv layer when the CPU has the [`Avx512`]
//! tier and otherwise replaced by the AVX2 kernel in simd.rs. Like that kernel it sums each output
//! from the bias through the taps in order with fused multiply-adds, so it agrees with the portable
//! twin in kernels.rs to rounding (the same bound as the AVX2 kernel's test).
//!
//! Vectors are loaded from and stored to `&[f32; 16]`s, so every memory access is checked by the
//! slice that produced the array; the `unsafe` blocks in `load` and `store` only turn those references
//! into pointers.

use std::arch::x86_64::*;

use crate::cpu::Avx512;

/// Floats per AVX-512 vector.
pub const LANES: usize = 16;

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

/// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k w[oc·K + k] · cols[k·R + b·P + p])`
/// for whole tiles of output channels (12, 8 or 6, whichever divides O, else tiles of 6 and a rest)
/// and whole vectors of 16 positions. Returns how many channels and positions it covered; the caller
/// computes the rest (as for [`super::simd::conv_forward`]).
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
    // SAFETY: `_cpu` proves the CPU has AVX-512F and FMA (see `crate::cpu`).
    unsafe {
        match bias.len() {
            o if o % 12 == 0 => conv_forward_tiles::<12>(cols, b, p, weights, bias, relu, planes),
            o if o % 8 == 0 => conv_forward_tiles::<8>(cols, b, p, weights, bias, relu, planes),
            _ => conv_forward_tiles::<6>(cols, b, p, weights, bias, relu, planes),
        }
    }
}

/// [`conv_forward`] compiled for the vector features, `OC` channels per tile.
#[target_feature(enable = "avx512f,fma")]
fn conv_forward_tiles<const OC: usize>(
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
) -> (usize, usize) {
    let o = bias.len();
    if o == 0 || weights.is_empty() {
        return (0, 0);
    }
    let k = weights.len() / o;
    let r = cols.len() / k.max(1);
    let vectors = p / LANES;
    // every tap's slice has exactly `vectors` entries, so indexing them by `v < vectors` needs no checks
    let taps: Vec<&[[f32; LANES]]> = cols
        .chunks_exact(r)
        .map(|t| &t[b * p..(b + 1) * p].as_chunks::<LANES>().0[..vectors])
        .collect();
    let oc_done = o / OC * OC;
    let zero = _mm512_setzero_ps();
    for oc in (0..oc_done).step_by(OC) {
        // the tile's weights by tap: wt[kk][t] = w[oc + t, kk]
        let wt: Vec<[f32; OC]> = (0..k)
            .map(|kk| std::array::from_fn(|t| weights[(oc + t) * k + kk]))
            .collect();
        let mut tile = planes[oc * p..(oc + OC) * p].chunks_exact_mut(p);
        let mut rows: [&mut [[f32; LANES]]; OC] = std::array::from_fn(|_| match tile.next() {
            Some(r) => &mut r.as_chunks_mut::<LANES>().0[..vectors],
            None => &mut [], // never: the tile has OC planes
        });
        for v in 0..vectors {
            let mut acc: [__m512; OC] = std::array::from_fn(|t| _mm512_set1_ps(bias[oc + t]));
            for (tap, w) in taps.iter().zip(&wt) {
                let x = load(&tap[v]);
                for (a, &wv) in acc.iter_mut().zip(w) {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(wv), x, *a);
                }
            }
            for (row, a) in rows.iter_mut().zip(&acc) {
                let y = if relu { _mm512_max_ps(*a, zero) } else { *a };
                store(&mut row[v], y);
            }
        }
    }
    (oc_done, vectors * LANES)
}

/// Taps per weight-gradient tile.
const GRAD_K: usize = 3;

/// [`super::simd::conv_weight_grad`] with vectors of 16 positions: adds `Σ_p dY[oc, p] · cols[k, b·P +
/// p]` over whole vectors to `lanes[oc·K + k]` (8 partial sums each, as the AVX2 kernel keeps them: a
/// vector's two halves are added into them at the end of the image), for whole tiles of channels
/// (3, or else 2; 6 measured slower, 27 live vectors) × taps; the first tap tile also adds `Σ_p dY[oc,
/// p]` to `bias[oc]`. Returns (channels, taps, positions) covered; the caller adds the rest.
pub fn conv_weight_grad(
    _cpu: Avx512,
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    lanes: &mut [[f32; 8]],
    bias: &mut [[f32; 8]],
) -> (usize, usize, usize) {
    // SAFETY: `_cpu` proves the CPU has AVX-512 F and DQ and FMA (see `crate::cpu`).
    unsafe {
        match bias.len() {
            o if o % 3 == 0 => weight_grad_tiles::<3>(cols, b, p, d_planes, lanes, bias),
            _ => weight_grad_tiles::<2>(cols, b, p, d_planes, lanes, bias),
        }
    }
}

/// Add the two 8-lane halves of `v` to `dst`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn add_halves(dst: &mut [f32; 8], v: __m512) {
    let folded = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps::<1>(v));
    // SAFETY: `dst` is an exclusive reference to 8 floats; loadu/storeu have no alignment
    // requirement.
    unsafe {
        _mm256_storeu_ps(
            dst.as_mut_ptr(),
            _mm256_add_ps(_mm256_loadu_ps(dst.as_ptr()), folded),
        )
    }
}

#[target_feature(enable = "avx512f,avx512dq,fma")]
fn weight_grad_tiles<const OC: usize>(
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    lanes: &mut [[f32; 8]],
    bias: &mut [[f32; 8]],
) -> (usize, usize, usize) {
    let o = bias.len();
    if o == 0 || lanes.len() < o {
        return (0, 0, 0);
    }
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
            let mut acc = [[_mm512_setzero_ps(); GRAD_K]; OC];
            let mut sums = [_mm512_setzero_ps(); OC];
            let first = kk == 0;
            for v in 0..vectors {
                let x: [__m512; GRAD_K] = [
                    load(&taps[kk][v]),
                    load(&taps[kk + 1][v]),
                    load(&taps[kk + 2][v]),
                ];
                for (c, (row, sum)) in acc.iter_mut().zip(sums.iter_mut()).enumerate() {
                    let d = load(&planes[oc + c][v]);
                    if first {
                        *sum = _mm512_add_ps(*sum, d);
                    }
                    for (a, &xv) in row.iter_mut().zip(&x) {
                        *a = _mm512_fmadd_ps(d, xv, *a);
                    }
                }
            }
            if first {
                for (c, sum) in sums.iter().enumerate() {
                    add_halves(&mut bias[oc + c], *sum);
                }
            }
            for (c, row) in acc.iter().enumerate() {
                for (t, a) in row.iter().enumerate() {
                    add_halves(&mut lanes[(oc + c) * k + kk + t], *a);
                }
            }
        }
    }
    (oc_done, k_done, vectors * LANES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::train::kernels;
    use crate::train::kernels::tests::{CONV_SHAPES, gamma, lanes, values};

    /// Against the portable twin, with the AVX2 kernel's bound: both sum each output from the bias
    /// through the taps in order, the vector kernel fused (at most K roundings per term), the twin
    /// apart (at most K + 1), so they differ by at most (γ(K) + γ(K + 1))·Σ|term|, the bias counted as
    /// a term. What the tiles leave, the portable code finishes, equal to the twin's values.
    #[test]
    fn conv_forward_matches_the_portable_twin() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut rng = Rng::new(23);
        let shapes = CONV_SHAPES
            .into_iter()
            .chain([(32, 9, 1, 169), (10, 27, 2, 40)]);
        for (o, k, images, p) in shapes {
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
                    assert_eq!(p_done, p / LANES * LANES);
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

    /// Against the portable twin, from zeroed lanes and from lanes already holding sums, with the
    /// AVX2 kernel's bound. Each of the 8 lanes gains n = ⌈P / 8⌉ terms; the twin adds them one by one
    /// (at most n + 1 roundings per term); here each term goes through the fused sums of its vector
    /// half (⌈P / 16⌉), the addition of the halves, the addition to the lane and the portable rest, at
    /// most n + 1 as well, so the lanes differ by at most 2·γ(n + 1)·(|start| + Σ|term|). The bias
    /// sums, without products, obey the same bound (their order differs from the twin's, so they are
    /// not always equal).
    #[test]
    fn conv_weight_grad_matches_the_portable_twin() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        const L: usize = 8;
        let mut rng = Rng::new(24);
        let shapes =
            CONV_SHAPES
                .into_iter()
                .chain([(12, 9, 1, 100), (8, 10, 2, 37), (6, 9, 1, 676)]);
        for (o, k, images, p) in shapes {
            let r = images * p;
            let (cols, d) = (values(&mut rng, k * r), values(&mut rng, o * p));
            let zero = (vec![[0.0; L]; o * k], vec![[0.0; L]; o]);
            for (start_w, start_b) in [zero, (lanes(&mut rng, o * k), lanes(&mut rng, o))] {
                for b in 0..images {
                    let (mut want_w, mut want_b) = (start_w.clone(), start_b.clone());
                    kernels::conv_weight_grad(&cols, b, p, &d, &mut want_w, &mut want_b);
                    let (mut got_w, mut got_b) = (start_w.clone(), start_b.clone());
                    let done = conv_weight_grad(cpu, &cols, b, p, &d, &mut got_w, &mut got_b);
                    if p >= LANES && o >= 2 && k >= GRAD_K {
                        assert!(done.0 > 0 && done.1 > 0 && done.2 > 0, "{done:?}");
                    }
                    kernels::conv_weight_grad_rest(&cols, b, p, &d, &mut got_w, &mut got_b, done);
                    let n = p.div_ceil(L);
                    let size = |j: usize, term: &dyn Fn(usize) -> f64| -> f64 {
                        (j..p).step_by(L).map(|q| term(q).abs()).sum()
                    };
                    for oc in 0..o {
                        for j in 0..L {
                            let at = format!("{o}×{k}×{p} image {b} channel {oc} lane {j}");
                            let (got, want) = (got_b[oc][j], want_b[oc][j]);
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
}
