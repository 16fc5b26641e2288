//! The fully connected layer and its three products (forward, weight gradient, input gradient).

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use super::Activation;

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

/// A dense layer's three products, `x` batch×N, `w` U×N, `d` (output gradient) batch×U. On x86-64
/// with AVX2 and FMA they run as direct kernels (the matrices are skinny: a general product would spend
/// more time packing them than multiplying); elsewhere as general products.
mod product {
    use super::{Transpose, matmul};

    /// `out = x · wᵀ`.
    pub fn forward(x: &[f32], w: &[f32], out: &mut [f32], batch: usize, n: usize, units: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA, checked first.
        if super::super::avx2_fma()
            && unsafe { crate::train::simd::dense_forward(x, w, out, n, units) }
        {
            return;
        }
        matmul(Transpose::B, x, w, out, batch, n, units);
    }

    /// `gw = dᵀ · x`.
    pub fn weight_grad(d: &[f32], x: &[f32], gw: &mut [f32], batch: usize, n: usize, units: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA, checked first.
        if super::super::avx2_fma()
            && unsafe { crate::train::simd::dense_weight_grad(d, x, gw, n, units) }
        {
            return;
        }
        matmul(Transpose::A, d, x, gw, units, batch, n);
    }

    /// `dx = d · w`.
    pub fn input_grad(d: &[f32], w: &[f32], dx: &mut [f32], batch: usize, n: usize, units: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA, checked first.
        if super::super::avx2_fma()
            && unsafe { crate::train::simd::dense_input_grad(d, w, dx, n, units) }
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

impl Dense {
    pub(super) fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        output.resize(batch * self.units, 0.0);
        product::forward(input, &self.weights, output, batch, self.inputs, self.units);
        add_bias_rows(output, &self.bias);
        if self.activation == Activation::Relu {
            relu_in_place(output);
        }
    }

    pub(super) fn backward(
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
        product::weight_grad(d_out, input, &mut self.grad_weights, batch, n, units);
        sum_rows(d_out, &mut self.grad_bias);
        if let Some(d_in) = d_in {
            d_in.clear();
            d_in.resize(batch * self.inputs, 0.0);
            product::input_grad(d_out, &self.weights, d_in, batch, n, units);
        }
    }
}
