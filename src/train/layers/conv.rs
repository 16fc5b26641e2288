//! The 2-D convolution layer: im2col into a K×R matrix, then per image the forward planes, the weight
//! and bias gradient sums and the input gradient, with the arithmetic in `kernels` below.

use super::{Activation, Padding};

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

    pub(super) fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
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

    pub(super) fn backward(
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
pub(super) mod kernels {
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
        if super::super::avx2_fma() {
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
            if super::super::avx2_fma() {
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
