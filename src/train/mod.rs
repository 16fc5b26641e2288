//! Training the float network: layers as forward/backward pairs, softmax cross-entropy, Adam, and a
//! step-wise training loop with Keras's defaults.
//!
//! Activations are NHWC and row-major, one sample after another; conv filters are OHWI and dense weights
//! `[out, in]`, the layouts TFLite uses, so export copies instead of transposing.
//!
//! The hot kernels come twice: AVX2 + FMA in simd.rs (x86-64 only, picked at run time through
//! [`crate::cpu`]), SIMD128 in wasm_simd/ (wasm32 built with `simd128`, as the page's builds are), and
//! portable in kernels.rs, which the vector kernels are tested against. AVX-512 CPUs train with the
//! AVX2 kernels: an AVX-512 build sums in another order, and the trained model (the site's default
//! model among them) would then depend on which of the two tiers the machine has.

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
#[cfg(target_arch = "x86_64")]
mod simd512;
/// Public (hidden) only so that the browser tests and the kernel benchmark can reach the kernels.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[doc(hidden)]
pub mod wasm_simd;

pub use adam::Adam;
pub use fit::{
    EpochReport, Mirror, OptimizerState, ShareGradient, ShareReport, StepReport, TrainConfig,
    Trainer, evaluate, gradient_vector, gradients_into, parallel_ready, parameter_vector,
    parameters_into, set_parameter_vector, share_gradient,
};
pub use layers::{Activation, LayerSpec, Padding};
pub use net::{Architecture, Sequential};
