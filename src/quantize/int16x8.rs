//! The 16x8 conversion: int16 activations (symmetric, zero point 0), int8 weights, int64 biases —
//! TF's `EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8`.
//!
//! TF 2.21 sends this mode to its older quantizer (`tensorflow/lite/tools/optimize`), not the MLIR one
//! the int8 modes use, so its arithmetic differs from [`super::convert`]'s in small ways
//! ([`super::params`]: [`activation_params_int16`], [`quantize_weights_legacy`],
//! [`quantize_bias_int64`]). What stays the same: which tensors get their own range (RESHAPE and the
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
use crate::quantize::params::{
    activation_params_int16, quantize_bias_int64, quantize_weights_legacy,
};
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
