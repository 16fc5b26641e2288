//! Run-time input quantization of the hybrid (dynamic-range) kernels: float activations are quantized
//! to int8 per batch on every invoke, multiplied with the int8 weights in integers, and the result is
//! scaled back to float.
//!
//! Facts from `tflite/kernels/internal/reference/portable_tensor_utils.cc`
//! (`PortableAsymmetricQuantizeFloats`, `PortableSymmetricQuantizeFloats`), with one correction the
//! reference vectors forced (see [`asymmetric_quantize_floats`]).

use crate::interp::fixed_point::round_f32;

/// Asymmetric int8 quantization of `values` into `out`; returns `(scale, zero_point)`.
///
/// The range is widened to include 0, then computed in double: `scale = (max − min) / 255`, and the
/// zero point is taken from whichever end has the smaller error, rounded half away from zero and
/// clamped to [−128, 127]. The values are then quantized in float as `q = round(x · (1 / scale)) + zp`
/// (round half away from zero, `1 / scale` computed in float from the float scale), clamped. An all-zero
/// range gives all zeros with scale 1 and zero point 0.
///
/// **Rounding before the zero point.** The portable source reads `round(zp + x · inv)`, with the sum in
/// float. LiteRT 2.3.0's x86 build (the reference vectors) instead behaves as `round(x · inv) + zp`: on
/// `mnist_dynamic` 7 of 10,000 images have an element where the float sum lands exactly on a tie
/// (e.g. `x · inv = 11.500002`, `−128 + 11.500002 = −116.5` in float) and LiteRT gives −116, which only
/// the second form produces; with it all 10,000 images match exactly.
pub fn asymmetric_quantize_floats(values: &[f32], out: &mut [i8]) -> (f32, i32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        // std::minmax_element: the first smallest and the last largest, compared with `<`.
        if v < lo {
            lo = v;
        }
        if !(v < hi) && !v.is_nan() {
            hi = v;
        }
    }
    let rmin = lo.min(0.0) as f64;
    let rmax = hi.max(0.0) as f64;
    if rmin == rmax {
        out.iter_mut().for_each(|q| *q = 0);
        return (1.0, 0);
    }
    let (qmin, qmax) = (-128.0f64, 127.0f64);
    let scale = (rmax - rmin) / (qmax - qmin);
    let zero_point_from_min = qmin - rmin / scale;
    let zero_point_from_max = qmax - rmax / scale;
    let zero_point_from_min_error = qmin.abs() + (rmin / scale).abs();
    let zero_point_from_max_error = qmax.abs() + (rmax / scale).abs();
    let zero_point_double = if zero_point_from_min_error < zero_point_from_max_error {
        zero_point_from_min
    } else {
        zero_point_from_max
    };
    let zero_point: i32 = if zero_point_double <= qmin {
        -128
    } else if zero_point_double >= qmax {
        127
    } else {
        zero_point_double.round() as i32
    };
    let scaling_factor = scale as f32;
    let inverse = 1.0f32 / scaling_factor;
    for (q, &v) in out.iter_mut().zip(values) {
        // `as i32` saturates (NaN → 0), so the add cannot overflow for finite scales.
        let quantized = (round_f32(v * inverse) as i32).saturating_add(zero_point);
        *q = quantized.clamp(-128, 127) as i8;
    }
    (scaling_factor, zero_point)
}

/// Symmetric int8 quantization of `values` into `out` (range ±127); returns the scale.
///
/// `range = max(|min|, |max|)`, `scale = range / 127` and `q = round(x · (127 / range))` in float,
/// clamped to [−127, 127]. A zero range gives zeros with scale 1.
pub fn symmetric_quantize_floats(values: &[f32], out: &mut [i8]) -> f32 {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        if v < lo {
            lo = v;
        }
        if !(v < hi) && !v.is_nan() {
            hi = v;
        }
    }
    if values.is_empty() {
        return 1.0;
    }
    let range = lo.abs().max(hi.abs());
    if range == 0.0 {
        out.iter_mut().for_each(|q| *q = 0);
        return 1.0;
    }
    let inverse = 127.0f32 / range;
    for (q, &v) in out.iter_mut().zip(values) {
        let quantized = round_f32(v * inverse) as i32;
        *q = quantized.clamp(-127, 127) as i8;
    }
    range / 127.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asymmetric_ranges() {
        // [0, 2.55]: min widened to 0, scale 0.01, zp from min = −128 (error 128 vs 127 + 255 → min).
        let mut q = [0i8; 3];
        let (s, zp) = asymmetric_quantize_floats(&[0.0, 1.0, 2.55], &mut q);
        assert_eq!(zp, -128);
        assert!((s - 0.01).abs() < 1e-9);
        // 1.0 / 0.01 = 100 (in float, ≈ 99.99999) − 128 → −28
        assert_eq!(q, [-128, -28, 127]);
        // Symmetric data [−1, 1]: scale 2/255, zp ≈ −0.5 → the max end wins (error 127 + 127.5 vs
        // 128 + 127.5) → zp = 127 − 127.5 = −0.5 → round half away → −1.
        let (_, zp) = asymmetric_quantize_floats(&[-1.0, 1.0], &mut [0; 2]);
        assert_eq!(zp, -1);
        // All zero.
        let mut q = [5i8; 2];
        assert_eq!(asymmetric_quantize_floats(&[0.0, 0.0], &mut q), (1.0, 0));
        assert_eq!(q, [0, 0]);
        // Negative-only data: max widened to 0 → zp 127.
        let (_, zp) = asymmetric_quantize_floats(&[-3.0, -1.0], &mut [0; 2]);
        assert_eq!(zp, 127);
    }

    #[test]
    fn symmetric() {
        let mut q = [0i8; 3];
        let s = symmetric_quantize_floats(&[-2.0, 1.0, 0.5], &mut q);
        assert_eq!(s, 2.0 / 127.0);
        assert_eq!(q, [-127, 64, 32]); // 63.5 → 64, 31.75 → 32
        assert_eq!(symmetric_quantize_floats(&[0.0], &mut [0]), 1.0);
    }
}
