//! The 2×2 max pool over conv planes.

use core::arch::wasm32::*;

use super::{V, load2, store_u32};

/// A 2×2, stride-2 max pool over channel planes, the twin of
/// [`crate::train::kernels::max_pool_2x2_planes`] (same arguments, same maxima and indices). Four
/// windows of a row per step: the even and odd columns are separated with shuffles, then three
/// compare-and-select rounds; a row's last step is shifted back to end at its last window
/// (recomputing a few, which gives the same values). Rows of fewer than 4 windows run the twin.
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
    let lane_offsets = u32x4(0, 2, 4, 6);
    for (index, plane) in planes.chunks_exact(h * w).take(count).enumerate() {
        let (b, ch) = (index / c, index % c);
        let plane_start = (index * h * w) as u32;
        for out_y in 0..oh {
            let top_start = 2 * out_y * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            let row_out = &mut output[(b * oh + out_y) * ow * c + ch..];
            let row_arg = &mut argmax[(index * oh + out_y) * ow..];
            // windows x..x + 4 from the 8 floats of each row that hold them
            let mut windows = |x: usize, t: &[f32; 2 * V], bo: &[f32; 2 * V]| {
                let (ta, tb) = load2(t);
                let (ba, bb) = load2(bo);
                let (t0, t1) = (
                    i32x4_shuffle::<0, 2, 4, 6>(ta, tb),
                    i32x4_shuffle::<1, 3, 5, 7>(ta, tb),
                );
                let (b0, b1) = (
                    i32x4_shuffle::<0, 2, 4, 6>(ba, bb),
                    i32x4_shuffle::<1, 3, 5, 7>(ba, bb),
                );
                let base = i32x4_add(
                    u32x4_splat(plane_start + (top_start + 2 * x) as u32),
                    lane_offsets,
                );
                let (mut m, mut a) = (t0, base);
                for (v, offset) in [(t1, 1), (b0, w as u32), (b1, w as u32 + 1)] {
                    // the first maximum wins: only a strictly greater value replaces it
                    let better = f32x4_gt(v, m);
                    m = v128_bitselect(v, m, better);
                    a = v128_bitselect(i32x4_add(base, u32x4_splat(offset)), a, better);
                }
                if let Some(out) = row_out.get_mut(x * c..=(x + 3) * c) {
                    out[0] = f32x4_extract_lane::<0>(m);
                    out[c] = f32x4_extract_lane::<1>(m);
                    out[2 * c] = f32x4_extract_lane::<2>(m);
                    out[3 * c] = f32x4_extract_lane::<3>(m);
                }
                if let Some(arg) = row_arg[x..].first_chunk_mut() {
                    store_u32(arg, a);
                }
            };
            let (top_steps, _) = top.as_chunks::<{ 2 * V }>();
            let (bottom_steps, _) = bottom.as_chunks::<{ 2 * V }>();
            for (i, (t, bo)) in top_steps.iter().zip(bottom_steps).enumerate() {
                windows(i * V, t, bo);
            }
            // the row's last step, shifted back to end at its last window
            if ow % V != 0 {
                let x = ow - V;
                if let (Some(t), Some(bo)) = (
                    top[2 * x..].first_chunk::<{ 2 * V }>(),
                    bottom[2 * x..].first_chunk::<{ 2 * V }>(),
                ) {
                    windows(x, t, bo);
                }
            }
        }
    }
}
