//! The int8 FULLY_CONNECTED dot products with AVX-512 VNNI (`vpdpbusd`), for [`super::fast`]'s int8
//! kernel on CPUs with the [`Avx512`] tier; its portable twin is [`super::fast::dot_i16`], and the two
//! give the same bits.
//!
//! `vpdpbusd` multiplies unsigned bytes by signed bytes, four pairs per i32 lane, and adds their sum to
//! the lane with wrapping (the saturating form, `vpdpbusds`, is not used). The centred input
//! `x − zp = x + input_offset` is made unsigned by the usual offset:
//!
//! ```text
//! u = x + 128                      (x as u8 with its top bit flipped; u in [0, 255])
//! Σ w·(x + input_offset) = Σ w·u + (input_offset − 128)·Σ w     (in wrapping i32)
//! ```
//!
//! so each unit needs its weight sum `Σ w` once (prepared with the weights). A pair sum is at most
//! 4 · 255 · 128 = 130,560 in magnitude, and the lane sums wrap like the reference's i32 accumulator
//! (wrapping addition is associative), so the result is the reference's accumulator exactly.
//!
//! Loads go through `&[u8; 64]`/`&[i8; 64]` chunks, so the slice that produced them bounds-checks every
//! access; the `unsafe` blocks only turn those references into pointers.

use std::arch::x86_64::*;

use crate::cpu::Avx512;

/// Bytes per AVX-512 vector.
pub(super) const BYTES: usize = 64;

/// The weights laid out for [`dot_rows`]: each unit's row padded with zeros to whole vectors, and its
/// sum; zero rows pad the units to a multiple of 4.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct VnniWeights {
    /// `[U][D_pad / 64]` vectors of 64 weights.
    rows: Vec<[i8; BYTES]>,
    /// Vectors per row (`D_pad / 64`).
    per_row: usize,
    /// `Σ_d w[u][d]` per unit.
    row_sum: Vec<i32>,
}

impl VnniWeights {
    /// From `[units][depth]` weights (`depth > 0`).
    pub(super) fn new(weights: &[i8], depth: usize) -> VnniWeights {
        let per_row = depth.div_ceil(BYTES);
        let mut rows = Vec::with_capacity(weights.len() / depth.max(1) * per_row);
        let mut row_sum = Vec::new();
        for row in weights.chunks_exact(depth.max(1)) {
            for chunk in row.chunks(BYTES) {
                let mut v = [0i8; BYTES];
                v[..chunk.len()].copy_from_slice(chunk);
                rows.push(v);
            }
            row_sum.push(row.iter().map(|&w| w as i32).sum());
        }
        while row_sum.len() % 4 != 0 {
            rows.extend(std::iter::repeat_n([0i8; BYTES], per_row));
            row_sum.push(0);
        }
        VnniWeights {
            rows,
            per_row,
            row_sum,
        }
    }

    /// Bytes of the unsigned input row [`dot_rows`] takes.
    pub(super) fn input_len(&self) -> usize {
        self.per_row * BYTES
    }
}

/// The unsigned input row of [`dot_rows`]: `u[d] = x[d] + 128` for the input row `x`, then zeros.
#[inline(always)]
pub(super) fn offset_input(x: &[i8], u: &mut [u8]) {
    let (head, tail) = u.split_at_mut(x.len().min(u.len()));
    for (u, &x) in head.iter_mut().zip(x) {
        *u = x as u8 ^ 0x80;
    }
    tail.iter_mut().for_each(|v| *v = 0);
}

/// For every unit `u`, `Σ_d w[u][d]·(x[d] + input_offset)` in wrapping i32 (the reference's accumulator
/// before the bias), given `x`'s unsigned row from [`offset_input`]; `emit(u, acc)` receives it, and
/// also receives the padding units (up to 3 past the last), which the caller ignores.
#[inline]
pub(super) fn dot_rows(
    _cpu: Avx512,
    w: &VnniWeights,
    u: &[u8],
    input_offset: i32,
    emit: impl FnMut(usize, i32),
) {
    // SAFETY: `_cpu` proves the CPU has AVX-512 F, BW and VNNI (see `crate::cpu`).
    unsafe { dot_rows_vnni(w, u, input_offset, emit) }
}

/// Load 64 bytes.
#[inline]
#[target_feature(enable = "avx512f")]
fn load<T>(a: &[T; BYTES]) -> __m512i
where
    T: Copy,
{
    debug_assert_eq!(size_of::<T>(), 1);
    // SAFETY: `a` is a reference to 64 initialized one-byte values (u8 or i8, the only callers);
    // loadu has no alignment requirement.
    unsafe { _mm512_loadu_si512(a.as_ptr().cast()) }
}

/// [`dot_rows`] compiled for the vector features.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn dot_rows_vnni(w: &VnniWeights, u: &[u8], input_offset: i32, mut emit: impl FnMut(usize, i32)) {
    let per_row = w.per_row;
    let Some(x) = u.as_chunks::<BYTES>().0.get(..per_row) else {
        return;
    };
    let correction = input_offset.wrapping_sub(128);
    // Four units at a time (the units are padded to a multiple of 4) share each input vector.
    let mut units = w.rows.chunks_exact(per_row).zip(&w.row_sum).enumerate();
    loop {
        let group: [_; 4] = std::array::from_fn(|_| units.next());
        let [Some(r0), Some(r1), Some(r2), Some(r3)] = group else {
            return;
        };
        let rows = [r0.1.0, r1.1.0, r2.1.0, r3.1.0];
        let mut acc = [_mm512_setzero_si512(); 4];
        for (i, xv) in x.iter().enumerate() {
            let xv = load(xv);
            for (a, row) in acc.iter_mut().zip(rows) {
                *a = _mm512_dpbusd_epi32(*a, xv, load(&row[i]));
            }
        }
        for (a, (unit, (_, &sum))) in acc.iter().zip([r0, r1, r2, r3]) {
            let dot = _mm512_reduce_add_epi32(*a);
            emit(unit, dot.wrapping_add(correction.wrapping_mul(sum)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::kernels::Draws;
    use crate::interp::kernels::fully_connected::fast::dot_i16;
    use crate::rng::Rng;

    /// The VNNI dot products against the portable i16 ones, on random rows, offsets, and full-scale
    /// weights (which make the sums wrap on long rows).
    #[test]
    fn vnni_dots_match_the_portable_ones() {
        let Some(cpu) = Avx512::detect() else {
            return;
        };
        let mut r = Rng::new(16);
        for case in 0..300 {
            let depth = 1 + r.index(if case % 10 == 0 { 70_000 } else { 300 });
            let units = 1 + r.index(11);
            let input_offset = r.index(256) as i32 - 127;
            let x: Vec<i8> = (0..depth).map(|_| r.i8()).collect();
            let w: Vec<i8> = (0..units * depth)
                .map(|_| match case % 3 {
                    0 => [-128, 127][r.index(2)],
                    _ => r.i8(),
                })
                .collect();
            let x16: Vec<i16> = x
                .iter()
                .map(|&v| (v as i32 + input_offset) as i16)
                .collect();
            let want: Vec<i32> = w
                .chunks_exact(depth)
                .map(|row| {
                    let w16: Vec<i16> = row.iter().map(|&v| v as i16).collect();
                    dot_i16(&w16, &x16)
                })
                .collect();
            let vnni = VnniWeights::new(&w, depth);
            let mut u = vec![0xAAu8; vnni.input_len()];
            offset_input(&x, &mut u);
            let mut got = vec![0i32; units];
            dot_rows(cpu, &vnni, &u, input_offset, |unit, acc| {
                if let Some(g) = got.get_mut(unit) {
                    *g = acc;
                }
            });
            assert_eq!(
                got, want,
                "case {case}: depth {depth}, offset {input_offset}"
            );
        }
    }
}
