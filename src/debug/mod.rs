//! Seeing inside a quantized model: where its error comes from, layer by layer. A quantized model is
//! paired with the float model it was converted from ([`pairing`]), and every tensor the quantized
//! model computes is compared with its float twin on real images ([`layer_error`], the metrics of
//! TensorFlow's `QuantizationDebugger`). Sits above `interp` and `eval`; the CLI and the page use it.

pub mod layer_error;
pub mod pairing;

pub use layer_error::{ErrorMode, LayerError, LayerErrorReport, layer_errors};
pub use pairing::{OpPair, Pairing, pair_models};
