//! The 2-D convolution layer: im2col into a K×R matrix, then per image the forward planes, the weight
//! and bias gradient sums and the input gradient. The forward and weight-gradient arithmetic runs in
//! the AVX-512 kernels of simd512/ where the CPU has them, else in the AVX2 kernels of simd.rs (the
//! two give the same bits), on wasm in the SIMD128 kernels of wasm_simd/, else in their portable
//! twins in kernels.rs.

use super::{Activation, Padding};
#[cfg(target_arch = "x86_64")]
use crate::cpu::{Avx2Fma, Avx512};
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use crate::train::kernels;
use crate::train::kernels::LANES;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::train::wasm_simd;
#[cfg(target_arch = "x86_64")]
use crate::train::{simd, simd512};

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
    pub(super) cols: Vec<f32>,
    pub(super) scratch: Vec<f32>,
}

impl Conv2D {
    fn k(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.in_shape[2]
    }

    /// Unfold the input into `cols`, stored transposed as a K×R matrix: row (filter_y, filter_x, c) holds
    /// that tap's input value for every output position (b, out_y, out_x), zero where the tap hangs
    /// over the edge. K-major order turns the copies into runs of `OW` values (contiguous when stride
    /// and channels are 1), instead of one tiny copy per output position.
    pub(super) fn im2col(&mut self, input: &[f32], batch: usize) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.strides;
        let [pt, pl] = self.pad;
        let r = batch * oh * ow;
        #[cfg(target_arch = "x86_64")]
        let cpu = Avx512::detect();
        self.cols.resize(self.k() * r, 0.0);
        let mut taps = self.cols.chunks_exact_mut(r);
        for filter_y in 0..kh {
            for filter_x in 0..kw {
                for ch in 0..c {
                    let Some(tap) = taps.next() else { return };
                    // one channel, stride 1, no padding (the tutorial's conv): each image's tap is
                    // `oh` rows of `ow` floats from the image, on AVX-512 CPUs copied by one call
                    #[cfg(target_arch = "x86_64")]
                    if let Some(cpu) = cpu
                        && (c, sh, sw, pt, pl) == (1, 1, 1, 0, 0)
                    {
                        let start = filter_y * w + filter_x;
                        let copied = input
                            .chunks_exact(h * w)
                            .zip(tap.chunks_exact_mut(oh * ow))
                            .all(|(image, dst)| {
                                simd512::copy_rows(
                                    cpu,
                                    dst,
                                    &image[start.min(image.len())..],
                                    ow,
                                    w,
                                )
                            });
                        if copied {
                            continue;
                        }
                    }
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
                            // (empty fills skipped: each would still be a call to memset)
                            if lo > 0 {
                                dst[..lo].fill(0.0);
                            }
                            if hi < ow {
                                dst[hi..].fill(0.0);
                            }
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

    pub(super) fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [oh, ow, o] = self.out_shape;
        let positions = oh * ow;
        self.im2col(input, batch);
        output.resize(batch * positions * o, 0.0); // fully overwritten
        // the kernels apply the ReLU; ReLU6's upper clamp follows
        let relu = self.activation != Activation::Linear;
        let relu6 = self.activation == Activation::Relu6;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(if self.planar_output { 0 } else { positions * o }, 0.0);
        for (b, out) in output.chunks_exact_mut(positions * o).enumerate() {
            let planes: &mut [f32] = if self.planar_output {
                out
            } else {
                &mut scratch
            };
            conv_forward_image(
                &self.cols,
                b,
                positions,
                &self.weights,
                &self.bias,
                relu,
                planes,
            );
            if relu6 {
                for v in planes.iter_mut() {
                    *v = v.min(6.0);
                }
            }
            if !self.planar_output {
                planes_to_nhwc(&scratch, positions, out);
            }
        }
        self.scratch = scratch;
    }

    pub(super) fn backward(
        &mut self,
        output: &[f32],
        d_out: &[f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        let [oh, ow, o] = self.out_shape;
        let size = oh * ow * o;
        let activation = self.activation;
        let planar = self.planar_output;
        self.backward_planes(batch, d_in, |b, d_planes| {
            let images = b * size..(b + 1) * size;
            let (Some(y), Some(dy)) = (output.get(images.clone()), d_out.get(images)) else {
                return;
            };
            // dY of this image as channel planes, zero where the activation was flat
            if planar {
                mask_planes(y, dy, activation, d_planes);
            } else {
                nhwc_to_masked_planes(y, dy, o, activation, d_planes);
            }
        });
    }

    /// The weight and bias gradients, and the input gradient if `d_in` is given, from the output
    /// gradient of each image as O channel planes, which `image_grad(b, planes)` writes (over zeros).
    pub(super) fn backward_planes(
        &mut self,
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
        mut image_grad: impl FnMut(usize, &mut [f32]),
    ) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, o] = self.out_shape;
        let positions = oh * ow;
        let k = self.k();
        let mut acc = GradAccumulator::new(o, k);
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
                dcols_image(&self.weights, &d_planes, b, positions, &mut dcols);
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

/// Planes of image `b` (`planes[oc·P + p] = relu?(bias[oc] + Σ_k weights[oc·K + k] ·
/// cols[k·R + b·P + p])`) from the im2col matrix `cols` (K×R, R = B·P positions, see [`Conv2D::im2col`]): on
/// x86-64 with AVX-512, or else AVX2 and FMA, a vector kernel (the same bits either way) and then
/// the portable code for what it left, on wasm with SIMD128 its explicit SIMD128 build (same bits
/// as the portable kernel), elsewhere the portable kernel. Fused multiply-adds round once where the
/// portable kernel rounds twice, so results differ in the last bits between CPUs with and without
/// them; on one machine they are reproducible.
pub(super) fn conv_forward_image(
    cols: &[f32],
    b: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
    planes: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx512::detect() {
        let (oc_done, p_done) = simd512::conv_forward(cpu, cols, b, p, weights, bias, relu, planes);
        if (oc_done, p_done) != (bias.len(), p) {
            kernels::conv_forward_rest(cols, b, p, weights, bias, relu, planes, oc_done, p_done);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect() {
        let (oc_done, p_done) = simd::conv_forward(cpu, cols, b, p, weights, bias, relu, planes);
        kernels::conv_forward_rest(cols, b, p, weights, bias, relu, planes, oc_done, p_done);
        return;
    }
    // the same bits as the portable kernel
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    wasm_simd::conv_forward(cols, b, p, weights, bias, relu, planes);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    kernels::conv_forward(cols, b, p, weights, bias, relu, planes);
}

/// O planes of P → P rows of O (NHWC).
fn planes_to_nhwc(planes: &[f32], p: usize, out: &mut [f32]) {
    let o = planes.len() / p;
    for (oc, plane) in planes.chunks_exact(p).enumerate() {
        for (i, &v) in plane.iter().enumerate() {
            out[i * o + oc] = v;
        }
    }
}

/// Copy dY planes, zeroed where the activation was flat at the output.
fn mask_planes(y: &[f32], dy: &[f32], activation: Activation, d_planes: &mut [f32]) {
    for ((d, &g), &y) in d_planes.iter_mut().zip(dy).zip(y) {
        *d = if activation.passes(y) { g } else { 0.0 };
    }
}

/// NHWC dY (P rows of O) → masked O planes.
fn nhwc_to_masked_planes(
    y: &[f32],
    dy: &[f32],
    o: usize,
    activation: Activation,
    d_planes: &mut [f32],
) {
    let p = d_planes.len() / o;
    for (i, (dy, y)) in dy.chunks_exact(o).zip(y.chunks_exact(o)).enumerate() {
        for (oc, (&g, &y)) in dy.iter().zip(y).enumerate() {
            d_planes[oc * p + i] = if activation.passes(y) { g } else { 0.0 };
        }
    }
}

/// dcols[k, b·P + p] = Σ_oc w[oc, k] · dY[oc, p] (for the input gradient of a conv that needs one).
fn dcols_image(weights: &[f32], d_planes: &[f32], b: usize, p: usize, dcols: &mut [f32]) {
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
struct GradAccumulator {
    weights: Vec<[f32; LANES]>,
    bias: Vec<[f32; LANES]>,
}

impl GradAccumulator {
    fn new(o: usize, k: usize) -> GradAccumulator {
        GradAccumulator {
            weights: vec![[0.0; LANES]; o * k],
            bias: vec![[0.0; LANES]; o],
        }
    }

    /// `dW[oc, k] += Σ_p dY[oc, p] · cols[k, b·P + p]`;  `db[oc] += Σ_p dY[oc, p]`.
    fn add_image(&mut self, cols: &[f32], b: usize, p: usize, d_planes: &[f32]) {
        let (weights, bias) = (&mut self.weights, &mut self.bias);
        #[cfg(target_arch = "x86_64")]
        if let Some(cpu) = Avx512::detect() {
            let done = simd512::conv_weight_grad(cpu, cols, b, p, d_planes, weights, bias);
            if done != (bias.len(), weights.len() / bias.len().max(1), p) {
                kernels::conv_weight_grad_rest(cols, b, p, d_planes, weights, bias, done);
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(cpu) = Avx2Fma::detect() {
            let done = simd::conv_weight_grad(cpu, cols, b, p, d_planes, weights, bias);
            kernels::conv_weight_grad_rest(cols, b, p, d_planes, weights, bias, done);
            return;
        }
        // the same bits as the portable kernel
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        wasm_simd::conv_weight_grad(cols, b, p, d_planes, weights, bias);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        kernels::conv_weight_grad(cols, b, p, d_planes, weights, bias);
    }

    fn finish(&self, grad_weights: &mut [f32], grad_bias: &mut [f32]) {
        for (g, lanes) in grad_weights.iter_mut().zip(&self.weights) {
            *g = lanes.iter().sum();
        }
        for (g, lanes) in grad_bias.iter_mut().zip(&self.bias) {
            *g = lanes.iter().sum();
        }
    }
}
