//! Named constants of the TFLite flatbuffer schema (`schema.fbs`, version 3): file identifier, builtin
//! operator codes, option-union type codes. Numbers only; no arithmetic.

/// `Model.version` LiteRT accepts.
pub const SCHEMA_VERSION: u32 = 3;
/// The flatbuffer file identifier at bytes 4..8.
pub const FILE_IDENTIFIER: &[u8; 4] = b"TFL3";

/// `BuiltinOperator` codes of the ops we read, write or run.
pub mod op {
    pub const AVERAGE_POOL_2D: i32 = 1;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEQUANTIZE: i32 = 6;
    pub const FULLY_CONNECTED: i32 = 9;
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
