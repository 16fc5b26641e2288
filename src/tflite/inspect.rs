//! What `ptq inspect` shows: a serializable report of a model (operators, tensors with their
//! quantization, metadata, signatures, sizes) and its plain-text rendering. It lives in the library so the
//! web page can show the same report (as JSON through serde) as the CLI.

use std::fmt::{self, Display, Write as _};

use serde::Serialize;

use super::model::*;
use super::read::read_model;
use super::schema::op_name;
use crate::error::Result;

/// Everything `inspect` reports about a model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Size of the file in bytes.
    pub file_size: usize,
    pub schema_version: u32,
    pub description: Option<String>,
    /// Element types of the main subgraph's inputs and outputs (e.g. `["UINT8"]`): which I/O a file has.
    pub input_types: Vec<String>,
    pub output_types: Vec<String>,
    pub subgraphs: Vec<SubgraphReport>,
    pub metadata: Vec<MetadataReport>,
    pub signatures: Vec<SignatureDef>,
    pub totals: Totals,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubgraphReport {
    pub index: usize,
    pub name: Option<String>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<OperatorReport>,
    pub tensors: Vec<TensorReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OperatorReport {
    pub index: usize,
    /// Schema name (`CONV_2D`), `CUSTOM` for custom ops, or `BUILTIN_<code>` for codes we don't know.
    pub name: String,
    pub code: i32,
    pub custom_code: Option<String>,
    pub version: i32,
    /// Tensor indices; -1 is an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// The options as `key=value` pairs (non-default ones, plus padding and strides), empty if none.
    pub options: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorReport {
    pub index: usize,
    pub name: String,
    /// Schema name of the element type (`INT8`, `FLOAT32`, …).
    pub dtype: String,
    pub shape: Vec<i32>,
    pub shape_signature: Option<Vec<i32>>,
    pub buffer: u32,
    /// Bytes of constant data (0 for activations and inputs).
    pub data_bytes: usize,
    /// `None` when the tensor has no scales (float tensors carry an empty table).
    pub quantization: Option<QuantizationReport>,
    pub is_variable: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuantizationReport {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// The axis of per-axis parameters; `None` for per-tensor ones.
    pub axis: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetadataReport {
    pub name: String,
    pub buffer: u32,
    pub size: usize,
    /// The value, if it is printable ASCII once trailing NULs are dropped (`min_runtime_version` is).
    pub text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Totals {
    pub subgraphs: usize,
    pub operators: usize,
    pub tensors: usize,
    /// Tensors with constant data, and the bytes of their (distinct) buffers.
    pub constant_tensors: usize,
    pub constant_bytes: usize,
    pub buffers: usize,
    /// Bytes of the buffers metadata entries point at.
    pub metadata_bytes: usize,
}

/// Read a `.tflite` file and report on it.
pub fn inspect_bytes(bytes: &[u8]) -> Result<Report> {
    Ok(inspect(&read_model(bytes)?, bytes.len()))
}

/// Report on a model read from a file of `file_size` bytes.
pub fn inspect(model: &Model, file_size: usize) -> Report {
    let subgraphs: Vec<SubgraphReport> = model
        .subgraphs
        .iter()
        .enumerate()
        .map(|(index, s)| SubgraphReport {
            index,
            name: s.name.clone(),
            inputs: s.inputs.clone(),
            outputs: s.outputs.clone(),
            operators: s
                .operators
                .iter()
                .enumerate()
                .map(|(i, o)| operator_report(i, o))
                .collect(),
            tensors: s
                .tensors
                .iter()
                .enumerate()
                .map(|(i, t)| tensor_report(model, i, t))
                .collect(),
        })
        .collect();

    let io_types = |list: &[i32]| -> Vec<String> {
        let main = model.subgraphs.first();
        list.iter()
            .map(|&i| {
                main.and_then(|s| s.tensors.get(usize::try_from(i).ok()?))
                    .map_or_else(|| "?".to_string(), |t| t.dtype.name().to_string())
            })
            .collect()
    };
    let main = model.subgraphs.first();
    let input_types = io_types(main.map_or(&[][..], |s| &s.inputs));
    let output_types = io_types(main.map_or(&[][..], |s| &s.outputs));

    let metadata: Vec<MetadataReport> = model
        .metadata
        .iter()
        .map(|m| {
            let value = model
                .buffers
                .get(m.buffer as usize)
                .map_or(&[][..], Vec::as_slice);
            MetadataReport {
                name: m.name.clone(),
                buffer: m.buffer,
                size: value.len(),
                text: printable(value),
            }
        })
        .collect();

    // Constant bytes counted once per buffer, even when tensors share one (TF shares small constants).
    let mut constant_buffers: Vec<u32> = model
        .subgraphs
        .iter()
        .flat_map(|s| &s.tensors)
        .filter(|t| model.tensor_data(t).is_some())
        .map(|t| t.buffer)
        .collect();
    let constant_tensors = constant_buffers.len();
    constant_buffers.sort_unstable();
    constant_buffers.dedup();
    let size_of = |b: &u32| model.buffers.get(*b as usize).map_or(0, Vec::len);
    let totals = Totals {
        subgraphs: model.subgraphs.len(),
        operators: model.subgraphs.iter().map(|s| s.operators.len()).sum(),
        tensors: model.subgraphs.iter().map(|s| s.tensors.len()).sum(),
        constant_tensors,
        constant_bytes: constant_buffers.iter().map(size_of).sum(),
        buffers: model.buffers.len(),
        metadata_bytes: metadata.iter().map(|m| m.size).sum(),
    };

    Report {
        file_size,
        schema_version: model.version,
        description: model.description.clone(),
        input_types,
        output_types,
        subgraphs,
        metadata,
        signatures: model.signature_defs.clone(),
        totals,
    }
}

fn operator_report(index: usize, o: &Operator) -> OperatorReport {
    OperatorReport {
        index,
        name: op_name(o.code),
        code: o.code,
        custom_code: o.custom_code.clone(),
        version: o.version,
        inputs: o.inputs.clone(),
        outputs: o.outputs.clone(),
        options: options_summary(&o.options),
    }
}

fn tensor_report(model: &Model, index: usize, t: &Tensor) -> TensorReport {
    let quantization = t
        .quantization
        .as_ref()
        .filter(|q| !q.scale.is_empty())
        .map(|q| QuantizationReport {
            scale: q.scale.clone(),
            zero_point: q.zero_point.clone(),
            axis: (q.scale.len() > 1).then_some(q.quantized_dimension),
        });
    TensorReport {
        index,
        name: t.name.clone(),
        dtype: t.dtype.name().to_string(),
        shape: t.shape.clone(),
        shape_signature: t.shape_signature.clone(),
        buffer: t.buffer,
        data_bytes: model.tensor_data(t).map_or(0, <[u8]>::len),
        quantization,
        is_variable: t.is_variable,
    }
}

/// The text of a metadata value, if it is printable ASCII once trailing NULs are dropped.
fn printable(value: &[u8]) -> Option<String> {
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = value.get(..end)?;
    (!text.is_empty() && text.iter().all(|b| (0x20..0x7f).contains(b)))
        .then(|| String::from_utf8_lossy(text).into_owned())
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::None => "NONE",
        Activation::Relu => "RELU",
        Activation::ReluN1To1 => "RELU_N1_TO_1",
        Activation::Relu6 => "RELU6",
        Activation::Tanh => "TANH",
        Activation::SignBit => "SIGN_BIT",
    }
}

fn padding_name(p: Padding) -> &'static str {
    match p {
        Padding::Same => "SAME",
        Padding::Valid => "VALID",
    }
}

/// `key=value` pairs for an operator's options.
pub fn options_summary(options: &Options) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |key: &str, value: String| parts.push(format!("{key}={value}"));
    match options {
        Options::None => {}
        Options::Conv2D(o) => {
            push("padding", padding_name(o.padding).into());
            push("stride", format!("{}x{}", o.stride_h, o.stride_w));
            if (o.dilation_h, o.dilation_w) != (1, 1) {
                push("dilation", format!("{}x{}", o.dilation_h, o.dilation_w));
            }
            push("activation", activation_name(o.fused_activation).into());
        }
        Options::DepthwiseConv2D(o) => {
            push("padding", padding_name(o.padding).into());
            push("stride", format!("{}x{}", o.stride_h, o.stride_w));
            if (o.dilation_h, o.dilation_w) != (1, 1) {
                push("dilation", format!("{}x{}", o.dilation_h, o.dilation_w));
            }
            push("depth_multiplier", o.depth_multiplier.to_string());
            push("activation", activation_name(o.fused_activation).into());
        }
        Options::Pool2D(o) => {
            push("padding", padding_name(o.padding).into());
            push("filter", format!("{}x{}", o.filter_h, o.filter_w));
            push("stride", format!("{}x{}", o.stride_h, o.stride_w));
            push("activation", activation_name(o.fused_activation).into());
        }
        Options::FullyConnected(o) => {
            push("activation", activation_name(o.fused_activation).into());
            if o.weights_format != 0 {
                push("weights_format", o.weights_format.to_string());
            }
            if o.keep_num_dims {
                push("keep_num_dims", "true".into());
            }
            if o.asymmetric_quantize_inputs {
                push("asymmetric_quantize_inputs", "true".into());
            }
        }
        Options::Softmax { beta } => push("beta", beta.to_string()),
        Options::Reshape { new_shape } => push("new_shape", format!("{new_shape:?}")),
        Options::Shape { out_type } => push("out_type", out_type.name().into()),
        Options::StridedSlice(o) => {
            for (key, mask) in [
                ("begin_mask", o.begin_mask),
                ("end_mask", o.end_mask),
                ("ellipsis_mask", o.ellipsis_mask),
                ("new_axis_mask", o.new_axis_mask),
                ("shrink_axis_mask", o.shrink_axis_mask),
            ] {
                if mask != 0 {
                    push(key, mask.to_string());
                }
            }
            if o.offset {
                push("offset", "true".into());
            }
        }
        Options::Pack { values_count, axis } => {
            push("values_count", values_count.to_string());
            push("axis", axis.to_string());
        }
        Options::Quantize | Options::Dequantize => {}
        Options::Unknown(union) => push("options", format!("union type {union} (not decoded)")),
    }
    parts.join(" ")
}

/// `25384` → `25,384`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn index_list(list: &[i32]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|&i| {
            if i < 0 {
                "-".to_string()
            } else {
                i.to_string()
            }
        })
        .collect();
    items.join(",")
}

/// "scale 0.0039 zp 0", or for per-axis parameters the axis, count and the first few values.
fn quantization_text(q: &QuantizationReport) -> String {
    const SHOWN: usize = 3;
    let list = |values: Vec<String>| {
        let more = values.len() > SHOWN;
        let mut s = values
            .into_iter()
            .take(SHOWN)
            .collect::<Vec<_>>()
            .join(", ");
        if more {
            s.push_str(", …");
        }
        s
    };
    match (q.axis, q.scale.as_slice(), q.zero_point.as_slice()) {
        (None, [s], [z]) => format!("scale {s} zp {z}"),
        _ => {
            let scales = list(q.scale.iter().map(f32::to_string).collect());
            let zero_points = if q.zero_point.iter().all(|&z| z == 0) {
                "0".to_string()
            } else {
                list(q.zero_point.iter().map(i64::to_string).collect())
            };
            format!(
                "axis {} ({} scales): scale {scales} zp {zero_points}",
                q.axis.unwrap_or(0),
                q.scale.len()
            )
        }
    }
}

fn tensor_line(out: &mut String, t: &TensorReport) -> fmt::Result {
    let mut shape = format!("{:?}", t.shape);
    if let Some(signature) = t.shape_signature.as_ref().filter(|s| **s != t.shape) {
        write!(shape, " sig {signature:?}")?;
    }
    let data = if t.data_bytes > 0 {
        grouped(t.data_bytes)
    } else {
        "-".to_string()
    };
    let quantization = t
        .quantization
        .as_ref()
        .map_or_else(String::new, quantization_text);
    let variable = if t.is_variable { " (variable)" } else { "" };
    writeln!(
        out,
        "  {:>6}  {:<8} {:<36} {:>7}  {}{variable}",
        t.index, t.dtype, shape, data, t.name
    )?;
    if !quantization.is_empty() {
        writeln!(out, "  {:>6}  {:<8} {quantization}", "", "")?;
    }
    Ok(())
}

impl Report {
    /// The human-readable rendering `ptq inspect` prints.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        // Rows whose last column is empty end in padding.
        let mut trimmed = String::with_capacity(out.len());
        for line in out.lines() {
            trimmed.push_str(line.trim_end());
            trimmed.push('\n');
        }
        trimmed
    }

    fn write_text(&self, out: &mut String) -> fmt::Result {
        write!(
            out,
            "TensorFlow Lite model: {} bytes, schema version {}",
            grouped(self.file_size),
            self.schema_version
        )?;
        if let Some(d) = &self.description {
            write!(out, ", description \"{d}\"")?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "I/O: {} in, {} out",
            self.input_types.join(", "),
            self.output_types.join(", ")
        )?;
        if let Some(main) = self.subgraphs.first() {
            for (label, list) in [("input ", &main.inputs), ("output", &main.outputs)] {
                for &i in list {
                    let Some(t) = usize::try_from(i).ok().and_then(|i| main.tensors.get(i)) else {
                        continue;
                    };
                    let q = t
                        .quantization
                        .as_ref()
                        .map_or_else(String::new, |q| format!(", {}", quantization_text(q)));
                    writeln!(
                        out,
                        "  {label} #{i} \"{}\": {} {:?}{q}",
                        t.name, t.dtype, t.shape
                    )?;
                }
            }
        }
        if !self.metadata.is_empty() {
            let items: Vec<String> = self
                .metadata
                .iter()
                .map(|m| match &m.text {
                    Some(text) => format!("{} = \"{text}\"", m.name),
                    None => format!("{} ({} bytes)", m.name, grouped(m.size)),
                })
                .collect();
            writeln!(out, "metadata: {}", items.join("; "))?;
        }
        for s in &self.signatures {
            let maps = |list: &[TensorMap]| {
                list.iter()
                    .map(|m| format!("{} → #{}", m.name, m.tensor_index))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                out,
                "signature \"{}\" (subgraph {}): inputs {}; outputs {}",
                s.key,
                s.subgraph_index,
                maps(&s.inputs),
                maps(&s.outputs)
            )?;
        }

        for s in &self.subgraphs {
            writeln!(out)?;
            let name = s
                .name
                .as_deref()
                .map_or_else(String::new, |n| format!(" \"{n}\""));
            writeln!(
                out,
                "subgraph {}{name}: {} operators, {} tensors, inputs [{}], outputs [{}]",
                s.index,
                s.operators.len(),
                s.tensors.len(),
                index_list(&s.inputs),
                index_list(&s.outputs)
            )?;
            writeln!(
                out,
                "  {:>3}  {:<22} {:>3}  {:<14} {:<8} options",
                "op", "name", "ver", "inputs", "outputs"
            )?;
            for o in &s.operators {
                let name = match &o.custom_code {
                    Some(custom) => format!("{}({custom})", o.name),
                    None => o.name.clone(),
                };
                writeln!(
                    out,
                    "  {:>3}  {:<22} {:>3}  {:<14} {:<8} {}",
                    o.index,
                    name,
                    o.version,
                    index_list(&o.inputs),
                    index_list(&o.outputs),
                    o.options
                )?;
            }
            writeln!(
                out,
                "  {:>6}  {:<8} {:<36} {:>7}  name",
                "tensor", "type", "shape", "bytes"
            )?;
            for t in &s.tensors {
                tensor_line(out, t)?;
            }
        }

        let t = &self.totals;
        writeln!(out)?;
        writeln!(
            out,
            "totals: {} operators, {} tensors ({} constant, {} bytes of constant data), {} buffers, {} bytes of metadata",
            grouped(t.operators),
            grouped(t.tensors),
            grouped(t.constant_tensors),
            grouped(t.constant_bytes),
            grouped(t.buffers),
            grouped(t.metadata_bytes)
        )
    }
}

impl Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands_and_finds_printable_metadata() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(25384), "25,384");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(printable(b"1.14.0\0\0\0\0"), Some("1.14.0".into()));
        assert_eq!(printable(b"\x01\x02"), None);
        assert_eq!(printable(b"\0\0"), None);
    }

    #[test]
    fn summarizes_options_and_quantization() {
        let conv = Options::Conv2D(Conv2DOptions {
            padding: Padding::Valid,
            stride_w: 1,
            stride_h: 1,
            fused_activation: Activation::Relu,
            ..Conv2DOptions::default()
        });
        assert_eq!(
            options_summary(&conv),
            "padding=VALID stride=1x1 activation=RELU"
        );
        let q = QuantizationReport {
            scale: vec![0.5, 0.25, 0.125, 1.0],
            zero_point: vec![0; 4],
            axis: Some(0),
        };
        assert_eq!(
            quantization_text(&q),
            "axis 0 (4 scales): scale 0.5, 0.25, 0.125, … zp 0"
        );
        let q = QuantizationReport {
            scale: vec![0.5],
            zero_point: vec![-128],
            axis: None,
        };
        assert_eq!(quantization_text(&q), "scale 0.5 zp -128");
    }
}
