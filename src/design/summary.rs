//! What a design costs and whether it is valid: the rules that need no shapes, then each layer built
//! for its input shape, with its output shape, parameters, multiply-adds per image and file sizes.

use serde::Serialize;

use super::{
    ActivationName, CLASSES, Design, DesignLayer, INPUT_VALUES, MAX_ACTIVATION, MAX_LAYERS,
    MAX_MACS, MAX_PARAMS,
};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::train::layers::{Layer, LayerSpec};

/// What one design layer costs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerSummary {
    /// Keras's class name.
    pub kind: String,
    /// Per-image output shape.
    pub output_shape: Vec<usize>,
    /// Parameters as Keras counts them (BatchNormalization's moving statistics included).
    pub params: u64,
    /// Multiply-adds per image (pooling, softmax and activations count none).
    pub macs: u64,
    /// Bytes of constant data in the float .tflite: 4 per weight and bias. A BatchNormalization has
    /// none of its own: the export folds it into the layer before.
    pub float_bytes: u64,
    /// Bytes of constant data in an integer-only .tflite: 1 per weight (int8), 4 per bias (int32);
    /// the per-channel scales and zero points are not counted.
    pub int8_bytes: u64,
}

/// Every layer's cost and the totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesignSummary {
    pub layers: Vec<LayerSummary>,
    pub params: u64,
    pub macs: u64,
    pub float_bytes: u64,
    pub int8_bytes: u64,
}

pub(super) fn layer_error(index: usize, layer: &DesignLayer, problem: impl Into<String>) -> Error {
    Error::InvalidLayer {
        index,
        kind: layer.kind().into(),
        problem: problem.into(),
    }
}

/// A layer's error message without the "invalid argument: " the trainer's errors start with.
fn problem_of(e: Error) -> String {
    match e {
        Error::InvalidArgument(msg) => msg,
        other => other.to_string(),
    }
}

/// The layer's weights and biases (conv, depthwise, dense), or None.
fn weights_and_bias(layer: &Layer) -> Option<(u64, u64)> {
    match layer {
        Layer::Conv2D(l) => Some((l.weights.len() as u64, l.bias.len() as u64)),
        Layer::DepthwiseConv2D(l) => Some((l.weights.len() as u64, l.bias.len() as u64)),
        Layer::Dense(l) => Some((l.weights.len() as u64, l.bias.len() as u64)),
        _ => None,
    }
}

/// Parameters a spec will have on a given input, computed before building it so that an oversized
/// layer is refused without allocating it.
fn params_before_building(spec: &LayerSpec, in_shape: &[usize]) -> u64 {
    let channels = in_shape.last().copied().unwrap_or(0) as u64;
    let inputs: u64 = in_shape.iter().map(|&d| d as u64).product();
    match *spec {
        LayerSpec::Conv2D {
            filters, kernel, ..
        } => (kernel[0] as u64 * kernel[1] as u64 * channels + 1).saturating_mul(filters as u64),
        LayerSpec::DepthwiseConv2D {
            kernel,
            depth_multiplier,
            ..
        } => (kernel[0] as u64 * kernel[1] as u64 + 1)
            .saturating_mul(channels)
            .saturating_mul(depth_multiplier as u64),
        LayerSpec::Dense { units, .. } => (inputs + 1).saturating_mul(units as u64),
        LayerSpec::BatchNorm { .. } => 4 * channels,
        _ => 0,
    }
}

/// Multiply-adds per image of a built layer.
fn macs(layer: &Layer) -> u64 {
    let prod = |d: &[usize]| d.iter().map(|&v| v as u64).product::<u64>();
    match layer {
        Layer::Conv2D(l) => prod(&l.out_shape) * prod(&l.kernel) * l.in_shape[2] as u64,
        Layer::DepthwiseConv2D(l) => prod(&l.out_shape) * prod(&l.kernel),
        Layer::Dense(l) => l.inputs as u64 * l.units as u64,
        _ => 0,
    }
}

impl Design {
    /// Check the design and return what each layer costs: every layer must fit its input, the
    /// ordering rules below must hold, and the limits ([`MAX_LAYERS`], [`MAX_PARAMS`], [`MAX_MACS`],
    /// [`MAX_ACTIVATION`]) keep it trainable in a browser.
    ///
    /// Ordering rules, which the float export needs to write the layers as TFLite operators:
    /// - BatchNormalization follows a Conv2D, DepthwiseConv2D or Dense without activation (Dropout may
    ///   come between): the export folds it into that layer's weights, as TensorFlow's converter does.
    ///   Keras users write `Conv2D(activation=None)`, `BatchNormalization()`, `Activation("relu")`.
    /// - Activation ("relu", "relu6") follows such a layer, or the BatchNormalization after one: the
    ///   export fuses it into the layer as TFLite's fused activation. "linear" may stand anywhere.
    /// - A softmax (Softmax, Activation("softmax"), Dense(activation="softmax")) only on the last
    ///   layer, and the last layer gives 10 outputs.
    pub fn summary(&self) -> Result<DesignSummary> {
        self.check()?;
        let (owner, specs) = self.specs()?;
        let mut rng = Rng::new(0);
        let mut shape = self.input_shape.clone();
        let mut layers: Vec<LayerSummary> = self
            .layers
            .iter()
            .map(|l| LayerSummary {
                kind: l.kind().into(),
                output_shape: Vec::new(),
                params: 0,
                macs: 0,
                float_bytes: 0,
                int8_bytes: 0,
            })
            .collect();
        let (mut params, mut total_macs) = (0u64, 0u64);
        for (spec, &index) in specs.iter().zip(&owner) {
            let design_layer = &self.layers[index];
            let err = |p: String| layer_error(index, design_layer, p);
            let before = params_before_building(spec, &shape);
            params = params.saturating_add(before);
            if params > MAX_PARAMS {
                return Err(err(format!(
                    "the design reaches {params} parameters here, over the limit of {MAX_PARAMS}"
                )));
            }
            let layer = Layer::new(spec, &shape, &mut rng).map_err(|e| err(problem_of(e)))?;
            shape = layer.out_shape();
            let values: u64 = shape.iter().map(|&d| d as u64).product();
            if values > MAX_ACTIVATION {
                return Err(err(format!(
                    "its output {shape:?} has {values} values per image, over the limit of {MAX_ACTIVATION}"
                )));
            }
            let m = macs(&layer);
            total_macs = total_macs.saturating_add(m);
            if total_macs > MAX_MACS {
                return Err(err(format!(
                    "the design reaches {total_macs} multiply-adds per image here, over the limit of {MAX_MACS}"
                )));
            }
            let summary = &mut layers[index];
            summary.output_shape = shape.clone();
            summary.params += before;
            summary.macs += m;
            if let Some((w, b)) = weights_and_bias(&layer) {
                summary.float_bytes += 4 * (w + b);
                summary.int8_bytes += w + 4 * b;
            }
        }
        if shape != [CLASSES] {
            let last = self.layers.len() - 1;
            return Err(layer_error(
                last,
                &self.layers[last],
                format!(
                    "the last layer must give {CLASSES} outputs (logits or probabilities), got shape {shape:?}"
                ),
            ));
        }
        let sum = |f: fn(&LayerSummary) -> u64| layers.iter().map(f).sum();
        Ok(DesignSummary {
            params,
            macs: total_macs,
            float_bytes: sum(|l| l.float_bytes),
            int8_bytes: sum(|l| l.int8_bytes),
            layers,
        })
    }

    /// The rules that need no shapes: a name, the input size, the number of layers, the order.
    pub(super) fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err(Error::InvalidArgument(
                "design: the name must be 1 to 100 characters".into(),
            ));
        }
        let values = self
            .input_shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d));
        if values != Some(INPUT_VALUES) || self.input_shape.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "design: the input shape {:?} must hold the {INPUT_VALUES} pixels of an MNIST image (e.g. [28, 28])",
                self.input_shape
            )));
        }
        if self.layers.is_empty() {
            return Err(Error::InvalidArgument("design: no layers".into()));
        }
        if self.layers.len() > MAX_LAYERS {
            return Err(Error::LimitExceeded {
                what: "the number of layers".into(),
                limit: MAX_LAYERS as u64,
                got: self.layers.len() as u64,
            });
        }
        // What the previous layer (Dropout skipped) leaves for a BatchNormalization or an Activation.
        #[derive(PartialEq)]
        enum Before {
            /// A Conv2D, DepthwiseConv2D or Dense without activation.
            Linear,
            /// A BatchNormalization after one.
            Normalized,
            Other,
        }
        let mut before = Before::Other;
        let last = self.layers.len() - 1;
        for (index, layer) in self.layers.iter().enumerate() {
            if layer.activation() == Some(ActivationName::Softmax) && index != last {
                return Err(layer_error(
                    index,
                    layer,
                    "a softmax must be the last layer (the loss reads its probabilities)",
                ));
            }
            before = match layer {
                DesignLayer::Dropout { .. } => before,
                DesignLayer::Conv2D { activation, .. }
                | DesignLayer::DepthwiseConv2D { activation, .. }
                | DesignLayer::Dense { activation, .. } => {
                    if *activation == ActivationName::Linear {
                        Before::Linear
                    } else {
                        Before::Other
                    }
                }
                DesignLayer::BatchNormalization { .. } => {
                    if before != Before::Linear {
                        return Err(layer_error(
                            index,
                            layer,
                            "must follow a Conv2D, DepthwiseConv2D or Dense without activation, into whose weights the export folds it (write the activation as an Activation layer after the BatchNormalization)",
                        ));
                    }
                    Before::Normalized
                }
                DesignLayer::Activation { activation } => match activation {
                    ActivationName::Linear => before,
                    ActivationName::Softmax => Before::Other,
                    _ if before == Before::Other => {
                        return Err(layer_error(
                            index,
                            layer,
                            "must follow a Conv2D, DepthwiseConv2D or Dense without activation (or the BatchNormalization after one), into which the export fuses it",
                        ));
                    }
                    _ => Before::Other,
                },
                _ => Before::Other,
            };
        }
        Ok(())
    }
}
