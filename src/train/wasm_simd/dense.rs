//! The dense layer's three products, in matrixmultiply's order of summation.

use core::arch::wasm32::*;

use super::{V, load, load_at, mul_add, store_at};

/// Terms per block of matrixmultiply's sgemm (its `S_KC`): each output of the portable dense
/// products is the sum of its blocks, each block summed from zero.
pub const GEMM_KC: usize = 256;

/// Dense layer forward without bias: `out[b·U + u] = Σ_i x[b·N + i] · w[u·N + i]` (`x`: batch×N,
/// `w`: U×N), the twin of [`crate::train::kernels::dense_forward`] (same bits). The weights are
/// first transposed into runs of N vectors of 4 units (the last padded with zeros), so 4 units are
/// one vector; tiles of 4 samples × 8 units keep 8 accumulators in registers and share each weight
/// load among the 4 samples.
pub fn dense_forward(x: &[f32], w: &[f32], out: &mut [f32], batch: usize, n: usize, units: usize) {
    if (x.len(), w.len(), out.len()) != (batch * n, units * n, batch * units) {
        // never from the layers, which size every buffer from the same shapes: the twin refuses it
        return crate::train::kernels::dense_forward(x, w, out, batch, n, units);
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
/// batch×N), the twin of [`crate::train::kernels::dense_weight_grad`] (same bits). Tiles of 5 units
/// × 8 columns: 10 accumulators, each input vector loaded once for the 5 units.
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
        return crate::train::kernels::dense_weight_grad(d, x, gw, batch, n, units);
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

/// Dense layer input gradient: `dx[b·N + i] = Σ_u d[b·U + u] · w[u·N + i]` (`d`: batch×U, `w`:
/// U×N), the twin of [`crate::train::kernels::dense_input_grad`] (same bits). Column block by
/// column block (8, then 4 columns): the block's weights are first copied out of their rows into
/// one contiguous run, then tiles of 4 samples sum over the units from it. The layer does not use
/// it: on the tutorial's shapes it is no faster than its twin (0.8–1.0× in builds whose layer
/// called it), whose general product runs matrixmultiply's own SIMD128 kernel (8×8 register tiles
/// over packed operands); bench/wasm_kernels.sh measures both.
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
        return crate::train::kernels::dense_input_grad(d, w, dx, batch, n, units);
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
