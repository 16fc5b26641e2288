//! The depthwise convolution layer: each input channel `c` has `M` (the depth multiplier) filters of
//! its own, and output channel `c·M + m` reads input channel `c` only.
//!
//! The weights are kept as TFLite's DEPTHWISE_CONV_2D wants them, `[1, KH, KW, C·M]`, which is also
//! Keras's `(KH, KW, C, M)` kernel reshaped, so export copies them. The loops are the plain reference
//! form: a depthwise layer has few multiply-adds per output (KH·KW), so the memory traffic of an im2col
//! would cost more than it saves.

use super::{Activation, Padding};

/// A depthwise convolution with its parameters and gradients.
#[derive(Clone, Debug)]
pub struct DepthwiseConv2D {
    pub in_shape: [usize; 3],
    /// `[OH, OW, C·M]`.
    pub out_shape: [usize; 3],
    pub kernel: [usize; 2],
    pub depth_multiplier: usize,
    pub strides: [usize; 2],
    pub padding: Padding,
    /// Zero rows above / columns left of the input (SAME padding).
    pub pad: [usize; 2],
    pub activation: Activation,
    /// `[KH, KW, C·M]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub grad_weights: Vec<f32>,
    pub grad_bias: Vec<f32>,
}

impl DepthwiseConv2D {
    /// Call `f(filter_y, filter_x, in_y, in_x)` for every tap of output (out_y, out_x) that lands inside
    /// the image (taps over the padding read zeros and contribute nothing).
    fn taps(&self, out_y: usize, out_x: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        let [h, w, _] = self.in_shape;
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.strides;
        let [pt, pl] = self.pad;
        for filter_y in 0..kh {
            let in_y = (out_y * sh + filter_y).wrapping_sub(pt);
            if in_y >= h {
                continue;
            }
            for filter_x in 0..kw {
                let in_x = (out_x * sw + filter_x).wrapping_sub(pl);
                if in_x < w {
                    f(filter_y, filter_x, in_y, in_x);
                }
            }
        }
    }

    pub(super) fn forward(&self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, o] = self.out_shape;
        let (kw, m) = (self.kernel[1], self.depth_multiplier);
        output.clear();
        output.resize(batch * oh * ow * o, 0.0);
        for (image, out) in input
            .chunks_exact(h * w * c)
            .zip(output.chunks_exact_mut(oh * ow * o))
            .take(batch)
        {
            for (pos, acc) in out.chunks_exact_mut(o).enumerate() {
                acc.copy_from_slice(&self.bias);
                self.taps(pos / ow, pos % ow, |filter_y, filter_x, in_y, in_x| {
                    let x = &image[(in_y * w + in_x) * c..][..c];
                    let wt = &self.weights[(filter_y * kw + filter_x) * o..][..o];
                    for ((acc, wt), &x) in acc.chunks_exact_mut(m).zip(wt.chunks_exact(m)).zip(x) {
                        for (a, &wv) in acc.iter_mut().zip(wt) {
                            *a += x * wv;
                        }
                    }
                });
            }
        }
        self.activation.apply(output);
    }

    pub(super) fn backward(
        &mut self,
        input: &[f32],
        output: &[f32],
        d_out: &mut [f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, o] = self.out_shape;
        let (kw, m) = (self.kernel[1], self.depth_multiplier);
        self.activation.mask(output, d_out);
        let mut grad_weights = std::mem::take(&mut self.grad_weights);
        grad_weights.fill(0.0);
        self.grad_bias.fill(0.0);
        for g in d_out.chunks_exact(o) {
            for (gb, &g) in self.grad_bias.iter_mut().zip(g) {
                *gb += g;
            }
        }
        let mut d_in = d_in;
        if let Some(d) = d_in.as_deref_mut() {
            d.clear();
            d.resize(batch * h * w * c, 0.0);
        }
        for b in 0..batch {
            let image = &input[b * h * w * c..][..h * w * c];
            let grads = &d_out[b * oh * ow * o..][..oh * ow * o];
            for (pos, g) in grads.chunks_exact(o).enumerate() {
                self.taps(pos / ow, pos % ow, |filter_y, filter_x, in_y, in_x| {
                    let at = (in_y * w + in_x) * c;
                    let x = &image[at..][..c];
                    let tap = (filter_y * kw + filter_x) * o;
                    let gw = &mut grad_weights[tap..][..o];
                    for ((gw, g), &x) in gw.chunks_exact_mut(m).zip(g.chunks_exact(m)).zip(x) {
                        for (gw, &g) in gw.iter_mut().zip(g) {
                            *gw += x * g;
                        }
                    }
                    if let Some(d) = d_in.as_deref_mut() {
                        let dx = &mut d[b * h * w * c + at..][..c];
                        let wt = &self.weights[tap..][..o];
                        for ((dx, wt), g) in
                            dx.iter_mut().zip(wt.chunks_exact(m)).zip(g.chunks_exact(m))
                        {
                            *dx += wt.iter().zip(g).map(|(&wv, &g)| wv * g).sum::<f32>();
                        }
                    }
                });
            }
        }
        self.grad_weights = grad_weights;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3×3 image, 2 channels, multiplier 2, 2×2 kernel, VALID: output (0,0) channel c·2+m is
    /// Σ_taps x[tap, c] · w[tap, c·2+m] + bias.
    #[test]
    fn each_output_channel_reads_its_own_input_channel() {
        let layer = DepthwiseConv2D {
            in_shape: [3, 3, 2],
            out_shape: [2, 2, 4],
            kernel: [2, 2],
            depth_multiplier: 2,
            strides: [1, 1],
            padding: Padding::Valid,
            pad: [0, 0],
            activation: Activation::Linear,
            // tap t, channel k: weight 10·t + k
            weights: (0..4)
                .flat_map(|t| (0..4).map(move |k| (10 * t + k) as f32))
                .collect(),
            bias: vec![0.5, 0.25, 0.0, -1.0],
            grad_weights: vec![0.0; 16],
            grad_bias: vec![0.0; 4],
        };
        // channel 0 holds 1..9, channel 1 holds 100
        let x: Vec<f32> = (1..=9).flat_map(|v| [v as f32, 100.0]).collect();
        let mut y = Vec::new();
        layer.forward(&x, 1, &mut y);
        // output (0,0): taps (0,0)=1, (0,1)=2, (1,0)=4, (1,1)=5 on channel 0
        let ch0 = |k: f32| 1.0 * k + 2.0 * (10.0 + k) + 4.0 * (20.0 + k) + 5.0 * (30.0 + k);
        let ch1 = |k: f32| 100.0 * (k + 10.0 + k + 20.0 + k + 30.0 + k);
        assert_eq!(
            y[..4],
            [ch0(0.0) + 0.5, ch0(1.0) + 0.25, ch1(2.0), ch1(3.0) - 1.0]
        );
    }
}
