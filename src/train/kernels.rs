//! The portable builds of the trainer's six hot kernels, twins of the AVX2 + FMA kernels in simd.rs:
//! what wasm and x86-64 CPUs without those features run, and the oracles the vector kernels are tested
//! against. Each twin takes the vector kernel's arguments and computes the same values, everything the
//! vector kernel would have covered included; the `_rest` functions finish what a vector kernel left.

use std::hint::select_unpredictable;

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Independent partial sums in the conv gradient's reductions over positions (one 8-float vector), so
/// the sums do not depend on the vector width the compiler picks.
pub const LANES: usize = 8;

/// Output channels per register tile.
const OC_TILE: usize = 4;
/// Positions per register tile (one 8-float vector).
const P_TILE: usize = 8;

/// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k weights[oc·K + k] · cols[k·R + b·P + p])`,
/// each sum taken from the bias through the taps in order, one multiplication and one addition per tap.
#[inline(always)]
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
    let mut oc = 0;
    // Register tiles: OC_TILE channels × P_TILE positions of accumulators stay in registers while
    // all K taps are added, so each input vector is loaded once per tile of channels.
    while oc + OC_TILE <= o {
        let w: [&[f32]; OC_TILE] =
            std::array::from_fn(|t| &weights[(oc + t) * k..(oc + t + 1) * k]);
        let mut pos = 0;
        while pos + P_TILE <= p {
            let mut acc = [[0.0f32; P_TILE]; OC_TILE];
            for t in 0..OC_TILE {
                acc[t] = [bias[oc + t]; P_TILE];
            }
            for (kk, tap) in taps.iter().enumerate() {
                let x: &[f32; P_TILE] = tap[pos..pos + P_TILE]
                    .as_chunks()
                    .0
                    .first()
                    .unwrap_or(&[0.0; P_TILE]);
                for t in 0..OC_TILE {
                    let wv = w[t][kk];
                    for j in 0..P_TILE {
                        acc[t][j] += wv * x[j];
                    }
                }
            }
            for t in 0..OC_TILE {
                if relu {
                    for a in acc[t].iter_mut() {
                        *a = if *a > 0.0 { *a } else { 0.0 };
                    }
                }
                planes[(oc + t) * p + pos..(oc + t) * p + pos + P_TILE].copy_from_slice(&acc[t]);
            }
            pos += P_TILE;
        }
        // the positions left over after whole tiles
        for t in 0..OC_TILE {
            for q in pos..p {
                let mut a = bias[oc + t];
                for (kk, tap) in taps.iter().enumerate() {
                    a += w[t][kk] * tap[q];
                }
                planes[(oc + t) * p + q] = if relu && a < 0.0 { 0.0 } else { a };
            }
        }
        oc += OC_TILE;
    }
    // channels left over after whole tiles: one plane at a time
    for oc in oc..o {
        let plane = &mut planes[oc * p..(oc + 1) * p];
        plane.fill(bias[oc]);
        for (&wv, tap) in weights[oc * k..(oc + 1) * k].iter().zip(&taps) {
            for (acc, &x) in plane.iter_mut().zip(tap.iter()) {
                *acc += wv * x;
            }
        }
        if relu {
            for acc in plane.iter_mut() {
                *acc = if *acc > 0.0 { *acc } else { 0.0 };
            }
        }
    }
}

/// Plane values the vector tiles did not cover: channels `oc_done..` at every position, and
/// positions `p_done..` of the other channels.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub fn conv_forward_rest(
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
    oc_done: usize,
    p_done: usize,
) {
    let o = bias.len();
    let k = weights.len() / o;
    let r = cols.len() / k;
    for oc in 0..o {
        let start = if oc < oc_done { p_done } else { 0 };
        for q in start..p {
            let mut a = bias[oc];
            for kk in 0..k {
                a += weights[oc * k + kk] * cols[kk * r + b * p + q];
            }
            planes[oc * p + q] = if relu && a <= 0.0 { 0.0 } else { a };
        }
    }
}

/// Adds image `b`'s terms to the conv's gradient partial sums: `weights[oc·K + k][j] += dY[oc, p] ·
/// cols[k, b·P + p]` and `bias[oc][j] += dY[oc, p]` for the positions `p ≡ j (mod LANES)`, each term
/// added on its own in position order.
pub fn conv_weight_grad(
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    weights: &mut [[f32; LANES]],
    bias: &mut [[f32; LANES]],
) {
    conv_weight_grad_rest(cols, b, p, d_planes, weights, bias, (0, 0, 0));
}

/// The bias and weight sums of [`conv_weight_grad`] the vector tiles did not cover (`done` = the
/// channels, taps and positions they did).
pub fn conv_weight_grad_rest(
    cols: &[f32],
    b: usize,
    p: usize,
    d_planes: &[f32],
    weights: &mut [[f32; LANES]],
    bias: &mut [[f32; LANES]],
    (oc_done, k_done, p_done): (usize, usize, usize),
) {
    let o = bias.len();
    let k = weights.len() / o.max(1);
    let r = cols.len() / k;
    for (oc, d) in d_planes.chunks_exact(p).take(o).enumerate() {
        // the vector kernel summed the bias over its positions along with the first tap tile
        let bias_start = if oc < oc_done && k_done > 0 {
            p_done
        } else {
            0
        };
        let (chunks, tail) = d[bias_start..].as_chunks::<LANES>();
        let mut lanes = bias[oc];
        for c in chunks {
            for j in 0..LANES {
                lanes[j] += c[j];
            }
        }
        for (j, &g) in tail.iter().enumerate() {
            lanes[j] += g;
        }
        bias[oc] = lanes;
        for kk in 0..k {
            let start = if oc < oc_done && kk < k_done {
                p_done
            } else {
                0
            };
            let x = &cols[kk * r + b * p..kk * r + (b + 1) * p];
            let (d_chunks, d_tail) = d[start..].as_chunks::<LANES>();
            let (x_chunks, x_tail) = x[start..].as_chunks::<LANES>();
            let mut lanes = weights[oc * k + kk];
            for (dc, xc) in d_chunks.iter().zip(x_chunks) {
                for j in 0..LANES {
                    lanes[j] += dc[j] * xc[j];
                }
            }
            for (j, (&g, &v)) in d_tail.iter().zip(x_tail).enumerate() {
                lanes[j] += g * v;
            }
            weights[oc * k + kk] = lanes;
        }
    }
}

/// A 2×2, stride-2 max pool over channel planes (`planes`: `count` planes of `h × w`), writing NHWC
/// output (`c` channels) and, per output in plane order (`[count][h/2][w/2]`), the index into `planes`
/// of its window's first maximum (in the order top-left, top-right, bottom-left, bottom-right). Each
/// output row of one plane is computed for all `out_x` at once, so the loop runs along a row.
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
    let mut best = vec![0.0f32; ow];
    let mut arg = vec![0u32; ow];
    for (plane_index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (plane_index / c, plane_index % c);
        let plane_start = (plane_index * h * w) as u32;
        for out_y in 0..oh {
            // the common 2×2/2 pool: each window is a pair from two adjacent rows
            let top_start = 2 * out_y * w;
            let top = plane[top_start..top_start + 2 * ow].as_chunks::<2>().0;
            let bottom = plane[top_start + w..top_start + w + 2 * ow]
                .as_chunks::<2>()
                .0;
            let first = plane_start + top_start as u32;
            for (out_x, ((t, b), (m, a))) in top
                .iter()
                .zip(bottom)
                .zip(best.iter_mut().zip(arg.iter_mut()))
                .enumerate()
            {
                let at = first + 2 * out_x as u32;
                let (mut mv, mut ma) = (t[0], at);
                for (v, i) in [
                    (t[1], at + 1),
                    (b[0], at + w as u32),
                    (b[1], at + w as u32 + 1),
                ] {
                    let better = v > mv;
                    mv = select_unpredictable(better, v, mv);
                    ma = select_unpredictable(better, i, ma);
                }
                (*m, *a) = (mv, ma);
            }
            let o = (b * oh + out_y) * ow * c + ch;
            for (out_x, &m) in best.iter().enumerate() {
                output[o + out_x * c] = m;
            }
            argmax[(plane_index * oh + out_y) * ow..][..ow].copy_from_slice(&arg);
        }
    }
}

// The dense twins are general products from ndarray, whose kernels fix their own summation order;
// direct loops would sum in another order and so change what the portable build trains.

/// Which operand of [`matmul`] is used transposed.
#[derive(Clone, Copy)]
enum Transpose {
    /// `c = a · bᵀ` with `a: m×k`, `b: n×k`.
    B,
    /// `c = aᵀ · b` with `a: k×m`, `b: k×n`.
    A,
    /// `c = a · b` with `a: m×k`, `b: k×n`.
    Neither,
}

/// `c (m×n) = a · b` with one operand transposed as `t` says; all row-major slices. The layers size
/// every buffer from the same shapes, so the views always fit; if they ever did not (a bug), the
/// product is skipped (debug builds stop) rather than panicking in the browser.
fn matmul(t: Transpose, a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    let (a_shape, b_shape) = match t {
        Transpose::B => ((m, k), (n, k)),
        Transpose::A => ((k, m), (k, n)),
        Transpose::Neither => ((m, k), (k, n)),
    };
    let (Ok(a), Ok(b), Ok(mut c)) = (
        ArrayView2::from_shape(a_shape, a),
        ArrayView2::from_shape(b_shape, b),
        ArrayViewMut2::from_shape((m, n), c),
    ) else {
        debug_assert!(false, "matmul operands do not fit {m}×{k}×{n}");
        return;
    };
    match t {
        Transpose::B => general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c),
        Transpose::A => general_mat_mul(1.0, &a.t(), &b, 0.0, &mut c),
        Transpose::Neither => general_mat_mul(1.0, &a, &b, 0.0, &mut c),
    }
}

/// Dense layer forward without bias: `out = x · wᵀ` (`x`: batch×N, `w`: U×N), as a general product.
pub fn dense_forward(x: &[f32], w: &[f32], out: &mut [f32], batch: usize, n: usize, units: usize) {
    matmul(Transpose::B, x, w, out, batch, n, units);
}

/// Dense layer weight gradient: `gw = dᵀ · x` (`d`: batch×U, `x`: batch×N), as a general product.
pub fn dense_weight_grad(
    d: &[f32],
    x: &[f32],
    gw: &mut [f32],
    batch: usize,
    n: usize,
    units: usize,
) {
    matmul(Transpose::A, d, x, gw, units, batch, n);
}

/// Dense layer input gradient: `dx = d · w` (`d`: batch×U, `w`: U×N), as a general product.
pub fn dense_input_grad(
    d: &[f32],
    w: &[f32],
    dx: &mut [f32],
    batch: usize,
    n: usize,
    units: usize,
) {
    matmul(Transpose::Neither, d, w, dx, batch, units, n);
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::rng::Rng;

    /// γ(n) = n·u / (1 − n·u) with f32's unit roundoff u = 2⁻²⁴. A sum whose every term passes through
    /// at most n roundings (a product rounded on its own or fused into an addition, then the additions
    /// on its way to the result, in any grouping) is within γ(n)·Σ|term| of the exact sum, because
    /// each term is multiplied by at most n factors (1 + δ) with |δ| ≤ u (Higham, "Accuracy and
    /// Stability of Numerical Algorithms", lemma 3.1).
    pub(in crate::train) fn gamma(n: usize) -> f64 {
        let nu = n as f64 * (f32::EPSILON as f64 / 2.0);
        nu / (1.0 - nu)
    }

    /// `len` values uniform in [−1, 1).
    pub(in crate::train) fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
        (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// `len` lanes of values uniform in [−1, 1).
    pub(in crate::train) fn lanes(rng: &mut Rng, len: usize) -> Vec<[f32; LANES]> {
        (0..len)
            .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
            .collect()
    }

    /// A routing case over `images` images of `c` channel planes of `p` windows each: outputs (every
    /// 5th zero, which a ReLU blocks), gradients (every 7th from the 3rd −0) and each plane's `p`
    /// winners, distinct, drawn from a shuffled range of its own, a few moved past the end of `d_in`
    /// (which is 4× the outputs long). Returns (outputs, gradients, winners, the length of `d_in`).
    pub(in crate::train) fn routing_case(
        rng: &mut Rng,
        p: usize,
        c: usize,
        images: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<u32>, usize) {
        let n = images * p * c;
        let (mut output, mut d_out) = (values(rng, n), values(rng, n));
        for y in output.iter_mut().step_by(5) {
            *y = 0.0;
        }
        for g in d_out.iter_mut().skip(2).step_by(7) {
            *g = -0.0;
        }
        let d_len = 4 * n;
        let mut argmax = Vec::with_capacity(n);
        for plane in 0..images * c {
            let mut cells: Vec<u32> = (0..4 * p as u32)
                .map(|v| (plane * 4 * p) as u32 + v)
                .collect();
            rng.shuffle(&mut cells);
            argmax.extend(
                cells[..p]
                    .iter()
                    .map(|&i| if i % 11 == 3 { i + d_len as u32 } else { i }),
            );
        }
        (output, d_out, argmax, d_len)
    }

    /// The routing written out plane by plane into a cleared `d_in` of `d_len`: each winner inside it
    /// gains its window's gradient (none where `relu` and the window's output is not positive).
    pub(in crate::train) fn route_reference(
        output: &[f32],
        d_out: &[f32],
        argmax: &[u32],
        (p, c): (usize, usize),
        relu: bool,
        d_len: usize,
    ) -> Vec<f32> {
        let mut d_in = vec![0.0f32; d_len];
        for (plane, args) in argmax.chunks_exact(p).enumerate() {
            let (b, ch) = (plane / c, plane % c);
            for (pos, &i) in args.iter().enumerate() {
                let j = (b * p + pos) * c + ch;
                let g = if relu && output[j] <= 0.0 {
                    0.0
                } else {
                    d_out[j]
                };
                if let Some(d) = d_in.get_mut(i as usize) {
                    *d += g;
                }
            }
        }
        d_in
    }

    /// Conv shapes (O, K, images, P): the tutorial's, then partial channel tiles, partial tap tiles and
    /// positions that do not fill whole vectors, then no whole tile or vector at all.
    pub(in crate::train) const CONV_SHAPES: [(usize, usize, usize, usize); 3] =
        [(12, 9, 2, 676), (7, 10, 2, 37), (4, 2, 1, 5)];

    /// Pool shapes (H, W, C, images): the tutorial's, odd sizes, rows whose last 8 windows overlap the
    /// previous 8, and rows of fewer than 8 windows.
    pub(in crate::train) const POOL_SHAPES: [(usize, usize, usize, usize); 4] = [
        (26, 26, 12, 2),
        (17, 16, 3, 1),
        (20, 34, 5, 2),
        (7, 9, 2, 1),
    ];

    /// Dense shapes (batch, N, units): partial vectors, partial unit tiles, odd batches, the tutorial's.
    pub(in crate::train) const DENSE_SHAPES: [(usize, usize, usize); 4] =
        [(3, 21, 7), (32, 2028, 10), (1, 8, 1), (5, 13, 5)];

    /// One multiplication and one addition per tap, from the bias through the taps in order: the
    /// same operations as a scalar loop, so the results are equal, not merely close.
    #[test]
    fn conv_forward_sums_each_output_from_the_bias_through_the_taps() {
        let mut rng = Rng::new(11);
        for (o, k, images, p) in CONV_SHAPES {
            let r = images * p;
            let cols = values(&mut rng, k * r);
            let (weights, bias) = (values(&mut rng, o * k), values(&mut rng, o));
            for (relu, b) in [false, true]
                .into_iter()
                .flat_map(|relu| (0..images).map(move |b| (relu, b)))
            {
                let mut planes = vec![f32::NAN; o * p];
                conv_forward(&cols, b, p, &weights, &bias, relu, &mut planes);
                for oc in 0..o {
                    for q in 0..p {
                        let mut a = bias[oc];
                        for kk in 0..k {
                            a += weights[oc * k + kk] * cols[kk * r + b * p + q];
                        }
                        let want = if relu { a.max(0.0) } else { a };
                        let got = planes[oc * p + q];
                        assert_eq!(got, want, "{o}×{k}×{p} image {b} channel {oc} position {q}");
                    }
                }
            }
        }
    }

    /// Position `q` goes to lane `q mod LANES`, each lane in position order, onto what the lanes held.
    #[test]
    fn conv_weight_grad_adds_each_position_to_its_lane_in_order() {
        let mut rng = Rng::new(12);
        for (o, k, images, p) in CONV_SHAPES {
            let r = images * p;
            let (cols, d) = (values(&mut rng, k * r), values(&mut rng, o * p));
            let (start_w, start_b) = (lanes(&mut rng, o * k), lanes(&mut rng, o));
            for b in 0..images {
                let (mut got_w, mut got_b) = (start_w.clone(), start_b.clone());
                conv_weight_grad(&cols, b, p, &d, &mut got_w, &mut got_b);
                let (mut want_w, mut want_b) = (start_w.clone(), start_b.clone());
                for oc in 0..o {
                    for q in 0..p {
                        let g = d[oc * p + q];
                        want_b[oc][q % LANES] += g;
                        for kk in 0..k {
                            want_w[oc * k + kk][q % LANES] += g * cols[kk * r + b * p + q];
                        }
                    }
                }
                assert_eq!(got_w, want_w, "{o}×{k}×{p} image {b} weights");
                assert_eq!(got_b, want_b, "{o}×{k}×{p} image {b} bias");
            }
        }
    }

    /// Against a direct scalar pool: same maxima, same winning indices (the first maximum in window
    /// order), on coarse values so that ties are common.
    #[test]
    fn max_pool_2x2_keeps_the_first_maximum_of_each_window() {
        let mut rng = Rng::new(3);
        for (h, w, c, images) in POOL_SHAPES {
            let count = images * c;
            let planes: Vec<f32> = (0..count * h * w)
                .map(|_| rng.below(7) as f32 - 2.0)
                .collect();
            let (oh, ow) = (h / 2, w / 2);
            let mut out = vec![f32::NAN; images * oh * ow * c];
            let mut arg = vec![u32::MAX; out.len()];
            max_pool_2x2_planes(&planes, count, h, w, c, &mut out, &mut arg);
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
                            (out[o], arg[(index * oh + y) * ow + x] as usize),
                            best,
                            "{h}×{w} plane {index} window ({y}, {x})"
                        );
                    }
                }
            }
        }
    }

    /// The general products against exact sums: each product of two f32s is exact in f64 and the
    /// f64 sum of `n` of them is off by at most n·ε₆₄·Σ|term|, so an f32 result must lie within
    /// (γ(n) + n·ε₆₄)·Σ|term| of the f64 one.
    #[test]
    fn dense_products_are_within_the_rounding_bound_of_exact_sums() {
        let mut rng = Rng::new(4);
        for (batch, n, units) in DENSE_SHAPES {
            let (x, w) = (values(&mut rng, batch * n), values(&mut rng, units * n));
            let d = values(&mut rng, batch * units);
            let mut out = vec![f32::NAN; batch * units];
            let mut gw = vec![f32::NAN; units * n];
            let mut dx = vec![f32::NAN; batch * n];
            dense_forward(&x, &w, &mut out, batch, n, units);
            dense_weight_grad(&d, &x, &mut gw, batch, n, units);
            dense_input_grad(&d, &w, &mut dx, batch, n, units);
            // got[row·cols + col] against Σ_i term(row, col, i)
            let check = |name: &str,
                         got: &[f32],
                         (rows, cols, inner): (usize, usize, usize),
                         term: &dyn Fn(usize, usize, usize) -> (f32, f32)| {
                for row in 0..rows {
                    for col in 0..cols {
                        let terms = (0..inner).map(|i| term(row, col, i));
                        let (exact, size) = terms.fold((0.0f64, 0.0f64), |(s, a), (u, v)| {
                            let t = u as f64 * v as f64;
                            (s + t, a + t.abs())
                        });
                        let bound = (gamma(inner) + inner as f64 * f64::EPSILON) * size;
                        let got = got[row * cols + col] as f64;
                        assert!(
                            (got - exact).abs() <= bound,
                            "{name} {batch}×{n}×{units} ({row}, {col}): {got} vs {exact} ± {bound}"
                        );
                    }
                }
            };
            check("forward", &out, (batch, units, n), &|b, u, i| {
                (x[b * n + i], w[u * n + i])
            });
            check("weight grad", &gw, (units, n, batch), &|u, i, b| {
                (d[b * units + u], x[b * n + i])
            });
            check("input grad", &dx, (batch, n, units), &|b, i, u| {
                (d[b * units + u], w[u * n + i])
            });
        }
    }
}
