//! `#[wasm_bindgen]` wrappers around [`Session`]: bulk data as typed arrays (`&[u8]` in, `Vec<u8>` out),
//! small reports through serde-wasm-bindgen, every error a `JsError` carrying the typed error's message.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::Error;
#[cfg(feature = "training")]
use crate::quantize::CalibrationMethod;
use crate::tflite::{inspect_bytes, read_model};
#[cfg(feature = "training")]
use crate::wasm::session::ConvertSettings;
use crate::wasm::session::Session;
#[cfg(feature = "training")]
use crate::wasm::session::TrainSettings;
#[cfg(feature = "training")]
use crate::wasm::session::parse_modes;

fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // plain objects (not Maps) and large integers as numbers, so JS can read them directly
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("cannot convert report: {e}")))
}

/// Set up the panic hook once (a panic is a bug, but its message should reach the console).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

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

    /// Load the MNIST test set from its two IDX files (plain or gzip). Returns the number of images.
    pub fn set_test_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize, JsError> {
        self.session.set_test_set(images, labels).map_err(js_error)
    }

    /// Load representative images for calibration (an IDX of 28×28 u8 images, plain or gzip).
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

    /// Start training: `{epochs, batch_size, learning_rate, seed}`.
    #[cfg(feature = "training")]
    pub fn train_begin(&mut self, settings: JsValue) -> Result<JsValue, JsError> {
        let settings: TrainSettings = serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsError::new(&format!("invalid training settings: {e}")))?;
        to_js(&self.session.train_begin(&settings).map_err(js_error)?)
    }

    /// Continue training the float model in `bytes` (a file this library wrote; its design comes with
    /// it) with the settings' epochs, batch size, learning rate, seed and images.
    #[cfg(feature = "training")]
    pub fn train_begin_from(
        &mut self,
        settings: JsValue,
        bytes: &[u8],
    ) -> Result<JsValue, JsError> {
        let settings: TrainSettings = serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsError::new(&format!("invalid training settings: {e}")))?;
        to_js(
            &self
                .session
                .train_begin_from(&settings, bytes)
                .map_err(js_error)?,
        )
    }

    /// Run up to `steps` training steps.
    #[cfg(feature = "training")]
    pub fn train_step(&mut self, steps: usize) -> Result<JsValue, JsError> {
        to_js(&self.session.train_step(steps).map_err(js_error)?)
    }

    /// Make the trained network the float model (once every step is done).
    #[cfg(feature = "training")]
    pub fn train_finish(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.session.train_finish().map_err(js_error)?)
    }

    /// Drop the training run in progress (the models stay). Returns whether there was one.
    #[cfg(feature = "training")]
    pub fn train_cancel(&mut self) -> bool {
        self.session.train_cancel()
    }

    /// Whether a training run is in progress.
    #[cfg(feature = "training")]
    pub fn is_training(&self) -> bool {
        self.session.training()
    }

    /// Names of the slots that hold a model (e.g. `["float", "quant"]`).
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
/// evaluation of the test set. The worker's build only (the `training` feature marks it): the page's
/// thread never runs them, and leaving them out keeps the page's module within its download budget.
#[cfg(feature = "training")]
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
    /// `{mode, samples, method, set, per_tensor, static_shapes}` (see `ConvertSettings`).
    pub fn quantize_with(&mut self, settings: JsValue) -> Result<JsValue, JsError> {
        let settings: ConvertSettings = serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsError::new(&format!("invalid conversion settings: {e}")))?;
        to_js(&self.session.quantize_with(&settings).map_err(js_error)?)
    }

    /// The images a calibration set picks (`first`, `random`, `digit:D`, `blank`, `noise`), one 784-byte
    /// image after the other.
    pub fn calibration_images(&self, set: &str, samples: usize) -> Result<Vec<u8>, JsError> {
        self.session
            .calibration_images(set, samples)
            .map_err(js_error)
    }

    /// Data-parallel training (see `session::parallel`): whether the run can be split over workers.
    pub fn train_parallel_ready(&self) -> bool {
        self.session.train_parallel_ready()
    }

    /// The run's design (JSON), for the helper workers' networks.
    pub fn train_design(&self) -> Result<String, JsError> {
        self.session.train_design().map_err(js_error)
    }

    /// The next step's batch split into at most `shares` shares and made ready for the helpers (read
    /// with `staged_params`, `staged_pixels` and `staged_labels`): the shares' sizes, share 0 (this
    /// worker's) first, or undefined when the run is over.
    pub fn train_stage(&mut self, shares: usize) -> Result<Option<Vec<u32>>, JsError> {
        self.session.train_stage(shares).map_err(js_error)
    }

    /// The staged step's parameters, as a view of the module's memory: valid until the next call into
    /// the module, so copy it out at once.
    pub fn staged_params(&self) -> js_sys::Float32Array {
        // SAFETY: a view of memory this session owns; the page copies it out before calling the
        // module again (any call may grow the memory, which would detach the view, or reuse the buffer).
        unsafe { js_sys::Float32Array::view(&self.session.staged().params) }
    }

    /// The staged helpers' shares' images (784 bytes each, share 1's first), a view as `staged_params`.
    pub fn staged_pixels(&self) -> js_sys::Uint8Array {
        // SAFETY: as in `staged_params`.
        unsafe { js_sys::Uint8Array::view(&self.session.staged().pixels) }
    }

    /// The staged helpers' shares' labels, a view as `staged_params`.
    pub fn staged_labels(&self) -> js_sys::Uint8Array {
        // SAFETY: as in `staged_params`.
        unsafe { js_sys::Uint8Array::view(&self.session.staged().labels) }
    }

    /// Share 0's gradient of the staged step on the run's own network: `{n, loss, correct}`.
    pub fn train_own_staged(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.session.train_own_staged().map_err(js_error)?)
    }

    /// One Adam step with share 0 (`own`, from `train_own_staged`) and the helpers' shares (`reports`,
    /// their gradients one after the other in `gradients`), in share order; the step's progress.
    pub fn train_apply_shares(
        &mut self,
        own: JsValue,
        reports: JsValue,
        gradients: &[f32],
    ) -> Result<JsValue, JsError> {
        let own = serde_wasm_bindgen::from_value(own)
            .map_err(|e| JsError::new(&format!("invalid share report: {e}")))?;
        let reports: Vec<crate::train::ShareReport> = serde_wasm_bindgen::from_value(reports)
            .map_err(|e| JsError::new(&format!("invalid share reports: {e}")))?;
        to_js(
            &self
                .session
                .train_apply_shares(own, &reports, gradients)
                .map_err(js_error)?,
        )
    }

    /// A helper worker: build the network of `design` (JSON) its shares are computed on.
    pub fn share_begin(&mut self, design: &str) -> Result<(), JsError> {
        self.session.share_begin(design).map_err(js_error)
    }

    /// A helper worker: its share's gradient with `params` on the share's images (784 bytes each) and
    /// labels: `{n, loss, correct}` (the gradient itself from `share_gradient_view`).
    pub fn share_compute(
        &mut self,
        params: &[f32],
        pixels: &[u8],
        labels: &[u8],
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .share_compute(params, pixels, labels)
                .map_err(js_error)?,
        )
    }

    /// A helper worker: the gradient of its last share as a view of the module's memory (valid until
    /// the next call into the module: copy it out at once).
    pub fn share_gradient_view(&self) -> Result<js_sys::Float32Array, JsError> {
        let gradient = self.session.share_gradient().map_err(js_error)?;
        // SAFETY: as in `staged_params`: the helper copies the view out before calling the module again.
        Ok(unsafe { js_sys::Float32Array::view(gradient) })
    }

    /// The model designer's presets: `[{name, description, json}]`, the default first.
    pub fn design_presets() -> Result<JsValue, JsError> {
        to_js(&Session::design_presets())
    }

    /// The limits a design keeps to: `{layers, params, macs, values}`.
    pub fn design_limits() -> Result<JsValue, JsError> {
        to_js(&Session::design_limits())
    }

    /// Check a design (JSON): `{summary, problem}`, one of them set (see `DesignCheck`).
    pub fn design_check(json: &str) -> Result<JsValue, JsError> {
        to_js(&Session::design_check(json))
    }

    /// For each BatchNormalization folded into a float model of this library: the weights' range
    /// before and after folding (see `quantize::import::FoldedRange`).
    pub fn folded_ranges(bytes: &[u8]) -> Result<JsValue, JsError> {
        to_js(&crate::quantize::import::folded_ranges(bytes).map_err(js_error)?)
    }

    /// The design (JSON) a float model file of this library carries.
    pub fn design_of(bytes: &[u8]) -> Result<String, JsError> {
        Session::design_of(bytes).map_err(js_error)
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
/// float, histograms on the integer grid). The worker's build only, like the block above.
#[cfg(feature = "training")]
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
