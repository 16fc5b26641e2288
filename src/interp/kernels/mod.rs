//! Kernels, per TFLite builtin operator and type, named `<op>_<dtype>` (`conv2d_i8`,
//! `fully_connected_f32`, `conv2d_hybrid`). Each is the reference kernel first: tflite-micro style
//! loops with named indices, lengths checked up front, then plain indexing. They never allocate;
//! scratch space comes from the plan.
//!
//! Layouts are TFLite's: NHWC activations, OHWI conv filters, 1HWO depthwise filters, `[units, depth]`
//! fully-connected weights.
//!
//! Files: one per operator (`softmax.rs`, `max_pool2d.rs`, `average_pool2d.rs`, …), except those with
//! more kernels, which get a folder: `conv2d/` (the reference kernels in `mod.rs`, `fast.rs`,
//! `fused_pool.rs` for a CONV_2D fused with the MAX_POOL_2D after it, and `avx512.rs`),
//! `fully_connected/` (`mod.rs`, `fast.rs`, `hybrid.rs`, `avx512.rs`) and `depthwise_conv2d/`
//! (`mod.rs`, `avx512.rs`). `pool_avx512.rs` holds the AVX-512 builds of both pools. Shared by several operators: `window.rs` (pooling and
//! convolution geometry), `activation.rs` (fused activation ranges), `hybrid.rs` (the run-time input
//! quantization of the dynamic-range kernels), `requant.rs` (the fast kernels' per-channel
//! requantization) and `block.rs` (their register blocks of channels). `optimized_f32.rs` and `eigen/`
//! hold the float summation orders of TF's calibrator. The fast convolution, depthwise and
//! fully-connected kernels and the fast pools run through [`crate::cpu::dispatch`] with their arguments
//! packed in a [`FastCall`]; QUANTIZE and the hybrid input quantization dispatch the same way.

pub mod activation;
pub mod average_pool2d;
pub mod block;
pub mod conv2d;
pub mod depthwise_conv2d;
pub mod dequantize;
pub mod eigen;
pub mod fully_connected;
pub mod hybrid;
pub mod int16;
pub mod max_pool2d;
pub mod optimized_f32;
pub mod pack;
#[cfg(target_arch = "x86_64")]
mod pool_avx512;
pub mod quantize;
pub mod requant;
pub mod reshape;
pub mod shape;
pub mod softmax;
pub mod strided_slice;
pub mod window;

use crate::error::{Error, Result};

/// One invocation of a prepared fast kernel `K` with its arguments `A` (usually an [`Io`]), run with
/// [`crate::cpu::dispatch`]: each fast kernel implements [`crate::cpu::Kernel`] for its `FastCall`, and
/// its public function only packs the arguments and dispatches.
///
/// Exactly two references, so that the function compiled for the CPU's features receives them as two
/// arguments the compiler knows do not alias: it then keeps the kernel's fields in registers across
/// the stores to the scratch space and the output. (Passed as one larger struct, they are read back
/// from memory after every store, which made the fused convolutions 40% slower.)
pub(crate) struct FastCall<'a, K, A> {
    pub kernel: &'a K,
    pub args: &'a mut A,
}

/// The input, scratch space and output of one fast-kernel invocation.
pub(crate) struct Io<'a, X, S, Y> {
    pub input: &'a [X],
    pub scratch: &'a mut S,
    pub output: &'a mut [Y],
}

/// Check that a slice has the length the plan promised (a kernel's "dimension asserts", as errors).
pub(crate) fn check_len(op: &str, what: &str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op: op.to_string(),
            expected: format!("{what} of {expected} elements"),
            got: format!("{got} elements"),
        })
    }
}

/// Draws for the kernels' randomized tests (random shapes and values, fast kernels against the
/// reference ones), from the crate's seeded generator.
#[cfg(test)]
pub(crate) trait Draws {
    /// Uniform in `0..n` (`n > 0`).
    fn index(&mut self, n: usize) -> usize;
    /// 32 uniform bits.
    fn u32(&mut self) -> u32;
    /// A uniform int8.
    fn i8(&mut self) -> i8 {
        self.u32() as i8
    }
}

#[cfg(test)]
impl Draws for crate::rng::Rng {
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}
