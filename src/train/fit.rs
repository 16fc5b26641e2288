//! The training loop, step by step so that both the CLI (a progress bar) and the browser worker (a
//! chart, a cancel button) can drive it.
//!
//! Keras `fit` semantics: a full reshuffle of the training set every epoch, batches of `batch_size`, the
//! last partial batch kept, one Adam update per batch, validation on the test set after each epoch.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, epoch_batches, fill_batch, prefetch_images};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::train::adam::Adam;
use crate::train::layers::Layer;
use crate::train::loss::{cross_entropy_from_probabilities_eval, softmax_cross_entropy_eval};
use crate::train::net::{Architecture, Sequential};

/// Every knob of a training run (defaults: the tutorial's `fit(epochs=5)` with Keras defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub seed: u64,
    pub architecture: Architecture,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 5,
            batch_size: 32,
            learning_rate: 0.001,
            seed: 0,
            architecture: Architecture::tutorial(),
        }
    }
}

impl TrainConfig {
    /// Check the settings (they may come from a form field).
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.epochs > 1000 {
            return Err(Error::InvalidArgument(format!(
                "epochs must be 1–1000, got {}",
                self.epochs
            )));
        }
        if self.batch_size == 0 || self.batch_size > 65_536 {
            return Err(Error::InvalidArgument(format!(
                "batch size must be 1–65536, got {}",
                self.batch_size
            )));
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 10.0)
        {
            return Err(Error::InvalidArgument(format!(
                "learning rate must be in (0, 10], got {}",
                self.learning_rate
            )));
        }
        Ok(())
    }
}

/// Progress after one training step.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// 0-based epoch.
    pub epoch: usize,
    /// Steps done in this epoch (1-based after the step).
    pub step: usize,
    pub steps_per_epoch: usize,
    /// Loss of this batch.
    pub batch_loss: f32,
    /// Running mean loss and accuracy over the epoch so far (what Keras's progress bar shows).
    pub loss: f32,
    pub accuracy: f32,
}

/// Summary of a finished epoch, with validation on the test set.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub epochs: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub val_loss: f32,
    pub val_accuracy: f32,
}

impl EpochReport {
    /// A Keras-like log line: `Epoch 1/5 - loss: 0.2937 - accuracy: 0.9172 - val_loss: … - val_accuracy: …`.
    pub fn keras_line(&self) -> String {
        format!(
            "Epoch {}/{} - loss: {:.4} - accuracy: {:.4} - val_loss: {:.4} - val_accuracy: {:.4}",
            self.epoch + 1,
            self.epochs,
            self.loss,
            self.accuracy,
            self.val_loss,
            self.val_accuracy
        )
    }
}

/// A training run in progress.
pub struct Trainer {
    pub net: Sequential,
    pub config: TrainConfig,
    optimizer: Adam,
    rng: Rng,
    epoch: usize,
    batches: Vec<Vec<usize>>,
    step: usize,
    loss_sum: f64,
    correct: usize,
    seen: usize,
    y: Vec<u8>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Trainer {
    /// Start a run: build the network from the config's architecture and seed. The training data's
    /// image size must match the architecture's input.
    pub fn new(config: TrainConfig, train: &Dataset) -> Result<Trainer> {
        config.validate()?;
        let net = Sequential::new(&config.architecture, config.seed)?;
        Trainer::with_net(config, net, train)
    }

    /// Continue training `net` (read back from a model file, say) with fresh optimizer moments; the
    /// config's architecture is replaced by the network's.
    pub fn resume(
        mut config: TrainConfig,
        mut net: Sequential,
        train: &Dataset,
    ) -> Result<Trainer> {
        config.validate()?;
        // the dropout masks follow this run's seed, as in a network built by `new`
        let mut streams = Rng::new(config.seed);
        for layer in net.layers.iter_mut() {
            if let Layer::Dropout(d) = layer {
                d.reseed(Rng::new(streams.next_u64()));
            }
        }
        config.architecture = Architecture {
            input_shape: net.input_shape.clone(),
            layers: net.layers.iter().map(|l| l.spec()).collect(),
        };
        Trainer::with_net(config, net, train)
    }

    fn with_net(config: TrainConfig, mut net: Sequential, train: &Dataset) -> Result<Trainer> {
        // Adam's first and second moments, one pair of buffers per parameter tensor.
        let sizes: Vec<usize> = net
            .params_and_grads()
            .iter()
            .map(|(p, _)| p.len())
            .collect();
        let m = sizes.iter().map(|&n| vec![0.0; n]).collect();
        let v = sizes.iter().map(|&n| vec![0.0; n]).collect();
        check_images(&net, train, "training")?;
        if train.is_empty() {
            return Err(Error::InvalidArgument("the training set is empty".into()));
        }
        // Shuffling has its own stream, derived from the seed, so it does not depend on the architecture.
        let rng = Rng::new(config.seed ^ 0x5DEE_CE66_D1CE_5EED);
        let optimizer = Adam::new(config.learning_rate);
        Ok(Trainer {
            net,
            config,
            optimizer,
            rng,
            epoch: 0,
            batches: Vec::new(),
            step: 0,
            loss_sum: 0.0,
            correct: 0,
            seen: 0,
            y: Vec::new(),
            m,
            v,
        })
    }

    /// Steps per epoch for `n` training images (the last partial batch counts).
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.config.batch_size)
    }

    /// Current epoch (0-based).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// True once all epochs are done.
    pub fn finished(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    /// Train on one batch. Returns `None` when all epochs are done. When the report's `step` equals
    /// `steps_per_epoch`, the epoch is over: call [`Trainer::end_epoch`] to validate and move on.
    pub fn step(&mut self, train: &Dataset) -> Option<StepReport> {
        self.batch(train)?;
        let indices = &self.batches[self.step];
        let n = indices.len();
        self.y.resize(n, 0);
        fill_batch(train, indices, self.net.input_buffer(n), &mut self.y);
        if let Some(next) = self.batches.get(self.step + 1) {
            prefetch_images(train, next);
        }
        let (loss, correct) = self.net.forward_backward_filled(&self.y);
        let alpha = self.optimizer.step_size();
        let moments = self.m.iter_mut().zip(self.v.iter_mut());
        for ((param, grad), (m, v)) in self.net.params_and_grads().into_iter().zip(moments) {
            self.optimizer.update(alpha, param, grad, m, v);
        }
        self.optimizer.finish_step();
        Some(self.record(loss, correct, n))
    }

    /// Make ready the next step's batch, `self.batches[self.step]` (drawing the epoch's batches
    /// first); `None` when all epochs are done.
    fn batch(&mut self, train: &Dataset) -> Option<()> {
        if self.finished() {
            return None;
        }
        if self.step == 0 && self.batches.is_empty() {
            self.batches = epoch_batches(train.len(), self.config.batch_size, &mut self.rng);
            self.loss_sum = 0.0;
            self.correct = 0;
            self.seen = 0;
        }
        (self.step < self.batches.len()).then_some(())
    }

    /// Count a finished step of `n` images into the epoch's running figures.
    fn record(&mut self, loss: f32, correct: usize, n: usize) -> StepReport {
        self.step += 1;
        self.loss_sum += loss as f64 * n as f64;
        self.correct += correct;
        self.seen += n;
        StepReport {
            epoch: self.epoch,
            step: self.step,
            steps_per_epoch: self.batches.len(),
            batch_loss: loss,
            loss: (self.loss_sum / self.seen as f64) as f32,
            accuracy: self.correct as f32 / self.seen as f32,
        }
    }

    /// Data-parallel training, step 1 of 3: the next batch split into at most `shares` contiguous
    /// shares (fewer when the batch is smaller), or `None` when all epochs are done. Each share's
    /// gradient is computed by [`share_gradient`] on a copy of this network (share 0 on this one,
    /// [`Trainer::own_share`]), then [`Trainer::apply_shares`] takes them all.
    pub fn next_shares(&mut self, train: &Dataset, shares: usize) -> Option<Vec<Vec<usize>>> {
        self.batch(train)?;
        let batch = &self.batches[self.step];
        let size = batch.len().div_ceil(shares.max(1)).max(1);
        Some(batch.chunks(size).map(<[usize]>::to_vec).collect())
    }

    /// Step 2 for share 0: its gradient with this trainer's network (left in the layers).
    pub fn own_share(&mut self, train: &Dataset, indices: &[usize]) -> ShareReport {
        share_gradient(&mut self.net, train, indices, &mut self.y)
    }

    /// Step 3: one Adam update with the batch's mean gradient `Σᵢ (nᵢ/N)·gᵢ`, summed in share order
    /// (share 0's gradient in this network's layers, from [`Trainer::own_share`]; the others' in
    /// `others`, each a [`gradient_vector`] of the same network). With one share this is exactly
    /// [`Trainer::step`]; with more, the sums round differently (and a BatchNormalization would
    /// normalize over each share alone, so [`parallel_ready`] refuses those designs).
    pub fn apply_shares(
        &mut self,
        own: &ShareReport,
        others: &[(ShareReport, &[f32])],
    ) -> Result<StepReport> {
        let total: usize = own.n + others.iter().map(|(r, _)| r.n).sum::<usize>();
        let expected = self.batches.get(self.step).map_or(0, Vec::len);
        if total != expected || total == 0 {
            return Err(Error::InvalidArgument(format!(
                "the shares hold {total} images, the step's batch {expected}"
            )));
        }
        let shares: Vec<(usize, ShareGradient)> = std::iter::once((own.n, ShareGradient::Own))
            .chain(others.iter().map(|(r, g)| (r.n, ShareGradient::Vector(g))))
            .collect();
        step_on_shares(
            &mut self.net,
            &mut self.optimizer,
            &mut self.m,
            &mut self.v,
            &shares,
        )?;
        let n = total;
        // in double, so that one share's mean comes back exactly
        let loss_sum = own.loss as f64 * own.n as f64
            + others
                .iter()
                .map(|(r, _)| r.loss as f64 * r.n as f64)
                .sum::<f64>();
        let loss = (loss_sum / n as f64) as f32;
        let correct = own.correct + others.iter().map(|(r, _)| r.correct).sum::<usize>();
        Ok(self.record(loss, correct, n))
    }

    /// The shares of the step after the next one ([`Trainer::next_shares`] as it will give them), if
    /// that step is in the same epoch (the next epoch's batches are drawn when it starts); `None`
    /// otherwise. Helpers that mirror the run ([`Mirror`]) get their images a step ahead.
    pub fn peek_shares(&self, shares: usize) -> Option<Vec<Vec<usize>>> {
        if self.finished() {
            return None;
        }
        let batch = self.batches.get(self.step + 1)?;
        let size = batch.len().div_ceil(shares.max(1)).max(1);
        Some(batch.chunks(size).map(<[usize]>::to_vec).collect())
    }

    /// The optimizer as it stands, for helpers that mirror this run ([`Mirror::new`]).
    pub fn optimizer_state(&self) -> OptimizerState {
        OptimizerState::of(&self.optimizer, &self.m, &self.v)
    }

    /// Whether `validation` fits the network (its images are the network's input size), so that a
    /// run can be refused before it starts rather than after its first epoch.
    pub fn check_validation(&self, validation: &Dataset) -> Result<()> {
        check_images(&self.net, validation, "validation")
    }

    /// Finish the current epoch: evaluate on `validation` and start the next epoch. An error (images
    /// that do not fit the network) leaves the epoch unfinished.
    pub fn end_epoch(&mut self, validation: &Dataset) -> Result<EpochReport> {
        let (val_loss, val_accuracy) = evaluate(&mut self.net, validation)?;
        let report = EpochReport {
            epoch: self.epoch,
            epochs: self.config.epochs,
            loss: (self.loss_sum / self.seen.max(1) as f64) as f32,
            accuracy: self.correct as f32 / self.seen.max(1) as f32,
            val_loss,
            val_accuracy,
        };
        self.epoch += 1;
        self.step = 0;
        self.batches.clear();
        Ok(report)
    }
}

/// What one share of a batch gave: its images, their mean loss and how many were right.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareReport {
    pub n: usize,
    pub loss: f32,
    pub correct: usize,
}

/// Where one share's gradient is, for [`step_on_shares`].
#[derive(Clone, Copy, Debug)]
pub enum ShareGradient<'a> {
    /// In the network's own layers (the share this network computed).
    Own,
    /// In a vector of the network's gradients, in [`gradient_vector`] order.
    Vector(&'a [f32]),
}

/// One Adam step of `net` with the batch's mean gradient `Σᵢ (nᵢ/N)·gᵢ` over `shares` (each share's
/// image count and gradient), summed in share order. [`Trainer::apply_shares`] and every
/// [`Mirror`] take their steps here, so networks given the same shares stay equal bit for bit. (Not
/// inlined: one copy of the update for both callers.)
#[inline(never)]
fn step_on_shares(
    net: &mut Sequential,
    optimizer: &mut Adam,
    m: &mut [Vec<f32>],
    v: &mut [Vec<f32>],
    shares: &[(usize, ShareGradient)],
) -> Result<()> {
    let total: usize = shares.iter().map(|(n, _)| n).sum();
    if total == 0 {
        return Err(Error::InvalidArgument("the shares hold no images".into()));
    }
    let params = net.num_params();
    for (_, g) in shares {
        if let ShareGradient::Vector(g) = g
            && g.len() != params
        {
            return Err(Error::InvalidArgument(format!(
                "a share's gradient has {} values, the network {params} parameters",
                g.len()
            )));
        }
    }
    let weight = |n: usize| n as f32 / total as f32;
    let alpha = optimizer.step_size();
    let mut offset = 0;
    let mut sum = Vec::new();
    for ((param, grad), (m, v)) in net
        .params_and_grads()
        .into_iter()
        .zip(m.iter_mut().zip(v.iter_mut()))
    {
        let len = grad.len();
        sum.clear();
        for (i, &(n, g)) in shares.iter().enumerate() {
            let g = match g {
                ShareGradient::Own => grad,
                ShareGradient::Vector(all) => &all[offset..offset + len],
            };
            let w = weight(n);
            if i == 0 {
                sum.extend(g.iter().map(|&g| w * g));
            } else {
                for (s, &g) in sum.iter_mut().zip(g) {
                    *s += w * g;
                }
            }
        }
        offset += len;
        optimizer.update(alpha, param, &sum, m, v);
    }
    optimizer.finish_step();
    Ok(())
}

/// A run's optimizer (Adam, its update count and moments), as [`Trainer::optimizer_state`] gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    pub adam: Adam,
    /// The first moments, then the second, each in [`gradient_vector`] order.
    pub moments: Vec<f32>,
}

impl OptimizerState {
    /// The state of `adam` with the per-tensor moments `m` and `v`.
    fn of(adam: &Adam, m: &[Vec<f32>], v: &[Vec<f32>]) -> OptimizerState {
        OptimizerState {
            adam: adam.clone(),
            moments: m.iter().chain(v).flatten().copied().collect(),
        }
    }
}

/// A helper's copy of a run's optimizer. A helper that holds one takes every step itself, on the same
/// shares' gradients as the coordinator ([`step_on_shares`]), so its network keeps the run's parameters
/// without being sent them at each step: the workers then only exchange gradients.
#[derive(Clone, Debug)]
pub struct Mirror {
    optimizer: Adam,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Mirror {
    /// A mirror of `state` for `net` (a network of the run's design, with the run's parameters).
    pub fn new(net: &mut Sequential, state: &OptimizerState) -> Result<Mirror> {
        let sizes: Vec<usize> = net
            .params_and_grads()
            .iter()
            .map(|(p, _)| p.len())
            .collect();
        let params: usize = sizes.iter().sum();
        if state.moments.len() != 2 * params {
            return Err(Error::InvalidArgument(format!(
                "{} moment values for a network of {params} parameters (two each)",
                state.moments.len()
            )));
        }
        let mut rest = state.moments.as_slice();
        let mut split = || {
            sizes
                .iter()
                .map(|&n| {
                    let (head, tail) = rest.split_at(n);
                    rest = tail;
                    head.to_vec()
                })
                .collect::<Vec<_>>()
        };
        let m = split();
        let v = split();
        Ok(Mirror {
            optimizer: state.adam.clone(),
            m,
            v,
        })
    }

    /// The run's step on `shares` (see [`step_on_shares`]), taken on `net`.
    pub fn apply(&mut self, net: &mut Sequential, shares: &[(usize, ShareGradient)]) -> Result<()> {
        step_on_shares(net, &mut self.optimizer, &mut self.m, &mut self.v, shares)
    }

    /// The optimizer as it stands (equal to the coordinator's after the same steps).
    pub fn state(&self) -> OptimizerState {
        OptimizerState::of(&self.optimizer, &self.m, &self.v)
    }
}

/// The gradient of `net` on the images `indices` of `train` (their mean loss), left in its layers.
/// `labels` is scratch space.
pub fn share_gradient(
    net: &mut Sequential,
    train: &Dataset,
    indices: &[usize],
    labels: &mut Vec<u8>,
) -> ShareReport {
    let n = indices.len();
    labels.resize(n, 0);
    fill_batch(train, indices, net.input_buffer(n), labels);
    let (loss, correct) = net.forward_backward_filled(labels);
    ShareReport { n, loss, correct }
}

/// The network's gradients as one vector, in [`Sequential::params_and_grads`] order.
pub fn gradient_vector(net: &mut Sequential) -> Vec<f32> {
    let mut values = Vec::new();
    gradients_into(net, &mut values);
    values
}

/// [`gradient_vector`] into `values` (replacing what it held, keeping its allocation).
pub fn gradients_into(net: &mut Sequential, values: &mut Vec<f32>) {
    values.clear();
    for (_, g) in net.params_and_grads() {
        values.extend_from_slice(g);
    }
}

/// The network's parameters as one vector, in [`Sequential::params_and_grads`] order.
pub fn parameter_vector(net: &mut Sequential) -> Vec<f32> {
    let mut values = Vec::new();
    parameters_into(net, &mut values);
    values
}

/// [`parameter_vector`] into `values` (replacing what it held, keeping its allocation).
pub fn parameters_into(net: &mut Sequential, values: &mut Vec<f32>) {
    values.clear();
    for (p, _) in net.params_and_grads() {
        values.extend_from_slice(p);
    }
}

/// Set the network's parameters from a [`parameter_vector`] of the same design.
pub fn set_parameter_vector(net: &mut Sequential, values: &[f32]) -> Result<()> {
    let params = net.num_params();
    if values.len() != params {
        return Err(Error::InvalidArgument(format!(
            "{} parameter values for a network of {params}",
            values.len()
        )));
    }
    let mut rest = values;
    for (p, _) in net.params_and_grads() {
        let (head, tail) = rest.split_at(p.len());
        p.copy_from_slice(head);
        rest = tail;
    }
    Ok(())
}

/// Whether a network can be trained data-parallel: a BatchNormalization normalizes over the images it
/// sees, so splitting a batch would change what it computes (and its moving statistics would follow
/// one share only).
pub fn parallel_ready(net: &Sequential) -> bool {
    !net.layers.iter().any(|l| matches!(l, Layer::BatchNorm(_)))
}

/// An error unless `data`'s images have the network's input size.
fn check_images(net: &Sequential, data: &Dataset, which: &str) -> Result<()> {
    if net.input_len() == data.image_len() {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "the network takes {:?} inputs, the {which} images are {}×{}",
        net.input_shape, data.rows, data.cols
    )))
}

/// Mean loss and accuracy of `net` on `data` (in batches small enough to stay in cache).
pub fn evaluate(net: &mut Sequential, data: &Dataset) -> Result<(f32, f32)> {
    const BATCH: usize = 64;
    check_images(net, data, "validation")?;
    let classes = net.num_outputs();
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let mut y = Vec::new();
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(BATCH) {
        y.resize(chunk.len(), 0);
        fill_batch(data, chunk, net.input_buffer(chunk.len()), &mut y);
        let probabilities = net.outputs_probabilities();
        let outputs = net.forward_filled(chunk.len());
        let (loss, c) = if probabilities {
            cross_entropy_from_probabilities_eval(outputs, &y, classes)
        } else {
            softmax_cross_entropy_eval(outputs, &y, classes)
        };
        loss_sum += loss * chunk.len() as f64;
        correct += c;
    }
    let n = data.len().max(1) as f64;
    Ok(((loss_sum / n) as f32, (correct as f64 / n) as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(n: usize, side: usize) -> Dataset {
        Dataset {
            images: (0..n * side * side).map(|i| (i % 251) as u8).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            rows: side,
            cols: side,
        }
    }

    #[test]
    fn validation_images_of_another_size_are_an_error_not_a_panic() {
        let train = images(4, 28);
        let small = images(3, 20);
        let config = TrainConfig {
            epochs: 1,
            batch_size: 4,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(config, &train).unwrap();
        assert!(trainer.check_validation(&small).is_err());
        assert!(trainer.check_validation(&train).is_ok());
        trainer.step(&train).unwrap();
        assert!(trainer.end_epoch(&small).is_err());
        assert_eq!(trainer.epoch(), 0, "the epoch stays unfinished");
        assert!(trainer.end_epoch(&train).is_ok());
        assert!(Trainer::new(TrainConfig::default(), &small).is_err());
    }

    /// Random-looking images with labels, so gradients are not trivial.
    fn noisy(n: usize) -> Dataset {
        let mut rng = Rng::new(7);
        Dataset {
            images: (0..n * 784).map(|_| (rng.next_u64() % 256) as u8).collect(),
            labels: (0..n).map(|_| (rng.next_u64() % 10) as u8).collect(),
            rows: 28,
            cols: 28,
        }
    }

    /// Train `steps` steps split into `k` shares: share 0 on the trainer, the others on a second
    /// network given the trainer's parameters before each step (what the page's workers do).
    fn run_shared(k: usize, steps: usize, train: &Dataset) -> (Vec<f32>, Vec<StepReport>) {
        let config = TrainConfig {
            epochs: 2,
            batch_size: 13,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(config.clone(), train).unwrap();
        let mut helper = Sequential::new(&config.architecture, 99).unwrap();
        let mut labels = Vec::new();
        let mut reports = Vec::new();
        for _ in 0..steps {
            let shares = trainer.next_shares(train, k).unwrap();
            assert!(shares.len() <= k);
            set_parameter_vector(&mut helper, &parameter_vector(&mut trainer.net)).unwrap();
            let mut others = Vec::new();
            for share in &shares[1..] {
                let r = share_gradient(&mut helper, train, share, &mut labels);
                others.push((r, gradient_vector(&mut helper)));
            }
            let own = trainer.own_share(train, &shares[0]);
            let views: Vec<(ShareReport, &[f32])> =
                others.iter().map(|(r, g)| (*r, g.as_slice())).collect();
            let report = trainer.apply_shares(&own, &views).unwrap();
            if report.step == report.steps_per_epoch {
                trainer.end_epoch(train).unwrap();
            }
            reports.push(report);
        }
        (parameter_vector(&mut trainer.net), reports)
    }

    #[test]
    fn one_share_is_exactly_a_step_and_more_are_deterministic_and_close() {
        let train = noisy(40); // batches of 13, 13, 13, 1: the last one has fewer images than shares
        let config = TrainConfig {
            epochs: 2,
            batch_size: 13,
            ..TrainConfig::default()
        };
        let mut plain = Trainer::new(config, &train).unwrap();
        let mut plain_reports = Vec::new();
        for _ in 0..6 {
            let r = plain.step(&train).unwrap();
            if r.step == r.steps_per_epoch {
                plain.end_epoch(&train).unwrap();
            }
            plain_reports.push(r);
        }
        let plain_params = parameter_vector(&mut plain.net);
        let (one, one_reports) = run_shared(1, 6, &train);
        assert_eq!(
            one, plain_params,
            "one share must be bit-identical to step()"
        );
        assert_eq!(format!("{one_reports:?}"), format!("{plain_reports:?}"));
        let (three, _) = run_shared(3, 6, &train);
        assert_eq!(
            run_shared(3, 6, &train).0,
            three,
            "same shares, same result"
        );
        // the shares' weighted sum is the batch's mean gradient up to rounding
        let worst = three
            .iter()
            .zip(&plain_params)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-4,
            "3 shares moved a weight {worst} away from one"
        );
        assert!(
            three != plain_params,
            "different sums round differently somewhere"
        );
    }

    #[test]
    fn wrong_shares_are_errors() {
        let train = noisy(16);
        let config = TrainConfig {
            epochs: 1,
            batch_size: 8,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(config, &train).unwrap();
        let shares = trainer.next_shares(&train, 2).unwrap();
        let own = trainer.own_share(&train, &shares[0]);
        // the other share missing: 4 images of 8
        assert!(trainer.apply_shares(&own, &[]).is_err());
        let short = vec![0.0f32; 3];
        let other = ShareReport {
            n: 4,
            loss: 1.0,
            correct: 0,
        };
        assert!(trainer.apply_shares(&own, &[(other, &short)]).is_err());
        let mut net = Sequential::new(&Architecture::tutorial(), 0).unwrap();
        assert!(set_parameter_vector(&mut net, &short).is_err());
        assert!(parallel_ready(&net));
    }
}
