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

use std::collections::HashMap;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::quantize::calibrate::Calibration;
use crate::quantize::params::{
    activation_params, bias_scales, fit_biases, quantize_bias, quantize_weights_per_channel,
    quantize_weights_per_tensor, requantize_weights,
};
use crate::quantize::version::min_runtime_version;
use crate::tflite::schema::{METADATA_MIN_RUNTIME_VERSION, op, op_name};
use crate::tflite::{Model, Operator, Options, Quantization, Subgraph, Tensor, TensorType};

/// Type of the model's inputs and outputs in integer-only mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IoType {
    UInt8,
    Int8,
}

/// The tutorial's conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    Float,
    DynamicRange,
    FullInteger,
    IntegerOnly(IoType),
    /// Weights stored as float16 (TF's `target_spec.supported_types = [tf.float16]`).
    Float16,
}

impl Mode {
    /// The tutorial's five conversions, in the order it makes them (and the page lists them).
    pub const ALL: [Mode; 5] = [
        Mode::Float,
        Mode::DynamicRange,
        Mode::FullInteger,
        Mode::IntegerOnly(IoType::UInt8),
        Mode::IntegerOnly(IoType::Int8),
    ];

    /// Post-training options beyond the tutorial's five.
    pub const EXTRA: [Mode; 1] = [Mode::Float16];

    /// Whether the mode needs a representative dataset.
    pub fn needs_calibration(self) -> bool {
        matches!(self, Mode::FullInteger | Mode::IntegerOnly(_))
    }

    /// The mode's id (`integer-only-uint8`): what the CLI prints, the page's mode values, and what
    /// [`str::parse`] reads back.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Float => "float",
            Mode::DynamicRange => "dynamic-range",
            Mode::FullInteger => "full-integer",
            Mode::IntegerOnly(IoType::UInt8) => "integer-only-uint8",
            Mode::IntegerOnly(IoType::Int8) => "integer-only-int8",
            Mode::Float16 => "float16",
        }
    }

    /// The file the tutorial saves this mode's model as (`mnist_intonly_uint8.tflite`).
    pub fn file_name(self) -> &'static str {
        match self {
            Mode::Float => "mnist_float.tflite",
            Mode::DynamicRange => "mnist_dynamic.tflite",
            Mode::FullInteger => "mnist_fullint_floatio.tflite",
            Mode::IntegerOnly(IoType::UInt8) => "mnist_intonly_uint8.tflite",
            Mode::IntegerOnly(IoType::Int8) => "mnist_intonly_int8.tflite",
            Mode::Float16 => "mnist_float16.tflite",
        }
    }
}

impl FromStr for Mode {
    type Err = Error;

    /// A mode from its [`Mode::name`].
    fn from_str(name: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .chain(Mode::EXTRA)
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL
                    .iter()
                    .chain(&Mode::EXTRA)
                    .map(|m| m.name())
                    .collect();
                Error::InvalidArgument(format!("unknown mode {name:?} ({})", names.join(", ")))
            })
    }
}

/// Conversion settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertOptions {
    pub mode: Mode,
    /// Quantize FULLY_CONNECTED weights per output channel (TF's default) rather than per tensor.
    pub per_channel_dense: bool,
    /// Quantize every layer's weights per output channel (TF's default); `false` is TF's
    /// `_experimental_disable_per_channel`: one scale per weight tensor (integer modes only).
    pub per_channel: bool,
}

impl ConvertOptions {
    pub fn new(mode: Mode) -> ConvertOptions {
        ConvertOptions {
            mode,
            per_channel_dense: true,
            per_channel: true,
        }
    }

    /// Whether the weights of an operator `code` are quantized per channel.
    fn per_channel_for(&self, code: i32) -> bool {
        self.per_channel && (code != op::FULLY_CONNECTED || self.per_channel_dense)
    }
}

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
    }
    finish(&mut out);
    Ok(out)
}

fn tensor<'a>(graph: &'a Subgraph, index: i32, what: &str) -> Result<&'a Tensor> {
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
fn channel_axis(code: i32) -> usize {
    if code == op::DEPTHWISE_CONV_2D { 3 } else { 0 }
}

fn weights_f32(model: &Model, t: &Tensor) -> Result<Vec<f32>> {
    let bytes = model
        .tensor_data(t)
        .ok_or_else(|| Error::InvalidModel(format!("weights {} have no data", t.name)))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn dims(t: &Tensor) -> Vec<usize> {
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

fn integer(model: &mut Model, options: &ConvertOptions, calibration: &Calibration) -> Result<()> {
    let graph = model.subgraphs[0].clone();
    let n = graph.tensors.len();
    let is_activation =
        |t: &Tensor| t.dtype == TensorType::Float32 && model.tensor_data(t).is_none();

    // 1. parameters of every float activation, in execution order
    let mut params: Vec<Option<(f32, i64)>> = vec![None; n];
    let calibrated = |index: usize, name: &str| -> Result<(f32, i64)> {
        let (lo, hi) = calibration.range(index).ok_or_else(|| {
            Error::InvalidArgument(format!("no calibration range for tensor {index} ({name})"))
        })?;
        activation_params(lo, hi).map_err(|e| e.in_file(format!("tensor {index} ({name})")))
    };
    for &i in &graph.inputs {
        let t = tensor(&graph, i, "graph input")?;
        if is_activation(t) {
            params[i as usize] = Some(calibrated(i as usize, &t.name)?);
        }
    }
    for o in &graph.operators {
        for &out in &o.outputs {
            let t = tensor(&graph, out, "operator output")?;
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
                op::SOFTMAX => Some((1.0 / 256.0, -128)),
                _ => None,
            };
            params[out as usize] = Some(match inherited {
                Some(p) => p,
                None => calibrated(out as usize, &t.name)?,
            });
        }
    }

    // 2. activations become int8
    for (t, p) in model.subgraphs[0].tensors.iter_mut().zip(&params) {
        if let Some((scale, zero_point)) = *p {
            t.dtype = TensorType::Int8;
            t.quantization = Some(Quantization::per_tensor(scale, zero_point));
        }
    }

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
                if let Some((_, _, data)) = &bias {
                    if let Some((ws, bs)) = fit_biases(data, input_scale, &q.scales) {
                        q.values = requantize_weights(&weights_f32(model, wt)?, &dims(wt), q.axis, &ws);
                        q.scales = ws;
                        fitted = Some(bs);
                    }
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
        add_io_ops(model, &graph, io)?;
    }
    Ok(())
}

/// Put QUANTIZE at the inputs and DEQUANTIZE (float I/O) or QUANTIZE to uint8 at the outputs.
fn add_io_ops(model: &mut Model, original: &Subgraph, io: Option<IoType>) -> Result<()> {
    let g = &mut model.subgraphs[0];
    let mut front = Vec::new();
    for &input in &original.inputs {
        let Some(inner) = split_edge(g, original, input, io, false) else {
            continue;
        };
        front.push(Operator {
            code: op::QUANTIZE,
            custom_code: None,
            version: 1,
            inputs: vec![input],
            outputs: vec![inner],
            options: Options::None,
        });
    }
    for &output in &original.outputs {
        let Some(inner) = split_edge(g, original, output, io, true) else {
            continue;
        };
        let (code, version) = if io.is_some() {
            (op::QUANTIZE, 1)
        } else {
            (op::DEQUANTIZE, 2)
        };
        g.operators.push(Operator {
            code,
            custom_code: None,
            version,
            inputs: vec![inner],
            outputs: vec![output],
            options: Options::None,
        });
    }
    front.append(&mut g.operators);
    g.operators = front;
    Ok(())
}

/// Give graph edge `edge` (an int8 tensor by now) an int8 twin that the model's operators use instead
/// (also as the writer, for an output), and turn `edge` itself back into the model's I/O type.
/// Returns the twin's index, or `None` if the edge is not quantized.
fn split_edge(
    g: &mut Subgraph,
    original: &Subgraph,
    edge: i32,
    io: Option<IoType>,
    is_output: bool,
) -> Option<i32> {
    let i = edge as usize;
    let (scale, zero_point) = g.tensors[i].per_tensor_quantization()?;
    let inner = g.tensors.len() as i32;
    let mut twin = g.tensors[i].clone();
    twin.name = format!("{}_int8", original.tensors[i].name);
    g.tensors.push(twin);
    restore_edge(
        &mut g.tensors[i],
        &original.tensors[i],
        io,
        scale,
        zero_point,
    );
    for o in &mut g.operators {
        let outputs = o.outputs.iter_mut().filter(|_| is_output);
        for x in o.inputs.iter_mut().chain(outputs).filter(|x| **x == edge) {
            *x = inner;
        }
    }
    Some(inner)
}

/// The graph's own input/output tensor after the edge ops are added: float again (float I/O) or uint8
/// with the int8 parameters shifted by 128.
fn restore_edge(
    t: &mut Tensor,
    original: &Tensor,
    io: Option<IoType>,
    scale: f32,
    zero_point: i64,
) {
    match io {
        Some(IoType::UInt8) => {
            t.dtype = TensorType::UInt8;
            t.quantization = Some(Quantization::per_tensor(scale, zero_point + 128));
        }
        _ => {
            t.dtype = original.dtype;
            t.quantization = original.quantization.clone();
        }
    }
}

/// Unify op versions per code (TF's files hold one version per op code), drop unreferenced buffers,
/// and set the description and `min_runtime_version`.
fn finish(model: &mut Model) {
    let mut highest: HashMap<i32, i32> = HashMap::new();
    for o in model.subgraphs.iter().flat_map(|g| &g.operators) {
        let v = highest.entry(o.code).or_insert(o.version);
        *v = (*v).max(o.version);
    }
    for o in model.subgraphs.iter_mut().flat_map(|g| &mut g.operators) {
        o.version = highest[&o.code];
    }
    // metadata: our own min_runtime_version, nothing TF-specific
    let runtime = min_runtime_version(highest.iter().map(|(&c, &v)| (c, v)));
    model
        .metadata
        .retain(|m| m.name != "CONVERSION_METADATA" && m.name != METADATA_MIN_RUNTIME_VERSION);
    let buffer = model.add_buffer(runtime);
    model.metadata.push(crate::tflite::Metadata {
        name: METADATA_MIN_RUNTIME_VERSION.into(),
        buffer,
    });
    model.description = Some("ptq-playground".into());
    compact_buffers(model);
}

/// Keep only referenced buffers with data (buffer 0, the empty sentinel, stays first; tensors without
/// data all point at it).
pub(crate) fn compact_buffers(model: &mut Model) {
    let mut map: HashMap<u32, u32> = HashMap::new();
    let mut buffers = vec![Vec::new()];
    let mut remap = |b: &mut u32, buffers: &mut Vec<Vec<u8>>, old: &[Vec<u8>]| {
        if old.get(*b as usize).is_none_or(Vec::is_empty) {
            *b = 0;
            return;
        }
        let new = *map.entry(*b).or_insert_with(|| {
            buffers.push(old.get(*b as usize).cloned().unwrap_or_default());
            (buffers.len() - 1) as u32
        });
        *b = new;
    };
    let old = std::mem::take(&mut model.buffers);
    for t in model.subgraphs.iter_mut().flat_map(|g| &mut g.tensors) {
        remap(&mut t.buffer, &mut buffers, &old);
    }
    for m in &mut model.metadata {
        remap(&mut m.buffer, &mut buffers, &old);
    }
    model.buffers = buffers;
}

/// Which of the tutorial's conversions produced `model`, judged from its tensors: the input type for
/// integer-only models, int8 activations for full-integer, int8 constants only for dynamic range.
pub fn detect_mode(model: &Model) -> Mode {
    let Some(graph) = model.subgraphs.first() else {
        return Mode::Float;
    };
    let input = graph
        .inputs
        .first()
        .and_then(|&i| graph.tensors.get(usize::try_from(i).ok()?));
    match input.map(|t| t.dtype) {
        Some(TensorType::UInt8) => return Mode::IntegerOnly(IoType::UInt8),
        Some(TensorType::Int8) => return Mode::IntegerOnly(IoType::Int8),
        _ => {}
    }
    let int8 = |constant: bool| {
        graph
            .tensors
            .iter()
            .any(|t| t.dtype == TensorType::Int8 && model.tensor_data(t).is_some() == constant)
    };
    let half = graph
        .tensors
        .iter()
        .any(|t| t.dtype == TensorType::Float16 && model.tensor_data(t).is_some());
    if int8(false) {
        Mode::FullInteger
    } else if half {
        Mode::Float16
    } else if int8(true) {
        Mode::DynamicRange
    } else {
        Mode::Float
    }
}

impl Mode {
    /// How the tutorial names the model in its accuracy line ("Float model accuracy is …").
    pub fn label(self) -> &'static str {
        match self {
            Mode::Float => "Float",
            Mode::DynamicRange => "Dynamic range quantized",
            Mode::FullInteger => "Full integer quantized",
            Mode::IntegerOnly(_) => "Quantized",
            Mode::Float16 => "Float16",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_their_names_and_have_distinct_files() {
        let every: Vec<Mode> = Mode::ALL.into_iter().chain(Mode::EXTRA).collect();
        for (i, mode) in every.iter().copied().enumerate() {
            assert_eq!(mode.name().parse::<Mode>().ok(), Some(mode));
            for other in &every[i + 1..] {
                assert_ne!(mode.name(), other.name());
                assert_ne!(mode.file_name(), other.file_name());
            }
        }
        assert_eq!(
            "integer-only-int8".parse::<Mode>().ok(),
            Some(Mode::IntegerOnly(IoType::Int8))
        );
        assert_eq!(
            Mode::FullInteger.file_name(),
            "mnist_fullint_floatio.tflite"
        );
        let err = "integer-only".parse::<Mode>().unwrap_err().to_string();
        assert!(
            err.ends_with(
                "unknown mode \"integer-only\" (float, dynamic-range, full-integer, \
                 integer-only-uint8, integer-only-int8, float16)"
            ),
            "{err}"
        );
    }
}
