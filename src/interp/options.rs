//! The choices that shape a plan: [`InterpreterOptions`], what a caller picks (whose float arithmetic,
//! which int8 FULLY_CONNECTED requantization, whether every tensor stays readable), and
//! [`PlanConfig`], everything the planner reads: the options plus the reference-only switch of
//! [`Interpreter::reference`](crate::interp::Interpreter::reference).

/// Options of [`Interpreter::with_options`](crate::interp::Interpreter::with_options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterpreterOptions {
    /// Keep every intermediate tensor readable after `invoke` (LiteRT's
    /// `experimental_preserve_all_tensors`), for calibration. Without it the planner may fuse operators
    /// (a CONV_2D into the MAX_POOL_2D that reads it), and the fused-away tensors are never written.
    /// Graph inputs, outputs and constants are always readable.
    pub preserve_all_tensors: bool,
    /// Whose float arithmetic the float32 kernels reproduce. Integer and hybrid kernels are the same
    /// either way.
    pub float_arithmetic: FloatArithmetic,
    /// Which requantization the int8 FULLY_CONNECTED uses.
    pub fc_requant: FcRequant,
}

/// The summation order of the float32 kernels (the products are the same; sums of many products
/// differ in the last bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FloatArithmetic {
    /// TFLite's reference kernels (`BUILTIN_REF`), bit for bit.
    #[default]
    Reference,
    /// TFLite's optimized kernels as TensorFlow 2.21's post-training calibrator runs them (x86-64 pip
    /// wheel: Eigen with AVX and without FMA, a 4-thread Eigen pool), bit for bit on the op fixtures,
    /// so that our calibration records TF's ranges (`kernels::optimized_f32`). Slower than the fast
    /// reference-order kernels.
    TfCalibrator,
}

/// Which requantization the int8 FULLY_CONNECTED uses (see `kernels::fully_connected`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FcRequant {
    /// TF/LiteRT ≥ 2.20 reference: in double with `std::round`.
    #[default]
    Double,
    /// tflite-micro / TF ≤ 2.19: `MultiplyByQuantizedMultiplier`.
    FixedPoint,
}

/// Everything the planner reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PlanConfig {
    pub options: InterpreterOptions,
    /// Plan the naive reference kernels only: no fast kernels, hence nothing to fuse (the oracle
    /// configuration).
    pub reference_only: bool,
}

impl PlanConfig {
    /// Whether float32 kernels take the summation orders of TF's calibrator.
    pub fn tf_calibrator(&self) -> bool {
        self.options.float_arithmetic == FloatArithmetic::TfCalibrator
    }

    /// Whether the planner may pick a fast kernel where one exists.
    pub fn fast_kernels(&self) -> bool {
        !self.reference_only
    }

    /// Whether the planner may fuse operators, leaving the tensors between them unwritten. Builds
    /// without the `fusion` feature (the page's small wasm module) never do: the fused kernels give
    /// the same bits as the pair they replace, and leaving them out keeps that module small.
    pub fn fusion(&self) -> bool {
        cfg!(feature = "fusion") && !self.options.preserve_all_tensors
    }
}
