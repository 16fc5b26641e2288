//! Float layers as forward/backward pairs over a batch.
//!
//! Legend: B batch, H/W height/width, C channels, O filters/units, KH/KW kernel size, R = B·OH·OW rows of
//! the im2col matrix, K = KH·KW·C its columns. Activations are NHWC row-major; conv weights OHWI
//! (`[O, KH, KW, C]`, i.e. an `O×K` matrix), dense weights `[O, in]`. Each layer caches what its backward
//! pass needs from the last forward pass.

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
    MaxPool2D { pool: [usize; 2], strides: [usize; 2] },
    /// (H, W, C) → H·W·C in row-major (NHWC) order, as Keras and TFLite RESHAPE do.
    Flatten,
    Dense { units: usize, activation: Activation },
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
    cols: Vec<f32>,
}

/// Max pooling (VALID padding), with the winning input index of each output kept for the backward pass.
#[derive(Clone, Debug)]
pub struct MaxPool2D {
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub pool: [usize; 2],
    pub strides: [usize; 2],
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
        _ => Err(bad(format!("{layer} needs a (height, width, channels) input, got {shape:?}"))),
    }
}

/// Output size and leading padding of one spatial dimension.
fn conv_out(input: usize, kernel: usize, stride: usize, padding: Padding) -> Option<(usize, usize)> {
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
        .ok_or_else(|| bad(format!("shape {dims:?} has too many elements (limit {MAX_ELEMENTS})")))
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
                Layer::Reshape { out_shape: shape.clone() }
            }
            LayerSpec::Flatten => Layer::Flatten { out_len: in_len },
            &LayerSpec::Conv2D { filters, kernel, strides, padding, activation } => {
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
                    cols: Vec::new(),
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
                    argmax: Vec::new(),
                })
            }
            &LayerSpec::Dense { units, activation } => {
                if in_shape.len() != 1 {
                    return Err(bad(format!("Dense needs a flat input (add Flatten), got {in_shape:?}")));
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
    pub fn backward(&mut self, input: &[f32], output: &[f32], d_out: &mut [f32], batch: usize, d_in: Option<&mut Vec<f32>>) {
        match self {
            Layer::Reshape { .. } | Layer::Flatten { .. } => {
                if let Some(d_in) = d_in {
                    d_in.clear();
                    d_in.extend_from_slice(d_out);
                }
            }
            Layer::Conv2D(l) => l.backward(output, d_out, batch, d_in),
            Layer::MaxPool2D(l) => l.backward(d_out, batch, d_in),
            Layer::Dense(l) => l.backward(input, output, d_out, batch, d_in),
        }
    }

    /// (parameters, gradients) pairs, weights first.
    pub fn params_and_grads(&mut self) -> Vec<(&mut [f32], &[f32])> {
        match self {
            Layer::Conv2D(l) => vec![(&mut l.weights[..], &l.grad_weights[..]), (&mut l.bias[..], &l.grad_bias[..])],
            Layer::Dense(l) => vec![(&mut l.weights[..], &l.grad_weights[..]), (&mut l.bias[..], &l.grad_bias[..])],
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

/// `c = a · bᵀ` (+ `c` if `accumulate`), with `a: m×k`, `b: n×k`, `c: m×n`, all row-major slices.
fn matmul_abt(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    let a = ArrayView2::from_shape((m, k), a).expect("a is m×k by construction");
    let b = ArrayView2::from_shape((n, k), b).expect("b is n×k by construction");
    let mut c = ArrayViewMut2::from_shape((m, n), c).expect("c is m×n by construction");
    general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c);
}

/// `c = aᵀ · b`, with `a: k×m`, `b: k×n`, `c: m×n`.
fn matmul_atb(a: &[f32], b: &[f32], c: &mut [f32], k: usize, m: usize, n: usize) {
    let a = ArrayView2::from_shape((k, m), a).expect("a is k×m by construction");
    let b = ArrayView2::from_shape((k, n), b).expect("b is k×n by construction");
    let mut c = ArrayViewMut2::from_shape((m, n), c).expect("c is m×n by construction");
    general_mat_mul(1.0, &a.t(), &b, 0.0, &mut c);
}

/// `c = aᵀ · bᵀ`, with `a: k×m`, `b: n×k`, `c: m×n`.
fn matmul_atbt(a: &[f32], b: &[f32], c: &mut [f32], k: usize, m: usize, n: usize) {
    let a = ArrayView2::from_shape((k, m), a).expect("a is k×m by construction");
    let b = ArrayView2::from_shape((n, k), b).expect("b is n×k by construction");
    let mut c = ArrayViewMut2::from_shape((m, n), c).expect("c is m×n by construction");
    general_mat_mul(1.0, &a.t(), &b.t(), 0.0, &mut c);
}

/// `c = a · b`, with `a: m×k`, `b: k×n`, `c: m×n`.
fn matmul_ab(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    let a = ArrayView2::from_shape((m, k), a).expect("a is m×k by construction");
    let b = ArrayView2::from_shape((k, n), b).expect("b is k×n by construction");
    let mut c = ArrayViewMut2::from_shape((m, n), c).expect("c is m×n by construction");
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
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
                    for (image, dst) in input.chunks_exact(h * w * c).zip(tap.chunks_exact_mut(oh * ow)) {
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
                                for (d, &v) in dst[lo..hi].iter_mut().zip(src[first..].iter().step_by(sw * c)) {
                                    *d = v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Fold `dcols` (R×K) back onto the input gradient (the adjoint of `im2col`).
    fn col2im(&self, dcols: &[f32], batch: usize, d_in: &mut Vec<f32>) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.strides;
        let [pt, pl] = self.pad;
        let k = self.k();
        d_in.clear();
        d_in.resize(batch * h * w * c, 0.0);
        let mut rows = dcols.chunks_exact(k);
        for image in d_in.chunks_exact_mut(h * w * c) {
            for out_y in 0..oh {
                for out_x in 0..ow {
                    let Some(row) = rows.next() else { return };
                    for filter_y in 0..kh {
                        let in_y = (out_y * sh + filter_y).wrapping_sub(pt);
                        if in_y >= h {
                            continue;
                        }
                        for filter_x in 0..kw {
                            let in_x = (out_x * sw + filter_x).wrapping_sub(pl);
                            if in_x >= w {
                                continue;
                            }
                            let dst = (in_y * w + in_x) * c;
                            let src = (filter_y * kw + filter_x) * c;
                            for (d, &g) in image[dst..dst + c].iter_mut().zip(&row[src..src + c]) {
                                *d += g;
                            }
                        }
                    }
                }
            }
        }
    }

    fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [oh, ow, o] = self.out_shape;
        let (r, k) = (batch * oh * ow, self.k());
        self.im2col(input, batch);
        output.resize(r * o, 0.0); // fully overwritten: the product ignores what was there
        // Y (R×O) = colsᵀ (R×K) · Wᵀ (K×O)
        matmul_atbt(&self.cols, &self.weights, output, k, r, o);
        add_bias_rows(output, &self.bias);
        if self.activation == Activation::Relu {
            relu_in_place(output);
        }
    }

    fn backward(&mut self, output: &[f32], d_out: &mut [f32], batch: usize, d_in: Option<&mut Vec<f32>>) {
        let [oh, ow, o] = self.out_shape;
        let (r, k) = (batch * oh * ow, self.k());
        if self.activation == Activation::Relu {
            relu_mask(output, d_out);
        }
        // dW (O×K) = dYᵀ (O×R) · colsᵀ (R×K);  db = Σ_rows dY
        matmul_atbt(d_out, &self.cols, &mut self.grad_weights, r, o, k);
        sum_rows(d_out, &mut self.grad_bias);
        if let Some(d_in) = d_in {
            // dcols (R×K) = dY (R×O) · W (O×K)
            let mut dcols = vec![0.0; r * k];
            matmul_ab(d_out, &self.weights, &mut dcols, r, o, k);
            self.col2im(&dcols, batch, d_in);
        }
    }
}

impl MaxPool2D {
    /// Max over each window, remembering in `argmax` which input element won (the first maximum in
    /// window order, as TensorFlow's MaxPoolGrad routes it). The per-channel updates are selects, so
    /// the channel loop vectorizes.
    fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [ph, pw] = self.pool;
        let [sh, sw] = self.strides;
        output.resize(batch * oh * ow * c, 0.0);
        self.argmax.resize(output.len(), 0);
        let mut outs = output.chunks_exact_mut(c).zip(self.argmax.chunks_exact_mut(c));
        for b in 0..batch {
            let image = b * h * w * c;
            for out_y in 0..oh {
                for out_x in 0..ow {
                    let Some((best, arg)) = outs.next() else { return };
                    best.fill(f32::NEG_INFINITY);
                    for filter_y in 0..ph {
                        for filter_x in 0..pw {
                            let i = image + ((out_y * sh + filter_y) * w + out_x * sw + filter_x) * c;
                            // equal-length slices let the compiler drop the bounds checks
                            let src = &input[i..i + c];
                            let (best, arg) = (&mut best[..c], &mut arg[..c]);
                            for ch in 0..c {
                                let v = src[ch];
                                // branch-free select: the winner is data-dependent, so a branch would
                                // mispredict half the time
                                let mask = 0u32.wrapping_sub((v > best[ch]) as u32);
                                arg[ch] ^= (arg[ch] ^ (i + ch) as u32) & mask;
                                best[ch] = f32::from_bits(best[ch].to_bits() ^ ((best[ch].to_bits() ^ v.to_bits()) & mask));
                            }
                        }
                    }
                }
            }
        }
    }

    fn backward(&self, d_out: &[f32], batch: usize, d_in: Option<&mut Vec<f32>>) {
        let Some(d_in) = d_in else { return };
        let [h, w, c] = self.in_shape;
        d_in.clear();
        d_in.resize(batch * h * w * c, 0.0);
        for (&g, &i) in d_out.iter().zip(&self.argmax) {
            if let Some(d) = d_in.get_mut(i as usize) {
                *d += g;
            }
        }
    }
}

impl Dense {
    fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        output.resize(batch * self.units, 0.0);
        matmul_abt(input, &self.weights, output, batch, self.inputs, self.units);
        add_bias_rows(output, &self.bias);
        if self.activation == Activation::Relu {
            relu_in_place(output);
        }
    }

    fn backward(&mut self, input: &[f32], output: &[f32], d_out: &mut [f32], batch: usize, d_in: Option<&mut Vec<f32>>) {
        if self.activation == Activation::Relu {
            relu_mask(output, d_out);
        }
        matmul_atb(d_out, input, &mut self.grad_weights, batch, self.units, self.inputs);
        sum_rows(d_out, &mut self.grad_bias);
        if let Some(d_in) = d_in {
            d_in.clear();
            d_in.resize(batch * self.inputs, 0.0);
            matmul_ab(d_out, &self.weights, d_in, batch, self.units, self.inputs);
        }
    }
}
