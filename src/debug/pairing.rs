//! Lines a quantized model's operators up with the float model it was converted from. A converter keeps
//! the float graph's operators in order and adds QUANTIZE / DEQUANTIZE at the edges (ours and
//! TensorFlow's alike), so the two operator lists align in one pass: same op code → a pair whose inputs
//! and outputs correspond position by position; an extra QUANTIZE / DEQUANTIZE in the quantized model → an
//! edge op whose output stands for the same float tensor as its input.

use crate::error::{Error, Result};
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, Subgraph, Tensor, TensorType};

/// A quantized-model operator and its float twin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpPair {
    /// Operator index in the quantized model.
    pub quant_op: usize,
    /// Operator index in the float model.
    pub float_op: usize,
}

/// How two models correspond.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairing {
    /// Paired operators, in the quantized model's execution order (edge ops left out).
    pub ops: Vec<OpPair>,
    /// For each tensor of the quantized model, the float model's tensor holding the same quantity.
    pub float_tensor: Vec<Option<usize>>,
}

fn subgraph<'a>(model: &'a Model, which: &str) -> Result<&'a Subgraph> {
    model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel(format!("the {which} model has no subgraph")))
}

fn index(t: i32) -> Option<usize> {
    usize::try_from(t).ok()
}

/// Pair `quant`'s operators with `float`'s. Fails, naming the first operator that does not line up,
/// when `quant` is not a conversion of `float`.
pub fn pair_models(float: &Model, quant: &Model) -> Result<Pairing> {
    let fg = subgraph(float, "float")?;
    let qg = subgraph(quant, "quantized")?;
    let mut float_tensor: Vec<Option<usize>> = vec![None; qg.tensors.len()];
    let link = |q: i32, f: i32, float_tensor: &mut Vec<Option<usize>>| {
        if let (Some(q), Some(f)) = (index(q), index(f))
            && q < float_tensor.len()
            && f < fg.tensors.len()
        {
            float_tensor[q] = Some(f);
        }
    };
    if qg.inputs.len() != fg.inputs.len() || qg.outputs.len() != fg.outputs.len() {
        return Err(Error::InvalidArgument(format!(
            "the models do not pair: {} inputs and {} outputs against the float model's {} and {}",
            qg.inputs.len(),
            qg.outputs.len(),
            fg.inputs.len(),
            fg.outputs.len()
        )));
    }
    for (&q, &f) in qg.inputs.iter().zip(&fg.inputs) {
        link(q, f, &mut float_tensor);
    }
    for (&q, &f) in qg.outputs.iter().zip(&fg.outputs) {
        link(q, f, &mut float_tensor);
    }
    let mut ops = Vec::new();
    let mut next = 0;
    for (qi, qop) in qg.operators.iter().enumerate() {
        let twin = fg.operators.get(next).filter(|f| {
            f.code == qop.code
                && f.inputs.len() == qop.inputs.len()
                && f.outputs.len() == qop.outputs.len()
        });
        if let Some(fop) = twin {
            for (&q, &f) in qop.inputs.iter().zip(&fop.inputs) {
                link(q, f, &mut float_tensor);
            }
            for (&q, &f) in qop.outputs.iter().zip(&fop.outputs) {
                link(q, f, &mut float_tensor);
            }
            ops.push(OpPair {
                quant_op: qi,
                float_op: next,
            });
            next += 1;
            continue;
        }
        let is_edge = matches!(qop.code, op::QUANTIZE | op::DEQUANTIZE)
            && qop.inputs.len() == 1
            && qop.outputs.len() == 1;
        if !is_edge {
            return Err(Error::InvalidArgument(format!(
                "the models do not pair: the quantized model's operator {qi} ({}) has no twin in the \
                 float model (its next operator is {})",
                op_name(qop.code),
                fg.operators
                    .get(next)
                    .map_or("none".to_string(), |f| format!(
                        "{next} ({})",
                        op_name(f.code)
                    ))
            )));
        }
        // an edge op: whichever side is already known names the other
        let (input, output) = (index(qop.inputs[0]), index(qop.outputs[0]));
        let known =
            |t: Option<usize>, ft: &[Option<usize>]| t.and_then(|t| ft.get(t).copied().flatten());
        match (known(input, &float_tensor), known(output, &float_tensor)) {
            (Some(f), None) => {
                if let Some(o) = output.filter(|&o| o < float_tensor.len()) {
                    float_tensor[o] = Some(f);
                }
            }
            (None, Some(f)) => {
                if let Some(i) = input.filter(|&i| i < float_tensor.len()) {
                    float_tensor[i] = Some(f);
                }
            }
            _ => {}
        }
    }
    if next != fg.operators.len() {
        return Err(Error::InvalidArgument(format!(
            "the models do not pair: the float model's operator {next} ({}) has no twin in the \
             quantized model",
            op_name(fg.operators[next].code)
        )));
    }
    Ok(Pairing { ops, float_tensor })
}

/// A tensor the quantized model computes in integers, and its float twin.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedTensor {
    /// The operator writing it, in the quantized model.
    pub op_index: usize,
    /// Its twin operator in the float model.
    pub float_op: usize,
    /// Tensor index in the quantized model.
    pub tensor: usize,
    /// Tensor index in the float model.
    pub float_tensor: usize,
    pub scale: f32,
    pub zero_point: i32,
    /// The type's range (−128..127 for int8, 0..255 for uint8, −32768..32767 for int16).
    pub qmin: i32,
    pub qmax: i32,
}

/// A tensor's per-tensor parameters and its type's range, if it is an 8- or 16-bit integer tensor
/// quantized per tensor with a usable scale.
pub fn quant_params(t: &Tensor) -> Option<(f32, i32, (i32, i32))> {
    let range = match t.dtype {
        TensorType::Int8 => (-128, 127),
        TensorType::UInt8 => (0, 255),
        TensorType::Int16 => (-32768, 32767),
        _ => return None,
    };
    let (scale, zero_point) = t.per_tensor_quantization()?;
    (scale.is_finite() && scale > 0.0).then_some((scale, zero_point as i32, range))
}

/// The tensors TF's debugger verifies: each paired operator's quantized output, except QUANTIZE's and
/// DEQUANTIZE's (they change the representation, not the value), in operator order.
pub fn quantized_tensors(quant: &Subgraph, pairing: &Pairing) -> Vec<QuantizedTensor> {
    let mut out = Vec::new();
    for pair in &pairing.ops {
        let qop = &quant.operators[pair.quant_op];
        if matches!(qop.code, op::QUANTIZE | op::DEQUANTIZE) {
            continue;
        }
        let Some(t) = qop.outputs.first().and_then(|&t| index(t)) else {
            continue;
        };
        let (Some(tensor), Some(Some(float_tensor))) =
            (quant.tensors.get(t), pairing.float_tensor.get(t))
        else {
            continue;
        };
        if let Some((scale, zero_point, (qmin, qmax))) = quant_params(tensor) {
            out.push(QuantizedTensor {
                op_index: pair.quant_op,
                float_op: pair.float_op,
                tensor: t,
                float_tensor: *float_tensor,
                scale,
                zero_point,
                qmin,
                qmax,
            });
        }
    }
    out
}
