//! Float layers as forward/backward pairs over a batch: what a layer is ([`LayerSpec`]), its
//! instantiation for an input shape ([`Layer`]) and the dispatch to each kind, which lives in its own
//! file (conv.rs, depthwise.rs, pool.rs, avg_pool.rs, dense.rs, norm.rs for batch normalization,
//! elementwise.rs for activations, softmax and dropout; fused.rs runs a conv and the max pool after it
//! together).
//!
//! Legend: B batch, H/W height/width, C channels, O filters/units, KH/KW kernel size, R = B·OH·OW rows of
//! the im2col matrix, K = KH·KW·C its columns. Activations are NHWC row-major; conv weights OHWI
//! (`[O, KH, KW, C]`, i.e. an `O×K` matrix), dense weights `[O, in]`. Each layer caches what its backward
//! pass needs from the last forward pass.

mod avg_pool;
mod conv;
mod dense;
mod depthwise;
mod elementwise;
mod fused;
mod norm;
mod pool;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;

pub use avg_pool::AvgPool2D;
pub use conv::Conv2D;
pub use dense::Dense;
pub use depthwise::DepthwiseConv2D;
pub use elementwise::Dropout;
pub(crate) use fused::ConvPool;
pub use norm::BatchNorm;
pub use pool::MaxPool2D;

/// An activation fused into a Conv2D, DepthwiseConv2D or Dense layer, or run as a layer of its own
/// ([`LayerSpec::Activation`], which the export fuses into the layer before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Linear,
    Relu,
    /// min(max(x, 0), 6), as `tf.nn.relu6`; TFLite fuses it as RELU6.
    Relu6,
}

impl Activation {
    /// Apply the activation in place.
    pub(crate) fn apply(self, x: &mut [f32]) {
        match self {
            Activation::Linear => {}
            Activation::Relu => {
                for v in x {
                    *v = if *v > 0.0 { *v } else { 0.0 };
                }
            }
            Activation::Relu6 => {
                for v in x {
                    *v = if *v > 0.0 { v.min(6.0) } else { 0.0 };
                }
            }
        }
    }

    /// Whether the gradient passes at an output `y` of this activation. For ReLU6 it passes only
    /// strictly inside (0, 6), as TensorFlow's Relu6Grad (`0 < x < 6`), which is where the output is
    /// strictly inside too.
    #[inline(always)]
    pub(crate) fn passes(self, y: f32) -> bool {
        match self {
            Activation::Linear => true,
            Activation::Relu => y > 0.0,
            Activation::Relu6 => y > 0.0 && y < 6.0,
        }
    }

    /// Zero the gradient `d` where the activation's output `y` was flat.
    pub(crate) fn mask(self, y: &[f32], d: &mut [f32]) {
        if self == Activation::Linear {
            return;
        }
        for (g, &y) in d.iter_mut().zip(y) {
            *g = if self.passes(y) { *g } else { 0.0 }; // a select, so the loop vectorizes
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// No padding: output = (input − kernel) / stride + 1.
    Valid,
    /// Output = ceil(input / stride), zero padding split as TF does (the extra row/column at the end).
    Same,
}

/// What a layer is, independent of the input shape (Keras-like).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerSpec {
    /// Reinterpret each sample with this shape (same number of elements).
    Reshape { shape: Vec<usize> },
    Conv2D {
        filters: usize,
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        activation: Activation,
    },
    /// Max pooling, VALID padding.
    MaxPool2D {
        pool: [usize; 2],
        strides: [usize; 2],
    },
    /// (H, W, C) → H·W·C in row-major (NHWC) order, as Keras and TFLite RESHAPE do.
    Flatten,
    Dense {
        units: usize,
        activation: Activation,
    },
    /// Average pooling; with SAME padding each window averages only the inputs inside the image, as
    /// Keras and TFLite's AVERAGE_POOL_2D do.
    AvgPool2D {
        pool: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    },
    /// One `[KH, KW]` filter per input channel and multiplier: output channel `c·M + m` reads input
    /// channel `c` only.
    DepthwiseConv2D {
        kernel: [usize; 2],
        depth_multiplier: usize,
        strides: [usize; 2],
        padding: Padding,
        activation: Activation,
    },
    /// Batch normalization over the last axis (channels), Keras's `BatchNormalization`.
    BatchNorm { momentum: f32, epsilon: f32 },
    /// An activation as a layer of its own (after a BatchNorm, say).
    Activation(Activation),
    /// Softmax over a flat vector; only as the last layer, where the loss reads probabilities.
    Softmax,
    /// Inverted dropout: in training each value is zeroed with probability `rate` and the others scaled
    /// by 1 / (1 − rate); at inference the identity.
    Dropout { rate: f32 },
}

/// A layer instantiated for a known input shape.
#[derive(Clone, Debug)]
pub enum Layer {
    Reshape {
        out_shape: Vec<usize>,
    },
    Conv2D(Conv2D),
    MaxPool2D(MaxPool2D),
    Flatten {
        out_len: usize,
    },
    Dense(Dense),
    AvgPool2D(AvgPool2D),
    DepthwiseConv2D(DepthwiseConv2D),
    BatchNorm(BatchNorm),
    /// An activation on any shape.
    Activation {
        activation: Activation,
        shape: Vec<usize>,
    },
    /// Softmax over `classes` values per sample.
    Softmax {
        classes: usize,
    },
    Dropout(Dropout),
}

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

fn as_hwc(shape: &[usize], layer: &str) -> Result<[usize; 3]> {
    match *shape {
        [h, w, c] if h > 0 && w > 0 && c > 0 => Ok([h, w, c]),
        _ => Err(bad(format!(
            "{layer} needs a (height, width, channels) input, got {shape:?}"
        ))),
    }
}

/// Output size and leading padding of one spatial dimension.
fn conv_out(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
) -> Option<(usize, usize)> {
    if kernel == 0 || stride == 0 {
        return None;
    }
    match padding {
        Padding::Valid => (input >= kernel).then(|| ((input - kernel) / stride + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + kernel).saturating_sub(input);
            Some((out, total / 2))
        }
    }
}

/// Glorot (Xavier) uniform: U(−l, l) with l = √(6 / (fan_in + fan_out)), Keras's default kernel
/// initializer. For conv kernels fan_in = KH·KW·C and fan_out = KH·KW·O (Keras `compute_fans`).
fn glorot_uniform(n: usize, fan_in: usize, fan_out: usize, rng: &mut Rng) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    (0..n).map(|_| rng.uniform(-limit, limit)).collect()
}

/// Checked product of dimensions: sizes come from user settings, so they must not overflow.
fn product(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| {
            bad(format!(
                "shape {dims:?} has too many elements (limit {MAX_ELEMENTS})"
            ))
        })
}

/// Largest activation or weight tensor (per sample) the trainer accepts.
pub const MAX_ELEMENTS: usize = 1 << 24;

impl Layer {
    /// Instantiate `spec` for a per-sample input shape, drawing initial weights from `rng`.
    pub fn new(spec: &LayerSpec, in_shape: &[usize], rng: &mut Rng) -> Result<Layer> {
        let in_len = product(in_shape)?;
        Ok(match spec {
            LayerSpec::Reshape { shape } => {
                if product(shape)? != in_len {
                    return Err(bad(format!("cannot reshape {in_shape:?} to {shape:?}")));
                }
                Layer::Reshape {
                    out_shape: shape.clone(),
                }
            }
            LayerSpec::Flatten => Layer::Flatten { out_len: in_len },
            &LayerSpec::Conv2D {
                filters,
                kernel,
                strides,
                padding,
                activation,
            } => {
                let [h, w, c] = as_hwc(in_shape, "Conv2D")?;
                let (oh, pt) = conv_out(h, kernel[0], strides[0], padding)
                    .ok_or_else(|| bad(format!("Conv2D kernel {kernel:?} / strides {strides:?} do not fit input {in_shape:?}")))?;
                let (ow, pl) = conv_out(w, kernel[1], strides[1], padding)
                    .ok_or_else(|| bad(format!("Conv2D kernel {kernel:?} / strides {strides:?} do not fit input {in_shape:?}")))?;
                if filters == 0 {
                    return Err(bad("Conv2D needs at least one filter".into()));
                }
                let k = product(&[kernel[0], kernel[1], c])?;
                let n = product(&[filters, k])?;
                product(&[oh, ow, filters])?;
                let weights = glorot_uniform(n, k, kernel[0] * kernel[1] * filters, rng);
                Layer::Conv2D(Conv2D {
                    in_shape: [h, w, c],
                    out_shape: [oh, ow, filters],
                    kernel,
                    strides,
                    padding,
                    pad: [pt, pl],
                    activation,
                    weights,
                    bias: vec![0.0; filters],
                    grad_weights: vec![0.0; n],
                    grad_bias: vec![0.0; filters],
                    planar_output: false,
                    pool_masks_relu: false,
                    cols: Vec::new(),
                    scratch: Vec::new(),
                })
            }
            &LayerSpec::MaxPool2D { pool, strides } => {
                let [h, w, c] = as_hwc(in_shape, "MaxPool2D")?;
                let (oh, _) = conv_out(h, pool[0], strides[0], Padding::Valid)
                    .ok_or_else(|| bad(format!("MaxPool2D pool {pool:?} / strides {strides:?} do not fit input {in_shape:?}")))?;
                let (ow, _) = conv_out(w, pool[1], strides[1], Padding::Valid)
                    .ok_or_else(|| bad(format!("MaxPool2D pool {pool:?} / strides {strides:?} do not fit input {in_shape:?}")))?;
                Layer::MaxPool2D(MaxPool2D {
                    in_shape: [h, w, c],
                    out_shape: [oh, ow, c],
                    pool,
                    strides,
                    planar_input: false,
                    relu_input: false,
                    argmax: Vec::new(),
                })
            }
            &LayerSpec::AvgPool2D {
                pool,
                strides,
                padding,
            } => {
                let [h, w, c] = as_hwc(in_shape, "AveragePooling2D")?;
                let misfit = || {
                    bad(format!(
                        "AveragePooling2D pool {pool:?} / strides {strides:?} do not fit input {in_shape:?}"
                    ))
                };
                let (oh, pt) = conv_out(h, pool[0], strides[0], padding).ok_or_else(misfit)?;
                let (ow, pl) = conv_out(w, pool[1], strides[1], padding).ok_or_else(misfit)?;
                Layer::AvgPool2D(AvgPool2D {
                    in_shape: [h, w, c],
                    out_shape: [oh, ow, c],
                    pool,
                    strides,
                    padding,
                    pad: [pt, pl],
                })
            }
            &LayerSpec::DepthwiseConv2D {
                kernel,
                depth_multiplier,
                strides,
                padding,
                activation,
            } => {
                let [h, w, c] = as_hwc(in_shape, "DepthwiseConv2D")?;
                let misfit = || {
                    bad(format!(
                        "DepthwiseConv2D kernel {kernel:?} / strides {strides:?} do not fit input {in_shape:?}"
                    ))
                };
                let (oh, pt) = conv_out(h, kernel[0], strides[0], padding).ok_or_else(misfit)?;
                let (ow, pl) = conv_out(w, kernel[1], strides[1], padding).ok_or_else(misfit)?;
                if depth_multiplier == 0 {
                    return Err(bad(
                        "DepthwiseConv2D needs a depth multiplier of at least 1".into(),
                    ));
                }
                let channels = product(&[c, depth_multiplier])?;
                let n = product(&[kernel[0], kernel[1], channels])?;
                product(&[oh, ow, channels])?;
                // Keras's kernel is (KH, KW, C, M): compute_fans gives fan_in = KH·KW·C and
                // fan_out = KH·KW·M.
                let taps = kernel[0] * kernel[1];
                let weights = glorot_uniform(n, taps * c, taps * depth_multiplier, rng);
                Layer::DepthwiseConv2D(DepthwiseConv2D {
                    in_shape: [h, w, c],
                    out_shape: [oh, ow, channels],
                    kernel,
                    depth_multiplier,
                    strides,
                    padding,
                    pad: [pt, pl],
                    activation,
                    weights,
                    bias: vec![0.0; channels],
                    grad_weights: vec![0.0; n],
                    grad_bias: vec![0.0; channels],
                })
            }
            &LayerSpec::BatchNorm { momentum, epsilon } => {
                let channels = in_shape.last().copied().unwrap_or(0);
                if channels == 0 {
                    return Err(bad(format!(
                        "BatchNormalization needs an input with channels, got {in_shape:?}"
                    )));
                }
                if !(momentum.is_finite() && (0.0..1.0).contains(&momentum)) {
                    return Err(bad(format!(
                        "BatchNormalization momentum must be in [0, 1), got {momentum}"
                    )));
                }
                if !(epsilon.is_finite() && epsilon > 0.0) {
                    return Err(bad(format!(
                        "BatchNormalization epsilon must be positive, got {epsilon}"
                    )));
                }
                Layer::BatchNorm(BatchNorm::new(
                    channels,
                    in_shape.to_vec(),
                    momentum,
                    epsilon,
                ))
            }
            &LayerSpec::Activation(activation) => Layer::Activation {
                activation,
                shape: in_shape.to_vec(),
            },
            LayerSpec::Softmax => {
                if in_shape.len() != 1 {
                    return Err(bad(format!(
                        "Softmax needs a flat input (add Flatten), got {in_shape:?}"
                    )));
                }
                Layer::Softmax { classes: in_len }
            }
            &LayerSpec::Dropout { rate } => {
                if !(rate.is_finite() && (0.0..1.0).contains(&rate)) {
                    return Err(bad(format!("Dropout rate must be in [0, 1), got {rate}")));
                }
                // Its own stream, drawn from the weights' stream: the same seed gives the same masks.
                Layer::Dropout(Dropout::new(
                    rate,
                    in_shape.to_vec(),
                    Rng::new(rng.next_u64()),
                ))
            }
            &LayerSpec::Dense { units, activation } => {
                if in_shape.len() != 1 {
                    return Err(bad(format!(
                        "Dense needs a flat input (add Flatten), got {in_shape:?}"
                    )));
                }
                if units == 0 {
                    return Err(bad("Dense needs at least one unit".into()));
                }
                let n = product(&[units, in_len])?;
                Layer::Dense(Dense {
                    inputs: in_len,
                    units,
                    activation,
                    weights: glorot_uniform(n, in_len, units, rng),
                    bias: vec![0.0; units],
                    grad_weights: vec![0.0; n],
                    grad_bias: vec![0.0; units],
                })
            }
        })
    }

    /// The spec this layer was built from (inverse of [`Layer::new`], weights aside).
    pub fn spec(&self) -> LayerSpec {
        match self {
            Layer::Reshape { out_shape } => LayerSpec::Reshape {
                shape: out_shape.clone(),
            },
            Layer::Flatten { .. } => LayerSpec::Flatten,
            Layer::Conv2D(l) => LayerSpec::Conv2D {
                filters: l.out_shape[2],
                kernel: l.kernel,
                strides: l.strides,
                padding: l.padding,
                activation: l.activation,
            },
            Layer::MaxPool2D(l) => LayerSpec::MaxPool2D {
                pool: l.pool,
                strides: l.strides,
            },
            Layer::Dense(l) => LayerSpec::Dense {
                units: l.units,
                activation: l.activation,
            },
            Layer::AvgPool2D(l) => LayerSpec::AvgPool2D {
                pool: l.pool,
                strides: l.strides,
                padding: l.padding,
            },
            Layer::DepthwiseConv2D(l) => LayerSpec::DepthwiseConv2D {
                kernel: l.kernel,
                depth_multiplier: l.depth_multiplier,
                strides: l.strides,
                padding: l.padding,
                activation: l.activation,
            },
            Layer::BatchNorm(l) => LayerSpec::BatchNorm {
                momentum: l.momentum,
                epsilon: l.epsilon,
            },
            Layer::Activation { activation, .. } => LayerSpec::Activation(*activation),
            Layer::Softmax { .. } => LayerSpec::Softmax,
            Layer::Dropout(l) => LayerSpec::Dropout { rate: l.rate },
        }
    }

    /// Per-sample output shape.
    pub fn out_shape(&self) -> Vec<usize> {
        match self {
            Layer::Reshape { out_shape } => out_shape.clone(),
            Layer::Flatten { out_len } => vec![*out_len],
            Layer::Conv2D(l) => l.out_shape.to_vec(),
            Layer::MaxPool2D(l) => l.out_shape.to_vec(),
            Layer::Dense(l) => vec![l.units],
            Layer::AvgPool2D(l) => l.out_shape.to_vec(),
            Layer::DepthwiseConv2D(l) => l.out_shape.to_vec(),
            Layer::BatchNorm(l) => l.shape.clone(),
            Layer::Activation { shape, .. } => shape.clone(),
            Layer::Softmax { classes } => vec![*classes],
            Layer::Dropout(l) => l.shape.clone(),
        }
    }

    /// True for layers that only reinterpret the shape (Reshape, Flatten): NHWC row-major data is
    /// already in Keras's and TFLite's flatten order, so their output is their input.
    pub fn is_view(&self) -> bool {
        matches!(self, Layer::Reshape { .. } | Layer::Flatten { .. })
    }

    /// True if the layer has trainable parameters.
    pub fn has_params(&self) -> bool {
        matches!(
            self,
            Layer::Conv2D(_) | Layer::Dense(_) | Layer::DepthwiseConv2D(_) | Layer::BatchNorm(_)
        )
    }

    /// Forward pass over `batch` samples; `output` is resized to fit. Conv caches its im2col matrix for
    /// `backward`. `training` selects batch statistics (BatchNorm) and random masks (Dropout); the
    /// other layers compute the same either way.
    pub fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>, training: bool) {
        match self {
            Layer::Reshape { .. } | Layer::Flatten { .. } => {
                output.clear();
                output.extend_from_slice(input);
            }
            Layer::Conv2D(l) => l.forward(input, batch, output),
            Layer::MaxPool2D(l) => l.forward(input, batch, output),
            Layer::Dense(l) => l.forward(input, batch, output),
            Layer::AvgPool2D(l) => l.forward(input, batch, output),
            Layer::DepthwiseConv2D(l) => l.forward(input, batch, output),
            Layer::BatchNorm(l) => l.forward(input, output, training),
            Layer::Activation { activation, .. } => {
                output.clear();
                output.extend_from_slice(input);
                activation.apply(output);
            }
            Layer::Softmax { classes } => elementwise::softmax(input, *classes, output),
            Layer::Dropout(l) => l.forward(input, output, training),
        }
    }

    /// Backward pass: set the parameter gradients from `d_out` (overwriting them: one batch per step)
    /// and, if `d_in` is given, write the gradient with respect to the input. `input` and `output` are
    /// this layer's last forward input and output; `d_out` may be modified (the ReLU mask is applied in
    /// place).
    pub fn backward(
        &mut self,
        input: &[f32],
        output: &[f32],
        d_out: &mut [f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        match self {
            Layer::Reshape { .. } | Layer::Flatten { .. } => {
                if let Some(d_in) = d_in {
                    d_in.clear();
                    d_in.extend_from_slice(d_out);
                }
            }
            Layer::Conv2D(l) => l.backward(output, d_out, batch, d_in),
            Layer::MaxPool2D(l) => l.backward(output, d_out, batch, d_in),
            Layer::Dense(l) => l.backward(input, output, d_out, batch, d_in),
            Layer::AvgPool2D(l) => l.backward(d_out, batch, d_in),
            Layer::DepthwiseConv2D(l) => l.backward(input, output, d_out, batch, d_in),
            Layer::BatchNorm(l) => l.backward(d_out, d_in),
            Layer::Activation { activation, .. } => {
                activation.mask(output, d_out);
                if let Some(d_in) = d_in {
                    d_in.clear();
                    d_in.extend_from_slice(d_out);
                }
            }
            Layer::Softmax { classes } => {
                if let Some(d_in) = d_in {
                    elementwise::softmax_backward(output, d_out, *classes, d_in);
                }
            }
            Layer::Dropout(l) => l.backward(d_out, d_in),
        }
    }

    /// (parameters, gradients) pairs, weights first.
    pub fn params_and_grads(&mut self) -> Vec<(&mut [f32], &[f32])> {
        match self {
            Layer::Conv2D(l) => vec![
                (&mut l.weights[..], &l.grad_weights[..]),
                (&mut l.bias[..], &l.grad_bias[..]),
            ],
            Layer::Dense(l) => vec![
                (&mut l.weights[..], &l.grad_weights[..]),
                (&mut l.bias[..], &l.grad_bias[..]),
            ],
            Layer::DepthwiseConv2D(l) => vec![
                (&mut l.weights[..], &l.grad_weights[..]),
                (&mut l.bias[..], &l.grad_bias[..]),
            ],
            // the moving statistics are not trained by the optimizer
            Layer::BatchNorm(l) => vec![
                (&mut l.gamma[..], &l.grad_gamma[..]),
                (&mut l.beta[..], &l.grad_beta[..]),
            ],
            _ => Vec::new(),
        }
    }
}
