//! The interpreter: runs a [`crate::tflite::Model`] (subgraph 0) with the arithmetic of TFLite's
//! reference kernels as LiteRT 2.3.0 (TF 2.21, `OpResolverType.BUILTIN_REF`) runs them on x86 — bit for
//! bit: on TF's five tutorial files (10,000 images each), 70 op-coverage files and the edited files in
//! `tests/fixtures/interp`, float and dynamic-range outputs included (`tests/reference_exact.rs`).
//!
//! - [`Interpreter`] plans once (validation, shape inference, constant folding of the
//!   SHAPE → STRIDED_SLICE → PACK chains TF emits around Keras Reshape/Flatten, per-channel
//!   multipliers, typed and transposed weights, every buffer and scratch allocated) and then `invoke`s
//!   without allocating. Unless [`InterpreterOptions::preserve_all_tensors`] is set it fuses a
//!   CONV_2D into the MAX_POOL_2D that is its only reader.
//! - [`kernels`] holds, per op and type, the naive reference kernel (`conv2d_i8`,
//!   `fully_connected_f32`, `conv2d_hybrid`, …) and, for the hot ops, a fast kernel (`conv2d_i8_fast`,
//!   …) tested against it; [`Interpreter::reference`] runs the reference kernels only. On x86-64 the
//!   fast conv and fully-connected kernels pick an AVX2+FMA build of themselves at run time (results
//!   unchanged: integer sums are exact, float sums keep the reference order without fused
//!   multiply-adds).
//!   [`fixed_point`] has the rounding helpers.
//! - [`InterpreterOptions::float_arithmetic`] switches the float32 kernels to
//!   [`FloatArithmetic::TfCalibrator`]: the summation orders of TFLite's optimized kernels (Eigen, as
//!   TensorFlow 2.21's x86-64 wheel builds it) that TF's post-training calibrator runs, bit-identical to
//!   TF's calibrated ranges on every fixture (`kernels::optimized_f32`, `kernels::eigen`). Calibration
//!   uses it; the default stays the reference arithmetic.
//!
//! What the reference vectors decided where sources and notes were unsure:
//! - int8 FULLY_CONNECTED requantizes in double with `std::round` (TF ≥ 2.20); the older fixed-point
//!   form ([`FcRequant::FixedPoint`]) differs on 28 of 10,000 images. Convolutions use the
//!   double-rounding `MultiplyByQuantizedMultiplier`.
//! - Hybrid (dynamic-range) kernels quantize their input as LiteRT's x86 build does, which is not quite
//!   its portable source: scale and zero point in float, zero point added after rounding
//!   (`kernels::hybrid`), and hybrid FULLY_CONNECTED row sums in wrapping 16-bit lanes
//!   (`kernels::fully_connected::litert_row_sum`).
//!
//! The interpreter never sees bytes: `tflite::read` turns a file into a `Model` first.

pub mod fixed_point;
pub mod interpreter;
pub mod kernels;
pub mod limits;
pub mod options;
mod plan;
mod step;
pub mod tensor;

pub use interpreter::Interpreter;
pub use options::{FcRequant, FloatArithmetic, InterpreterOptions};
pub use plan::SUPPORTED_OPS;
pub use tensor::{Buffer, Element, TensorInfo};
