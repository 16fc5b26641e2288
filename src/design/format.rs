//! The design's JSON form: Keras's layer and field names and defaults (a single integer accepted where
//! Keras takes a pair), and the translation of each layer to and from the trainer's layer specs.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::train::layers::{Activation, LayerSpec, Padding};

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
    pub(super) fn activation(&self) -> Option<ActivationName> {
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
    pub(super) fn specs(&self) -> std::result::Result<Vec<LayerSpec>, String> {
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
    pub(super) fn from_spec(spec: &LayerSpec) -> DesignLayer {
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
