//! Static shapes: TF's converter computes the target shape of a Keras Reshape or Flatten at run time
//! (SHAPE → STRIDED_SLICE → PACK → RESHAPE, so that any batch size works). Integer-only accelerators
//! want every shape fixed; this pass gives each such RESHAPE a constant target shape at batch 1 (its
//! output's static shape), drops the shape arithmetic nobody reads any more, fixes every `-1` batch
//! dimension of the shape signatures at 1 and removes the tensors left unused.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::tflite::schema::op;
use crate::tflite::{Model, Options, Subgraph, Tensor, TensorType};

/// Fold the run-time shape computation of `model`'s subgraph 0 into constants (batch 1).
pub fn fold_static_shapes(model: &mut Model) -> Result<()> {
    let mut g = std::mem::take(
        model
            .subgraphs
            .first_mut()
            .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?,
    );
    for i in 0..g.operators.len() {
        let o = &g.operators[i];
        if o.code != op::RESHAPE || o.inputs.len() < 2 {
            continue;
        }
        let (Some(shape_in), Some(&out)) = (
            usize::try_from(o.inputs[1]).ok(),
            o.outputs
                .first()
                .and_then(|&t| usize::try_from(t).ok())
                .as_ref(),
        ) else {
            continue;
        };
        let computed = g
            .tensors
            .get(shape_in)
            .is_some_and(|t| model.tensor_data(t).is_none());
        if !computed {
            continue;
        }
        let target: Vec<i32> = g
            .tensors
            .get(out)
            .ok_or_else(|| Error::InvalidModel(format!("RESHAPE output {out} does not exist")))?
            .shape
            .iter()
            .map(|&d| d.max(1))
            .collect();
        let buffer = model.add_buffer(target.iter().flat_map(|d| d.to_le_bytes()).collect());
        let name = format!("{}/static_shape", g.tensors[out].name);
        g.tensors.push(Tensor {
            name,
            dtype: TensorType::Int32,
            shape: vec![target.len() as i32],
            shape_signature: None,
            buffer,
            quantization: None,
            is_variable: false,
        });
        let constant = (g.tensors.len() - 1) as i32;
        let o = &mut g.operators[i];
        o.inputs[1] = constant;
        o.options = Options::Reshape { new_shape: target };
    }
    drop_unread_operators(&mut g);
    for t in &mut g.tensors {
        t.shape_signature = None;
        for d in &mut t.shape {
            if *d < 0 {
                *d = 1;
            }
        }
    }
    let remap = compact_tensors(&mut g);
    for s in &mut model.signature_defs {
        for m in s.inputs.iter_mut().chain(s.outputs.iter_mut()) {
            if let Some(&Some(new)) = remap.get(m.tensor_index as usize) {
                m.tensor_index = new as u32;
            }
        }
    }
    model.subgraphs[0] = g;
    crate::quantize::convert::compact_buffers(model);
    Ok(())
}

/// Remove operators none of whose outputs is read by another operator or is a graph output.
fn drop_unread_operators(g: &mut Subgraph) {
    loop {
        let read: HashSet<i32> = g
            .operators
            .iter()
            .flat_map(|o| o.inputs.iter().copied())
            .chain(g.outputs.iter().copied())
            .collect();
        let before = g.operators.len();
        g.operators
            .retain(|o| o.outputs.iter().any(|t| read.contains(t)));
        if g.operators.len() == before {
            return;
        }
    }
}

/// Keep only the tensors an operator or the graph's I/O names; returns old index → new index.
fn compact_tensors(g: &mut Subgraph) -> Vec<Option<usize>> {
    let used: HashSet<i32> = g
        .operators
        .iter()
        .flat_map(|o| o.inputs.iter().chain(&o.outputs).copied())
        .chain(g.inputs.iter().copied())
        .chain(g.outputs.iter().copied())
        .collect();
    let mut remap = vec![None; g.tensors.len()];
    let mut kept = Vec::new();
    for (i, t) in std::mem::take(&mut g.tensors).into_iter().enumerate() {
        if used.contains(&(i as i32)) {
            remap[i] = Some(kept.len());
            kept.push(t);
        }
    }
    g.tensors = kept;
    let map = |t: &mut i32| {
        if let Some(&Some(new)) = usize::try_from(*t).ok().and_then(|i| remap.get(i)) {
            *t = new as i32;
        }
    };
    for o in &mut g.operators {
        o.inputs
            .iter_mut()
            .chain(o.outputs.iter_mut())
            .for_each(map);
    }
    g.inputs
        .iter_mut()
        .chain(g.outputs.iter_mut())
        .for_each(map);
    remap
}
