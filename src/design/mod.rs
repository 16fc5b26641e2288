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

pub mod presets;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::train::layers::{Activation, Layer, LayerSpec, Padding};
use crate::train::{Architecture, Sequential};

pub use presets::{PRESETS, Preset, preset};

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

/// Keras's activation names as they appear in a layer's config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationName {
    #[default]
    Linear,
    Relu,
    Relu6,
    /// Only on the last layer (Dense or Activation): the outputs are probabilities.
    Softmax,
}

/// Keras's padding names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaddingName {
    #[default]
    Valid,
    Same,
}

impl From<PaddingName> for Padding {
    fn from(p: PaddingName) -> Padding {
        match p {
            PaddingName::Valid => Padding::Valid,
            PaddingName::Same => Padding::Same,
        }
    }
}

impl From<Padding> for PaddingName {
    fn from(p: Padding) -> PaddingName {
        match p {
            Padding::Valid => PaddingName::Valid,
            Padding::Same => PaddingName::Same,
        }
    }
}

impl From<Activation> for ActivationName {
    fn from(a: Activation) -> ActivationName {
        match a {
            Activation::Linear => ActivationName::Linear,
            Activation::Relu => ActivationName::Relu,
            Activation::Relu6 => ActivationName::Relu6,
        }
    }
}

/// One layer of a design, tagged by its Keras class name in `"type"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum DesignLayer {
    Reshape {
        target_shape: Vec<usize>,
    },
    Flatten {},
    Conv2D {
        filters: usize,
        #[serde(deserialize_with = "pair")]
        kernel_size: [usize; 2],
        #[serde(default = "ones", deserialize_with = "pair")]
        strides: [usize; 2],
        #[serde(default)]
        padding: PaddingName,
        #[serde(default)]
        activation: ActivationName,
    },
    DepthwiseConv2D {
        #[serde(deserialize_with = "pair")]
        kernel_size: [usize; 2],
        #[serde(default = "one")]
        depth_multiplier: usize,
        #[serde(default = "ones", deserialize_with = "pair")]
        strides: [usize; 2],
        #[serde(default)]
        padding: PaddingName,
        #[serde(default)]
        activation: ActivationName,
    },
    MaxPooling2D {
        #[serde(default = "twos", deserialize_with = "pair")]
        pool_size: [usize; 2],
        #[serde(
            default,
            deserialize_with = "optional_pair",
            skip_serializing_if = "Option::is_none"
        )]
        strides: Option<[usize; 2]>,
        #[serde(default)]
        padding: PaddingName,
    },
    AveragePooling2D {
        #[serde(default = "twos", deserialize_with = "pair")]
        pool_size: [usize; 2],
        #[serde(
            default,
            deserialize_with = "optional_pair",
            skip_serializing_if = "Option::is_none"
        )]
        strides: Option<[usize; 2]>,
        #[serde(default)]
        padding: PaddingName,
    },
    Dense {
        units: usize,
        #[serde(default)]
        activation: ActivationName,
    },
    BatchNormalization {
        #[serde(default = "default_momentum")]
        momentum: f32,
        #[serde(default = "default_epsilon")]
        epsilon: f32,
    },
    Activation {
        activation: ActivationName,
    },
    Softmax {},
    Dropout {
        rate: f32,
    },
}

fn one() -> usize {
    1
}
fn ones() -> [usize; 2] {
    [1, 1]
}
fn twos() -> [usize; 2] {
    [2, 2]
}
fn default_momentum() -> f32 {
    0.99
}
fn default_epsilon() -> f32 {
    1e-3
}

/// A pair of sizes, or one size for both, as Keras's `kernel_size`, `strides` and `pool_size` accept.
struct PairVisitor;

impl<'de> Visitor<'de> for PairVisitor {
    type Value = [usize; 2];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a positive integer or a list of two")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<[usize; 2], E> {
        let v = usize::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))?;
        Ok([v, v])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<[usize; 2], A::Error> {
        let a = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let b = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok([a, b])
    }
}

fn pair<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<[usize; 2], D::Error> {
    d.deserialize_any(PairVisitor)
}

fn optional_pair<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<[usize; 2]>, D::Error> {
    struct OptionalPair;
    impl<'de> Visitor<'de> for OptionalPair {
        type Value = Option<[usize; 2]>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("null, a positive integer or a list of two")
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
            PairVisitor.visit_u64(v).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            PairVisitor.visit_seq(seq).map(Some)
        }
    }
    d.deserialize_any(OptionalPair)
}

impl DesignLayer {
    /// Keras's class name (the `"type"` field).
    pub fn kind(&self) -> &'static str {
        match self {
            DesignLayer::Reshape { .. } => "Reshape",
            DesignLayer::Flatten {} => "Flatten",
            DesignLayer::Conv2D { .. } => "Conv2D",
            DesignLayer::DepthwiseConv2D { .. } => "DepthwiseConv2D",
            DesignLayer::MaxPooling2D { .. } => "MaxPooling2D",
            DesignLayer::AveragePooling2D { .. } => "AveragePooling2D",
            DesignLayer::Dense { .. } => "Dense",
            DesignLayer::BatchNormalization { .. } => "BatchNormalization",
            DesignLayer::Activation { .. } => "Activation",
            DesignLayer::Softmax {} => "Softmax",
            DesignLayer::Dropout { .. } => "Dropout",
        }
    }

    /// The activation this layer ends with, if it has one.
    fn activation(&self) -> Option<ActivationName> {
        match *self {
            DesignLayer::Conv2D { activation, .. }
            | DesignLayer::DepthwiseConv2D { activation, .. }
            | DesignLayer::Dense { activation, .. }
            | DesignLayer::Activation { activation } => Some(activation),
            DesignLayer::Softmax {} => Some(ActivationName::Softmax),
            _ => None,
        }
    }

    /// The trainer's layers for this one (a softmax activation becomes a Softmax layer after it).
    fn specs(&self) -> std::result::Result<Vec<LayerSpec>, String> {
        // softmax is split off; the other names map one to one
        let split = |a: ActivationName| match a {
            ActivationName::Linear => (Activation::Linear, false),
            ActivationName::Relu => (Activation::Relu, false),
            ActivationName::Relu6 => (Activation::Relu6, false),
            ActivationName::Softmax => (Activation::Linear, true),
        };
        let with_softmax = |spec: LayerSpec, softmax: bool| {
            let mut v = vec![spec];
            if softmax {
                v.push(LayerSpec::Softmax);
            }
            v
        };
        Ok(match *self {
            DesignLayer::Reshape { ref target_shape } => vec![LayerSpec::Reshape {
                shape: target_shape.clone(),
            }],
            DesignLayer::Flatten {} => vec![LayerSpec::Flatten],
            DesignLayer::Conv2D {
                filters,
                kernel_size,
                strides,
                padding,
                activation,
            } => {
                let (activation, softmax) = split(activation);
                if softmax {
                    return Err("softmax is only supported on Dense, Activation or Softmax".into());
                }
                vec![LayerSpec::Conv2D {
                    filters,
                    kernel: kernel_size,
                    strides,
                    padding: padding.into(),
                    activation,
                }]
            }
            DesignLayer::DepthwiseConv2D {
                kernel_size,
                depth_multiplier,
                strides,
                padding,
                activation,
            } => {
                let (activation, softmax) = split(activation);
                if softmax {
                    return Err("softmax is only supported on Dense, Activation or Softmax".into());
                }
                vec![LayerSpec::DepthwiseConv2D {
                    kernel: kernel_size,
                    depth_multiplier,
                    strides,
                    padding: padding.into(),
                    activation,
                }]
            }
            DesignLayer::MaxPooling2D {
                pool_size,
                strides,
                padding,
            } => {
                if padding == PaddingName::Same {
                    return Err(
                        "padding \"same\" is not supported for MaxPooling2D; use \"valid\"".into(),
                    );
                }
                vec![LayerSpec::MaxPool2D {
                    pool: pool_size,
                    strides: strides.unwrap_or(pool_size),
                }]
            }
            DesignLayer::AveragePooling2D {
                pool_size,
                strides,
                padding,
            } => vec![LayerSpec::AvgPool2D {
                pool: pool_size,
                strides: strides.unwrap_or(pool_size),
                padding: padding.into(),
            }],
            DesignLayer::Dense { units, activation } => {
                let (activation, softmax) = split(activation);
                with_softmax(LayerSpec::Dense { units, activation }, softmax)
            }
            DesignLayer::BatchNormalization { momentum, epsilon } => {
                vec![LayerSpec::BatchNorm { momentum, epsilon }]
            }
            DesignLayer::Activation { activation } => match split(activation) {
                (_, true) => vec![LayerSpec::Softmax],
                (a, false) => vec![LayerSpec::Activation(a)],
            },
            DesignLayer::Softmax {} => vec![LayerSpec::Softmax],
            DesignLayer::Dropout { rate } => vec![LayerSpec::Dropout { rate }],
        })
    }

    /// The design layer for a trainer's layer spec (Softmax stays its own layer).
    fn from_spec(spec: &LayerSpec) -> DesignLayer {
        match *spec {
            LayerSpec::Reshape { ref shape } => DesignLayer::Reshape {
                target_shape: shape.clone(),
            },
            LayerSpec::Flatten => DesignLayer::Flatten {},
            LayerSpec::Conv2D {
                filters,
                kernel,
                strides,
                padding,
                activation,
            } => DesignLayer::Conv2D {
                filters,
                kernel_size: kernel,
                strides,
                padding: padding.into(),
                activation: activation.into(),
            },
            LayerSpec::MaxPool2D { pool, strides } => DesignLayer::MaxPooling2D {
                pool_size: pool,
                strides: Some(strides),
                padding: PaddingName::Valid,
            },
            LayerSpec::Dense { units, activation } => DesignLayer::Dense {
                units,
                activation: activation.into(),
            },
            LayerSpec::AvgPool2D {
                pool,
                strides,
                padding,
            } => DesignLayer::AveragePooling2D {
                pool_size: pool,
                strides: Some(strides),
                padding: padding.into(),
            },
            LayerSpec::DepthwiseConv2D {
                kernel,
                depth_multiplier,
                strides,
                padding,
                activation,
            } => DesignLayer::DepthwiseConv2D {
                kernel_size: kernel,
                depth_multiplier,
                strides,
                padding: padding.into(),
                activation: activation.into(),
            },
            LayerSpec::BatchNorm { momentum, epsilon } => {
                DesignLayer::BatchNormalization { momentum, epsilon }
            }
            LayerSpec::Activation(a) => DesignLayer::Activation {
                activation: a.into(),
            },
            LayerSpec::Softmax => DesignLayer::Softmax {},
            LayerSpec::Dropout { rate } => DesignLayer::Dropout { rate },
        }
    }
}

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

fn layer_error(index: usize, layer: &DesignLayer, problem: impl Into<String>) -> Error {
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
    fn check(&self) -> Result<()> {
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

    /// A freshly initialized network for this design (Keras's initializers, weights from `seed`).
    pub fn build(&self, seed: u64) -> Result<Sequential> {
        self.summary()?;
        Sequential::new(&self.architecture()?, seed)
    }
}

#[cfg(test)]
mod tests;
