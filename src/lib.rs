//! ptq-playground: post-training integer quantization of the TensorFlow MNIST tutorial's CNN.
//!
//! The same library runs natively (the `ptq` CLI) and in the browser (WebAssembly). Dependencies run one
//! way:
//!
//! ```text
//! cpu       the one CPU-feature check and kernel dispatch (native x86-64)
//! data      IDX reader, MNIST dataset, seeded batching
//! train     float layers (forward/backward), Adam, the training loop        uses data
//! design    model designs as Keras-named JSON, checks, costs, presets       uses train
//! tflite    plain model IR and the .tflite flatbuffer reader/writer; no arithmetic
//! interp    interpreter and kernels (f32, int8, hybrid); never sees bytes   uses tflite's IR
//! eval      MNIST images in, predictions, accuracy, confusion matrix        uses data, interp
//! quantize  calibration, quantization parameters, float -> .tflite modes    uses train, tflite, interp, eval
//! debug     per-layer error, histograms, one output explained              uses tflite, interp, eval
//! wasm      the only #[wasm_bindgen] code; nothing depends on it            uses all of the above
//! ```

pub mod cpu;
pub mod data;
pub mod debug;
pub mod design;
pub mod error;
pub mod eval;
pub mod fuzzing;
pub mod interp;
pub mod quantize;
pub mod rng;
pub mod tflite;
pub mod train;

pub mod wasm;

pub use error::{Error, Result};
