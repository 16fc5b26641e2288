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

/// Scale and zero point of an int8 activation with calibrated range `[min, max]`.
///
/// The range is first widened to include 0; then `scale = (f32(max) − f32(min)) / 255` in float32 and
/// `zero_point = round(float(−128 − min/scale))` (half away from zero), clamped to [−128, 127]. The
/// scale is not re-nudged after the zero point is rounded (TF's `DownCastScale`).
pub fn activation_params(min: f32, max: f32) -> Result<(f32, i64)> {
    if !(min.is_finite() && max.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "calibration range [{min}, {max}] is not finite"
        )));
    }
    let (mut min, mut max) = (min.min(0.0), max.max(0.0));
    if max - min < 1e-6 {
        // A tensor that was (almost) constant zero during calibration: give it a tiny symmetric-free
        // range rather than a zero scale, which no kernel accepts.
        min = min.min(0.0);
        max = min + 1e-6;
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
    let inverse: Vec<f32> = scales.iter().map(|&s| (1.0 / s as f64) as f32).collect();
    let values = data
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            (w * inverse[channel_of(i)])
                .round()
                .clamp(-WMAX as f32, WMAX as f32) as i8
        })
        .collect();
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
        // degenerate and non-finite ranges do not give a zero scale or a panic
        assert!(activation_params(0.0, 0.0).unwrap().0 > 0.0);
        assert!(activation_params(f32::NAN, 1.0).is_err());
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
