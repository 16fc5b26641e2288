//! Run-time input quantization of the hybrid (dynamic-range) kernels: float activations are quantized
//! to int8 per batch on every invoke, multiplied with the int8 weights in integers, and the result is
//! scaled back to float.
//!
//! Facts from `tflite/kernels/internal/reference/portable_tensor_utils.cc`
//! (`PortableAsymmetricQuantizeFloats`, `PortableSymmetricQuantizeFloats`), with one correction the
//! reference vectors forced (see [`asymmetric_quantize_floats`]).

use crate::cpu::{self, Kernel};
use crate::interp::fixed_point::{round_f32, round_to_i32_clamped};

/// The smallest and largest value (±∞ for an empty slice), in eight independent lanes:
/// `if v < m { v } else { m }` per lane, which is exactly `minps(v, m)` (and `maxps` likewise), so the
/// AVX2 build of the kernels this is inlined into runs it as 8-lane vector instructions. For inputs
/// without NaN this is what `std::minmax_element` finds; only the values matter afterwards (the range
/// is widened to include 0, which also absorbs the sign of a zero).
#[inline(always)]
fn min_max(values: &[f32]) -> (f32, f32) {
    let (chunks, rest) = values.as_chunks::<8>();
    let (mut lo, mut hi) = lane_min_max(chunks);
    for &v in rest {
        lo[0] = if v < lo[0] { v } else { lo[0] };
        hi[0] = if v > hi[0] { v } else { hi[0] };
    }
    let lo = lo
        .iter()
        .fold(f32::INFINITY, |a, &b| if b < a { b } else { a });
    let hi = hi
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    (lo, hi)
}

/// Per lane, the minimum and maximum over `chunks`. Two passes, one per extreme: with both in one loop
/// the compiler vectorized it only sometimes, depending on what it was inlined into.
#[inline(always)]
fn lane_min_max(chunks: &[[f32; 8]]) -> ([f32; 8], [f32; 8]) {
    let mut lo = [f32::INFINITY; 8];
    for chunk in chunks {
        for i in 0..8 {
            lo[i] = if chunk[i] < lo[i] { chunk[i] } else { lo[i] };
        }
    }
    let mut hi = [f32::NEG_INFINITY; 8];
    for chunk in chunks {
        for i in 0..8 {
            hi[i] = if chunk[i] > hi[i] { chunk[i] } else { hi[i] };
        }
    }
    (lo, hi)
}

/// Asymmetric int8 quantization of `values` into `out`; returns `(scale, zero_point)`.
///
/// The range is widened to include 0; `scale = (max − min) / 255`; the zero point is taken from
/// whichever end of the range has the smaller error, rounded half away from zero and clamped to
/// [−128, 127]; then `q = round(x · (1 / scale)) + zp`, clamped. An all-zero range gives all zeros with
/// scale 1 and zero point 0.
///
/// **What the vectors forced.** The portable source computes the scale and zero point in double and
/// quantizes as `round(zp + x · inv)` with the sum in float. LiteRT 2.3.0's x86 build (which produced
/// the reference vectors) behaves differently in two ways, and only this version reproduces it:
/// - the scale is computed in float, `(float)(max − min) / 255.0f` (with a negative minimum the
///   double version differs by an ulp, which shows as 1-ulp output differences on most images of
///   `conv_shapes_dynamic`; with this version, 0 of 300);
/// - the zero point is added after rounding: on `mnist_dynamic`, 7 of 10,000 images have an element
///   where `−128 + 11.500002` lands exactly on −116.5 in float, and LiteRT gives −116, which only
///   `round(11.500002) − 128` produces. All 10,000 images then match exactly.
///
/// The product uses the float reciprocal `1 / scale`, not a division (division misses 1 image of
/// 3,000).
pub fn asymmetric_quantize_floats(values: &[f32], out: &mut [i8]) -> (f32, i32) {
    cpu::dispatch(AsymmetricQuantize { values, out })
}

/// The arguments of one [`asymmetric_quantize_floats`].
struct AsymmetricQuantize<'a> {
    values: &'a [f32],
    out: &'a mut [i8],
}

impl Kernel for AsymmetricQuantize<'_> {
    type Output = (f32, i32);

    /// No sums: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> (f32, i32) {
        asymmetric_quantize_floats_body(self.values, self.out)
    }
}

/// [`asymmetric_quantize_floats`] compiled into its caller, for kernels that already run in the build
/// [`crate::cpu::dispatch`] picked.
#[inline(always)]
pub(crate) fn asymmetric_quantize_floats_body(values: &[f32], out: &mut [i8]) -> (f32, i32) {
    let (lo, hi) = min_max(values);
    // std::min(0.0f, lo) / std::max(0.0f, hi)
    let rmin = if lo < 0.0 { lo } else { 0.0 };
    let rmax = if 0.0 < hi { hi } else { 0.0 };
    if rmin == rmax {
        out.iter_mut().for_each(|q| *q = 0);
        return (1.0, 0);
    }
    let (qmin, qmax) = (-128.0f32, 127.0f32);
    let scale = (rmax - rmin) / (qmax - qmin);
    let zero_point_from_min = qmin - rmin / scale;
    let zero_point_from_max = qmax - rmax / scale;
    let zero_point_from_min_error = qmin.abs() + (rmin / scale).abs();
    let zero_point_from_max_error = qmax.abs() + (rmax / scale).abs();
    let zero_point_float = if zero_point_from_min_error < zero_point_from_max_error {
        zero_point_from_min
    } else {
        zero_point_from_max
    };
    let zero_point: i32 = if zero_point_float <= qmin {
        -128
    } else if zero_point_float >= qmax {
        127
    } else {
        round_f32(zero_point_float) as i32
    };
    let inverse = 1.0f32 / scale;
    for (q, &v) in out.iter_mut().zip(values) {
        // `as i32` saturates (NaN → 0). Clamping the rounded value to ±512 before adding the zero point
        // (|zp| ≤ 128) changes nothing after the final clamp, keeps the add from overflowing, and lets
        // the loop vectorize (no saturating add).
        let rounded = round_to_i32_clamped(v * inverse, 512);
        *q = (rounded + zero_point).clamp(-128, 127) as i8;
    }
    (scale, zero_point)
}

/// Symmetric int8 quantization of `values` into `out` (range ±127); returns the scale.
///
/// `range = max(|min|, |max|)`, `scale = range / 127` and `q = round(x · (127 / range))` in float,
/// clamped to [−127, 127]. A zero range gives zeros with scale 1.
pub fn symmetric_quantize_floats(values: &[f32], out: &mut [i8]) -> f32 {
    cpu::dispatch(SymmetricQuantize { values, out })
}

/// The arguments of one [`symmetric_quantize_floats`].
struct SymmetricQuantize<'a> {
    values: &'a [f32],
    out: &'a mut [i8],
}

impl Kernel for SymmetricQuantize<'_> {
    type Output = f32;

    /// No sums: `FMA` does not apply.
    #[inline(always)]
    fn run<const FMA: bool>(self) -> f32 {
        symmetric_quantize_floats_body(self.values, self.out)
    }
}

/// [`symmetric_quantize_floats`] compiled into its caller, for kernels that already run in the build
/// [`crate::cpu::dispatch`] picked.
#[inline(always)]
pub(crate) fn symmetric_quantize_floats_body(values: &[f32], out: &mut [i8]) -> f32 {
    let (lo, hi) = min_max(values);
    if values.is_empty() {
        return 1.0;
    }
    let range = lo.abs().max(hi.abs());
    if range == 0.0 {
        out.iter_mut().for_each(|q| *q = 0);
        return 1.0;
    }
    let inverse = 127.0f32 / range;
    for (q, &v) in out.iter_mut().zip(values) {
        *q = round_to_i32_clamped(v * inverse, 127) as i8;
    }
    range / 127.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lane_min_max` in a dispatched build.
    struct Lanes<'a>(&'a [[f32; 8]]);

    impl Kernel for Lanes<'_> {
        type Output = ([f32; 8], [f32; 8]);
        #[inline(always)]
        fn run<const FMA: bool>(self) -> ([f32; 8], [f32; 8]) {
            lane_min_max(self.0)
        }
    }

    /// The vector lanes (in both builds) against the per-lane rule, with NaNs, signed zeros and
    /// infinities about.
    #[test]
    fn lane_min_max_keeps_the_select_rule() {
        let specials = [
            f32::NAN,
            -0.0,
            0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.5,
            -2.25,
        ];
        let values: Vec<f32> = (0..8 * 13)
            .map(|i| {
                specials[(i * 5 + i / 8) % specials.len()] * if i % 3 == 0 { -1.0 } else { 1.0 }
            })
            .collect();
        let chunks = values.as_chunks::<8>().0;
        for (lo, hi) in [
            crate::cpu::dispatch(Lanes(chunks)),
            Lanes(chunks).run::<false>(),
        ] {
            for i in 0..8 {
                let (mut l, mut h) = (f32::INFINITY, f32::NEG_INFINITY);
                for c in chunks {
                    l = if c[i] < l { c[i] } else { l };
                    h = if c[i] > h { c[i] } else { h };
                }
                assert_eq!(
                    (lo[i].to_bits(), hi[i].to_bits()),
                    (l.to_bits(), h.to_bits()),
                    "lane {i}"
                );
            }
        }
    }

    #[test]
    fn asymmetric_ranges() {
        // [0, 2.55]: min widened to 0, scale 0.01, zp from min = −128 (error 128 vs 127 + 255 → min).
        let mut q = [0i8; 3];
        let (s, zp) = asymmetric_quantize_floats(&[0.0, 1.0, 2.55], &mut q);
        assert_eq!(zp, -128);
        assert_eq!(s, 2.55f32 / 255.0f32);
        // 1.0 / 0.01 = 100 (in float, ≈ 99.99999) − 128 → −28
        assert_eq!(q, [-128, -28, 127]);
        // Symmetric data [−1, 1]: scale 2/255, the max end wins (error 127 + 127.5 vs 128 + 127.5);
        // zp = 127 − 1/scale, and float(2/255) is a little above 2/255, so 1/scale is just below 127.5
        // and zp = round(−0.49999…) = 0.
        let (_, zp) = asymmetric_quantize_floats(&[-1.0, 1.0], &mut [0; 2]);
        assert_eq!(zp, 0);
        // All zero.
        let mut q = [5i8; 2];
        assert_eq!(asymmetric_quantize_floats(&[0.0, 0.0], &mut q), (1.0, 0));
        assert_eq!(q, [0, 0]);
        // Negative-only data: max widened to 0 → zp 127.
        let (_, zp) = asymmetric_quantize_floats(&[-3.0, -1.0], &mut [0; 2]);
        assert_eq!(zp, 127);
        // Zero point added after rounding, for every value: q = round(x · inv) + zp.
        let values: Vec<f32> = (0..50)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 - 0.5)
            .collect();
        let mut q = vec![0i8; values.len()];
        let (s, zp) = asymmetric_quantize_floats(&values, &mut q);
        for (&v, &qv) in values.iter().zip(&q) {
            assert_eq!(
                qv as i32,
                ((v * (1.0 / s)).round() as i32 + zp).clamp(-128, 127)
            );
        }
    }

    #[test]
    fn symmetric() {
        let mut q = [0i8; 3];
        let s = symmetric_quantize_floats(&[-2.0, 1.0, 0.5], &mut q);
        assert_eq!(s, 2.0 / 127.0);
        assert_eq!(q, [-127, 64, 32]); // 63.5 → 64, 31.75 → 32
        assert_eq!(symmetric_quantize_floats(&[0.0], &mut [0]), 1.0);
    }
}
