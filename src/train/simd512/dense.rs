//! The dense layer's three products.

use std::arch::x86_64::*;

use crate::cpu::Avx512;
use crate::train::simd;

use super::{HALF, LANES, load, load8, store};

/// A row of 8-float vectors and the floats after them.
type Row<'a> = (&'a [[f32; HALF]], &'a [f32]);

/// One sample of a dense product: its inputs (or gradient) and its outputs.
type Sample<'a> = (&'a [f32], &'a mut [f32]);

/// [`crate::train::simd::dense_forward`] with its bits: `out[b·U + u] = Σ_i x[b·N + i] · w[u·N +
/// i]`. Each output's 8 partial sums, its lane sum and its tail are the AVX2 kernel's; here two
/// samples' partial sums share a register (their inputs side by side, the weights repeated in both
/// halves), four samples per tile. Returns false, doing nothing, if the slices do not have those
/// sizes.
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

/// The column blocks of the dense gradients: `(c, true)` for each block of 16 columns from `c`, then
/// `(c, false)` for the block of 8 the AVX2 kernel has left when its count of 8-blocks is odd; and
/// the column from which the scalar code takes the rest.
fn column_blocks(n: usize) -> (impl Iterator<Item = (usize, bool)>, usize) {
    let (sixteens, eights) = (n / LANES * LANES, n / HALF * HALF);
    let blocks = (0..sixteens)
        .step_by(LANES)
        .map(|c| (c, true))
        .chain((eights > sixteens).then_some((sixteens, false)));
    (blocks, eights)
}

/// [`crate::train::simd::dense_weight_grad`] with its bits: `gw[u·N + i] = Σ_b d[b·U + u] · x[b·N +
/// i]`. A lane is one column, so 16 columns per vector give the AVX2 kernel's sums; a last block of
/// 8 and the columns after it run in the AVX2 code. Returns false, doing nothing, if the slices do
/// not have those sizes.
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
    let (blocks, rest) = column_blocks(n);
    // SAFETY: `_cpu` proves the CPU has AVX-512F, AVX2 and FMA (see `crate::cpu`).
    unsafe {
        for (c, wide) in blocks {
            for (u, tile) in simd::unit_tiles(units) {
                match (wide, tile == simd::UNIT_TILE) {
                    (true, true) => grad_tile16::<{ simd::UNIT_TILE }>(d, x, gw, n, units, u, c),
                    (true, false) => grad_tile16::<1>(d, x, gw, n, units, u, c),
                    (false, true) => {
                        simd::grad_tile::<{ simd::UNIT_TILE }>(d, x, gw, n, units, u, c)
                    }
                    (false, false) => simd::grad_tile::<1>(d, x, gw, n, units, u, c),
                }
            }
        }
        simd::weight_grad_columns(d, x, gw, n, units, rest);
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

/// [`crate::train::simd::dense_input_grad`] with its bits: `dx[b·N + i] = Σ_u d[b·U + u] · w[u·N +
/// i]`. A lane is one column, so 16 columns per vector give the AVX2 kernel's sums; a last block of
/// 8 and the columns after it run in the AVX2 code. Returns false, doing nothing, if the slices do
/// not have those sizes.
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
    let (blocks, rest) = column_blocks(n);
    // SAFETY: `_cpu` proves the CPU has AVX-512F, AVX2 and FMA (see `crate::cpu`).
    unsafe {
        for (c, wide) in blocks {
            for (u, tile) in simd::unit_tiles(units) {
                match (wide, tile == simd::UNIT_TILE) {
                    (true, true) => {
                        input_grad_tile16::<{ simd::UNIT_TILE }>(d, w, dx, n, units, u, c)
                    }
                    (true, false) => input_grad_tile16::<1>(d, w, dx, n, units, u, c),
                    (false, true) => {
                        simd::input_grad_tile::<{ simd::UNIT_TILE }>(d, w, dx, n, units, u, c)
                    }
                    (false, false) => simd::input_grad_tile::<1>(d, w, dx, n, units, u, c),
                }
            }
        }
        simd::input_grad_columns(d, w, dx, n, units, rest);
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
