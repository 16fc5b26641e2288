//! Selective quantization: chosen operators of a full-integer model stay float, as TensorFlow's
//! `QuantizationDebugOptions(denylisted_ops=…, denylisted_nodes=…)` keeps them. A kept operator gets its
//! float weights and bias back, reads a DEQUANTIZE of each int8 input (or the float tensor directly when
//! one exists: the graph's float input, another kept operator's output) and writes float; a QUANTIZE
//! with the tensor's calibrated parameters feeds its quantized readers, and a kept last operator writes
//! the graph's float output itself.
//!
//! TF 2.21's quantizer honours the list for CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, RESHAPE and
//! SOFTMAX and keeps pools quantized whatever the list says (checked on its output); so do we.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, Operator, Options, Quantization, Subgraph, TensorType};

/// Operators a keep-float list can name.
pub const KEEPABLE: [i32; 5] = [
    op::CONV_2D,
    op::DEPTHWISE_CONV_2D,
    op::FULLY_CONNECTED,
    op::RESHAPE,
    op::SOFTMAX,
];

/// A resolved keep-float list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeepFloat {
    /// Float-model operator indices that stay float, ascending.
    pub ops: Vec<usize>,
    /// Entries that matched only operators TF keeps quantized anyway (pools, shape arithmetic).
    pub ignored: Vec<String>,
}

/// Resolve `entries` against `float`'s operators: each entry is an operator name (`CONV_2D`: every
/// operator of that kind, TF's `denylisted_ops`) or the name of an operator's output tensor (that
/// operator, TF's `denylisted_nodes`). An entry that matches nothing is an error naming it.
pub fn resolve_keep_float(float: &Model, entries: &[String]) -> Result<KeepFloat> {
    let graph = float
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let mut ops = HashSet::new();
    let mut ignored = Vec::new();
    for entry in entries {
        let matched: Vec<usize> = graph
            .operators
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                op_name(o.code) == *entry
                    || o.outputs.iter().any(|&t| {
                        usize::try_from(t)
                            .ok()
                            .and_then(|t| graph.tensors.get(t))
                            .is_some_and(|t| t.name == *entry)
                    })
            })
            .map(|(i, _)| i)
            .collect();
        if matched.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "keep-float entry {entry:?} matches no operator: give an operator name (CONV_2D, \
                 DEPTHWISE_CONV_2D, FULLY_CONNECTED, RESHAPE, SOFTMAX) or an operator's output \
                 tensor name"
            )));
        }
        let keepable: Vec<usize> = matched
            .into_iter()
            .filter(|&i| KEEPABLE.contains(&graph.operators[i].code))
            .collect();
        if keepable.is_empty() {
            ignored.push(entry.clone());
        }
        ops.extend(keepable);
    }
    let mut ops: Vec<usize> = ops.into_iter().collect();
    ops.sort_unstable();
    Ok(KeepFloat { ops, ignored })
}

fn index(t: i32) -> Option<usize> {
    usize::try_from(t).ok()
}

/// A new tensor like `t` with another type and quantization, appended to `g`.
fn twin(g: &mut Subgraph, t: usize, dtype: TensorType, q: Option<Quantization>, tag: &str) -> i32 {
    let mut new = g.tensors[t].clone();
    new.name = format!("{}/{tag}", new.name);
    new.dtype = dtype;
    new.quantization = q;
    new.buffer = 0;
    g.tensors.push(new);
    (g.tensors.len() - 1) as i32
}

fn edge_op(code: i32, version: i32, input: i32, output: i32) -> Operator {
    Operator {
        code,
        custom_code: None,
        version,
        inputs: vec![input],
        outputs: vec![output],
        options: Options::None,
    }
}

/// Turn the operators `keep` (indices into `float`'s operator list) of `model`, the full-integer
/// conversion of `float`, back to float.
pub(crate) fn keep_float(model: &mut Model, float: &Model, keep: &[usize]) -> Result<()> {
    if keep.is_empty() {
        return Ok(());
    }
    let fg = float
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let mut g = std::mem::take(&mut model.subgraphs[0]);
    // the converter prepends one QUANTIZE per quantized graph input and keeps the rest in order
    let front = g
        .operators
        .iter()
        .take_while(|o| {
            o.code == op::QUANTIZE && o.inputs.len() == 1 && g.inputs.contains(&o.inputs[0])
        })
        .count();
    let kept: HashSet<usize> = keep.iter().map(|i| i + front).collect();
    for &i in keep {
        let code = fg.operators.get(i).map(|o| o.code);
        if code.is_none_or(|c| !KEEPABLE.contains(&c)) {
            return Err(Error::InvalidArgument(format!(
                "operator {i} ({}) cannot be kept in float",
                code.map_or("none".into(), op_name)
            )));
        }
    }
    // weights a kept operator shares with a quantized one cannot be both
    let mut users: HashMap<i32, Vec<usize>> = HashMap::new();
    for (i, o) in g.operators.iter().enumerate() {
        for &t in &o.inputs {
            users.entry(t).or_default().push(i);
        }
    }
    let read_by_kept: HashSet<i32> = g
        .operators
        .iter()
        .enumerate()
        .filter(|(i, _)| kept.contains(i))
        .flat_map(|(_, o)| o.inputs.iter().copied())
        .collect();
    let old_ops = std::mem::take(&mut g.operators);
    let mut float_of: HashMap<i32, i32> = HashMap::new();
    let mut int_of: HashMap<i32, i32> = HashMap::new();
    // float outputs of kept operators → the int8 type and parameters their quantized readers need
    let mut pending: HashMap<i32, (TensorType, Quantization)> = HashMap::new();
    let mut renames: Vec<(i32, i32)> = Vec::new();
    let mut ops = Vec::new();
    for (i, mut o) in old_ops.into_iter().enumerate() {
        if i < front {
            float_of.insert(o.outputs[0], o.inputs[0]);
            ops.push(o);
            continue;
        }
        if kept.contains(&i) {
            let fop = &fg.operators[i - front];
            for slot in o.inputs.iter_mut() {
                let Some(s) = index(*slot) else { continue };
                let is_constant = model.tensor_data(&g.tensors[s]).is_some();
                if is_constant {
                    if users
                        .get(slot)
                        .is_some_and(|u| u.iter().any(|u| !kept.contains(u)))
                    {
                        return Err(Error::InvalidArgument(format!(
                            "tensor {s} ({}) is shared by a kept and a quantized operator",
                            g.tensors[s].name
                        )));
                    }
                    let original = fg.tensors.get(s).ok_or_else(|| {
                        Error::InvalidModel(format!("tensor {s} is not in the float model"))
                    })?;
                    let data = float.tensor_data(original).map(<[u8]>::to_vec);
                    let t = &mut g.tensors[s];
                    t.dtype = original.dtype;
                    t.quantization = original.quantization.clone();
                    if let Some(data) = data {
                        t.buffer = model.add_buffer(data);
                    }
                } else if g.tensors[s].per_tensor_quantization().is_some() {
                    let f = match float_of.get(slot) {
                        Some(&f) => f,
                        None => {
                            let f = twin(&mut g, s, TensorType::Float32, None, "dequantized");
                            ops.push(edge_op(op::DEQUANTIZE, 2, *slot, f));
                            float_of.insert(*slot, f);
                            f
                        }
                    };
                    *slot = f;
                }
            }
            for &out in &o.outputs {
                let Some(t) = index(out).and_then(|t| g.tensors.get_mut(t)) else {
                    continue;
                };
                if let Some(q) = t.quantization.take().filter(|q| !q.is_empty()) {
                    pending.insert(out, (t.dtype, q));
                }
                t.dtype = TensorType::Float32;
            }
            o.version = fop.version;
            ops.push(o);
            continue;
        }
        let is_output_edge = o.code == op::DEQUANTIZE
            && o.inputs.len() == 1
            && pending.contains_key(&o.inputs[0])
            && o.outputs.len() == 1
            && g.outputs.contains(&o.outputs[0]);
        if is_output_edge {
            // a kept last operator writes the float graph output itself
            renames.push((o.inputs[0], o.outputs[0]));
            continue;
        }
        if o.code == op::SHAPE {
            // a shape reads whichever form its tensor's kept reader reads
            for slot in o.inputs.iter_mut() {
                if let Some(&f) = float_of.get(slot).filter(|_| read_by_kept.contains(slot)) {
                    *slot = f;
                }
            }
        } else {
            for slot in o.inputs.iter_mut() {
                let Some((dtype, q)) = pending.get(slot).cloned() else {
                    continue;
                };
                let quantized = match int_of.get(slot) {
                    Some(&q) => q,
                    None => {
                        let Some(s) = index(*slot) else { continue };
                        let new = twin(&mut g, s, dtype, Some(q), "quantized");
                        ops.push(edge_op(op::QUANTIZE, 1, *slot, new));
                        int_of.insert(*slot, new);
                        new
                    }
                };
                *slot = quantized;
            }
        }
        ops.push(o);
    }
    for (from, to) in renames {
        for o in &mut ops {
            for t in o.inputs.iter_mut().chain(o.outputs.iter_mut()) {
                if *t == from {
                    *t = to;
                }
            }
        }
    }
    // drop operators nobody reads any more (a graph-input QUANTIZE whose reader was kept in float)
    loop {
        let read: HashSet<i32> = ops
            .iter()
            .flat_map(|o: &Operator| o.inputs.iter().copied())
            .chain(g.outputs.iter().copied())
            .collect();
        let before = ops.len();
        ops.retain(|o| o.outputs.iter().any(|t| read.contains(t)));
        if ops.len() == before {
            break;
        }
    }
    g.operators = ops;
    model.subgraphs[0] = g;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::Tensor;

    fn tensor(name: &str, dtype: TensorType) -> Tensor {
        Tensor {
            name: name.into(),
            dtype,
            shape: vec![1, 4],
            shape_signature: None,
            buffer: 0,
            quantization: None,
            is_variable: false,
        }
    }

    #[test]
    fn entries_resolve_to_operators_and_unknown_ones_are_errors() {
        let mut model = Model::default();
        let reshape = |i: i32, o: i32| Operator {
            code: op::RESHAPE,
            custom_code: None,
            version: 1,
            inputs: vec![i],
            outputs: vec![o],
            options: Options::None,
        };
        model.subgraphs.push(Subgraph {
            tensors: vec![
                tensor("in", TensorType::Float32),
                tensor("a", TensorType::Float32),
                tensor("b", TensorType::Float32),
            ],
            operators: vec![
                reshape(0, 1),
                Operator {
                    code: op::MAX_POOL_2D,
                    ..reshape(1, 2)
                },
            ],
            ..Subgraph::default()
        });
        let k = resolve_keep_float(&model, &["RESHAPE".into()]).unwrap();
        assert_eq!(k.ops, vec![0]);
        let k = resolve_keep_float(&model, &["b".into(), "a".into()]).unwrap();
        assert_eq!(k.ops, vec![0]);
        assert_eq!(k.ignored, vec!["b".to_string()]);
        let e = resolve_keep_float(&model, &["CONV_2D".into()]).unwrap_err();
        assert!(
            e.to_string().contains("\"CONV_2D\" matches no operator"),
            "{e}"
        );
    }
}
