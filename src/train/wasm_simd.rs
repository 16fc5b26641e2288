//! Explicit WebAssembly SIMD128 builds of the trainer's hot kernels: the conv forward planes and weight
//! gradient, the 2×2 max pool over planes (together the fused conv + pool pair), the dense forward,
//! weight-gradient and input-gradient products, and Adam's update. The layers and Adam call them on
//! wasm32 built with `simd128` (as the project's wasm builds are), in place of the portable twins in
//! kernels.rs and adam.rs that LLVM auto-vectorizes; all but the dense input gradient, whose twin's
//! general product already runs matrixmultiply's own SIMD128 kernel and measured as fast
//! (bench/wasm_kernels.sh).
//!
//! Every kernel here gives the same bits as its portable twin, not merely close ones: SIMD128 has no
//! fused multiply-add, so each sum is taken with a separate multiplication and addition per term, term
//! by term in the twin's order, and only independent sums share a vector. In detail:
//! - conv forward: each output from the bias through the taps in order, as the twin; the twin's ReLU
//!   differs between its tiles (`a > 0 ? a : 0`) and the positions after them (`a < 0 ? 0 : a`, which
//!   keeps −0 and NaN), and so does this kernel, region by region.
//! - conv weight gradient: lane `j` of each 8-lane partial sum gains the positions `p ≡ j (mod 8)` in
//!   order, onto what it held, as the twin; here the 8 lanes are two 4-float vectors.
//! - max pool: maxima and the index of the first maximum involve no rounding.
//! - dense products: the twins are ndarray's general products, which run matrixmultiply's sgemm. It
//!   sums each output over the inner dimension in blocks of [`GEMM_KC`] terms, each block from zero
//!   term by term with a separate multiply and add, then adds the blocks to the output in order
//!   (multiplying by α = 1 and β = 1, which is exact). These kernels keep that order, without packing
//!   the operands (the matrices are skinny: the tutorial's dense layer is 10 units over 2,028 inputs).
//! - Adam: elementwise, the same IEEE operations (square root and division are correctly rounded).
//!
//! Measured with bench/wasm_kernels.sh (Node 20's V8 on a 2-core x86-64 machine shared with other
//! jobs; one call = one batch of 32 on the tutorial's shapes, fastest of 9 runs) against the twins:
//! conv forward 6.7–8×, conv weight gradient 2.6–3×, dense forward and weight gradient 1.4×, the max
//! pool and Adam 1.0× (LLVM already vectorizes their twins as well), the unused dense input gradient
//! 1.4× on its own but at best at parity once the layer calls it. One training epoch on 60,000 made-up
//! images went from 3.9–5.6 s to 2.5–4.0 s in the same runs, with the same loss to the last bit; those
//! images left Adam's moments subnormal, so the bench now trains on MNIST's real images, where an epoch
//! with these kernels takes 1.8–1.9 s.
//!
//! Relaxed SIMD (`f32x4_relaxed_madd`) is not used: a fused multiply-add would change the bits, and
//! browsers without it would need a second build picked at run time.
//!
//! Vectors are loaded from and stored to `&[f32; 4]`s, so every memory access is checked by the slice
//! that produced the array; the `unsafe` blocks in `load`, `store` and `store_u32` only turn those
//! references into pointers.

use core::arch::wasm32::*;

use super::kernels::LANES;

/// Floats per SIMD128 vector.
const V: usize = 4;

/// Load 4 floats.
#[inline(always)]
fn load(a: &[f32; V]) -> v128 {
    // SAFETY: `a` is a reference to 4 initialized floats; v128.load has no alignment requirement.
    unsafe { v128_load(a.as_ptr().cast()) }
}

/// Store 4 floats.
#[inline(always)]
fn store(a: &mut [f32; V], v: v128) {
    // SAFETY: `a` is an exclusive reference to 4 floats; v128.store has no alignment requirement.
    unsafe { v128_store(a.as_mut_ptr().cast(), v) }
}

/// Store 4 u32s.
#[inline(always)]
fn store_u32(a: &mut [u32; V], v: v128) {
    // SAFETY: `a` is an exclusive reference to 4 u32s (16 bytes); no alignment requirement.
    unsafe { v128_store(a.as_mut_ptr().cast(), v) }
}

/// The 4 floats at `s[at..at + 4]` (`at + 4 ≤ s.len()` is the caller's loop bound).
#[inline(always)]
fn load_at(s: &[f32], at: usize) -> v128 {
    match s[at..].first_chunk::<V>() {
        Some(a) => load(a),
        None => f32x4_splat(0.0), // never: the loops stop 4 short of the end
    }
}

/// Store 4 floats at `s[at..at + 4]`.
#[inline(always)]
fn store_at(s: &mut [f32], at: usize, v: v128) {
    if let Some(a) = s[at..].first_chunk_mut::<V>() {
        store(a, v);
    }
}

/// `acc + a·b`, rounded after the multiplication and after the addition.
#[inline(always)]
fn mul_add(a: v128, b: v128, acc: v128) -> v128 {
    f32x4_add(acc, f32x4_mul(a, b))
}

/// Output channels per register tile of the forward kernel, as the twin's tiles.
const OC_TILE: usize = 4;
/// Positions per register tile (two vectors), as the twin's tiles.
const P_TILE: usize = 8;

/// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k weights[oc·K + k] · cols[k·R + b·P + p])`,
/// the twin of [`super::kernels::conv_forward`] (same arguments, same bits).
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
/// [`super::kernels::conv_weight_grad`] (same arguments, same bits): `weights[oc·K + k][j] += dY[oc, p]
/// · cols[k, b·P + p]` and `bias[oc][j] += dY[oc, p]` for the positions `p ≡ j (mod LANES)`, each term
/// added on its own in position order. Tiles of 3 channels × 3 taps share their loads; each tile runs
/// twice, once per half of the 8 lanes, so 9 accumulators, 3 gradient vectors and one input vector fit
/// in 16 registers.
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

/// A 2×2, stride-2 max pool over channel planes, the twin of [`super::kernels::max_pool_2x2_planes`]
/// (same arguments, same maxima and indices). Four windows of a row per step: the even and odd columns
/// are separated with shuffles, then three compare-and-select rounds; a row's last step is shifted back
/// to end at its last window (recomputing a few, which gives the same values). Rows of fewer than 4
/// windows run the twin.
pub fn max_pool_2x2_planes(
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) {
    let (oh, ow) = (h / 2, w / 2);
    if ow < V {
        super::kernels::max_pool_2x2_planes(planes, count, h, w, c, output, argmax);
        return;
    }
    let lane_offsets = u32x4(0, 2, 4, 6);
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let row_out = &mut output[(b * oh + out_y) * ow * c + ch..];
            let row_arg = &mut argmax[(index * oh + out_y) * ow..];
            // windows x..x + 4 from the 8 floats of each row that hold them
            let mut windows = |x: usize, t: &[f32; 2 * V], bo: &[f32; 2 * V]| {
                let (ta, tb) = load2(t);
                let (ba, bb) = load2(bo);
                let (t0, t1) = (
                    i32x4_shuffle::<0, 2, 4, 6>(ta, tb),
                    i32x4_shuffle::<1, 3, 5, 7>(ta, tb),
                );
                let (b0, b1) = (
                    i32x4_shuffle::<0, 2, 4, 6>(ba, bb),
                    i32x4_shuffle::<1, 3, 5, 7>(ba, bb),
                );
                let base = i32x4_add(
                    u32x4_splat(plane_start + (top_start + 2 * x) as u32),
                    lane_offsets,
                );
                let (mut m, mut a) = (t0, base);
                for (v, offset) in [(t1, 1), (b0, w as u32), (b1, w as u32 + 1)] {
                    // the first maximum wins: only a strictly greater value replaces it
                    let better = f32x4_gt(v, m);
                    m = v128_bitselect(v, m, better);
                    a = v128_bitselect(i32x4_add(base, u32x4_splat(offset)), a, better);
                }
                if let Some(out) = row_out.get_mut(x * c..=(x + 3) * c) {
                    out[0] = f32x4_extract_lane::<0>(m);
                    out[c] = f32x4_extract_lane::<1>(m);
                    out[2 * c] = f32x4_extract_lane::<2>(m);
                    out[3 * c] = f32x4_extract_lane::<3>(m);
                }
                if let Some(arg) = row_arg[x..].first_chunk_mut() {
                    store_u32(arg, a);
                }
            };
            let (top_steps, _) = top.as_chunks::<{ 2 * V }>();
            let (bottom_steps, _) = bottom.as_chunks::<{ 2 * V }>();
            for (i, (t, bo)) in top_steps.iter().zip(bottom_steps).enumerate() {
                windows(i * V, t, bo);
            }
            // the row's last step, shifted back to end at its last window
            if ow % V != 0 {
                let x = ow - V;
                if let (Some(t), Some(bo)) = (
                    top[2 * x..].first_chunk::<{ 2 * V }>(),
                    bottom[2 * x..].first_chunk::<{ 2 * V }>(),
                ) {
                    windows(x, t, bo);
                }
            }
        }
    }
}

/// Load 8 floats as two vectors.
#[inline(always)]
fn load2(a: &[f32; 2 * V]) -> (v128, v128) {
    let (halves, _) = a.as_chunks::<V>();
    (load(&halves[0]), load(&halves[1]))
}

/// Store two vectors as 8 floats.
#[inline(always)]
fn store2(a: &mut [f32; 2 * V], lo: v128, hi: v128) {
    let (halves, _) = a.as_chunks_mut::<V>();
    store(&mut halves[0], lo);
    store(&mut halves[1], hi);
}

/// Terms per block of matrixmultiply's sgemm (its `S_KC`): each output of the portable dense products
/// is the sum of its blocks, each block summed from zero.
pub const GEMM_KC: usize = 256;

/// Dense layer forward without bias: `out[b·U + u] = Σ_i x[b·N + i] · w[u·N + i]` (`x`: batch×N, `w`:
/// U×N), the twin of [`super::kernels::dense_forward`] (same bits). The weights are first transposed
/// into runs of N vectors of 4 units (the last padded with zeros), so 4 units are one vector; tiles
/// of 4 samples × 8 units keep 8 accumulators in registers and share each weight load among the 4
/// samples.
pub fn dense_forward(x: &[f32], w: &[f32], out: &mut [f32], batch: usize, n: usize, units: usize) {
    if (x.len(), w.len(), out.len()) != (batch * n, units * n, batch * units) {
        // never from the layers, which size every buffer from the same shapes: the twin refuses it
        return super::kernels::dense_forward(x, w, out, batch, n, units);
    }
    if units == 0 || batch == 0 {
        return;
    }
    let up = units.div_ceil(V) * V;
    // wt[uv·N + i][j] = w[(4·uv + j)·N + i]: per vector of 4 units, its weights input by input
    let mut wt = vec![[0.0f32; V]; n * (up / V)];
    for (u, row) in w.chunks_exact(n.max(1)).take(units).enumerate() {
        let (uv, j) = (u / V, u % V);
        for (dst, &v) in wt[uv * n..(uv + 1) * n].iter_mut().zip(row) {
            dst[j] = v;
        }
    }
    let mut sums = vec![0.0f32; batch * up];
    const S: usize = 4;
    let sample_tiles = batch / S * S;
    for b in (0..batch).step_by(S) {
        let mut u = 0;
        while u < up {
            let wide = u + 2 * V <= up;
            match (b < sample_tiles, wide) {
                (true, true) => forward_tile::<S, 2>(x, &wt, &mut sums, n, up, b, u),
                (true, false) => forward_tile::<S, 1>(x, &wt, &mut sums, n, up, b, u),
                (false, true) => {
                    for b in b..batch {
                        forward_tile::<1, 2>(x, &wt, &mut sums, n, up, b, u);
                    }
                }
                (false, false) => {
                    for b in b..batch {
                        forward_tile::<1, 1>(x, &wt, &mut sums, n, up, b, u);
                    }
                }
            }
            u += if wide { 2 * V } else { V };
        }
    }
    for (o, s) in out.chunks_exact_mut(units).zip(sums.chunks_exact(up)) {
        o.copy_from_slice(&s[..units]);
    }
}

/// Sums of samples `b..b + S` × units `u..u + 4·UV` into `sums` (rows of `up`), from `wt` (see
/// [`dense_forward`]).
#[inline(always)]
fn forward_tile<const S: usize, const UV: usize>(
    x: &[f32],
    wt: &[[f32; V]],
    sums: &mut [f32],
    n: usize,
    up: usize,
    b: usize,
    u: usize,
) {
    let zero = f32x4_splat(0.0);
    for (block, start) in (0..n).step_by(GEMM_KC).enumerate() {
        let end = (start + GEMM_KC).min(n);
        let len = end - start;
        // every slice has exactly `len` entries, so indexing them by `i < len` needs no checks
        let rows: [&[f32]; S] = std::array::from_fn(|s| &x[(b + s) * n + start..][..len]);
        let ws: [&[[f32; V]]; UV] = std::array::from_fn(|t| &wt[(u / V + t) * n + start..][..len]);
        let mut acc = [[zero; UV]; S];
        for i in 0..len {
            let wv: [v128; UV] = std::array::from_fn(|t| load(&ws[t][i]));
            for s in 0..S {
                let xv = f32x4_splat(rows[s][i]);
                for t in 0..UV {
                    acc[s][t] = mul_add(xv, wv[t], acc[s][t]);
                }
            }
        }
        // the block's sums start the outputs or are added to them (kept in memory, not registers)
        for (s, row) in acc.iter().enumerate() {
            for (t, &a) in row.iter().enumerate() {
                let at = (b + s) * up + u + t * V;
                let v = if block == 0 {
                    a
                } else {
                    f32x4_add(load_at(sums, at), a)
                };
                store_at(sums, at, v);
            }
        }
    }
}

/// Units per register tile of the dense gradient kernels (the tutorial's 10 units in two tiles).
const UNIT_TILE: usize = 5;

/// Dense layer weight gradient: `gw[u·N + i] = Σ_b d[b·U + u] · x[b·N + i]` (`d`: batch×U, `x`:
/// batch×N), the twin of [`super::kernels::dense_weight_grad`] (same bits). Tiles of 5 units × 8
/// columns: 10 accumulators, each input vector loaded once for the 5 units.
pub fn dense_weight_grad(
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    batch: usize,
    n: usize,
    units: usize,
) {
    if (d.len(), x.len(), gw.len()) != (batch * units, batch * n, units * n) {
        // never from the layers, which size every buffer from the same shapes: the twin refuses it
        return super::kernels::dense_weight_grad(d, x, gw, batch, n, units);
    }
    if units == 0 || n == 0 {
        return;
    }
    let unit_tiles = units / UNIT_TILE * UNIT_TILE;
    let wide = n / (2 * V) * (2 * V);
    let vectors = n / V * V;
    for u in (0..units).step_by(UNIT_TILE) {
        let mut c = 0;
        while c < vectors {
            let two = c < wide;
            match (u < unit_tiles, two) {
                (true, true) => grad_columns::<UNIT_TILE, 2>(d, x, gw, batch, n, units, u, c),
                (true, false) => grad_columns::<UNIT_TILE, 1>(d, x, gw, batch, n, units, u, c),
                (false, true) => {
                    for u in u..units {
                        grad_columns::<1, 2>(d, x, gw, batch, n, units, u, c);
                    }
                }
                (false, false) => {
                    for u in u..units {
                        grad_columns::<1, 1>(d, x, gw, batch, n, units, u, c);
                    }
                }
            }
            c += if two { 2 * V } else { V };
        }
    }
    // the columns after the whole vectors
    for u in 0..units {
        for i in vectors..n {
            let mut total = 0.0f32;
            for (block, start) in (0..batch).step_by(GEMM_KC).enumerate() {
                let mut acc = 0.0f32;
                for bb in start..(start + GEMM_KC).min(batch) {
                    acc += d[bb * units + u] * x[bb * n + i];
                }
                total = if block == 0 { acc } else { total + acc };
            }
            gw[u * n + i] = total;
        }
    }
}

/// Columns `c..c + 4·CV` of weight-gradient rows `u..u + T`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn grad_columns<const T: usize, const CV: usize>(
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    batch: usize,
    n: usize,
    units: usize,
    u: usize,
    c: usize,
) {
    let zero = f32x4_splat(0.0);
    if batch == 0 {
        // an empty inner dimension: matrixmultiply writes zeros
        for t in 0..T {
            for s in 0..CV {
                store_at(gw, (u + t) * n + c + s * V, zero);
            }
        }
    }
    for (block, start) in (0..batch).step_by(GEMM_KC).enumerate() {
        let mut acc = [[zero; CV]; T];
        for bb in start..(start + GEMM_KC).min(batch) {
            let xrow = &x[bb * n..(bb + 1) * n];
            let xv: [v128; CV] = std::array::from_fn(|s| load_at(xrow, c + s * V));
            let drow = &d[bb * units..(bb + 1) * units];
            for t in 0..T {
                let g = f32x4_splat(drow[u + t]);
                for s in 0..CV {
                    acc[t][s] = mul_add(g, xv[s], acc[t][s]);
                }
            }
        }
        // the block's sums start the outputs or are added to them (kept in memory, not registers)
        for (t, row) in acc.iter().enumerate() {
            for (s, &a) in row.iter().enumerate() {
                let at = (u + t) * n + c + s * V;
                let v = if block == 0 {
                    a
                } else {
                    f32x4_add(load_at(gw, at), a)
                };
                store_at(gw, at, v);
            }
        }
    }
}

/// Dense layer input gradient: `dx[b·N + i] = Σ_u d[b·U + u] · w[u·N + i]` (`d`: batch×U, `w`: U×N),
/// the twin of [`super::kernels::dense_input_grad`] (same bits). Column block by column block (8, then
/// 4 columns): the block's weights are first copied out of their rows into one contiguous run, then
/// tiles of 4 samples sum over the units from it. The layer does not use it: on the tutorial's shapes
/// it is no faster than its twin (0.8–1.0× in builds whose layer called it), whose general product
/// runs matrixmultiply's own SIMD128 kernel (8×8 register tiles over packed operands);
/// bench/wasm_kernels.sh measures both.
pub fn dense_input_grad(
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    batch: usize,
    n: usize,
    units: usize,
) {
    if (d.len(), w.len(), dx.len()) != (batch * units, units * n, batch * n) {
        // never from the layers, which size every buffer from the same shapes: the twin refuses it
        return super::kernels::dense_input_grad(d, w, dx, batch, n, units);
    }
    if n == 0 || batch == 0 {
        return;
    }
    if units == 0 {
        // an empty inner dimension: matrixmultiply writes zeros
        dx.fill(0.0);
        return;
    }
    let wide = n / (2 * V) * (2 * V);
    let vectors = n / V * V;
    let mut block = vec![[0.0f32; V]; units * 2];
    for c in (0..wide).step_by(2 * V) {
        input_grad_columns::<2>(d, w, dx, n, units, c, &mut block);
    }
    if vectors > wide {
        input_grad_columns::<1>(d, w, dx, n, units, wide, &mut block);
    }
    for (drow, dxrow) in d
        .chunks_exact(units)
        .zip(dx.chunks_exact_mut(n))
        .take(batch)
    {
        for i in vectors..n {
            let mut total = 0.0f32;
            for (index, start) in (0..units).step_by(GEMM_KC).enumerate() {
                let mut acc = 0.0f32;
                for uu in start..(start + GEMM_KC).min(units) {
                    acc += drow[uu] * w[uu * n + i];
                }
                total = if index == 0 { acc } else { total + acc };
            }
            dxrow[i] = total;
        }
    }
}

/// Columns `c..c + 4·CV` of every sample's input gradient; `block` is scratch for the weights.
#[inline(always)]
fn input_grad_columns<const CV: usize>(
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
    c: usize,
    block: &mut [[f32; V]],
) {
    // block[t·U + u] = w[u·N + c + 4t..][..4]: per vector of columns, its weights unit by unit
    let block = &mut block[..units * CV];
    for (t, run) in block.chunks_exact_mut(units).enumerate() {
        for (u, dst) in run.iter_mut().enumerate() {
            if let Some(src) = w[u * n + c + t * V..].first_chunk::<V>() {
                *dst = *src;
            }
        }
    }
    let block: &[[f32; V]] = block;
    let batch = (d.len() / units).min(dx.len() / n);
    let tiles = batch / SAMPLE_TILE * SAMPLE_TILE;
    for b in (0..tiles).step_by(SAMPLE_TILE) {
        let (d, dx) = (&d[b * units..], &mut dx[b * n..]);
        input_grad_tile::<SAMPLE_TILE, CV>(d, dx, n, units, c, block);
    }
    for b in tiles..batch {
        input_grad_tile::<1, CV>(&d[b * units..], &mut dx[b * n..], n, units, c, block);
    }
}

/// Samples per register tile of the input gradient (8 accumulators for 8 columns).
const SAMPLE_TILE: usize = 4;

/// Columns `c..c + 4·CV` of the input gradient of the first `S` samples of `d` (rows of U) and `dx`
/// (rows of N), from the block's weights (see [`input_grad_columns`]): each weight load serves `S`
/// samples.
#[inline(always)]
fn input_grad_tile<const S: usize, const CV: usize>(
    d: &[f32],
    dx: &mut [f32],
    n: usize,
    units: usize,
    c: usize,
    block: &[[f32; V]],
) {
    let zero = f32x4_splat(0.0);
    for (index, start) in (0..units).step_by(GEMM_KC).enumerate() {
        let len = (start + GEMM_KC).min(units) - start;
        // every slice has exactly `len` entries, so indexing them by `i < len` needs no checks
        let drows: [&[f32]; S] = std::array::from_fn(|s| &d[s * units + start..][..len]);
        let ws: [&[[f32; V]]; CV] = std::array::from_fn(|t| &block[t * units + start..][..len]);
        let mut acc = [[zero; CV]; S];
        for i in 0..len {
            let wv: [v128; CV] = std::array::from_fn(|t| load(&ws[t][i]));
            for s in 0..S {
                let g = f32x4_splat(drows[s][i]);
                for t in 0..CV {
                    acc[s][t] = mul_add(g, wv[t], acc[s][t]);
                }
            }
        }
        // the block's sums start the outputs or are added to them (kept in memory, not registers)
        for (row, sums) in dx.chunks_exact_mut(n).zip(&acc) {
            for (t, &a) in sums.iter().enumerate() {
                let at = c + t * V;
                let v = if index == 0 {
                    a
                } else {
                    f32x4_add(load_at(row, at), a)
                };
                store_at(row, at, v);
            }
        }
    }
}

/// Adam's update of one tensor, the twin of the portable update in adam.rs (same bits): `m += (g −
/// m)(1 − β1)`, `v += (g² − v)(1 − β2)`, `p −= α·m / (√v + ε)`, element by element.
pub fn adam_update(
    (one_minus_b1, one_minus_b2, eps): (f32, f32, f32),
    alpha: f32,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let len = param.len().min(grad.len()).min(m.len()).min(v.len());
    let (b1, b2, e, a) = (
        f32x4_splat(one_minus_b1),
        f32x4_splat(one_minus_b2),
        f32x4_splat(eps),
        f32x4_splat(alpha),
    );
    // whole vectors through chunk iterators (no bounds checks), then the rest one at a time
    let (pc, pt) = param[..len].as_chunks_mut::<V>();
    let (gc, gt) = grad[..len].as_chunks::<V>();
    let (mc, mt) = m[..len].as_chunks_mut::<V>();
    let (vc, vt) = v[..len].as_chunks_mut::<V>();
    for (((p, g), m), v) in pc.iter_mut().zip(gc).zip(mc.iter_mut()).zip(vc.iter_mut()) {
        let (g, m0, v0) = (load(g), load(m), load(v));
        let mv = f32x4_add(m0, f32x4_mul(f32x4_sub(g, m0), b1));
        let vv = f32x4_add(v0, f32x4_mul(f32x4_sub(f32x4_mul(g, g), v0), b2));
        let step = f32x4_div(f32x4_mul(a, mv), f32x4_add(f32x4_sqrt(vv), e));
        store(p, f32x4_sub(load(p), step));
        store(m, mv);
        store(v, vv);
    }
    for (((p, &g), m), v) in pt.iter_mut().zip(gt).zip(mt.iter_mut()).zip(vt.iter_mut()) {
        *m += (g - *m) * one_minus_b1;
        *v += (g * g - *v) * one_minus_b2;
        *p -= alpha * *m / (v.sqrt() + eps);
    }
}

/// The portable twins, reachable from the browser tests (tests/web_train_kernels.rs) and benchmarks.
pub mod portable {
    pub use crate::train::kernels::{
        conv_forward, conv_weight_grad, dense_forward, dense_input_grad, dense_weight_grad,
        max_pool_2x2_planes,
    };

    /// Adam's portable update (what adam.rs runs off wasm).
    pub fn adam_update(
        coefficients: (f32, f32, f32),
        alpha: f32,
        param: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        crate::train::adam::update_body(coefficients, alpha, param, grad, m, v);
    }
}
