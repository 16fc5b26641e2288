//! [`Model`] → `.tflite` bytes, with the `flatbuffers` crate's `FlatBufferBuilder`.
//!
//! Tables are written by hand from the field offsets in [`schema::field`] (no generated code, no
//! `unsafe`). The output follows what TF's MLIR exporter writes (checked field by field against the
//! reference files in tests/fixtures/reference): file identifier `TFL3`; scalar fields only when they
//! differ from the schema default, like the C++ builder (so VALID padding and strides are written, SAME
//! padding and dilation 1 are not); `shape`, `inputs` and `outputs` vectors always; `has_rank = true` on
//! every tensor (IR shapes are always ranked); an empty `QuantizationParameters` table where the IR holds
//! `Some(empty)`, as TF does for float tensors; and an operator-code table built from the operators'
//! (code, custom code, version), deduplicated in order of first use, with `builtin_code = code` and
//! `deprecated_builtin_code = min(code, 127)`.
//!
//! `Buffer.data` has `force_align: 16` in the schema: we place each non-empty buffer's first byte at a
//! multiple of 16 from the start of the file (TF's own exporter does not, in the reference files), so a
//! loader that maps the file can use the data in place. Vtables are shared between tables with the same
//! layout (the builder does this), which keeps files small.
//!
//! The model is checked first ([`super::check`], errors are `InvalidArgument`); so is its size, against
//! [`limits::MAX_FILE_BYTES`], before the builder could reach its 2 GiB assertion.

use std::collections::HashMap;

use flatbuffers::{FlatBufferBuilder, TableFinishedWIPOffset, WIPOffset};

use super::check::{self, Fault, limits};
use super::model::*;
use super::schema::{self, field};
use crate::error::{Error, Result};

type Fbb<'a> = FlatBufferBuilder<'a>;
type TableRef = WIPOffset<TableFinishedWIPOffset>;

/// Encode a model as a `.tflite` file.
pub fn write_model(model: &Model) -> Result<Vec<u8>> {
    check::check_model(model, Fault::Writer)?;
    for (si, subgraph) in model.subgraphs.iter().enumerate() {
        for (oi, operator) in subgraph.operators.iter().enumerate() {
            if let Options::Unknown(union) = operator.options {
                return Err(Error::InvalidArgument(format!(
                    "cannot write this model: subgraph {si} operator {oi} ({}) (builtin_options): options of \
                     union type {union} were read but not decoded, so they cannot be written back",
                    schema::op_name(operator.code)
                )));
            }
        }
    }
    let bound = size_bound(model);
    Error::check_limit(
        "size of the .tflite file to write (upper bound)",
        bound,
        limits::MAX_FILE_BYTES as u64,
    )?;

    // `bound` ≤ 256 MiB, checked above.
    let mut fbb = Fbb::with_capacity(bound as usize);
    let buffers = write_buffers(&mut fbb, &model.buffers);
    let buffers = fbb.create_vector(&buffers);

    let (codes, code_index) = operator_codes(model)?;
    let codes: Vec<TableRef> = codes
        .iter()
        .map(|c| write_operator_code(&mut fbb, c))
        .collect();
    let codes = fbb.create_vector(&codes);

    let subgraphs: Vec<TableRef> = model
        .subgraphs
        .iter()
        .map(|s| write_subgraph(&mut fbb, s, &code_index))
        .collect();
    let subgraphs = fbb.create_vector(&subgraphs);

    let description = model.description.as_deref().map(|d| fbb.create_string(d));
    let metadata = if model.metadata.is_empty() {
        None
    } else {
        let entries: Vec<TableRef> = model
            .metadata
            .iter()
            .map(|m| write_metadata(&mut fbb, m))
            .collect();
        Some(fbb.create_vector(&entries))
    };
    let signatures = if model.signature_defs.is_empty() {
        None
    } else {
        let entries: Vec<TableRef> = model
            .signature_defs
            .iter()
            .map(|s| write_signature(&mut fbb, s))
            .collect();
        Some(fbb.create_vector(&entries))
    };

    use field::model as f;
    let start = start_table(&mut fbb);
    fbb.push_slot::<u32>(f::VERSION, model.version, 0);
    fbb.push_slot_always(f::OPERATOR_CODES, codes);
    fbb.push_slot_always(f::SUBGRAPHS, subgraphs);
    if let Some(d) = description {
        fbb.push_slot_always(f::DESCRIPTION, d);
    }
    fbb.push_slot_always(f::BUFFERS, buffers);
    if let Some(m) = metadata {
        fbb.push_slot_always(f::METADATA, m);
    }
    if let Some(s) = signatures {
        fbb.push_slot_always(f::SIGNATURE_DEFS, s);
    }
    let root = fbb.end_table(start);

    // The root offset and the identifier (8 bytes) come next; pad so the whole file is a multiple of 16
    // long, which makes the 16-byte placement of buffer data (measured from the end) hold from the start.
    pad_to_16(&mut fbb, 8);
    let identifier = String::from_utf8_lossy(schema::FILE_IDENTIFIER);
    fbb.finish(root, Some(&identifier));
    Ok(fbb.finished_data().to_vec())
}

/// Push zero bytes so that `used + extra` becomes a multiple of 16, where `used` is what the builder has
/// written so far (it fills from the back, so this is a distance from the end of the file).
fn pad_to_16(fbb: &mut Fbb, extra: usize) {
    let used = fbb.unfinished_data().len();
    for _ in 0..(16 - (used + extra) % 16) % 16 {
        fbb.push(0u8);
    }
}

/// The `Buffer` tables, in index order.
///
/// Each non-empty buffer's data starts at a multiple of 16. The gap this leaves before the data's length
/// prefix is filled, where possible, with `Buffer` tables instead of zero bytes: the 8-byte tables of data
/// already written, and the 4-byte tables of empty buffers (TF gives every activation one). Alignment then
/// costs at most 4 bytes per buffer, and nothing when enough empty buffers are around.
fn write_buffers(fbb: &mut Fbb, buffers: &[Vec<u8>]) -> Vec<TableRef> {
    let mut tables: Vec<Option<TableRef>> = vec![None; buffers.len()];
    // Popped from the back, so the lowest-numbered buffers are placed first.
    let mut empty: Vec<usize> = (0..buffers.len())
        .rev()
        .filter(|&i| buffers[i].is_empty())
        .collect();
    let mut pending: Vec<(usize, WIPOffset<flatbuffers::Vector<u8>>)> = Vec::new();
    for (i, data) in buffers.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        loop {
            // The vector's first byte will sit `used + gap + len` bytes before the end of the file.
            let gap = (16 - (fbb.unfinished_data().len() + data.len()) % 16) % 16;
            if gap >= 8 && !pending.is_empty() {
                if let Some((p, offset)) = pending.pop() {
                    tables[p] = Some(data_table(fbb, offset));
                }
            } else if gap >= 4 && !empty.is_empty() {
                if let Some(e) = empty.pop() {
                    tables[e] = Some(empty_table(fbb));
                }
            } else {
                break;
            }
        }
        pad_to_16(fbb, data.len());
        pending.push((i, fbb.create_vector(data)));
    }
    for (p, offset) in pending.into_iter().rev() {
        tables[p] = Some(data_table(fbb, offset));
    }
    // Every entry has been filled above; an empty table stands in for none.
    tables
        .into_iter()
        .map(|t| t.unwrap_or_else(|| empty_table(fbb)))
        .collect()
}

fn data_table(fbb: &mut Fbb, data: WIPOffset<flatbuffers::Vector<u8>>) -> TableRef {
    let start = start_table(fbb);
    fbb.push_slot_always(field::buffer::DATA, data);
    fbb.end_table(start)
}

/// `start_table`, 4-aligned first. A table written right after a new vtable (a u16 array) would start
/// 2 bytes off; the builder would then pad *inside* the table, whose size would then differ from its
/// siblings' and need a vtable of its own.
fn start_table(fbb: &mut Fbb) -> WIPOffset<flatbuffers::TableUnfinishedWIPOffset> {
    while !fbb.unfinished_data().len().is_multiple_of(4) {
        fbb.push(0u8);
    }
    fbb.start_table()
}

fn empty_table(fbb: &mut Fbb) -> TableRef {
    let start = start_table(fbb);
    fbb.end_table(start)
}

/// One entry of the operator-code table.
struct OpCode<'m> {
    code: i32,
    custom_code: Option<&'m str>,
    version: i32,
}

type CodeKey<'m> = (i32, Option<&'m str>, i32);

/// The operator codes in order of first use, and each one's index.
fn operator_codes(model: &Model) -> Result<(Vec<OpCode<'_>>, HashMap<CodeKey<'_>, u32>)> {
    let mut codes = Vec::new();
    let mut index = HashMap::new();
    for operator in model.subgraphs.iter().flat_map(|s| &s.operators) {
        let key = (
            operator.code,
            operator.custom_code.as_deref(),
            operator.version,
        );
        if let std::collections::hash_map::Entry::Vacant(entry) = index.entry(key) {
            entry.insert(codes.len() as u32);
            codes.push(OpCode {
                code: key.0,
                custom_code: key.1,
                version: key.2,
            });
        }
    }
    Error::check_limit(
        "distinct operator codes",
        codes.len() as u64,
        limits::MAX_OPERATOR_CODES as u64,
    )?;
    Ok((codes, index))
}

fn write_operator_code(fbb: &mut Fbb, c: &OpCode) -> TableRef {
    use field::operator_code as f;
    let custom = c.custom_code.map(|s| fbb.create_string(s));
    let start = start_table(fbb);
    fbb.push_slot::<i32>(f::BUILTIN_CODE, c.code, 0);
    fbb.push_slot::<i32>(f::VERSION, c.version, 1);
    if let Some(custom) = custom {
        fbb.push_slot_always(f::CUSTOM_CODE, custom);
    }
    // check_model ensured 0 <= code, so min(code, 127) fits an i8.
    let deprecated = c
        .code
        .clamp(0, schema::op::PLACEHOLDER_FOR_GREATER_OP_CODES) as i8;
    fbb.push_slot::<i8>(f::DEPRECATED_BUILTIN_CODE, deprecated, 0);
    fbb.end_table(start)
}

fn write_subgraph(
    fbb: &mut Fbb,
    subgraph: &Subgraph,
    code_index: &HashMap<CodeKey, u32>,
) -> TableRef {
    use field::subgraph as f;
    let tensors: Vec<TableRef> = subgraph
        .tensors
        .iter()
        .map(|t| write_tensor(fbb, t))
        .collect();
    let tensors = fbb.create_vector(&tensors);
    let inputs = fbb.create_vector(&subgraph.inputs);
    let outputs = fbb.create_vector(&subgraph.outputs);
    let operators: Vec<TableRef> = subgraph
        .operators
        .iter()
        .map(|o| {
            let key = (o.code, o.custom_code.as_deref(), o.version);
            // Every operator's key was entered by `operator_codes`.
            let index = code_index.get(&key).copied().unwrap_or(0);
            write_operator(fbb, o, index)
        })
        .collect();
    let operators = fbb.create_vector(&operators);
    let name = subgraph.name.as_deref().map(|n| fbb.create_string(n));
    let start = start_table(fbb);
    fbb.push_slot_always(f::TENSORS, tensors);
    fbb.push_slot_always(f::INPUTS, inputs);
    fbb.push_slot_always(f::OUTPUTS, outputs);
    fbb.push_slot_always(f::OPERATORS, operators);
    if let Some(name) = name {
        fbb.push_slot_always(f::NAME, name);
    }
    fbb.end_table(start)
}

fn write_tensor(fbb: &mut Fbb, tensor: &Tensor) -> TableRef {
    use field::tensor as f;
    let name = fbb.create_string(&tensor.name);
    let shape = fbb.create_vector(&tensor.shape);
    let signature = tensor
        .shape_signature
        .as_ref()
        .map(|s| fbb.create_vector(s));
    let quantization = tensor
        .quantization
        .as_ref()
        .map(|q| write_quantization(fbb, q));
    // Wider fields first, as flatc-generated builders do, so that no padding is needed between fields.
    let start = start_table(fbb);
    fbb.push_slot::<u32>(f::BUFFER, tensor.buffer, 0);
    fbb.push_slot_always(f::NAME, name);
    fbb.push_slot_always(f::SHAPE, shape);
    if let Some(q) = quantization {
        fbb.push_slot_always(f::QUANTIZATION, q);
    }
    if let Some(s) = signature {
        fbb.push_slot_always(f::SHAPE_SIGNATURE, s);
    }
    fbb.push_slot::<i8>(f::TYPE, tensor.dtype.code(), 0);
    fbb.push_slot::<bool>(f::IS_VARIABLE, tensor.is_variable, false);
    fbb.push_slot::<bool>(f::HAS_RANK, true, false);
    fbb.end_table(start)
}

fn write_quantization(fbb: &mut Fbb, q: &Quantization) -> TableRef {
    use field::quantization as f;
    fn vector_f32<'a>(
        fbb: &mut Fbb<'a>,
        v: &[f32],
    ) -> Option<WIPOffset<flatbuffers::Vector<'a, f32>>> {
        if v.is_empty() {
            None
        } else {
            Some(fbb.create_vector(v))
        }
    }
    let zero_point = if q.zero_point.is_empty() {
        None
    } else {
        Some(fbb.create_vector(&q.zero_point))
    };
    let scale = vector_f32(fbb, &q.scale);
    let min = vector_f32(fbb, &q.min);
    let max = vector_f32(fbb, &q.max);
    let start = start_table(fbb);
    for (vo, v) in [(f::MIN, min), (f::MAX, max), (f::SCALE, scale)] {
        if let Some(v) = v {
            fbb.push_slot_always(vo, v);
        }
    }
    if let Some(z) = zero_point {
        fbb.push_slot_always(f::ZERO_POINT, z);
    }
    fbb.push_slot::<i32>(f::QUANTIZED_DIMENSION, q.quantized_dimension, 0);
    fbb.end_table(start)
}

fn write_operator(fbb: &mut Fbb, operator: &Operator, opcode_index: u32) -> TableRef {
    use field::operator as f;
    let inputs = fbb.create_vector(&operator.inputs);
    let outputs = fbb.create_vector(&operator.outputs);
    let options = write_options(fbb, &operator.options);
    let start = start_table(fbb);
    fbb.push_slot::<u32>(f::OPCODE_INDEX, opcode_index, 0);
    fbb.push_slot_always(f::INPUTS, inputs);
    fbb.push_slot_always(f::OUTPUTS, outputs);
    if let Some(options) = options {
        fbb.push_slot_always(f::BUILTIN_OPTIONS, options);
        fbb.push_slot::<u8>(
            f::BUILTIN_OPTIONS_TYPE,
            check::options_union(&operator.options),
            0,
        );
    }
    fbb.end_table(start)
}

/// The options table, or `None` for `Options::None` (and `Unknown`, refused earlier).
fn write_options(fbb: &mut Fbb, options: &Options) -> Option<TableRef> {
    // Vectors must be finished before the table that points to them starts.
    if matches!(options, Options::None | Options::Unknown(_)) {
        return None;
    }
    let new_shape = match options {
        Options::Reshape { new_shape } => Some(fbb.create_vector(new_shape)),
        _ => None,
    };
    let start = start_table(fbb);
    match options {
        // Returned above.
        Options::None | Options::Unknown(_) => {}
        Options::Conv2D(o) => {
            use field::conv_2d as f;
            fbb.push_slot::<i32>(f::STRIDE_W, o.stride_w, 0);
            fbb.push_slot::<i32>(f::STRIDE_H, o.stride_h, 0);
            fbb.push_slot::<i32>(f::DILATION_W, o.dilation_w, 1);
            fbb.push_slot::<i32>(f::DILATION_H, o.dilation_h, 1);
            fbb.push_slot::<i8>(f::PADDING, o.padding as i8, 0);
            fbb.push_slot::<i8>(f::FUSED_ACTIVATION, o.fused_activation as i8, 0);
        }
        Options::DepthwiseConv2D(o) => {
            use field::depthwise_conv_2d as f;
            fbb.push_slot::<i32>(f::STRIDE_W, o.stride_w, 0);
            fbb.push_slot::<i32>(f::STRIDE_H, o.stride_h, 0);
            fbb.push_slot::<i32>(f::DEPTH_MULTIPLIER, o.depth_multiplier, 0);
            fbb.push_slot::<i32>(f::DILATION_W, o.dilation_w, 1);
            fbb.push_slot::<i32>(f::DILATION_H, o.dilation_h, 1);
            fbb.push_slot::<i8>(f::PADDING, o.padding as i8, 0);
            fbb.push_slot::<i8>(f::FUSED_ACTIVATION, o.fused_activation as i8, 0);
        }
        Options::Pool2D(o) => {
            use field::pool_2d as f;
            fbb.push_slot::<i32>(f::STRIDE_W, o.stride_w, 0);
            fbb.push_slot::<i32>(f::STRIDE_H, o.stride_h, 0);
            fbb.push_slot::<i32>(f::FILTER_W, o.filter_w, 0);
            fbb.push_slot::<i32>(f::FILTER_H, o.filter_h, 0);
            fbb.push_slot::<i8>(f::PADDING, o.padding as i8, 0);
            fbb.push_slot::<i8>(f::FUSED_ACTIVATION, o.fused_activation as i8, 0);
        }
        Options::FullyConnected(o) => {
            use field::fully_connected as f;
            fbb.push_slot::<i8>(f::FUSED_ACTIVATION, o.fused_activation as i8, 0);
            fbb.push_slot::<i8>(f::WEIGHTS_FORMAT, o.weights_format, 0);
            fbb.push_slot::<bool>(f::KEEP_NUM_DIMS, o.keep_num_dims, false);
            fbb.push_slot::<bool>(
                f::ASYMMETRIC_QUANTIZE_INPUTS,
                o.asymmetric_quantize_inputs,
                false,
            );
        }
        Options::Softmax { beta } => {
            fbb.push_slot::<f32>(field::softmax::BETA, *beta, 0.0);
        }
        Options::Reshape { .. } => {
            if let Some(v) = new_shape {
                fbb.push_slot_always(field::reshape::NEW_SHAPE, v);
            }
        }
        Options::Shape { out_type } => {
            fbb.push_slot::<i8>(field::shape::OUT_TYPE, out_type.code(), 0);
        }
        Options::StridedSlice(o) => {
            use field::strided_slice as f;
            fbb.push_slot::<i32>(f::BEGIN_MASK, o.begin_mask, 0);
            fbb.push_slot::<i32>(f::END_MASK, o.end_mask, 0);
            fbb.push_slot::<i32>(f::ELLIPSIS_MASK, o.ellipsis_mask, 0);
            fbb.push_slot::<i32>(f::NEW_AXIS_MASK, o.new_axis_mask, 0);
            fbb.push_slot::<i32>(f::SHRINK_AXIS_MASK, o.shrink_axis_mask, 0);
            fbb.push_slot::<bool>(f::OFFSET, o.offset, false);
        }
        Options::Pack { values_count, axis } => {
            fbb.push_slot::<i32>(field::pack::VALUES_COUNT, *values_count, 0);
            fbb.push_slot::<i32>(field::pack::AXIS, *axis, 0);
        }
        Options::Quantize | Options::Dequantize => {}
    }
    Some(fbb.end_table(start))
}

fn write_metadata(fbb: &mut Fbb, m: &Metadata) -> TableRef {
    let name = fbb.create_string(&m.name);
    let start = start_table(fbb);
    fbb.push_slot_always(field::metadata::NAME, name);
    fbb.push_slot::<u32>(field::metadata::BUFFER, m.buffer, 0);
    fbb.end_table(start)
}

fn write_signature(fbb: &mut Fbb, s: &SignatureDef) -> TableRef {
    use field::signature_def as f;
    fn maps<'a>(
        fbb: &mut Fbb<'a>,
        list: &[TensorMap],
    ) -> WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<TableFinishedWIPOffset>>>
    {
        let maps: Vec<TableRef> = list
            .iter()
            .map(|m| {
                let name = fbb.create_string(&m.name);
                let start = start_table(fbb);
                fbb.push_slot_always(field::tensor_map::NAME, name);
                fbb.push_slot::<u32>(field::tensor_map::TENSOR_INDEX, m.tensor_index, 0);
                fbb.end_table(start)
            })
            .collect();
        fbb.create_vector(&maps)
    }
    let inputs = maps(fbb, &s.inputs);
    let outputs = maps(fbb, &s.outputs);
    let key = fbb.create_string(&s.key);
    let start = start_table(fbb);
    fbb.push_slot_always(f::INPUTS, inputs);
    fbb.push_slot_always(f::OUTPUTS, outputs);
    fbb.push_slot_always(f::SIGNATURE_KEY, key);
    fbb.push_slot::<u32>(f::SUBGRAPH_INDEX, s.subgraph_index, 0);
    fbb.end_table(start)
}

/// An upper bound on the encoded size, generous on purpose: every table is counted with its own vtable
/// and every field, vector and string with worst-case padding.
fn size_bound(model: &Model) -> u64 {
    const TABLE: u64 = 160; // soffset, ≤ 16 fields of ≤ 8 bytes, vtable, padding
    const VECTOR: u64 = 24; // offset, length, alignment padding
    let len = |n: usize| n as u64;
    let text = |s: &str| VECTOR + len(s.len()) + 1;
    let mut total: u64 = 1024;
    let mut add = |n: u64| total = total.saturating_add(n);
    add(model.description.as_deref().map_or(0, text));
    for b in &model.buffers {
        add(TABLE + VECTOR + 16 + len(b.len()));
    }
    for subgraph in &model.subgraphs {
        add(TABLE + 5 * VECTOR + subgraph.name.as_deref().map_or(0, text));
        add(4 * len(subgraph.inputs.len()
            + subgraph.outputs.len()
            + subgraph.tensors.len()
            + subgraph.operators.len()));
        for t in &subgraph.tensors {
            add(2 * TABLE + 6 * VECTOR + text(&t.name));
            add(4 * len(t.shape.len() + t.shape_signature.as_ref().map_or(0, Vec::len)));
            if let Some(q) = &t.quantization {
                add(4 * len(q.scale.len() + q.min.len() + q.max.len())
                    + 8 * len(q.zero_point.len()));
            }
        }
        for o in &subgraph.operators {
            // Operator, options and (at most) one operator-code entry each.
            add(3 * TABLE + 4 * VECTOR + 4 * len(o.inputs.len() + o.outputs.len()));
            add(o.custom_code.as_deref().map_or(0, text));
            if let Options::Reshape { new_shape } = &o.options {
                add(4 * len(new_shape.len()));
            }
        }
    }
    for m in &model.metadata {
        add(TABLE + 4 + text(&m.name));
    }
    for s in &model.signature_defs {
        add(TABLE + 3 * VECTOR + text(&s.key));
        for m in s.inputs.iter().chain(&s.outputs) {
            add(TABLE + 4 + text(&m.name));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::super::flatbuf::File;
    use super::super::read::read_model;
    use super::*;

    fn tiny() -> Model {
        let mut model = Model::default();
        let w = model.add_buffer(vec![1, 2, 3]);
        let v = model.add_buffer(b"1.14.0\0\0\0\0\0\0\0\0\0\0".to_vec());
        model.metadata.push(Metadata {
            name: schema::METADATA_MIN_RUNTIME_VERSION.into(),
            buffer: v,
        });
        model.subgraphs.push(Subgraph {
            name: Some("main".into()),
            tensors: vec![
                Tensor {
                    name: "w".into(),
                    dtype: TensorType::UInt8,
                    shape: vec![3],
                    shape_signature: None,
                    buffer: w,
                    quantization: Some(Quantization::default()),
                    is_variable: false,
                },
                Tensor {
                    name: "y".into(),
                    dtype: TensorType::UInt8,
                    shape: vec![3],
                    shape_signature: None,
                    buffer: 0,
                    quantization: None,
                    is_variable: false,
                },
            ],
            inputs: vec![],
            outputs: vec![1],
            operators: vec![Operator {
                code: 300, // above 127: deprecated_builtin_code must be 127
                custom_code: None,
                version: 2,
                inputs: vec![0],
                outputs: vec![1],
                options: Options::None,
            }],
        });
        model
    }

    #[test]
    fn header_alignment_and_opcode_fields() {
        let bytes = write_model(&tiny()).unwrap();
        assert_eq!(&bytes[4..8], b"TFL3");
        assert_eq!(bytes.len() % 16, 0);
        let file = File::new(&bytes, 1 << 20);
        let root = file.root("model").unwrap();
        let buffers = root
            .tables(field::model::BUFFERS, "buffers")
            .unwrap()
            .unwrap();
        for i in 1..buffers.len() {
            let b = buffers.get(i, format!("buffer {i}")).unwrap();
            let pos = b.bytes_pos(field::buffer::DATA, "data").unwrap().unwrap();
            assert_eq!(pos % 16, 0, "buffer {i} data at {pos}");
        }
        let codes = root
            .tables(field::model::OPERATOR_CODES, "operator_codes")
            .unwrap()
            .unwrap();
        let code = codes.get(0, "code".into()).unwrap();
        assert_eq!(
            code.scalar::<i8>(field::operator_code::DEPRECATED_BUILTIN_CODE, "d", 0)
                .unwrap(),
            127
        );
        assert_eq!(
            code.scalar::<i32>(field::operator_code::BUILTIN_CODE, "b", 0)
                .unwrap(),
            300
        );
        assert_eq!(
            code.scalar::<i32>(field::operator_code::VERSION, "v", 1)
                .unwrap(),
            2
        );
        // Empty quantization table kept apart from none.
        let back = read_model(&bytes).unwrap();
        assert_eq!(back, tiny());
    }

    /// Every non-empty buffer of every re-encoded reference file starts at a multiple of 16.
    #[test]
    fn reference_files_re_encode_with_aligned_buffers() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
        for name in [
            "mnist_float",
            "mnist_dynamic",
            "mnist_fullint_floatio",
            "mnist_intonly_uint8",
            "mnist_intonly_int8",
        ] {
            let original = std::fs::read(dir.join(format!("{name}.tflite"))).unwrap();
            let bytes = write_model(&read_model(&original).unwrap()).unwrap();
            assert_eq!(bytes.len() % 16, 0, "{name}");
            let file = File::new(&bytes, 1 << 30);
            let root = file.root("model").unwrap();
            let buffers = root
                .tables(field::model::BUFFERS, "buffers")
                .unwrap()
                .unwrap();
            let mut aligned = 0;
            for i in 0..buffers.len() {
                let b = buffers.get(i, format!("buffer {i}")).unwrap();
                if let Some(pos) = b.bytes_pos(field::buffer::DATA, "data").unwrap() {
                    assert_eq!(pos % 16, 0, "{name} buffer {i} data at {pos}");
                    aligned += 1;
                }
            }
            assert!(aligned >= 8, "{name}: {aligned} buffers with data");
        }
    }

    #[test]
    fn refuses_what_it_cannot_encode() {
        let mut m = tiny();
        m.subgraphs[0].operators[0].options = Options::Unknown(7);
        let err = write_model(&m).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(err.to_string().contains("union type 7"), "{err}");

        let mut m = tiny();
        m.subgraphs[0].operators[0].inputs = vec![5];
        assert!(matches!(write_model(&m), Err(Error::InvalidArgument(_))));

        let mut m = tiny();
        m.subgraphs[0].operators[0].code = -3;
        assert!(matches!(write_model(&m), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn deduplicates_operator_codes_in_order_of_first_use() {
        let mut m = tiny();
        let op = |code, version| Operator {
            code,
            custom_code: None,
            version,
            inputs: vec![0],
            outputs: vec![1],
            options: Options::None,
        };
        m.subgraphs[0].operators = vec![op(6, 2), op(114, 1), op(6, 2), op(6, 1), op(114, 1)];
        let bytes = write_model(&m).unwrap();
        let file = File::new(&bytes, 1 << 20);
        let root = file.root("model").unwrap();
        let codes = root
            .tables(field::model::OPERATOR_CODES, "operator_codes")
            .unwrap()
            .unwrap();
        let got: Vec<(i32, i32)> = (0..codes.len())
            .map(|i| {
                let c = codes.get(i, String::new()).unwrap();
                (
                    c.scalar::<i32>(field::operator_code::BUILTIN_CODE, "", 0)
                        .unwrap(),
                    c.scalar::<i32>(field::operator_code::VERSION, "", 1)
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [(6, 2), (114, 1), (6, 1)]);
        assert_eq!(read_model(&bytes).unwrap(), m);
    }
}
