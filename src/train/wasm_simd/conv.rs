//! The conv layer's kernels: the forward planes and the weight gradient.

use core::arch::wasm32::*;

use super::{V, load, load_at, load2, mul_add, store_at, store2};
use crate::train::kernels::LANES;

/// Output channels per register tile of the forward kernel, as the twin's tiles.
const OC_TILE: usize = 4;
/// Positions per register tile (two vectors), as the twin's tiles.
const P_TILE: usize = 8;

/// Planes of image `b`, the twin of [`crate::train::kernels::conv_forward`] (same arguments, same
/// bits): `planes[oc·P + p] = relu?(bias[oc] + Σ_k weights[oc·K + k] · cols[k·R + b·P + p])`.
pub fn conv_forward(
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
) {
    let o = bias.len();
    let k = weights.len() / o;
    let r = cols.len() / k;
    let taps: Vec<&[f32]> = cols
        .chunks_exact(r)
        .map(|t| &t[b * p..(b + 1) * p])
        .collect();
    let zero = f32x4_splat(0.0);
    // the twin's tiles clamp with `a > 0 ? a : 0`: pmax(0, a) is `0 < a ? a : 0`
    let relu_tile = |a: v128| if relu { f32x4_pmax(zero, a) } else { a };
    // after its tiles the twin clamps with `a < 0 ? 0 : a`, which keeps −0 and NaN
    let relu_tail = |a: v128| {
        if relu {
            v128_bitselect(zero, a, f32x4_lt(a, zero))
        } else {
            a
        }
    };
    let p_tiles = p / P_TILE * P_TILE;
    let oc_tiles = o / OC_TILE * OC_TILE;
    let taps8: Vec<&[[f32; P_TILE]]> = taps
        .iter()
        .map(|t| &t[..p_tiles].as_chunks::<P_TILE>().0[..p_tiles / P_TILE])
        .collect();
    for oc in (0..oc_tiles).step_by(OC_TILE) {
        // the tile's weights by tap: wt[kk][t] = w[oc + t, kk]
        let wt: Vec<[v128; OC_TILE]> = (0..k)
            .map(|kk| std::array::from_fn(|t| f32x4_splat(weights[(oc + t) * k + kk])))
            .collect();
        let mut tile = planes[oc * p..(oc + OC_TILE) * p].chunks_exact_mut(p);
        let mut rows: [&mut [f32]; OC_TILE] = std::array::from_fn(|_| match tile.next() {
            Some(r) => r,
            None => &mut [], // never: the tile has OC_TILE planes
        });
        {
            // whole tiles of positions; every slice has exactly `tiles` of them, so indexing by
            // `v < tiles` needs no checks
            let tiles = p_tiles / P_TILE;
            let mut rows8: [&mut [[f32; P_TILE]]; OC_TILE] = std::array::from_fn(|_| &mut [][..]);
            for (dst, row) in rows8.iter_mut().zip(rows.iter_mut()) {
                *dst = &mut row[..p_tiles].as_chunks_mut::<P_TILE>().0[..tiles];
            }
            for v in 0..tiles {
                let mut acc: [[v128; 2]; OC_TILE] =
                    std::array::from_fn(|t| [f32x4_splat(bias[oc + t]); 2]);
                for (tap, w) in taps8.iter().zip(&wt) {
                    let x = load2(&tap[v]);
                    for (a, &wv) in acc.iter_mut().zip(w) {
                        a[0] = mul_add(wv, x.0, a[0]);
                        a[1] = mul_add(wv, x.1, a[1]);
                    }
                }
                for (row, a) in rows8.iter_mut().zip(&acc) {
                    store2(&mut row[v], relu_tile(a[0]), relu_tile(a[1]));
                }
            }
        }
        // the positions after the tiles: one vector, then one at a time
        let mut pos = p_tiles;
        if pos + V <= p {
            let mut acc: [v128; OC_TILE] = std::array::from_fn(|t| f32x4_splat(bias[oc + t]));
            for (tap, w) in taps.iter().zip(&wt) {
                let x = load_at(tap, pos);
                for (a, &wv) in acc.iter_mut().zip(w) {
                    *a = mul_add(wv, x, *a);
                }
            }
            for (row, a) in rows.iter_mut().zip(&acc) {
                store_at(row, pos, relu_tail(*a));
            }
            pos += V;
        }
        for (t, row) in rows.iter_mut().enumerate() {
            for q in pos..p {
                let mut a = bias[oc + t];
                for (kk, tap) in taps.iter().enumerate() {
                    a += weights[(oc + t) * k + kk] * tap[q];
                }
                row[q] = if relu && a < 0.0 { 0.0 } else { a };
            }
        }
    }
    // channels after the tiles, one plane at a time (the twin clamps these with `a > 0 ? a : 0`)
    for oc in oc_tiles..o {
        let plane = &mut planes[oc * p..(oc + 1) * p];
        let w = &weights[oc * k..(oc + 1) * k];
        let vectors = p / V * V;
        for pos in (0..vectors).step_by(V) {
            let mut a = f32x4_splat(bias[oc]);
            for (&wv, tap) in w.iter().zip(&taps) {
                a = mul_add(f32x4_splat(wv), load_at(tap, pos), a);
            }
            store_at(plane, pos, relu_tile(a));
        }
        for q in vectors..p {
            let mut a = bias[oc];
            for (&wv, tap) in w.iter().zip(&taps) {
                a += wv * tap[q];
            }
            plane[q] = if !relu || a > 0.0 { a } else { 0.0 };
        }
    }
}

/// Adds image `b`'s terms to the conv's gradient partial sums, the twin of
/// [`crate::train::kernels::conv_weight_grad`] (same arguments, same bits): `weights[oc·K + k][j]
/// += dY[oc, p] · cols[k, b·P + p]` and `bias[oc][j] += dY[oc, p]` for the positions `p ≡ j (mod
/// LANES)`, each term added on its own in position order. Tiles of 3 channels × 3 taps share their
/// loads; each tile runs twice, once per half of the 8 lanes, so 9 accumulators, 3 gradient vectors
/// and one input vector fit in 16 registers.
pub fn conv_weight_grad(
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    weights: &mut [[f32; LANES]],
    bias: &mut [[f32; LANES]],
) {
    let o = bias.len();
    let k = weights.len() / o.max(1);
    if o == 0 || k == 0 || p == 0 {
        return;
    }
    let r = cols.len() / k;
    let taps: Vec<&[f32]> = cols
        .chunks_exact(r)
        .map(|t| &t[b * p..(b + 1) * p])
        .collect();
    let planes: Vec<&[f32]> = d_planes.chunks_exact(p).take(o).collect();
    let whole = p / LANES * LANES;
    // the bias sums: lane j gains dY at the positions ≡ j, in order
    for (lanes, d) in bias.iter_mut().zip(&planes) {
        for half in 0..2 {
            let mut a = load_half(lanes, half);
            for pos in (half * V..whole).step_by(LANES) {
                a = f32x4_add(a, load_at(d, pos));
            }
            store_half(lanes, half, a);
        }
        for (j, &g) in d[whole..].iter().enumerate() {
            lanes[j] += g;
        }
    }
    const T: usize = 3;
    let oc_tiles = o / T * T;
    let k_tiles = k / T * T;
    for oc in (0..o).step_by(T) {
        for kk in (0..k).step_by(T) {
            match (oc < oc_tiles, kk < k_tiles) {
                (true, true) => grad_tile::<T, T>(&taps, &planes, weights, k, oc, kk, whole),
                (true, false) => {
                    for kk in kk..k {
                        grad_tile::<T, 1>(&taps, &planes, weights, k, oc, kk, whole);
                    }
                }
                (false, true) => {
                    for oc in oc..o {
                        grad_tile::<1, T>(&taps, &planes, weights, k, oc, kk, whole);
                    }
                }
                (false, false) => {
                    for oc in oc..o {
                        for kk in kk..k {
                            grad_tile::<1, 1>(&taps, &planes, weights, k, oc, kk, whole);
                        }
                    }
                }
            }
        }
    }
    // the positions after the whole vectors of 8, lane j gaining position whole + j
    for (oc, d) in planes.iter().enumerate() {
        for (kk, tap) in taps.iter().enumerate() {
            let lanes = &mut weights[oc * k + kk];
            for (j, (&g, &x)) in d[whole..].iter().zip(&tap[whole..]).enumerate() {
                lanes[j] += g * x;
            }
        }
    }
}

/// Lanes `4·half..4·half + 4` of an 8-lane partial sum.
#[inline(always)]
fn load_half(lanes: &[f32; LANES], half: usize) -> v128 {
    load_at(lanes, half * V)
}

#[inline(always)]
fn store_half(lanes: &mut [f32; LANES], half: usize, v: v128) {
    store_at(lanes, half * V, v)
}

/// The weight sums of channels `oc..oc + OC` × taps `kk..kk + KT` over the positions `..whole`.
#[inline(always)]
fn grad_tile<const OC: usize, const KT: usize>(
    taps: &[&[f32]],
    planes: &[&[f32]],
    weights: &mut [[f32; LANES]],
    k: usize,
    oc: usize,
    kk: usize,
    whole: usize,
) {
    // whole vectors of 8 positions; each slice has exactly `vectors` of them, so indexing by
    // `v < vectors` needs no checks
    let vectors = whole / LANES;
    let d8: [&[[f32; LANES]]; OC] =
        std::array::from_fn(|c| &planes[oc + c][..whole].as_chunks::<LANES>().0[..vectors]);
    let x8: [&[[f32; LANES]]; KT] =
        std::array::from_fn(|t| &taps[kk + t][..whole].as_chunks::<LANES>().0[..vectors]);
    grad_tile_half::<OC, KT, 0>(&d8, &x8, weights, k, oc, kk, vectors);
    grad_tile_half::<OC, KT, 1>(&d8, &x8, weights, k, oc, kk, vectors);
}

/// Lanes `4·H..4·H + 4` of a tile's sums (see [`grad_tile`]).
#[inline(always)]
fn grad_tile_half<const OC: usize, const KT: usize, const H: usize>(
    d8: &[&[[f32; LANES]]; OC],
    x8: &[&[[f32; LANES]]; KT],
    weights: &mut [[f32; LANES]],
    k: usize,
    oc: usize,
    kk: usize,
    vectors: usize,
) {
    let half = |a: &[f32; LANES]| load(&a.as_chunks::<V>().0[H]);
    let mut acc: [[v128; KT]; OC] =
        std::array::from_fn(|c| std::array::from_fn(|t| half(&weights[(oc + c) * k + kk + t])));
    for v in 0..vectors {
        let d: [v128; OC] = std::array::from_fn(|c| half(&d8[c][v]));
        for t in 0..KT {
            let x = half(&x8[t][v]);
            for c in 0..OC {
                acc[c][t] = mul_add(d[c], x, acc[c][t]);
            }
        }
    }
    for (c, row) in acc.iter().enumerate() {
        for (t, &a) in row.iter().enumerate() {
            store_half(&mut weights[(oc + c) * k + kk + t], H, a);
        }
    }
}
