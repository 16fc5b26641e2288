//! Integer fixed-point helpers with TFLite's reference rounding.
//!
//! Facts from `tflite/kernels/internal/{quantization_util.cc,common.cc,common.h}` (LiteRT) and
//! `fixedpoint/fixedpoint.h` (gemmlowp); the code is ours.
//!
//! **Rounding mode.** TFLite has two requantization variants behind `TFLITE_SINGLE_ROUNDING`. The builtin
//! kernels (LiteRT pip packages, `BUILTIN_REF`) are built without it, so we implement the default,
//! *double rounding*: a saturating rounding doubling high multiply (round half away from zero, like
//! ARM `VQRDMULH`), then a rounding right shift (round half away from zero). The reference vectors
//! confirm it for CONV_2D (see `tests/reference_exact.rs`).
//!
//! Notation: a Q*m*.*n* value is an `i32` `raw` representing `raw / 2^n`, with *m* integer bits and
//! *n* = 31 − *m* fractional bits (gemmlowp's `FixedPoint<int32_t, m>`).
//!
//! C's signed overflow is undefined behaviour; where TFLite's arithmetic can overflow on hostile inputs
//! we wrap (what the compiled C++ does in practice) instead of panicking.

/// Round half away from zero, as `TfLiteRound`/`std::round` (Rust's `round` has the same rule).
#[inline]
pub fn round_f32(x: f32) -> f32 {
    x.round()
}

/// `round_f32(x) as i32` (saturating; NaN gives 0) without calling libm's `roundf`, which the baseline
/// x86-64 target cannot inline (`roundps` needs SSE4.1): truncate, then step away from zero when the
/// dropped fraction is at least one half. The fraction `x − trunc(x)` is exact in f32 (below 2^23 it is
/// x's low bits; above, x is an integer and the fraction 0).
#[inline(always)]
pub fn round_to_i32(x: f32) -> i32 {
    let t = x as i32;
    let fraction = x - t as f32;
    t.saturating_add((fraction >= 0.5) as i32 - (fraction <= -0.5) as i32)
}

/// `round_to_i32(x).clamp(−limit, limit)` for `limit ≤ 2^22`, in a form that vectorizes: `x` is
/// clamped to ±2·limit first (NaN stays NaN and still gives 0), so the truncation is exact and the
/// rounding step cannot overflow, and no saturating arithmetic is needed. Used where the caller clamps to
/// a narrower range afterwards anyway (quantization to 8 bits).
#[inline(always)]
pub fn round_to_i32_clamped(x: f32, limit: i32) -> i32 {
    let bound = 2.0 * limit as f32;
    let x = x.clamp(-bound, bound);
    let t = x as i32;
    let fraction = x - t as f32;
    (t + (fraction >= 0.5) as i32 - (fraction <= -0.5) as i32).clamp(-limit, limit)
}

/// `QuantizeMultiplier`: split a positive real multiplier `m` into a Q0.31 significand in
/// [2^30, 2^31) and a power-of-two exponent, `m ≈ significand · 2^(shift − 31)`.
///
/// Steps (quantization_util.cc): `frexp` gives `m = q · 2^shift` with q in [0.5, 1); the significand
/// is `round(q · 2^31)` half away from zero; if rounding reached 2^31 it is halved and the shift bumped;
/// shifts below −31 flush to (0, 0). Zero (and anything not finite and positive, which TFLite never
/// passes here) gives (0, 0).
pub fn quantize_multiplier(m: f64) -> (i32, i32) {
    if m == 0.0 || !m.is_finite() || m < 0.0 {
        return (0, 0);
    }
    let (q, mut shift) = frexp(m);
    let mut q_fixed = (q * (1u64 << 31) as f64).round() as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (q_fixed as i32, shift)
}

/// `frexp` for finite, positive, non-zero `x`: returns (q, e) with `x = q · 2^e`, q in [0.5, 1).
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp_field = ((bits >> 52) & 0x7ff) as i32;
    if exp_field == 0 {
        // Subnormal: scale up by 2^64 first so the exponent field becomes meaningful.
        let (q, e) = frexp(x * 18446744073709551616.0);
        return (q, e - 64);
    }
    let e = exp_field - 1022;
    let q = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (q, e)
}

/// gemmlowp `SaturatingRoundingDoublingHighMul`: `a · b / 2^31` rounded to nearest with ties toward +∞
/// (ARM `VQRDMULH`), with the single overflow case `INT32_MIN · INT32_MIN` saturated to `INT32_MAX`.
///
/// The nudge is 2^30 for non-negative products and 1 − 2^30 for negative ones, then C's division
/// truncates toward zero (as Rust's `/` on i64 does): +0.5 becomes 1, −0.5 becomes 0, −0.75 becomes −1.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
///
/// `remainder` is the low `exponent` bits; the threshold is half the divisor, plus one for negative `x`
/// because the arithmetic shift already rounded those toward −∞. `exponent` must be in 0..=31 (TFLite
/// asserts it); out-of-range values are clamped.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite `MultiplyByQuantizedMultiplier`, double-rounding variant (the default build): scale `x` by
/// `multiplier · 2^(shift − 31)`.
///
/// A positive shift is applied as a left shift *before* the high multiply (wrapping like the C++ on
/// overflow; the interpreter rejects shifts that could overflow), a negative one as a rounding right
/// shift after it.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left_shift = shift.clamp(0, 31) as u32;
    let right_shift = (-shift).max(0);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left_shift), multiplier),
        right_shift,
    )
}

/// TFLite's 64-bit `MultiplyByQuantizedMultiplier` (`kernels/internal/common.cc`), the requantization
/// of the 16x8 kernels, whose accumulators are int64: the Q0.31 multiplier is first rounded to 16 bits,
/// `(m + 2^15) >> 16` (0x7FFF for multipliers from 0x7FFF0000 up, where that sum would overflow), then
/// `(x · m16 + 2^(14 − shift)) >> (15 − shift)`: one rounding, half toward +∞. TFLite asserts
/// |x| < 2^47 and shift in −31..=7; here the arithmetic wraps and the shift is clamped instead, so a
/// hostile model gets a wrong number, never a crash. The result is truncated to 32 bits as the C++
/// `static_cast` does.
#[inline]
pub fn multiply_by_quantized_multiplier_i64(x: i64, multiplier: i32, shift: i32) -> i32 {
    let reduced = if multiplier < 0x7FFF_0000 {
        (multiplier as i64 + (1 << 15)) >> 16
    } else {
        0x7FFF
    };
    let total_shift = (15 - shift.clamp(-31, 7)) as u32;
    let round = 1i64 << (total_shift - 1);
    (x.wrapping_mul(reduced).wrapping_add(round) >> total_shift) as i32
}

/// [`multiply_by_quantized_multiplier`] without branches, for the fast kernels; equal to it for every
/// `x` and every `multiplier ≥ 0` (what [`quantize_multiplier`] produces) and `shift` in −31..=31.
///
/// Why it is the same function:
/// - `SRDHM(a, m)` is `(a·m + nudge) / 2^31` with C division (toward zero) and nudge 2^30 or 1 − 2^30 by
///   sign. For a non-negative product that is `floor((a·m + 2^30) / 2^31)`. For a negative one,
///   truncation is the ceiling, and `ceil(t / N) = floor((t + N − 1) / N)`, which with
///   `t = a·m + 1 − 2^30` is again `floor((a·m + 2^30) / 2^31)`: one arithmetic shift for both signs.
///   (The saturating case needs `m = INT32_MIN`, which a non-negative multiplier never is.)
/// - `RoundingDivideByPOT(y, r)` rounds half away from zero: `floor((y + 2^(r−1)) / 2^r)` for `y ≥ 0`
///   and `floor((y + 2^(r−1) − 1) / 2^r)` for `y < 0`, i.e. `(y + 2^(r−1) − [y < 0]) >> r`.
#[inline(always)]
pub fn multiply_by_quantized_multiplier_fast(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left_shift = shift.clamp(0, 31) as u32;
    let right_shift = (-shift).clamp(0, 31) as u32;
    let a = x.wrapping_shl(left_shift) as i64;
    let y = (a * multiplier as i64 + (1i64 << 30)) >> 31;
    let round = (1i64 << right_shift) >> 1; // 2^(r−1), or 0 when r = 0
    let negative = (y < 0) as i64 & (right_shift > 0) as i64;
    ((y + round - negative) >> right_shift) as i32
}

/// TFLite `MultiplyByQuantizedMultiplierGreaterThanOne` (double rounding): left shift, then the high
/// multiply, no right shift.
#[inline]
pub fn multiply_by_quantized_multiplier_greater_than_one(
    x: i32,
    multiplier: i32,
    left_shift: i32,
) -> i32 {
    saturating_rounding_doubling_high_mul(
        x.wrapping_shl(left_shift.clamp(0, 31) as u32),
        multiplier,
    )
}

/// gemmlowp `SaturatingRoundingMultiplyByPOT<exponent>`: a saturating left shift for a positive
/// exponent, a rounding right shift for a negative one.
#[inline]
pub fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let exponent = exponent.min(31);
        let threshold = ((1i64 << (31 - exponent)) - 1) as i32;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x.wrapping_shl(exponent as u32)
        }
    } else if exponent < 0 {
        rounding_divide_by_pot(x, -exponent)
    } else {
        x
    }
}

/// gemmlowp `RoundingHalfSum`: `(a + b) / 2` rounded half away from zero.
#[inline]
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// Q0.31 product (`FixedPoint * FixedPoint` in gemmlowp; integer bits add up).
#[inline]
fn mul(a: i32, b: i32) -> i32 {
    saturating_rounding_doubling_high_mul(a, b)
}

/// gemmlowp `exp_on_interval_between_negative_one_quarter_and_0_excl`: exp(a) for a Q0.31 `a` in
/// [−1/4, 0), as a Q0.31. A 4th-order Taylor expansion around −1/8.
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const CONSTANT_TERM: i32 = 1895147668; // exp(−1/8) in Q0.31
    const CONSTANT_1_OVER_3: i32 = 715827883; // 1/3 in Q0.31
    // x = a + 1/8 (1/8 is 1 << 28 in Q0.31).
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let x4_over_24_plus_x3_over_6_plus_x2_over_2 = saturating_rounding_multiply_by_pot(
        mul(x4_over_4.wrapping_add(x3), CONSTANT_1_OVER_3).wrapping_add(x2),
        -1,
    );
    CONSTANT_TERM.wrapping_add(mul(
        CONSTANT_TERM,
        x.wrapping_add(x4_over_24_plus_x3_over_6_plus_x2_over_2),
    ))
}

/// gemmlowp `exp_on_negative_values`: exp(a) for a Q`integer_bits`.(31 − integer_bits) value a ≤ 0,
/// returned as Q0.31 (exp(0) saturates to `i32::MAX`).
///
/// Splits a into its residue modulo 1/4 (minus 1/4, so it lies in [−1/4, 0)) handled by the Taylor
/// polynomial, and the remaining multiple of 1/4 whose bits select factors exp(−2^k) (a barrel shifter
/// over k = −2..=4, constants in Q0.31).
pub fn exp_on_negative_values(a: i32, integer_bits: u32) -> i32 {
    let integer_bits = integer_bits.min(30) as i32;
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    // Rescale<0>: from `integer_bits` integer bits to 0, i.e. multiply by 2^integer_bits, saturating.
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits),
    );
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);

    // (exponent k, exp(−2^k) in Q0.31)
    const BARREL: [(i32, i32); 7] = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ];
    for (exponent, multiplier) in BARREL {
        if integer_bits > exponent {
            let shift_amount = fractional_bits + exponent;
            if (0..32).contains(&shift_amount)
                && remainder & (1i32.wrapping_shl(shift_amount as u32)) != 0
            {
                result = mul(result, multiplier);
            }
        }
    }
    if integer_bits > 5 {
        // Below −32 the result is 0 (the clamp constant is −32 in the input format).
        let clamp = -(1i32 << (36 - integer_bits).clamp(0, 30));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 { i32::MAX } else { result }
}

/// gemmlowp `one_over_one_plus_x_for_x_in_0_1`: 1/(1 + a) for a Q0.31 a in [0, 1), as Q0.31.
/// Newton–Raphson on the half denominator in Q2.29, three iterations, starting from 48/17 − 32/17·d.
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    const CONSTANT_48_OVER_17: i32 = 1515870810; // Q2.29
    const CONSTANT_NEG_32_OVER_17: i32 = -1010580540; // Q2.29
    const ONE_Q2_29: i32 = 1 << 29;
    let half_denominator = rounding_half_sum(a, i32::MAX);
    let mut x = CONSTANT_48_OVER_17.wrapping_add(mul(half_denominator, CONSTANT_NEG_32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x); // Q2.29
        let one_minus_half_denominator_times_x = ONE_Q2_29.wrapping_sub(half_denominator_times_x);
        // Q2.29 · Q2.29 = Q4.27; Rescale<2> multiplies by 2^2 with saturation.
        x = x.wrapping_add(saturating_rounding_multiply_by_pot(
            mul(x, one_minus_half_denominator_times_x),
            2,
        ));
    }
    // ExactMulByPot<−1> turns Q2.29 into Q1.30 (same raw); Rescale<0> multiplies by 2.
    saturating_rounding_multiply_by_pot(x, 1)
}

/// TFLite `GetReciprocal`: for a positive Q`x_integer_digits` value x, returns (1/x scaled into
/// [0.5, 1] as Q0.31, `num_bits_over_unit`) such that 1/x = result · 2^−num_bits_over_unit.
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros();
    let num_bits_over_unit = x_integer_digits - headroom_plus_one as i32;
    let shifted = (x as u32).checked_shl(headroom_plus_one).unwrap_or(0);
    let shifted_sum_minus_one = shifted.wrapping_sub(1u32 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}

/// TFLite `CalculateInputRadius(input_integer_bits, input_left_shift, total_signed_bits = 31)`: the
/// largest input difference that cannot saturate after rescaling.
pub fn calculate_input_radius(input_integer_bits: i32, input_left_shift: i32) -> i32 {
    let total_signed_bits = 31;
    let max_input_rescaled = ((1i64 << input_integer_bits) - 1) as f64
        * (1i64 << (total_signed_bits - input_integer_bits)) as f64
        / (1i64 << input_left_shift.clamp(0, 62)) as f64;
    max_input_rescaled.floor() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_to_i32_clamped_is_round_then_clamp() {
        let specials = [
            0.5,
            -0.5,
            1.5,
            -2.5,
            0.49999997,
            -0.49999997,
            511.5,
            -511.5,
            512.5,
            1023.9,
        ];
        let big = [
            1e6,
            -1e6,
            3e9,
            -3e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
        ];
        for &x in specials.iter().chain(&big) {
            assert_eq!(
                round_to_i32_clamped(x, 512),
                round_to_i32(x).clamp(-512, 512),
                "{x}"
            );
        }
        for i in -300_000..300_000 {
            let x = i as f32 * 0.0039;
            assert_eq!(
                round_to_i32_clamped(x, 512),
                round_to_i32(x).clamp(-512, 512),
                "{x}"
            );
        }
    }

    #[test]
    fn round_to_i32_matches_round() {
        let specials = [
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999997,
            -0.49999997,
            0.50000006,
            8388607.5,
            -8388607.5,
            8388608.0,
            16777217.0,
            2147483520.0,
            2147483648.0,
            -2147483648.0,
            -2147483904.0,
            1e10,
            -1e10,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            1e-40,
        ];
        for x in specials {
            assert_eq!(round_to_i32(x), x.round() as i32, "{x}");
        }
        let mut bits = 0x1234_5678u32;
        for _ in 0..1_000_000 {
            bits ^= bits << 13;
            bits ^= bits >> 17;
            bits ^= bits << 5;
            let x = f32::from_bits(bits);
            assert_eq!(round_to_i32(x), x.round() as i32, "{x}");
            let y = (bits % 100_000) as f32 / 64.0 - 700.0; // many exact halves
            assert_eq!(round_to_i32(y), y.round() as i32, "{y}");
        }
    }

    #[test]
    fn quantize_multiplier_values() {
        // 0.5 = 0.5 · 2^0 → (2^30, 0)
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        // 1.0 = 0.5 · 2^1 → (2^30, 1): the uint8↔int8 same-scale case.
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        // 0.75 · 2^−3: round(0.75 · 2^31) = 1610612736
        assert_eq!(quantize_multiplier(0.09375), (1610612736, -3));
        // q just below 1 rounds to 2^31 → halved, shift bumped.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
        // Tiny multipliers flush to zero (shift < −31).
        assert_eq!(quantize_multiplier(1e-12), (0, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
        // 2^−31 = 0.5 · 2^−30 survives.
        assert_eq!(quantize_multiplier(2f64.powi(-31)), (1 << 30, -30));
    }

    #[test]
    fn frexp_matches_definition() {
        // Subnormal: 2^−1074 = 0.5 · 2^−1073.
        assert_eq!(frexp(5e-324), (0.5, -1073));
        for x in [1.0, 0.1, 3.5, 1e-300, 1e300] {
            let (q, e) = frexp(x);
            assert!((0.5..1.0).contains(&q), "{x}: q={q}");
            assert_eq!(q * 2f64.powi(e), x);
        }
    }

    #[test]
    fn srdhm_rounding_and_saturation() {
        // 2^30 · 2^30 / 2^31 = 2^29 exactly
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // 1 · 2^30 / 2^31 = 0.5 → ties toward +∞: 0.5 → 1 but −0.5 → 0
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        // −1.5 → −1, 1.5 → 2
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        // 3 · 2^29 / 2^31 = 0.75 → 1; −0.75 → −1
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 29), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 29), -1);
        // 1 · 2^29 / 2^31 = 0.25 → 0
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 29), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 29), 0);
        // INT32_MIN²: the only overflow, saturates
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // INT32_MIN · INT32_MAX = −(2^62 − 2^31) → −(2^31 − 1)
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
    }

    #[test]
    fn rounding_divide_by_pot_ties_and_negatives() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 → 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2); // −1.75 → −2
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 → 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(5, 2), 1); // 1.25 → 1
        assert_eq!(rounding_divide_by_pot(-5, 2), -1); // −1.25 → −1
        assert_eq!(rounding_divide_by_pot(-1, 0), -1);
        // Extreme exponent: everything but ±2^30 or more rounds to 0 or ±1.
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1); // −1 exactly
        assert_eq!(rounding_divide_by_pot(1 << 30, 31), 1); // 0.5 → 1
        assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1); // −0.5 → −1
        assert_eq!(rounding_divide_by_pot((1 << 30) - 1, 31), 0);
    }

    #[test]
    fn mbqm_double_rounding() {
        // Multiplier 0.5 (2^30, shift 0): the tie is decided by the high multiply, toward +∞:
        // 3 · 0.5 = 1.5 → 2 but −3 · 0.5 = −1.5 → −1.
        assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, 0), 2);
        assert_eq!(multiply_by_quantized_multiplier(-3, 1 << 30, 0), -1);
        // 1.0 = (2^30, shift 1): identity
        for x in [-128, -1, 0, 1, 127, 1 << 20, -(1 << 20)] {
            assert_eq!(multiply_by_quantized_multiplier(x, 1 << 30, 1), x);
        }
        // 0.25 = (2^30, −1): 6 · 0.25 = 1.5 → 2, −6 → −2; 2 · 0.25 = 0.5 → 1
        assert_eq!(multiply_by_quantized_multiplier(6, 1 << 30, -1), 2);
        assert_eq!(multiply_by_quantized_multiplier(-6, 1 << 30, -1), -2);
        assert_eq!(multiply_by_quantized_multiplier(2, 1 << 30, -1), 1);
        // Double rounding differs from single rounding: x = 5, m = 0.75·2^31 (1610612736), shift −2:
        // exact 5 · 0.75 / 4 = 0.9375 → 1; the high multiply first gives round(3.75) = 4, then 4/4 = 1.
        assert_eq!(multiply_by_quantized_multiplier(5, 1610612736, -2), 1);
        // A case where the two modes disagree: x = 3, m = 2^30 + 2^29 (0.75), shift −1:
        // exact 3·0.75/2 = 1.125 → 1; double: round(2.25) = 2 → 2/2 = 1. And x = 5, shift −3:
        // exact 0.46875 → 0; double: round(3.75) = 4 → 4/8 = 0.5 → 1 (ties away from zero).
        assert_eq!(multiply_by_quantized_multiplier(5, 1610612736, -3), 1);
        assert_eq!(multiply_by_quantized_multiplier(-5, 1610612736, -3), -1);
        // Extreme shifts: −31 leaves only the rounding of the high product.
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, i32::MAX, -31), 1);
        assert_eq!(
            multiply_by_quantized_multiplier(i32::MIN, i32::MAX, -31),
            -1
        );
        // INT32_MIN with multiplier INT32_MIN saturates in the high multiply.
        assert_eq!(
            multiply_by_quantized_multiplier(i32::MIN, i32::MIN, 0),
            i32::MAX
        );
        // Zero multiplier (flushed tiny scale) gives zero.
        assert_eq!(multiply_by_quantized_multiplier(123456, 0, 0), 0);
        // Left shift: 100 · (2^30/2^31) · 2^3 = 400
        assert_eq!(multiply_by_quantized_multiplier(100, 1 << 30, 3), 400);
    }

    #[test]
    fn fast_mbqm_equals_reference() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let edge_x = [
            0,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            5,
            -5,
            127,
            -128,
            i32::MAX,
            i32::MIN,
            1 << 30,
            -(1 << 30),
            (1 << 30) - 1,
        ];
        let edge_m = [
            0,
            1,
            1 << 30,
            (1 << 30) + 1,
            i32::MAX,
            1610612736,
            1073741823,
        ];
        for shift in -31..=31 {
            for &x in &edge_x {
                for &m in &edge_m {
                    assert_eq!(
                        multiply_by_quantized_multiplier_fast(x, m, shift),
                        multiply_by_quantized_multiplier(x, m, shift),
                        "x={x} m={m} shift={shift}"
                    );
                }
            }
        }
        for _ in 0..200_000 {
            let r = next();
            let x = match r % 3 {
                0 => (r >> 8) as i32,
                1 => ((r >> 8) as i32) >> ((r >> 40) % 31),
                _ => ((r >> 8) % 2001) as i32 - 1000,
            };
            let m = ((next() >> 33) as i32).max(0);
            let shift = ((next() % 40) as i32) - 32;
            assert_eq!(
                multiply_by_quantized_multiplier_fast(x, m, shift),
                multiply_by_quantized_multiplier(x, m, shift),
                "x={x} m={m} shift={shift}"
            );
        }
    }

    #[test]
    fn saturating_pot() {
        assert_eq!(saturating_rounding_multiply_by_pot(3, 2), 12);
        assert_eq!(saturating_rounding_multiply_by_pot(1 << 29, 2), i32::MAX);
        assert_eq!(saturating_rounding_multiply_by_pot(-(1 << 29), 2), i32::MIN);
        assert_eq!(
            saturating_rounding_multiply_by_pot((1 << 29) - 1, 2),
            ((1 << 29) - 1) * 4
        );
        assert_eq!(saturating_rounding_multiply_by_pot(6, -2), 2);
        assert_eq!(saturating_rounding_multiply_by_pot(-6, -2), -2);
        assert_eq!(rounding_half_sum(1, 2), 2);
        assert_eq!(rounding_half_sum(-1, -2), -2);
        assert_eq!(rounding_half_sum(i32::MAX, i32::MAX), i32::MAX);
    }

    fn q(x: f64, integer_bits: u32) -> i32 {
        (x * 2f64.powi(31 - integer_bits as i32)).round() as i32
    }

    #[test]
    fn exp_on_negative_values_accuracy() {
        // exp(0) saturates to one.
        assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
        for x in [-0.001, -0.1, -0.25, -0.5, -1.0, -2.5, -7.0, -15.9] {
            let got = exp_on_negative_values(q(x, 5), 5) as f64 / 2f64.powi(31);
            // The 4th-order Taylor polynomial around −1/8 is good to ~2.5e−7 (x^5/120 at |x| = 1/8).
            assert!(
                (got - x.exp()).abs() < 3e-7,
                "exp({x}) = {got}, want {}",
                x.exp()
            );
        }
    }

    #[test]
    fn reciprocal_accuracy() {
        for x in [1.0, 1.5, 2.0, 3.0, 10.0, 1000.0] {
            let raw = q(x, 12);
            let (r, bits) = get_reciprocal(raw, 12);
            let got = r as f64 / 2f64.powi(31) / 2f64.powi(bits);
            assert!((got - 1.0 / x).abs() < 1e-7 / x, "1/{x} = {got}");
        }
        assert_eq!(
            calculate_input_radius(5, 20),
            ((31.0 * 2f64.powi(26)) / 2f64.powi(20)).floor() as i32
        );
    }
}
