//! Training the float network: layers as forward/backward pairs, softmax cross-entropy, Adam, and a
//! step-wise training loop with Keras's defaults.
//!
//! Activations are NHWC and row-major, one sample after another; conv filters are OHWI and dense weights
//! `[out, in]`, the layouts TFLite uses, so export copies instead of transposing.
//!
//! The hot kernels come twice: AVX2 + FMA in simd.rs (x86-64 only, picked at run time through
//! [`crate::cpu`]) and portable in kernels.rs, which wasm runs and the vector kernels are tested against.
//! The conv forward and weight gradient have a third build, AVX-512F in simd512.rs, for CPUs of the [`crate::cpu::Avx512`]
//! tier.

pub mod adam;
pub mod fit;
mod kernels;
pub mod layers;
pub mod loss;
pub mod net;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd512;

pub use adam::Adam;
pub use fit::{EpochReport, StepReport, TrainConfig, Trainer, evaluate};
pub use layers::{Activation, LayerSpec, Padding};
pub use net::{Architecture, Sequential};
