//! What the web page does, as plain Rust: datasets, model slots (float, quantized, uploaded), drawing
//! preprocessing, predictions, chunked evaluation and step-wise training. The `#[wasm_bindgen]` layer in
//! `bindings.rs` only converts types; keeping this part target-independent lets native tests cover it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, draw, parse_idx};
use crate::error::{Error, Result};
use crate::interp::{Interpreter, TensorInfo, eval};
use crate::quantize::{ConvertOptions, IoType, Mode, calibrate, convert, detect_mode, export_float};
use crate::tflite::{Report, inspect, read_model, write_model, Model};
use crate::train::{EpochReport, TrainConfig, Trainer};

/// A loaded model: its IR, its file bytes and a ready interpreter.
pub struct Slot {
    pub model: Model,
    pub bytes: Vec<u8>,
    pub interp: Interpreter,
    pub mode: Mode,
}

/// Input or output details as the tutorial prints them.
#[derive(Clone, Debug, Serialize)]
pub struct IoDetails {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub scale: f32,
    pub zero_point: i32,
}

impl From<&TensorInfo> for IoDetails {
    fn from(t: &TensorInfo) -> IoDetails {
        IoDetails { dtype: t.dtype.name().to_lowercase(), shape: t.shape.clone(), scale: t.scale, zero_point: t.zero_point }
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

/// One prediction.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    pub class: usize,
    /// Softmax of the (dequantized) output.
    pub probabilities: Vec<f32>,
    /// The raw output values as numbers (uint8/int8 codes for quantized outputs, floats otherwise).
    pub raw: Vec<f64>,
    pub output: IoDetails,
}

/// Progress of a chunked evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvalProgress {
    pub done: usize,
    pub total: usize,
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
    next: usize,
}

/// Training settings from the page.
#[derive(Clone, Debug, Deserialize)]
pub struct TrainSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub seed: u64,
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
}

/// The page's state.
#[derive(Default)]
pub struct Session {
    pub test: Option<Dataset>,
    pub train: Option<Dataset>,
    /// Representative images (the first training images), when the full training set is not loaded.
    pub representative: Option<Vec<u8>>,
    pub slots: BTreeMap<String, Slot>,
    trainer: Option<Trainer>,
    eval: Option<EvalState>,
}

/// The slot names the page uses.
pub const FLOAT: &str = "float";
pub const QUANT: &str = "quant";
pub const UPLOAD: &str = "upload";

/// Pixels of an MNIST image.
pub const IMAGE_LEN: usize = 28 * 28;

fn mode_from_name(name: &str) -> Result<Mode> {
    Ok(match name {
        "float" => Mode::Float,
        "dynamic-range" => Mode::DynamicRange,
        "full-integer" => Mode::FullInteger,
        "integer-only-uint8" => Mode::IntegerOnly(IoType::UInt8),
        "integer-only-int8" => Mode::IntegerOnly(IoType::Int8),
        other => {
            return Err(Error::InvalidArgument(format!(
                "unknown mode {other:?} (float, dynamic-range, full-integer, integer-only-uint8, integer-only-int8)"
            )));
        }
    })
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|&v| v / sum).collect()
}

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
        Ok(n)
    }

    /// Load representative images only (an IDX of u8 28×28 images, plain or gzip).
    pub fn set_representative_images(&mut self, images: &[u8]) -> Result<usize> {
        let idx = parse_idx(images)?;
        if idx.dims.len() != 3 || idx.dims[1] * idx.dims[2] != IMAGE_LEN || idx.dims[0] == 0 {
            return Err(Error::InvalidDataset(format!("representative images must be n×28×28, got {:?}", idx.dims)));
        }
        let n = idx.dims[0];
        self.representative = Some(idx.data);
        Ok(n)
    }

    fn test(&self) -> Result<&Dataset> {
        self.test.as_ref().ok_or_else(|| Error::InvalidArgument("the test set is not loaded yet".into()))
    }

    /// Pixels of test image `index`.
    pub fn test_image(&self, index: usize) -> Result<Vec<u8>> {
        let test = self.test()?;
        if index >= test.len() {
            return Err(Error::InvalidArgument(format!("test image {index} does not exist (0–{})", test.len().saturating_sub(1))));
        }
        Ok(test.image(index).to_vec())
    }

    pub fn test_label(&self, index: usize) -> Result<u8> {
        let test = self.test()?;
        test.labels.get(index).copied().ok_or_else(|| Error::InvalidArgument(format!("test image {index} does not exist")))
    }

    /// Load `.tflite` bytes into `slot`. On any error the slot keeps its previous model.
    pub fn load_model(&mut self, slot: &str, bytes: &[u8]) -> Result<ModelInfo> {
        let model = read_model(bytes)?;
        self.install(slot, model, bytes.to_vec())
    }

    fn install(&mut self, slot: &str, model: Model, bytes: Vec<u8>) -> Result<ModelInfo> {
        let interp = Interpreter::new(&model)?;
        if interp.inputs().is_empty() || interp.outputs().is_empty() {
            return Err(Error::InvalidModel("the model has no input or no output".into()));
        }
        let mode = detect_mode(&model);
        self.slots.insert(slot.to_string(), Slot { model, bytes, interp, mode });
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
        self.slots.get(slot).ok_or_else(|| Error::InvalidArgument(format!("no model in slot {slot:?}")))
    }

    /// The `.tflite` bytes of `slot`.
    pub fn model_bytes(&self, slot: &str) -> Result<Vec<u8>> {
        Ok(self.slot(slot)?.bytes.clone())
    }

    /// Quantize the float model into the quantized slot, calibrating on the first `samples`
    /// representative images (training images).
    pub fn quantize(&mut self, mode: &str, samples: usize) -> Result<ModelInfo> {
        let mode = mode_from_name(mode)?;
        if !(1..=60_000).contains(&samples) {
            return Err(Error::InvalidArgument(format!("representative samples must be 1–60000, got {samples}")));
        }
        let float = &self.slot(FLOAT)?.model;
        let calibration = if mode.needs_calibration() {
            let pool: &[u8] = match (&self.train, &self.representative) {
                (Some(train), _) => &train.images,
                (None, Some(images)) => images,
                (None, None) => return Err(Error::InvalidArgument("no representative images loaded".into())),
            };
            let n = samples.min(pool.len() / IMAGE_LEN);
            Some(calibrate(float, &pool[..n * IMAGE_LEN], IMAGE_LEN, |_, _| true)?)
        } else {
            None
        };
        let model = convert(float, &ConvertOptions::new(mode), calibration.as_ref())?;
        let bytes = write_model(&model)?;
        self.install(QUANT, model, bytes)
    }

    /// Turn a grayscale drawing into MNIST pixels.
    pub fn preprocess(gray: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
        draw::preprocess(gray, width, height).map_err(Error::InvalidArgument)
    }

    /// Run the model in `slot` on 784 pixels.
    pub fn predict(&mut self, slot: &str, pixels: &[u8]) -> Result<Prediction> {
        let s = self.slots.get_mut(slot).ok_or_else(|| Error::InvalidArgument(format!("no model in slot {slot:?}")))?;
        eval::set_image(&mut s.interp, pixels)?;
        s.interp.invoke()?;
        let out = &s.interp.outputs()[0];
        let output = IoDetails::from(out);
        let values = s.interp.output_dequantized(0)?;
        let raw: Vec<f64> = match out.dtype {
            crate::tflite::TensorType::UInt8 => s.interp.output::<u8>(0)?.iter().map(|&v| v as f64).collect(),
            crate::tflite::TensorType::Int8 => s.interp.output::<i8>(0)?.iter().map(|&v| v as f64).collect(),
            _ => values.iter().map(|&v| v as f64).collect(),
        };
        let class = eval::argmax_output(&s.interp)?;
        Ok(Prediction { class, probabilities: softmax(&values), raw, output })
    }

    /// Start evaluating `slots` on the whole test set.
    pub fn eval_begin(&mut self, slots: &[String]) -> Result<EvalProgress> {
        let total = self.test()?.len();
        for s in slots {
            let info = self.info(s)?;
            if !info.takes_mnist {
                return Err(Error::InvalidArgument(format!("the model in {s:?} does not take a 28×28 image")));
            }
        }
        self.eval = Some(EvalState { slots: slots.to_vec(), predictions: vec![Vec::with_capacity(total); slots.len()], next: 0 });
        Ok(EvalProgress { done: 0, total })
    }

    /// Evaluate the next `count` images.
    pub fn eval_step(&mut self, count: usize) -> Result<EvalProgress> {
        let test = self.test.as_ref().ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
        let state = self.eval.as_mut().ok_or_else(|| Error::InvalidArgument("no evaluation in progress".into()))?;
        let end = (state.next + count).min(test.len());
        for (name, preds) in state.slots.iter().zip(state.predictions.iter_mut()) {
            let slot = self.slots.get_mut(name).ok_or_else(|| Error::InvalidArgument(format!("no model in slot {name:?}")))?;
            for i in state.next..end {
                eval::set_image(&mut slot.interp, test.image(i))?;
                slot.interp.invoke()?;
                preds.push(eval::argmax_output(&slot.interp)? as u8);
            }
        }
        state.next = end;
        Ok(EvalProgress { done: end, total: test.len() })
    }

    /// The results once every image is done.
    pub fn eval_report(&self) -> Result<EvalReport> {
        let test = self.test()?;
        let state = self.eval.as_ref().ok_or_else(|| Error::InvalidArgument("no evaluation in progress".into()))?;
        if state.next < test.len() {
            return Err(Error::InvalidArgument(format!("evaluation not finished ({}/{})", state.next, test.len())));
        }
        let mut models = BTreeMap::new();
        for (name, preds) in state.slots.iter().zip(&state.predictions) {
            let mut confusion = vec![vec![0u32; 10]; 10];
            let mut correct = 0;
            for (&p, &y) in preds.iter().zip(&test.labels) {
                confusion[y as usize][(p as usize).min(9)] += 1;
                correct += (p == y) as usize;
            }
            let label = self.slots.get(name).map(|s| s.mode.label().to_string()).unwrap_or_default();
            models.insert(name.clone(), SlotEval { accuracy: correct as f64 / test.len().max(1) as f64, correct, confusion, label });
        }
        let (agreement, disagreements) = match state.predictions.as_slice() {
            [a, b, ..] => {
                let differ: Vec<usize> = a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i).collect();
                (Some(1.0 - differ.len() as f64 / test.len().max(1) as f64), differ)
            }
            _ => (None, Vec::new()),
        };
        Ok(EvalReport { total: test.len(), models, agreement, disagreements })
    }

    /// Start training from scratch (the training set must be loaded).
    pub fn train_begin(&mut self, settings: &TrainSettings) -> Result<TrainProgress> {
        let train = self.train.as_ref().ok_or_else(|| Error::InvalidArgument("the training set is not loaded".into()))?;
        let config = TrainConfig {
            epochs: settings.epochs,
            batch_size: settings.batch_size,
            learning_rate: settings.learning_rate,
            seed: settings.seed,
            ..TrainConfig::default()
        };
        let trainer = Trainer::new(config, train)?;
        let steps = trainer.steps_per_epoch(train.len());
        let progress = TrainProgress {
            epoch: 0,
            epochs: settings.epochs,
            step: 0,
            steps_per_epoch: steps,
            loss: f32::NAN,
            accuracy: 0.0,
            epoch_report: None,
            log_line: None,
            finished: false,
        };
        self.trainer = Some(trainer);
        Ok(progress)
    }

    /// Run up to `steps` training steps (stopping early at the end of an epoch, which is validated on
    /// the test set).
    pub fn train_step(&mut self, steps: usize) -> Result<TrainProgress> {
        let train = self.train.as_ref().ok_or_else(|| Error::InvalidArgument("the training set is not loaded".into()))?;
        let trainer = self.trainer.as_mut().ok_or_else(|| Error::InvalidArgument("no training in progress".into()))?;
        let epochs = trainer.config.epochs;
        let mut progress = TrainProgress {
            epoch: trainer.epoch(),
            epochs,
            step: 0,
            steps_per_epoch: trainer.steps_per_epoch(train.len()),
            loss: f32::NAN,
            accuracy: 0.0,
            epoch_report: None,
            log_line: None,
            finished: trainer.finished(),
        };
        for _ in 0..steps.max(1) {
            let Some(r) = trainer.step(train) else { break };
            (progress.epoch, progress.step, progress.loss, progress.accuracy) = (r.epoch, r.step, r.loss, r.accuracy);
            if r.step == r.steps_per_epoch {
                let validation = self.test.as_ref().ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
                let report = trainer.end_epoch(validation);
                progress.log_line = Some(report.keras_line());
                progress.epoch_report = Some(report);
                break;
            }
        }
        progress.finished = trainer.finished();
        Ok(progress)
    }

    /// Make the trained network the float model (and drop the training state).
    pub fn train_finish(&mut self) -> Result<ModelInfo> {
        let trainer = self.trainer.take().ok_or_else(|| Error::InvalidArgument("no training in progress".into()))?;
        let model = export_float(&trainer.net)?;
        let bytes = write_model(&model)?;
        self.install(FLOAT, model, bytes)
    }
}

fn check_mnist(data: &Dataset) -> Result<()> {
    if data.image_len() != IMAGE_LEN {
        return Err(Error::InvalidDataset(format!("images are {}×{}, not 28×28", data.rows, data.cols)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::write_idx_u8;

    #[test]
    fn slots_keep_their_model_when_a_load_fails() {
        let mut s = Session::new();
        assert!(s.load_model(UPLOAD, b"not a tflite file").is_err());
        assert!(s.info(UPLOAD).is_err());
        assert!(s.predict(UPLOAD, &[0; 784]).is_err());
        assert!(s.quantize("integer-only-uint8", 100).is_err()); // no float model yet
        assert!(s.quantize("bogus", 100).is_err());
    }

    #[test]
    fn small_end_to_end_session() {
        // a tiny training set of 64 random-ish images, the tutorial network, 1 epoch of 2 steps
        let n = 64;
        let images: Vec<u8> = (0..n * IMAGE_LEN).map(|i| ((i * 7919) % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let img = write_idx_u8(&[n, 28, 28], &images).unwrap();
        let lab = write_idx_u8(&[n], &labels).unwrap();
        let mut s = Session::new();
        assert_eq!(s.set_train_set(&img, &lab).unwrap(), n);
        assert_eq!(s.set_test_set(&img, &lab).unwrap(), n);
        s.train_begin(&TrainSettings { epochs: 1, batch_size: 32, learning_rate: 0.001, seed: 0 }).unwrap();
        let p = s.train_step(10).unwrap();
        assert!(p.finished && p.log_line.is_some(), "{p:?}");
        let info = s.train_finish().unwrap();
        assert_eq!((info.mode.as_str(), info.takes_mnist), ("float", true));
        let q = s.quantize("integer-only-uint8", 16).unwrap();
        assert_eq!((q.input.dtype.as_str(), q.input.zero_point), ("uint8", 0));
        let pred = s.predict(QUANT, &images[..IMAGE_LEN]).unwrap();
        assert_eq!(pred.probabilities.len(), 10);
        assert!((pred.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        s.eval_begin(&[FLOAT.to_string(), QUANT.to_string()]).unwrap();
        while s.eval_step(10).unwrap().done < n {}
        let r = s.eval_report().unwrap();
        assert_eq!(r.total, n);
        assert_eq!(r.models[FLOAT].confusion.iter().flatten().sum::<u32>() as usize, n);
        // the downloadable bytes load back into an identical model
        let bytes = s.model_bytes(QUANT).unwrap();
        assert_eq!(read_model(&bytes).unwrap(), s.slots[QUANT].model);
    }
}
