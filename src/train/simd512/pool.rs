//! The 2×2 max pool over conv planes and the routing of its gradient.

use std::arch::x86_64::*;

use crate::cpu::Avx512;

use super::{LANES, first16};

/// [`crate::train::simd::max_pool_2x2_planes`] (the same outputs and indices, which are exact) with
/// 16 windows per step; a row's last step is masked to the windows left, so rows of any width run
/// here. Returns false, doing nothing, if the slices are too short for the shapes.
#[allow(clippy::too_many_arguments)]
pub fn max_pool_2x2_planes(
    _cpu: Avx512,
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) -> bool {
    let (oh, ow) = (h / 2, w / 2);
    let batch = count / c.max(1);
    if c == 0
        || planes.len() < count * h * w
        || argmax.len() < count * oh * ow
        || output.len() < batch * oh * ow * c
        || count != batch * c
        || c.saturating_mul(LANES) > i32::MAX as usize
    {
        return false;
    }
    // SAFETY: `_cpu` proves the CPU has AVX-512F (see `crate::cpu`).
    unsafe { max_pool_512(planes, count, h, w, c, output, argmax) };
    true
}

/// [`max_pool_2x2_planes`] compiled for the vector features.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
fn max_pool_512(
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) {
    let (oh, ow) = (h / 2, w / 2);
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    let window_offsets = even;
    // a step's outputs are `c` apart in the NHWC output: lane j at j·c (< 16·c, an i32: checked)
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let apart = _mm512_mullo_epi32(lane, _mm512_set1_epi32(c as i32));
    let output = &mut output[..batch_outputs(count, c, oh, ow)];
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let o = (b * oh + out_y) * ow * c + ch;
            let arg_row = &mut argmax[(index * oh + out_y) * ow..][..ow];
            for x in (0..ow).step_by(LANES) {
                let m = (ow - x).min(LANES);
                let (t0, t1) = load_pairs(&top[2 * x..2 * (x + m)]);
                let (b0, b1) = load_pairs(&bottom[2 * x..2 * (x + m)]);
                let split = |lo: __m512, hi: __m512| {
                    (
                        _mm512_permutex2var_ps(lo, even, hi),
                        _mm512_permutex2var_ps(lo, odd, hi),
                    )
                };
                let (tl, tr) = split(t0, t1);
                let (bl, br) = split(b0, b1);
                let base = _mm512_add_epi32(
                    _mm512_set1_epi32((plane_start + (top_start + 2 * x) as u32) as i32),
                    window_offsets,
                );
                let (mut mv, mut a) = (tl, base);
                for (v, offset) in [(tr, 1), (bl, w as i32), (br, w as i32 + 1)] {
                    let better = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, mv);
                    mv = _mm512_mask_mov_ps(mv, better, v);
                    let at = _mm512_add_epi32(base, _mm512_set1_epi32(offset));
                    a = _mm512_mask_mov_epi32(a, better, at);
                }
                scatter_apart(output, o + x * c, c, m, apart, mv);
                store_u32s(&mut arg_row[x..x + m], a);
            }
        }
    }
}

/// The NHWC outputs of `count` planes of `c` channels pooled to `oh × ow`.
fn batch_outputs(count: usize, c: usize, oh: usize, ow: usize) -> usize {
    count / c.max(1) * c * oh * ow
}

/// `out[start + j·stride] = v[j]` for the first `m` (≤ 16) lanes, `apart` holding `j·stride` in lane
/// j: one scatter, or nothing if the last of them would fall outside `out` (never, for the pool's
/// outputs: a window's row ends inside the batch's outputs).
#[inline]
#[target_feature(enable = "avx512f")]
fn scatter_apart(
    out: &mut [f32],
    start: usize,
    stride: usize,
    m: usize,
    apart: __m512i,
    v: __m512,
) {
    let m = m.min(LANES);
    if m == 0 || start + (m - 1) * stride >= out.len() {
        return;
    }
    // SAFETY: the mask sets the first `m` lanes, whose offsets `j·stride` (j < m, each an i32: the
    // caller checked 16·stride fits) put every element written, `out[start + j·stride]`, at most at
    // `out[start + (m − 1)·stride]`, inside `out` (just checked), which is exclusive; masked-off
    // lanes are not written.
    unsafe {
        _mm512_mask_i32scatter_ps::<4>(out.as_mut_ptr().add(start).cast(), first16(m), apart, v)
    }
}

/// [`MaxPool2D::route`](crate::train::layers::MaxPool2D) over channel planes with its bits, for
/// pools whose windows do not overlap (stride ≥ pool size), so the winners of one plane are
/// distinct elements: `d_in[argmax[q]] += g` where `g = d_out[j]`, or 0 when `relu_input` and
/// `output[j] ≤ 0`; output `q = plane·P + pos` of plane `plane = b·C + ch` sits at `j = (b·P +
/// pos)·C + ch` of the NHWC `d_out` and `output`. `d_in` must hold zeros at the winners (the layer
/// routes into a cleared buffer), so each is set to `0 + g`, the sum the scalar code makes there.
/// 16 outputs per step (gathers of the gradients and outputs, one addition, a scatter); winners
/// outside `d_in` are skipped, as the scalar code skips them. Returns false, doing nothing, when an
/// index would not fit the gathers' 32 bits or `d_out` and `output` are shorter than the planes
/// need.
pub fn route_planes(
    _cpu: Avx512,
    output: &[f32],
    d_out: &[f32],
    argmax: &[u32],
    d_in: &mut [f32],
    (p, c): (usize, usize),
    relu_input: bool,
) -> bool {
    let limit = i32::MAX as usize;
    let planes = argmax.len() / p.max(1);
    let needed = planes * p; // the NHWC outputs of `planes / C` images (and the plane rest)
    if p == 0
        || c == 0
        || !planes.is_multiple_of(c)
        || d_out.len() < needed
        || output.len() < needed
        || needed > limit
        || d_in.len() > limit
    {
        return false;
    }
    // SAFETY: `_cpu` proves the CPU has AVX-512F (see `crate::cpu`).
    unsafe { route_512(output, d_out, argmax, d_in, p, c, relu_input) };
    true
}

/// [`route_planes`] compiled for the vector features.
#[target_feature(enable = "avx512f")]
fn route_512(
    output: &[f32],
    d_out: &[f32],
    argmax: &[u32],
    d_in: &mut [f32],
    p: usize,
    c: usize,
    relu_input: bool,
) {
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let step = _mm512_mullo_epi32(lane, _mm512_set1_epi32(c as i32));
    let d_in_len = _mm512_set1_epi32(d_in.len() as i32);
    let zero = _mm512_setzero_ps();
    for (plane, args) in argmax.chunks_exact(p).enumerate() {
        let (b, ch) = (plane / c, plane % c);
        for pos in (0..p).step_by(LANES) {
            let m = (p - pos).min(LANES);
            let live = first16(m);
            // j = (b·P + pos + lane)·C + ch, all below `needed` ≤ the lengths of d_out and output
            let j = _mm512_add_epi32(_mm512_set1_epi32(((b * p + pos) * c + ch) as i32), step);
            let at = &args[pos..pos + m];
            // SAFETY: a masked load reads only the first `m` u32s of `at`, inside it.
            let i = unsafe { _mm512_maskz_loadu_epi32(live, at.as_ptr().cast()) };
            // winners outside d_in are skipped (unsigned compare: the indices are u32)
            let inside = _mm512_mask_cmplt_epu32_mask(live, i, d_in_len);
            // SAFETY: the gathers read, for the `live` lanes only, `d_out[j]` and `output[j]` with
            // j < planes·P ≤ their lengths (checked by `route_planes`).
            let mut g =
                unsafe { _mm512_mask_i32gather_ps::<4>(zero, live, j, d_out.as_ptr().cast()) };
            if relu_input {
                // SAFETY: as above.
                let y =
                    unsafe { _mm512_mask_i32gather_ps::<4>(zero, live, j, output.as_ptr().cast()) };
                g = _mm512_mask_mov_ps(g, _mm512_cmp_ps_mask::<_CMP_LE_OQ>(y, zero), zero);
            }
            // `0 + g`: what adding g to the zero there gives (a −0 lands as +0)
            let new = _mm512_add_ps(zero, g);
            // SAFETY: the scatter writes, for the `inside` lanes only, `d_in[i]` with i < d_in.len()
            // (just compared), an exclusive slice; the indices of one plane's winners are distinct
            // (the windows do not overlap), so no lane's write is lost to another's.
            unsafe { _mm512_mask_i32scatter_ps::<4>(d_in.as_mut_ptr().cast(), inside, i, new) };
        }
    }
}

/// The 2·m floats of `pairs` (m ≤ 16 windows) as two vectors, lanes past the end zero.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_pairs(pairs: &[f32]) -> (__m512, __m512) {
    let n = pairs.len().min(2 * LANES);
    let (lo, hi) = (n.min(LANES), n.saturating_sub(LANES));
    // SAFETY: a masked load reads only the lanes its mask sets, here the first `lo` (then `hi`)
    // floats from the pointer, all inside `pairs`; masked-off lanes are not accessed.
    unsafe {
        (
            _mm512_maskz_loadu_ps(first16(lo), pairs.as_ptr()),
            _mm512_maskz_loadu_ps(first16(hi), pairs.as_ptr().add(lo)),
        )
    }
}

/// Store the first `dst.len()` (≤ 16) lanes of `v`.
#[inline]
#[target_feature(enable = "avx512f")]
fn store_u32s(dst: &mut [u32], v: __m512i) {
    // SAFETY: a masked store writes only the lanes its mask sets, the first `dst.len()` (at most 16)
    // u32s from the pointer, all inside `dst`, which is exclusive.
    unsafe { _mm512_mask_storeu_epi32(dst.as_mut_ptr().cast(), first16(dst.len()), v) }
}
