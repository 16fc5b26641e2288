//! What the web page does, as plain Rust: datasets, model slots (float, quantized, uploaded), drawing
//! preprocessing, quantization and predictions here; chunked evaluation in `eval`, step-wise training
//! in `train`, the views inside a quantization (graph, per-layer error, one output by hand, keeping
//! layers in float) in `debug`, ranges and histograms on the integer grid in `histograms`, conversions with
//! every setting of `ptq convert` in `settings`. The `#[wasm_bindgen]` layer in `bindings.rs` only converts types; keeping this part
//! target-independent lets native tests cover it.

mod debug;
#[cfg(test)]
mod debug_tests;
#[cfg(feature = "training")]
mod design;
mod eval;
mod histograms;
#[cfg(feature = "training")]
mod parallel;
mod settings;
#[cfg(feature = "training")]
mod train;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::data::{Dataset, IdxType, draw, parse_idx};
use crate::error::{Error, Result};
use crate::eval::ImageEncoder;
pub use crate::eval::{IoDetails, Prediction};
use crate::interp::Interpreter;
use crate::quantize::{ConvertOptions, Mode, calibrate_first, convert, detect_mode};
use crate::tflite::{Model, Report, inspect, read_model, write_model};
pub use debug::{
    ALL_INT8, DebugProgress, ExplainReport, GraphOp, GraphTensor, KeepFloatReport, LayerOutput,
    ModelGraph, SELECTIVE, parse_modes,
};
#[cfg(feature = "training")]
pub use design::{DesignCheck, DesignLimits, DesignProblem, PresetInfo};
pub use eval::{EvalProgress, EvalReport, SlotEval};
pub use histograms::{ActivationRange, HistogramReport, MethodRanges};
#[cfg(feature = "training")]
pub use parallel::MirrorState;
pub use settings::ConvertSettings;
#[cfg(feature = "training")]
pub use train::{TrainProgress, TrainSettings};

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
            None => crate::eval::predict(&mut self.interp, pixels),
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

/// A conversion as the page offers it: its id (a [`Mode::name`]), the file name the tutorial saves
/// its model under, and whether it calibrates on representative images (only then do the calibration
/// settings and per-tensor weights apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModeFile {
    pub id: &'static str,
    pub file: &'static str,
    pub calibrates: bool,
    /// Whether this build converts it (the page's small module leaves 16x8 to its worker).
    pub here: bool,
}

impl ModeFile {
    fn of(mode: Mode) -> ModeFile {
        ModeFile {
            id: mode.name(),
            file: mode.file_name(),
            calibrates: mode.needs_calibration(),
            here: crate::quantize::convert::can_convert(mode),
        }
    }
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
    training: Option<train::TrainRun>,
    /// A helper worker's network for data-parallel training.
    #[cfg(feature = "training")]
    share: Option<parallel::ShareNet>,
    /// The coordinator's next step, split into shares for the helpers ([`Session::train_stage`]).
    #[cfg(feature = "training")]
    staged: parallel::StagedShares,
    eval: Option<eval::EvalState>,
    debug: Option<debug::DebugRun>,
    debug_cache: debug::DebugCache,
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

    /// Load the MNIST test set (two IDX files, plain, or gzip with the `gzip` feature).
    pub fn set_test_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize> {
        let data = Dataset::from_bytes(images, labels)?;
        check_mnist(&data)?;
        let n = data.len();
        self.test = Some(data);
        // runs in progress and kept runs index the set they started with
        self.eval = None;
        self.debug = None;
        self.debug_cache = debug::DebugCache::default();
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

    /// Load representative images only (an IDX of u8 28×28 images, plain, or gzip with the `gzip`
    /// feature).
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
        self.debug_cache.forget(slot);
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

    /// Every conversion in the page's order: the tutorial's five ([`Mode::ALL`]), then the others
    /// ([`Mode::EXTRA`]).
    pub fn modes() -> Vec<ModeFile> {
        Mode::ALL
            .into_iter()
            .chain(Mode::EXTRA)
            .map(ModeFile::of)
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
mod tests {
    use super::*;
    use crate::data::idx::write_idx_u8;
    use crate::quantize::export_float;
    use crate::train::{Architecture, Sequential};

    /// A tiny MNIST-shaped dataset: `n` deterministic pseudo-random images, labels cycling 0–9.
    pub(super) fn tiny(n: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let images: Vec<u8> = (0..n * IMAGE_LEN)
            .map(|i| ((i * 7919) % 256) as u8)
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let img = write_idx_u8(&[n, 28, 28], &images).unwrap();
        let lab = write_idx_u8(&[n], &labels).unwrap();
        (images, img, lab)
    }

    /// A session holding `tiny(n)` as training and test set and, as its float model, the tutorial
    /// network as initialized with seed 0: what the page holds once it has loaded a model, no training
    /// needed.
    pub(super) fn with_float_model(n: usize) -> (Session, Vec<u8>) {
        let (images, img, lab) = tiny(n);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        let net = Sequential::new(&Architecture::tutorial(), 0).unwrap();
        let bytes = write_model(&export_float(&net).unwrap()).unwrap();
        s.load_model(FLOAT, &bytes).unwrap();
        (s, images)
    }

    #[test]
    fn modes_list_every_conversion_once_with_the_tutorial_file_names() {
        let modes = Session::modes();
        let ids: Vec<&str> = modes.iter().map(|m| m.id).collect();
        assert_eq!(
            ids[..6],
            [
                "float",
                "dynamic-range",
                "full-integer",
                "integer-only-uint8",
                "integer-only-int8",
                "float16"
            ]
        );
        let names: Vec<&str> = Mode::ALL
            .iter()
            .chain(&Mode::EXTRA)
            .map(|m| m.name())
            .collect();
        assert_eq!(ids, names);
        assert_eq!(modes[2].file, "mnist_fullint_floatio.tflite");
        let calibrating: Vec<&str> = modes[..6]
            .iter()
            .filter(|m| m.calibrates)
            .map(|m| m.id)
            .collect();
        assert_eq!(
            calibrating,
            ["full-integer", "integer-only-uint8", "integer-only-int8"]
        );
        assert_eq!(modes[5].file, "mnist_float16.tflite");
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
        let (mut s, images) = with_float_model(64);
        let bytes = s.model_bytes(FLOAT).unwrap();
        let before = s.predict(FLOAT, &images[..IMAGE_LEN]).unwrap().class;
        assert!(s.load_model(FLOAT, &bytes[..bytes.len() / 2]).is_err());
        assert_eq!(s.model_bytes(FLOAT).unwrap(), bytes);
        assert_eq!(
            s.predict(FLOAT, &images[..IMAGE_LEN]).unwrap().class,
            before
        );
    }

    #[test]
    fn quantizing_keeps_the_previous_model_on_error_and_uses_the_first_images() {
        let (mut s, images) = with_float_model(64);
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
        let (mut s, _) = with_float_model(32);
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
