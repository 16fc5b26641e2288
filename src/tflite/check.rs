//! Consistency checks on a [`Model`]: every index in range, shapes and constant buffer sizes agree,
//! quantization parameters fit their tensor, options fit their operator, sizes under the [`limits`].
//!
//! The reader runs these once on what it decoded (errors are `MalformedTflite`), the writer runs them
//! before encoding (errors are `InvalidArgument`), and [`validate`] offers them to code that builds a
//! model in memory (errors are `InvalidModel`). After a model passes, an index into `tensors`/`buffers`
//! taken from it is in range, and a constant tensor's buffer holds exactly `elements × size` bytes.
//!
//! What is *not* checked here, because it is about running the model rather than its encoding: tensor
//! types per operator, operator arity, graph order, and the values of scales and zero points (finite,
//! positive, in the type's range). The interpreter checks those when it prepares a model.

use super::model::*;
use super::schema::{self, op, options};
use crate::error::{Error, Result};

/// Limits on what a model may ask of us. The reader checks every count a file declares against them
/// before it allocates for it, and the writer checks a model before encoding it, so a forged file cannot
/// make us reserve unbounded memory or work. Generous for real models: a 10 MB model has a few thousand
/// tensors.
pub mod limits {
    /// Largest `.tflite` file we read or write (TFLite's own flatbuffers stop at 2 GiB).
    pub const MAX_FILE_BYTES: usize = 256 << 20;
    /// Subgraphs in a model.
    pub const MAX_SUBGRAPHS: usize = 1 << 10;
    /// Tensors, summed over all subgraphs.
    pub const MAX_TENSORS: usize = 1 << 18;
    /// Operators, summed over all subgraphs.
    pub const MAX_OPERATORS: usize = 1 << 18;
    /// Entries of `Model.buffers` (TF writes one per tensor).
    pub const MAX_BUFFERS: usize = 1 << 18;
    /// Entries of `Model.operator_codes`.
    pub const MAX_OPERATOR_CODES: usize = 1 << 12;
    /// `Model.metadata` entries, and signature defs.
    pub const MAX_METADATA: usize = 1 << 10;
    /// Tensor maps (inputs plus outputs), summed over all signature defs.
    pub const MAX_SIGNATURE_TENSORS: usize = 1 << 16;
    /// Dimensions of a tensor. TFLite kernels handle up to 5 or 6.
    pub const MAX_RANK: usize = 8;
    /// Elements of one tensor (2^28: 1 GiB of f32).
    pub const MAX_ELEMENTS: u64 = 1 << 28;
    /// Slack on the reader's copy budget, beyond the file's own size: everything the reader copies out
    /// of the file (strings, vectors, buffer data) may total at most `file size + this`. A file that
    /// points many fields at one large vector cannot make us allocate much more than it weighs.
    pub const DECODE_SLACK_BYTES: u64 = 16 << 20;
}

/// Who is at fault when a check fails, which decides the error variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The model came from a file: `MalformedTflite`.
    File,
    /// The caller asked us to write it: `InvalidArgument`.
    Writer,
    /// It was built in memory: `InvalidModel`.
    Model,
}

impl Fault {
    fn error(self, message: String) -> Error {
        match self {
            Fault::File => Error::MalformedTflite(message),
            Fault::Writer => Error::InvalidArgument(format!("cannot write this model: {message}")),
            Fault::Model => Error::InvalidModel(message),
        }
    }
}

/// Check a model built in memory (by the quantizer, or by hand) the way the reader checks a file.
pub fn validate(model: &Model) -> Result<()> {
    check_model(model, Fault::Model)
}

/// Everything [`validate`] promises; `fault` picks the error variant.
pub(crate) fn check_model(model: &Model, fault: Fault) -> Result<()> {
    let bad = |message: String| fault.error(message);
    if model.version != schema::SCHEMA_VERSION {
        return Err(bad(format!(
            "model (version): schema version {} is not supported, only {}",
            model.version,
            schema::SCHEMA_VERSION
        )));
    }
    if model.subgraphs.is_empty() {
        return Err(bad(
            "model (subgraphs): the model has no subgraph".to_string()
        ));
    }
    match model.buffers.first() {
        None => {
            return Err(bad(
                "model (buffers): no buffers; buffer 0 must be the empty sentinel".to_string(),
            ));
        }
        Some(b) if !b.is_empty() => {
            return Err(bad(format!(
                "buffer 0: holds {} bytes; buffer 0 must be the empty sentinel",
                b.len()
            )));
        }
        Some(_) => {}
    }
    check_count("subgraphs", model.subgraphs.len(), limits::MAX_SUBGRAPHS)?;
    check_count("buffers", model.buffers.len(), limits::MAX_BUFFERS)?;
    check_count(
        "metadata entries",
        model.metadata.len(),
        limits::MAX_METADATA,
    )?;
    check_count(
        "signature defs",
        model.signature_defs.len(),
        limits::MAX_METADATA,
    )?;
    let tensors: usize = model.subgraphs.iter().map(|s| s.tensors.len()).sum();
    check_count("tensors (all subgraphs)", tensors, limits::MAX_TENSORS)?;
    let operators: usize = model.subgraphs.iter().map(|s| s.operators.len()).sum();
    check_count(
        "operators (all subgraphs)",
        operators,
        limits::MAX_OPERATORS,
    )?;

    for (si, subgraph) in model.subgraphs.iter().enumerate() {
        for (ti, tensor) in subgraph.tensors.iter().enumerate() {
            check_tensor(model, tensor, &format!("subgraph {si} tensor {ti}"), fault)?;
        }
        let n = subgraph.tensors.len();
        for (field, list) in [("inputs", &subgraph.inputs), ("outputs", &subgraph.outputs)] {
            for &t in list {
                if !index_in(t, n) {
                    return Err(bad(format!(
                        "subgraph {si} ({field}): tensor index {t} out of range ({n} tensors)"
                    )));
                }
            }
        }
        for (oi, operator) in subgraph.operators.iter().enumerate() {
            let loc = format!(
                "subgraph {si} operator {oi} ({})",
                schema::op_name(operator.code)
            );
            check_operator(operator, n, &loc, fault)?;
        }
    }

    let mut maps = 0usize;
    for (k, sig) in model.signature_defs.iter().enumerate() {
        let loc = format!("signature {k} \"{}\"", sig.key);
        let Some(subgraph) = model.subgraphs.get(sig.subgraph_index as usize) else {
            return Err(bad(format!(
                "{loc} (subgraph_index): {} out of range ({} subgraphs)",
                sig.subgraph_index,
                model.subgraphs.len()
            )));
        };
        maps = maps
            .saturating_add(sig.inputs.len())
            .saturating_add(sig.outputs.len());
        for (field, list) in [("inputs", &sig.inputs), ("outputs", &sig.outputs)] {
            for map in list {
                if map.tensor_index as usize >= subgraph.tensors.len() {
                    return Err(bad(format!(
                        "{loc} ({field}): \"{}\" names tensor {}, out of range ({} tensors in subgraph {})",
                        map.name,
                        map.tensor_index,
                        subgraph.tensors.len(),
                        sig.subgraph_index
                    )));
                }
            }
        }
    }
    check_count("signature tensor maps", maps, limits::MAX_SIGNATURE_TENSORS)?;

    for (k, m) in model.metadata.iter().enumerate() {
        if m.buffer as usize >= model.buffers.len() {
            return Err(bad(format!(
                "metadata {k} \"{}\" (buffer): index {} out of range ({} buffers)",
                m.name,
                m.buffer,
                model.buffers.len()
            )));
        }
    }
    Ok(())
}

fn check_count(what: &str, got: usize, limit: usize) -> Result<()> {
    Error::check_limit(what, got as u64, limit as u64)
}

/// `i` is a valid index into a list of `n`.
fn index_in(i: i32, n: usize) -> bool {
    usize::try_from(i).is_ok_and(|i| i < n)
}

/// Product of the dimensions, `None` on overflow or a negative dimension.
pub(crate) fn element_count(shape: &[i32]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(u64::try_from(d).ok()?))
}

fn check_tensor(model: &Model, tensor: &Tensor, loc: &str, fault: Fault) -> Result<()> {
    let bad = |field: &str, problem: String| fault.error(format!("{loc} ({field}): {problem}"));
    let shape = &tensor.shape;
    let rank = shape.len();
    Error::check_limit(&format!("{loc} rank"), rank as u64, limits::MAX_RANK as u64)?;
    if let Some((i, d)) = shape.iter().enumerate().find(|(_, d)| **d < 0) {
        return Err(bad(
            "shape",
            format!("dimension {i} is {d}; only shape_signature may hold -1 (shape {shape:?})"),
        ));
    }
    // Dimensions are non-negative and at most 8 of them, so u64 overflow is the only failure left.
    let elements = element_count(shape).unwrap_or(u64::MAX);
    Error::check_limit(
        &format!("{loc} element count"),
        elements,
        limits::MAX_ELEMENTS,
    )?;

    if let Some(signature) = &tensor.shape_signature {
        if signature.len() != rank {
            return Err(bad(
                "shape_signature",
                format!(
                    "{signature:?} has rank {}, but shape {shape:?} has rank {rank}",
                    signature.len()
                ),
            ));
        }
        for (i, (&s, &d)) in signature.iter().zip(shape).enumerate() {
            if s != -1 && s != d {
                return Err(bad(
                    "shape_signature",
                    format!(
                        "dimension {i} is {s}, but shape {shape:?} says {d} (only -1 may differ)"
                    ),
                ));
            }
        }
    }

    let Some(data) = model.buffers.get(tensor.buffer as usize) else {
        return Err(bad(
            "buffer",
            format!(
                "index {} out of range ({} buffers)",
                tensor.buffer,
                model.buffers.len()
            ),
        ));
    };
    if !data.is_empty() {
        if tensor.is_variable {
            // InterpreterBuilder::ParseTensors refuses these too.
            return Err(bad(
                "is_variable",
                format!(
                    "a variable tensor cannot have constant data (buffer {})",
                    tensor.buffer
                ),
            ));
        }
        let expected = match (tensor.dtype, tensor.dtype.size()) {
            (_, Some(size)) => elements.checked_mul(size as u64),
            // Two 4-bit values per byte.
            (TensorType::Int4, None) => Some(elements.div_ceil(2)),
            // Strings carry their own offsets; resources and variants have no data we could size.
            _ => None,
        };
        if let Some(expected) = expected.filter(|&e| e != data.len() as u64) {
            return Err(bad(
                "buffer",
                format!(
                    "buffer {} holds {} bytes, but {} {shape:?} needs {expected}",
                    tensor.buffer,
                    data.len(),
                    tensor.dtype
                ),
            ));
        }
    }

    if let Some(q) = &tensor.quantization {
        check_quantization(q, shape).map_err(|problem| bad("quantization", problem))?;
    }
    Ok(())
}

/// The rules of `InterpreterBuilder::ParseQuantization` (LiteRT tflite/core/interpreter_builder.cc), plus:
/// zero points without scales are refused (TF ignores them), and so are several scales on a scalar.
fn check_quantization(q: &Quantization, shape: &[i32]) -> std::result::Result<(), String> {
    let n = q.scale.len();
    if q.zero_point.len() != n {
        return Err(format!(
            "{n} scales but {} zero points; they must pair up",
            q.zero_point.len()
        ));
    }
    if n == 0 {
        return Ok(());
    }
    let rank = shape.len();
    let axis = q.quantized_dimension;
    let axis_size = usize::try_from(axis).ok().and_then(|a| shape.get(a));
    if axis < 0 || (rank > 0 && axis_size.is_none()) {
        return Err(format!(
            "quantized_dimension {axis} out of range for shape {shape:?}"
        ));
    }
    if n > 1 {
        match axis_size {
            Some(&size) if usize::try_from(size).is_ok_and(|s| s == n) => {}
            Some(&size) => {
                return Err(format!(
                    "{n} scales along quantized_dimension {axis}, whose size is {size} (shape {shape:?})"
                ));
            }
            None => return Err(format!("{n} scales for a scalar tensor")),
        }
    }
    Ok(())
}

/// The `BuiltinOptions` union type an options value is written as.
pub(crate) fn options_union(o: &Options) -> u8 {
    match o {
        Options::None => options::NONE,
        Options::Conv2D(_) => options::CONV_2D,
        Options::DepthwiseConv2D(_) => options::DEPTHWISE_CONV_2D,
        Options::Pool2D(_) => options::POOL_2D,
        Options::FullyConnected(_) => options::FULLY_CONNECTED,
        Options::Softmax { .. } => options::SOFTMAX,
        Options::Reshape { .. } => options::RESHAPE,
        Options::Shape { .. } => options::SHAPE,
        Options::StridedSlice(_) => options::STRIDED_SLICE,
        Options::Pack { .. } => options::PACK,
        Options::Quantize => options::QUANTIZE,
        Options::Dequantize => options::DEQUANTIZE,
        Options::Unknown(t) => *t,
    }
}

/// The options union type an operator we know takes.
fn expected_union(code: i32) -> Option<u8> {
    Some(match code {
        op::CONV_2D => options::CONV_2D,
        op::DEPTHWISE_CONV_2D => options::DEPTHWISE_CONV_2D,
        op::AVERAGE_POOL_2D | op::MAX_POOL_2D | op::L2_POOL_2D => options::POOL_2D,
        op::FULLY_CONNECTED => options::FULLY_CONNECTED,
        op::SOFTMAX => options::SOFTMAX,
        op::RESHAPE => options::RESHAPE,
        op::STRIDED_SLICE => options::STRIDED_SLICE,
        op::DEQUANTIZE => options::DEQUANTIZE,
        op::SHAPE => options::SHAPE,
        op::PACK => options::PACK,
        op::QUANTIZE => options::QUANTIZE,
        _ => return None,
    })
}

fn check_operator(operator: &Operator, tensors: usize, loc: &str, fault: Fault) -> Result<()> {
    let bad = |field: &str, problem: String| fault.error(format!("{loc} ({field}): {problem}"));
    if operator.code < 0 {
        return Err(bad(
            "code",
            format!("builtin code {} is negative", operator.code),
        ));
    }
    if operator.version < 1 {
        return Err(bad(
            "version",
            format!("{} is not a valid operator version (≥ 1)", operator.version),
        ));
    }
    for &t in &operator.inputs {
        // -1 marks an omitted optional input.
        if t != -1 && !index_in(t, tensors) {
            return Err(bad(
                "inputs",
                format!("tensor index {t} out of range ({tensors} tensors)"),
            ));
        }
    }
    for &t in &operator.outputs {
        if !index_in(t, tensors) {
            return Err(bad(
                "outputs",
                format!("tensor index {t} out of range ({tensors} tensors)"),
            ));
        }
    }
    let union = options_union(&operator.options);
    let known_variant = !matches!(operator.options, Options::None | Options::Unknown(_));
    match expected_union(operator.code) {
        Some(expected) if union != options::NONE && union != expected => Err(bad(
            "builtin_options",
            format!(
                "{} does not fit this operator, which takes {}",
                union_name(union),
                union_name(expected)
            ),
        )),
        None if known_variant => Err(bad(
            "builtin_options",
            format!("{} does not fit this operator", union_name(union)),
        )),
        _ => Ok(()),
    }
}

/// Name of an options union type, for messages.
fn union_name(union: u8) -> String {
    match schema::options::name(union) {
        Some(name) => name.to_string(),
        None => format!("options of union type {union}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Model {
        let mut model = Model::default();
        let w = model.add_buffer(vec![0; 8]);
        model.subgraphs.push(Subgraph {
            tensors: vec![
                Tensor {
                    name: "w".into(),
                    dtype: TensorType::Int8,
                    shape: vec![2, 4],
                    shape_signature: None,
                    buffer: w,
                    quantization: Some(Quantization::per_axis(vec![0.5, 0.25], vec![0, 0], 0)),
                    is_variable: false,
                },
                Tensor {
                    name: "x".into(),
                    dtype: TensorType::Float32,
                    shape: vec![1, 4],
                    shape_signature: Some(vec![-1, 4]),
                    buffer: 0,
                    quantization: None,
                    is_variable: false,
                },
            ],
            inputs: vec![1],
            outputs: vec![1],
            ..Subgraph::default()
        });
        model
    }

    fn message(model: &Model) -> String {
        check_model(model, Fault::File).unwrap_err().to_string()
    }

    #[test]
    fn accepts_a_consistent_model() {
        check_model(&tiny(), Fault::File).unwrap();
    }

    #[test]
    fn names_what_is_wrong() {
        let mut m = tiny();
        m.buffers[1].pop();
        assert!(message(&m).contains(
            "subgraph 0 tensor 0 (buffer): buffer 1 holds 7 bytes, but INT8 [2, 4] needs 8"
        ));

        let mut m = tiny();
        m.subgraphs[0].tensors[0].quantization =
            Some(Quantization::per_axis(vec![1.0; 3], vec![0; 3], 0));
        assert!(message(&m).contains("3 scales along quantized_dimension 0, whose size is 2"));

        let mut m = tiny();
        m.subgraphs[0].tensors[0].quantization =
            Some(Quantization::per_axis(vec![1.0, 1.0], vec![0, 0], 2));
        assert!(message(&m).contains("quantized_dimension 2 out of range"));

        let mut m = tiny();
        m.subgraphs[0].tensors[0].quantization = Some(Quantization {
            scale: vec![1.0],
            ..Quantization::default()
        });
        assert!(message(&m).contains("1 scales but 0 zero points"));

        let mut m = tiny();
        m.subgraphs[0].tensors[1].shape_signature = Some(vec![-1, 5]);
        assert!(message(&m).contains("(shape_signature): dimension 1 is 5"));

        let mut m = tiny();
        m.subgraphs[0].tensors[1].shape = vec![1, -4];
        assert!(message(&m).contains("(shape): dimension 1 is -4"));

        let mut m = tiny();
        m.subgraphs[0].outputs = vec![2];
        assert!(
            message(&m).contains("subgraph 0 (outputs): tensor index 2 out of range (2 tensors)")
        );

        let mut m = tiny();
        m.buffers[0].push(1);
        assert!(message(&m).contains("buffer 0: holds 1 bytes"));

        let mut m = tiny();
        m.subgraphs[0].tensors[1].shape = vec![1 << 15, 1 << 15];
        assert!(matches!(
            check_model(&m, Fault::File),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn checks_operators() {
        let mut m = tiny();
        let conv = |options| Operator {
            code: op::CONV_2D,
            custom_code: None,
            version: 1,
            inputs: vec![1, 0, -1],
            outputs: vec![1],
            options,
        };
        m.subgraphs[0]
            .operators
            .push(conv(Options::Conv2D(Conv2DOptions::default())));
        check_model(&m, Fault::File).unwrap();

        m.subgraphs[0].operators[0] = conv(Options::Pool2D(Pool2DOptions::default()));
        assert!(message(&m).contains(
            "subgraph 0 operator 0 (CONV_2D) (builtin_options): Pool2DOptions does not fit this operator, which takes Conv2DOptions"
        ));

        m.subgraphs[0].operators[0] = conv(Options::None);
        m.subgraphs[0].operators[0].outputs = vec![-1];
        assert!(message(&m).contains("(outputs): tensor index -1 out of range"));

        // Unknown ops with unknown options are fine here; the interpreter refuses them later.
        m.subgraphs[0].operators[0] = Operator {
            code: 500,
            options: Options::Unknown(200),
            ..conv(Options::None)
        };
        check_model(&m, Fault::File).unwrap();
        // As a writer error it is InvalidArgument.
        m.subgraphs[0].operators[0].version = 0;
        assert!(matches!(
            check_model(&m, Fault::Writer),
            Err(Error::InvalidArgument(_))
        ));
    }
}
