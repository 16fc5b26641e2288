//! Kernels, one file per TFLite builtin operator, named `<op>_<dtype>` (`conv2d_i8`, `fully_connected_f32`,
//! `conv2d_hybrid`). Each is the reference kernel first: tflite-micro style loops with named indices,
//! lengths checked up front, then plain indexing. They never allocate; scratch space comes from the plan.
//!
//! Layouts are TFLite's: NHWC activations, OHWI conv filters, 1HWO depthwise filters, `[units, depth]`
//! fully-connected weights.

pub mod activation;
pub mod average_pool2d;
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
pub mod reshape;
pub mod shape;
pub mod softmax;
pub mod strided_slice;
pub mod window;

use crate::error::{Error, Result};

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
