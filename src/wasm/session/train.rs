//! Training in the session, step by step so the worker can report progress between calls. The training
//! modules only (the `training` feature): the page's thread never trains, and leaving the trainer out
//! keeps the page's module and the evaluation module small.

use serde::{Deserialize, Serialize};

use super::{FLOAT, ModelInfo, Session};
use crate::data::Dataset;
use crate::design::Design;
use crate::error::{Error, Result};
use crate::quantize::{export_float, export_float_with_design, import_float};
use crate::tflite::write_model;
use crate::train::{EpochReport, Sequential, StepReport, TrainConfig, Trainer};

/// Training settings from the page.
#[derive(Clone, Debug, Deserialize)]
pub struct TrainSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub seed: u64,
    /// Train on the first `images` training images only (all of them when absent).
    #[serde(default)]
    pub images: Option<usize>,
    /// The model design as JSON (the format of [`crate::design`], Keras's layer names), checked
    /// before training starts; the tutorial's CNN when absent. The trained model's file carries it.
    #[serde(default)]
    pub design: Option<String>,
}

/// Progress of a training run.
#[derive(Clone, Debug, Serialize)]
pub struct TrainProgress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps_per_epoch: usize,
    pub loss: f32,
    pub accuracy: f32,
    /// Set when an epoch finished during this call (with validation on the test set).
    pub epoch_report: Option<EpochReport>,
    pub log_line: Option<String>,
    pub finished: bool,
    /// Steps done over all epochs, and the steps of the whole run.
    pub steps_done: usize,
    pub steps_total: usize,
}

/// A progress report of a run before its next steps.
pub(super) fn progress_of(
    trainer: &Trainer,
    steps_done: usize,
    steps_total: usize,
    train: &Dataset,
) -> TrainProgress {
    TrainProgress {
        epoch: trainer.epoch(),
        epochs: trainer.config.epochs,
        step: 0,
        steps_per_epoch: trainer.steps_per_epoch(train.len()),
        loss: f32::NAN,
        accuracy: 0.0,
        epoch_report: None,
        log_line: None,
        finished: trainer.finished(),
        steps_done,
        steps_total,
    }
}

/// Count step `r` of a run into `progress`; at the end of an epoch validate on `test` and say so
/// (true: the caller stops for this call).
pub(super) fn take_step(
    trainer: &mut Trainer,
    steps_done: &mut usize,
    r: &StepReport,
    test: Option<&Dataset>,
    progress: &mut TrainProgress,
) -> Result<bool> {
    *steps_done += 1;
    (
        progress.epoch,
        progress.step,
        progress.loss,
        progress.accuracy,
    ) = (r.epoch, r.step, r.loss, r.accuracy);
    let ended = r.step == r.steps_per_epoch;
    if ended {
        let validation =
            test.ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
        let report = trainer.end_epoch(validation)?;
        progress.log_line = Some(report.keras_line());
        progress.epoch_report = Some(report);
    }
    progress.steps_done = *steps_done;
    progress.finished = trainer.finished();
    Ok(ended)
}

/// A training run: the trainer and, when training on a subset, that subset.
pub(super) struct TrainRun {
    pub(super) trainer: Trainer,
    pub(super) subset: Option<Dataset>,
    /// The design the run trains, if the settings gave one.
    pub(super) design: Option<Design>,
    pub(super) steps_done: usize,
    pub(super) steps_total: usize,
}

impl Session {
    /// Start training from scratch (the training set must be loaded). Replaces a run in progress.
    pub fn train_begin(&mut self, settings: &TrainSettings) -> Result<TrainProgress> {
        let design = match &settings.design {
            Some(json) => {
                let design = Design::parse(json)?;
                design.summary()?; // the limits that keep it trainable here
                Some(design)
            }
            None => None,
        };
        self.begin(settings, design, None)
    }

    /// Continue training the float model in `bytes` (a file this library wrote, which carries its
    /// design) with fresh optimizer moments; the settings' design is ignored. Replaces a run in
    /// progress.
    pub fn train_begin_from(
        &mut self,
        settings: &TrainSettings,
        bytes: &[u8],
    ) -> Result<TrainProgress> {
        let (design, net) = import_float(bytes)?;
        design.summary()?;
        self.begin(settings, Some(design), Some(net))
    }

    fn begin(
        &mut self,
        settings: &TrainSettings,
        design: Option<Design>,
        net: Option<Sequential>,
    ) -> Result<TrainProgress> {
        let train = self
            .train
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("the training set is not loaded".into()))?;
        self.test()?; // validation after each epoch needs it
        let subset = match settings.images {
            Some(n) if n == 0 || n > train.len() => {
                return Err(Error::InvalidArgument(format!(
                    "training images must be 1–{}, got {n}",
                    train.len()
                )));
            }
            Some(n) if n < train.len() => Some(train.take(n)),
            _ => None,
        };
        let data = subset.as_ref().unwrap_or(train);
        let mut config = TrainConfig {
            epochs: settings.epochs,
            batch_size: settings.batch_size,
            learning_rate: settings.learning_rate,
            seed: settings.seed,
            ..TrainConfig::default()
        };
        if let Some(design) = &design {
            config.architecture = design.architecture()?;
        }
        let trainer = match net {
            Some(net) => Trainer::resume(config, net, data)?,
            None => Trainer::new(config, data)?,
        };
        trainer.check_validation(self.test()?)?;
        let steps_per_epoch = trainer.steps_per_epoch(data.len());
        let steps_total = steps_per_epoch.saturating_mul(settings.epochs);
        let progress = TrainProgress {
            epoch: 0,
            epochs: settings.epochs,
            step: 0,
            steps_per_epoch,
            loss: f32::NAN,
            accuracy: 0.0,
            epoch_report: None,
            log_line: None,
            finished: false,
            steps_done: 0,
            steps_total,
        };
        self.training = Some(TrainRun {
            trainer,
            subset,
            design,
            steps_done: 0,
            steps_total,
        });
        Ok(progress)
    }

    /// Run up to `steps` training steps (stopping early at the end of an epoch, which is validated on
    /// the test set).
    pub fn train_step(&mut self, steps: usize) -> Result<TrainProgress> {
        let run = self
            .training
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no training in progress".into()))?;
        let train = match (&run.subset, &self.train) {
            (Some(subset), _) => subset,
            (None, Some(train)) => train,
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "the training set is not loaded".into(),
                ));
            }
        };
        let mut progress = progress_of(&run.trainer, run.steps_done, run.steps_total, train);
        for _ in 0..steps.max(1) {
            let Some(r) = run.trainer.step(train) else {
                break;
            };
            let trainer = &mut run.trainer;
            if take_step(
                trainer,
                &mut run.steps_done,
                &r,
                self.test.as_ref(),
                &mut progress,
            )? {
                break;
            }
        }
        Ok(progress)
    }

    /// Make the trained network the float model (and drop the training state). The run must be
    /// finished: a model half-way through an epoch is not what the settings asked for.
    pub fn train_finish(&mut self) -> Result<ModelInfo> {
        let (model, bytes) = self.trained_model()?;
        // the run is dropped only once its model is in place
        let info = self.install(FLOAT, model, bytes)?;
        self.training = None;
        Ok(info)
    }

    /// The finished run's float model as a file, the run dropped (the training module's end of a run:
    /// it has no model slots; the worker loads the file where it converts and evaluates).
    pub fn train_finish_bytes(&mut self) -> Result<Vec<u8>> {
        let (_, bytes) = self.trained_model()?;
        self.training = None;
        Ok(bytes)
    }

    /// The finished run's float model and its file.
    fn trained_model(&self) -> Result<(crate::tflite::Model, Vec<u8>)> {
        let run = self
            .training
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("no training in progress".into()))?;
        if !run.trainer.finished() {
            return Err(Error::InvalidArgument(format!(
                "training is not finished ({}/{} steps)",
                run.steps_done, run.steps_total
            )));
        }
        let model = match &run.design {
            Some(design) => export_float_with_design(&run.trainer.net, design)?,
            None => export_float(&run.trainer.net)?,
        };
        let bytes = write_model(&model)?;
        Ok((model, bytes))
    }

    /// Stop a training run; the models are untouched. Returns whether a run was in progress.
    pub fn train_cancel(&mut self) -> bool {
        self.training.take().is_some()
    }

    /// Whether a training run is in progress.
    pub fn training(&self) -> bool {
        self.training.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tiny;
    use super::super::{IMAGE_LEN, QUANT};
    use super::*;
    use crate::tflite::read_model;

    fn settings(epochs: usize, images: Option<usize>) -> TrainSettings {
        TrainSettings {
            epochs,
            batch_size: 32,
            learning_rate: 0.001,
            seed: 0,
            images,
            design: None,
        }
    }

    #[test]
    fn a_design_trains_and_its_file_carries_it() {
        let (_, img, lab) = tiny(64);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        let bad = TrainSettings {
            design: Some(r#"{"name":"x","input_shape":[28,28],"layers":[{"type":"Flatten"},{"type":"Dense","units":3}]}"#.into()),
            ..settings(1, None)
        };
        let err = s.train_begin(&bad).unwrap_err().to_string();
        assert!(err.contains("layer 1 (Dense)"), "{err}");
        let mlp = crate::design::preset("mlp").unwrap();
        let good = TrainSettings {
            design: Some(mlp.json.into()),
            ..settings(1, None)
        };
        s.train_begin(&good).unwrap();
        assert!(s.train_step(10).unwrap().finished);
        s.train_finish().unwrap();
        let bytes = s.model_bytes(FLOAT).unwrap();
        let (design, _) = crate::quantize::import_float(&bytes).unwrap();
        assert_eq!(design, mlp.design().unwrap());
    }

    #[test]
    fn training_resumes_from_a_file_with_its_weights() {
        let (_, img, lab) = tiny(64);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        let mlp = crate::design::preset("mlp").unwrap();
        let first = TrainSettings {
            design: Some(mlp.json.into()),
            ..settings(1, None)
        };
        s.train_begin(&first).unwrap();
        s.train_step(10).unwrap();
        s.train_finish().unwrap();
        let trained = s.model_bytes(FLOAT).unwrap();
        // the design comes from the file, whatever the settings say; the run starts from its weights
        let resumed = TrainSettings {
            design: None,
            learning_rate: 1e-9,
            ..settings(1, None)
        };
        s.train_begin_from(&resumed, &trained).unwrap();
        s.train_step(10).unwrap();
        s.train_finish().unwrap();
        let again = s.model_bytes(FLOAT).unwrap();
        let (design, net) = crate::quantize::import_float(&again).unwrap();
        assert_eq!(design, mlp.design().unwrap());
        let (_, before) = crate::quantize::import_float(&trained).unwrap();
        // a learning rate of 1e-9 moves the weights by at most about 2 steps of 1e-9
        let (a, b) = (net.layers[1].spec(), before.layers[1].spec());
        assert_eq!(a, b);
        let max_change = match (&net.layers[1], &before.layers[1]) {
            (crate::train::layers::Layer::Dense(x), crate::train::layers::Layer::Dense(y)) => x
                .weights
                .iter()
                .zip(&y.weights)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max),
            _ => panic!("the mlp's second layer is a Dense"),
        };
        assert!(max_change < 1e-6, "{max_change}");
        // bytes that are not a model of ours: an error, and no run
        assert!(s.train_begin_from(&resumed, &[0u8; 16]).is_err());
        assert!(!s.training());
    }

    #[test]
    fn a_new_training_set_ends_the_run_in_progress() {
        // the run's batches index the set it started with; the new one is smaller
        let (_, img, lab) = tiny(64);
        let (_, small_img, small_lab) = tiny(8);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        s.train_begin(&settings(1, None)).unwrap();
        s.train_step(1).unwrap();
        s.set_train_set(&small_img, &small_lab).unwrap();
        assert!(!s.training());
        assert!(s.train_step(1).is_err());
    }

    #[test]
    fn small_end_to_end_session() {
        // a tiny training set of 64 random-ish images, the tutorial network, 1 epoch of 2 steps
        let n = 64;
        let (images, img, lab) = tiny(n);
        let mut s = Session::new();
        assert_eq!(s.set_train_set(&img, &lab).unwrap(), n);
        assert_eq!(s.set_test_set(&img, &lab).unwrap(), n);
        let p = s.train_begin(&settings(1, None)).unwrap();
        assert_eq!((p.steps_done, p.steps_total), (0, 2));
        let p = s.train_step(10).unwrap();
        assert!(p.finished && p.log_line.is_some(), "{p:?}");
        assert_eq!((p.steps_done, p.steps_total), (2, 2));
        let info = s.train_finish().unwrap();
        assert_eq!((info.mode.as_str(), info.takes_mnist), ("float", true));
        assert!(!s.training());
        let q = s.quantize("integer-only-uint8", 16).unwrap();
        assert_eq!((q.input.dtype.as_str(), q.input.zero_point), ("uint8", 0));
        let pred = s.predict(QUANT, &images[..IMAGE_LEN]).unwrap();
        assert_eq!(pred.probabilities.len(), 10);
        assert!((pred.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        s.eval_begin(&[FLOAT.to_string(), QUANT.to_string()])
            .unwrap();
        while s.eval_step(10).unwrap().done < 2 * n {}
        let r = s.eval_report().unwrap();
        assert_eq!(r.total, n);
        assert_eq!(
            r.models[FLOAT].confusion.iter().flatten().sum::<u32>() as usize,
            n
        );
        // the downloadable bytes load back into an identical model
        let bytes = s.model_bytes(QUANT).unwrap();
        assert_eq!(read_model(&bytes).unwrap(), s.slots[QUANT].model);
    }

    #[test]
    fn training_on_a_subset_cancelling_and_finishing_early() {
        let (_, img, lab) = tiny(100);
        let mut s = Session::new();
        assert!(
            s.train_begin(&settings(1, None)).is_err(),
            "no training set"
        );
        s.set_train_set(&img, &lab).unwrap();
        assert!(
            s.train_begin(&settings(1, None)).is_err(),
            "no test set for validation"
        );
        s.set_test_set(&img, &lab).unwrap();
        assert!(s.train_begin(&settings(1, Some(0))).is_err());
        assert!(s.train_begin(&settings(1, Some(101))).is_err());
        assert!(s.train_begin(&settings(0, None)).is_err());
        // 64 of the 100 images, 2 epochs of 2 steps
        let p = s.train_begin(&settings(2, Some(64))).unwrap();
        assert_eq!((p.steps_per_epoch, p.steps_total), (2, 4));
        let p = s.train_step(1).unwrap();
        assert_eq!(
            (p.epoch, p.step, p.steps_done, p.finished),
            (0, 1, 1, false)
        );
        assert!(p.loss.is_finite() && p.log_line.is_none());
        assert!(s.train_finish().is_err(), "not finished");
        assert!(s.training(), "a failed finish keeps the run");
        let p = s.train_step(10).unwrap(); // stops at the end of the epoch
        assert_eq!((p.epoch, p.step, p.steps_done), (0, 2, 2));
        assert!(
            p.epoch_report.is_some()
                && p.log_line.as_deref().unwrap_or("").starts_with("Epoch 1/2")
        );
        // cancelling leaves the slots untouched
        assert!(s.train_cancel());
        assert!(!s.train_cancel());
        assert!(s.train_step(1).is_err());
        assert!(s.info(FLOAT).is_err());
        // a full run on the subset
        s.train_begin(&settings(2, Some(64))).unwrap();
        let mut lines = 0;
        loop {
            let p = s.train_step(3).unwrap();
            lines += p.log_line.is_some() as usize;
            if p.finished {
                assert_eq!(p.steps_done, 4);
                break;
            }
        }
        assert_eq!(lines, 2);
        assert_eq!(s.train_finish().unwrap().mode, "float");
    }
}
