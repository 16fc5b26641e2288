//! `#[wasm_bindgen]` wrappers around [`Session`]: bulk data as typed arrays (`&[u8]` in, `Vec<u8>` out),
//! small reports through serde-wasm-bindgen, every error a `JsError` carrying the typed error's message.

use wasm_bindgen::prelude::*;

use super::js::{js_error, to_js};
#[cfg(feature = "inside")]
use crate::quantize::CalibrationMethod;
use crate::tflite::{inspect_bytes, read_model};
#[cfg(feature = "worker")]
use crate::wasm::session::ConvertSettings;
use crate::wasm::session::Session;
#[cfg(feature = "inside")]
use crate::wasm::session::parse_modes;

/// The playground: datasets, model slots ("float", "quant", "upload"), training and evaluation.
#[wasm_bindgen]
pub struct Playground {
    session: Session,
}

#[wasm_bindgen]
impl Playground {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Playground {
        Playground {
            session: Session::new(),
        }
    }

    /// Library version.
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// Load the MNIST test set from its two IDX files (plain; gzip only in a build with the `gzip`
    /// feature, which the browser builds leave out). Returns the number of images.
    pub fn set_test_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize, JsError> {
        self.session.set_test_set(images, labels).map_err(js_error)
    }

    /// Load representative images for calibration (an IDX of 28×28 u8 images, plain; gzip as above).
    pub fn set_representative_images(&mut self, images: &[u8]) -> Result<usize, JsError> {
        self.session
            .set_representative_images(images)
            .map_err(js_error)
    }

    pub fn test_count(&self) -> usize {
        self.session.test.as_ref().map_or(0, |t| t.len())
    }

    /// The 784 pixels of a test image.
    pub fn test_image(&self, index: usize) -> Result<Vec<u8>, JsError> {
        self.session.test_image(index).map_err(js_error)
    }

    pub fn test_label(&self, index: usize) -> Result<u8, JsError> {
        self.session.test_label(index).map_err(js_error)
    }

    /// Load a `.tflite` file into a slot; returns its details (I/O, size, inspect report).
    pub fn load_model(&mut self, slot: &str, bytes: &[u8]) -> Result<JsValue, JsError> {
        to_js(&self.session.load_model(slot, bytes).map_err(js_error)?)
    }

    /// Details of the model in a slot.
    pub fn model_info(&self, slot: &str) -> Result<JsValue, JsError> {
        to_js(&self.session.info(slot).map_err(js_error)?)
    }

    /// The bytes of the model in a slot (for download).
    pub fn model_bytes(&self, slot: &str) -> Result<Vec<u8>, JsError> {
        self.session.model_bytes(slot).map_err(js_error)
    }

    /// Quantize the float model into the "quant" slot (mode: float, dynamic-range, full-integer,
    /// integer-only-uint8, integer-only-int8) with `samples` representative images.
    pub fn quantize(&mut self, mode: &str, samples: usize) -> Result<JsValue, JsError> {
        to_js(&self.session.quantize(mode, samples).map_err(js_error)?)
    }

    /// The conversions the page offers, in its order (the tutorial's five, then the others):
    /// `[{id: "float", file: "mnist_float.tflite", calibrates: false}, …]` (`id` is what
    /// [`Playground::quantize`] takes, `file` the tutorial's name for the model, `calibrates` whether it
    /// calibrates on representative images).
    pub fn modes() -> Result<JsValue, JsError> {
        to_js(&Session::modes())
    }

    /// MNIST-style preprocessing of a grayscale drawing (`width × height`, 0 background, 255 ink).
    pub fn preprocess(gray: &[u8], width: usize, height: usize) -> Result<Vec<u8>, JsError> {
        Session::preprocess(gray, width, height).map_err(js_error)
    }

    /// Run a slot's model on 784 pixels: class, probabilities, raw output, output details.
    pub fn predict(&mut self, slot: &str, pixels: &[u8]) -> Result<JsValue, JsError> {
        to_js(&self.session.predict(slot, pixels).map_err(js_error)?)
    }

    pub fn slots(&self) -> Vec<String> {
        self.session.slots.keys().cloned().collect()
    }

    /// Inspect `.tflite` bytes without loading them (the report `ptq inspect --json` prints).
    pub fn inspect(bytes: &[u8]) -> Result<JsValue, JsError> {
        to_js(&inspect_bytes(bytes).map_err(js_error)?)
    }

    /// Read and re-validate `.tflite` bytes: `Ok` or the typed error's message (for tests of hostile
    /// input through the exported API).
    pub fn check_model(bytes: &[u8]) -> Result<(), JsError> {
        read_model(bytes).map(|_| ()).map_err(js_error)
    }
}

/// The worker's jobs besides training: the training set (for training and its calibration) and the
/// evaluation of the test set. The worker's build only (the `worker` feature marks it): the page's
/// thread never runs them, and leaving them out keeps the page's module within its download budget.
#[cfg(feature = "worker")]
#[wasm_bindgen]
impl Playground {
    /// Load the MNIST training set. Returns the number of images.
    pub fn set_train_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize, JsError> {
        self.session.set_train_set(images, labels).map_err(js_error)
    }

    pub fn has_train_set(&self) -> bool {
        self.session.train.is_some()
    }

    /// Start evaluating the listed slots (comma-separated) on the test set, one slot after the other.
    pub fn eval_begin(&mut self, slots: &str) -> Result<JsValue, JsError> {
        let slots: Vec<String> = slots
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        to_js(&self.session.eval_begin(&slots).map_err(js_error)?)
    }

    /// Convert the float model into the "quant" slot with every setting of the page's form:
    /// `{mode, samples, method, set, per_tensor, static_shapes}` (see `ConvertSettings`). `images`, if
    /// given, are the calibration images (784 bytes each) the settings' set picked elsewhere (the
    /// training module, which holds the training set).
    pub fn quantize_with(
        &mut self,
        settings: JsValue,
        images: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let settings: ConvertSettings = serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsError::new(&format!("invalid conversion settings: {e}")))?;
        to_js(
            &self
                .session
                .quantize_on(&settings, images.as_deref())
                .map_err(js_error)?,
        )
    }

    /// The images a calibration set picks (`first`, `random`, `digit:D`, `blank`, `noise`), one 784-byte
    /// image after the other.
    pub fn calibration_images(&self, set: &str, samples: usize) -> Result<Vec<u8>, JsError> {
        self.session
            .calibration_images(set, samples)
            .map_err(js_error)
    }

    /// The calibration methods' ids in the library's order (`minmax`, `percentile`, …).
    pub fn calibration_methods() -> Vec<String> {
        Session::calibration_methods()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The integer-only accelerator check of `.tflite` bytes: per operator whether it maps, why not,
    /// and where it runs (the report `ptq inspect --deploy --json` prints).
    pub fn deploy_check(bytes: &[u8]) -> Result<JsValue, JsError> {
        to_js(&Session::deploy_check(bytes).map_err(js_error)?)
    }

    pub fn eval_step(&mut self, count: usize) -> Result<JsValue, JsError> {
        to_js(&self.session.eval_step(count).map_err(js_error)?)
    }

    pub fn eval_report(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.eval_report().map_err(js_error)?)
    }
}

/// The views inside a quantization (graph, per-layer error, one output by hand, keeping layers in
/// float, histograms on the integer grid): the `inside` feature, the module the worker loads when the
/// inside panel is first opened (pkg/inside/); pkg/fast/ leaves them out.
#[cfg(feature = "inside")]
#[wasm_bindgen]
impl Playground {
    /// Empty a slot. Returns whether it held a model.
    pub fn remove_model(&mut self, slot: &str) -> bool {
        self.session.remove_model(slot)
    }

    /// The graph of a slot's model; with `float`, paired with the float model it was converted from.
    pub fn graph(&self, slot: &str, float: Option<String>) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .graph(slot, float.as_deref())
                .map_err(js_error)?,
        )
    }

    /// Start the per-layer error of `quant` against `float` on the first `images` test images, in each
    /// of `modes` (comma-separated: `layer-wise`, `accumulated`).
    pub fn debug_begin(
        &mut self,
        float: &str,
        quant: &str,
        images: usize,
        modes: &str,
    ) -> Result<JsValue, JsError> {
        let modes = parse_modes(modes).map_err(js_error)?;
        to_js(
            &self
                .session
                .debug_begin(float, quant, images, &modes)
                .map_err(js_error)?,
        )
    }

    pub fn debug_step(&mut self, count: usize) -> Result<JsValue, JsError> {
        to_js(&self.session.debug_step(count).map_err(js_error)?)
    }

    /// The per-layer reports (one per mode) once every image is done.
    pub fn debug_report(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.debug_report().map_err(js_error)?)
    }

    pub fn debug_cancel(&mut self) -> bool {
        self.session.debug_cancel()
    }

    /// Element `flat` of operator `op`'s output in `quant`, worked out by hand on test image `image`,
    /// with the float model's value when `float` names its slot.
    pub fn explain(
        &mut self,
        quant: &str,
        float: Option<String>,
        op: usize,
        flat: usize,
        image: usize,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .explain(quant, float.as_deref(), op, flat, image)
                .map_err(js_error)?,
        )
    }

    /// Operator `op`'s whole output in `slot` on test image `image`.
    pub fn layer_output(
        &mut self,
        slot: &str,
        op: usize,
        image: usize,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .layer_output(slot, op, image)
                .map_err(js_error)?,
        )
    }

    /// Histograms of `quant` against `float`: weights, and activations on the first `samples`
    /// representative images; with a calibration `method` (`minmax`, `percentile`, `entropy`, `mse`),
    /// on the grids of a new calibration on those images.
    pub fn histograms(
        &self,
        float: &str,
        quant: &str,
        samples: usize,
        method: Option<String>,
        bins: usize,
    ) -> Result<JsValue, JsError> {
        let method = method
            .map(|m| m.parse::<CalibrationMethod>())
            .transpose()
            .map_err(js_error)?;
        to_js(
            &self
                .session
                .histograms(float, quant, samples, method, bins)
                .map_err(js_error)?,
        )
    }

    /// Every calibration method's range for each activation of `quant`: `[{method, ranges: [{tensor_name,
    /// real_min, real_max}]}]`, calibrated on the first `samples` representative images.
    pub fn method_ranges(
        &self,
        float: &str,
        quant: &str,
        samples: usize,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .method_ranges(float, quant, samples)
                .map_err(js_error)?,
        )
    }

    /// Convert `float` to full integer keeping the operators `keep` names in float (operator names or
    /// output tensor names) into the "selective" slot, and keeping none into "all-int8".
    pub fn convert_keeping_float(
        &mut self,
        float: &str,
        keep: Vec<String>,
        samples: usize,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .convert_keeping_float(float, &keep, samples)
                .map_err(js_error)?,
        )
    }
}

impl Default for Playground {
    fn default() -> Playground {
        Playground::new()
    }
}
