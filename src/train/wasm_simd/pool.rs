//! The 2×2 max pool over conv planes.

use core::arch::wasm32::*;

use super::{V, load2, store, store_u32};

/// The maxima and the indices of the first maxima of 4 windows of a row, from the 8 floats of its
/// top and of its bottom row that hold them; `base` indexes the first window's top-left value and
/// `w` is the plane's width. The even and odd columns are separated with shuffles, then three
/// compare-and-select rounds.
#[inline(always)]
fn four_windows(top: &[f32; 2 * V], bottom: &[f32; 2 * V], base: u32, w: u32) -> (v128, v128) {
    let (ta, tb) = load2(top);
    let (ba, bb) = load2(bottom);
    let (t0, t1) = (
        i32x4_shuffle::<0, 2, 4, 6>(ta, tb),
        i32x4_shuffle::<1, 3, 5, 7>(ta, tb),
    );
    let (b0, b1) = (
        i32x4_shuffle::<0, 2, 4, 6>(ba, bb),
        i32x4_shuffle::<1, 3, 5, 7>(ba, bb),
    );
    let base = i32x4_add(u32x4_splat(base), u32x4(0, 2, 4, 6));
    let (mut m, mut a) = (t0, base);
    for (v, offset) in [(t1, 1), (b0, w), (b1, w + 1)] {
        // the first maximum wins: only a strictly greater value replaces it
        let better = f32x4_gt(v, m);
        m = v128_bitselect(v, m, better);
        a = v128_bitselect(i32x4_add(base, u32x4_splat(offset)), a, better);
    }
    (m, a)
}

/// The starts of a row's steps of 4 windows: every 4th window, then (when the row's windows are not
/// a multiple of 4) a last step shifted back to end at its last window, which recomputes a few
/// (the same values).
fn steps(ow: usize) -> impl Iterator<Item = usize> {
    (0..ow / V)
        .map(|i| i * V)
        .chain((!ow.is_multiple_of(V)).then(|| ow - V))
}

/// A 2×2, stride-2 max pool over channel planes, the twin of
/// [`crate::train::kernels::max_pool_2x2_planes`] (same arguments, same maxima and indices). Four
/// windows of a row per step ([`four_windows`], [`steps`]); with channels in groups of 4 (the
/// tutorial's 12) in [`grouped`], which stores the maxima as vectors (1.3× as fast on the tutorial's
/// shapes, bench/wasm_kernels.sh), else lane by lane. Rows of fewer than 4 windows run the twin.
pub fn max_pool_2x2_planes(
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) {
    let (oh, ow) = (h / 2, w / 2);
    if ow < V {
        crate::train::kernels::max_pool_2x2_planes(planes, count, h, w, c, output, argmax);
        return;
    }
    if c.is_multiple_of(V) {
        grouped(planes, count, h, w, c, output, argmax);
        return;
    }
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let row_out = &mut output[(b * oh + out_y) * ow * c + ch..];
            let row_arg = &mut argmax[(index * oh + out_y) * ow..];
            for x in steps(ow) {
                let (Some(t), Some(bo)) = (
                    top[2 * x..].first_chunk::<{ 2 * V }>(),
                    bottom[2 * x..].first_chunk::<{ 2 * V }>(),
                ) else {
                    continue;
                };
                let base = plane_start + (top_start + 2 * x) as u32;
                let (m, a) = four_windows(t, bo, base, w as u32);
                if let Some(out) = row_out.get_mut(x * c..=(x + 3) * c) {
                    out[0] = f32x4_extract_lane::<0>(m);
                    out[c] = f32x4_extract_lane::<1>(m);
                    out[2 * c] = f32x4_extract_lane::<2>(m);
                    out[3 * c] = f32x4_extract_lane::<3>(m);
                }
                if let Some(arg) = row_arg[x..].first_chunk_mut() {
                    store_u32(arg, a);
                }
            }
        }
    }
}

/// [`max_pool_2x2_planes`] for channels in groups of 4: the maxima of 4 windows of 4 planes are
/// transposed in registers, so that each window's 4 channels go to the NHWC output with one store.
fn grouped(
    planes: &[f32],
    count: usize,
    h: usize,
    w: usize,
    c: usize,
    output: &mut [f32],
    argmax: &mut [u32],
) {
    let (oh, ow) = (h / 2, w / 2);
    for (group, four) in planes.chunks_exact(V * h * w).take(count / V).enumerate() {
        let first = group * V; // the group's first plane
        let (b, ch) = (first / c, first % c);
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let row_out = &mut output[(b * oh + out_y) * ow * c..][..ow * c];
            for x in steps(ow) {
                let mut m = [u32x4_splat(0); V];
                for (j, (plane, m)) in four.chunks_exact(h * w).zip(&mut m).enumerate() {
                    let (Some(t), Some(bo)) = (
                        plane[top_start + 2 * x..].first_chunk::<{ 2 * V }>(),
                        plane[top_start + w + 2 * x..].first_chunk::<{ 2 * V }>(),
                    ) else {
                        return;
                    };
                    let base = ((first + j) * h * w + top_start + 2 * x) as u32;
                    let (maxima, a) = four_windows(t, bo, base, w as u32);
                    *m = maxima;
                    let row = ((first + j) * oh + out_y) * ow;
                    if let Some(arg) = argmax[row + x..].first_chunk_mut() {
                        store_u32(arg, a);
                    }
                }
                // rows: channels; columns: windows. Transposed, row i holds window x + i's channels.
                let lo01 = i32x4_shuffle::<0, 4, 1, 5>(m[0], m[1]);
                let hi01 = i32x4_shuffle::<2, 6, 3, 7>(m[0], m[1]);
                let lo23 = i32x4_shuffle::<0, 4, 1, 5>(m[2], m[3]);
                let hi23 = i32x4_shuffle::<2, 6, 3, 7>(m[2], m[3]);
                let windows = [
                    i32x4_shuffle::<0, 1, 4, 5>(lo01, lo23),
                    i32x4_shuffle::<2, 3, 6, 7>(lo01, lo23),
                    i32x4_shuffle::<0, 1, 4, 5>(hi01, hi23),
                    i32x4_shuffle::<2, 3, 6, 7>(hi01, hi23),
                ];
                for (i, v) in windows.into_iter().enumerate() {
                    if let Some(dst) = row_out[(x + i) * c + ch..].first_chunk_mut() {
                        store(dst, v);
                    }
                }
            }
        }
    }
}
