//! QUANTIZE reference kernels: float32 → int8/uint8/int16, and int8/uint8 → int8/uint8 requantization.
//!
//! Facts from `tflite/kernels/quantize.cc` and `reference/{quantize,requantize}.h`:
//!
//! - float → q: `q = clamp(round(x / (float)scale) + zero_point)`, the division and the rounding (half
//!   away from zero) in float, the zero point added in double, clamped to the output type.
//! - q → q: with `M = (double)s_in / (double)s_out` as a fixed-point multiplier,
//!   `q_out = clamp(MBQM(q_in − zp_in, M) + zp_out)`. uint8 ↔ int8 with equal scales and zero points
//!   128 apart is a sign-bit flip (`x ^ 0x80`), which is what the MBQM path gives too.

use crate::cpu::{self, Kernel};
use crate::error::Result;
use crate::interp::fixed_point::{multiply_by_quantized_multiplier, round_to_i32_clamped};
use crate::interp::kernels::check_len;

/// A quantized storage type (int8, uint8 or int16).
pub trait QuantElement: Copy {
    const MIN: i32;
    const MAX: i32;
    /// A bound on |round(x / scale)| above which every value saturates anyway once the zero point
    /// (inside the type's range) is added: twice the type's span.
    const ROUND_LIMIT: i32 = 2 * (Self::MAX - Self::MIN + 1);
    fn to_i32(self) -> i32;
    fn from_i32(v: i32) -> Self;
}

impl QuantElement for i8 {
    const MIN: i32 = -128;
    const MAX: i32 = 127;
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn from_i32(v: i32) -> i8 {
        v as i8
    }
}

impl QuantElement for i16 {
    const MIN: i32 = -32768;
    const MAX: i32 = 32767;
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn from_i32(v: i32) -> i16 {
        v as i16
    }
}

impl QuantElement for u8 {
    const MIN: i32 = 0;
    const MAX: i32 = 255;
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn from_i32(v: i32) -> u8 {
        v as u8
    }
}

/// Float32 → int8/uint8 (reference `AffineQuantize`): `clamp(round(x / scale) + zero_point)`, the
/// division and rounding (half away from zero) in float. NaN (undefined in the C++) gives the zero point.
pub fn quantize_f32<T: QuantElement>(
    scale: f32,
    zero_point: i32,
    input: &[f32],
    output: &mut [T],
) -> Result<()> {
    cpu::dispatch(QuantizeF32 {
        scale,
        zero_point,
        input,
        output,
    })
}

/// The arguments of one [`quantize_f32`], run with [`cpu::dispatch`] (the AVX2 build divides and
/// rounds 8 values per instruction; the results are the same).
struct QuantizeF32<'a, T> {
    scale: f32,
    zero_point: i32,
    input: &'a [f32],
    output: &'a mut [T],
}

impl<T: QuantElement> Kernel for QuantizeF32<'_, T> {
    type Output = Result<()>;

    /// No sums: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> Result<()> {
        quantize_f32_body(self.scale, self.zero_point, self.input, self.output)
    }
}

/// [`quantize_f32`]'s body, compiled into the build [`Kernel::run`] is called from.
#[inline(always)]
fn quantize_f32_body<T: QuantElement>(
    scale: f32,
    zero_point: i32,
    input: &[f32],
    output: &mut [T],
) -> Result<()> {
    check_len("QUANTIZE", "output", output.len(), input.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        // Saturating at the i32 bounds before clamping to the type gives the same result as the
        // C++'s clamp in double.
        // Clamping the rounded value to ±ROUND_LIMIT first changes nothing after the final clamp,
        // because the planner keeps the zero point inside the output type's range; it vectorizes.
        let v = round_to_i32_clamped(x / scale, T::ROUND_LIMIT).saturating_add(zero_point);
        *o = T::from_i32(v.clamp(T::MIN, T::MAX));
    }
    Ok(())
}

/// int8/uint8 → int8/uint8 (reference `Requantize`); `multiplier`/`shift` encode `s_in / s_out`.
pub fn requantize<I: QuantElement, O: QuantElement>(
    multiplier: i32,
    shift: i32,
    input_zero_point: i32,
    output_zero_point: i32,
    input: &[I],
    output: &mut [O],
) -> Result<()> {
    check_len("QUANTIZE", "output", output.len(), input.len())?;
    if multiplier == 1 << 30 && shift == 1 {
        // Equal scales: MBQM(x, 1.0) is x exactly (the reference's XOR-0x80 fast path for uint8 ↔ int8
        // gives this same value), so only the zero points move.
        for (o, &x) in output.iter_mut().zip(input) {
            *o = O::from_i32(
                (x.to_i32() - input_zero_point + output_zero_point).clamp(O::MIN, O::MAX),
            );
        }
        return Ok(());
    }
    for (o, &x) in output.iter_mut().zip(input) {
        let v = multiply_by_quantized_multiplier(x.to_i32() - input_zero_point, multiplier, shift)
            .wrapping_add(output_zero_point);
        *o = O::from_i32(v.clamp(O::MIN, O::MAX));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::fixed_point::quantize_multiplier;

    #[test]
    fn float_to_int8_and_uint8() {
        let s = 1.0f32 / 255.0;
        let mut q8 = [0i8; 5];
        quantize_f32(s, -128, &[0.0, 1.0, 0.5, -1.0, 2.0], &mut q8).unwrap();
        // float32(1/255) is slightly above 1/255, so 0.5 / s = 127.4999… → 127 − 128 = −1; out of
        // range values clamp.
        assert_eq!(q8, [-128, 127, -1, -128, 127]);
        let mut qu = [0u8; 3];
        quantize_f32(s, 0, &[0.0, 1.0, 0.5], &mut qu).unwrap();
        assert_eq!(qu, [0, 255, 127]);
        // A real tie: 0.75 / 0.5 = 1.5 → 2 (half away from zero).
        let mut q = [0i8; 1];
        quantize_f32(0.5, 0, &[0.75], &mut q).unwrap();
        assert_eq!(q, [2]);
        // Negative tie: −0.25 / 0.5 = −0.5 → −1.
        let mut q = [0i8; 1];
        quantize_f32(0.5, 0, &[-0.25], &mut q).unwrap();
        assert_eq!(q, [-1]);
    }

    #[test]
    fn requantize_flip_and_rescale() {
        let (m, sh) = quantize_multiplier(1.0);
        let mut out = [0i8; 3];
        requantize(m, sh, 0, -128, &[0u8, 128, 255], &mut out).unwrap();
        assert_eq!(out, [-128, 0, 127]);
        let mut back = [0u8; 3];
        requantize(m, sh, -128, 0, &out, &mut back).unwrap();
        assert_eq!(back, [0, 128, 255]);
        // Halving the scale doubles the steps: s_in 0.1, s_out 0.2 → M = 0.5; (7 − 1)·0.5 = 3; +2 → 5;
        // (2 − 1)·0.5 = 0.5 → 1 (ties away) → 3.
        let (m, sh) = quantize_multiplier(0.5);
        let mut out = [0i8; 2];
        requantize(m, sh, 1, 2, &[7i8, 2], &mut out).unwrap();
        assert_eq!(out, [5, 3]);
    }

    #[test]
    fn same_scale_shortcut_equals_mbqm() {
        let (m, sh) = quantize_multiplier(1.0);
        for (zi, zo) in [(0, -128), (3, 7), (255, -128), (-128, 127)] {
            let input: Vec<u8> = (0..=255).collect();
            let mut got = vec![0i8; 256];
            requantize(m, sh, zi, zo, &input, &mut got).unwrap();
            for (&x, &g) in input.iter().zip(&got) {
                let want =
                    (multiply_by_quantized_multiplier(x as i32 - zi, m, sh) + zo).clamp(-128, 127);
                assert_eq!(g as i32, want, "x={x} zi={zi} zo={zo}");
            }
        }
    }
}
