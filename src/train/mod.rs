//! Training the float network: layers as forward/backward pairs, softmax cross-entropy, Adam, and a
//! step-wise training loop with Keras's defaults.
//!
//! Activations are NHWC and row-major, one sample after another; conv filters are OHWI and dense weights
//! `[out, in]`, the layouts TFLite uses, so export copies instead of transposing.
//!
//! The hot kernels come twice: AVX2 + FMA in simd.rs (x86-64 only, picked at run time through
//! [`crate::cpu`]) and portable in kernels.rs, which wasm runs and the vector kernels are tested against.

pub mod adam;
pub mod fit;
mod kernels;
pub mod layers;
pub mod loss;
pub mod net;
#[cfg(not(target_arch = "wasm32"))]
pub mod parallel;
#[cfg(target_arch = "x86_64")]
mod simd;

pub use adam::Adam;
pub use fit::{
    EpochReport, ShareReport, StepReport, TrainConfig, Trainer, evaluate, gradient_vector,
    parallel_ready, parameter_vector, set_parameter_vector, share_gradient,
};
pub use layers::{Activation, LayerSpec, Padding};
pub use net::{Architecture, Sequential};
