//! Tests of the CONV_2D kernels: the reference kernels on hand-checked cases, the fast and fused
//! kernels against them on random shapes.

use super::*;
use crate::interp::kernels::Draws;
use crate::rng::Rng;
use crate::tflite::Padding;

fn shape(
    padding: Padding,
    in_hw: (usize, usize),
    k: (usize, usize),
    stride: usize,
    c: usize,
    o: usize,
) -> ConvShape {
    ConvShape {
        window: Window::new("t", padding, 1, in_hw, k, (stride, stride), (1, 1)).unwrap(),
        in_c: c,
        out_c: o,
        filter_c: c,
    }
}

#[test]
fn f32_valid_3x3() {
    // 1×3×3×1 input 1..9, one 3×3 filter of ones, bias 0.5 → one output 45.5.
    let s = shape(Padding::Valid, (3, 3), (3, 3), 1, 1, 1);
    let input: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let mut out = [0.0f32; 1];
    conv2d_f32(
        &s,
        &input,
        &[1.0; 9],
        Some(&[0.5]),
        (f32::MIN, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [45.5]);
    // RELU6 clamps to 6.
    conv2d_f32(&s, &input, &[1.0; 9], Some(&[0.5]), (0.0, 6.0), &mut out).unwrap();
    assert_eq!(out, [6.0]);
}

#[test]
fn f32_same_padding_and_stride() {
    // 1×3×3×1 input 1..9, 3×3 ones filter, SAME, stride 2 → 2×2 output, pad 1 top/left.
    // (0,0): rows 0..1, cols 0..1 → 1+2+4+5 = 12      (0,1): rows 0..1, cols 1..2 → 2+3+5+6 = 16
    // (1,0): rows 1..2, cols 0..1 → 4+5+7+8 = 24      (1,1): rows 1..2, cols 1..2 → 5+6+8+9 = 28
    let s = shape(Padding::Same, (3, 3), (3, 3), 2, 1, 1);
    assert_eq!((s.window.out_h, s.window.pad_h), (2, 1));
    let input: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let mut out = [0.0f32; 4];
    conv2d_f32(&s, &input, &[1.0; 9], None, (f32::MIN, f32::MAX), &mut out).unwrap();
    assert_eq!(out, [12.0, 16.0, 24.0, 28.0]);
}

#[test]
fn forged_stride_and_dilation_leave_the_fast_kernel_out() {
    // The fuzzer's case (tests/fixtures/fuzz-regressions/tflite/oom-conv-fast-scratch-…): SAME
    // padding with stride 4194305 and dilation 67108866 asked the fast kernel for a 16 GB padded
    // image. Such a geometry now falls back to the reference kernel.
    let huge = ConvShape {
        window: Window::new(
            "t",
            Padding::Same,
            1,
            (28, 28),
            (3, 3),
            (4_194_305, 1),
            (67_108_866, 2),
        )
        .unwrap(),
        in_c: 1,
        out_c: 8,
        filter_c: 1,
    };
    assert!(ConvFast::new(&huge, &[1i8; 72]).is_none());
    // an ordinary dilated conv still gets it
    let fine = ConvShape {
        window: Window::new("t", Padding::Same, 1, (28, 28), (3, 3), (1, 1), (2, 2)).unwrap(),
        in_c: 1,
        out_c: 8,
        filter_c: 1,
    };
    assert!(ConvFast::new(&fine, &[1i8; 72]).is_some());
}

#[test]
fn f32_dilation_and_groups() {
    // Dilation 2: 1×5×1×1 input [1,2,3,4,5], 1×2 filter taps at x and x+2 (as a 2×1 filter in h).
    let s = ConvShape {
        window: Window::new("t", Padding::Valid, 1, (5, 1), (2, 1), (1, 1), (2, 1)).unwrap(),
        in_c: 1,
        out_c: 1,
        filter_c: 1,
    };
    let mut out = [0.0f32; 3];
    conv2d_f32(
        &s,
        &[1.0, 2.0, 3.0, 4.0, 5.0],
        &[1.0, 10.0],
        None,
        (f32::MIN, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [31.0, 42.0, 53.0]); // 1+30, 2+40, 3+50
    // Two groups: 1×1×1×2 input [3, 5], two 1×1×1×1 filters [2], [7] → [6, 35].
    let s = ConvShape {
        window: Window::new("t", Padding::Valid, 1, (1, 1), (1, 1), (1, 1), (1, 1)).unwrap(),
        in_c: 2,
        out_c: 2,
        filter_c: 1,
    };
    let mut out = [0.0f32; 2];
    conv2d_f32(
        &s,
        &[3.0, 5.0],
        &[2.0, 7.0],
        None,
        (f32::MIN, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [6.0, 35.0]);
}

#[test]
fn i8_per_channel() {
    // 1×2×2×1 input [10, 20, 30, 40], zp −10 (offset +10) → centred [20, 30, 40, 50].
    // Two 2×2 filters: ones and [1, −1, 1, −1]. Biases [5, −5].
    // acc0 = 140 + 5 = 145; acc1 = 20 − 30 + 40 − 50 − 5 = −25.
    // Channel 0 multiplier 0.5 (2^30, 0) → 72.5 → 73; channel 1 multiplier 0.25 (2^30, −1) →
    // −6.25 → −6. Output zp 3 → [76, −3].
    let s = shape(Padding::Valid, (2, 2), (2, 2), 1, 1, 2);
    let q = ChannelQuant {
        input_offset: 10,
        output_offset: 3,
        multiplier: vec![1 << 30, 1 << 30],
        shift: vec![0, -1],
        act_min: -128,
        act_max: 127,
    };
    let mut out = [0i8; 2];
    conv2d_i8(
        &s,
        &q,
        &[10, 20, 30, 40],
        &[1, 1, 1, 1, 1, -1, 1, -1],
        Some(&[5, -5]),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [76, -3]);
    // RELU-style clamp at the output zero point 3.
    let q = ChannelQuant { act_min: 3, ..q };
    conv2d_i8(
        &s,
        &q,
        &[10, 20, 30, 40],
        &[1, 1, 1, 1, 1, -1, 1, -1],
        Some(&[5, -5]),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [76, 3]);
}

#[test]
fn i8_padding_taps_are_skipped() {
    // SAME 3×3 on a 1×1 image: only the centre tap is inside. input 5, zp 0, centre weight 2 → 10,
    // with all other weights 100 (which would matter if padding were read as −zp ≠ 0... here zp 0).
    let s = shape(Padding::Same, (1, 1), (3, 3), 1, 1, 1);
    let q = ChannelQuant {
        input_offset: 7, // zp −7: padding taps would add 100·7 each if they were not skipped
        output_offset: 0,
        multiplier: vec![1 << 30],
        shift: vec![1],
        act_min: -128,
        act_max: 127,
    };
    let mut filter = [100i8; 9];
    filter[4] = 2;
    let mut out = [0i8; 1];
    conv2d_i8(&s, &q, &[5], &filter, None, &mut out).unwrap();
    assert_eq!(out, [24]); // 2 · (5 + 7)
}

#[test]
fn hybrid_matches_formula() {
    // 1×1×2×1 input quantized [10, −4] with zp 2, scale 0.5; filter 1×1×2×1 [3, 1], filter scale 0.25,
    // bias 1. acc = 3·8 + 1·(−6) = 18 → 18 · 0.25 · 0.5 + 1 = 3.25.
    let s = shape(Padding::Valid, (1, 2), (1, 2), 1, 1, 1);
    let mut out = [0.0f32; 1];
    conv2d_hybrid_per_channel(
        &s,
        &[10, -4],
        &[0.5],
        &[2],
        &[3, 1],
        &[0.25],
        Some(&[1.0]),
        (f32::MIN, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [3.25]);
    conv2d_hybrid(
        &s,
        &[10, -4],
        &[0.125],
        &[3, 1],
        Some(&[1.0]),
        (f32::MIN, f32::MAX),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [1.0 + 26.0 * 0.125]);
}

#[test]
fn length_mismatch_is_an_error() {
    let s = shape(Padding::Valid, (3, 3), (3, 3), 1, 1, 1);
    let mut out = [0.0f32; 1];
    assert!(
        conv2d_f32(
            &s,
            &[0.0; 8],
            &[1.0; 9],
            None,
            (f32::MIN, f32::MAX),
            &mut out
        )
        .is_err()
    );
}

pub(super) fn random_shape(r: &mut Rng) -> ConvShape {
    let padding = if r.index(2) == 0 {
        Padding::Same
    } else {
        Padding::Valid
    };
    loop {
        // A third of the cases are single-channel 3×3 or 5×5 filters without x dilation, which
        // the fast kernels unroll.
        let unrolled = r.index(3) == 0;
        let (mut kh, mut kw) = (1 + r.index(4), 1 + r.index(4));
        let (sh, sw) = (1 + r.index(3), 1 + r.index(3));
        let (dh, mut dw) = (1 + r.index(2), 1 + r.index(3));
        let (h, w) = (1 + r.index(11), 1 + r.index(11));
        let batches = 1 + r.index(2);
        if unrolled {
            let k = if r.index(2) == 0 { 3 } else { 5 };
            (kh, kw, dw) = (k, k, 1);
        }
        if let Ok(window) = Window::new("t", padding, batches, (h, w), (kh, kw), (sh, sw), (dh, dw))
        {
            let c = if unrolled { 1 } else { 1 + r.index(4) };
            return ConvShape {
                window,
                in_c: c,
                out_c: 1 + r.index(13),
                filter_c: c,
            };
        }
    }
}

#[test]
fn fast_i8_matches_reference() {
    let mut r = Rng::new(42);
    for case in 0..900 {
        let s = random_shape(&mut r);
        // Half the inputs equal the zero point, so whole receptive fields are often 0 (skipped).
        let zp_in = r.i8();
        let input: Vec<i8> = (0..s.window.in_len(s.in_c))
            .map(|_| if r.index(2) == 0 { zp_in } else { r.i8() })
            .collect();
        let filter: Vec<i8> = (0..s.filter_len()).map(|_| r.i8().max(-127)).collect();
        let bias: Vec<i32> = (0..s.out_c).map(|_| r.u32() as i32 >> 14).collect();
        let q = ChannelQuant {
            input_offset: -(zp_in as i32),
            output_offset: r.i8() as i32,
            multiplier: (0..s.out_c)
                .map(|_| (1 << 30) + (r.u32() >> 2) as i32)
                .collect(),
            shift: (0..s.out_c).map(|_| -(r.index(12) as i32)).collect(),
            act_min: -128 + r.index(100) as i32,
            act_max: 127,
        };
        let bias_opt = if case % 3 == 0 {
            None
        } else {
            Some(bias.as_slice())
        };
        let mut want = vec![0i8; s.window.out_len(s.out_c)];
        conv2d_i8(&s, &q, &input, &filter, bias_opt, &mut want).unwrap();
        let (k, mut scratch) =
            ConvI8Fast::new(&s, &q, &filter, bias_opt).expect("fast kernel applies");
        let mut got = vec![0i8; want.len()];
        conv2d_i8_fast(&k, &input, &mut scratch, &mut got).unwrap();
        assert_eq!(got, want, "case {case}: {s:?}");

        // Fused with a max pool of random geometry on the conv output.
        // Every third pool is the tutorial's 2×2 / stride 2 VALID one (a specialised loop).
        let tutorial_pool = case % 3 == 0;
        let (ph, pw) = if tutorial_pool {
            (2, 2)
        } else {
            (1 + r.index(3), 1 + r.index(3))
        };
        let pad = if r.index(2) == 0 && !tutorial_pool {
            Padding::Same
        } else {
            Padding::Valid
        };
        let strides = if tutorial_pool {
            (2, 2)
        } else {
            (1 + r.index(2), 1 + r.index(2))
        };
        let Ok(pool) = Window::new(
            "t",
            pad,
            s.window.batches,
            (s.window.out_h, s.window.out_w),
            (ph, pw),
            strides,
            (1, 1),
        ) else {
            continue;
        };
        let pool_act = (-128 + r.index(60) as i32, 127 - r.index(60) as i32);
        let mut want_pool = vec![0i8; pool.out_len(s.out_c)];
        crate::interp::kernels::max_pool2d::max_pool2d_quant(
            &pool,
            s.out_c,
            &want,
            pool_act,
            &mut want_pool,
        )
        .unwrap();
        let mut got_pool = vec![0i8; want_pool.len()];
        scratch.for_pool(&k.conv, &pool);
        conv2d_i8_max_pool2d_fast(&k, &pool, pool_act, &input, &mut scratch, &mut got_pool)
            .unwrap();
        assert_eq!(got_pool, want_pool, "case {case} pooled: {s:?} {pool:?}");
    }
}

#[test]
fn fast_f32_matches_reference_bit_for_bit() {
    let mut r = Rng::new(7);
    for case in 0..900 {
        let s = random_shape(&mut r);
        let f = |r: &mut Rng| r.uniform(-1.0, 1.0);
        let input: Vec<f32> = (0..s.window.in_len(s.in_c))
            .map(|_| if r.index(2) == 0 { 0.0 } else { f(&mut r) })
            .collect();
        let filter: Vec<f32> = (0..s.filter_len()).map(|_| f(&mut r)).collect();
        let bias: Vec<f32> = (0..s.out_c).map(|_| f(&mut r)).collect();
        let act = if case % 2 == 0 {
            (f32::MIN, f32::MAX)
        } else {
            (0.0, 6.0)
        };
        let bias_opt = if case % 3 == 0 {
            None
        } else {
            Some(bias.as_slice())
        };
        let mut want = vec![0.0f32; s.window.out_len(s.out_c)];
        conv2d_f32(&s, &input, &filter, bias_opt, act, &mut want).unwrap();
        let (k, mut scratch) = ConvF32Fast::new(&s, &filter, bias_opt, act).unwrap();
        let mut got = vec![0.0f32; want.len()];
        conv2d_f32_fast(&k, &input, &mut scratch, &mut got).unwrap();
        // Fused with a max pool of random geometry.
        // Every third pool is the tutorial's 2×2 / stride 2 VALID one (a specialised loop).
        let tutorial_pool = case % 3 == 0;
        let (ph, pw) = if tutorial_pool {
            (2, 2)
        } else {
            (1 + r.index(3), 1 + r.index(3))
        };
        let pad = if r.index(2) == 0 && !tutorial_pool {
            Padding::Same
        } else {
            Padding::Valid
        };
        let strides = if tutorial_pool {
            (2, 2)
        } else {
            (1 + r.index(2), 1 + r.index(2))
        };
        if let Ok(pool) = Window::new(
            "t",
            pad,
            s.window.batches,
            (s.window.out_h, s.window.out_w),
            (ph, pw),
            strides,
            (1, 1),
        ) {
            let pool_act = if case % 4 < 2 {
                (f32::MIN, f32::MAX)
            } else {
                (-0.5, 0.75)
            };
            let mut want_pool = vec![0.0f32; pool.out_len(s.out_c)];
            crate::interp::kernels::max_pool2d::max_pool2d_f32(
                &pool,
                s.out_c,
                &want,
                pool_act,
                &mut want_pool,
            )
            .unwrap();
            let mut got_pool = vec![0.0f32; want_pool.len()];
            scratch.for_pool(&k.conv, &pool);
            conv2d_f32_max_pool2d_fast(&k, &pool, pool_act, &input, &mut scratch, &mut got_pool)
                .unwrap();
            assert_eq!(
                got_pool.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want_pool.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "case {case} pooled"
            );
        }
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "case {case}"
        );
    }
}

#[test]
fn fast_i8_refuses_right_shifts_above_30() {
    // Two 1×1 filters of weight 1 on one pixel of value 100 (zp 0). Channel 0 scales by 0.5
    // (2^30, shift 0) → 50; channel 1 by 0.5 · 2^−31 (right shift 31), which the fast kernel's
    // requantization cannot take: no fast kernel, and the reference kernel gives 0.
    let s = shape(Padding::Valid, (1, 1), (1, 1), 1, 1, 2);
    let mut q = ChannelQuant {
        input_offset: 0,
        output_offset: 0,
        multiplier: vec![1 << 30, 1 << 30],
        shift: vec![0, -31],
        act_min: -128,
        act_max: 127,
    };
    assert!(ConvI8Fast::new(&s, &q, &[1, 1], None).is_none());
    let mut out = [0i8; 2];
    conv2d_i8(&s, &q, &[100], &[1, 1], None, &mut out).unwrap();
    assert_eq!(out, [50, 0]);
    // A right shift of 30 still gets the fast kernel, with the reference's result: 100 · 2^−31 → 0.
    q.shift[1] = -30;
    let (k, mut scratch) = ConvI8Fast::new(&s, &q, &[1, 1], None).expect("fast kernel applies");
    conv2d_i8_fast(&k, &[100], &mut scratch, &mut out).unwrap();
    assert_eq!(out, [50, 0]);
}

#[test]
fn fast_i8_refuses_inexact_or_grouped() {
    let s = ConvShape {
        window: Window::new("t", Padding::Valid, 1, (1, 1100), (1, 1100), (1, 1), (1, 1)).unwrap(),
        in_c: 1,
        out_c: 1,
        filter_c: 1,
    };
    let q = ChannelQuant {
        multiplier: vec![1 << 30],
        shift: vec![0],
        act_min: -128,
        act_max: 127,
        ..Default::default()
    };
    // 1100 · 127 · 255 > 2^24: f32 sums could round.
    assert!(ConvI8Fast::new(&s, &q, &vec![127i8; 1100], None).is_none());
    assert!(ConvI8Fast::new(&s, &q, &vec![1i8; 1100], None).is_some());
}
