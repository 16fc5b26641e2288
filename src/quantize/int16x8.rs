//! The 16x8 conversion: int16 activations (symmetric, zero point 0), int8 weights, int64 biases —
//! TF's `EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8`.
//!
//! TF 2.21 sends this mode to its older quantizer (`tensorflow/lite/tools/optimize`), not the MLIR one
//! the int8 modes use, so its arithmetic differs from [`super::convert`]'s in small ways
//! ([`activation_params_int16`], [`quantize_weights_legacy`], [`quantize_bias_int64`] below; the
//! int8 modes' are in [`super::params`]). What stays the same: which tensors get their own range (RESHAPE and the
//! pools pass their input's parameters on), SOFTMAX's fixed output (scale 1/32768 here), the operator
//! versions, and QUANTIZE / DEQUANTIZE at the edges for float input and output. Checked against TF's
//! own files in `tests/int16x8_parity.rs`.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::quantize::Calibration;
use crate::quantize::convert::{
    ConvertOptions, Int16Io, activation_quantization, add_io_ops, channel_axis, dims,
    set_activation_types, tensor, weights_f32,
};
use crate::quantize::params::{NEAR_ZERO, WMAX};
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, Options, Quantization, TensorType};

/// SOFTMAX's int16 output: scale 1/32768, zero point 0 (TF's `restricted_value_on_output`).
const SOFTMAX_INT16: (f32, i64) = (1.0 / 32768.0, 0);

/// Quantize the float model `model` (already checked by the caller) in place.
pub(crate) fn int16x8(
    model: &mut Model,
    options: &ConvertOptions,
    calibration: &Calibration,
    io: Int16Io,
) -> Result<()> {
    let graph = model.subgraphs[0].clone();

    // 1. and 2.: every float activation becomes int16 with its symmetric scale
    let params = activation_quantization(
        model,
        calibration,
        |lo, hi| Ok((activation_params_int16(lo, hi)?, 0)),
        SOFTMAX_INT16,
    )?;
    set_activation_types(model, &params, TensorType::Int16);

    // 3. weights int8 (per channel unless asked otherwise), biases int64 at s_in · s_w
    let mut done: HashMap<i32, Vec<f32>> = HashMap::new();
    for (i, o) in graph.operators.iter().enumerate() {
        if !matches!(
            o.code,
            op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED
        ) {
            continue;
        }
        let name = op_name(o.code);
        let (input, w) = match o.inputs.as_slice() {
            [input, w, ..] => (*input, *w),
            _ => {
                return Err(Error::InvalidModel(format!(
                    "operator {i} ({name}) needs input and weights"
                )));
            }
        };
        let per_channel =
            options.per_channel && (o.code != op::FULLY_CONNECTED || options.per_channel_dense);
        if !per_channel && o.code == op::DEPTHWISE_CONV_2D {
            return Err(Error::Unsupported {
                op: name,
                what: format!(
                    "operator {i}: per-tensor weights in the 16x8 mode (TF's 16x8 quantizer \
                     quantizes depthwise weights per channel only)"
                ),
            });
        }
        let input_scale = usize::try_from(input)
            .ok()
            .and_then(|i| params.get(i).copied().flatten())
            .map(|p| p.0)
            .ok_or_else(|| {
                Error::InvalidModel(format!(
                    "operator {i} ({name}): input {input} has no parameters"
                ))
            })?;
        let wt = tensor(&graph, w, "weights")?;
        let weight_scales = match done.get(&w) {
            Some(s) => s.clone(),
            None => {
                let axis = channel_axis(o.code);
                let (scales, values) = quantize_weights_legacy(
                    &weights_f32(model, wt)?,
                    &dims(wt),
                    per_channel.then_some(axis),
                )
                .map_err(|e| e.in_file(&wt.name))?;
                let buffer = model.add_buffer(values.iter().map(|&v| v as u8).collect());
                let t = &mut model.subgraphs[0].tensors[w as usize];
                t.dtype = TensorType::Int8;
                t.buffer = buffer;
                t.quantization = Some(per_scales(scales.clone(), axis));
                done.insert(w, scales.clone());
                scales
            }
        };
        if let Some(&b) = o.inputs.get(2).filter(|&&b| b >= 0) {
            let bt = tensor(&graph, b, "bias")?;
            let data = weights_f32(model, bt)?;
            let (scales, values) = quantize_bias_int64(&data, input_scale, &weight_scales)
                .map_err(|e| e.in_file(&bt.name))?;
            let buffer = model.add_buffer(values.iter().flat_map(|v| v.to_le_bytes()).collect());
            let t = &mut model.subgraphs[0].tensors[b as usize];
            t.dtype = TensorType::Int64;
            t.buffer = buffer;
            t.quantization = Some(per_scales(scales, 0));
        }
        let op = &mut model.subgraphs[0].operators[i];
        let keep_num_dims = matches!(&op.options, Options::FullyConnected(fc) if fc.keep_num_dims);
        op.version = match op.code {
            op::FULLY_CONNECTED if keep_num_dims => 5,
            op::FULLY_CONNECTED => 4,
            _ => 3,
        };
    }
    // TF's 16x8 files also give the shape computation's STRIDED_SLICE and PACK version 2 (the older
    // quantizer re-derives every operator's version; the MLIR one leaves these at 1).
    for op in &mut model.subgraphs[0].operators {
        if matches!(
            op.code,
            op::MAX_POOL_2D | op::AVERAGE_POOL_2D | op::SOFTMAX | op::STRIDED_SLICE | op::PACK
        ) {
            op.version = 2;
        }
    }

    // 4. the edges: QUANTIZE / DEQUANTIZE for float input and output; int16 I/O stays as it is
    if io == Int16Io::Float {
        add_io_ops(model, &graph, None, "_int16")?;
    }
    Ok(())
}

/// One scale (per tensor) or one per channel along `axis`, zero points 0.
fn per_scales(scales: Vec<f32>, axis: usize) -> Quantization {
    if scales.len() == 1 {
        Quantization::per_tensor(scales[0], 0)
    } else {
        let zeros = vec![0; scales.len()];
        Quantization::per_axis(scales, zeros, axis as i32)
    }
}

/// int16 activation range of the 16x8 mode (symmetric, zero point 0).
pub const QMAX_16: i32 = 32767;

/// Scale of an int16 activation with calibrated range `[min, max]` (16x8 mode), the way TF's older
/// quantizer (`tools/optimize`, which TF 2.21 still uses for 16x8) computes it: the range widened to
/// include 0, then `max(|min|, |max|) / 32767` in float32; the zero point is 0. A range of zeros (TF
/// would write a scale of 0, which LiteRT refuses) is widened as [`activation_params`] widens it.
pub fn activation_params_int16(min: f32, max: f32) -> Result<f32> {
    if !(min.is_finite() && max.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "calibration range [{min}, {max}] is not finite"
        )));
    }
    let half_range = min.min(0.0).abs().max(max.max(0.0).abs());
    let half_range = if (half_range as f64) < NEAR_ZERO {
        NEAR_ZERO as f32
    } else {
        half_range
    };
    Ok(half_range / QMAX_16 as f32)
}

/// Symmetric int8 weights as TF's older quantizer makes them for the 16x8 mode
/// (`SymmetricPerChannelQuantization`, and `SymmetricQuantizeFloats` for one scale): per channel along
/// `axis` (or one scale for the tensor when `axis` is `None`), `scale = max|w| / 127` and
/// `q = clamp(round(w · (127 / max|w|)), −127, 127)`, both in float32. An all-zero channel gets scale 1
/// and zeros (TF's scale 0 would not load).
pub fn quantize_weights_legacy(
    data: &[f32],
    shape: &[usize],
    axis: Option<usize>,
) -> Result<(Vec<f32>, Vec<i8>)> {
    let (channels, inner) = match axis {
        Some(a) => (
            *shape
                .get(a)
                .ok_or_else(|| Error::InvalidArgument(format!("axis {a} of shape {shape:?}")))?,
            shape[a + 1..].iter().product::<usize>(),
        ),
        None => (1, 1),
    };
    if channels == 0 || (axis.is_some() && data.len() != shape.iter().product::<usize>()) {
        return Err(Error::InvalidArgument(format!(
            "{} weights do not fit shape {shape:?}",
            data.len()
        )));
    }
    let channel_of = |i: usize| (i / inner.max(1)) % channels;
    let mut max_abs = vec![0.0f32; channels];
    for (i, &w) in data.iter().enumerate() {
        if !w.is_finite() {
            return Err(Error::InvalidArgument(format!("weight {i} is {w}")));
        }
        let c = channel_of(i);
        max_abs[c] = max_abs[c].max(w.abs());
    }
    let scales = max_abs
        .iter()
        .map(|&m| if m > 0.0 { m / WMAX as f32 } else { 1.0 })
        .collect();
    let inverse: Vec<f32> = max_abs
        .iter()
        .map(|&m| if m > 0.0 { WMAX as f32 / m } else { 0.0 })
        .collect();
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

/// int64 bias of the 16x8 mode (TF's older quantizer, `SymmetricBiasQuantize<int64_t>`): scale
/// `s_in · s_w[c]` in float32, `q = round(b · float(1.0 / scale))` in float32, clamped to ±(2⁶³ − 1).
/// Returns the scales and the values.
pub fn quantize_bias_int64(
    data: &[f32],
    input_scale: f32,
    weight_scales: &[f32],
) -> Result<(Vec<f32>, Vec<i64>)> {
    if weight_scales.len() != 1 && weight_scales.len() != data.len() {
        return Err(Error::InvalidArgument(format!(
            "{} bias values for {} weight scales",
            data.len(),
            weight_scales.len()
        )));
    }
    let scales: Vec<f32> = weight_scales.iter().map(|&w| input_scale * w).collect();
    let values = data
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if !b.is_finite() {
                return Err(Error::InvalidArgument(format!("bias {i} is {b}")));
            }
            let s = scales[if scales.len() == 1 { 0 } else { i }];
            let inverse = if s == 0.0 {
                0.0
            } else {
                (1.0 / s as f64) as f32
            };
            Ok(((b * inverse).round() as i64).max(-i64::MAX))
        })
        .collect::<Result<Vec<i64>>>()?;
    Ok((scales, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int16x8_parameters_follow_the_older_quantizer() {
        // the tutorial's input [0, 1]: 1/32767, as TF's 16x8 file has it
        assert_eq!(activation_params_int16(0.0, 1.0).unwrap(), 1.0f32 / 32767.0);
        assert_eq!(
            activation_params_int16(-3.0, 1.0).unwrap(),
            3.0f32 / 32767.0
        );
        assert!(activation_params_int16(0.0, 0.0).unwrap() > 0.0);
        assert!(activation_params_int16(f32::INFINITY, 0.0).is_err());
        // weights: 127 / max in float, then the product rounded
        let (s, q) = quantize_weights_legacy(&[0.5, -1.0, 0.0, 0.0], &[2, 2], Some(0)).unwrap();
        assert_eq!(s, vec![1.0 / 127.0, 1.0]);
        assert_eq!(q, vec![64, -127, 0, 0]);
        let (s, q) = quantize_weights_legacy(&[0.5, -1.0, 0.25, 0.0], &[2, 2], None).unwrap();
        assert_eq!((s, q), (vec![1.0 / 127.0], vec![64, -127, 32, 0]));
        // int64 bias at s_in · s_w (float product)
        let (scales, b) = quantize_bias_int64(&[1.0, -0.5], 0.5, &[0.25, 0.5]).unwrap();
        assert_eq!(scales, vec![0.125, 0.25]);
        assert_eq!(b, vec![8, -2]);
        assert!(quantize_bias_int64(&[1.0, 2.0, 3.0], 1.0, &[1.0, 1.0]).is_err());
    }
}
