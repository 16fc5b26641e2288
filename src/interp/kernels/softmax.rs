//! SOFTMAX reference kernels (float32, and int8/uint8 with the gemmlowp fixed-point exp).
//!
//! Softmax runs over the last dimension: `outer` rows of `depth` values.
//!
//! Float (reference `Softmax`): subtract the row max, `exp((x − max) · beta)` in float, sum in order,
//! divide.
//!
//! Quantized (`reference_ops::Softmax<int8_t/uint8_t>`, which the `BUILTIN_REF` resolver uses; the
//! LUT-based kernel is only the optimized path): the input differences `x − max` (in input steps) are
//! rescaled by `beta · input_scale` into Q5.26 with a fixed-point multiplier
//! (`PreprocessSoftmaxScaling`), differences below `diff_min` are treated as exp = 0, exp is
//! `exp_on_negative_values` (Q0.31), the sum is kept in Q12.19, its reciprocal comes from
//! `GetReciprocal`, and each output is `RoundingDivideByPOT(reciprocal · exp, num_bits_over_unit +
//! 31 − 8)` shifted by the type's minimum and clamped. The output scale is 1/256 and its zero point the
//! type's minimum (−128 for int8, 0 for uint8); TFLite checks that at prepare time.

use crate::error::{Error, Result};
use crate::interp::fixed_point::{
    calculate_input_radius, exp_on_negative_values, get_reciprocal, multiply_by_quantized_multiplier_greater_than_one,
    quantize_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul, saturating_rounding_multiply_by_pot,
};
use crate::interp::kernels::check_len;

/// Input integer bits of the rescaled differences (Q5.26).
const SCALED_DIFF_INTEGER_BITS: i32 = 5;
/// Integer bits of the sum of exponentials (Q12.19).
const ACCUMULATION_INTEGER_BITS: i32 = 12;

/// Float32 softmax.
pub fn softmax_f32(depth: usize, beta: f32, input: &[f32], output: &mut [f32]) -> Result<()> {
    check_len("SOFTMAX", "output", output.len(), input.len())?;
    if depth == 0 {
        return Ok(());
    }
    for (in_row, out_row) in input.chunks_exact(depth).zip(output.chunks_exact_mut(depth)) {
        let mut max = f32::MIN;
        for &x in in_row {
            // std::max(max, x)
            if max < x {
                max = x;
            }
        }
        let mut sum = 0.0f32;
        for (o, &x) in out_row.iter_mut().zip(in_row) {
            let e = ((x - max) * beta).exp();
            *o = e;
            sum += e;
        }
        for o in out_row.iter_mut() {
            *o /= sum;
        }
    }
    Ok(())
}

/// Precomputed parameters of the quantized softmax.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxQuant {
    pub input_multiplier: i32,
    pub input_left_shift: i32,
    pub diff_min: i32,
}

impl SoftmaxQuant {
    /// `PreprocessSoftmaxScaling(beta, input_scale, 5)` and `diff_min = −CalculateInputRadius(5, shift)`.
    pub fn new(beta: f32, input_scale: f32) -> Result<SoftmaxQuant> {
        let max_real_multiplier = ((1i64 << 31) - 1) as f64;
        let real = (beta as f64 * input_scale as f64 * (1i64 << (31 - SCALED_DIFF_INTEGER_BITS)) as f64).min(max_real_multiplier);
        // QuantizeMultiplierGreaterThanOne: TFLite aborts for multipliers ≤ 1; we refuse them.
        if !(real > 1.0) {
            return Err(Error::Unsupported {
                op: "SOFTMAX".into(),
                what: format!("beta {beta} × input scale {input_scale} is too small for the fixed-point kernel"),
            });
        }
        let (input_multiplier, input_left_shift) = quantize_multiplier(real);
        Ok(SoftmaxQuant {
            input_multiplier,
            input_left_shift,
            diff_min: -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, input_left_shift),
        })
    }
}

/// A quantized element type of the softmax (int8 or uint8).
pub trait SoftmaxElement: Copy {
    const MIN: i32;
    const MAX: i32;
    fn to_i32(self) -> i32;
    fn from_i32(v: i32) -> Self;
}

impl SoftmaxElement for i8 {
    const MIN: i32 = i8::MIN as i32;
    const MAX: i32 = i8::MAX as i32;
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn from_i32(v: i32) -> i8 {
        v as i8
    }
}

impl SoftmaxElement for u8 {
    const MIN: i32 = 0;
    const MAX: i32 = 255;
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn from_i32(v: i32) -> u8 {
        v as u8
    }
}

/// The Q5.26 rescaled difference, or `None` if it is below `diff_min` (its exp counts as 0).
#[inline]
fn rescaled_diff(q: &SoftmaxQuant, x: i32, max: i32) -> Option<i32> {
    let input_diff = x - max;
    (input_diff >= q.diff_min)
        .then(|| multiply_by_quantized_multiplier_greater_than_one(input_diff, q.input_multiplier, q.input_left_shift))
}

/// Quantized softmax (int8 → int8 or uint8 → uint8).
pub fn softmax_quantized<T: SoftmaxElement>(depth: usize, q: &SoftmaxQuant, input: &[T], output: &mut [T]) -> Result<()> {
    check_len("SOFTMAX", "output", output.len(), input.len())?;
    if depth == 0 {
        return Ok(());
    }
    for (in_row, out_row) in input.chunks_exact(depth).zip(output.chunks_exact_mut(depth)) {
        let max = in_row.iter().map(|v| v.to_i32()).fold(T::MIN, i32::max);
        // Σ exp in Q12.19: each Q0.31 exp is rescaled by 2^−12 with rounding.
        let mut sum_of_exps: i32 = 0;
        for &x in in_row {
            if let Some(diff) = rescaled_diff(q, x.to_i32(), max) {
                let exp = exp_on_negative_values(diff, SCALED_DIFF_INTEGER_BITS as u32);
                sum_of_exps = sum_of_exps.wrapping_add(saturating_rounding_multiply_by_pot(exp, -ACCUMULATION_INTEGER_BITS));
            }
        }
        let (shifted_scale, num_bits_over_unit) = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS);
        let exponent = num_bits_over_unit + 31 - 8;
        if !(0..=31).contains(&exponent) {
            // TFLITE_CHECK in the reference kernel (a sum of exps above ~512, e.g. a row of > 512 equal
            // values).
            return Err(Error::Unsupported {
                op: "SOFTMAX".into(),
                what: format!("a row of {depth} values whose exponentials sum beyond the kernel's range"),
            });
        }
        for (o, &x) in out_row.iter_mut().zip(in_row) {
            *o = match rescaled_diff(q, x.to_i32(), max) {
                Some(diff) => {
                    let exp = exp_on_negative_values(diff, SCALED_DIFF_INTEGER_BITS as u32);
                    let unsat = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted_scale, exp), exponent);
                    T::from_i32(unsat.wrapping_add(T::MIN).clamp(T::MIN, T::MAX))
                }
                None => T::from_i32(T::MIN),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_rows() {
        let mut out = [0.0f32; 4];
        softmax_f32(2, 1.0, &[0.0, 0.0, 1.0, 1.0 + 2f32.ln()], &mut out).unwrap();
        assert_eq!(out[..2], [0.5, 0.5]);
        assert!((out[2] - 1.0 / 3.0).abs() < 1e-7 && (out[3] - 2.0 / 3.0).abs() < 1e-7);
    }

    #[test]
    fn int8_uniform_and_peaked() {
        // Input scale 1/16, beta 1. Two equal logits → 0.5 each → 128/256 → −128 + 128 = 0.
        let q = SoftmaxQuant::new(1.0, 1.0 / 16.0).unwrap();
        let mut out = [0i8; 2];
        softmax_quantized(2, &q, &[5i8, 5], &mut out).unwrap();
        assert_eq!(out, [0, 0]);
        // One logit far above the others (diff −255/16 ≈ −16): exp ≈ 1e−7 → −128; the max gets
        // 1.0 → 256 → clamps at 127.
        softmax_quantized(2, &q, &[127i8, -128], &mut out).unwrap();
        assert_eq!(out, [127, -128]);
        // Logits 0 and ln 2 ≈ 0.693 (11 steps of 1/16 = 0.6875): p = 1/(1 + e^−0.6875) ≈ 0.6654
        // → 170.3 → 170 − 128 = 42, and 0.3346 → 85.7 → 86 − 128 = −42.
        softmax_quantized(2, &q, &[11i8, 0], &mut out).unwrap();
        assert_eq!(out, [42, -42]);
        // uint8 has zero point 0.
        let mut out = [0u8; 2];
        softmax_quantized(2, &q, &[7u8, 7], &mut out).unwrap();
        assert_eq!(out, [128, 128]);
    }

    #[test]
    fn tiny_scale_is_refused() {
        assert!(SoftmaxQuant::new(1.0, 1e-9).is_err());
    }
}
