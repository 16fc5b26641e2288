//! The fully connected layer and its three products (forward, weight gradient, input gradient).

use super::Activation;
#[cfg(target_arch = "x86_64")]
use crate::cpu::{Avx2Fma, Avx512};
use crate::train::kernels;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::train::wasm_simd;
#[cfg(target_arch = "x86_64")]
use crate::train::{simd, simd512};

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

/// `out = x · wᵀ`, `x` batch×N, `w` U×N. This and the two gradient products below run, on x86-64 with
/// AVX-512 or else AVX2 and FMA, as direct vector kernels with the same bits either way (the matrices
/// are skinny: a general product would spend more time packing them than multiplying); on wasm with SIMD128 the forward and weight-gradient products
/// as direct SIMD128 kernels that sum in the general products' order (same bits); elsewhere as
/// general products.
fn forward_product(x: &[f32], w: &[f32], out: &mut [f32], batch: usize, n: usize, units: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx512::detect()
        && simd512::dense_forward(cpu, x, w, out, n, units)
    {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect()
        && simd::dense_forward(cpu, x, w, out, n, units)
    {
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    wasm_simd::dense_forward(x, w, out, batch, n, units);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    kernels::dense_forward(x, w, out, batch, n, units);
}

/// `gw = dᵀ · x`, `d` (the output gradient) batch×U.
fn weight_grad_product(d: &[f32], x: &[f32], gw: &mut [f32], batch: usize, n: usize, units: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx512::detect()
        && simd512::dense_weight_grad(cpu, d, x, gw, n, units)
    {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect()
        && simd::dense_weight_grad(cpu, d, x, gw, n, units)
    {
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    wasm_simd::dense_weight_grad(d, x, gw, batch, n, units);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    kernels::dense_weight_grad(d, x, gw, batch, n, units);
}

/// `dx = d · w`.
fn input_grad_product(d: &[f32], w: &[f32], dx: &mut [f32], batch: usize, n: usize, units: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx512::detect()
        && simd512::dense_input_grad(cpu, d, w, dx, n, units)
    {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect()
        && simd::dense_input_grad(cpu, d, w, dx, n, units)
    {
        return;
    }
    // on wasm too: matrixmultiply's own SIMD128 kernel (8×8 register tiles) beats the direct
    // SIMD128 kernel here (0.8–1.0× in bench/wasm_kernels.sh in builds whose layer called it), so
    // wasm_simd::dense_input_grad is not used
    kernels::dense_input_grad(d, w, dx, batch, n, units);
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
        forward_product(input, &self.weights, output, batch, self.inputs, self.units);
        add_bias_rows(output, &self.bias);
        match self.activation {
            Activation::Relu => relu_in_place(output),
            other => other.apply(output),
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
        match self.activation {
            Activation::Relu => relu_mask(output, d_out),
            other => other.mask(output, d_out),
        }
        let (n, units) = (self.inputs, self.units);
        weight_grad_product(d_out, input, &mut self.grad_weights, batch, n, units);
        sum_rows(d_out, &mut self.grad_bias);
        if let Some(d_in) = d_in {
            d_in.clear();
            d_in.resize(batch * self.inputs, 0.0);
            input_grad_product(d_out, &self.weights, d_in, batch, n, units);
        }
    }
}
