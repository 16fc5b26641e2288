//! The interpreter: runs a [`crate::tflite::Model`] (subgraph 0) with the integer arithmetic of TFLite's
//! reference kernels (LiteRT `BUILTIN_REF`, TF 2.21), bit for bit on int8 models.
//!
//! - [`Interpreter`] plans once (validation, shape inference, constant folding of the
//!   SHAPE → STRIDED_SLICE → PACK chains TF emits around Keras Reshape/Flatten, per-channel
//!   multipliers, typed weights, every buffer allocated) and then `invoke`s without allocating.
//! - [`kernels`] holds one reference kernel per op and type (`conv2d_i8`, `fully_connected_f32`,
//!   `conv2d_hybrid`, …); [`fixed_point`] the rounding helpers they share.
//! - [`eval`] encodes MNIST images into a model's input and measures accuracy.
//!
//! The interpreter never sees bytes: `tflite::read` turns a file into a `Model` first.

pub mod eval;
pub mod fixed_point;
pub mod interpreter;
pub mod kernels;
pub mod limits;
mod plan;
mod step;
pub mod tensor;

pub use interpreter::{Interpreter, InterpreterOptions};
pub use plan::SUPPORTED_OPS;
pub use step::FcRequant;
pub use tensor::{Buffer, Element, TensorInfo};

/// The schema name of a builtin operator code (`CONV_2D`), or `BUILTIN_<code>` for codes the schema
/// does not know.
pub fn builtin_name(code: i32) -> String {
    crate::tflite::schema::builtin_name(code).map_or_else(|| format!("BUILTIN_{code}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::builtin_name;
    use crate::tflite::schema::op;

    #[test]
    fn names_match_schema_codes() {
        for (code, name) in [
            (op::AVERAGE_POOL_2D, "AVERAGE_POOL_2D"),
            (op::CONV_2D, "CONV_2D"),
            (op::DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D"),
            (op::DEQUANTIZE, "DEQUANTIZE"),
            (op::FULLY_CONNECTED, "FULLY_CONNECTED"),
            (op::MAX_POOL_2D, "MAX_POOL_2D"),
            (op::RESHAPE, "RESHAPE"),
            (op::SOFTMAX, "SOFTMAX"),
            (op::CUSTOM, "CUSTOM"),
            (op::STRIDED_SLICE, "STRIDED_SLICE"),
            (op::SHAPE, "SHAPE"),
            (op::PACK, "PACK"),
            (op::QUANTIZE, "QUANTIZE"),
            (op::PLACEHOLDER_FOR_GREATER_OP_CODES, "PLACEHOLDER_FOR_GREATER_OP_CODES"),
        ] {
            assert_eq!(builtin_name(code), name);
        }
        assert_eq!(builtin_name(0), "ADD");
        assert_eq!(builtin_name(150), "GELU");
        assert_eq!(builtin_name(-3), "BUILTIN_-3");
        assert_eq!(builtin_name(10_000), "BUILTIN_10000");
    }
}
