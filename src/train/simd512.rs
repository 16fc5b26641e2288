//! AVX-512F versions of the trainer's conv forward planes (16 positions per vector, up to 12 output
//! channels per register tile), picked at run time by the conv layer when the CPU has the [`Avx512`]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::train::kernels;
    use crate::train::kernels::tests::{CONV_SHAPES, gamma, values};

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
}
