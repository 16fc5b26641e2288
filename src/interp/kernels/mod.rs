//! Kernels, one file per TFLite builtin operator, named `<op>_<dtype>` (`conv2d_i8`, `fully_connected_f32`,
//! `conv2d_hybrid`). Each is the reference kernel first: tflite-micro style loops with named indices,
//! lengths checked up front, then plain indexing. They never allocate; scratch space comes from the plan.
//!
//! Layouts are TFLite's: NHWC activations, OHWI conv filters, 1HWO depthwise filters, `[units, depth]`
//! fully-connected weights.

pub mod activation;
pub mod average_pool2d;
pub mod block;
pub mod conv2d;
pub mod depthwise_conv2d;
pub mod dequantize;
pub mod eigen;
pub mod fully_connected;
pub mod hybrid;
pub mod max_pool2d;
pub mod optimized_f32;
pub mod pack;
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
