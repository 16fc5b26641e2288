//! Named constants of the TFLite flatbuffer schema (`schema.fbs`, version 3): file identifier, builtin
//! operator codes and names, option-union type codes, and the vtable offsets of the table fields that
//! `read` and `write` use (hand-written tables: no generated code). Numbers only; no arithmetic.

/// `Model.version` LiteRT accepts.
pub const SCHEMA_VERSION: u32 = 3;
/// The flatbuffer file identifier at bytes 4..8.
pub const FILE_IDENTIFIER: &[u8; 4] = b"TFL3";

/// `Model.metadata` entry TF writes with the oldest runtime that can run the model (a NUL-padded string).
pub const METADATA_MIN_RUNTIME_VERSION: &str = "min_runtime_version";
/// `Model.metadata` entry our float export writes with the model's design (JSON, see `crate::design`),
/// so that a trained model can be read back and trained further.
pub const METADATA_DESIGN: &str = "ptq_design";
/// `Model.metadata` entry with the parameters the export folded (a layer before a BatchNormalization
/// and the BatchNormalization's own), as little-endian float32, so that reading the model back restores
/// them unfolded.
pub const METADATA_UNFOLDED: &str = "ptq_unfolded";
/// The signature key Keras models are exported with.
pub const SIGNATURE_SERVING_DEFAULT: &str = "serving_default";

/// Names of the `BuiltinOperator` enum, indexed by code (0 ADD … 209 STABLEHLO_CASE), as in the current
/// `schema.fbs` (tensorflow/compiler/mlir/lite/schema/schema.fbs, LiteRT tflite/converter/schema/schema.fbs).
#[rustfmt::skip]
const BUILTIN_NAMES: [&str; 210] = [
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
    "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
    "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN",
    "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
    "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
    "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
    "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD",
    "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
    "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
    "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE",
    "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE",
    "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
    "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
    "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
    "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
    "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS",
    "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER",
    "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER",
    "STABLEHLO_COMPARE", "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
    "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR",
    "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
];

/// The schema name of a builtin operator code (`CONV_2D` for 3), or `None` for codes the schema doesn't
/// know (newer ops, or garbage). Messages and reports use [`op_name`].
pub fn builtin_name(code: i32) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| BUILTIN_NAMES.get(i))
        .copied()
}

/// The name an operator code is shown with: its schema name (`CONV_2D`), or `BUILTIN_<code>` for codes
/// the schema doesn't know.
pub fn op_name(code: i32) -> String {
    builtin_name(code).map_or_else(|| format!("BUILTIN_{code}"), str::to_string)
}

/// `BuiltinOptions` union type codes of the option tables we read and write (0 = no options table).
pub mod options {
    pub const NONE: u8 = 0;
    pub const CONV_2D: u8 = 1;
    pub const DEPTHWISE_CONV_2D: u8 = 2;
    pub const POOL_2D: u8 = 5;
    pub const FULLY_CONNECTED: u8 = 8;
    pub const SOFTMAX: u8 = 9;
    pub const RESHAPE: u8 = 17;
    pub const STRIDED_SLICE: u8 = 32;
    pub const DEQUANTIZE: u8 = 38;
    pub const SHAPE: u8 = 55;
    pub const PACK: u8 = 59;
    pub const QUANTIZE: u8 = 89;

    /// The table name of one of the union types above.
    pub fn name(union: u8) -> Option<&'static str> {
        Some(match union {
            NONE => "no options",
            CONV_2D => "Conv2DOptions",
            DEPTHWISE_CONV_2D => "DepthwiseConv2DOptions",
            POOL_2D => "Pool2DOptions",
            FULLY_CONNECTED => "FullyConnectedOptions",
            SOFTMAX => "SoftmaxOptions",
            RESHAPE => "ReshapeOptions",
            STRIDED_SLICE => "StridedSliceOptions",
            DEQUANTIZE => "DequantizeOptions",
            SHAPE => "ShapeOptions",
            PACK => "PackOptions",
            QUANTIZE => "QuantizeOptions",
            _ => return None,
        })
    }
}

/// Vtable offsets of the table fields we read or write: field id *i* sits at byte `4 + 2i` of a vtable.
/// Checked against `schema.fbs` (field order) and the generated `schema_py_generated.py` of ai-edge-litert.
pub mod field {
    pub mod model {
        pub const VERSION: u16 = 4;
        pub const OPERATOR_CODES: u16 = 6;
        pub const SUBGRAPHS: u16 = 8;
        pub const DESCRIPTION: u16 = 10;
        pub const BUFFERS: u16 = 12;
        pub const METADATA_BUFFER: u16 = 14;
        pub const METADATA: u16 = 16;
        pub const SIGNATURE_DEFS: u16 = 18;
        pub const EXTERNAL_BUFFER_GROUPS: u16 = 20;
        pub const EXTERNAL_BUFFERS: u16 = 22;
    }
    pub mod operator_code {
        pub const DEPRECATED_BUILTIN_CODE: u16 = 4;
        pub const CUSTOM_CODE: u16 = 6;
        pub const VERSION: u16 = 8;
        pub const BUILTIN_CODE: u16 = 10;
    }
    pub mod subgraph {
        pub const TENSORS: u16 = 4;
        pub const INPUTS: u16 = 6;
        pub const OUTPUTS: u16 = 8;
        pub const OPERATORS: u16 = 10;
        pub const NAME: u16 = 12;
    }
    pub mod tensor {
        pub const SHAPE: u16 = 4;
        pub const TYPE: u16 = 6;
        pub const BUFFER: u16 = 8;
        pub const NAME: u16 = 10;
        pub const QUANTIZATION: u16 = 12;
        pub const IS_VARIABLE: u16 = 14;
        pub const SPARSITY: u16 = 16;
        pub const SHAPE_SIGNATURE: u16 = 18;
        pub const HAS_RANK: u16 = 20;
        pub const VARIANT_TENSORS: u16 = 22;
        pub const EXTERNAL_BUFFER: u16 = 24;
    }
    pub mod quantization {
        pub const MIN: u16 = 4;
        pub const MAX: u16 = 6;
        pub const SCALE: u16 = 8;
        pub const ZERO_POINT: u16 = 10;
        pub const DETAILS_TYPE: u16 = 12;
        pub const DETAILS: u16 = 14;
        pub const QUANTIZED_DIMENSION: u16 = 16;
    }
    pub mod buffer {
        /// `[ubyte] (force_align: 16)`.
        pub const DATA: u16 = 4;
        /// External data of models over 2 GB (valid only when > 1); we reject it.
        pub const OFFSET: u16 = 6;
        pub const SIZE: u16 = 8;
    }
    pub mod operator {
        pub const OPCODE_INDEX: u16 = 4;
        pub const INPUTS: u16 = 6;
        pub const OUTPUTS: u16 = 8;
        pub const BUILTIN_OPTIONS_TYPE: u16 = 10;
        pub const BUILTIN_OPTIONS: u16 = 12;
        pub const CUSTOM_OPTIONS: u16 = 14;
        pub const LARGE_CUSTOM_OPTIONS_OFFSET: u16 = 22;
    }
    pub mod metadata {
        pub const NAME: u16 = 4;
        pub const BUFFER: u16 = 6;
    }
    pub mod signature_def {
        pub const INPUTS: u16 = 4;
        pub const OUTPUTS: u16 = 6;
        pub const SIGNATURE_KEY: u16 = 8;
        pub const SUBGRAPH_INDEX: u16 = 12;
    }
    pub mod tensor_map {
        pub const NAME: u16 = 4;
        pub const TENSOR_INDEX: u16 = 6;
    }
    pub mod conv_2d {
        pub const PADDING: u16 = 4;
        pub const STRIDE_W: u16 = 6;
        pub const STRIDE_H: u16 = 8;
        pub const FUSED_ACTIVATION: u16 = 10;
        /// Default 1.
        pub const DILATION_W: u16 = 12;
        /// Default 1.
        pub const DILATION_H: u16 = 14;
    }
    pub mod depthwise_conv_2d {
        pub const PADDING: u16 = 4;
        pub const STRIDE_W: u16 = 6;
        pub const STRIDE_H: u16 = 8;
        pub const DEPTH_MULTIPLIER: u16 = 10;
        pub const FUSED_ACTIVATION: u16 = 12;
        /// Default 1.
        pub const DILATION_W: u16 = 14;
        /// Default 1.
        pub const DILATION_H: u16 = 16;
    }
    pub mod pool_2d {
        pub const PADDING: u16 = 4;
        pub const STRIDE_W: u16 = 6;
        pub const STRIDE_H: u16 = 8;
        pub const FILTER_W: u16 = 10;
        pub const FILTER_H: u16 = 12;
        pub const FUSED_ACTIVATION: u16 = 14;
    }
    pub mod fully_connected {
        pub const FUSED_ACTIVATION: u16 = 4;
        pub const WEIGHTS_FORMAT: u16 = 6;
        pub const KEEP_NUM_DIMS: u16 = 8;
        pub const ASYMMETRIC_QUANTIZE_INPUTS: u16 = 10;
    }
    pub mod softmax {
        pub const BETA: u16 = 4;
    }
    pub mod reshape {
        pub const NEW_SHAPE: u16 = 4;
    }
    pub mod strided_slice {
        pub const BEGIN_MASK: u16 = 4;
        pub const END_MASK: u16 = 6;
        pub const ELLIPSIS_MASK: u16 = 8;
        pub const NEW_AXIS_MASK: u16 = 10;
        pub const SHRINK_AXIS_MASK: u16 = 12;
        pub const OFFSET: u16 = 14;
    }
    pub mod shape {
        pub const OUT_TYPE: u16 = 4;
    }
    pub mod pack {
        pub const VALUES_COUNT: u16 = 4;
        pub const AXIS: u16 = 6;
    }
}

/// `BuiltinOperator` codes of the ops we read, write or run.
pub mod op {
    pub const ADD: i32 = 0;
    pub const AVERAGE_POOL_2D: i32 = 1;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEQUANTIZE: i32 = 6;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const L2_POOL_2D: i32 = 12;
    pub const MAX_POOL_2D: i32 = 17;
    pub const RESHAPE: i32 = 22;
    pub const SOFTMAX: i32 = 25;
    pub const CUSTOM: i32 = 32;
    pub const STRIDED_SLICE: i32 = 45;
    pub const SHAPE: i32 = 77;
    pub const PACK: i32 = 83;
    pub const QUANTIZE: i32 = 114;
    /// Codes above this live only in `OperatorCode.builtin_code`; `deprecated_builtin_code` holds 127.
    pub const PLACEHOLDER_FOR_GREATER_OP_CODES: i32 = 127;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_codes() {
        for (code, name) in [
            (op::ADD, "ADD"),
            (op::AVERAGE_POOL_2D, "AVERAGE_POOL_2D"),
            (op::CONV_2D, "CONV_2D"),
            (op::DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D"),
            (op::DEQUANTIZE, "DEQUANTIZE"),
            (op::FULLY_CONNECTED, "FULLY_CONNECTED"),
            (op::L2_POOL_2D, "L2_POOL_2D"),
            (op::MAX_POOL_2D, "MAX_POOL_2D"),
            (op::RESHAPE, "RESHAPE"),
            (op::SOFTMAX, "SOFTMAX"),
            (op::CUSTOM, "CUSTOM"),
            (op::STRIDED_SLICE, "STRIDED_SLICE"),
            (op::SHAPE, "SHAPE"),
            (op::PACK, "PACK"),
            (op::QUANTIZE, "QUANTIZE"),
            (
                op::PLACEHOLDER_FOR_GREATER_OP_CODES,
                "PLACEHOLDER_FOR_GREATER_OP_CODES",
            ),
            (128, "CUMSUM"),
            (150, "GELU"),
            (209, "STABLEHLO_CASE"),
        ] {
            assert_eq!(builtin_name(code), Some(name), "code {code}");
            assert_eq!(op_name(code), name);
        }
        assert_eq!(builtin_name(210), None);
        assert_eq!(builtin_name(-1), None);
        assert_eq!(op_name(210), "BUILTIN_210");
        assert_eq!(op_name(-3), "BUILTIN_-3");
        assert_eq!(options::name(options::QUANTIZE), Some("QuantizeOptions"));
        assert_eq!(options::name(200), None);
    }
}
