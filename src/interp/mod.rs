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

/// The schema name of a builtin operator code (`CONV_2D`), or `BUILTIN_<code>` for codes we do not
/// know. Local until `tflite::schema` provides one.
pub fn builtin_name(code: i32) -> String {
    const NAMES: [&str; 162] = [
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
        "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
        "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
        "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
        "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
        "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
        "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
        "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
        "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE",
        "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
        "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
        "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE",
        "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
        "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
        "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
        "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
        "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
        "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
        "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
        "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
        "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
        "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|c| NAMES.get(c))
        .map_or_else(|| format!("BUILTIN_{code}"), |n| n.to_string())
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
