//! Fused activation ranges (`CalculateActivationRange` / `CalculateActivationRangeQuantized` in
//! `tflite/kernels/kernel_util.{h,cc}`).
//!
//! Float: NONE → [lowest, max], RELU → [0, max], RELU_N1_TO_1 → [−1, 1], RELU6 → [0, 6]; the kernels
//! apply `min(max(x, lo), hi)`.
//!
//! Quantized: the bounds are the real bounds quantized with the *output* parameters,
//! `q = zp + (int)round(f / scale)` in float, then intersected with the type's range. So RELU on an
//! int8 output is `[max(−128, zp), 127]`.

use crate::error::{Error, Result};
use crate::interp::fixed_point::round_f32;
use crate::tflite::Activation;

/// Float clamp bounds for a fused activation (TANH and SIGN_BIT are not clamps; TFLite's fused kernels
/// silently ignore them, we refuse them).
pub fn float_range(op: &str, act: Activation) -> Result<(f32, f32)> {
    Ok(match act {
        Activation::None => (f32::MIN, f32::MAX),
        Activation::Relu => (0.0, f32::MAX),
        Activation::ReluN1To1 => (-1.0, 1.0),
        Activation::Relu6 => (0.0, 6.0),
        other => {
            return Err(Error::Unsupported {
                op: op.to_string(),
                what: format!("fused activation {other:?}"),
            });
        }
    })
}

/// `min(max(x, lo), hi)` as `ActivationFunctionWithMinMax` (NaN passes through `max`/`min` of C++'s
/// `std::max(x, lo)` only when x is first; Rust's `f32::max` returns the non-NaN operand instead, so we
/// write the comparisons out to match C++).
#[inline]
pub fn clamp_f32(x: f32, lo: f32, hi: f32) -> f32 {
    // std::max(x, lo) = (x < lo) ? lo : x;  std::min(y, hi) = (hi < y) ? hi : y
    let y = if x < lo { lo } else { x };
    if hi < y { hi } else { y }
}

/// TFLite's kernel_util `Quantize`: `zero_point + (int)round(f / scale)`, in float, failing when the
/// rounded value does not fit an i32.
fn quantize_bound(op: &str, scale: f32, zero_point: i32, f: f32) -> Result<i32> {
    let tmp = round_f32(f / scale);
    if !(tmp >= i32::MIN as f32 && tmp <= i32::MAX as f32) {
        return Err(Error::InvalidModel(format!(
            "{op}: activation bound {f} does not fit the output scale {scale}"
        )));
    }
    Ok(zero_point.wrapping_add(tmp as i32))
}

/// Quantized clamp bounds for a fused activation on an output with `(scale, zero_point)` and type range
/// `[qmin, qmax]`.
pub fn quantized_range(
    op: &str,
    act: Activation,
    scale: f32,
    zero_point: i32,
    (qmin, qmax): (i32, i32),
) -> Result<(i32, i32)> {
    Ok(match act {
        Activation::None => (qmin, qmax),
        Activation::Relu => (qmin.max(quantize_bound(op, scale, zero_point, 0.0)?), qmax),
        Activation::Relu6 => (
            qmin.max(quantize_bound(op, scale, zero_point, 0.0)?),
            qmax.min(quantize_bound(op, scale, zero_point, 6.0)?),
        ),
        Activation::ReluN1To1 => (
            qmin.max(quantize_bound(op, scale, zero_point, -1.0)?),
            qmax.min(quantize_bound(op, scale, zero_point, 1.0)?),
        ),
        other => {
            return Err(Error::Unsupported {
                op: op.to_string(),
                what: format!("fused activation {other:?}"),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_bounds() {
        let i8r = (-128, 127);
        // RELU with zp −128: lower bound stays −128.
        assert_eq!(quantized_range("t", Activation::Relu, 0.01, -128, i8r).unwrap(), (-128, 127));
        // RELU with zp 5 → [5, 127].
        assert_eq!(quantized_range("t", Activation::Relu, 0.1, 5, i8r).unwrap(), (5, 127));
        // RELU6, scale 0.05, zp −100: 6/0.05 = 120 → −100 + 120 = 20.
        assert_eq!(quantized_range("t", Activation::Relu6, 0.05, -100, i8r).unwrap(), (-100, 20));
        // RELU6 whose 6.0 is beyond the type range is clipped to 127.
        assert_eq!(quantized_range("t", Activation::Relu6, 0.01, 0, i8r).unwrap(), (0, 127));
        // RELU_N1_TO_1, scale 1/64, zp 0 → [−64, 64].
        assert_eq!(quantized_range("t", Activation::ReluN1To1, 1.0 / 64.0, 0, i8r).unwrap(), (-64, 64));
        assert!(quantized_range("t", Activation::Tanh, 0.1, 0, i8r).is_err());
        assert!(quantized_range("t", Activation::Relu6, 1e-30, 0, i8r).is_err());
    }

    #[test]
    fn float_clamp_like_cpp() {
        assert_eq!(clamp_f32(-1.0, 0.0, 6.0), 0.0);
        assert_eq!(clamp_f32(7.0, 0.0, 6.0), 6.0);
        assert_eq!(clamp_f32(3.0, 0.0, 6.0), 3.0);
        assert!(clamp_f32(f32::NAN, 0.0, 6.0).is_nan());
        assert_eq!(float_range("t", Activation::Relu).unwrap(), (0.0, f32::MAX));
    }
}
