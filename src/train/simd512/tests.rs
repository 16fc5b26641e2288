//! Each AVX-512 kernel against its AVX2 twin (bit for bit) or the portable code it replaces.

use super::*;
use crate::cpu::{Avx2Fma, Avx512};
use crate::rng::Rng;
use crate::train::kernels::tests::{
    CONV_SHAPES, DENSE_SHAPES, POOL_SHAPES, lanes, route_reference, routing_case, values,
};
use crate::train::{kernels, simd};

/// Conv shapes (O, K, images, P) beyond the shared ones: 12 and 18 channels (tiles of 12, then
/// 6), an odd number of 8-position vectors, channels in pairs and a lone channel, 3 channels
/// (one pair and a lone one), fewer positions than one vector.
const MORE_CONV: [(usize, usize, usize, usize); 8] = [
    (18, 9, 1, 676),
    (12, 9, 2, 40),
    (8, 9, 1, 24),
    (10, 27, 2, 57),
    (3, 9, 1, 169),
    (5, 6, 1, 33),
    (9, 12, 1, 100),
    (6, 4, 1, 7),
];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The same bits as the AVX2 kernel, and the same coverage, on every shape.
#[test]
fn conv_forward_is_the_avx2_kernel_bit_for_bit() {
    let (Some(cpu), Some(avx2)) = (Avx512::detect(), Avx2Fma::detect()) else {
        return;
    };
    let mut rng = Rng::new(25);
    for (o, k, images, p) in CONV_SHAPES.into_iter().chain(MORE_CONV) {
        let cols = values(&mut rng, k * images * p);
        let (weights, bias) = (values(&mut rng, o * k), values(&mut rng, o));
        for relu in [false, true] {
            for b in 0..images {
                let mut want = vec![f32::NAN; o * p];
                let want_done =
                    simd::conv_forward(avx2, &cols, b, p, &weights, &bias, relu, &mut want);
                let mut got = vec![f32::NAN; o * p];
                let done = conv_forward(cpu, &cols, b, p, &weights, &bias, relu, &mut got);
                // the AVX2 kernel's channels, and every position of them
                assert_eq!(done, (want_done.0, p), "{o}×{k}×{p}");
                // whole planes, once the portable code has finished both
                for (planes, done) in [(&mut got, done), (&mut want, want_done)] {
                    kernels::conv_forward_rest(
                        &cols, b, p, &weights, &bias, relu, planes, done.0, done.1,
                    );
                }
                assert_eq!(bits(&got), bits(&want), "{o}×{k}×{p} relu {relu}");
            }
        }
    }
}

/// The same bits as the AVX2 kernel, from zeroed partial sums and from sums already holding
/// values, image after image, and the same coverage.
#[test]
fn conv_weight_grad_is_the_avx2_kernel_bit_for_bit() {
    let (Some(cpu), Some(avx2)) = (Avx512::detect(), Avx2Fma::detect()) else {
        return;
    };
    let mut rng = Rng::new(26);
    for (o, k, images, p) in CONV_SHAPES.into_iter().chain(MORE_CONV) {
        let cols = values(&mut rng, k * images * p);
        let d = values(&mut rng, o * p);
        let zero = (vec![[0.0; HALF]; o * k], vec![[0.0; HALF]; o]);
        for (start_w, start_b) in [zero, (lanes(&mut rng, o * k), lanes(&mut rng, o))] {
            let (mut want_w, mut want_b) = (start_w.clone(), start_b.clone());
            let (mut got_w, mut got_b) = (start_w, start_b);
            for b in 0..images {
                let want = simd::conv_weight_grad(avx2, &cols, b, p, &d, &mut want_w, &mut want_b);
                let got = conv_weight_grad(cpu, &cols, b, p, &d, &mut got_w, &mut got_b);
                assert_eq!(got, (want.0, want.1, p), "{o}×{k}×{p}");
                kernels::conv_weight_grad_rest(&cols, b, p, &d, &mut want_w, &mut want_b, want);
                kernels::conv_weight_grad_rest(&cols, b, p, &d, &mut got_w, &mut got_b, got);
            }
            let flat = |l: &[[f32; HALF]]| bits(l.as_flattened());
            assert_eq!(flat(&got_w), flat(&want_w), "weights {o}×{k}×{p}");
            assert_eq!(flat(&got_b), flat(&want_b), "bias {o}×{k}×{p}");
        }
    }
}

/// The three dense products give the AVX2 kernels' bits: batches of 1 to 9 samples (groups of
/// four, a pair, a lone sample), inputs with whole 16-blocks, a last block of 8 and a tail, unit
/// tiles of 5 and single units.
#[test]
fn dense_products_are_the_avx2_kernels_bit_for_bit() {
    let (Some(cpu), Some(avx2)) = (Avx512::detect(), Avx2Fma::detect()) else {
        return;
    };
    let mut rng = Rng::new(28);
    let more = [
        (9, 40, 7),
        (6, 24, 10),
        (2, 7, 3),
        (7, 2028, 10),
        (4, 33, 12),
    ];
    for (batch, n, units) in DENSE_SHAPES.into_iter().chain(more) {
        let (x, w, d) = (
            values(&mut rng, batch * n),
            values(&mut rng, units * n),
            values(&mut rng, batch * units),
        );
        let at = format!("{batch}×{n}×{units}");
        let (mut got, mut want) = (vec![f32::NAN; batch * units], vec![f32::NAN; batch * units]);
        assert!(dense_forward(cpu, &x, &w, &mut got, n, units));
        assert!(simd::dense_forward(avx2, &x, &w, &mut want, n, units));
        assert_eq!(bits(&got), bits(&want), "forward {at}");
        let (mut got, mut want) = (vec![f32::NAN; units * n], vec![f32::NAN; units * n]);
        assert!(dense_weight_grad(cpu, &d, &x, &mut got, n, units));
        assert!(simd::dense_weight_grad(avx2, &d, &x, &mut want, n, units));
        assert_eq!(bits(&got), bits(&want), "weight gradient {at}");
        let (mut got, mut want) = (vec![f32::NAN; batch * n], vec![f32::NAN; batch * n]);
        assert!(dense_input_grad(cpu, &d, &w, &mut got, n, units));
        assert!(simd::dense_input_grad(avx2, &d, &w, &mut want, n, units));
        assert_eq!(bits(&got), bits(&want), "input gradient {at}");
        // wrong sizes are refused
        assert!(!dense_forward(cpu, &x[1..], &w, &mut got, n, units));
    }
}

/// The portable twin's maxima and indices exactly, on the shared shapes (rows of fewer than 8
/// windows included, which the AVX2 kernel leaves to the twin) and on rows of 16, 17 and 33
/// windows.
#[test]
fn max_pool_matches_the_portable_twin() {
    let Some(cpu) = Avx512::detect() else {
        return;
    };
    let mut rng = Rng::new(27);
    let shapes =
        POOL_SHAPES
            .into_iter()
            .chain([(4, 32, 2, 1), (6, 35, 3, 2), (2, 66, 1, 1), (3, 2, 4, 2)]);
    for (h, w, c, images) in shapes {
        let count = images * c;
        let mut planes = values(&mut rng, count * h * w);
        // ties: the first maximum in window order must win
        for v in planes.iter_mut().step_by(3) {
            *v = 0.5;
        }
        let len = images * (h / 2) * (w / 2) * c;
        let (mut want, mut want_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
        kernels::max_pool_2x2_planes(&planes, count, h, w, c, &mut want, &mut want_arg);
        let (mut got, mut got_arg) = (vec![f32::NAN; len], vec![u32::MAX; len]);
        assert!(max_pool_2x2_planes(
            cpu,
            &planes,
            count,
            h,
            w,
            c,
            &mut got,
            &mut got_arg
        ));
        assert_eq!(bits(&got), bits(&want), "{h}×{w}×{c}");
        assert_eq!(got_arg, want_arg, "{h}×{w}×{c}");
    }
}

/// The layer's scalar routing into a cleared buffer, term by term: distinct winners per plane
/// (some outside `d_in`, which are skipped), gradients that a ReLU blocks or passes (−0 among
/// them), partial last steps, one to three images.
#[test]
fn route_matches_the_scalar_routing() {
    let Some(cpu) = Avx512::detect() else {
        return;
    };
    let mut rng = Rng::new(29);
    for (p, c, images) in [(169, 12, 2), (17, 3, 3), (5, 1, 1), (32, 4, 1), (1, 2, 2)] {
        let (output, d_out, argmax, d_len) = routing_case(&mut rng, p, c, images);
        for relu in [false, true] {
            let want = route_reference(&output, &d_out, &argmax, (p, c), relu, d_len);
            // the layer routes into a cleared buffer
            let start = vec![0.0; d_len];
            let mut got = start;
            assert!(route_planes(
                cpu,
                &output,
                &d_out,
                &argmax,
                &mut got,
                (p, c),
                relu
            ));
            assert_eq!(bits(&got), bits(&want), "{p}×{c}×{images} relu {relu}");
        }
        // outputs shorter than the planes need are refused
        let mut d_in = vec![0.0; d_len];
        assert!(!route_planes(
            cpu,
            &output[1..],
            &d_out,
            &argmax,
            &mut d_in,
            (p, c),
            true
        ));
    }
}

/// Rows copied as `copy_from_slice` would copy them, nothing written past `dst`; a source too
/// short for the rows is refused.
#[test]
fn row_copies() {
    let Some(cpu) = Avx512::detect() else {
        return;
    };
    let mut rng = Rng::new(30);
    for (rows, width, stride) in [(26, 26, 28), (3, 16, 16), (4, 33, 40), (1, 5, 5), (2, 1, 3)] {
        let src = values(&mut rng, (rows - 1) * stride + width);
        let mut got = vec![f32::NAN; rows * width + 3];
        assert!(copy_rows(
            cpu,
            &mut got[..rows * width],
            &src,
            width,
            stride
        ));
        let mut want = vec![f32::NAN; rows * width + 3];
        for (y, row) in want[..rows * width].chunks_exact_mut(width).enumerate() {
            row.copy_from_slice(&src[y * stride..y * stride + width]);
        }
        assert_eq!(bits(&got), bits(&want), "{rows}×{width}/{stride}");
        assert!(!copy_rows(
            cpu,
            &mut got[..rows * width],
            &src[1..],
            width,
            stride
        ));
    }
}

/// Slices too short for the shapes are refused, not read past.
#[test]
fn short_slices_are_refused() {
    let Some(cpu) = Avx512::detect() else {
        return;
    };
    let (mut out, mut arg) = (vec![0.0; 4], vec![0; 4]);
    assert!(!max_pool_2x2_planes(
        cpu, &[0.0; 15], 1, 4, 4, 1, &mut out, &mut arg
    ));
    assert!(!max_pool_2x2_planes(
        cpu,
        &[0.0; 16],
        1,
        4,
        4,
        1,
        &mut out,
        &mut arg[..3]
    ));
    assert_eq!(
        conv_forward(cpu, &[0.0; 4], 0, 4, &[], &[0.0; 6], false, &mut [0.0; 24]),
        (0, 0)
    );
}
