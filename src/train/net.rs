//! A small sequential network: a per-sample input shape and a list of layers.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::train::layers::{Activation, ConvPool, Layer, LayerSpec, Padding};
use crate::train::loss::{cross_entropy_from_probabilities, softmax_cross_entropy};

/// An architecture: input shape and layer specs (serializable, so the browser can offer others).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub input_shape: Vec<usize>,
    pub layers: Vec<LayerSpec>,
}

impl Architecture {
    /// The TensorFlow tutorial's model: Reshape 28×28→28×28×1, Conv2D 12×3×3 ReLU, MaxPool 2×2, Flatten,
    /// Dense 10 (logits).
    pub fn tutorial() -> Architecture {
        Architecture {
            input_shape: vec![28, 28],
            layers: vec![
                LayerSpec::Reshape {
                    shape: vec![28, 28, 1],
                },
                LayerSpec::Conv2D {
                    filters: 12,
                    kernel: [3, 3],
                    strides: [1, 1],
                    padding: Padding::Valid,
                    activation: Activation::Relu,
                },
                LayerSpec::MaxPool2D {
                    pool: [2, 2],
                    strides: [2, 2],
                },
                LayerSpec::Flatten,
                LayerSpec::Dense {
                    units: 10,
                    activation: Activation::Linear,
                },
            ],
        }
    }
}

/// The network: layers with parameters, plus the activation buffers of the last forward pass.
#[derive(Clone, Debug)]
pub struct Sequential {
    pub input_shape: Vec<usize>,
    pub layers: Vec<Layer>,
    /// `acts[0]` is the input batch, `acts[i + 1]` the output of layer `i` — except after layers that
    /// only reinterpret the shape (Reshape, Flatten), whose output stays in their input's buffer.
    acts: Vec<Vec<f32>>,
    /// `source[i]`: the index in `acts` of the buffer holding activation `i`.
    source: Vec<usize>,
    grads: [Vec<f32>; 2],
}

impl Sequential {
    /// Build the network with Keras's default initialization (Glorot-uniform kernels, zero biases),
    /// weights drawn from `seed`.
    pub fn new(arch: &Architecture, seed: u64) -> Result<Sequential> {
        if arch.layers.is_empty() {
            return Err(Error::InvalidArgument(
                "a network needs at least one layer".into(),
            ));
        }
        let mut rng = Rng::new(seed);
        let mut shape = arch.input_shape.clone();
        let mut layers = Vec::with_capacity(arch.layers.len());
        for spec in &arch.layers {
            let layer = Layer::new(spec, &shape, &mut rng)?;
            shape = layer.out_shape();
            layers.push(layer);
        }
        // A conv feeding a max pool hands it channel planes (no transpose in between).
        for i in 1..layers.len() {
            if let [Layer::Conv2D(conv), Layer::MaxPool2D(pool)] = &mut layers[i - 1..=i] {
                conv.planar_output = true;
                pool.planar_input = true;
                let relu = conv.activation == Activation::Relu;
                pool.relu_input = relu;
                conv.pool_masks_relu = relu;
            }
        }
        if shape.len() != 1 {
            return Err(Error::InvalidArgument(format!(
                "the last layer must give a flat vector of class logits, got shape {shape:?}"
            )));
        }
        let acts = vec![Vec::new(); layers.len() + 1];
        let mut source = vec![0];
        for (i, layer) in layers.iter().enumerate() {
            source.push(if layer.is_view() { source[i] } else { i + 1 });
        }
        Ok(Sequential {
            input_shape: arch.input_shape.clone(),
            layers,
            acts,
            source,
            grads: [Vec::new(), Vec::new()],
        })
    }

    /// Values per input sample.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Number of outputs (classes).
    pub fn num_outputs(&self) -> usize {
        self.layers
            .last()
            .map(|l| l.out_shape().iter().product())
            .unwrap_or(0)
    }

    /// Number of trainable parameters.
    pub fn num_params(&mut self) -> usize {
        self.layers
            .iter_mut()
            .flat_map(|l| l.params_and_grads())
            .map(|(p, _)| p.len())
            .sum()
    }

    /// The input buffer for a batch of `batch` samples, to fill before [`Sequential::forward_filled`]
    /// or [`Sequential::forward_backward_filled`] (saves copying the batch).
    pub fn input_buffer(&mut self, batch: usize) -> &mut [f32] {
        let n = batch * self.input_len();
        self.acts[0].resize(n, 0.0);
        &mut self.acts[0]
    }

    /// Forward pass over `batch` samples of `x`; returns the logits (`batch × classes`).
    pub fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
        let n = batch * self.input_len();
        self.input_buffer(batch).copy_from_slice(&x[..n]);
        self.forward_filled(batch)
    }

    /// Forward pass over the batch already in [`Sequential::input_buffer`] (inference: moving
    /// statistics in BatchNorm, no dropout).
    pub fn forward_filled(&mut self, batch: usize) -> &[f32] {
        self.forward_pass(batch, false)
    }

    /// Forward pass as in training (batch statistics in BatchNorm, which also updates its moving
    /// statistics; fresh dropout masks), without the loss and backward pass.
    pub fn forward_training(&mut self, x: &[f32], batch: usize) -> &[f32] {
        let n = batch * self.input_len();
        self.input_buffer(batch).copy_from_slice(&x[..n]);
        self.forward_pass(batch, true)
    }

    /// True if the last layer is a softmax, so the outputs are probabilities rather than logits.
    pub fn outputs_probabilities(&self) -> bool {
        matches!(self.layers.last(), Some(Layer::Softmax { .. }))
    }

    fn forward_pass(&mut self, batch: usize, training: bool) -> &[f32] {
        let mut i = 0;
        while i < self.layers.len() {
            let (before, after) = self.acts.split_at_mut(i + 1);
            let input = &before[self.source[i]];
            if let Some(mut pair) = conv_pool(&mut self.layers, i) {
                // the conv's own output (after[0]) is skipped
                pair.forward(input, batch, &mut after[1]);
                i += 2;
                continue;
            }
            if !self.layers[i].is_view() {
                self.layers[i].forward(input, batch, &mut after[0], training);
            }
            i += 1;
        }
        let last = self.source.last().copied().unwrap_or(0);
        &self.acts[last]
    }

    /// One training forward + backward pass; gradients are left in the layers. Returns (mean loss,
    /// number correct).
    pub fn forward_backward(&mut self, x: &[f32], labels: &[u8]) -> (f32, usize) {
        let n = labels.len() * self.input_len();
        self.input_buffer(labels.len()).copy_from_slice(&x[..n]);
        self.forward_backward_filled(labels)
    }

    /// [`Sequential::forward_backward`] on the batch already in [`Sequential::input_buffer`].
    pub fn forward_backward_filled(&mut self, labels: &[u8]) -> (f32, usize) {
        let batch = labels.len();
        let classes = self.num_outputs();
        let probabilities = self.outputs_probabilities();
        self.forward_pass(batch, true);
        let [d_out, d_in] = &mut self.grads;
        d_out.clear();
        d_out.resize(batch * classes, 0.0);
        let outputs = &self.acts[self.source.last().copied().unwrap_or(0)];
        // A softmax output layer: the loss reads its probabilities, and the gradient it writes is the
        // one with respect to the softmax's input, so the backward pass starts below the softmax.
        let (loss, correct) = if probabilities {
            cross_entropy_from_probabilities(outputs, labels, classes, d_out)
        } else {
            softmax_cross_entropy(outputs, labels, classes, d_out)
        };
        // The input gradient is only needed while some earlier layer still has parameters.
        let first_param = self
            .layers
            .iter()
            .position(Layer::has_params)
            .unwrap_or(usize::MAX);
        let mut end = self.layers.len() - usize::from(probabilities);
        while end > first_param {
            let i = end - 1;
            // a view's gradient is its output's gradient, reinterpreted
            if self.layers[i].is_view() {
                end -= 1;
                continue;
            }
            if i > 0
                && let Some(mut pair) = conv_pool(&mut self.layers, i - 1)
            {
                let need_input_grad = i - 1 > first_param;
                let output = &self.acts[self.source[i + 1]];
                pair.backward(output, d_out, batch, need_input_grad.then_some(&mut *d_in));
                std::mem::swap(d_out, d_in);
                end -= 2;
                continue;
            }
            let need_input_grad = i > first_param;
            let (input, output) = (&self.acts[self.source[i]], &self.acts[self.source[i + 1]]);
            self.layers[i].backward(
                input,
                output,
                d_out,
                batch,
                need_input_grad.then_some(&mut *d_in),
            );
            std::mem::swap(d_out, d_in);
            end -= 1;
        }
        (loss, correct)
    }

    /// All (parameter, gradient) pairs in a fixed order.
    pub fn params_and_grads(&mut self) -> Vec<(&mut [f32], &[f32])> {
        self.layers
            .iter_mut()
            .flat_map(Layer::params_and_grads)
            .collect()
    }
}

/// Layers `i` and `i + 1` as a fused conv → max pool pair, if they are one (see [`ConvPool`]).
fn conv_pool(layers: &mut [Layer], i: usize) -> Option<ConvPool<'_>> {
    match layers.get_mut(i..i + 2)? {
        [Layer::Conv2D(conv), Layer::MaxPool2D(pool)] if ConvPool::fits(conv, pool) => {
            Some(ConvPool { conv, pool })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean loss of the network on (x, y) with the current parameters.
    fn loss_of(net: &mut Sequential, x: &[f32], y: &[u8]) -> f64 {
        let classes = net.num_outputs();
        let logits = net.forward(x, y.len()).to_vec();
        crate::train::loss::softmax_cross_entropy_eval(&logits, y, classes).0
    }

    /// Central finite differences against backprop for a sample of every parameter tensor, in f64
    /// terms of the f32 network (step 1e-3 on smooth regions; ReLU kinks make a few entries noisy, so
    /// compare with a relative tolerance on the worst entries).
    fn gradient_check(arch: Architecture, seed: u64) {
        let mut net = Sequential::new(&arch, seed).unwrap();
        // give biases non-zero values so ReLU kinks are not all at the same place
        let mut rng = Rng::new(99);
        for layer in net.layers.iter_mut() {
            for (p, _) in layer.params_and_grads() {
                for v in p.iter_mut() {
                    *v += rng.uniform(-0.05, 0.05);
                }
            }
        }
        let batch = 3;
        let x: Vec<f32> = (0..batch * net.input_len())
            .map(|_| rng.uniform(0.0, 1.0))
            .collect();
        let y: Vec<u8> = (0..batch)
            .map(|i| (i * 3 % net.num_outputs()) as u8)
            .collect();
        net.forward_backward(&x, &y);
        let analytic: Vec<Vec<f32>> = net
            .params_and_grads()
            .into_iter()
            .map(|(_, g)| g.to_vec())
            .collect();
        let h = 1e-3f32;
        let (mut checked, mut bad) = (0, 0);
        for (t, grads) in analytic.iter().enumerate() {
            let stride = (grads.len() / 25).max(1);
            for i in (0..grads.len()).step_by(stride) {
                let orig = net.params_and_grads()[t].0[i];
                net.params_and_grads()[t].0[i] = orig + h;
                let lp = loss_of(&mut net, &x, &y);
                net.params_and_grads()[t].0[i] = orig - h;
                let lm = loss_of(&mut net, &x, &y);
                net.params_and_grads()[t].0[i] = orig;
                let fd = ((lp - lm) / (2.0 * h as f64)) as f32;
                let g = grads[i];
                checked += 1;
                if (fd - g).abs() > 1e-3 + 0.05 * g.abs().max(fd.abs()) {
                    bad += 1;
                    eprintln!("tensor {t} entry {i}: finite difference {fd}, backprop {g}");
                }
            }
        }
        // allow a couple of ReLU/max-pool kink crossings, not systematic errors
        assert!(
            bad * 50 <= checked,
            "{bad} of {checked} gradient entries disagree"
        );
        assert!(checked > 40);
    }

    /// Mean loss of a training-mode forward pass (batch statistics, the dropout masks of the rng state
    /// the network was cloned with), in f64 terms of the f32 outputs.
    fn training_loss(net: &mut Sequential, x: &[f32], y: &[u8]) -> f64 {
        let classes = net.num_outputs();
        let probabilities = net.outputs_probabilities();
        let out = net.forward_training(x, y.len()).to_vec();
        if probabilities {
            crate::train::loss::cross_entropy_from_probabilities_eval(&out, y, classes).0
        } else {
            crate::train::loss::softmax_cross_entropy_eval(&out, y, classes).0
        }
    }

    /// Finite differences against backprop as [`gradient_check`], but on training-mode forward passes,
    /// each from a clone of the same starting network, so batch normalization uses batch statistics
    /// and dropout draws the same masks in every pass. Returns (entries checked, tensors checked).
    fn gradient_check_training(arch: Architecture, seed: u64, input_scale: f32) -> (usize, usize) {
        let mut base = Sequential::new(&arch, seed).unwrap();
        let mut rng = Rng::new(99);
        for layer in base.layers.iter_mut() {
            for (p, _) in layer.params_and_grads() {
                for v in p.iter_mut() {
                    *v += rng.uniform(-0.05, 0.05);
                }
            }
        }
        let batch = 4;
        let x: Vec<f32> = (0..batch * base.input_len())
            .map(|_| rng.uniform(0.0, input_scale))
            .collect();
        let y: Vec<u8> = (0..batch)
            .map(|i| (i * 3 % base.num_outputs()) as u8)
            .collect();
        let mut net = base.clone();
        net.forward_backward(&x, &y);
        let analytic: Vec<Vec<f32>> = net
            .params_and_grads()
            .into_iter()
            .map(|(_, g)| g.to_vec())
            .collect();
        let h = 1e-3f32;
        let (mut checked, mut bad) = (0, 0);
        for (t, grads) in analytic.iter().enumerate() {
            let stride = (grads.len() / 25).max(1);
            for i in (0..grads.len()).step_by(stride) {
                let loss = |delta: f32| {
                    let mut n = base.clone();
                    n.params_and_grads()[t].0[i] += delta;
                    training_loss(&mut n, &x, &y)
                };
                let fd = ((loss(h) - loss(-h)) / (2.0 * h as f64)) as f32;
                let g = grads[i];
                checked += 1;
                if (fd - g).abs() > 1e-3 + 0.05 * g.abs().max(fd.abs()) {
                    bad += 1;
                    eprintln!("tensor {t} entry {i}: finite difference {fd}, backprop {g}");
                }
            }
        }
        assert!(
            bad * 50 <= checked,
            "{bad} of {checked} gradient entries disagree"
        );
        (checked, analytic.len())
    }

    #[test]
    fn gradients_through_depthwise_average_pool_relu6_and_softmax() {
        let arch = Architecture {
            input_shape: vec![7, 6, 2],
            layers: vec![
                LayerSpec::DepthwiseConv2D {
                    kernel: [3, 2],
                    depth_multiplier: 2,
                    strides: [2, 1],
                    padding: Padding::Same,
                    activation: Activation::Relu6,
                },
                LayerSpec::AvgPool2D {
                    pool: [2, 2],
                    strides: [2, 2],
                    padding: Padding::Same,
                },
                LayerSpec::DepthwiseConv2D {
                    kernel: [2, 2],
                    depth_multiplier: 1,
                    strides: [1, 1],
                    padding: Padding::Valid,
                    activation: Activation::Linear,
                },
                LayerSpec::Flatten,
                LayerSpec::Dense {
                    units: 5,
                    activation: Activation::Relu6,
                },
                LayerSpec::Dense {
                    units: 3,
                    activation: Activation::Linear,
                },
                LayerSpec::Softmax,
            ],
        };
        // inputs up to 8 so that some ReLU6 outputs reach the upper clamp
        let (checked, tensors) = gradient_check_training(arch, 11, 8.0);
        assert_eq!(tensors, 8);
        assert!(checked > 60);
    }

    #[test]
    fn gradients_through_batch_norm_activation_and_dropout() {
        let arch = Architecture {
            input_shape: vec![6, 6, 2],
            layers: vec![
                LayerSpec::Conv2D {
                    filters: 3,
                    kernel: [3, 3],
                    strides: [1, 1],
                    padding: Padding::Same,
                    activation: Activation::Linear,
                },
                LayerSpec::BatchNorm {
                    momentum: 0.99,
                    epsilon: 1e-3,
                },
                LayerSpec::Activation(Activation::Relu6),
                LayerSpec::Dropout { rate: 0.3 },
                LayerSpec::AvgPool2D {
                    pool: [2, 2],
                    strides: [2, 2],
                    padding: Padding::Valid,
                },
                LayerSpec::Flatten,
                LayerSpec::Dense {
                    units: 6,
                    activation: Activation::Linear,
                },
                LayerSpec::BatchNorm {
                    momentum: 0.9,
                    epsilon: 1e-3,
                },
                LayerSpec::Activation(Activation::Relu),
                LayerSpec::Dense {
                    units: 4,
                    activation: Activation::Linear,
                },
            ],
        };
        let (checked, tensors) = gradient_check_training(arch, 12, 1.0);
        assert_eq!(tensors, 10);
        assert!(checked > 80);
    }

    /// A ReLU6 conv before a max pool writes channel planes for it but is not fused with it (the
    /// pool's ReLU masking does not cover ReLU6's upper clamp), so the conv masks its own gradient.
    #[test]
    fn gradients_through_a_relu6_conv_before_a_max_pool() {
        let arch = Architecture {
            input_shape: vec![8, 8, 1],
            layers: vec![
                LayerSpec::Conv2D {
                    filters: 3,
                    kernel: [3, 3],
                    strides: [1, 1],
                    padding: Padding::Same,
                    activation: Activation::Relu6,
                },
                LayerSpec::MaxPool2D {
                    pool: [2, 2],
                    strides: [2, 2],
                },
                LayerSpec::Flatten,
                LayerSpec::Dense {
                    units: 4,
                    activation: Activation::Linear,
                },
            ],
        };
        let mut net = Sequential::new(&arch, 13).unwrap();
        assert!((0..net.layers.len()).all(|i| conv_pool(&mut net.layers, i).is_none()));
        let Layer::Conv2D(conv) = &net.layers[0] else {
            unreachable!()
        };
        assert!(conv.planar_output);
        // inputs up to 12 so that some outputs reach 6
        let (checked, _) = gradient_check_training(arch, 13, 12.0);
        assert!(checked > 40);
    }

    #[test]
    fn batch_norm_trains_on_batch_statistics_and_infers_with_moving_ones() {
        let arch = Architecture {
            input_shape: vec![3],
            layers: vec![
                LayerSpec::Dense {
                    units: 2,
                    activation: Activation::Linear,
                },
                LayerSpec::BatchNorm {
                    momentum: 0.5,
                    epsilon: 1e-3,
                },
            ],
        };
        let mut net = Sequential::new(&arch, 3).unwrap();
        let x = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0, 0.0, 0.0, 1.0];
        let out = net.forward_training(&x, 3).to_vec();
        // each channel has mean 0 and variance var / (var + ε) ≈ 1 over the batch
        for c in 0..2 {
            let v: Vec<f64> = out.iter().skip(c).step_by(2).map(|&v| v as f64).collect();
            let mean = v.iter().sum::<f64>() / 3.0;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 0.05,
                "{mean} {var}"
            );
        }
        let Layer::BatchNorm(bn) = &net.layers[1] else {
            unreachable!()
        };
        // moving = 0.5·initial + 0.5·batch
        assert!(bn.moving_mean.iter().all(|&m| m != 0.0));
        assert!(bn.moving_var.iter().all(|&v| v != 1.0));
        let (scale, shift) = bn.inference_affine();
        let dense = net.clone();
        let Layer::Dense(d) = &dense.layers[0] else {
            unreachable!()
        };
        let y = net.forward(&x[..3], 1).to_vec();
        for c in 0..2 {
            let z: f32 = (0..3).map(|i| d.weights[c * 3 + i] * x[i]).sum::<f32>() + d.bias[c];
            assert!((y[c] - (z * scale[c] + shift[c])).abs() < 1e-5);
        }
    }

    #[test]
    fn a_softmax_output_trains_like_logits_with_the_same_gradient() {
        let logits = Architecture {
            input_shape: vec![4],
            layers: vec![LayerSpec::Dense {
                units: 3,
                activation: Activation::Linear,
            }],
        };
        let mut probs = logits.clone();
        probs.layers.push(LayerSpec::Softmax);
        let mut a = Sequential::new(&logits, 8).unwrap();
        let mut b = Sequential::new(&probs, 8).unwrap();
        let x = [0.5, -1.0, 2.0, 0.25, 1.0, 1.0, -0.5, 0.0];
        let (la, ca) = a.forward_backward(&x, &[2, 0]);
        let (lb, cb) = b.forward_backward(&x, &[2, 0]);
        assert!((la - lb).abs() < 1e-6 && ca == cb);
        let grads = |n: &mut Sequential| -> Vec<f32> {
            n.params_and_grads()
                .into_iter()
                .flat_map(|(_, g)| g.to_vec())
                .collect()
        };
        let (ga, gb) = (grads(&mut a), grads(&mut b));
        assert!(ga.iter().zip(&gb).all(|(x, y)| (x - y).abs() < 1e-6));
        assert!(b.outputs_probabilities() && !a.outputs_probabilities());
        let p = b.forward(&x, 2).to_vec();
        assert!((p[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn gradients_of_the_tutorial_model() {
        let mut arch = Architecture::tutorial();
        arch.input_shape = vec![8, 8];
        arch.layers[0] = LayerSpec::Reshape {
            shape: vec![8, 8, 1],
        };
        gradient_check(arch, 1);
    }

    #[test]
    fn gradients_through_same_padding_strides_two_convs_and_hidden_dense() {
        let arch = Architecture {
            input_shape: vec![7, 6, 2],
            layers: vec![
                LayerSpec::Conv2D {
                    filters: 3,
                    kernel: [3, 2],
                    strides: [2, 1],
                    padding: Padding::Same,
                    activation: Activation::Relu,
                },
                LayerSpec::Conv2D {
                    filters: 4,
                    kernel: [2, 2],
                    strides: [1, 1],
                    padding: Padding::Valid,
                    activation: Activation::Linear,
                },
                LayerSpec::MaxPool2D {
                    pool: [2, 2],
                    strides: [1, 2],
                },
                LayerSpec::Flatten,
                LayerSpec::Dense {
                    units: 5,
                    activation: Activation::Relu,
                },
                LayerSpec::Dense {
                    units: 3,
                    activation: Activation::Linear,
                },
            ],
        };
        gradient_check(arch, 2);
    }

    /// Two convs, the second fused with its pool, so the fused pair also computes an input gradient.
    fn conv_conv_pool() -> Architecture {
        let conv = |filters, padding| LayerSpec::Conv2D {
            filters,
            kernel: [3, 3],
            strides: [1, 1],
            padding,
            activation: Activation::Relu,
        };
        Architecture {
            input_shape: vec![9, 10, 2],
            layers: vec![
                conv(3, Padding::Same),
                conv(4, Padding::Valid),
                LayerSpec::MaxPool2D {
                    pool: [2, 2],
                    strides: [2, 2],
                },
                LayerSpec::Flatten,
                LayerSpec::Dense {
                    units: 4,
                    activation: Activation::Linear,
                },
            ],
        }
    }

    #[test]
    fn gradients_through_a_fused_conv_pool_after_a_conv() {
        gradient_check(conv_conv_pool(), 3);
    }

    #[test]
    fn fused_conv_pool_matches_the_layers_run_apart() {
        for arch in [conv_conv_pool(), Architecture::tutorial()] {
            let mut fused = Sequential::new(&arch, 4).unwrap();
            let mut apart = fused.clone();
            let mut pairs = 0;
            for layer in apart.layers.iter_mut() {
                if let Layer::Conv2D(conv) = layer
                    && conv.pool_masks_relu
                {
                    // the pool still masks; the conv just no longer relies on it, so no fusion
                    conv.pool_masks_relu = false;
                    pairs += 1;
                }
            }
            assert_eq!(pairs, 1);
            assert!((0..fused.layers.len()).any(|i| conv_pool(&mut fused.layers, i).is_some()));
            assert!((0..apart.layers.len()).all(|i| conv_pool(&mut apart.layers, i).is_none()));
            let mut rng = Rng::new(7);
            let batch = 5;
            let x: Vec<f32> = (0..batch * fused.input_len())
                .map(|_| rng.uniform(0.0, 1.0))
                .collect();
            let y: Vec<u8> = (0..batch)
                .map(|i| (i % fused.num_outputs()) as u8)
                .collect();
            assert_eq!(
                fused.forward_backward(&x, &y),
                apart.forward_backward(&x, &y)
            );
            let grads = |n: &mut Sequential| -> Vec<Vec<f32>> {
                n.params_and_grads()
                    .into_iter()
                    .map(|(_, g)| g.to_vec())
                    .collect()
            };
            assert_eq!(grads(&mut fused), grads(&mut apart));
            assert_eq!(fused.forward(&x, batch), apart.forward(&x, batch));
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let a = Sequential::new(&Architecture::tutorial(), 5).unwrap();
        let b = Sequential::new(&Architecture::tutorial(), 5).unwrap();
        let c = Sequential::new(&Architecture::tutorial(), 6).unwrap();
        let w = |n: &Sequential| match &n.layers[1] {
            Layer::Conv2D(l) => l.weights.clone(),
            _ => unreachable!(),
        };
        assert_eq!(w(&a), w(&b));
        assert_ne!(w(&a), w(&c));
    }

    #[test]
    fn glorot_limits_match_keras() {
        let net = Sequential::new(&Architecture::tutorial(), 0).unwrap();
        let (conv, dense) = match (&net.layers[1], &net.layers[4]) {
            (Layer::Conv2D(c), Layer::Dense(d)) => (c, d),
            _ => unreachable!(),
        };
        // conv (3,3,1,12): fan_in 9, fan_out 108 → √(6/117) ≈ 0.2265; dense: √(6/2038) ≈ 0.05426
        let max_abs = |v: &[f32]| v.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
        assert!(max_abs(&conv.weights) <= 0.2265 && max_abs(&conv.weights) > 0.2);
        assert!(max_abs(&dense.weights) <= 0.05426 && max_abs(&dense.weights) > 0.054);
        assert!(conv.bias.iter().chain(&dense.bias).all(|&b| b == 0.0));
        assert_eq!((conv.weights.len(), dense.weights.len()), (108, 20280));
    }

    #[test]
    fn depthwise_glorot_limit_uses_keras_fans() {
        let arch = Architecture {
            input_shape: vec![14, 14, 16],
            layers: vec![
                LayerSpec::DepthwiseConv2D {
                    kernel: [3, 3],
                    depth_multiplier: 2,
                    strides: [1, 1],
                    padding: Padding::Same,
                    activation: Activation::Relu6,
                },
                LayerSpec::Flatten,
            ],
        };
        let net = Sequential::new(&arch, 0).unwrap();
        let Layer::DepthwiseConv2D(d) = &net.layers[0] else {
            unreachable!()
        };
        // Keras's kernel (3, 3, 16, 2): fan_in 9·16 = 144, fan_out 9·2 = 18 → √(6/162) ≈ 0.19245
        let max_abs = d.weights.iter().fold(0.0f32, |a, &x| a.max(x.abs()));
        assert!(max_abs <= 0.19245 && max_abs > 0.19, "{max_abs}");
        assert_eq!(d.weights.len(), 9 * 32);
        assert!(d.bias.iter().all(|&b| b == 0.0));
    }

    #[test]
    fn rejects_architectures_that_do_not_fit() {
        let mut arch = Architecture::tutorial();
        arch.layers[1] = LayerSpec::Conv2D {
            filters: 4,
            kernel: [30, 3],
            strides: [1, 1],
            padding: Padding::Valid,
            activation: Activation::Relu,
        };
        assert!(Sequential::new(&arch, 0).is_err());
        let mut arch = Architecture::tutorial();
        arch.layers.remove(3); // no Flatten before Dense
        assert!(Sequential::new(&arch, 0).is_err());
        let arch = Architecture {
            input_shape: vec![28, 28],
            layers: vec![LayerSpec::Reshape {
                shape: vec![27, 28],
            }],
        };
        assert!(Sequential::new(&arch, 0).is_err());
    }
}
