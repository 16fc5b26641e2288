//! `.tflite` bytes → [`Model`], validated once.
//!
//! Decoding goes through our own bounds-checked table reader ([`super::flatbuf`]), so a malformed file is
//! an `Error::MalformedTflite` naming the table and field ("subgraph 0 tensor 5 (name): string runs past
//! the end of the file"), never a panic; sizes over the [`limits`] are `Error::LimitExceeded`. The decoded
//! model then goes through [`super::check`] (indices, shapes, buffer sizes, quantization). A model this
//! function returns can be trusted by the interpreter as far as `check` promises.
//!
//! Limits ([`limits`]): files up to 256 MiB; 2^18 tensors, operators and buffers; 1,024
//! subgraphs; rank 8; 2^28 elements per tensor; and everything copied out of the file (strings, vectors,
//! buffer data) at most the file's size plus 16 MiB, so shared offsets cannot multiply memory. Counts are
//! checked before anything is allocated for them, and all size arithmetic is checked.
//!
//! Decisions:
//! - The file identifier `TFL3` is required. Every TFLite writer since schema version 3 puts it there and
//!   TFLite's own verifier (`VerifyModelBuffer`) checks it; without it, arbitrary bytes that happen to look
//!   like a table would be misread. `Model.version` must be 3, as `InterpreterBuilder` requires.
//! - Operator codes resolve to the larger of `builtin_code` and `deprecated_builtin_code` (schema_utils.cc
//!   `GetBuiltinCode`). Unknown builtin codes and option tables are kept (`Options::Unknown`) so that
//!   `inspect` can list them; the interpreter refuses them.
//! - Refused as unsupported: data outside the flatbuffer (`Buffer.offset`, `large_custom_options_offset`,
//!   `Tensor.external_buffer`, `Model.external_buffers`), sparse tensors, and quantization `details`
//!   (custom/blockwise); none of these can be represented in the IR or run.
//! - Dropped because the IR has no place for them (nothing we run needs them): `Tensor.has_rank` (the
//!   writer always writes `true`), `variant_tensors`, operators' `custom_options`,
//!   `mutating_variable_inputs`, `intermediates` and `builtin_options_2`, option fields newer than the IR
//!   (`quantized_bias_type`), debug metadata indices, and the deprecated `Model.metadata_buffer` (whose
//!   indices are still checked).

use super::check::{self, Fault, limits};
use super::flatbuf::{File, Table, Tables};
use super::model::*;
use super::schema::{self, field, options};
use crate::error::{Error, Result};

/// Decode and validate a `.tflite` file.
pub fn read_model(bytes: &[u8]) -> Result<Model> {
    Error::check_limit(
        "file size",
        bytes.len() as u64,
        limits::MAX_FILE_BYTES as u64,
    )?;
    let identifier = bytes.get(4..8).ok_or_else(|| {
        Error::MalformedTflite(format!(
            "file header: {} bytes is too short for a .tflite file",
            bytes.len()
        ))
    })?;
    if identifier != schema::FILE_IDENTIFIER {
        return Err(Error::MalformedTflite(format!(
            "file identifier: expected \"TFL3\" at bytes 4..8, found {:?} (not a TensorFlow Lite model?)",
            String::from_utf8_lossy(identifier)
        )));
    }
    let file = File::new(
        bytes,
        (bytes.len() as u64).saturating_add(limits::DECODE_SLACK_BYTES),
    );
    let root = file.root("model")?;

    let version = root.scalar::<u32>(field::model::VERSION, "version", 0)?;
    if version != schema::SCHEMA_VERSION {
        return Err(root.err(
            "version",
            format!(
                "schema version {version} is not supported, only {}",
                schema::SCHEMA_VERSION
            ),
        ));
    }
    for (vo, name) in [
        (field::model::EXTERNAL_BUFFERS, "external_buffers"),
        (
            field::model::EXTERNAL_BUFFER_GROUPS,
            "external_buffer_groups",
        ),
    ] {
        if root.tables(vo, name)?.is_some_and(|t| t.len() > 0) {
            return Err(root.err(
                name,
                "weights stored outside the .tflite file are not supported",
            ));
        }
    }

    let codes = read_operator_codes(&root)?;
    let buffers = read_buffers(&root)?;
    let subgraphs = read_subgraphs(&root, &codes)?;
    let description = root
        .string(field::model::DESCRIPTION, "description")?
        .map(str::to_owned);
    if let Some(indices) = root.scalars::<i32>(field::model::METADATA_BUFFER, "metadata_buffer")?
        && let Some(&i) = indices
            .iter()
            .find(|&&i| usize::try_from(i).map_or(true, |i| i >= buffers.len()))
    {
        return Err(root.err(
            "metadata_buffer",
            format!("buffer index {i} out of range ({} buffers)", buffers.len()),
        ));
    }
    let metadata = read_metadata(&root)?;
    let signature_defs = read_signature_defs(&root)?;

    let model = Model {
        version,
        description,
        subgraphs,
        buffers,
        metadata,
        signature_defs,
    };
    check::check_model(&model, Fault::File)?;
    Ok(model)
}

/// A resolved `OperatorCode` entry.
struct OpCode {
    code: i32,
    custom_code: Option<String>,
    version: i32,
}

/// Check a count from the file against a limit before allocating for it.
fn check_count(what: &str, got: usize, limit: usize) -> Result<()> {
    Error::check_limit(what, got as u64, limit as u64)
}

/// A vector of tables, or an empty one if the field is absent, with its length limited.
fn table_list<'a>(
    table: &Table<'a>,
    vo: u16,
    name: &str,
    limit: usize,
) -> Result<Option<Tables<'a>>> {
    let list = table.tables(vo, name)?;
    if let Some(list) = &list {
        check_count(
            &format!("{} ({name}) entries", table.loc()),
            list.len(),
            limit,
        )?;
    }
    Ok(list)
}

fn read_operator_codes(root: &Table) -> Result<Vec<OpCode>> {
    use field::operator_code as f;
    let Some(list) = table_list(
        root,
        field::model::OPERATOR_CODES,
        "operator_codes",
        limits::MAX_OPERATOR_CODES,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut codes = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let t = list.get(i, format!("operator code {i}"))?;
        let deprecated =
            t.scalar::<i8>(f::DEPRECATED_BUILTIN_CODE, "deprecated_builtin_code", 0)?;
        let builtin = t.scalar::<i32>(f::BUILTIN_CODE, "builtin_code", 0)?;
        // Old writers set only the i8 field; new ones put 127 there for codes above it (GetBuiltinCode).
        let code = builtin.max(i32::from(deprecated));
        if code < 0 {
            return Err(t.err("builtin_code", format!("{code} is negative")));
        }
        let version = t.scalar::<i32>(f::VERSION, "version", 1)?;
        let custom_code = t.string(f::CUSTOM_CODE, "custom_code")?.map(str::to_owned);
        codes.push(OpCode {
            code,
            custom_code,
            version,
        });
    }
    Ok(codes)
}

fn read_buffers(root: &Table) -> Result<Vec<Vec<u8>>> {
    use field::buffer as f;
    let Some(list) = table_list(root, field::model::BUFFERS, "buffers", limits::MAX_BUFFERS)?
    else {
        return Ok(Vec::new());
    };
    let mut buffers = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let t = list.get(i, format!("buffer {i}"))?;
        // Offsets of 0 and 1 are placeholders; larger ones point past the flatbuffer (models over 2 GB).
        if t.scalar::<u64>(f::OFFSET, "offset", 0)? > 1 {
            return Err(t.err(
                "offset",
                "data stored outside the flatbuffer (models over 2 GB) is not supported",
            ));
        }
        let data = t.bytes(f::DATA, "data")?.unwrap_or_default();
        buffers.push(data.to_vec());
    }
    Ok(buffers)
}

fn read_subgraphs(root: &Table, codes: &[OpCode]) -> Result<Vec<Subgraph>> {
    use field::subgraph as f;
    let Some(list) = table_list(
        root,
        field::model::SUBGRAPHS,
        "subgraphs",
        limits::MAX_SUBGRAPHS,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut subgraphs = Vec::with_capacity(list.len());
    let (mut tensors_total, mut operators_total) = (0usize, 0usize);
    for si in 0..list.len() {
        let t = list.get(si, format!("subgraph {si}"))?;
        let tensor_list = t.tables(f::TENSORS, "tensors")?;
        let operator_list = t.tables(f::OPERATORS, "operators")?;
        tensors_total = tensors_total.saturating_add(tensor_list.as_ref().map_or(0, Tables::len));
        operators_total =
            operators_total.saturating_add(operator_list.as_ref().map_or(0, Tables::len));
        check_count(
            "tensors (all subgraphs)",
            tensors_total,
            limits::MAX_TENSORS,
        )?;
        check_count(
            "operators (all subgraphs)",
            operators_total,
            limits::MAX_OPERATORS,
        )?;

        let mut tensors = Vec::new();
        if let Some(list) = tensor_list {
            tensors.reserve(list.len());
            for ti in 0..list.len() {
                tensors.push(read_tensor(
                    &list.get(ti, format!("subgraph {si} tensor {ti}"))?,
                )?);
            }
        }
        let mut operators = Vec::new();
        if let Some(list) = operator_list {
            operators.reserve(list.len());
            for oi in 0..list.len() {
                operators.push(read_operator(
                    &list.get(oi, format!("subgraph {si} operator {oi}"))?,
                    codes,
                )?);
            }
        }
        subgraphs.push(Subgraph {
            name: t.string(f::NAME, "name")?.map(str::to_owned),
            tensors,
            inputs: t.scalars::<i32>(f::INPUTS, "inputs")?.unwrap_or_default(),
            outputs: t.scalars::<i32>(f::OUTPUTS, "outputs")?.unwrap_or_default(),
            operators,
        });
    }
    Ok(subgraphs)
}

fn read_tensor(t: &Table) -> Result<Tensor> {
    use field::tensor as f;
    let code = t.scalar::<i8>(f::TYPE, "type", 0)?;
    let dtype = TensorType::from_code(code).ok_or_else(|| {
        t.err(
            "type",
            format!("{code} is not a TensorType we know (0..=18)"),
        )
    })?;
    if t.has(f::SPARSITY) {
        return Err(t.err("sparsity", "sparse tensors are not supported"));
    }
    if t.scalar::<u32>(f::EXTERNAL_BUFFER, "external_buffer", 0)? != 0 {
        return Err(t.err(
            "external_buffer",
            "weights stored outside the .tflite file are not supported",
        ));
    }
    let quantization = match t.table(f::QUANTIZATION, "quantization", || {
        format!("{} quantization", t.loc())
    })? {
        Some(q) => Some(read_quantization(&q)?),
        None => None,
    };
    Ok(Tensor {
        // InterpreterBuilder names a tensor without a name "" as well.
        name: t.string(f::NAME, "name")?.unwrap_or_default().to_owned(),
        dtype,
        shape: t.scalars::<i32>(f::SHAPE, "shape")?.unwrap_or_default(),
        shape_signature: t.scalars::<i32>(f::SHAPE_SIGNATURE, "shape_signature")?,
        buffer: t.scalar::<u32>(f::BUFFER, "buffer", 0)?,
        quantization,
        is_variable: t.bool(f::IS_VARIABLE, "is_variable")?,
    })
}

fn read_quantization(q: &Table) -> Result<Quantization> {
    use field::quantization as f;
    let details = q.scalar::<u8>(f::DETAILS_TYPE, "details_type", 0)?;
    if details != 0 {
        return Err(q.err(
            "details",
            format!(
                "quantization details (union type {details}: custom or blockwise) are not supported"
            ),
        ));
    }
    Ok(Quantization {
        scale: q.scalars::<f32>(f::SCALE, "scale")?.unwrap_or_default(),
        zero_point: q
            .scalars::<i64>(f::ZERO_POINT, "zero_point")?
            .unwrap_or_default(),
        quantized_dimension: q.scalar::<i32>(f::QUANTIZED_DIMENSION, "quantized_dimension", 0)?,
        min: q.scalars::<f32>(f::MIN, "min")?.unwrap_or_default(),
        max: q.scalars::<f32>(f::MAX, "max")?.unwrap_or_default(),
    })
}

fn read_operator(t: &Table, codes: &[OpCode]) -> Result<Operator> {
    use field::operator as f;
    let index = t.scalar::<u32>(f::OPCODE_INDEX, "opcode_index", 0)?;
    let code = codes.get(index as usize).ok_or_else(|| {
        t.err(
            "opcode_index",
            format!("{index} out of range ({} operator codes)", codes.len()),
        )
    })?;
    if t.scalar::<u64>(
        f::LARGE_CUSTOM_OPTIONS_OFFSET,
        "large_custom_options_offset",
        0,
    )? > 1
    {
        return Err(t.err(
            "large_custom_options_offset",
            "custom options stored outside the flatbuffer are not supported",
        ));
    }
    // Each operator gets its own copy of a custom op's name: charge it like a string read.
    if let Some(name) = &code.custom_code {
        t.charge(name.len() as u64)?;
    }
    let union = t.scalar::<u8>(f::BUILTIN_OPTIONS_TYPE, "builtin_options_type", 0)?;
    let options = if union == options::NONE {
        Options::None
    } else {
        let loc = || format!("{} builtin_options", t.loc());
        match t.table(f::BUILTIN_OPTIONS, "builtin_options", loc)? {
            Some(table) => read_options(union, &table)?,
            // A missing table reads as the schema's defaults, as TFLite's op parsers do.
            None => read_options(union, &t.absent(format!("{} builtin_options", t.loc())))?,
        }
    };
    Ok(Operator {
        code: code.code,
        custom_code: code.custom_code.clone(),
        version: code.version,
        inputs: t.scalars::<i32>(f::INPUTS, "inputs")?.unwrap_or_default(),
        outputs: t.scalars::<i32>(f::OUTPUTS, "outputs")?.unwrap_or_default(),
        options,
    })
}

fn padding(t: &Table, vo: u16) -> Result<Padding> {
    match t.scalar::<i8>(vo, "padding", 0)? {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        v => Err(t.err("padding", format!("{v} is not a Padding (SAME 0, VALID 1)"))),
    }
}

fn activation(t: &Table, vo: u16) -> Result<Activation> {
    use Activation::*;
    let name = "fused_activation_function";
    Ok(match t.scalar::<i8>(vo, name, 0)? {
        0 => None,
        1 => Relu,
        2 => ReluN1To1,
        3 => Relu6,
        4 => Tanh,
        5 => SignBit,
        v => {
            return Err(t.err(
                name,
                format!("{v} is not an ActivationFunctionType (0..=5)"),
            ));
        }
    })
}

/// Decode an options table of union type `union`; unknown types become `Options::Unknown`.
fn read_options(union: u8, t: &Table) -> Result<Options> {
    Ok(match union {
        options::CONV_2D => {
            use field::conv_2d as f;
            Options::Conv2D(Conv2DOptions {
                padding: padding(t, f::PADDING)?,
                stride_w: t.scalar::<i32>(f::STRIDE_W, "stride_w", 0)?,
                stride_h: t.scalar::<i32>(f::STRIDE_H, "stride_h", 0)?,
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
                dilation_w: t.scalar::<i32>(f::DILATION_W, "dilation_w_factor", 1)?,
                dilation_h: t.scalar::<i32>(f::DILATION_H, "dilation_h_factor", 1)?,
            })
        }
        options::DEPTHWISE_CONV_2D => {
            use field::depthwise_conv_2d as f;
            Options::DepthwiseConv2D(DepthwiseConv2DOptions {
                padding: padding(t, f::PADDING)?,
                stride_w: t.scalar::<i32>(f::STRIDE_W, "stride_w", 0)?,
                stride_h: t.scalar::<i32>(f::STRIDE_H, "stride_h", 0)?,
                depth_multiplier: t.scalar::<i32>(f::DEPTH_MULTIPLIER, "depth_multiplier", 0)?,
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
                dilation_w: t.scalar::<i32>(f::DILATION_W, "dilation_w_factor", 1)?,
                dilation_h: t.scalar::<i32>(f::DILATION_H, "dilation_h_factor", 1)?,
            })
        }
        options::POOL_2D => {
            use field::pool_2d as f;
            Options::Pool2D(Pool2DOptions {
                padding: padding(t, f::PADDING)?,
                stride_w: t.scalar::<i32>(f::STRIDE_W, "stride_w", 0)?,
                stride_h: t.scalar::<i32>(f::STRIDE_H, "stride_h", 0)?,
                filter_w: t.scalar::<i32>(f::FILTER_W, "filter_width", 0)?,
                filter_h: t.scalar::<i32>(f::FILTER_H, "filter_height", 0)?,
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
            })
        }
        options::FULLY_CONNECTED => {
            use field::fully_connected as f;
            let weights_format = t.scalar::<i8>(f::WEIGHTS_FORMAT, "weights_format", 0)?;
            if !(0..=1).contains(&weights_format) {
                return Err(t.err(
                    "weights_format",
                    format!(
                        "{weights_format} is not a FullyConnectedOptionsWeightsFormat (DEFAULT 0, SHUFFLED4x16INT8 1)"
                    ),
                ));
            }
            Options::FullyConnected(FullyConnectedOptions {
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
                weights_format,
                keep_num_dims: t.bool(f::KEEP_NUM_DIMS, "keep_num_dims")?,
                asymmetric_quantize_inputs: t
                    .bool(f::ASYMMETRIC_QUANTIZE_INPUTS, "asymmetric_quantize_inputs")?,
            })
        }
        options::SOFTMAX => Options::Softmax {
            beta: t.scalar::<f32>(field::softmax::BETA, "beta", 0.0)?,
        },
        options::RESHAPE => Options::Reshape {
            new_shape: t
                .scalars::<i32>(field::reshape::NEW_SHAPE, "new_shape")?
                .unwrap_or_default(),
        },
        options::STRIDED_SLICE => {
            use field::strided_slice as f;
            Options::StridedSlice(StridedSliceOptions {
                begin_mask: t.scalar::<i32>(f::BEGIN_MASK, "begin_mask", 0)?,
                end_mask: t.scalar::<i32>(f::END_MASK, "end_mask", 0)?,
                ellipsis_mask: t.scalar::<i32>(f::ELLIPSIS_MASK, "ellipsis_mask", 0)?,
                new_axis_mask: t.scalar::<i32>(f::NEW_AXIS_MASK, "new_axis_mask", 0)?,
                shrink_axis_mask: t.scalar::<i32>(f::SHRINK_AXIS_MASK, "shrink_axis_mask", 0)?,
                offset: t.bool(f::OFFSET, "offset")?,
            })
        }
        options::SHAPE => {
            let code = t.scalar::<i8>(field::shape::OUT_TYPE, "out_type", 0)?;
            let out_type = TensorType::from_code(code).ok_or_else(|| {
                t.err(
                    "out_type",
                    format!("{code} is not a TensorType we know (0..=18)"),
                )
            })?;
            Options::Shape { out_type }
        }
        options::PACK => Options::Pack {
            values_count: t.scalar::<i32>(field::pack::VALUES_COUNT, "values_count", 0)?,
            axis: t.scalar::<i32>(field::pack::AXIS, "axis", 0)?,
        },
        options::QUANTIZE => Options::Quantize,
        options::DEQUANTIZE => Options::Dequantize,
        other => Options::Unknown(other),
    })
}

fn read_metadata(root: &Table) -> Result<Vec<Metadata>> {
    use field::metadata as f;
    let Some(list) = table_list(
        root,
        field::model::METADATA,
        "metadata",
        limits::MAX_METADATA,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut metadata = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let t = list.get(i, format!("metadata {i}"))?;
        let name = t
            .string(f::NAME, "name")?
            .ok_or_else(|| t.err("name", "missing"))?;
        metadata.push(Metadata {
            name: name.to_owned(),
            buffer: t.scalar::<u32>(f::BUFFER, "buffer", 0)?,
        });
    }
    Ok(metadata)
}

fn read_signature_defs(root: &Table) -> Result<Vec<SignatureDef>> {
    use field::signature_def as f;
    let Some(list) = table_list(
        root,
        field::model::SIGNATURE_DEFS,
        "signature_defs",
        limits::MAX_METADATA,
    )?
    else {
        return Ok(Vec::new());
    };
    let mut signatures = Vec::with_capacity(list.len());
    let mut maps_total = 0usize;
    for i in 0..list.len() {
        let t = list.get(i, format!("signature {i}"))?;
        // InterpreterBuilder::ParseSignatureDefs refuses a signature without a key.
        let key = t
            .string(f::SIGNATURE_KEY, "signature_key")?
            .ok_or_else(|| t.err("signature_key", "missing"))?;
        let mut read_maps = |vo: u16, name: &str| -> Result<Vec<TensorMap>> {
            let Some(list) = t.tables(vo, name)? else {
                return Ok(Vec::new());
            };
            maps_total = maps_total.saturating_add(list.len());
            check_count(
                "signature tensor maps",
                maps_total,
                limits::MAX_SIGNATURE_TENSORS,
            )?;
            let mut maps = Vec::with_capacity(list.len());
            for k in 0..list.len() {
                let m = list.get(k, format!("signature {i} {name} {k}"))?;
                let map_name = m
                    .string(field::tensor_map::NAME, "name")?
                    .ok_or_else(|| m.err("name", "missing"))?;
                maps.push(TensorMap {
                    name: map_name.to_owned(),
                    tensor_index: m.scalar::<u32>(
                        field::tensor_map::TENSOR_INDEX,
                        "tensor_index",
                        0,
                    )?,
                });
            }
            Ok(maps)
        };
        let inputs = read_maps(f::INPUTS, "inputs")?;
        let outputs = read_maps(f::OUTPUTS, "outputs")?;
        signatures.push(SignatureDef {
            key: key.to_owned(),
            inputs,
            outputs,
            subgraph_index: t.scalar::<u32>(f::SUBGRAPH_INDEX, "subgraph_index", 0)?,
        });
    }
    Ok(signatures)
}

#[cfg(test)]
mod tests {
    use flatbuffers::FlatBufferBuilder;

    use super::*;
    use crate::tflite::schema::op;

    /// Knobs for a hand-assembled file: one subgraph, tensors 0 (input, FLOAT32 [1, 4]) and 1 (output),
    /// one operator.
    struct Raw {
        identifier: &'static str,
        version: u32,
        tensor_type: i8,
        shape: Vec<i32>,
        buffer: u32,
        buffer_offset: u64,
        sparsity: bool,
        deprecated_code: i8,
        builtin_code: i32,
        opcode_index: u32,
        op_inputs: Vec<i32>,
        options_type: u8,
        /// Write an options table (a Conv2DOptions-shaped one, padding = this value).
        options_padding: Option<i8>,
        scale: Option<Vec<f32>>,
        zero_point: Option<Vec<i64>>,
    }

    impl Default for Raw {
        fn default() -> Raw {
            Raw {
                identifier: "TFL3",
                version: 3,
                tensor_type: 0,
                shape: vec![1, 4],
                buffer: 0,
                buffer_offset: 0,
                sparsity: false,
                deprecated_code: 0,
                builtin_code: op::QUANTIZE,
                opcode_index: 0,
                op_inputs: vec![0],
                options_type: 0,
                options_padding: None,
                scale: None,
                zero_point: None,
            }
        }
    }

    fn build(r: &Raw) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::new();
        let buffers: Vec<_> = (0..2)
            .map(|i| {
                let start = fbb.start_table();
                if i == 1 {
                    fbb.push_slot::<u64>(field::buffer::OFFSET, r.buffer_offset, 0);
                }
                fbb.end_table(start)
            })
            .collect();
        let buffers = fbb.create_vector(&buffers);
        let code = {
            let start = fbb.start_table();
            fbb.push_slot::<i32>(field::operator_code::BUILTIN_CODE, r.builtin_code, 0);
            fbb.push_slot::<i8>(
                field::operator_code::DEPRECATED_BUILTIN_CODE,
                r.deprecated_code,
                0,
            );
            fbb.end_table(start)
        };
        let codes = fbb.create_vector(&[code]);
        let mut tensors = Vec::new();
        for i in 0..2 {
            let name = fbb.create_string(&format!("t{i}"));
            let shape = fbb.create_vector(&r.shape);
            let quantization = if i == 0 && (r.scale.is_some() || r.zero_point.is_some()) {
                let scale = r.scale.as_ref().map(|s| fbb.create_vector(s));
                let zero_point = r.zero_point.as_ref().map(|z| fbb.create_vector(z));
                let start = fbb.start_table();
                if let Some(s) = scale {
                    fbb.push_slot_always(field::quantization::SCALE, s);
                }
                if let Some(z) = zero_point {
                    fbb.push_slot_always(field::quantization::ZERO_POINT, z);
                }
                Some(fbb.end_table(start))
            } else {
                None
            };
            let sparsity = (r.sparsity && i == 0).then(|| {
                let start = fbb.start_table();
                fbb.end_table(start)
            });
            let start = fbb.start_table();
            fbb.push_slot_always(field::tensor::NAME, name);
            fbb.push_slot_always(field::tensor::SHAPE, shape);
            if let Some(q) = quantization {
                fbb.push_slot_always(field::tensor::QUANTIZATION, q);
            }
            if let Some(s) = sparsity {
                fbb.push_slot_always(field::tensor::SPARSITY, s);
            }
            fbb.push_slot::<u32>(field::tensor::BUFFER, if i == 0 { r.buffer } else { 0 }, 0);
            fbb.push_slot::<i8>(field::tensor::TYPE, r.tensor_type, 0);
            tensors.push(fbb.end_table(start));
        }
        let tensors = fbb.create_vector(&tensors);
        let op_inputs = fbb.create_vector(&r.op_inputs);
        let op_outputs = fbb.create_vector(&[1i32]);
        let options = r.options_padding.map(|p| {
            let start = fbb.start_table();
            fbb.push_slot::<i8>(field::conv_2d::PADDING, p, 0);
            fbb.end_table(start)
        });
        let operator = {
            let start = fbb.start_table();
            fbb.push_slot::<u32>(field::operator::OPCODE_INDEX, r.opcode_index, 0);
            fbb.push_slot_always(field::operator::INPUTS, op_inputs);
            fbb.push_slot_always(field::operator::OUTPUTS, op_outputs);
            if let Some(o) = options {
                fbb.push_slot_always(field::operator::BUILTIN_OPTIONS, o);
            }
            fbb.push_slot::<u8>(field::operator::BUILTIN_OPTIONS_TYPE, r.options_type, 0);
            fbb.end_table(start)
        };
        let operators = fbb.create_vector(&[operator]);
        let io_in = fbb.create_vector(&[0i32]);
        let io_out = fbb.create_vector(&[1i32]);
        let subgraph = {
            let start = fbb.start_table();
            fbb.push_slot_always(field::subgraph::TENSORS, tensors);
            fbb.push_slot_always(field::subgraph::INPUTS, io_in);
            fbb.push_slot_always(field::subgraph::OUTPUTS, io_out);
            fbb.push_slot_always(field::subgraph::OPERATORS, operators);
            fbb.end_table(start)
        };
        let subgraphs = fbb.create_vector(&[subgraph]);
        let start = fbb.start_table();
        fbb.push_slot::<u32>(field::model::VERSION, r.version, 0);
        fbb.push_slot_always(field::model::OPERATOR_CODES, codes);
        fbb.push_slot_always(field::model::SUBGRAPHS, subgraphs);
        fbb.push_slot_always(field::model::BUFFERS, buffers);
        let root = fbb.end_table(start);
        fbb.finish(root, Some(r.identifier));
        fbb.finished_data().to_vec()
    }

    fn error(r: Raw) -> String {
        read_model(&build(&r)).unwrap_err().to_string()
    }

    #[test]
    fn reads_a_minimal_file() {
        let m = read_model(&build(&Raw::default())).unwrap();
        assert_eq!(m.subgraphs[0].operators[0].code, op::QUANTIZE);
        assert_eq!(m.subgraphs[0].tensors[1].name, "t1");
        assert_eq!(m.subgraphs[0].tensors[0].quantization, None);
    }

    #[test]
    fn resolves_operator_codes() {
        // Old files: only the i8 field.
        let m = read_model(&build(&Raw {
            builtin_code: 0,
            deprecated_code: 6,
            ..Raw::default()
        }))
        .unwrap();
        assert_eq!(m.subgraphs[0].operators[0].code, op::DEQUANTIZE);
        // New codes: 127 in the i8 field.
        let m = read_model(&build(&Raw {
            builtin_code: 150,
            deprecated_code: 127,
            ..Raw::default()
        }))
        .unwrap();
        assert_eq!(m.subgraphs[0].operators[0].code, 150);
        // Codes the schema doesn't know, with options we don't know, are read for `inspect`.
        let m = read_model(&build(&Raw {
            builtin_code: 5000,
            deprecated_code: 127,
            options_type: 200,
            options_padding: Some(0),
            ..Raw::default()
        }))
        .unwrap();
        assert_eq!(m.subgraphs[0].operators[0].options, Options::Unknown(200));
        assert!(
            error(Raw {
                builtin_code: -4,
                deprecated_code: -1,
                ..Raw::default()
            })
            .contains("operator code 0 (builtin_code): -1 is negative")
        );
    }

    #[test]
    fn reads_missing_options_as_defaults() {
        let m = read_model(&build(&Raw {
            builtin_code: op::CONV_2D,
            options_type: options::CONV_2D,
            ..Raw::default()
        }))
        .unwrap();
        assert_eq!(
            m.subgraphs[0].operators[0].options,
            Options::Conv2D(Conv2DOptions::default())
        );
    }

    #[test]
    fn errors_name_the_table_and_field() {
        let cases: Vec<(Raw, &str)> = vec![
            (
                Raw {
                    identifier: "TFL2",
                    ..Raw::default()
                },
                "file identifier: expected \"TFL3\" at bytes 4..8, found \"TFL2\"",
            ),
            (
                Raw {
                    version: 2,
                    ..Raw::default()
                },
                "model (version): schema version 2 is not supported",
            ),
            (
                Raw {
                    tensor_type: 42,
                    ..Raw::default()
                },
                "subgraph 0 tensor 0 (type): 42 is not a TensorType",
            ),
            (
                Raw {
                    opcode_index: 3,
                    ..Raw::default()
                },
                "subgraph 0 operator 0 (opcode_index): 3 out of range (1 operator codes)",
            ),
            (
                Raw {
                    op_inputs: vec![0, 7],
                    ..Raw::default()
                },
                "subgraph 0 operator 0 (QUANTIZE) (inputs): tensor index 7 out of range (2 tensors)",
            ),
            (
                Raw {
                    buffer: 9,
                    ..Raw::default()
                },
                "subgraph 0 tensor 0 (buffer): index 9 out of range (2 buffers)",
            ),
            (
                Raw {
                    buffer_offset: 4096,
                    ..Raw::default()
                },
                "buffer 1 (offset): data stored outside the flatbuffer",
            ),
            (
                Raw {
                    sparsity: true,
                    ..Raw::default()
                },
                "subgraph 0 tensor 0 (sparsity): sparse tensors are not supported",
            ),
            (
                Raw {
                    shape: vec![1, -1],
                    ..Raw::default()
                },
                "subgraph 0 tensor 0 (shape): dimension 1 is -1",
            ),
            (
                Raw {
                    builtin_code: op::CONV_2D,
                    options_type: options::CONV_2D,
                    options_padding: Some(9),
                    ..Raw::default()
                },
                "subgraph 0 operator 0 builtin_options (padding): 9 is not a Padding",
            ),
            (
                Raw {
                    builtin_code: op::CONV_2D,
                    options_type: options::POOL_2D,
                    options_padding: Some(1),
                    ..Raw::default()
                },
                "Pool2DOptions does not fit this operator, which takes Conv2DOptions",
            ),
            (
                Raw {
                    scale: Some(vec![0.5]),
                    ..Raw::default()
                },
                "subgraph 0 tensor 0 (quantization): 1 scales but 0 zero points",
            ),
            (
                Raw {
                    scale: Some(vec![0.5, 0.5]),
                    zero_point: Some(vec![0, 0]),
                    ..Raw::default()
                },
                "2 scales along quantized_dimension 0, whose size is 1",
            ),
        ];
        for (raw, expected) in cases {
            let got = error(raw);
            assert!(got.contains(expected), "expected {expected:?} in {got:?}");
        }
        let zero_point_only = read_model(&build(&Raw {
            zero_point: Some(vec![3]),
            ..Raw::default()
        }));
        assert!(zero_point_only.is_err());
        let ok = read_model(&build(&Raw {
            scale: Some(vec![0.5]),
            zero_point: Some(vec![3]),
            ..Raw::default()
        }));
        assert_eq!(
            ok.unwrap().subgraphs[0].tensors[0].per_tensor_quantization(),
            Some((0.5, 3))
        );
    }

    #[test]
    fn short_and_oversized_files() {
        assert!(
            read_model(b"")
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
        assert!(read_model(b"\x08\0\0\0TFL3").is_err());
        // Zeroed pages: nothing is touched beyond the length check.
        let huge = vec![0u8; limits::MAX_FILE_BYTES + 1];
        assert!(matches!(
            read_model(&huge),
            Err(Error::LimitExceeded { .. })
        ));
    }
}
