//! Tests of the FULLY_CONNECTED kernels: the reference kernels on hand-checked cases, the fast kernels
//! against them on random shapes, and LiteRT's wrapping hybrid row sums.

use super::*;
use crate::interp::kernels::Draws;
use crate::rng::Rng;

#[test]
fn f32_two_units() {
    // input [1, 2, 3]; weights [[1, 1, 1], [1, −1, 0.5]]; bias [0.5, 0] → [6.5, 0.5]
    let s = FcShape {
        batches: 1,
        depth: 3,
        units: 2,
    };
    let mut out = [0.0f32; 2];
    fully_connected_f32(
        s,
        &[1.0, 2.0, 3.0],
        &[1.0, 1.0, 1.0, 1.0, -1.0, 0.5],
        Some(&[0.5, 0.0]),
        (f32::MIN, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [6.5, 0.5]);
    // RELU on a negative unit.
    fully_connected_f32(
        s,
        &[1.0, 2.0, 3.0],
        &[-1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        None,
        (0.0, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [0.0, 1.0]);
}

fn quant(scales: &[f64]) -> FcQuant {
    FcQuant {
        input_offset: 3,
        weights_offset: 0,
        output_offset: -5,
        effective_scale: scales.to_vec(),
        multiplier: scales
            .iter()
            .map(|&m| crate::interp::fixed_point::quantize_multiplier(m).0)
            .collect(),
        shift: scales
            .iter()
            .map(|&m| crate::interp::fixed_point::quantize_multiplier(m).1)
            .collect(),
        act_min: -128,
        act_max: 127,
    }
}

#[test]
fn i8_double_requant_ties_away() {
    // input [−1, 1] with zp −3 → centred [2, 4]; weights [[1, 1], [1, −1]]; bias [1, 0]
    // acc = [7, −2]; scales [0.5, 0.25] → [3.5 → 4, −0.5 → −1]; zp −5 → [−1, −6]
    let s = FcShape {
        batches: 1,
        depth: 2,
        units: 2,
    };
    let q = quant(&[0.5, 0.25]);
    let mut out = [0i8; 2];
    fully_connected_i8(s, &q, &[-1, 1], &[1, 1, 1, -1], Some(&[1, 0]), &mut out).unwrap();
    assert_eq!(out, [-1, -6]);
    // The fixed-point path agrees on these exact ties.
    fully_connected_i8_fixed_point(s, &q, &[-1, 1], &[1, 1, 1, -1], Some(&[1, 0]), &mut out)
        .unwrap();
    assert_eq!(out, [-1, -6]);
}

#[test]
fn double_and_fixed_point_can_differ() {
    // acc = 5 with scale 0.09375 (= 0.75 · 2^−3): exact 0.46875 → 0 in double; the fixed-point path
    // rounds twice (3.75 → 4, then 4/8 = 0.5 → 1).
    let s = FcShape {
        batches: 1,
        depth: 1,
        units: 1,
    };
    let mut q = quant(&[0.09375]);
    q.input_offset = 0;
    q.output_offset = 0;
    let mut out = [0i8; 1];
    fully_connected_i8(s, &q, &[5], &[1], None, &mut out).unwrap();
    assert_eq!(out, [0]);
    fully_connected_i8_fixed_point(s, &q, &[5], &[1], None, &mut out).unwrap();
    assert_eq!(out, [1]);
}

#[test]
fn per_tensor_weight_offset() {
    // weights_offset −2 (weights zp 2): weights [4, 6] → [2, 4]; input [1, 1] zp 0 → acc 6; scale 1.
    let s = FcShape {
        batches: 1,
        depth: 2,
        units: 1,
    };
    let mut q = quant(&[1.0]);
    q.input_offset = 0;
    q.output_offset = 0;
    q.weights_offset = -2;
    let mut out = [0i8; 1];
    fully_connected_i8(s, &q, &[1, 1], &[4, 6], None, &mut out).unwrap();
    assert_eq!(out, [6]);
}

#[test]
fn hybrid_asymmetric() {
    // input [0, 2.55] → scale 0.01, zp −128, q = [−128, 127]. weights [[1, 2]] row sum 3,
    // per-tensor weight scale 0.5. dot = −128 + 254 = 126; − 3·(−128) = 510; scale 0.01·0.5;
    // out = 1 + 510 · 0.005 = 3.55 (in float).
    let s = FcShape {
        batches: 1,
        depth: 2,
        units: 1,
    };
    let w = HybridWeights {
        weights: vec![1, 2],
        per_channel_scale: None,
        scale: 0.5,
        row_sums: vec![3],
        asymmetric: true,
    };
    let mut scratch = HybridScratch::new(1, 2);
    let mut out = [0.0f32; 1];
    fully_connected_hybrid(
        s,
        &w,
        &[0.0, 2.55],
        Some(&[1.0]),
        (f32::MIN, f32::MAX),
        &mut scratch,
        &mut out,
    )
    .unwrap();
    let sf = (2.55f32 as f64 / 255.0) as f32 * 0.5;
    assert_eq!(out, [1.0 + 510.0 * sf]);
    // All-zero input: just the bias.
    fully_connected_hybrid(
        s,
        &w,
        &[0.0, 0.0],
        Some(&[1.0]),
        (f32::MIN, f32::MAX),
        &mut scratch,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [1.0]);
}

#[test]
fn fast_kernels_match_reference() {
    let mut r = Rng::new(3);
    for case in 0..200 {
        // Every 10th case is deep with full-scale weights (large i32 sums).
        let depth = if case % 10 == 0 {
            600 + r.index(900)
        } else {
            1 + r.index(300)
        };
        let s = FcShape {
            batches: 1 + r.index(3),
            depth,
            units: 1 + r.index(20),
        };
        let act = if case % 2 == 0 {
            (f32::MIN, f32::MAX)
        } else {
            (0.0, 6.0)
        };
        // float, with about a third of the inputs exactly 0 (skipped by the fast kernels)
        let x: Vec<f32> = (0..s.batches * s.depth)
            .map(|_| {
                if r.index(3) == 0 {
                    0.0
                } else {
                    r.uniform(-1.0, 1.0)
                }
            })
            .collect();
        let w: Vec<f32> = (0..s.units * s.depth)
            .map(|_| r.uniform(-1.0, 1.0))
            .collect();
        let b: Vec<f32> = (0..s.units).map(|_| r.uniform(-1.0, 1.0)).collect();
        let bias = (case % 3 != 0).then_some(b.as_slice());
        let mut want = vec![0.0f32; s.batches * s.units];
        fully_connected_f32(s, &x, &w, bias, act, &mut want).unwrap();
        let (k, mut scratch) = FcF32Fast::new(s, &w, bias, act).unwrap();
        let mut got = vec![0.0f32; want.len()];
        fully_connected_f32_fast(&k, &x, &mut scratch, &mut got).unwrap();
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "f32 case {case}"
        );
        // int8, both requantizations
        let zp_in = r.u32() as i8;
        let xq: Vec<i8> = (0..s.batches * s.depth)
            .map(|_| {
                if r.index(3) == 0 {
                    zp_in
                } else {
                    r.u32() as i8
                }
            })
            .collect();
        let wq: Vec<i8> = (0..s.units * s.depth)
            .map(|_| {
                if case % 10 == 0 {
                    if r.index(2) == 0 { 127 } else { -127 }
                } else {
                    (r.u32() as i8).max(-127)
                }
            })
            .collect();
        let bq: Vec<i32> = (0..s.units).map(|_| r.u32() as i32 >> 12).collect();
        let bias_q = (case % 3 != 0).then_some(bq.as_slice());
        let scales: Vec<f64> = (0..s.units)
            .map(|_| 1e-4 + r.index(1000) as f64 * 1e-5)
            .collect();
        let mut q = quant(&scales);
        q.input_offset = -(zp_in as i32);
        q.output_offset = r.u32() as i8 as i32;
        for fixed_point in [false, true] {
            let mut want = vec![0i8; s.batches * s.units];
            if fixed_point {
                fully_connected_i8_fixed_point(s, &q, &xq, &wq, bias_q, &mut want).unwrap();
            } else {
                fully_connected_i8(s, &q, &xq, &wq, bias_q, &mut want).unwrap();
            }
            let (k, mut scratch) = FcI8Fast::new(s, &q, &wq, bias_q, fixed_point).unwrap();
            let mut got = vec![0i8; want.len()];
            fully_connected_i8_fast(&k, &xq, &mut scratch, &mut got).unwrap();
            assert_eq!(got, want, "int8 case {case} fixed_point {fixed_point}");
        }
        // hybrid
        let row_sums = wq.chunks_exact(s.depth).map(litert_row_sum).collect();
        let per_channel = case % 2 == 0;
        let hw = HybridWeights {
            weights: wq.clone(),
            per_channel_scale: per_channel.then(|| {
                (0..s.units)
                    .map(|_| 0.001 + r.uniform(-1.0, 1.0).abs() * 0.01)
                    .collect()
            }),
            scale: 0.004,
            row_sums,
            asymmetric: case % 4 != 1,
        };
        let mut want = vec![0.0f32; s.batches * s.units];
        let mut scratch_ref = HybridScratch::new(s.batches, s.batches * s.depth);
        fully_connected_hybrid(s, &hw, &x, bias, act, &mut scratch_ref, &mut want).unwrap();
        let (k, mut scratch) = FcHybridFast::new(s, &hw, bias, act).unwrap();
        let mut got = vec![0.0f32; want.len()];
        fully_connected_hybrid_fast(&k, &x, &mut scratch, &mut got).unwrap();
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "hybrid case {case}"
        );
    }
}

#[test]
fn litert_row_sums_wrap_like_sse() {
    // Exact while the eight 16-bit lanes stay in range.
    let row: Vec<i8> = (0..100).map(|i| (i % 7) as i8 - 3).collect();
    assert_eq!(
        litert_row_sum(&row),
        row.iter().map(|&v| v as i32).sum::<i32>()
    );
    assert_eq!(litert_row_sum(&[127; 24]), 24 * 127); // one block of 16 + one of 8
    assert_eq!(litert_row_sum(&[-5; 7]), -35); // tail only
    // 4096 × 127: each lane gets 256 × 254 = 65024 ≡ −512 (mod 2^16); 8 lanes → −4096.
    assert_eq!(litert_row_sum(&[127; 4096]), -4096);
}

#[test]
fn hybrid_reproduces_litert_on_a_wrapping_row_sum() {
    // tf.keras Dense(4) on 4096 inputs with kernel columns +0.5, −0.5, ±0.5 alternating and
    // linspace(−1, 1), zero bias, converted with Optimize.DEFAULT (per-channel int8 weights: 127,
    // −127, ±127 and a ramp; scales 0.5/127 and 1/127), input linspace(0, 1, 4096). LiteRT 2.3.0
    // BUILTIN_REF on x86 outputs [−12.110298, 12.110298, −0.26666668, 683.0265] where float math
    // gives [1024, −1024, −0.25, 683]: units 0 and 1 hit the wrapped row sums.
    let depth = 4096;
    let s = FcShape {
        batches: 1,
        depth,
        units: 4,
    };
    let mut weights = vec![0i8; 4 * depth];
    for d in 0..depth {
        weights[d] = 127;
        weights[depth + d] = -127;
        weights[2 * depth + d] = if d % 2 == 0 { 127 } else { -127 };
        let ramp = -1.0 + 2.0 * d as f32 / (depth - 1) as f32;
        weights[3 * depth + d] = (ramp * 127.0).round() as i8;
    }
    let x: Vec<f32> = (0..depth).map(|d| d as f32 / (depth - 1) as f32).collect();
    let hw = HybridWeights {
        row_sums: weights.chunks_exact(depth).map(litert_row_sum).collect(),
        per_channel_scale: Some(vec![0.5 / 127.0, 0.5 / 127.0, 0.5 / 127.0, 1.0 / 127.0]),
        scale: 0.0,
        weights,
        asymmetric: true,
    };
    let mut out = [0.0f32; 4];
    let mut scratch = HybridScratch::new(1, depth);
    fully_connected_hybrid(
        s,
        &hw,
        &x,
        Some(&[0.0; 4]),
        (f32::MIN, f32::MAX),
        &mut scratch,
        &mut out,
    )
    .unwrap();
    let litert = [-12.110298f32, 12.110298, -0.26666668, 683.0265];
    for (o, l) in out.iter().zip(litert) {
        assert!((o - l).abs() < 1e-3, "{out:?} vs LiteRT {litert:?}");
    }
    let (k, mut fast_scratch) =
        FcHybridFast::new(s, &hw, Some(&[0.0; 4]), (f32::MIN, f32::MAX)).unwrap();
    let mut fast = [0.0f32; 4];
    fully_connected_hybrid_fast(&k, &x, &mut fast_scratch, &mut fast).unwrap();
    assert_eq!(fast, out);
}
