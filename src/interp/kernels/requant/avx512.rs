//! [`RequantLanes::requantize`] for 16 channels per AVX-512 vector, for the int8 convolutions' VNNI
//! builds. The same steps, lane for lane, as the portable loop (whose autovectorized AVX-512 build
//! handles 12 channels, the tutorial's, as 8 vector lanes and 4 scalar ones, and is slower than its
//! AVX2 build): `acc + bias`, the left shift, the 64-bit product with the multiplier rounded to its
//! high half (`(a·m + 2^30) >> 31`), the split rounding right shift, the zero point and the clamps.
//!
//! `vpmuldq` multiplies the even i32 lanes into i64s, so the odd lanes are moved down and multiplied
//! separately, and the two halves are interleaved back.

use std::arch::x86_64::*;

use super::RequantLanes;
use crate::cpu::Avx512;

/// Channels per vector.
pub(crate) const LANES: usize = 16;

/// The per-channel constants of 16 channels (0 past the last channel).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RequantBlock {
    bias: [i32; LANES],
    left: [i32; LANES],
    multiplier: [i32; LANES],
    right: [i32; LANES],
    mask: [i32; LANES],
    round: [i32; LANES],
}

impl RequantLanes {
    /// The constants in blocks of 16 channels.
    pub(super) fn blocks(&self) -> Vec<RequantBlock> {
        let n = self.bias.len();
        (0..n.div_ceil(LANES))
            .map(|block| {
                let mut b = RequantBlock::default();
                for lane in 0..LANES.min(n - block * LANES) {
                    let o = block * LANES + lane;
                    b.bias[lane] = self.bias[o];
                    b.left[lane] = self.left[o] as i32;
                    // The multiplier came from an i32 (`RequantLanes::new`).
                    b.multiplier[lane] = self.multiplier[o] as i32;
                    b.right[lane] = self.right[o] as i32;
                    b.mask[lane] = self.mask[o];
                    b.round[lane] = self.round[o];
                }
                b
            })
            .collect()
    }

    /// [`RequantLanes::requantize`] of f32 accumulators (exact integers) with AVX-512.
    #[inline]
    pub(crate) fn requantize_avx512(
        &self,
        _cpu: Avx512,
        acc: &[f32],
        bounds: (i32, i32),
        out: &mut [i8],
    ) {
        // SAFETY: `_cpu` proves the CPU has AVX-512 F, BW and VL (see `crate::cpu`).
        unsafe { self.requantize_vectors(acc, bounds, out) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn requantize_vectors(&self, acc: &[f32], bounds: (i32, i32), out: &mut [i8]) {
        let n = out.len().min(acc.len()).min(self.bias.len());
        let (acc, out) = (&acc[..n], &mut out[..n]);
        for ((acc, out), b) in acc
            .chunks(LANES)
            .zip(out.chunks_mut(LANES))
            .zip(&self.vector_blocks)
        {
            let m = acc.len().min(out.len());
            let k: __mmask16 = ((1u32 << m) - 1) as u16;
            // SAFETY: the mask reads lanes `0..m` only, all within `acc`; loadu has no alignment
            // requirement.
            let a = _mm512_cvttps_epi32(unsafe { _mm512_maskz_loadu_ps(k, acc.as_ptr()) });
            let v = self.requantize_block(b, a, bounds);
            // SAFETY: the mask writes lanes `0..m` only, all within `out`.
            unsafe { _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().cast(), k, v) };
        }
    }

    /// The constants of 16 channels at a time, for kernels that requantize their own vectors of i32
    /// accumulators ([`Self::requantize_block`]).
    #[inline]
    pub(crate) fn vector_blocks(&self) -> &[RequantBlock] {
        &self.vector_blocks
    }

    /// [`RequantLanes::requantize`] of the 16 i32 accumulators `a` of channel block `b` (one of
    /// [`Self::vector_blocks`]), clamped to `(lo, hi)` as well: the results as i32 lanes, each within
    /// the activation range (so within int8), for the caller to narrow and store.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(crate) fn requantize_block(
        &self,
        b: &RequantBlock,
        a: __m512i,
        (lo, hi): (i32, i32),
    ) -> __m512i {
        let a = _mm512_sllv_epi32(_mm512_add_epi32(a, load(&b.bias)), load(&b.left));
        let mult = load(&b.multiplier);
        // (a·m + 2^30) >> 31 in i64, even lanes and odd lanes.
        let half = _mm512_set1_epi64(1 << 30);
        let even = _mm512_srai_epi64::<31>(_mm512_add_epi64(_mm512_mul_epi32(a, mult), half));
        let odd = _mm512_srai_epi64::<31>(_mm512_add_epi64(
            _mm512_mul_epi32(_mm512_srli_epi64::<32>(a), _mm512_srli_epi64::<32>(mult)),
            half,
        ));
        let y = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
        // y >> r + ((y & mask) + round − [y < 0 and r > 0]) >> r
        let right = load(&b.right);
        let zero = _mm512_setzero_si512();
        let negative = _mm512_cmplt_epi32_mask(y, zero) & _mm512_cmpgt_epi32_mask(right, zero);
        let t = _mm512_add_epi32(_mm512_and_si512(y, load(&b.mask)), load(&b.round));
        let t = _mm512_mask_sub_epi32(t, negative, t, _mm512_set1_epi32(1));
        let v = _mm512_add_epi32(_mm512_srav_epi32(y, right), _mm512_srav_epi32(t, right));
        let v = _mm512_add_epi32(v, _mm512_set1_epi32(self.output_offset));
        // The activation's clamp, then the pool's (in that order, as the portable loop).
        let v = _mm512_min_epi32(
            _mm512_max_epi32(v, _mm512_set1_epi32(self.act_min)),
            _mm512_set1_epi32(self.act_max),
        );
        _mm512_min_epi32(
            _mm512_max_epi32(v, _mm512_set1_epi32(lo)),
            _mm512_set1_epi32(hi),
        )
    }
}

/// Load 16 i32.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(a: &[i32; LANES]) -> __m512i {
    // SAFETY: `a` is a reference to 16 initialized i32; loadu has no alignment requirement.
    unsafe { _mm512_loadu_si512(a.as_ptr().cast()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::kernels::conv2d::ChannelQuant;
    use crate::rng::Rng;

    /// The vector requantization against the portable one: random channels (1 to 40, so partial and
    /// several blocks), shifts from −30 to +5, ties, signs, wide accumulators and a pool's bounds.
    #[test]
    fn matches_the_portable_requantization() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut r = Rng::new(17);
        for case in 0..500 {
            let channels = 1 + r.below(40) as usize;
            let q = ChannelQuant {
                input_offset: 0,
                output_offset: r.below(256) as i32 - 128,
                multiplier: (0..channels)
                    .map(|_| (1 << 30) + (r.next_u64() >> 34) as i32)
                    .collect(),
                shift: (0..channels).map(|_| r.below(36) as i32 - 30).collect(),
                act_min: -128 + r.below(20) as i32,
                act_max: 127 - r.below(20) as i32,
            };
            let bias: Vec<i32> = (0..channels)
                .map(|_| (r.next_u64() >> 48) as i32 - (1 << 15))
                .collect();
            let lanes = RequantLanes::new(&q, &bias).unwrap();
            let acc: Vec<f32> = (0..channels)
                .map(|_| match r.below(3) {
                    0 => r.below(64) as f32 - 32.0,
                    1 => ((r.below(64) as i32 - 32) << r.below(18)) as f32,
                    _ => ((r.next_u64() >> 40) as i32 - (1 << 23)) as f32,
                })
                .collect();
            let bounds = if case % 2 == 0 {
                (i32::MIN, i32::MAX)
            } else {
                (r.below(100) as i32 - 100, r.below(100) as i32)
            };
            let mut want = vec![0i8; channels];
            lanes.requantize(&acc, bounds, &mut want);
            let mut got = vec![0i8; channels];
            lanes.requantize_avx512(cpu, &acc, bounds, &mut got);
            assert_eq!(got, want, "case {case}");
        }
    }
}
