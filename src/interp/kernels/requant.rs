//! Per-channel requantization of int8 accumulators for the fast kernels, all output channels at once
//! and branch-free so that it vectorizes: `acc + bias`, TFLite's double-rounding
//! `MultiplyByQuantizedMultiplier`, the output zero point, the activation clamp. The fast convolutions
//! and depthwise convolutions share this one formula; it equals the reference kernels' scalar
//! [`multiply_by_quantized_multiplier`](crate::interp::fixed_point::multiply_by_quantized_multiplier).

use crate::interp::kernels::conv2d::ChannelQuant;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

/// The per-channel constants of the requantization, one lane per output channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RequantLanes {
    bias: Vec<i32>,
    left: Vec<u32>,
    multiplier: Vec<i64>,
    right: Vec<u32>,
    /// 2^right − 1 and 2^(right−1) (0 when right = 0).
    mask: Vec<i32>,
    round: Vec<i32>,
    output_offset: i32,
    act_min: i32,
    act_max: i32,
    /// The same constants in blocks of 16 channels, for AVX-512 (`requant/avx512.rs`).
    #[cfg(target_arch = "x86_64")]
    vector_blocks: Vec<avx512::RequantBlock>,
}

/// An accumulator lane: an i32, or an f32 that holds an integer exactly (the fast convolutions sum
/// integers in float, below 2^24).
pub(crate) trait Accumulator: Copy {
    fn to_i32(self) -> i32;
}

impl Accumulator for i32 {
    #[inline(always)]
    fn to_i32(self) -> i32 {
        self
    }
}

impl Accumulator for f32 {
    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }
}

impl RequantLanes {
    /// Lanes for `q` with `bias` (one per channel, 0 where missing); `None` when a channel's right
    /// shift exceeds 30, where the rounding step below could overflow i32 (the planner then keeps the
    /// reference kernel).
    pub(crate) fn new(q: &ChannelQuant, bias: &[i32]) -> Option<RequantLanes> {
        let mut l = RequantLanes {
            output_offset: q.output_offset,
            act_min: q.act_min,
            act_max: q.act_max,
            ..RequantLanes::default()
        };
        for (o, (&m, &sh)) in q.multiplier.iter().zip(&q.shift).enumerate() {
            let right = (-sh).clamp(0, 31) as u32;
            if right > 30 {
                return None;
            }
            l.bias.push(bias.get(o).copied().unwrap_or(0));
            l.left.push(sh.clamp(0, 31) as u32);
            l.multiplier.push(m as i64);
            l.right.push(right);
            l.mask.push(((1i64 << right) - 1) as i32);
            l.round.push(((1i64 << right) >> 1) as i32);
        }
        #[cfg(target_arch = "x86_64")]
        {
            l.vector_blocks = l.blocks();
        }
        Some(l)
    }

    /// `acc + bias → MultiplyByQuantizedMultiplier → + zero point → clamp` for every lane, then clamped
    /// to `(lo, hi)` as well (a fused pool's activation range; `(i32::MIN, i32::MAX)` for none), written
    /// to `out` (as many lanes as `out`, `acc` and the channels all have).
    ///
    /// `MultiplyByQuantizedMultiplier` as in
    /// [`multiply_by_quantized_multiplier_fast`](crate::interp::fixed_point::multiply_by_quantized_multiplier_fast),
    /// with the rounding right shift split as `y >> r` plus `((y mod 2^r) + 2^(r−1) − [y < 0]) >> r`
    /// (the identity `⌊(y + c)/2^r⌋ = ⌊y/2^r⌋ + ⌊(y mod 2^r + c)/2^r⌋`), which stays within i32 for
    /// r ≤ 30.
    #[inline(always)]
    pub(crate) fn requantize<A: Accumulator>(
        &self,
        acc: &[A],
        (lo, hi): (i32, i32),
        out: &mut [i8],
    ) {
        let n = out.len().min(acc.len()).min(self.bias.len());
        let (offset, act_min, act_max) = (self.output_offset, self.act_min, self.act_max);
        let (acc, bias, left) = (&acc[..n], &self.bias[..n], &self.left[..n]);
        let (mult, right) = (&self.multiplier[..n], &self.right[..n]);
        let (mask, round) = (&self.mask[..n], &self.round[..n]);
        let out = &mut out[..n];
        for i in 0..n {
            let a = acc[i].to_i32().wrapping_add(bias[i]).wrapping_shl(left[i]);
            let y = ((a as i64 * mult[i] + (1i64 << 30)) >> 31) as i32;
            let r = right[i];
            let negative = (y < 0 && r > 0) as i32;
            let v = y.wrapping_shr(r) + ((y & mask[i]) + round[i] - negative).wrapping_shr(r);
            out[i] = v
                .wrapping_add(offset)
                .max(act_min)
                .min(act_max)
                .max(lo)
                .min(hi) as i8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::fixed_point::multiply_by_quantized_multiplier;
    use crate::rng::Rng;

    fn quant(multiplier: Vec<i32>, shift: Vec<i32>) -> ChannelQuant {
        ChannelQuant {
            input_offset: 0,
            output_offset: -3,
            multiplier,
            shift,
            act_min: -100,
            act_max: 110,
        }
    }

    /// The reference steps for one channel.
    fn reference(q: &ChannelQuant, bias: i32, o: usize, acc: i32) -> i8 {
        multiply_by_quantized_multiplier(acc.wrapping_add(bias), q.multiplier[o], q.shift[o])
            .wrapping_add(q.output_offset)
            .max(q.act_min)
            .min(q.act_max) as i8
    }

    #[test]
    fn by_hand() {
        // Channel 0: multiplier 0.5 (2^30, shift 0): 7 + 2 = 9 → 4.5 → 5 (half away from zero) − 3 = 2.
        // Channel 1: 0.5 · 2^−2 (shift −2): −9 + 0 → −1.125 → −1 − 3 = −4.
        // Channel 2: 0.5 · 2^3: 100 → 400 − 3 = 397 → clamped to 110.
        let q = quant(vec![1 << 30; 3], vec![0, -2, 3]);
        let lanes = RequantLanes::new(&q, &[2, 0]).unwrap();
        let mut out = [0i8; 3];
        lanes.requantize(&[7i32, -9, 100], (i32::MIN, i32::MAX), &mut out);
        assert_eq!(out, [2, -4, 110]);
        // The same sums as exact f32 accumulators, then a fused pool's clamp to [0, 50].
        lanes.requantize(&[7.0f32, -9.0, 100.0], (0, 50), &mut out);
        assert_eq!(out, [2, 0, 50]);
    }

    #[test]
    fn matches_the_reference_on_ties_signs_and_extreme_shifts() {
        let mut r = Rng::new(5);
        for case in 0..200 {
            let channels = 1 + r.below(12) as usize;
            // Shifts from −30 (the largest right shift the lanes take) to +5.
            let shift: Vec<i32> = (0..channels).map(|_| r.below(36) as i32 - 30).collect();
            let multiplier = (0..channels)
                .map(|_| (1 << 30) + (r.next_u64() >> 34) as i32)
                .collect();
            let q = quant(multiplier, shift);
            let bias: Vec<i32> = (0..channels)
                .map(|_| (r.next_u64() >> 48) as i32 - (1 << 15))
                .collect();
            let lanes = RequantLanes::new(&q, &bias).unwrap();
            // Small values and exact halves (multiples of a power of two) as well as wide ones.
            let acc: Vec<i32> = (0..channels)
                .map(|_| match r.below(3) {
                    0 => r.below(64) as i32 - 32,
                    1 => (r.below(64) as i32 - 32) << r.below(20),
                    _ => (r.next_u64() >> 40) as i32 - (1 << 23),
                })
                .collect();
            let mut got = vec![0i8; channels];
            lanes.requantize(&acc, (i32::MIN, i32::MAX), &mut got);
            let want: Vec<i8> = (0..channels)
                .map(|o| reference(&q, bias[o], o, acc[o]))
                .collect();
            assert_eq!(got, want, "case {case}: {q:?} {bias:?} {acc:?}");
        }
    }

    #[test]
    fn right_shifts_above_30_are_refused() {
        let q = quant(vec![1 << 30, 1 << 30], vec![0, -31]);
        assert!(RequantLanes::new(&q, &[]).is_none());
        let q = quant(vec![1 << 30, 1 << 30], vec![0, -30]);
        assert!(RequantLanes::new(&q, &[]).is_some());
    }
}
