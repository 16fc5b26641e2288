//! The trainer's SIMD128 kernels (src/train/wasm_simd/) against their portable twins, in a real
//! browser (headless Chromium through chromedriver), on the tutorial's shapes, on odd sizes that
//! leave partial tiles and vectors, and on random shapes. Built with `simd128` only (the training
//! module, pkg/train/), every output must have the twin's bits. Built with `relaxed-simd` too
//! (pkg/train-relaxed/), the multiply-adds may be fused: the sums must then lie within the bound the
//! AVX2 kernels' tests allow, 2·γ(n + 1)·Σ|term| for n terms, and some must differ (V8 fuses on x86-64 CPUs with FMA, as
//! CI's are); maxima, winners, Adam and the −0 clamps keep the twin's bits in both. Needs the
//! `training` feature.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use ptq_playground::rng::Rng;
use ptq_playground::train::wasm_simd::{self as simd, portable};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LANES: usize = 8;
/// Whether this build's multiply-adds are relaxed (possibly fused).
const RELAXED: bool = cfg!(target_feature = "relaxed-simd");

fn values(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `a` and `b` hold the same bits, element by element.
fn assert_same_bits(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what} [{i}]: {x} vs {y}");
    }
}

/// γ(n) = n·u / (1 − n·u), u the unit roundoff of f32.
fn gamma(n: usize) -> f64 {
    let nu = n as f64 * (f32::EPSILON as f64 / 2.0);
    nu / (1.0 - nu)
}

/// The kernel's sums `got` against the twin's `want`: the same bits in a SIMD128 build; in a relaxed
/// build, within 2·γ(terms + 1)·size of each other, `size` being each sum's Σ|term| (the twin run on
/// the absolute values; one more γ covers its own rounding). Returns how many differ.
fn assert_twin_sums(got: &[f32], want: &[f32], size: &[f32], terms: usize, what: &str) -> usize {
    if !RELAXED {
        assert_same_bits(got, want, what);
        return 0;
    }
    assert_eq!(
        (got.len(), want.len()),
        (size.len(), size.len()),
        "{what}: lengths"
    );
    let mut differ = 0;
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(size).enumerate() {
        let bound = 2.0 * gamma(terms + 2) * s as f64;
        let diff = (g as f64 - w as f64).abs();
        assert!(diff <= bound, "{what} [{i}]: {g} vs {w} ± {bound}");
        differ += usize::from(g.to_bits() != w.to_bits());
    }
    differ
}

fn abs(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

/// (O, K, images, P): the tutorial's conv, partial channel and position tiles, fewer positions than a
/// vector, tiles of taps and channels that are not whole, one channel, one tap.
const CONV_SHAPES: [(usize, usize, usize, usize); 8] = [
    (12, 9, 2, 676),
    (7, 10, 2, 37),
    (4, 2, 1, 5),
    (5, 3, 1, 13),
    (9, 27, 2, 121),
    (1, 1, 1, 3),
    (3, 4, 1, 12),
    (13, 8, 3, 20),
];

/// Conv shapes: the fixed ones, then random ones from `rng`.
fn conv_shapes(rng: &mut Rng) -> Vec<(usize, usize, usize, usize)> {
    let random = (0..12).map(|_| {
        let o = 1 + rng.below(14) as usize;
        let k = 1 + rng.below(20) as usize;
        let images = 1 + rng.below(3) as usize;
        let p = 1 + rng.below(70) as usize;
        (o, k, images, p)
    });
    CONV_SHAPES.into_iter().chain(random).collect()
}

#[wasm_bindgen_test]
fn conv_forward_has_the_portable_sums() {
    let mut rng = Rng::new(31);
    let mut differ = 0;
    for (o, k, images, p) in conv_shapes(&mut rng) {
        let r = images * p;
        let cols = values(&mut rng, k * r);
        let (weights, bias) = (values(&mut rng, o * k), values(&mut rng, o));
        for b in 0..images {
            // Σ|term| per output, the bias counted as a term (a ReLU only brings sums closer)
            let mut size = vec![f32::NAN; o * p];
            portable::conv_forward(
                &abs(&cols),
                b,
                p,
                &abs(&weights),
                &abs(&bias),
                false,
                &mut size,
            );
            for relu in [false, true] {
                let mut want = vec![f32::NAN; o * p];
                portable::conv_forward(&cols, b, p, &weights, &bias, relu, &mut want);
                let mut got = vec![f32::NAN; o * p];
                simd::conv_forward(&cols, b, p, &weights, &bias, relu, &mut got);
                let at = format!("{o}×{k}×{p} relu {relu} image {b}");
                differ += assert_twin_sums(&got, &want, &size, k + 1, &at);
            }
        }
    }
    assert!(!RELAXED || differ > 0, "relaxed build: no sum was fused");
}

/// Sums that come out −0 (bias −0, zero weights): the twin's ReLU turns them into +0 in its tiles and
/// keeps −0 in the positions after them, and so must the SIMD kernel.
#[wasm_bindgen_test]
fn conv_forward_clamps_negative_zero_as_the_twin_does() {
    for (o, k, p) in [(4, 3, 13), (6, 2, 23), (1, 1, 9)] {
        let cols = vec![-1.0f32; k * p];
        let (weights, bias) = (vec![0.0f32; o * k], vec![-0.0f32; o]);
        let mut want = vec![f32::NAN; o * p];
        portable::conv_forward(&cols, 0, p, &weights, &bias, true, &mut want);
        let mut got = vec![f32::NAN; o * p];
        simd::conv_forward(&cols, 0, p, &weights, &bias, true, &mut got);
        assert!(want.iter().any(|v| v.to_bits() == (-0.0f32).to_bits()) || o % 4 != 0);
        assert_same_bits(&got, &want, &format!("{o}×{k}×{p} −0"));
    }
}

/// NaN and ±0 sums through the ReLU: in the tiles `0 < a ? a : 0` (a `pmax`, which the relaxed build
/// turns into a relaxed maximum that may pick either operand for these), after them `a < 0 ? 0 : a`.
/// The expected values are written out, not taken from the twin (which is built the same way).
#[wasm_bindgen_test]
fn conv_forward_clamps_nan_and_zeros_as_its_selects_do() {
    // 4 channels (one tile) × 13 positions: a tile of 8, a vector of 4, then one on its own
    let (o, k, p) = (4, 1, 13);
    let cols = vec![-1.0f32; k * p];
    let weights = vec![0.0f32; o * k];
    // each sum is the bias plus 0·(−1) = −0: NaN, −0, +0 and 1 stay what they are
    let bias = [f32::NAN, -0.0, 0.0, 1.0];
    let mut got = vec![2.0f32; o * p];
    simd::conv_forward(&cols, 0, p, &weights, &bias, true, &mut got);
    for (oc, &b) in bias.iter().enumerate() {
        for q in 0..p {
            let v = got[oc * p + q];
            let at = format!("channel {oc} (bias {b}) position {q}: {v}");
            if q < 8 {
                // 0 < a ? a : 0 turns NaN and −0 into +0
                let want = if b > 0.0 { b } else { 0.0 };
                assert_eq!(v.to_bits(), want.to_bits(), "{at}");
            } else if b.is_nan() {
                assert!(v.is_nan(), "{at}");
            } else {
                // a < 0 ? 0 : a keeps −0
                assert_eq!(v.to_bits(), b.to_bits(), "{at}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn conv_weight_grad_has_the_portable_sums() {
    let mut rng = Rng::new(32);
    for (o, k, images, p) in conv_shapes(&mut rng) {
        let r = images * p;
        let (cols, d) = (values(&mut rng, k * r), values(&mut rng, o * p));
        let lanes = |rng: &mut Rng, n: usize| -> Vec<[f32; LANES]> {
            (0..n)
                .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
                .collect()
        };
        let zero = (vec![[0.0; LANES]; o * k], vec![[0.0; LANES]; o]);
        for (start_w, start_b) in [zero, (lanes(&mut rng, o * k), lanes(&mut rng, o))] {
            for b in 0..images {
                let (mut want_w, mut want_b) = (start_w.clone(), start_b.clone());
                portable::conv_weight_grad(&cols, b, p, &d, &mut want_w, &mut want_b);
                let (mut got_w, mut got_b) = (start_w.clone(), start_b.clone());
                simd::conv_weight_grad(&cols, b, p, &d, &mut got_w, &mut got_b);
                // each lane's |start| + Σ|term|, from the twin on absolute values
                let mut size_w: Vec<[f32; LANES]> =
                    start_w.iter().map(|l| l.map(f32::abs)).collect();
                let mut size_b = start_b.clone();
                portable::conv_weight_grad(&abs(&cols), b, p, &abs(&d), &mut size_w, &mut size_b);
                let at = format!("{o}×{k}×{p} image {b}");
                let terms = p.div_ceil(LANES) + 1;
                let (got, want) = (got_w.as_flattened(), want_w.as_flattened());
                assert_twin_sums(got, want, size_w.as_flattened(), terms, &at);
                // the bias sums have no products: the same additions in the same order
                assert_same_bits(got_b.as_flattened(), want_b.as_flattened(), &at);
            }
        }
    }
}

/// (H, W, C, images): the tutorial's, odd sizes, rows whose last 4 windows overlap the previous 4, rows
/// of exactly 4 windows, and rows of fewer than 4 (which run the twin); channels in groups of 4 (the
/// tutorial's 12, 4, 8) and not.
const POOL_SHAPES: [(usize, usize, usize, usize); 8] = [
    (26, 26, 12, 2),
    (11, 19, 8, 3),
    (17, 16, 3, 1),
    (20, 34, 5, 2),
    (7, 9, 2, 1),
    (9, 11, 1, 3),
    (8, 8, 4, 1),
    (2, 14, 2, 2),
];

/// Maxima and the index of each window's first maximum, on coarse values so that ties are common.
#[wasm_bindgen_test]
fn max_pool_has_the_portable_maxima_and_winners() {
    let mut rng = Rng::new(33);
    for (h, w, c, images) in POOL_SHAPES {
        let count = images * c;
        let planes: Vec<f32> = (0..count * h * w)
            .map(|_| rng.below(7) as f32 - 2.0)
            .collect();
        let len = images * (h / 2) * (w / 2) * c;
        let (mut want, mut want_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
        portable::max_pool_2x2_planes(&planes, count, h, w, c, &mut want, &mut want_arg);
        let (mut got, mut got_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
        simd::max_pool_2x2_planes(&planes, count, h, w, c, &mut got, &mut got_arg);
        assert_same_bits(&got, &want, &format!("{h}×{w} maxima"));
        assert_eq!(got_arg, want_arg, "{h}×{w} winners");
    }
}

/// (batch, N, units): the tutorial's dense layer, partial vectors and tiles, one of each, and inner
/// dimensions longer than one block of the general product (N for the forward product, the batch for
/// the weight gradient, the units for the input gradient).
const DENSE_SHAPES: [(usize, usize, usize); 10] = [
    (32, 2028, 10),
    (3, 21, 7),
    (1, 8, 1),
    (5, 13, 5),
    (7, 600, 3),
    (300, 9, 6),
    (3, 10, 530),
    (1, 1, 1),
    (6, 3, 12),
    (5, 12, 300),
];

#[wasm_bindgen_test]
fn dense_products_have_the_portable_sums() {
    let mut rng = Rng::new(34);
    for (batch, n, units) in DENSE_SHAPES {
        let (x, w) = (values(&mut rng, batch * n), values(&mut rng, units * n));
        let d = values(&mut rng, batch * units);
        let at = format!("{batch}×{n}×{units}");
        let (ax, aw, ad) = (abs(&x), abs(&w), abs(&d));
        let (mut got, mut want) = (vec![f32::NAN; batch * units], vec![0.0; batch * units]);
        simd::dense_forward(&x, &w, &mut got, batch, n, units);
        portable::dense_forward(&x, &w, &mut want, batch, n, units);
        let mut size = vec![0.0; batch * units];
        portable::dense_forward(&ax, &aw, &mut size, batch, n, units);
        assert_twin_sums(&got, &want, &size, n, &format!("forward {at}"));
        let (mut got, mut want) = (vec![f32::NAN; units * n], vec![0.0; units * n]);
        simd::dense_weight_grad(&d, &x, &mut got, batch, n, units);
        portable::dense_weight_grad(&d, &x, &mut want, batch, n, units);
        let mut size = vec![0.0; units * n];
        portable::dense_weight_grad(&ad, &ax, &mut size, batch, n, units);
        assert_twin_sums(&got, &want, &size, batch, &format!("weight grad {at}"));
        let (mut got, mut want) = (vec![f32::NAN; batch * n], vec![0.0; batch * n]);
        simd::dense_input_grad(&d, &w, &mut got, batch, n, units);
        portable::dense_input_grad(&d, &w, &mut want, batch, n, units);
        let mut size = vec![0.0; batch * n];
        portable::dense_input_grad(&ad, &aw, &mut size, batch, n, units);
        assert_twin_sums(&got, &want, &size, units, &format!("input grad {at}"));
    }
}

/// Several steps on tensors of every length up to a few vectors and one large one.
#[wasm_bindgen_test]
fn adam_update_has_the_portable_bits() {
    let mut rng = Rng::new(35);
    let coefficients = (1.0 - 0.9f32, 1.0 - 0.999f32, 1e-7f32);
    for len in (0..19).chain([1000, 1003]) {
        let param = values(&mut rng, len);
        let (mut got, mut want) = (
            (param.clone(), vec![0.0; len], vec![0.0; len]),
            (param, vec![0.0; len], vec![0.0; len]),
        );
        for step in 0..4 {
            let grad = values(&mut rng, len);
            let alpha = 0.001 * (step + 1) as f32;
            simd::adam_update(
                coefficients,
                alpha,
                &mut got.0,
                &grad,
                &mut got.1,
                &mut got.2,
            );
            portable::adam_update(
                coefficients,
                alpha,
                &mut want.0,
                &grad,
                &mut want.1,
                &mut want.2,
            );
            let at = format!("length {len} step {step}");
            assert_same_bits(&got.0, &want.0, &format!("param {at}"));
            assert_same_bits(&got.1, &want.1, &format!("m {at}"));
            assert_same_bits(&got.2, &want.2, &format!("v {at}"));
        }
    }
}
