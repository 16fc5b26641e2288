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

use crate::error::{Error, Result};
use crate::tflite::check::{self, Fault, limits};
use crate::tflite::flatbuf::{File, Table, Tables};
use crate::tflite::model::*;
use crate::tflite::schema::{self, field, options};

mod builtin_options;
use builtin_options::read_options;

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
mod tests;
