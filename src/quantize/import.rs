//! A float `.tflite` written by [`export_float`](super::export_float) read back into a [`Sequential`]
//! with its trained weights, for further training: the design comes from the model's
//! [`METADATA_DESIGN`] entry, the weights from the constant tensors the export named
//! `sequential/layer_{i}/kernel` and `…/bias`, and the parameters the export folded into them from
//! [`METADATA_UNFOLDED`]. The optimizer's moments are not stored, so training resumes with fresh ones.

use crate::design::Design;
use crate::error::{Error, Result};
use crate::quantize::export::plan;
use crate::tflite::schema::{METADATA_DESIGN, METADATA_UNFOLDED};
use crate::tflite::{Model, TensorType, read_model};
use crate::train::Sequential;
use crate::train::layers::Layer;

/// Read a float model's bytes back into its design and a network with its trained weights.
pub fn import_float(bytes: &[u8]) -> Result<(Design, Sequential)> {
    import_model(&read_model(bytes)?)
}

/// A BatchNormalization the export folded into the layer before it: that layer's weights' range before
/// folding (as trained) and after (as written in the file).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FoldedRange {
    /// The layer folded into (its index in the network), its type (Keras's name), and the
    /// BatchNormalization's index.
    pub layer: usize,
    pub kind: String,
    pub batch_norm: usize,
    /// min and max of the weights as trained, then as folded.
    pub unfolded: [f32; 2],
    pub folded: [f32; 2],
}

/// For each BatchNormalization a float model of ours folded at export, the range of the weights it was
/// folded into before and after folding: the folded weights are scaled per channel by γ/√(var+ε),
/// which widens or narrows each channel's range before the weights are quantized.
pub fn folded_ranges(bytes: &[u8]) -> Result<Vec<FoldedRange>> {
    let model = read_model(bytes)?;
    let (_, net) = import_model(&model)?;
    let graph = model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let range = |v: &[f32]| {
        v.iter()
            .fold([f32::INFINITY, f32::NEG_INFINITY], |[lo, hi], &x| {
                [lo.min(x), hi.max(x)]
            })
    };
    let mut out = Vec::new();
    for step in plan(&net.layers)? {
        let Some(j) = step.batch_norm else { continue };
        let i = step.index;
        let (kind, weights) = match &net.layers[i] {
            Layer::Conv2D(l) => ("Conv2D", &l.weights),
            Layer::DepthwiseConv2D(l) => ("DepthwiseConv2D", &l.weights),
            Layer::Dense(l) => ("Dense", &l.weights),
            _ => continue,
        };
        let name = format!("sequential/layer_{i}/kernel");
        let tensor = graph
            .tensors
            .iter()
            .find(|t| t.name == name && t.dtype == TensorType::Float32)
            .ok_or_else(|| Error::InvalidModel(format!("no float32 tensor {name}")))?;
        let folded = floats(model.tensor_data(tensor).unwrap_or(&[]));
        if folded.len() != weights.len() {
            return Err(Error::InvalidModel(format!(
                "tensor {name} holds {} weights, the design {}",
                folded.len(),
                weights.len()
            )));
        }
        out.push(FoldedRange {
            layer: i,
            kind: kind.into(),
            batch_norm: j,
            unfolded: range(weights),
            folded: range(&folded),
        });
    }
    Ok(out)
}

/// [`import_float`] on a model already read.
pub fn import_model(model: &Model) -> Result<(Design, Sequential)> {
    let json = model.metadata_value(METADATA_DESIGN).ok_or_else(|| {
        Error::InvalidModel(format!(
            "no \"{METADATA_DESIGN}\" metadata: only float models exported by ptq carry their design"
        ))
    })?;
    let json = std::str::from_utf8(json).map_err(|_| {
        Error::InvalidModel(format!("the \"{METADATA_DESIGN}\" metadata is not UTF-8"))
    })?;
    let design = Design::parse(json)?;
    let mut net = Sequential::new(&design.architecture_unchecked()?, 0)?;
    let graph = model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let constant = |name: &str, len: usize| -> Result<Vec<f32>> {
        let tensor = graph
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::InvalidModel(format!("no tensor {name}")))?;
        if tensor.dtype != TensorType::Float32 {
            return Err(Error::InvalidModel(format!(
                "tensor {name} is {}, not FLOAT32",
                tensor.dtype.name()
            )));
        }
        let data = model.tensor_data(tensor).unwrap_or(&[]);
        if data.len() != 4 * len {
            return Err(Error::ShapeMismatch {
                op: name.into(),
                expected: format!("{len} float32 values"),
                got: format!("{} bytes", data.len()),
            });
        }
        Ok(floats(data))
    };
    let unfolded = floats(model.metadata_value(METADATA_UNFOLDED).unwrap_or(&[]));
    let mut unfolded = unfolded.as_slice();
    let mut take = |n: usize| -> Result<Vec<f32>> {
        if unfolded.len() < n {
            return Err(Error::InvalidModel(format!(
                "the \"{METADATA_UNFOLDED}\" metadata is shorter than the design's batch normalizations need"
            )));
        }
        let (head, rest) = unfolded.split_at(n);
        unfolded = rest;
        Ok(head.to_vec())
    };
    for step in plan(&net.layers)? {
        let i = step.index;
        if let Some(j) = step.batch_norm {
            // restore the parameters before folding, in the order the export wrote them
            let (w_len, b_len) = match &net.layers[i] {
                Layer::Conv2D(l) => (l.weights.len(), l.bias.len()),
                Layer::DepthwiseConv2D(l) => (l.weights.len(), l.bias.len()),
                Layer::Dense(l) => (l.weights.len(), l.bias.len()),
                _ => continue,
            };
            let (w, b) = (take(w_len)?, take(b_len)?);
            set_weights(&mut net.layers[i], w, b);
            if let Some(Layer::BatchNorm(bn)) = net.layers.get_mut(j) {
                let c = bn.channels();
                bn.gamma = take(c)?;
                bn.beta = take(c)?;
                bn.moving_mean = take(c)?;
                bn.moving_var = take(c)?;
            }
            continue;
        }
        let lens = match &net.layers[i] {
            Layer::Conv2D(l) => Some((l.weights.len(), l.bias.len())),
            Layer::DepthwiseConv2D(l) => Some((l.weights.len(), l.bias.len())),
            Layer::Dense(l) => Some((l.weights.len(), l.bias.len())),
            _ => None,
        };
        if let Some((w_len, b_len)) = lens {
            let w = constant(&format!("sequential/layer_{i}/kernel"), w_len)?;
            let b = constant(&format!("sequential/layer_{i}/bias"), b_len)?;
            set_weights(&mut net.layers[i], w, b);
        }
    }
    Ok((design, net))
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn set_weights(layer: &mut Layer, w: Vec<f32>, b: Vec<f32>) {
    match layer {
        Layer::Conv2D(l) => (l.weights, l.bias) = (w, b),
        Layer::DepthwiseConv2D(l) => (l.weights, l.bias) = (w, b),
        Layer::Dense(l) => (l.weights, l.bias) = (w, b),
        _ => {}
    }
}
