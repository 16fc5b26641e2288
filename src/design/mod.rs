//! Model designs: a sequential network written as JSON with Keras's layer and field names, checked
//! layer by layer, and summarized (shapes, parameters, multiply-adds, file sizes) so that an editor can
//! show what a design costs while it is typed.
//!
//! ```json
//! {"name": "tutorial", "input_shape": [28, 28], "layers": [
//!   {"type": "Reshape", "target_shape": [28, 28, 1]},
//!   {"type": "Conv2D", "filters": 12, "kernel_size": [3, 3], "activation": "relu"},
//!   {"type": "MaxPooling2D", "pool_size": [2, 2]},
//!   {"type": "Flatten"},
//!   {"type": "Dense", "units": 10}]}
//! ```
//!
//! Field names and defaults are Keras's (`strides` 1, `padding` "valid", `activation` linear, pooling
//! `strides` = `pool_size`, BatchNormalization momentum 0.99 and epsilon 1e-3), and a single integer is
//! accepted wherever Keras takes a pair (`"kernel_size": 3`). A design becomes the trainer's
//! [`Architecture`] with [`Design::architecture`]; the float export carries the design, so a trained
//! model can be read back and trained further (see `quantize::import_float`).

mod format;
pub mod presets;
mod summary;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::layers::LayerSpec;
use crate::train::{Architecture, Sequential};

pub use format::{ActivationName, DesignLayer, PaddingName};
pub use presets::{PRESETS, Preset, preset};
use summary::layer_error;
pub use summary::{DesignSummary, LayerSummary};

/// Most layers a design may have (Keras's layers, Dropout and Activation included).
pub const MAX_LAYERS: usize = 32;
/// Most parameters (weights, biases, BatchNormalization's four vectors): 4 MB of float32, which Adam
/// triples in the browser's memory (moments), and about as much as a page can download comfortably.
pub const MAX_PARAMS: u64 = 1_000_000;
/// Most multiply-adds per image over all layers. Training costs about three times the forward pass;
/// at 5 M an epoch of 60,000 images is about 10^12 multiply-adds, a few minutes in a browser's worker
/// (the tutorial's model has 95 k and trains an epoch in seconds).
pub const MAX_MACS: u64 = 5_000_000;
/// Most values one layer may output per image: a batch of 32 keeps every layer's activations and
/// gradients, so this bounds the trainer's memory (about 32 × 200 k × 4 B = 26 MB per layer).
pub const MAX_ACTIVATION: u64 = 200_000;
/// The images are MNIST's: a design's input must hold 28 × 28 values.
pub const INPUT_VALUES: usize = 28 * 28;
/// MNIST's ten classes: the last layer must give ten outputs (logits, or probabilities after a softmax).
pub const CLASSES: usize = 10;

/// A design: a name, the per-image input shape and the layers in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Design {
    pub name: String,
    pub input_shape: Vec<usize>,
    pub layers: Vec<DesignLayer>,
}

impl Design {
    /// Parse a design from JSON. Errors name the layer (index and type) whose fields are wrong.
    pub fn parse(json: &str) -> Result<Design> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::InvalidArgument(format!("design: not valid JSON: {e}")))?;
        let serde_json::Value::Object(mut top) = value else {
            return Err(Error::InvalidArgument(
                "design: expected a JSON object".into(),
            ));
        };
        let layers = match top.remove("layers") {
            Some(serde_json::Value::Array(layers)) => layers,
            Some(_) => {
                return Err(Error::InvalidArgument(
                    "design: \"layers\" must be a list".into(),
                ));
            }
            None => {
                return Err(Error::InvalidArgument(
                    "design: \"layers\" is missing".into(),
                ));
            }
        };
        if layers.len() > MAX_LAYERS {
            return Err(Error::LimitExceeded {
                what: "the number of layers".into(),
                limit: MAX_LAYERS as u64,
                got: layers.len() as u64,
            });
        }
        top.insert("layers".into(), serde_json::Value::Array(Vec::new()));
        let mut design: Design = serde_json::from_value(serde_json::Value::Object(top))
            .map_err(|e| Error::InvalidArgument(format!("design: {e}")))?;
        for (index, layer) in layers.into_iter().enumerate() {
            let kind = layer
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("no type")
                .to_string();
            let parsed =
                serde_json::from_value::<DesignLayer>(layer).map_err(|e| Error::InvalidLayer {
                    index,
                    kind,
                    problem: e.to_string(),
                })?;
            design.layers.push(parsed);
        }
        Ok(design)
    }

    /// The design as JSON (one line; Keras's names, defaults written out).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::InvalidArgument(format!("design {}: {e}", self.name)))
    }

    /// The design of a network (its layers' specs; a softmax stays a layer of its own).
    pub fn from_architecture(name: &str, arch: &Architecture) -> Design {
        Design {
            name: name.into(),
            input_shape: arch.input_shape.clone(),
            layers: arch.layers.iter().map(DesignLayer::from_spec).collect(),
        }
    }

    /// The trainer's architecture for this design, after [`Design::check`].
    pub fn architecture(&self) -> Result<Architecture> {
        self.check()?;
        self.specs().map(|(_, layers)| Architecture {
            input_shape: self.input_shape.clone(),
            layers,
        })
    }

    /// The trainer's architecture for this design without the checks that need MNIST (the input
    /// size, the ordering rules): what a model file's design is read back into.
    pub fn architecture_unchecked(&self) -> Result<Architecture> {
        self.specs().map(|(_, layers)| Architecture {
            input_shape: self.input_shape.clone(),
            layers,
        })
    }

    /// The trainer's layer specs and, per spec, the index of the design layer it came from.
    fn specs(&self) -> Result<(Vec<usize>, Vec<LayerSpec>)> {
        let (mut owner, mut specs) = (Vec::new(), Vec::new());
        for (index, layer) in self.layers.iter().enumerate() {
            let s = layer.specs().map_err(|p| layer_error(index, layer, p))?;
            owner.extend(std::iter::repeat_n(index, s.len()));
            specs.extend(s);
        }
        Ok((owner, specs))
    }

    /// A freshly initialized network for this design (Keras's initializers, weights from `seed`).
    pub fn build(&self, seed: u64) -> Result<Sequential> {
        self.summary()?;
        Sequential::new(&self.architecture()?, seed)
    }
}

#[cfg(test)]
mod tests;
