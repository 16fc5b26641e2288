//! Seeing inside a quantized model. A quantized model is paired with the float model it was converted
//! from ([`pairing`]); every tensor it computes is compared with its float twin on real images
//! ([`layer_error`], the metrics of TensorFlow's `QuantizationDebugger`); one output element is worked
//! out by hand ([`explain`]); weights and activations are drawn on their integer grid
//! ([`histogram`]). Sits above `interp` and `eval`; the CLI and the page use it.

pub mod explain;
pub mod histogram;
pub mod layer_error;
pub mod pairing;

pub use explain::{Explanation, Grid, Step, explain};
pub use histogram::{TensorHistogram, activation_histograms, weight_histograms};
pub use layer_error::{ErrorMode, LayerError, LayerErrorReport, layer_errors};
pub use pairing::{OpPair, Pairing, QuantizedTensor, pair_models, quantized_tensors};
