//! What the web page does, as plain Rust: datasets, model slots (float, quantized, uploaded), drawing
//! preprocessing, predictions, chunked evaluation and step-wise training. The `#[wasm_bindgen]` layer in
//! `bindings.rs` only converts types; keeping this part target-independent lets native tests cover it.

use std::collections::BTreeMap;

#[cfg(feature = "training")]
use serde::Deserialize;
use serde::Serialize;

use crate::data::{Dataset, IdxType, draw, parse_idx};
use crate::error::{Error, Result};
use crate::eval::{self, ImageEncoder};
pub use crate::eval::{IoDetails, Prediction};
use crate::interp::Interpreter;
#[cfg(feature = "training")]
use crate::quantize::export_float;
use crate::quantize::{ConvertOptions, Mode, calibrate_first, convert, detect_mode};
use crate::tflite::{Model, Report, inspect, read_model, write_model};
#[cfg(feature = "training")]
use crate::train::{EpochReport, TrainConfig, Trainer};

/// A loaded model: its IR, its file bytes and a ready interpreter.
pub struct Slot {
    pub model: Model,
    pub bytes: Vec<u8>,
    pub interp: Interpreter,
    pub mode: Mode,
    /// Turns pixels into the model's input (`None` if its input cannot take an image).
    encoder: Option<ImageEncoder>,
}

impl Slot {
    /// Run the model on an image (`pixels`, row-major bytes).
    fn predict(&mut self, pixels: &[u8]) -> Result<Prediction> {
        match &self.encoder {
            Some(encoder) => encoder.predict(&mut self.interp, pixels),
            // building the encoder again gives the error that says why the input takes no image
            None => eval::predict(&mut self.interp, pixels),
        }
    }

    /// The digit the model sees in an image.
    fn classify(&mut self, pixels: &[u8]) -> Result<usize> {
        match &self.encoder {
            Some(encoder) => encoder.classify(&mut self.interp, pixels),
            None => ImageEncoder::for_input(&self.interp)?.classify(&mut self.interp, pixels),
        }
    }
}

/// What the page shows about a loaded model.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    pub slot: String,
    pub mode: String,
    pub label: String,
    pub bytes: usize,
    pub input: IoDetails,
    pub output: IoDetails,
    /// Whether the model takes a 28×28 image (so drawings and the test set can run through it).
    pub takes_mnist: bool,
    pub report: Report,
}

/// A conversion as the page offers it: its id (a [`Mode::name`]) and the file name the tutorial saves
/// its model under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModeFile {
    pub id: &'static str,
    pub file: &'static str,
}

/// Progress of a chunked evaluation. Slots are evaluated one after the other (so the page can time
/// each model): `done` and `total` count images over all slots.
#[derive(Clone, Debug, Serialize)]
pub struct EvalProgress {
    pub done: usize,
    pub total: usize,
    /// The slot the last step worked on, and how many of its images are done.
    pub slot: String,
    pub slot_done: usize,
}

/// Results of evaluating one or more slots on the test set.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub total: usize,
    /// Per slot: accuracy in [0, 1] and a 10×10 confusion matrix (row = true label, column = prediction).
    pub models: BTreeMap<String, SlotEval>,
    /// Fraction of images where the first two slots agree, and the images where they do not.
    pub agreement: Option<f64>,
    pub disagreements: Vec<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SlotEval {
    pub accuracy: f64,
    pub correct: usize,
    pub confusion: Vec<Vec<u32>>,
    pub label: String,
}

struct EvalState {
    slots: Vec<String>,
    predictions: Vec<Vec<u8>>,
    /// Index into `slots` of the slot being evaluated.
    current: usize,
}

/// Training settings from the page.
#[cfg(feature = "training")]
#[derive(Clone, Debug, Deserialize)]
pub struct TrainSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub seed: u64,
    /// Train on the first `images` training images only (all of them when absent).
    #[serde(default)]
    pub images: Option<usize>,
}

/// Progress of a training run.
#[cfg(feature = "training")]
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

/// A training run: the trainer and, when training on a subset, that subset.
#[cfg(feature = "training")]
struct TrainRun {
    trainer: Trainer,
    subset: Option<Dataset>,
    steps_done: usize,
    steps_total: usize,
}

/// The page's state.
#[derive(Default)]
pub struct Session {
    pub test: Option<Dataset>,
    pub train: Option<Dataset>,
    /// Representative images (the first training images), when the full training set is not loaded.
    pub representative: Option<Vec<u8>>,
    pub slots: BTreeMap<String, Slot>,
    #[cfg(feature = "training")]
    training: Option<TrainRun>,
    eval: Option<EvalState>,
}

/// The slot names the page uses.
pub const FLOAT: &str = "float";
pub const QUANT: &str = "quant";
pub const UPLOAD: &str = "upload";

/// Pixels of an MNIST image.
pub const IMAGE_LEN: usize = 28 * 28;
/// Outputs of a model the test set can score: one per digit.
pub const CLASSES: usize = 10;

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Load the MNIST test set (two IDX files, plain or gzip).
    pub fn set_test_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize> {
        let data = Dataset::from_bytes(images, labels)?;
        check_mnist(&data)?;
        let n = data.len();
        self.test = Some(data);
        self.eval = None;
        Ok(n)
    }

    /// Load the MNIST training set.
    pub fn set_train_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize> {
        let data = Dataset::from_bytes(images, labels)?;
        check_mnist(&data)?;
        let n = data.len();
        self.train = Some(data);
        // a run in progress indexes the set it started with
        #[cfg(feature = "training")]
        {
            self.training = None;
        }
        Ok(n)
    }

    /// Load representative images only (an IDX of u8 28×28 images, plain or gzip).
    pub fn set_representative_images(&mut self, images: &[u8]) -> Result<usize> {
        let idx = parse_idx(images)?;
        let n = match idx.dims[..] {
            [n, 28, 28] if n > 0 && idx.dtype == IdxType::U8 => n,
            _ => {
                return Err(Error::InvalidDataset(format!(
                    "representative images must be n×28×28 unsigned bytes, got {:?} {:?}",
                    idx.dtype, idx.dims
                )));
            }
        };
        self.representative = Some(idx.data);
        Ok(n)
    }

    fn test(&self) -> Result<&Dataset> {
        self.test
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("the test set is not loaded yet".into()))
    }

    /// Pixels of test image `index`.
    pub fn test_image(&self, index: usize) -> Result<Vec<u8>> {
        let test = self.test()?;
        if index >= test.len() {
            return Err(Error::InvalidArgument(format!(
                "test image {index} does not exist (0–{})",
                test.len().saturating_sub(1)
            )));
        }
        Ok(test.image(index).to_vec())
    }

    pub fn test_label(&self, index: usize) -> Result<u8> {
        let test = self.test()?;
        test.labels
            .get(index)
            .copied()
            .ok_or_else(|| Error::InvalidArgument(format!("test image {index} does not exist")))
    }

    /// Load `.tflite` bytes into `slot`. On any error the slot keeps its previous model.
    pub fn load_model(&mut self, slot: &str, bytes: &[u8]) -> Result<ModelInfo> {
        // the worker is sent the page's models before each evaluation: most are the ones it holds
        if self.slots.get(slot).is_some_and(|s| s.bytes == bytes) {
            self.eval = None;
            return self.info(slot);
        }
        let model = read_model(bytes)?;
        self.install(slot, model, bytes.to_vec())
    }

    fn install(&mut self, slot: &str, model: Model, bytes: Vec<u8>) -> Result<ModelInfo> {
        let interp = Interpreter::new(&model)?;
        if interp.inputs().is_empty() || interp.outputs().is_empty() {
            return Err(Error::InvalidModel(
                "the model has no input or no output".into(),
            ));
        }
        let mode = detect_mode(&model);
        let encoder = ImageEncoder::for_input(&interp).ok();
        self.slots.insert(
            slot.to_string(),
            Slot {
                model,
                bytes,
                interp,
                mode,
                encoder,
            },
        );
        self.eval = None;
        self.info(slot)
    }

    /// Details of the model in `slot`.
    pub fn info(&self, slot: &str) -> Result<ModelInfo> {
        let s = self.slot(slot)?;
        let input = &s.interp.inputs()[0];
        Ok(ModelInfo {
            slot: slot.to_string(),
            mode: s.mode.name().to_string(),
            label: s.mode.label().to_string(),
            bytes: s.bytes.len(),
            input: input.into(),
            output: (&s.interp.outputs()[0]).into(),
            takes_mnist: input.num_elements() == IMAGE_LEN,
            report: inspect(&s.model, s.bytes.len()),
        })
    }

    fn slot(&self, slot: &str) -> Result<&Slot> {
        self.slots
            .get(slot)
            .ok_or_else(|| Error::InvalidArgument(format!("no model in slot {slot:?}")))
    }

    /// The `.tflite` bytes of `slot`.
    pub fn model_bytes(&self, slot: &str) -> Result<Vec<u8>> {
        Ok(self.slot(slot)?.bytes.clone())
    }

    /// Quantize the float model into the quantized slot, calibrating on the first `samples`
    /// representative images (training images).
    pub fn quantize(&mut self, mode: &str, samples: usize) -> Result<ModelInfo> {
        let mode: Mode = mode.parse()?;
        if !(1..=60_000).contains(&samples) {
            return Err(Error::InvalidArgument(format!(
                "representative samples must be 1–60000, got {samples}"
            )));
        }
        let float = &self.slot(FLOAT)?.model;
        let calibration = if mode.needs_calibration() {
            let pool: &[u8] = match (&self.train, &self.representative) {
                (Some(train), _) => &train.images,
                (None, Some(images)) => images,
                (None, None) => {
                    return Err(Error::InvalidArgument(
                        "no representative images loaded".into(),
                    ));
                }
            };
            Some(calibrate_first(float, pool, IMAGE_LEN, samples)?)
        } else {
            None
        };
        let model = convert(float, &ConvertOptions::new(mode), calibration.as_ref())?;
        let bytes = write_model(&model)?;
        self.install(QUANT, model, bytes)
    }

    /// The tutorial's conversions in the page's order ([`Mode::ALL`]).
    pub fn modes() -> Vec<ModeFile> {
        Mode::ALL
            .iter()
            .map(|m| ModeFile {
                id: m.name(),
                file: m.file_name(),
            })
            .collect()
    }

    /// Turn a grayscale drawing into MNIST pixels.
    pub fn preprocess(gray: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
        draw::preprocess(gray, width, height).map_err(Error::InvalidArgument)
    }

    /// Run the model in `slot` on 784 pixels.
    pub fn predict(&mut self, slot: &str, pixels: &[u8]) -> Result<Prediction> {
        let s = self
            .slots
            .get_mut(slot)
            .ok_or_else(|| Error::InvalidArgument(format!("no model in slot {slot:?}")))?;
        s.predict(pixels)
    }

    /// Start evaluating `slots` on the whole test set.
    pub fn eval_begin(&mut self, slots: &[String]) -> Result<EvalProgress> {
        let per_slot = self.test()?.len();
        if slots.is_empty() {
            return Err(Error::InvalidArgument("no model to evaluate".into()));
        }
        let mut unique: Vec<String> = Vec::with_capacity(slots.len());
        for s in slots {
            let interp = &self.slot(s)?.interp;
            if interp.inputs()[0].num_elements() != IMAGE_LEN {
                return Err(Error::InvalidArgument(format!(
                    "the model in {s:?} does not take a 28×28 image"
                )));
            }
            let classes = interp.outputs()[0].num_elements();
            if classes != CLASSES {
                return Err(Error::InvalidArgument(format!(
                    "the model in {s:?} gives {classes} outputs, not one per digit ({CLASSES})"
                )));
            }
            if !unique.contains(s) {
                unique.push(s.clone());
            }
        }
        let progress = EvalProgress {
            done: 0,
            total: per_slot * unique.len(),
            slot: slots[0].clone(),
            slot_done: 0,
        };
        self.eval = Some(EvalState {
            predictions: (0..unique.len())
                .map(|_| Vec::with_capacity(per_slot))
                .collect(),
            slots: unique,
            current: 0,
        });
        Ok(progress)
    }

    /// Evaluate the next `count` images of the slot being evaluated (never crossing into the next slot,
    /// so each step's time belongs to one model).
    pub fn eval_step(&mut self, count: usize) -> Result<EvalProgress> {
        let test = self
            .test
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
        let state = self
            .eval
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no evaluation in progress".into()))?;
        let per_slot = test.len();
        let total = per_slot * state.slots.len();
        if state.current >= state.slots.len() {
            let slot = state.slots.last().cloned().unwrap_or_default();
            return Ok(EvalProgress {
                done: total,
                total,
                slot,
                slot_done: per_slot,
            });
        }
        let name = state.slots[state.current].clone();
        let preds = &mut state.predictions[state.current];
        let slot = self
            .slots
            .get_mut(&name)
            .ok_or_else(|| Error::InvalidArgument(format!("no model in slot {name:?}")))?;
        let start = preds.len();
        let end = start.saturating_add(count.max(1)).min(per_slot);
        for i in start..end {
            // below CLASSES: eval_begin checked the output size
            preds.push(slot.classify(test.image(i))? as u8);
        }
        let slot_done = preds.len();
        let done = state.current * per_slot + slot_done;
        if slot_done >= per_slot {
            state.current += 1;
        }
        Ok(EvalProgress {
            done,
            total,
            slot: name,
            slot_done,
        })
    }

    /// The results once every image is done.
    pub fn eval_report(&self) -> Result<EvalReport> {
        let test = self.test()?;
        let state = self
            .eval
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("no evaluation in progress".into()))?;
        if state.current < state.slots.len() {
            return Err(Error::InvalidArgument(format!(
                "evaluation not finished ({} of {} models done)",
                state.current,
                state.slots.len()
            )));
        }
        let mut models = BTreeMap::new();
        for (name, preds) in state.slots.iter().zip(&state.predictions) {
            let score = eval::score(preds, &test.labels);
            let label = self
                .slots
                .get(name)
                .map(|s| s.mode.label().to_string())
                .unwrap_or_default();
            models.insert(
                name.clone(),
                SlotEval {
                    accuracy: score.accuracy.fraction(),
                    correct: score.accuracy.correct,
                    confusion: score.confusion,
                    label,
                },
            );
        }
        let (agreement, disagreements) = match state.predictions.as_slice() {
            [a, b, ..] => {
                let c = eval::compare(a, b, test.len());
                (Some(c.agreement), c.disagreements)
            }
            _ => (None, Vec::new()),
        };
        Ok(EvalReport {
            total: test.len(),
            models,
            agreement,
            disagreements,
        })
    }
}

/// Training, step by step (the worker's build only: the page's thread never trains, and leaving the
/// trainer out keeps the page's wasm module small).
#[cfg(feature = "training")]
impl Session {
    /// Start training from scratch (the training set must be loaded). Replaces a run in progress.
    pub fn train_begin(&mut self, settings: &TrainSettings) -> Result<TrainProgress> {
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
        let config = TrainConfig {
            epochs: settings.epochs,
            batch_size: settings.batch_size,
            learning_rate: settings.learning_rate,
            seed: settings.seed,
            ..TrainConfig::default()
        };
        let trainer = Trainer::new(config, data)?;
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
        let trainer = &mut run.trainer;
        let mut progress = TrainProgress {
            epoch: trainer.epoch(),
            epochs: trainer.config.epochs,
            step: 0,
            steps_per_epoch: trainer.steps_per_epoch(train.len()),
            loss: f32::NAN,
            accuracy: 0.0,
            epoch_report: None,
            log_line: None,
            finished: trainer.finished(),
            steps_done: run.steps_done,
            steps_total: run.steps_total,
        };
        for _ in 0..steps.max(1) {
            let Some(r) = trainer.step(train) else { break };
            run.steps_done += 1;
            (
                progress.epoch,
                progress.step,
                progress.loss,
                progress.accuracy,
            ) = (r.epoch, r.step, r.loss, r.accuracy);
            if r.step == r.steps_per_epoch {
                let validation = self
                    .test
                    .as_ref()
                    .ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
                let report = trainer.end_epoch(validation)?;
                progress.log_line = Some(report.keras_line());
                progress.epoch_report = Some(report);
                break;
            }
        }
        progress.steps_done = run.steps_done;
        progress.finished = trainer.finished();
        Ok(progress)
    }

    /// Make the trained network the float model (and drop the training state). The run must be
    /// finished: a model half-way through an epoch is not what the settings asked for.
    pub fn train_finish(&mut self) -> Result<ModelInfo> {
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
        let model = export_float(&run.trainer.net)?;
        let bytes = write_model(&model)?;
        // the run is dropped only once its model is in place
        let info = self.install(FLOAT, model, bytes)?;
        self.training = None;
        Ok(info)
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

fn check_mnist(data: &Dataset) -> Result<()> {
    if data.image_len() != IMAGE_LEN {
        return Err(Error::InvalidDataset(format!(
            "images are {}×{}, not 28×28",
            data.rows, data.cols
        )));
    }
    Ok(())
}

#[cfg(test)]
#[cfg(feature = "training")]
mod tests {

    use super::*;
    use crate::data::idx::write_idx_u8;

    #[test]
    fn modes_list_every_conversion_once_with_the_tutorial_file_names() {
        let modes = Session::modes();
        let ids: Vec<&str> = modes.iter().map(|m| m.id).collect();
        assert_eq!(
            ids,
            [
                "float",
                "dynamic-range",
                "full-integer",
                "integer-only-uint8",
                "integer-only-int8"
            ]
        );
        assert_eq!(modes[2].file, "mnist_fullint_floatio.tflite");
        // each id is one quantize takes: without a float model, the error is about the model
        let mut s = Session::new();
        for m in &modes {
            let err = s.quantize(m.id, 1).unwrap_err().to_string();
            assert!(err.contains("no model in slot"), "{}: {err}", m.id);
        }
    }

    #[test]
    fn slots_keep_their_model_when_a_load_fails() {
        let mut s = Session::new();
        assert!(s.load_model(UPLOAD, b"not a tflite file").is_err());
        assert!(s.info(UPLOAD).is_err());
        assert!(s.predict(UPLOAD, &[0; 784]).is_err());
        assert!(s.quantize("integer-only-uint8", 100).is_err()); // no float model yet
        assert!(s.quantize("bogus", 100).is_err());
        // a slot that holds a model keeps it through a failed load
        let (mut s, images) = trained(64);
        let bytes = s.model_bytes(FLOAT).unwrap();
        let before = s.predict(FLOAT, &images[..IMAGE_LEN]).unwrap().class;
        assert!(s.load_model(FLOAT, &bytes[..bytes.len() / 2]).is_err());
        assert_eq!(s.model_bytes(FLOAT).unwrap(), bytes);
        assert_eq!(
            s.predict(FLOAT, &images[..IMAGE_LEN]).unwrap().class,
            before
        );
    }

    /// A tiny MNIST-shaped dataset: `n` deterministic pseudo-random images, labels cycling 0–9.
    fn tiny(n: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let images: Vec<u8> = (0..n * IMAGE_LEN)
            .map(|i| ((i * 7919) % 256) as u8)
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let img = write_idx_u8(&[n, 28, 28], &images).unwrap();
        let lab = write_idx_u8(&[n], &labels).unwrap();
        (images, img, lab)
    }

    fn settings(epochs: usize, images: Option<usize>) -> TrainSettings {
        TrainSettings {
            epochs,
            batch_size: 32,
            learning_rate: 0.001,
            seed: 0,
            images,
        }
    }

    /// A session with a float model trained for one short epoch on `n` tiny images.
    fn trained(n: usize) -> (Session, Vec<u8>) {
        let (images, img, lab) = tiny(n);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        s.train_begin(&settings(1, None)).unwrap();
        while !s.train_step(10).unwrap().finished {}
        s.train_finish().unwrap();
        (s, images)
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
    fn evaluation_needs_one_output_per_digit_and_counts_each_slot_once() {
        let (mut s, _) = trained(64);
        let p = s.eval_begin(&[FLOAT.into(), FLOAT.into()]).unwrap();
        assert_eq!(p.total, 64);
        // a model with 784 inputs and 20 outputs: its predictions could not be scored as digits
        let mut arch = crate::train::Architecture::tutorial();
        if let Some(crate::train::LayerSpec::Dense { units, .. }) = arch.layers.last_mut() {
            *units = 20;
        }
        let net = crate::train::Sequential::new(&arch, 0).unwrap();
        let bytes = write_model(&export_float(&net).unwrap()).unwrap();
        s.load_model(UPLOAD, &bytes).unwrap();
        let err = s.eval_begin(&[UPLOAD.into()]).unwrap_err().to_string();
        assert!(err.contains("20 outputs"), "{err}");
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
    fn evaluation_runs_one_slot_after_the_other_and_matches_single_predictions() {
        let n = 40;
        let (mut s, images) = trained(n);
        s.quantize("integer-only-int8", 10).unwrap();
        let slots = [FLOAT.to_string(), QUANT.to_string()];
        let p = s.eval_begin(&slots).unwrap();
        assert_eq!((p.done, p.total), (0, 2 * n));
        assert!(s.eval_report().is_err(), "not finished yet");
        // steps never cross from one slot into the next
        let p = s.eval_step(25).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (FLOAT, 25, 25));
        let p = s.eval_step(25).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (FLOAT, 40, 40));
        let p = s.eval_step(100).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (QUANT, 40, 80));
        let p = s.eval_step(100).unwrap(); // past the end: stays done
        assert_eq!((p.done, p.total), (80, 80));
        let r = s.eval_report().unwrap();
        // the report agrees with one prediction at a time
        let mut differ = Vec::new();
        for i in 0..n {
            let px = &images[i * IMAGE_LEN..(i + 1) * IMAGE_LEN];
            let (a, b) = (
                s.predict(FLOAT, px).unwrap().class,
                s.predict(QUANT, px).unwrap().class,
            );
            assert!(r.models[FLOAT].confusion[i % 10][a] > 0);
            if a != b {
                differ.push(i);
            }
        }
        assert_eq!(r.disagreements, differ);
        assert_eq!(r.agreement, Some(1.0 - differ.len() as f64 / n as f64));
        let correct = r.models[QUANT].correct;
        assert_eq!(r.models[QUANT].accuracy, correct as f64 / n as f64);
        // loading a model drops the evaluation
        s.quantize("integer-only-uint8", 10).unwrap();
        assert!(s.eval_report().is_err());
        assert!(s.eval_begin(&[]).is_err());
        assert!(s.eval_begin(&["nothing".to_string()]).is_err());
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

    #[test]
    fn quantizing_keeps_the_previous_model_on_error_and_uses_the_first_images() {
        let (mut s, images) = trained(64);
        let first = s.quantize("integer-only-uint8", 20).unwrap();
        assert!(s.quantize("integer-only-uint8", 0).is_err());
        assert!(s.quantize("bogus", 10).is_err());
        assert_eq!(s.info(QUANT).unwrap().bytes, first.bytes);
        assert_eq!(s.info(QUANT).unwrap().mode, "integer-only-uint8");
        // calibrating on representative images only gives the same file as on the training set
        let with_train = s.model_bytes(QUANT).unwrap();
        let mut r = Session::new();
        r.load_model(FLOAT, &s.model_bytes(FLOAT).unwrap()).unwrap();
        assert!(
            r.quantize("integer-only-uint8", 20).is_err(),
            "no representative images"
        );
        r.set_representative_images(
            &write_idx_u8(&[20, 28, 28], &images[..20 * IMAGE_LEN]).unwrap(),
        )
        .unwrap();
        r.quantize("integer-only-uint8", 20).unwrap();
        assert_eq!(r.model_bytes(QUANT).unwrap(), with_train);
        // more samples than loaded: all of them
        r.quantize("integer-only-uint8", 1000).unwrap();
        assert_eq!(r.model_bytes(QUANT).unwrap(), with_train);
        // every mode, with the I/O the tutorial prints
        for (mode, input, output) in [
            ("float", "float32", "float32"),
            ("dynamic-range", "float32", "float32"),
            ("full-integer", "float32", "float32"),
            ("integer-only-uint8", "uint8", "uint8"),
            ("integer-only-int8", "int8", "int8"),
        ] {
            let info = r.quantize(mode, 20).unwrap();
            assert_eq!(
                (info.input.dtype.as_str(), info.output.dtype.as_str()),
                (input, output),
                "{mode}"
            );
            assert!(info.takes_mnist);
            let p = r.predict(QUANT, &images[..IMAGE_LEN]).unwrap();
            assert_eq!(p.output.dtype, output);
        }
        assert!(
            r.set_representative_images(&write_idx_u8(&[2, 10, 10], &[0; 200]).unwrap())
                .is_err()
        );
    }

    #[test]
    fn uploads_and_bad_inputs_give_errors_not_panics() {
        let (mut s, _) = trained(32);
        let good = s.model_bytes(FLOAT).unwrap();
        let info = s.load_model(UPLOAD, &good).unwrap();
        assert_eq!(info.slot, UPLOAD);
        // a truncated file is an error and the slot keeps its model
        assert!(s.load_model(UPLOAD, &good[..good.len() / 2]).is_err());
        assert_eq!(s.info(UPLOAD).unwrap().bytes, good.len());
        // wrong pixel counts, unknown slots, missing images
        assert!(s.predict(UPLOAD, &[0; 10]).is_err());
        assert!(s.predict("nothing", &[0; IMAGE_LEN]).is_err());
        assert!(s.test_image(32).is_err());
        assert!(s.test_label(usize::MAX).is_err());
        assert!(s.set_test_set(b"junk", b"junk").is_err());
        assert_eq!(
            s.test.as_ref().map(|t| t.len()),
            Some(32),
            "the old test set stays"
        );
        assert!(Session::preprocess(&[0; 10], 3, 3).is_err());
    }

    #[test]
    fn a_vertical_stroke_becomes_a_narrow_centred_digit() {
        let (w, h) = (280, 280);
        let gray: Vec<u8> = (0..w * h)
            .map(|i| {
                if (130..150).contains(&(i % w)) && (40..240).contains(&(i / w)) {
                    255
                } else {
                    0
                }
            })
            .collect();
        let px = Session::preprocess(&gray, w, h).unwrap();
        assert_eq!(px.len(), IMAGE_LEN);
        let ink: Vec<usize> = (0..IMAGE_LEN).filter(|&i| px[i] > 0).collect();
        assert!(!ink.is_empty(), "the stroke vanished");
        assert!(
            ink.iter()
                .all(|&i| (12..16).contains(&(i % 28)) && (4..24).contains(&(i / 28))),
            "{ink:?}"
        );
    }
}
