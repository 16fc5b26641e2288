//! Batch normalization over the last axis (channels), with Keras's defaults: momentum 0.99,
//! epsilon 1e-3, γ = 1, β = 0, moving mean 0 and moving variance 1.
//!
//! In training each channel is normalized by the batch's mean and (biased) variance over all samples
//! and positions, and the moving statistics follow them (`moving = moving·momentum + batch·(1 −
//! momentum)`, the biased variance included, as Keras 3 does). At inference the moving statistics are
//! used, so the layer is an affine map per channel, which the export folds into the Conv2D,
//! DepthwiseConv2D or Dense before it as TensorFlow's converter does.
//!
//! Where we differ from Keras: the batch mean and variance are summed in f64 (Keras sums in float32),
//! so the normalized values can differ from Keras's in the last bits during training; inference is the
//! same formula.

/// A batch normalization layer with its parameters, statistics and the cache of its last training
/// forward pass.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    /// Per-sample shape (the channels are its last dimension).
    pub shape: Vec<usize>,
    pub momentum: f32,
    pub epsilon: f32,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub moving_mean: Vec<f32>,
    pub moving_var: Vec<f32>,
    pub grad_gamma: Vec<f32>,
    pub grad_beta: Vec<f32>,
    /// The normalized input of the last training forward pass, x̂ = (x − mean) / √(var + ε).
    x_hat: Vec<f32>,
    /// 1 / √(var + ε) per channel, of the last training forward pass.
    inv_std: Vec<f32>,
}

impl BatchNorm {
    pub fn new(channels: usize, shape: Vec<usize>, momentum: f32, epsilon: f32) -> BatchNorm {
        BatchNorm {
            shape,
            momentum,
            epsilon,
            gamma: vec![1.0; channels],
            beta: vec![0.0; channels],
            moving_mean: vec![0.0; channels],
            moving_var: vec![1.0; channels],
            grad_gamma: vec![0.0; channels],
            grad_beta: vec![0.0; channels],
            x_hat: Vec::new(),
            inv_std: Vec::new(),
        }
    }

    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// The per-channel affine map the layer computes at inference, `y = x·scale + shift`, with
    /// scale = (1 / √(moving_var + ε))·γ and shift = β − moving_mean·scale, in the order
    /// `tf.nn.batch_normalization` computes them (so the export folds the same numbers).
    pub fn inference_affine(&self) -> (Vec<f32>, Vec<f32>) {
        let scale: Vec<f32> = self
            .gamma
            .iter()
            .zip(&self.moving_var)
            .map(|(&g, &v)| (1.0 / (v + self.epsilon).sqrt()) * g)
            .collect();
        let shift = self
            .beta
            .iter()
            .zip(&self.moving_mean)
            .zip(&scale)
            .map(|((&b, &m), &s)| b - m * s)
            .collect();
        (scale, shift)
    }

    pub(super) fn forward(&mut self, input: &[f32], output: &mut Vec<f32>, training: bool) {
        let c = self.channels();
        output.clear();
        output.resize(input.len(), 0.0);
        if !training {
            let (scale, shift) = self.inference_affine();
            for (y, x) in output.chunks_exact_mut(c).zip(input.chunks_exact(c)) {
                for (((y, &x), &s), &t) in y.iter_mut().zip(x).zip(&scale).zip(&shift) {
                    *y = x * s + t;
                }
            }
            return;
        }
        let rows = (input.len() / c).max(1) as f64;
        let mut mean = vec![0.0f64; c];
        for x in input.chunks_exact(c) {
            for (m, &x) in mean.iter_mut().zip(x) {
                *m += x as f64;
            }
        }
        for m in mean.iter_mut() {
            *m /= rows;
        }
        let mut var = vec![0.0f64; c];
        for x in input.chunks_exact(c) {
            for ((v, &x), &m) in var.iter_mut().zip(x).zip(&mean) {
                let d = x as f64 - m;
                *v += d * d;
            }
        }
        for v in var.iter_mut() {
            *v /= rows;
        }
        self.inv_std = var
            .iter()
            .map(|&v| (1.0 / (v + self.epsilon as f64).sqrt()) as f32)
            .collect();
        self.x_hat.clear();
        self.x_hat.resize(input.len(), 0.0);
        for ((y, xh), x) in output
            .chunks_exact_mut(c)
            .zip(self.x_hat.chunks_exact_mut(c))
            .zip(input.chunks_exact(c))
        {
            for ch in 0..c {
                let n = ((x[ch] as f64 - mean[ch]) as f32) * self.inv_std[ch];
                xh[ch] = n;
                y[ch] = n * self.gamma[ch] + self.beta[ch];
            }
        }
        let keep = self.momentum;
        for ch in 0..c {
            self.moving_mean[ch] = self.moving_mean[ch] * keep + mean[ch] as f32 * (1.0 - keep);
            self.moving_var[ch] = self.moving_var[ch] * keep + var[ch] as f32 * (1.0 - keep);
        }
    }

    /// The gradient of batch normalization with batch statistics (the mean and variance depend on
    /// every input): dx = (inv_std / N)·(N·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)) with dx̂ = dy·γ.
    pub(super) fn backward(&mut self, d_out: &[f32], d_in: Option<&mut Vec<f32>>) {
        let c = self.channels();
        let mut sum_d = vec![0.0f64; c];
        let mut sum_dx = vec![0.0f64; c];
        for (g, xh) in d_out.chunks_exact(c).zip(self.x_hat.chunks_exact(c)) {
            for ch in 0..c {
                sum_d[ch] += g[ch] as f64;
                sum_dx[ch] += (g[ch] * xh[ch]) as f64;
            }
        }
        for ch in 0..c {
            self.grad_beta[ch] = sum_d[ch] as f32;
            self.grad_gamma[ch] = sum_dx[ch] as f32;
        }
        let Some(d_in) = d_in else { return };
        let n = (d_out.len() / c).max(1) as f32;
        d_in.clear();
        d_in.resize(d_out.len(), 0.0);
        for ((dx, g), xh) in d_in
            .chunks_exact_mut(c)
            .zip(d_out.chunks_exact(c))
            .zip(self.x_hat.chunks_exact(c))
        {
            for ch in 0..c {
                let gamma = self.gamma[ch];
                // Σ dx̂ = γ·Σ dy and Σ dx̂·x̂ = γ·Σ dy·x̂
                let mean_d = gamma * sum_d[ch] as f32 / n;
                let mean_dx = gamma * sum_dx[ch] as f32 / n;
                dx[ch] = self.inv_std[ch] * (g[ch] * gamma - mean_d - xh[ch] * mean_dx);
            }
        }
    }
}
