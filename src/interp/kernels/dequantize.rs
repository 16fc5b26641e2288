//! DEQUANTIZE reference kernel: int8/uint8 → float32, and float16 → float32 (exact: every half is a
//! float).
//!
//! Fact from `tflite/kernels/internal/reference/dequantize.h`: `x = (float)((double)scale · (q − zp))`,
//! the product in double (the scale is widened from float), rounded once to float.

use crate::error::Result;
use crate::interp::kernels::check_len;
use crate::interp::kernels::quantize::QuantElement;

/// int8/uint8 → float32.
pub fn dequantize<T: QuantElement>(
    scale: f32,
    zero_point: i32,
    input: &[T],
    output: &mut [f32],
) -> Result<()> {
    check_len("DEQUANTIZE", "output", output.len(), input.len())?;
    let scale = scale as f64;
    for (o, &q) in output.iter_mut().zip(input) {
        *o = (scale * (q.to_i32() - zero_point) as f64) as f32;
    }
    Ok(())
}

/// The float32 value of IEEE 754 half-precision bits (exact; subnormals, infinities and NaN included).
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exponent = ((bits >> 10) & 0x1f) as i32;
    let mantissa = (bits & 0x3ff) as f32;
    match exponent {
        0 => sign * mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_decode_exactly() {
        for (bits, value) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x0400, 6.103_515_6e-5),
            (0x8000, -0.0),
            (0x7c00, f32::INFINITY),
        ] {
            assert_eq!(f16_to_f32(bits).to_bits(), value.to_bits(), "{bits:#06x}");
        }
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn int8_and_uint8() {
        let mut out = [0.0f32; 3];
        dequantize(0.5, -128, &[-128i8, 0, 127], &mut out).unwrap();
        assert_eq!(out, [0.0, 64.0, 127.5]);
        dequantize(0.17128342, 177, &[177u8, 178, 0], &mut out).unwrap();
        assert_eq!(out[..2], [0.0, 0.17128342]);
        assert_eq!(out[2], (0.17128342f32 as f64 * -177.0) as f32);
    }
}
