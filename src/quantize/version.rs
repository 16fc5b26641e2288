//! Operator versions as TensorFlow's converter writes them for the ops we emit, and the
//! `min_runtime_version` metadata derived from them (facts from LiteRT's
//! `tflite/converter/tools/versioning/{op_version,runtime_version}.cc`, checked against TF 2.21 files).

use crate::tflite::schema::op;

/// The oldest TFLite runtime that has this (op, version), if we know it.
pub fn min_runtime_for(code: i32, version: i32) -> Option<&'static str> {
    Some(match (code, version) {
        (op::AVERAGE_POOL_2D, 1)
        | (op::CONV_2D, 1)
        | (op::DEPTHWISE_CONV_2D, 1)
        | (op::FULLY_CONNECTED, 1) => "1.5.0",
        (op::MAX_POOL_2D, 1) | (op::RESHAPE, 1) | (op::SOFTMAX, 1) => "1.5.0",
        (op::STRIDED_SLICE, 1) => "1.6.0",
        (op::FULLY_CONNECTED, 2) | (op::SHAPE, 1) => "1.10.0",
        (op::PACK, 1) => "1.11.0",
        (op::DEPTHWISE_CONV_2D, 2) => "1.12.0",
        (op::DEQUANTIZE, 1) => "1.13.1",
        (op::AVERAGE_POOL_2D, 2) | (op::CONV_2D, 2 | 3) | (op::DEPTHWISE_CONV_2D, 3) => "1.14.0",
        (op::FULLY_CONNECTED, 3 | 4) | (op::MAX_POOL_2D, 2) | (op::SOFTMAX, 2) => "1.14.0",
        (op::QUANTIZE, 1) | (op::DEQUANTIZE, 2) => "1.14.0",
        (op::DEQUANTIZE, 3) => "1.15.0",
        (op::FULLY_CONNECTED, 5) => "2.0.0",
        (op::FULLY_CONNECTED, 9) | (op::DEPTHWISE_CONV_2D, 6) => "2.3.0",
        (op::CONV_2D, 5) => "2.4.0",
        (op::FULLY_CONNECTED, 12) => "2.17.0",
        _ => return None,
    })
}

/// Compare dotted versions numerically ("1.14.0" > "1.5.0").
fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The model's minimum runtime: the largest over its (op, version) pairs, as a 16-byte NUL-padded
/// buffer (the layout TF writes).
pub fn min_runtime_version(ops: impl IntoIterator<Item = (i32, i32)>) -> Vec<u8> {
    let best = ops
        .into_iter()
        .filter_map(|(code, version)| min_runtime_for(code, version))
        .max_by_key(|v| version_key(v))
        .unwrap_or("1.5.0");
    let mut buf = best.as_bytes().to_vec();
    buf.resize(16, 0);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_models_get_tfs_runtime_versions() {
        // TF 2.21 wrote "1.11.0" for the float tutorial model (PACK v1) and "1.14.0" for the int8 ones
        let float = [
            (op::SHAPE, 1),
            (op::STRIDED_SLICE, 1),
            (op::PACK, 1),
            (op::RESHAPE, 1),
            (op::CONV_2D, 1),
            (op::MAX_POOL_2D, 1),
            (op::FULLY_CONNECTED, 1),
        ];
        assert_eq!(&min_runtime_version(float)[..7], b"1.11.0\0");
        let int8 = [
            (op::QUANTIZE, 1),
            (op::CONV_2D, 3),
            (op::MAX_POOL_2D, 2),
            (op::FULLY_CONNECTED, 4),
        ];
        assert_eq!(&min_runtime_version(int8)[..7], b"1.14.0\0");
        assert_eq!(min_runtime_version(int8).len(), 16);
        // dotted versions compare numerically, not as text
        assert_eq!(
            &min_runtime_version([(op::PACK, 1), (op::FULLY_CONNECTED, 12)])[..7],
            b"2.17.0\0"
        );
    }
}
