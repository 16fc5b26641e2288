//! `#[wasm_bindgen]` wrappers for training alone: a [`Session`] used only for a training run (or a
//! helper's shares), with no model slots. The training module (the `trainer-only` feature: pkg/train/,
//! pkg/train-relaxed/) has only these, so it leaves the interpreter and the converter out; the worker
//! runs its training there and its helpers compute their shares there, and the trained file goes to
//! the worker's `Playground`, which converts and evaluates it. The model designer asks its questions
//! here too (presets, a design's check and costs, the design a float file carries): what it designs is
//! trained here.

use wasm_bindgen::prelude::*;

use super::js::{js_error, to_js};
use crate::train::{Adam, OptimizerState};
use crate::wasm::session::{ConvertSettings, MirrorState, Session, TrainSettings};

/// A training run: the datasets, the run in progress, the shares of data-parallel training.
#[wasm_bindgen]
pub struct Trainer {
    session: Session,
}

impl Default for Trainer {
    fn default() -> Self {
        Self::new()
    }
}

fn settings_of(settings: JsValue) -> Result<TrainSettings, JsError> {
    serde_wasm_bindgen::from_value(settings)
        .map_err(|e| JsError::new(&format!("invalid training settings: {e}")))
}

#[wasm_bindgen]
impl Trainer {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Trainer {
        Trainer {
            session: Session::new(),
        }
    }

    /// Load the MNIST test set (validation after each epoch). Returns the number of images.
    pub fn set_test_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize, JsError> {
        self.session.set_test_set(images, labels).map_err(js_error)
    }

    /// Load the MNIST training set. Returns the number of images.
    pub fn set_train_set(&mut self, images: &[u8], labels: &[u8]) -> Result<usize, JsError> {
        self.session.set_train_set(images, labels).map_err(js_error)
    }

    pub fn has_train_set(&self) -> bool {
        self.session.train.is_some()
    }

    /// The images a conversion with `settings` (the page's form, as `Playground.quantize_with` takes
    /// it) calibrates on, picked from the training set, one 784-byte image after the other; undefined
    /// for a mode that does not calibrate.
    pub fn calibration_images(&self, settings: JsValue) -> Result<Option<Vec<u8>>, JsError> {
        let settings: ConvertSettings = serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsError::new(&format!("invalid conversion settings: {e}")))?;
        self.session
            .calibration_images_for(&settings)
            .map_err(js_error)
    }

    /// Start training: `{epochs, batch_size, learning_rate, seed, images?, design?}`.
    pub fn train_begin(&mut self, settings: JsValue) -> Result<JsValue, JsError> {
        let settings = settings_of(settings)?;
        to_js(&self.session.train_begin(&settings).map_err(js_error)?)
    }

    /// Continue training the float model in `bytes` (a file this library wrote; its design comes with
    /// it) with the settings' epochs, batch size, learning rate, seed and images.
    pub fn train_begin_from(
        &mut self,
        settings: JsValue,
        bytes: &[u8],
    ) -> Result<JsValue, JsError> {
        let settings = settings_of(settings)?;
        to_js(
            &self
                .session
                .train_begin_from(&settings, bytes)
                .map_err(js_error)?,
        )
    }

    /// Run up to `steps` training steps.
    pub fn train_step(&mut self, steps: usize) -> Result<JsValue, JsError> {
        to_js(&self.session.train_step(steps).map_err(js_error)?)
    }

    /// The finished run's float model as a `.tflite` file (once every step is done); the run ends.
    pub fn train_finish(&mut self) -> Result<Vec<u8>, JsError> {
        self.session.train_finish_bytes().map_err(js_error)
    }

    /// Drop the training run in progress. Returns whether there was one.
    pub fn train_cancel(&mut self) -> bool {
        self.session.train_cancel()
    }

    /// Whether a training run is in progress.
    pub fn is_training(&self) -> bool {
        self.session.training()
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

    /// The shares of the step after the staged one, where it is in the same epoch, made ready for
    /// the helpers that mirror the run (read with `staged_pixels` and `staged_labels`; the staged
    /// parameters and share 0 stay): their sizes, or undefined (the step starts an epoch, or the run
    /// ends).
    pub fn train_stage_next(&mut self, shares: usize) -> Result<Option<Vec<u32>>, JsError> {
        self.session.train_stage_next(shares).map_err(js_error)
    }

    /// The run's parameters and optimizer, for helpers that mirror it (`share_mirror`): `{params,
    /// moments, adam}`, `adam` as [learning rate, β1, β2, ε, updates so far].
    pub fn train_mirror_state(&mut self) -> Result<js_sys::Object, JsError> {
        let state = self.session.train_mirror_state().map_err(js_error)?;
        let a = &state.optimizer.adam;
        let adam = [
            a.learning_rate.into(),
            a.beta_1.into(),
            a.beta_2.into(),
            a.epsilon.into(),
            a.iterations as f64,
        ];
        let object = js_sys::Object::new();
        let fields: [(&str, JsValue); 3] = [
            (
                "params",
                js_sys::Float32Array::from(state.params.as_slice()).into(),
            ),
            (
                "moments",
                js_sys::Float32Array::from(state.optimizer.moments.as_slice()).into(),
            ),
            ("adam", js_sys::Float64Array::from(adam.as_slice()).into()),
        ];
        for (key, value) in fields {
            js_sys::Reflect::set(&object, &key.into(), &value)
                .map_err(|_| JsError::new("could not build the mirror state"))?;
        }
        Ok(object)
    }

    /// Share 0's gradient after `train_own_staged`, as a view of the module's memory (valid until the
    /// next call into the module: copy it out at once), for the helpers that mirror the run.
    pub fn train_own_gradient_view(&mut self) -> Result<js_sys::Float32Array, JsError> {
        let gradient = self.session.train_own_gradient().map_err(js_error)?;
        // SAFETY: as in `staged_params`.
        Ok(unsafe { js_sys::Float32Array::view(gradient) })
    }

    /// A helper worker: mirror the run whose `train_mirror_state` is `{params, moments, adam}`: from
    /// now on it keeps the run's parameters by taking each step itself (`share_apply`).
    pub fn share_mirror(
        &mut self,
        params: &[f32],
        moments: &[f32],
        adam: &[f64],
    ) -> Result<(), JsError> {
        let &[learning_rate, beta_1, beta_2, epsilon, iterations] = adam else {
            return Err(JsError::new(
                "invalid mirror state: adam is [learning rate, beta 1, beta 2, epsilon, updates]",
            ));
        };
        let state = MirrorState {
            params: params.to_vec(),
            optimizer: OptimizerState {
                adam: Adam {
                    learning_rate: learning_rate as f32,
                    beta_1: beta_1 as f32,
                    beta_2: beta_2 as f32,
                    epsilon: epsilon as f32,
                    iterations: iterations as u64,
                },
                moments: moments.to_vec(),
            },
        };
        self.session.share_mirror(&state).map_err(js_error)
    }

    /// A helper worker that mirrors the run: its share's gradient with the parameters it holds:
    /// `{n, loss, correct}` (the gradient itself from `share_gradient_view`).
    pub fn share_compute_mirrored(
        &mut self,
        pixels: &[u8],
        labels: &[u8],
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .share_compute_mirrored(pixels, labels)
                .map_err(js_error)?,
        )
    }

    /// A helper worker that mirrors the run: the run's step with shares of `sizes` images, share
    /// `mine` its own (negative: it has none this step), the other shares' gradients one after the
    /// other in `others`, in share order.
    pub fn share_apply(&mut self, sizes: &[u32], mine: i32, others: &[f32]) -> Result<(), JsError> {
        let mine = usize::try_from(mine).ok();
        self.session
            .share_apply(sizes, mine, others)
            .map_err(js_error)
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

    // The model designer's questions: static, like the designer itself they need no run.

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
}
