//! Float layers as forward/backward pairs over a batch.
//!
//! Legend: B batch, H/W height/width, C channels, O filters/units, KH/KW kernel size, R = B·OH·OW rows of
//! the im2col matrix, K = KH·KW·C its columns. Activations are NHWC row-major; conv weights OHWI
//! (`[O, KH, KW, C]`, i.e. an `O×K` matrix), dense weights `[O, in]`. Each layer caches what its backward
//! pass needs from the last forward pass.

use std::hint::select_unpredictable;

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;

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

/// A 2-D convolution with its parameters, gradients and forward cache.
#[derive(Clone, Debug)]
pub struct Conv2D {
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub padding: Padding,
    /// Zero rows above / columns left of the input (SAME padding).
    pub pad: [usize; 2],
    pub activation: Activation,
    /// OHWI, `O×K`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub grad_weights: Vec<f32>,
    pub grad_bias: Vec<f32>,
    /// Write the output as O channel planes per image instead of NHWC (set when the next layer is a
    /// max pool that reads planes).
    pub(crate) planar_output: bool,
    /// The max pool after this conv zeroes the gradient where our ReLU output was not positive.
    pub(crate) pool_masks_relu: bool,
    cols: Vec<f32>,
    scratch: Vec<f32>,
}

/// Max pooling (VALID padding), with the winning input index of each output kept for the backward pass.
#[derive(Clone, Debug)]
pub struct MaxPool2D {
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub pool: [usize; 2],
    pub strides: [usize; 2],
    /// The input comes as channel planes per image (see [`Conv2D::planar_output`]).
    pub(crate) planar_input: bool,
    /// The input is a ReLU's output: a window whose maximum is not positive passes no gradient (the
    /// ReLU would block it), so the conv before can use this layer's input gradient as is.
    pub(crate) relu_input: bool,
    /// Per output, the index of the input element that won its window; in output (NHWC) order, or in
    /// plane order (`[N][C][OH][OW]`) when the input is planar.
    argmax: Vec<u32>,
}

/// A fully connected layer.
#[derive(Clone, Debug)]
pub struct Dense {
    pub inputs: usize,
    pub units: usize,
    pub activation: Activation,
    /// `[units, inputs]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub grad_weights: Vec<f32>,
    pub grad_bias: Vec<f32>,
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

fn relu_in_place(x: &mut [f32]) {
    for v in x {
        *v = if *v > 0.0 { *v } else { 0.0 };
    }
}

/// Zero the gradient where the ReLU output was not positive.
fn relu_mask(output: &[f32], d: &mut [f32]) {
    for (g, &y) in d.iter_mut().zip(output) {
        *g = if y > 0.0 { *g } else { 0.0 }; // a select, so the loop vectorizes
    }
}

/// Which operand of [`matmul`] is used transposed.
#[derive(Clone, Copy)]
enum Transpose {
    /// `c = a · bᵀ` with `a: m×k`, `b: n×k`.
    B,
    /// `c = aᵀ · b` with `a: k×m`, `b: k×n`.
    A,
    /// `c = a · b` with `a: m×k`, `b: k×n`.
    Neither,
}

/// `c (m×n) = a · b` with one operand transposed as `t` says; all row-major slices. The layers size
/// every buffer from the same shapes, so the views always fit; if they ever did not (a bug), the
/// product is skipped (debug builds stop) rather than panicking in the browser.
fn matmul(t: Transpose, a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    let (a_shape, b_shape) = match t {
        Transpose::B => ((m, k), (n, k)),
        Transpose::A => ((k, m), (k, n)),
        Transpose::Neither => ((m, k), (k, n)),
    };
    let (Ok(a), Ok(b), Ok(mut c)) = (
        ArrayView2::from_shape(a_shape, a),
        ArrayView2::from_shape(b_shape, b),
        ArrayViewMut2::from_shape((m, n), c),
    ) else {
        debug_assert!(false, "matmul operands do not fit {m}×{k}×{n}");
        return;
    };
    match t {
        Transpose::B => general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c),
        Transpose::A => general_mat_mul(1.0, &a.t(), &b, 0.0, &mut c),
        Transpose::Neither => general_mat_mul(1.0, &a, &b, 0.0, &mut c),
    }
}

/// Whether the CPU has AVX2 and FMA (the standard library caches the answer).
#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// A dense layer's three products, `x` batch×N, `w` U×N, `d` (output gradient) batch×U. On x86-64
/// with AVX2 and FMA they run as direct kernels (the matrices are skinny: a general product would spend
/// more time packing them than multiplying); elsewhere as general products.
mod dense {
    use super::{Transpose, matmul};

    /// `out = x · wᵀ`.
    pub fn forward(x: &[f32], w: &[f32], out: &mut [f32], batch: usize, n: usize, units: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA, checked first.
        if super::avx2_fma() && unsafe { crate::train::simd::dense_forward(x, w, out, n, units) } {
            return;
        }
        matmul(Transpose::B, x, w, out, batch, n, units);
    }

    /// `gw = dᵀ · x`.
    pub fn weight_grad(d: &[f32], x: &[f32], gw: &mut [f32], batch: usize, n: usize, units: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA, checked first.
        if super::avx2_fma() && unsafe { crate::train::simd::dense_weight_grad(d, x, gw, n, units) }
        {
            return;
        }
        matmul(Transpose::A, d, x, gw, units, batch, n);
    }

    /// `dx = d · w`.
    pub fn input_grad(d: &[f32], w: &[f32], dx: &mut [f32], batch: usize, n: usize, units: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA, checked first.
        if super::avx2_fma() && unsafe { crate::train::simd::dense_input_grad(d, w, dx, n, units) }
        {
            return;
        }
        matmul(Transpose::Neither, d, w, dx, batch, units, n);
    }
}

fn add_bias_rows(y: &mut [f32], bias: &[f32]) {
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

fn sum_rows(d: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    for row in d.chunks_exact(out.len()) {
        for (o, &g) in out.iter_mut().zip(row) {
            *o += g;
        }
    }
}

impl Conv2D {
    fn k(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.in_shape[2]
    }

    /// Unfold the input into `cols`, stored transposed as a K×R matrix: row (filter_y, filter_x, c) holds
    /// that tap's input value for every output position (b, out_y, out_x), zero where the tap hangs
    /// over the edge. K-major order turns the copies into runs of `OW` values (contiguous when stride
    /// and channels are 1), instead of one tiny copy per output position.
    fn im2col(&mut self, input: &[f32], batch: usize) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.strides;
        let [pt, pl] = self.pad;
        let r = batch * oh * ow;
        self.cols.resize(self.k() * r, 0.0);
        let mut taps = self.cols.chunks_exact_mut(r);
        for filter_y in 0..kh {
            for filter_x in 0..kw {
                for ch in 0..c {
                    let Some(tap) = taps.next() else { return };
                    for (image, dst) in input
                        .chunks_exact(h * w * c)
                        .zip(tap.chunks_exact_mut(oh * ow))
                    {
                        for (out_y, dst) in dst.chunks_exact_mut(ow).enumerate() {
                            let in_y = (out_y * sh + filter_y).wrapping_sub(pt);
                            if in_y >= h {
                                dst.fill(0.0); // padding row
                                continue;
                            }
                            let src = &image[in_y * w * c..(in_y + 1) * w * c];
                            // out_x in [lo, hi) reads inside the row; the rest is padding
                            let lo = pl.saturating_sub(filter_x).div_ceil(sw).min(ow);
                            let hi = ((w + pl).saturating_sub(filter_x).div_ceil(sw)).clamp(lo, ow);
                            dst[..lo].fill(0.0);
                            dst[hi..].fill(0.0);
                            let first = (lo * sw + filter_x - pl) * c + ch;
                            if sw == 1 && c == 1 {
                                dst[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                            } else {
                                for (d, &v) in dst[lo..hi]
                                    .iter_mut()
                                    .zip(src[first..].iter().step_by(sw * c))
                                {
                                    *d = v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Add `dcols` (K×R, the layout of `cols`) back onto the input gradient: the adjoint of `im2col`.
    fn col2im(&self, dcols: &[f32], batch: usize, d_in: &mut [f32]) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.strides;
        let [pt, pl] = self.pad;
        let mut taps = dcols.chunks_exact(batch * oh * ow);
        for filter_y in 0..kh {
            for filter_x in 0..kw {
                for ch in 0..c {
                    let Some(tap) = taps.next() else { return };
                    for (image, src) in d_in
                        .chunks_exact_mut(h * w * c)
                        .zip(tap.chunks_exact(oh * ow))
                    {
                        for (out_y, src) in src.chunks_exact(ow).enumerate() {
                            let in_y = (out_y * sh + filter_y).wrapping_sub(pt);
                            if in_y >= h {
                                continue;
                            }
                            for (out_x, &g) in src.iter().enumerate() {
                                let in_x = (out_x * sw + filter_x).wrapping_sub(pl);
                                if in_x < w {
                                    image[(in_y * w + in_x) * c + ch] += g;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [oh, ow, o] = self.out_shape;
        let positions = oh * ow;
        self.im2col(input, batch);
        output.resize(batch * positions * o, 0.0); // fully overwritten
        let relu = self.activation == Activation::Relu;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(if self.planar_output { 0 } else { positions * o }, 0.0);
        for (b, out) in output.chunks_exact_mut(positions * o).enumerate() {
            let planes: &mut [f32] = if self.planar_output {
                out
            } else {
                &mut scratch
            };
            kernels::conv_forward_image(
                &self.cols,
                b,
                positions,
                &self.weights,
                &self.bias,
                relu,
                planes,
            );
            if !self.planar_output {
                kernels::planes_to_nhwc(&scratch, positions, out);
            }
        }
        self.scratch = scratch;
    }

    fn backward(
        &mut self,
        output: &[f32],
        d_out: &[f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        let [oh, ow, o] = self.out_shape;
        let size = oh * ow * o;
        let relu = self.activation == Activation::Relu;
        let planar = self.planar_output;
        self.backward_planes(batch, d_in, |b, d_planes| {
            let images = b * size..(b + 1) * size;
            let (Some(y), Some(dy)) = (output.get(images.clone()), d_out.get(images)) else {
                return;
            };
            // dY of this image as channel planes, zero where the ReLU was off
            if planar {
                kernels::mask_planes(y, dy, relu, d_planes);
            } else {
                kernels::nhwc_to_masked_planes(y, dy, o, relu, d_planes);
            }
        });
    }

    /// The weight and bias gradients, and the input gradient if `d_in` is given, from the output
    /// gradient of each image as O channel planes, which `image_grad(b, planes)` writes (over zeros).
    fn backward_planes(
        &mut self,
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
        mut image_grad: impl FnMut(usize, &mut [f32]),
    ) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, o] = self.out_shape;
        let positions = oh * ow;
        let k = self.k();
        let mut acc = kernels::GradAccumulator::new(o, k);
        let mut dcols = match d_in {
            Some(_) => vec![0.0; k * batch * positions],
            None => Vec::new(),
        };
        let mut d_planes = std::mem::take(&mut self.scratch);
        for b in 0..batch {
            d_planes.clear();
            d_planes.resize(positions * o, 0.0);
            image_grad(b, &mut d_planes);
            acc.add_image(&self.cols, b, positions, &d_planes);
            if !dcols.is_empty() {
                kernels::dcols_image(&self.weights, &d_planes, b, positions, &mut dcols);
            }
        }
        acc.finish(&mut self.grad_weights, &mut self.grad_bias);
        self.scratch = d_planes;
        if let Some(d_in) = d_in {
            d_in.clear();
            d_in.resize(batch * h * w * c, 0.0);
            self.col2im(&dcols, batch, d_in);
        }
    }
}

/// The convolution's arithmetic on the im2col matrix `cols` (K×R, R = B·P positions, see
/// [`Conv2D::im2col`]), one image at a time in channel-major form: image `b`'s output is O planes of P
/// positions, each `bias + Σ_k w[oc, k] · cols[k, b·P..(b+1)·P]`. Every inner loop runs over
/// contiguous positions and vectorizes; one image's planes and its slice of `cols` stay in cache.
/// Sums over positions use `LANES` independent partial sums in a fixed order, so results do not depend
/// on the vector width the compiler picks. On x86-64 the hot loops are also compiled for AVX2 and
/// chosen at run time, with fused multiply-adds (one rounding instead of two), so results differ in
/// the last bits between CPUs with and without FMA; on one machine they are reproducible.
mod kernels {
    /// Independent partial sums in reductions (one 8-float vector).
    const LANES: usize = 8;

    /// Planes of image `b`: `planes[oc·P + p] = relu?(bias[oc] + Σ_k weights[oc·K + k] · cols[k·R + b·P + p])`.
    pub fn conv_forward_image(
        cols: &[f32],
        b: usize,
        p: usize,
        weights: &[f32],
        bias: &[f32],
        relu: bool,
        planes: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if super::avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked on the line above.
            let (oc_done, p_done) = unsafe {
                crate::train::simd::conv_forward(cols, b, p, weights, bias, relu, planes)
            };
            forward_rest(cols, b, p, weights, bias, relu, planes, oc_done, p_done);
            return;
        }
        forward_body(cols, b, p, weights, bias, relu, planes)
    }

    /// Plane values the vector tiles did not cover: channels `oc_done..` at every position, and
    /// positions `p_done..` of the other channels.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    fn forward_rest(
        cols: &[f32],
        b: usize,
        p: usize,
        weights: &[f32],
        bias: &[f32],
        relu: bool,
        planes: &mut [f32],
        oc_done: usize,
        p_done: usize,
    ) {
        let o = bias.len();
        let k = weights.len() / o;
        let r = cols.len() / k;
        for oc in 0..o {
            let start = if oc < oc_done { p_done } else { 0 };
            for q in start..p {
                let mut a = bias[oc];
                for kk in 0..k {
                    a += weights[oc * k + kk] * cols[kk * r + b * p + q];
                }
                planes[oc * p + q] = if relu && a <= 0.0 { 0.0 } else { a };
            }
        }
    }

    /// Output channels per register tile.
    const OC_TILE: usize = 4;
    /// Positions per register tile (one 8-float vector).
    const P_TILE: usize = 8;

    #[inline(always)]
    fn forward_body(
        cols: &[f32],
        b: usize,
        p: usize,
        weights: &[f32],
        bias: &[f32],
        relu: bool,
        planes: &mut [f32],
    ) {
        let o = bias.len();
        let k = weights.len() / o;
        let r = cols.len() / k;
        let taps: Vec<&[f32]> = cols
            .chunks_exact(r)
            .map(|t| &t[b * p..(b + 1) * p])
            .collect();
        let mut oc = 0;
        // Register tiles: OC_TILE channels × P_TILE positions of accumulators stay in registers while
        // all K taps are added, so each input vector is loaded once per tile of channels.
        while oc + OC_TILE <= o {
            let w: [&[f32]; OC_TILE] =
                std::array::from_fn(|t| &weights[(oc + t) * k..(oc + t + 1) * k]);
            let mut pos = 0;
            while pos + P_TILE <= p {
                let mut acc = [[0.0f32; P_TILE]; OC_TILE];
                for t in 0..OC_TILE {
                    acc[t] = [bias[oc + t]; P_TILE];
                }
                for (kk, tap) in taps.iter().enumerate() {
                    let x: &[f32; P_TILE] = tap[pos..pos + P_TILE]
                        .as_chunks()
                        .0
                        .first()
                        .unwrap_or(&[0.0; P_TILE]);
                    for t in 0..OC_TILE {
                        let wv = w[t][kk];
                        for j in 0..P_TILE {
                            acc[t][j] += wv * x[j];
                        }
                    }
                }
                for t in 0..OC_TILE {
                    if relu {
                        for a in acc[t].iter_mut() {
                            *a = if *a > 0.0 { *a } else { 0.0 };
                        }
                    }
                    planes[(oc + t) * p + pos..(oc + t) * p + pos + P_TILE]
                        .copy_from_slice(&acc[t]);
                }
                pos += P_TILE;
            }
            // the positions left over after whole tiles
            for t in 0..OC_TILE {
                for q in pos..p {
                    let mut a = bias[oc + t];
                    for (kk, tap) in taps.iter().enumerate() {
                        a += w[t][kk] * tap[q];
                    }
                    planes[(oc + t) * p + q] = if relu && a < 0.0 { 0.0 } else { a };
                }
            }
            oc += OC_TILE;
        }
        // channels left over after whole tiles: one plane at a time
        for oc in oc..o {
            let plane = &mut planes[oc * p..(oc + 1) * p];
            plane.fill(bias[oc]);
            for (&wv, tap) in weights[oc * k..(oc + 1) * k].iter().zip(&taps) {
                for (acc, &x) in plane.iter_mut().zip(tap.iter()) {
                    *acc += wv * x;
                }
            }
            if relu {
                for acc in plane.iter_mut() {
                    *acc = if *acc > 0.0 { *acc } else { 0.0 };
                }
            }
        }
    }

    /// O planes of P → P rows of O (NHWC).
    pub fn planes_to_nhwc(planes: &[f32], p: usize, out: &mut [f32]) {
        let o = planes.len() / p;
        for (oc, plane) in planes.chunks_exact(p).enumerate() {
            for (i, &v) in plane.iter().enumerate() {
                out[i * o + oc] = v;
            }
        }
    }

    /// Copy dY planes, zeroed where the output was not positive (ReLU).
    pub fn mask_planes(y: &[f32], dy: &[f32], relu: bool, d_planes: &mut [f32]) {
        for ((d, &g), &y) in d_planes.iter_mut().zip(dy).zip(y) {
            *d = if relu && y <= 0.0 { 0.0 } else { g };
        }
    }

    /// NHWC dY (P rows of O) → masked O planes.
    pub fn nhwc_to_masked_planes(
        y: &[f32],
        dy: &[f32],
        o: usize,
        relu: bool,
        d_planes: &mut [f32],
    ) {
        let p = d_planes.len() / o;
        for (i, (dy, y)) in dy.chunks_exact(o).zip(y.chunks_exact(o)).enumerate() {
            for (oc, (&g, &y)) in dy.iter().zip(y).enumerate() {
                d_planes[oc * p + i] = if relu && y <= 0.0 { 0.0 } else { g };
            }
        }
    }

    /// dcols[k, b·P + p] = Σ_oc w[oc, k] · dY[oc, p] (for the input gradient of a conv that needs one).
    pub fn dcols_image(weights: &[f32], d_planes: &[f32], b: usize, p: usize, dcols: &mut [f32]) {
        let o = d_planes.len() / p;
        let k = weights.len() / o;
        let r = dcols.len() / k;
        for (kk, dst) in dcols.chunks_exact_mut(r).enumerate() {
            let dst = &mut dst[b * p..(b + 1) * p];
            for (oc, d) in d_planes.chunks_exact(p).enumerate() {
                let wv = weights[oc * k + kk];
                for (x, &g) in dst.iter_mut().zip(d) {
                    *x += wv * g;
                }
            }
        }
    }

    /// Partial sums of the weight and bias gradients, `LANES` per entry.
    pub struct GradAccumulator {
        o: usize,
        k: usize,
        weights: Vec<[f32; LANES]>,
        bias: Vec<[f32; LANES]>,
    }

    impl GradAccumulator {
        pub fn new(o: usize, k: usize) -> GradAccumulator {
            GradAccumulator {
                o,
                k,
                weights: vec![[0.0; LANES]; o * k],
                bias: vec![[0.0; LANES]; o],
            }
        }

        /// dW[oc, k] += Σ_p dY[oc, p] · cols[k, b·P + p];  db[oc] += Σ_p dY[oc, p].
        pub fn add_image(&mut self, cols: &[f32], b: usize, p: usize, d_planes: &[f32]) {
            #[cfg(target_arch = "x86_64")]
            if super::avx2_fma() {
                // SAFETY: the CPU supports AVX2 and FMA, checked on the line above.
                let done = unsafe {
                    crate::train::simd::conv_weight_grad(
                        cols,
                        b,
                        p,
                        d_planes,
                        &mut self.weights,
                        &mut self.bias,
                    )
                };
                self.add_rest(cols, b, p, d_planes, done);
                return;
            }
            self.add_rest(cols, b, p, d_planes, (0, 0, 0))
        }

        /// The bias and weight sums the vector tiles did not cover (`done` = the channels, taps and
        /// positions they did; all of them without the vector kernel).
        fn add_rest(
            &mut self,
            cols: &[f32],
            b: usize,
            p: usize,
            d_planes: &[f32],
            (oc_done, k_done, p_done): (usize, usize, usize),
        ) {
            let (o, k) = (self.o, self.k);
            let r = cols.len() / k;
            for (oc, d) in d_planes.chunks_exact(p).take(o).enumerate() {
                // the vector kernel summed the bias over its positions along with the first tap tile
                let bias_start = if oc < oc_done && k_done > 0 {
                    p_done
                } else {
                    0
                };
                let (chunks, tail) = d[bias_start..].as_chunks::<LANES>();
                let mut lanes = self.bias[oc];
                for c in chunks {
                    for j in 0..LANES {
                        lanes[j] += c[j];
                    }
                }
                for (j, &g) in tail.iter().enumerate() {
                    lanes[j] += g;
                }
                self.bias[oc] = lanes;
                for kk in 0..k {
                    let start = if oc < oc_done && kk < k_done {
                        p_done
                    } else {
                        0
                    };
                    let x = &cols[kk * r + b * p..kk * r + (b + 1) * p];
                    let (d_chunks, d_tail) = d[start..].as_chunks::<LANES>();
                    let (x_chunks, x_tail) = x[start..].as_chunks::<LANES>();
                    let mut lanes = self.weights[oc * k + kk];
                    for (dc, xc) in d_chunks.iter().zip(x_chunks) {
                        for j in 0..LANES {
                            lanes[j] += dc[j] * xc[j];
                        }
                    }
                    for (j, (&g, &v)) in d_tail.iter().zip(x_tail).enumerate() {
                        lanes[j] += g * v;
                    }
                    self.weights[oc * k + kk] = lanes;
                }
            }
        }

        pub fn finish(&self, grad_weights: &mut [f32], grad_bias: &mut [f32]) {
            for (g, lanes) in grad_weights.iter_mut().zip(&self.weights) {
                *g = lanes.iter().sum();
            }
            for (g, lanes) in grad_bias.iter_mut().zip(&self.bias) {
                *g = lanes.iter().sum();
            }
        }
    }
}

impl MaxPool2D {
    /// Max over each window, remembering in `argmax` which input element won (the first maximum in
    /// window order, as TensorFlow's MaxPoolGrad routes it). The input is NHWC, or channel planes per
    /// image when `planar_input` (a conv just before writes them, which saves a transpose). The output
    /// is NHWC either way.
    fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        output.resize(batch * oh * ow * c, 0.0);
        self.argmax.resize(output.len(), 0);
        if self.planar_input {
            let mut argmax = std::mem::take(&mut self.argmax);
            self.pool_planes(input, batch, output, &mut argmax);
            self.argmax = argmax;
            return;
        }
        let [ph, pw] = self.pool;
        let [sh, sw] = self.strides;
        let mut outs = output
            .chunks_exact_mut(c)
            .zip(self.argmax.chunks_exact_mut(c));
        for b in 0..batch {
            let image = b * h * w * c;
            for out_y in 0..oh {
                for out_x in 0..ow {
                    let Some((best, arg)) = outs.next() else {
                        return;
                    };
                    best.fill(f32::NEG_INFINITY);
                    for filter_y in 0..ph {
                        for filter_x in 0..pw {
                            let i =
                                image + ((out_y * sh + filter_y) * w + out_x * sw + filter_x) * c;
                            let (src, best, arg) =
                                (&input[i..i + c], &mut best[..c], &mut arg[..c]);
                            for ch in 0..c {
                                let v = src[ch];
                                // the winner is data-dependent: ask for a select, not a branch
                                let better = v > best[ch];
                                best[ch] = select_unpredictable(better, v, best[ch]);
                                arg[ch] = select_unpredictable(better, (i + ch) as u32, arg[ch]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Pool `batch` images of channel planes into NHWC `output`; `argmax`, in plane order, indexes
    /// `input`.
    fn pool_planes(&self, input: &[f32], batch: usize, output: &mut [f32], argmax: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        if self.pool == [2, 2]
            && self.strides == [2, 2]
            && std::arch::is_x86_feature_detected!("avx2")
        {
            let [h, w, c] = self.in_shape;
            // SAFETY: the CPU supports AVX2, checked on the line above.
            let done = unsafe {
                crate::train::simd::max_pool_2x2_planes(input, batch * c, h, w, c, output, argmax)
            };
            if done {
                return;
            }
        }
        self.forward_planes(input, batch, output, argmax);
    }

    /// The same over channel planes: each output row of one plane is computed for all `out_x` at once,
    /// window element by window element, so the loops run along a row and vectorize.
    fn forward_planes(&self, input: &[f32], batch: usize, output: &mut [f32], argmax: &mut [u32]) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [ph, pw] = self.pool;
        let [sh, sw] = self.strides;
        let mut best = vec![0.0f32; ow];
        let mut arg = vec![0u32; ow];
        for (plane_index, plane) in input.chunks_exact(h * w).take(batch * c).enumerate() {
            let (b, ch) = (plane_index / c, plane_index % c);
            let plane_start = (plane_index * h * w) as u32;
            for out_y in 0..oh {
                if [ph, pw, sh, sw] == [2, 2, 2, 2] {
                    // the common 2×2/2 pool: each window is a pair from two adjacent rows
                    let top_start = 2 * out_y * w;
                    let top = plane[top_start..top_start + 2 * ow].as_chunks::<2>().0;
                    let bottom = plane[top_start + w..top_start + w + 2 * ow]
                        .as_chunks::<2>()
                        .0;
                    let first = plane_start + top_start as u32;
                    for (out_x, ((t, b), (m, a))) in top
                        .iter()
                        .zip(bottom)
                        .zip(best.iter_mut().zip(arg.iter_mut()))
                        .enumerate()
                    {
                        let at = first + 2 * out_x as u32;
                        let (mut mv, mut ma) = (t[0], at);
                        for (v, i) in [
                            (t[1], at + 1),
                            (b[0], at + w as u32),
                            (b[1], at + w as u32 + 1),
                        ] {
                            let better = v > mv;
                            mv = select_unpredictable(better, v, mv);
                            ma = select_unpredictable(better, i, ma);
                        }
                        (*m, *a) = (mv, ma);
                    }
                } else {
                    best.fill(f32::NEG_INFINITY);
                    for filter_y in 0..ph {
                        let row_start = (out_y * sh + filter_y) * w;
                        let row = &plane[row_start..row_start + w];
                        for filter_x in 0..pw {
                            let first = plane_start + (row_start + filter_x) as u32;
                            let (best, arg) = (&mut best[..ow], &mut arg[..ow]);
                            for out_x in 0..ow {
                                let v = row[out_x * sw + filter_x];
                                // the winner is data-dependent: ask for a select, not a branch
                                let better = v > best[out_x];
                                best[out_x] = select_unpredictable(better, v, best[out_x]);
                                arg[out_x] = select_unpredictable(
                                    better,
                                    first + (out_x * sw) as u32,
                                    arg[out_x],
                                );
                            }
                        }
                    }
                }
                let o = (b * oh + out_y) * ow * c + ch;
                for (out_x, &m) in best.iter().enumerate() {
                    output[o + out_x * c] = m;
                }
                argmax[(plane_index * oh + out_y) * ow..][..ow].copy_from_slice(&arg);
            }
        }
    }

    fn backward(&self, output: &[f32], d_out: &[f32], batch: usize, d_in: Option<&mut Vec<f32>>) {
        let Some(d_in) = d_in else { return };
        let [h, w, c] = self.in_shape;
        d_in.clear();
        d_in.resize(batch * h * w * c, 0.0);
        self.route(output, d_out, &self.argmax, d_in);
    }

    /// Add each output's gradient to the input element that won its window (`argmax` indexes `d_in`).
    fn route(&self, output: &[f32], d_out: &[f32], argmax: &[u32], d_in: &mut [f32]) {
        let mut add = |g: f32, y: f32, i: u32| {
            // whether a window passes its gradient depends on the data: a select, not a branch
            let g = select_unpredictable(self.relu_input && y <= 0.0, 0.0, g);
            if let Some(d) = d_in.get_mut(i as usize) {
                *d += g;
            }
        };
        if !self.planar_input {
            for ((&g, &i), &y) in d_out.iter().zip(argmax).zip(output) {
                add(g, y, i);
            }
            return;
        }
        let [oh, ow, c] = self.out_shape;
        let p = oh * ow;
        for (plane, args) in argmax.chunks_exact(p.max(1)).enumerate() {
            let (b, ch) = (plane / c, plane % c);
            for (pos, &i) in args.iter().enumerate() {
                let j = (b * p + pos) * c + ch;
                if let (Some(&g), Some(&y)) = (d_out.get(j), output.get(j)) {
                    add(g, y, i);
                }
            }
        }
    }
}

/// A conv whose ReLU output feeds a max pool, run one image at a time through both layers: the
/// image's conv planes (P·O values) stay in the first-level cache between the conv and the pool, and the
/// batch's conv output is never stored. The backward pass likewise routes the pool's gradient into one
/// image's planes and hands them to the conv's gradient at once. Same arithmetic, in the same order, as
/// the two layers run one after the other.
pub(crate) struct ConvPool<'a> {
    pub conv: &'a mut Conv2D,
    pub pool: &'a mut MaxPool2D,
}

impl ConvPool<'_> {
    /// Whether the pair can run fused: a planar conv whose ReLU gradient the pool applies.
    pub fn fits(conv: &Conv2D, pool: &MaxPool2D) -> bool {
        conv.planar_output && conv.pool_masks_relu && pool.planar_input
    }

    pub fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let ConvPool { conv, pool } = self;
        let [oh, ow, o] = conv.out_shape;
        let positions = oh * ow;
        let pooled = pool.out_shape.iter().product::<usize>();
        conv.im2col(input, batch);
        output.resize(batch * pooled, 0.0); // fully overwritten
        let mut argmax = std::mem::take(&mut pool.argmax);
        argmax.resize(output.len(), 0);
        let relu = conv.activation == Activation::Relu;
        let mut planes = std::mem::take(&mut conv.scratch);
        planes.resize(positions * o, 0.0);
        for (b, (out, arg)) in output
            .chunks_exact_mut(pooled)
            .zip(argmax.chunks_exact_mut(pooled))
            .enumerate()
        {
            kernels::conv_forward_image(
                &conv.cols,
                b,
                positions,
                &conv.weights,
                &conv.bias,
                relu,
                &mut planes,
            );
            // argmax indexes this image's planes
            pool.pool_planes(&planes, 1, out, arg);
        }
        pool.argmax = argmax;
        conv.scratch = planes;
    }

    /// The pool's and the conv's backward passes; `output` and `d_out` are the pool's.
    pub fn backward(
        &mut self,
        output: &[f32],
        d_out: &[f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        let ConvPool { conv, pool } = self;
        let pooled = pool.out_shape.iter().product::<usize>();
        let argmax = &pool.argmax;
        conv.backward_planes(batch, d_in, |b, d_planes| {
            let images = b * pooled..(b + 1) * pooled;
            if let (Some(y), Some(dy), Some(arg)) = (
                output.get(images.clone()),
                d_out.get(images.clone()),
                argmax.get(images),
            ) {
                // argmax indexes this image's planes
                pool.route(y, dy, arg, d_planes);
            }
        });
    }
}

impl Dense {
    fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        output.resize(batch * self.units, 0.0);
        dense::forward(input, &self.weights, output, batch, self.inputs, self.units);
        add_bias_rows(output, &self.bias);
        if self.activation == Activation::Relu {
            relu_in_place(output);
        }
    }

    fn backward(
        &mut self,
        input: &[f32],
        output: &[f32],
        d_out: &mut [f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        if self.activation == Activation::Relu {
            relu_mask(output, d_out);
        }
        let (n, units) = (self.inputs, self.units);
        dense::weight_grad(d_out, input, &mut self.grad_weights, batch, n, units);
        sum_rows(d_out, &mut self.grad_bias);
        if let Some(d_in) = d_in {
            d_in.clear();
            d_in.resize(batch * self.inputs, 0.0);
            dense::input_grad(d_out, &self.weights, d_in, batch, n, units);
        }
    }
}
