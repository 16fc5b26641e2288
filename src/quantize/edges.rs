//! The last steps of an integer conversion and of every conversion: QUANTIZE / DEQUANTIZE at the graph's
//! edges (float or uint8 input and output around quantized insides), then operator versions unified
//! per code, the metadata, and unreferenced buffers dropped.

use std::collections::HashMap;

use crate::error::Result;
use crate::quantize::mode::IoType;
use crate::quantize::version::min_runtime_version;
use crate::tflite::schema::{METADATA_MIN_RUNTIME_VERSION, op};
use crate::tflite::{Model, Operator, Options, Quantization, Subgraph, Tensor, TensorType};

/// Put QUANTIZE at the inputs and DEQUANTIZE (float I/O) or QUANTIZE to uint8 at the outputs; the
/// quantized twins of the edges are named with `suffix` after the edge (`_int8`, as TF names them).
pub(crate) fn add_io_ops(
    model: &mut Model,
    original: &Subgraph,
    io: Option<IoType>,
    suffix: &str,
) -> Result<()> {
    let g = &mut model.subgraphs[0];
    let mut front = Vec::new();
    for &input in &original.inputs {
        let Some(inner) = split_edge(g, original, input, io, false, suffix) else {
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
        let Some(inner) = split_edge(g, original, output, io, true, suffix) else {
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

/// Give graph edge `edge` (a quantized tensor by now) a quantized twin that the model's operators use instead
/// (also as the writer, for an output), and turn `edge` itself back into the model's I/O type.
/// Returns the twin's index, or `None` if the edge is not quantized.
fn split_edge(
    g: &mut Subgraph,
    original: &Subgraph,
    edge: i32,
    io: Option<IoType>,
    is_output: bool,
    suffix: &str,
) -> Option<i32> {
    let i = edge as usize;
    let (scale, zero_point) = g.tensors[i].per_tensor_quantization()?;
    let inner = g.tensors.len() as i32;
    let mut twin = g.tensors[i].clone();
    twin.name = format!("{}{suffix}", original.tensors[i].name);
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
pub(crate) fn finish(model: &mut Model) {
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
