//! Quantization parameters the way TensorFlow 2.21's converter computes them (the MLIR quantizer with
//! `legacy_float_scale`, as the Python post-training path uses). Every cast below is deliberate: the
//! goal is the same float32 scales and the same integers as TF, not merely close ones.
//!
//! Spec (tensorflow.org/lite/performance/quantization_spec): `real = scale · (q − zero_point)`;
//! activations int8 asymmetric per tensor; weights int8 symmetric in [−127, 127] with zero point 0,
//! per output channel; bias int32 with scale `s_in · s_w[c]` and zero point 0.
//!
//! Sources (facts only): `quantization_utils.cc` `DownCastScale` and `ExtractMinMaxFromAttr`,
//! `GetUniformQuantizedTypeForBias`, `QuantizeLegacy`; `tools/optimize/quantization_utils.cc`
//! `SymmetricPerChannelQuantizeValues` and `SymmetricBiasQuantize`.

use crate::error::{Error, Result};

/// int8 activation range.
pub const QMIN: i32 = -128;
pub const QMAX: i32 = 127;
/// Symmetric (narrow-range) weight range.
pub const WMAX: i32 = 127;
/// A calibrated range at most this wide is widened (see [`activation_params`]).
pub(crate) const NEAR_ZERO: f64 = 1e-6;
/// The largest quantized bias TF's converter lets stand, `(2³¹ − 1) / 2` (room left for the
/// accumulator); a bias that would exceed it moves its weights' scale ([`fit_biases`]).
pub const BIAS_MAX: i32 = i32::MAX / 2;

/// Scale and zero point of an int8 activation with calibrated range `[min, max]`.
///
/// The range is first widened to include 0, and a range no wider than 10⁻⁶ (a tensor that was zero,
/// or nearly, on every representative image) to at least [−10⁻⁶, 10⁻⁶], as TensorFlow 2.21's converter
/// does (checked on black calibration images: tests/tf_code); then `scale = (f32(max) − f32(min)) / 255`
/// in float32 and `zero_point = round(float(−128 − min/scale))` (half away from zero), clamped to
/// [−128, 127]. The scale is not re-nudged after the zero point is rounded (TF's `DownCastScale`).
pub fn activation_params(min: f32, max: f32) -> Result<(f32, i64)> {
    if !(min.is_finite() && max.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "calibration range [{min}, {max}] is not finite"
        )));
    }
    let (mut min, mut max) = (min.min(0.0), max.max(0.0));
    if (max as f64 - min as f64) <= NEAR_ZERO {
        min = min.min(-NEAR_ZERO as f32);
        max = max.max(NEAR_ZERO as f32);
    }
    let scale = (max - min) / (QMAX - QMIN) as f32;
    let zero_point_from_min = (QMIN as f64 - min as f64 / scale as f64) as f32;
    let zero_point = if zero_point_from_min < QMIN as f32 {
        QMIN as i64
    } else if zero_point_from_min > QMAX as f32 {
        QMAX as i64
    } else {
        zero_point_from_min.round() as i64
    };
    Ok((scale, zero_point))
}

/// Symmetric int8 scale for weights whose largest magnitude is `max_abs`:
/// `(f32(max_abs) − f32(−max_abs)) / 254` in float32.
pub fn weight_scale(max_abs: f32) -> f32 {
    let max_abs = if max_abs > 0.0 { max_abs } else { 0.0 };
    (max_abs - (-max_abs)) / (2 * WMAX) as f32
}

/// Per-channel symmetric int8 quantization of a weight tensor of `shape`, channels along `axis`.
/// Returns the scales (one per channel) and the int8 values.
///
/// Values: `clamp(round(w · float(1.0 / scale_c)), −127, 127)`, the product in float32. A channel of
/// zeros gets scale 1 — TF refuses a zero scale, and every value quantizes to 0 either way.
pub fn quantize_weights_per_channel(
    data: &[f32],
    shape: &[usize],
    axis: usize,
) -> Result<(Vec<f32>, Vec<i8>)> {
    let channels = *shape
        .get(axis)
        .ok_or_else(|| Error::InvalidArgument(format!("axis {axis} of shape {shape:?}")))?;
    let inner: usize = shape[axis + 1..].iter().product();
    if data.len() != shape.iter().product::<usize>() || channels == 0 {
        return Err(Error::InvalidArgument(format!(
            "{} weights do not fit shape {shape:?}",
            data.len()
        )));
    }
    let channel_of = |i: usize| (i / inner) % channels;
    let mut max_abs = vec![0.0f32; channels];
    for (i, &w) in data.iter().enumerate() {
        if !w.is_finite() {
            return Err(Error::InvalidArgument(format!("weight {i} is {w}")));
        }
        let c = channel_of(i);
        max_abs[c] = max_abs[c].max(w.abs());
    }
    let scales: Vec<f32> = max_abs
        .iter()
        .map(|&m| if m > 0.0 { weight_scale(m) } else { 1.0 })
        .collect();
    let values = requantize_weights(data, shape, axis, &scales);
    Ok((scales, values))
}

/// Per-tensor symmetric int8 quantization (TF's `PortableSymmetricQuantizeFloats` for the values:
/// `round(w · (127 / max_abs))` in float32; the stored scale is [`weight_scale`]).
pub fn quantize_weights_per_tensor(data: &[f32]) -> Result<(f32, Vec<i8>)> {
    let mut max_abs = 0.0f32;
    for (i, &w) in data.iter().enumerate() {
        if !w.is_finite() {
            return Err(Error::InvalidArgument(format!("weight {i} is {w}")));
        }
        max_abs = max_abs.max(w.abs());
    }
    if max_abs == 0.0 {
        return Ok((1.0, vec![0; data.len()]));
    }
    let inverse = WMAX as f32 / max_abs;
    let values = data
        .iter()
        .map(|&w| (w * inverse).round().clamp(-WMAX as f32, WMAX as f32) as i8)
        .collect();
    Ok((weight_scale(max_abs), values))
}

/// Where a bias would not fit in ±[`BIAS_MAX`] at the scale `s_in · s_w`, TF's converter gives it the
/// scale `|b| / BIAS_MAX` and its weights the scale `(|b| / BIAS_MAX) / s_in` instead (its
/// `SetBiasParamsWithAdjustments`): per channel where `|b_c| / (s_in · s_w_c) > BIAS_MAX`; with one
/// weight scale, from the largest `|b|` when `max|b| / (s_in · s_w) ≥ BIAS_MAX`. This happens when a
/// layer's input range is tiny (black calibration images). Returns the new weight scales and bias scales,
/// or None when every bias fits.
pub fn fit_biases(
    bias: &[f32],
    input_scale: f32,
    weight_scales: &[f32],
) -> Option<(Vec<f32>, Vec<f32>)> {
    let s_in = input_scale as f64;
    let limit = BIAS_MAX as f64;
    let mut weights = weight_scales.to_vec();
    let mut biases = bias_scales(input_scale, weight_scales);
    if weight_scales.len() == 1 {
        let half_range = bias.iter().fold(0.0f64, |m, &b| m.max(b.abs() as f64));
        if half_range / (biases[0] as f64) < limit {
            return None;
        }
        let scale = half_range / limit;
        return usable(scale / s_in).then(|| (vec![(scale / s_in) as f32], vec![scale as f32]));
    }
    let mut moved = false;
    for (c, &b) in bias.iter().enumerate().take(weights.len()) {
        let abs = b.abs() as f64;
        if abs / (biases[c] as f64) > limit && usable(abs / limit / s_in) {
            let scale = abs / limit;
            biases[c] = scale as f32;
            weights[c] = (scale / s_in) as f32;
            moved = true;
        }
    }
    moved.then_some((weights, biases))
}

/// A weight scale a file can hold (finite and positive in float32); a hostile model's extreme ranges
/// keep their first scales instead.
fn usable(scale: f64) -> bool {
    let s = scale as f32;
    s.is_finite() && s > 0.0
}

/// int8 weights at given scales, one per channel along `axis` (or one for all): `clamp(round(w ·
/// float(1.0 / scale_c)), −127, 127)`, the product in float32 ([`quantize_weights_per_channel`] with
/// the scales it chose; [`fit_biases`]'s moved scales).
pub fn requantize_weights(data: &[f32], shape: &[usize], axis: usize, scales: &[f32]) -> Vec<i8> {
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let inverse: Vec<f32> = scales.iter().map(|&s| (1.0 / s as f64) as f32).collect();
    data.iter()
        .enumerate()
        .map(|(i, &w)| {
            let c = if inverse.len() == 1 {
                0
            } else {
                (i / inner.max(1)) % inverse.len()
            };
            (w * inverse[c]).round().clamp(-WMAX as f32, WMAX as f32) as i8
        })
        .collect()
}

/// Bias scales: `float(double(s_in) · double(s_w[c]))`.
pub fn bias_scales(input_scale: f32, weight_scales: &[f32]) -> Vec<f32> {
    weight_scales
        .iter()
        .map(|&s| (input_scale as f64 * s as f64) as f32)
        .collect()
}

/// int32 bias: `clamp(round(b · float(1.0 / scale_c)), −(2³¹−1), 2³¹−1)` with one scale per value (or one
/// for all).
pub fn quantize_bias(data: &[f32], scales: &[f32]) -> Result<Vec<i32>> {
    if scales.len() != 1 && scales.len() != data.len() {
        return Err(Error::InvalidArgument(format!(
            "{} bias values for {} scales",
            data.len(),
            scales.len()
        )));
    }
    data.iter()
        .enumerate()
        .map(|(i, &b)| {
            if !b.is_finite() {
                return Err(Error::InvalidArgument(format!("bias {i} is {b}")));
            }
            let s = if scales.len() == 1 {
                scales[0]
            } else {
                scales[i]
            };
            let inverse = if s == 0.0 {
                0.0
            } else {
                (1.0 / s as f64) as f32
            };
            // `as` saturates, like TF's SafeCast; then the symmetric clamp
            Ok(((b * inverse).round() as i32).max(-i32::MAX))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_input_range_gives_one_over_255_and_zero_point_minus_128() {
        let (s, z) = activation_params(0.0, 1.0).unwrap();
        assert_eq!(s, 1.0f32 / 255.0);
        assert_eq!(s.to_bits(), 0.003921569f32.to_bits());
        assert_eq!(z, -128);
    }

    #[test]
    fn range_is_widened_to_include_zero_and_zero_point_rounds_half_away() {
        // [2, 4] → [0, 4]: zero point −128
        assert_eq!(activation_params(2.0, 4.0).unwrap(), (4.0 / 255.0, -128));
        // symmetric range: zp = −128 + 127.5 = −0.5 → rounds away from zero to −1
        let (s, z) = activation_params(-1.0, 1.0).unwrap();
        assert_eq!((s, z), (2.0 / 255.0, -1));
        // all negative: [−3, 0] → zero point 127
        assert_eq!(activation_params(-3.0, -1.0).unwrap().1, 127);
        // degenerate and non-finite ranges do not give a zero scale or a panic; [0, 0] becomes
        // [−1e-6, 1e-6] (TF 2.21 on black images: scale 7.84313680668447e-09, zero point 0)
        assert_eq!(activation_params(0.0, 0.0).unwrap(), (7.843_137e-9, 0));
        assert_eq!(
            activation_params(0.0, 0.0).unwrap().0.to_bits(),
            (7.84313680668447e-09f64 as f32).to_bits()
        );
        assert!(activation_params(f32::NAN, 1.0).is_err());
    }

    #[test]
    fn a_bias_that_would_overflow_moves_its_weights_scale() {
        // s_in 1e-8, s_w 0.01: bias scale 1e-10; a bias of 0.5 would be 5e9 > BIAS_MAX
        let (w, b) = fit_biases(&[0.5, 1e-3], 1e-8, &[0.01, 0.01]).unwrap();
        assert_eq!(b[0], (0.5f64 / BIAS_MAX as f64) as f32);
        assert_eq!(w[0], ((0.5f64 / BIAS_MAX as f64) / 1e-8f32 as f64) as f32);
        // the second channel fits (1e-3 / 1e-10 = 1e7) and keeps its scales
        assert_eq!((w[1], b[1]), (0.01, bias_scales(1e-8, &[0.01])[0]));
        // the bias now quantizes to BIAS_MAX, as near as float32 arithmetic gets (2³⁰ − 1 → 2³⁰)
        assert_eq!(quantize_bias(&[0.5], &b[..1]).unwrap()[0], 1 << 30);
        // everything fits: nothing moves
        assert!(fit_biases(&[0.5], 0.1, &[0.01]).is_none());
        // one scale for the tensor: moved by the largest bias
        let (w, b) = fit_biases(&[0.25, -0.5], 1e-8, &[0.01]).unwrap();
        assert_eq!(b, vec![(0.5f64 / BIAS_MAX as f64) as f32]);
        assert_eq!(w.len(), 1);
        // requantized weights use the new scale
        assert_eq!(
            requantize_weights(&[0.02, -0.01, 0.5, 1.0], &[2, 2], 0, &[0.01, 0.5]),
            vec![2, -1, 1, 2]
        );
    }

    #[test]
    fn per_channel_weights_use_each_channels_max() {
        // shape [2, 3] (2 output channels), axis 0
        let (scales, q) =
            quantize_weights_per_channel(&[0.5, -1.0, 0.25, 0.1, 0.0, -0.05], &[2, 3], 0).unwrap();
        assert_eq!(scales, vec![2.0 / 254.0, 0.2 / 254.0]);
        assert_eq!(q, vec![64, -127, 32, 127, 0, -64]); // 63.5 → 64, −63.5 → −64 (half away)
        // depthwise layout [1, 1, 2, 2] with channels on axis 3
        let (scales, q) =
            quantize_weights_per_channel(&[1.0, 2.0, -0.5, 0.0], &[1, 1, 2, 2], 3).unwrap();
        assert_eq!(scales, vec![1.0 / 127.0, 2.0 / 127.0]);
        assert_eq!(q, vec![127, 127, -64, 0]);
        // an all-zero channel quantizes to zeros with a usable scale
        let (scales, q) = quantize_weights_per_channel(&[0.0, 0.0], &[2, 1], 0).unwrap();
        assert_eq!((scales, q), (vec![1.0, 1.0], vec![0, 0]));
        assert!(quantize_weights_per_channel(&[1.0], &[2, 1], 0).is_err());
        assert!(quantize_weights_per_channel(&[f32::INFINITY, 0.0], &[2, 1], 0).is_err());
    }

    #[test]
    fn bias_uses_the_product_of_scales_and_saturates() {
        let s = bias_scales(0.5, &[0.25, 0.125]);
        assert_eq!(s, vec![0.125, 0.0625]);
        assert_eq!(quantize_bias(&[1.0, -0.03125], &s).unwrap(), vec![8, -1]); // −0.5 → −1
        assert_eq!(quantize_bias(&[1e30], &[1e-10]).unwrap(), vec![i32::MAX]);
        assert_eq!(quantize_bias(&[-1e30], &[1e-10]).unwrap(), vec![-i32::MAX]);
    }
}
