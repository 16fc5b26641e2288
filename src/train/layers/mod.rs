//! Float layers as forward/backward pairs over a batch: what a layer is ([`LayerSpec`]), its
//! instantiation for an input shape ([`Layer`]) and the dispatch to each kind, which lives in its own
//! file (conv.rs, pool.rs, dense.rs; fused.rs runs a conv and the max pool after it together).
//!
//! Legend: B batch, H/W height/width, C channels, O filters/units, KH/KW kernel size, R = B·OH·OW rows of
//! the im2col matrix, K = KH·KW·C its columns. Activations are NHWC row-major; conv weights OHWI
//! (`[O, KH, KW, C]`, i.e. an `O×K` matrix), dense weights `[O, in]`. Each layer caches what its backward
//! pass needs from the last forward pass.

mod conv;
mod dense;
mod fused;
mod pool;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;

pub use conv::Conv2D;
pub use dense::Dense;
pub(crate) use fused::ConvPool;
pub use pool::MaxPool2D;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Linear,
    Relu,
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
}

/// A layer instantiated for a known input shape.
#[derive(Clone, Debug)]
pub enum Layer {
    Reshape { out_shape: Vec<usize> },
    Conv2D(Conv2D),
    MaxPool2D(MaxPool2D),
    Flatten { out_len: usize },
    Dense(Dense),
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

    /// Per-sample output shape.
    pub fn out_shape(&self) -> Vec<usize> {
        match self {
            Layer::Reshape { out_shape } => out_shape.clone(),
            Layer::Flatten { out_len } => vec![*out_len],
            Layer::Conv2D(l) => l.out_shape.to_vec(),
            Layer::MaxPool2D(l) => l.out_shape.to_vec(),
            Layer::Dense(l) => vec![l.units],
        }
    }

    /// True for layers that only reinterpret the shape (Reshape, Flatten): NHWC row-major data is
    /// already in Keras's and TFLite's flatten order, so their output is their input.
    pub fn is_view(&self) -> bool {
        matches!(self, Layer::Reshape { .. } | Layer::Flatten { .. })
    }

    /// True if the layer has trainable parameters.
    pub fn has_params(&self) -> bool {
        matches!(self, Layer::Conv2D(_) | Layer::Dense(_))
    }

    /// Forward pass over `batch` samples; `output` is resized to fit. Conv caches its im2col matrix for
    /// `backward`.
    pub fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        match self {
            Layer::Reshape { .. } | Layer::Flatten { .. } => {
                output.clear();
                output.extend_from_slice(input);
            }
            Layer::Conv2D(l) => l.forward(input, batch, output),
            Layer::MaxPool2D(l) => l.forward(input, batch, output),
            Layer::Dense(l) => l.forward(input, batch, output),
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
            _ => Vec::new(),
        }
    }
}
