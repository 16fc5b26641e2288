//! DEQUANTIZE reference kernel: int8/uint8 → float32.
//!
//! Fact from `tflite/kernels/internal/reference/dequantize.h`: `x = (float)((double)scale · (q − zp))`,
//! the product in double (the scale is widened from float), rounded once to float.

use crate::error::Result;
use crate::interp::kernels::check_len;
use crate::interp::kernels::quantize::QuantElement;

/// int8/uint8 → float32.
pub fn dequantize<T: QuantElement>(scale: f32, zero_point: i32, input: &[T], output: &mut [f32]) -> Result<()> {
    check_len("DEQUANTIZE", "output", output.len(), input.len())?;
    let scale = scale as f64;
    for (o, &q) in output.iter_mut().zip(input) {
        *o = (scale * (q.to_i32() - zero_point) as f64) as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
