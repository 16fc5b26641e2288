//! Float `.tflite` → the tutorial's other four models, graph-to-graph, as TensorFlow 2.21's converter
//! does it for this op set:
//!
//! - **dynamic range** (`optimizations=[DEFAULT]`, no dataset): conv/depthwise/dense weights with at
//!   least 1024 elements become int8 per channel; activations stay float and the kernels quantize their
//!   inputs at run time (hybrid ops).
//! - **full integer** (+ representative dataset): every activation int8, float I/O through a QUANTIZE at
//!   each input and a DEQUANTIZE at each output.
//! - **integer only** (+ `TFLITE_BUILTINS_INT8`, `inference_input/output_type`): no float anywhere;
//!   uint8 I/O goes through QUANTIZE ops that shift the zero point by 128, int8 I/O needs none.
//!
//! Same-scale ops (MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE) take their producer's parameters; SOFTMAX has
//! TF's fixed output range (scale 1/256, zero point −128); every other activation gets its calibrated
//! range. Op versions are those TF writes, unified per op code as in TF's files.
//!
//! The modes and options are in [`super::mode`], the edge operators and the finishing steps in
//! `edges.rs`, float16 and 16x8 in their own files; this file checks the float model and makes the
//! dynamic-range and int8 conversions.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::quantize::calibrate::Calibration;
use crate::quantize::edges::finish;
pub(crate) use crate::quantize::edges::{add_io_ops, compact_buffers};
pub use crate::quantize::mode::{ConvertOptions, Int16Io, IoType, Mode, detect_mode};
use crate::quantize::params::{
    activation_params, bias_scales, fit_biases, quantize_bias, quantize_weights_per_channel,
    quantize_weights_per_tensor, requantize_weights,
};
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, Options, Quantization, Subgraph, Tensor, TensorType};

/// Weights with fewer elements stay float in dynamic-range mode (TF's `min_num_elements_for_weights`).
pub const DYNAMIC_RANGE_MIN_ELEMENTS: usize = 1024;

/// Ops a float model may contain.
const CONVERTIBLE: [i32; 10] = [
    op::CONV_2D,
    op::DEPTHWISE_CONV_2D,
    op::FULLY_CONNECTED,
    op::MAX_POOL_2D,
    op::AVERAGE_POOL_2D,
    op::RESHAPE,
    op::SHAPE,
    op::STRIDED_SLICE,
    op::PACK,
    op::SOFTMAX,
];

/// Convert a float model. `calibration` (from [`crate::quantize::calibrate`]) is required for the
/// integer modes.
pub fn convert(
    float: &Model,
    options: &ConvertOptions,
    calibration: Option<&Calibration>,
) -> Result<Model> {
    convert_with(float, options, calibration, |_| Ok(()))
}

/// [`convert`] with the operators `keep_float` (indices into `float`'s operators, from
/// [`crate::quantize::selective::resolve_keep_float`]) left in float: selective quantization, for
/// full-integer models only (integer-only ones have no float left to keep).
pub fn convert_keeping_float(
    float: &Model,
    options: &ConvertOptions,
    calibration: Option<&Calibration>,
    keep_float: &[usize],
) -> Result<Model> {
    if !keep_float.is_empty() && options.mode != Mode::FullInteger {
        return Err(Error::InvalidArgument(format!(
            "keeping layers in float needs the full-integer mode (float input and output), not {}",
            options.mode.name()
        )));
    }
    convert_with(float, options, calibration, |out| {
        crate::quantize::selective::keep_float(out, float, keep_float)
    })
}

/// The conversion; `after_integer` runs on an integer model before it is finished (selective
/// quantization), a separate step so that plain conversions do not carry its code.
fn convert_with(
    float: &Model,
    options: &ConvertOptions,
    calibration: Option<&Calibration>,
    after_integer: impl FnOnce(&mut Model) -> Result<()>,
) -> Result<Model> {
    if !options.per_channel && !options.mode.needs_calibration() {
        return Err(Error::InvalidArgument(format!(
            "per-tensor weights are for the full-integer and integer-only modes, not {}",
            options.mode.name()
        )));
    }
    let graph = float
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    if float.subgraphs.len() != 1 {
        return Err(Error::Unsupported {
            op: "convert".into(),
            what: format!("{} subgraphs (only one)", float.subgraphs.len()),
        });
    }
    check_float_model(float, graph)?;
    let mut out = float.clone();
    match options.mode {
        Mode::Float => {}
        Mode::DynamicRange => dynamic_range(&mut out, options)?,
        Mode::Float16 => crate::quantize::float16::float16(&mut out)?,
        Mode::FullInteger | Mode::IntegerOnly(_) => {
            let calibration = calibration.ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{} needs a representative dataset",
                    options.mode.name()
                ))
            })?;
            integer(&mut out, options, calibration)?;
            after_integer(&mut out)?;
        }
        Mode::Int16x8(io) => {
            let calibration = calibration.ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{} needs a representative dataset",
                    options.mode.name()
                ))
            })?;
            convert_int16x8(&mut out, options, calibration, io)?;
        }
    }
    finish(&mut out);
    Ok(out)
}

#[cfg(feature = "int16")]
fn convert_int16x8(
    model: &mut Model,
    options: &ConvertOptions,
    calibration: &Calibration,
    io: Int16Io,
) -> Result<()> {
    crate::quantize::int16x8::int16x8(model, options, calibration, io)
}

/// Builds without the `int16` feature (the page's small module) leave the 16x8 conversion to others.
#[cfg(not(feature = "int16"))]
fn convert_int16x8(_: &mut Model, _: &ConvertOptions, _: &Calibration, _: Int16Io) -> Result<()> {
    Err(Error::Unsupported {
        op: "convert".into(),
        what: "the 16x8 conversion in this build (the page converts it in its worker)".into(),
    })
}

/// Whether this build can make conversion `mode` ([`Mode::Int16x8`] needs the `int16` feature).
pub fn can_convert(mode: Mode) -> bool {
    cfg!(feature = "int16") || !matches!(mode, Mode::Int16x8(_))
}

pub(crate) fn tensor<'a>(graph: &'a Subgraph, index: i32, what: &str) -> Result<&'a Tensor> {
    usize::try_from(index)
        .ok()
        .and_then(|i| graph.tensors.get(i))
        .ok_or_else(|| Error::InvalidModel(format!("{what}: tensor index {index} out of range")))
}

/// Only float models in the op set, with float activations, are converted.
fn check_float_model(model: &Model, graph: &Subgraph) -> Result<()> {
    for (i, o) in graph.operators.iter().enumerate() {
        if !CONVERTIBLE.contains(&o.code) {
            return Err(Error::Unsupported {
                op: op_name(o.code),
                what: format!(
                    "operator {i} for conversion (the converter handles {})",
                    CONVERTIBLE.map(op_name).join(", ")
                ),
            });
        }
        for &t in o.inputs.iter().chain(&o.outputs).filter(|&&t| t >= 0) {
            let tensor = tensor(graph, t, "operator input")?;
            let float_or_int32 = matches!(tensor.dtype, TensorType::Float32 | TensorType::Int32);
            let quantized = tensor
                .quantization
                .as_ref()
                .is_some_and(|q| !q.scale.is_empty());
            if !float_or_int32 || quantized {
                return Err(Error::InvalidArgument(format!(
                    "tensor {t} ({}) is {}{}: the converter takes a float model",
                    tensor.name,
                    tensor.dtype,
                    if quantized { ", quantized" } else { "" }
                )));
            }
            if tensor.dtype == TensorType::Float32
                && model.tensor_data(tensor).is_some()
                && !is_weight_or_bias(graph, t)
            {
                return Err(Error::Unsupported {
                    op: op_name(o.code),
                    what: format!(
                        "float constant tensor {t} ({}) outside conv/dense weights and biases",
                        tensor.name
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Whether tensor `t` is input 1 (weights) or 2 (bias) of a conv, depthwise conv or dense layer.
fn is_weight_or_bias(graph: &Subgraph, t: i32) -> bool {
    graph.operators.iter().any(|o| {
        matches!(
            o.code,
            op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED
        ) && o.inputs.iter().skip(1).take(2).any(|&x| x == t)
    })
}

/// Axis of the output channels of a weight tensor: 0 for conv (OHWI) and dense (`[out, in]`), 3 for
/// depthwise (`[1, H, W, O]`).
pub(crate) fn channel_axis(code: i32) -> usize {
    if code == op::DEPTHWISE_CONV_2D { 3 } else { 0 }
}

pub(crate) fn weights_f32(model: &Model, t: &Tensor) -> Result<Vec<f32>> {
    let bytes = model
        .tensor_data(t)
        .ok_or_else(|| Error::InvalidModel(format!("weights {} have no data", t.name)))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

pub(crate) fn dims(t: &Tensor) -> Vec<usize> {
    t.shape.iter().map(|&d| d.max(0) as usize).collect()
}

/// Quantized weights of one layer.
struct Weights {
    scales: Vec<f32>,
    axis: usize,
    values: Vec<i8>,
}

fn quantize_layer_weights(
    model: &Model,
    code: i32,
    w: &Tensor,
    options: &ConvertOptions,
) -> Result<Weights> {
    let data = weights_f32(model, w)?;
    if !options.per_channel_for(code) {
        let (scale, values) = quantize_weights_per_tensor(&data)?;
        return Ok(Weights {
            scales: vec![scale],
            axis: 0,
            values,
        });
    }
    let axis = channel_axis(code);
    let (scales, values) =
        quantize_weights_per_channel(&data, &dims(w), axis).map_err(|e| e.in_file(&w.name))?;
    Ok(Weights {
        scales,
        axis,
        values,
    })
}

fn set_weights(model: &mut Model, index: usize, w: Weights) {
    let buffer = model.add_buffer(w.values.iter().map(|&v| v as u8).collect());
    let t = &mut model.subgraphs[0].tensors[index];
    t.dtype = TensorType::Int8;
    t.buffer = buffer;
    let zeros = vec![0; w.scales.len()];
    t.quantization = Some(if w.scales.len() == 1 {
        Quantization::per_tensor(w.scales[0], 0)
    } else {
        Quantization::per_axis(w.scales, zeros, w.axis as i32)
    });
}

fn dynamic_range(model: &mut Model, options: &ConvertOptions) -> Result<()> {
    let operators = model.subgraphs[0].operators.clone();
    let mut done = HashMap::new();
    for (i, o) in operators.iter().enumerate() {
        if !matches!(
            o.code,
            op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED
        ) {
            continue;
        }
        let Some(&w) = o.inputs.get(1) else { continue };
        let wt = tensor(&model.subgraphs[0], w, "weights")?.clone();
        if model.tensor_data(&wt).is_none() || wt.num_elements() < DYNAMIC_RANGE_MIN_ELEMENTS {
            continue;
        }
        let per_channel = options.per_channel_for(o.code);
        if done.insert(w, ()).is_none() {
            let q = quantize_layer_weights(model, o.code, &wt, options)?;
            set_weights(model, w as usize, q);
        }
        let op = &mut model.subgraphs[0].operators[i];
        op.version = match op.code {
            op::CONV_2D => 5,
            op::DEPTHWISE_CONV_2D => 6,
            _ => {
                if let Options::FullyConnected(fc) = &mut op.options {
                    fc.asymmetric_quantize_inputs = true;
                }
                if per_channel { 12 } else { 9 }
            }
        };
    }
    Ok(())
}

/// Quantization parameters of every float activation of `model`, in execution order: from its
/// calibrated range through `from_range`, except where an operator fixes them — RESHAPE and the pools
/// pass their input's on, SOFTMAX outputs get `softmax` (both TF quantizers do this).
pub(crate) fn activation_quantization(
    model: &Model,
    calibration: &Calibration,
    from_range: impl Fn(f32, f32) -> Result<(f32, i64)>,
    softmax: (f32, i64),
) -> Result<Vec<Option<(f32, i64)>>> {
    let graph = &model.subgraphs[0];
    let is_activation =
        |t: &Tensor| t.dtype == TensorType::Float32 && model.tensor_data(t).is_none();
    let mut params: Vec<Option<(f32, i64)>> = vec![None; graph.tensors.len()];
    let calibrated = |index: usize, name: &str| -> Result<(f32, i64)> {
        let (lo, hi) = calibration.range(index).ok_or_else(|| {
            Error::InvalidArgument(format!("no calibration range for tensor {index} ({name})"))
        })?;
        from_range(lo, hi).map_err(|e| e.in_file(format!("tensor {index} ({name})")))
    };
    for &i in &graph.inputs {
        let t = tensor(graph, i, "graph input")?;
        if is_activation(t) {
            params[i as usize] = Some(calibrated(i as usize, &t.name)?);
        }
    }
    for o in &graph.operators {
        for &out in &o.outputs {
            let t = tensor(graph, out, "operator output")?;
            if !is_activation(t) {
                continue;
            }
            let inherited = match o.code {
                op::RESHAPE | op::MAX_POOL_2D | op::AVERAGE_POOL_2D => {
                    let input = *o.inputs.first().ok_or_else(|| {
                        Error::InvalidModel(format!("{} without input", op_name(o.code)))
                    })?;
                    usize::try_from(input)
                        .ok()
                        .and_then(|i| params.get(i).copied().flatten())
                }
                op::SOFTMAX => Some(softmax),
                _ => None,
            };
            params[out as usize] = Some(match inherited {
                Some(p) => p,
                None => calibrated(out as usize, &t.name)?,
            });
        }
    }
    Ok(params)
}

/// Give every activation with parameters the quantized type `dtype` and its per-tensor parameters.
pub(crate) fn set_activation_types(
    model: &mut Model,
    params: &[Option<(f32, i64)>],
    dtype: TensorType,
) {
    for (t, p) in model.subgraphs[0].tensors.iter_mut().zip(params) {
        if let Some((scale, zero_point)) = *p {
            t.dtype = dtype;
            t.quantization = Some(Quantization::per_tensor(scale, zero_point));
        }
    }
}

fn integer(model: &mut Model, options: &ConvertOptions, calibration: &Calibration) -> Result<()> {
    let graph = model.subgraphs[0].clone();

    // 1. parameters of every float activation, in execution order
    let params =
        activation_quantization(model, calibration, activation_params, (1.0 / 256.0, -128))?;

    // 2. activations become int8
    set_activation_types(model, &params, TensorType::Int8);

    // 3. weights int8 per channel, biases int32 at s_in · s_w
    let mut done: HashMap<i32, Vec<f32>> = HashMap::new();
    for (i, o) in graph.operators.iter().enumerate() {
        if !matches!(
            o.code,
            op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED
        ) {
            continue;
        }
        let (input, w) = match o.inputs.as_slice() {
            [input, w, ..] => (*input, *w),
            _ => {
                return Err(Error::InvalidModel(format!(
                    "operator {i} ({}) needs input and weights",
                    op_name(o.code)
                )));
            }
        };
        let input_scale = usize::try_from(input)
            .ok()
            .and_then(|i| params.get(i).copied().flatten())
            .map(|p| p.0)
            .ok_or_else(|| {
                Error::InvalidModel(format!(
                    "operator {i} ({}): input {input} has no parameters",
                    op_name(o.code)
                ))
            })?;
        let wt = tensor(&graph, w, "weights")?;
        let bias = match o.inputs.get(2).filter(|&&b| b >= 0) {
            Some(&b) => {
                let bt = tensor(&graph, b, "bias")?;
                Some((b, bt, weights_f32(model, bt)?))
            }
            None => None,
        };
        // the bias scales TF moves to where a bias would not fit in int32 (first use of the weights:
        // weights shared with an earlier layer keep the scales that layer gave them)
        let mut fitted = None;
        let weight_scales = match done.get(&w) {
            Some(s) => s.clone(),
            None => {
                let mut q = quantize_layer_weights(model, o.code, wt, options)?;
                if let Some((_, _, data)) = &bias
                    && let Some((ws, bs)) = fit_biases(data, input_scale, &q.scales)
                {
                    q.values = requantize_weights(&weights_f32(model, wt)?, &dims(wt), q.axis, &ws);
                    q.scales = ws;
                    fitted = Some(bs);
                }
                let scales = q.scales.clone();
                set_weights(model, w as usize, q);
                done.insert(w, scales.clone());
                scales
            }
        };
        if let Some((b, bt, data)) = bias {
            let scales = fitted.unwrap_or_else(|| bias_scales(input_scale, &weight_scales));
            let values = quantize_bias(&data, &scales).map_err(|e| e.in_file(&bt.name))?;
            let buffer = model.add_buffer(values.iter().flat_map(|v| v.to_le_bytes()).collect());
            let t = &mut model.subgraphs[0].tensors[b as usize];
            t.dtype = TensorType::Int32;
            t.buffer = buffer;
            let zeros = vec![0; scales.len()];
            t.quantization = Some(if scales.len() == 1 {
                Quantization::per_tensor(scales[0], 0)
            } else {
                Quantization::per_axis(scales, zeros, 0)
            });
        }
        let op = &mut model.subgraphs[0].operators[i];
        let keep_num_dims = matches!(&op.options, Options::FullyConnected(fc) if fc.keep_num_dims);
        op.version = match op.code {
            op::FULLY_CONNECTED if keep_num_dims => 5,
            op::FULLY_CONNECTED => 4,
            _ => 3,
        };
    }
    for op in &mut model.subgraphs[0].operators {
        if matches!(op.code, op::MAX_POOL_2D | op::AVERAGE_POOL_2D | op::SOFTMAX) {
            op.version = 2;
        }
    }

    // 4. the model's edges
    let io = match options.mode {
        Mode::IntegerOnly(io) => Some(io),
        _ => None,
    };
    if io != Some(IoType::Int8) {
        add_io_ops(model, &graph, io, "_int8")?;
    }
    Ok(())
}
