//! The max pool layer (VALID padding): the forward pass over NHWC input or over a conv's channel
//! planes, remembering each window's winner, and the backward pass that routes gradients to it.

use std::hint::select_unpredictable;

#[cfg(target_arch = "x86_64")]
use crate::cpu::{Avx2Fma, Avx512};
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use crate::train::kernels;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::train::wasm_simd;
#[cfg(target_arch = "x86_64")]
use crate::train::{simd, simd512};

/// Max pooling (VALID padding), with the winning input index of each output kept for the backward pass.
#[derive(Clone, Debug)]
pub struct MaxPool2D {
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub pool: [usize; 2],
    pub strides: [usize; 2],
    /// The input comes as channel planes per image (see [`Conv2D::planar_output`](super::Conv2D::planar_output)).
    pub(crate) planar_input: bool,
    /// The input is a ReLU's output: a window whose maximum is not positive passes no gradient (the
    /// ReLU would block it), so the conv before can use this layer's input gradient as is.
    pub(crate) relu_input: bool,
    /// Per output, the index of the input element that won its window; in output (NHWC) order, or in
    /// plane order (`[N][C][OH][OW]`) when the input is planar.
    pub(super) argmax: Vec<u32>,
}

impl MaxPool2D {
    /// Max over each window, remembering in `argmax` which input element won (the first maximum in
    /// window order, as TensorFlow's MaxPoolGrad routes it). The input is NHWC, or channel planes per
    /// image when `planar_input` (a conv just before writes them, which saves a transpose). The output
    /// is NHWC either way.
    pub(super) fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        output.resize(batch * oh * ow * c, 0.0);
        self.argmax.resize(output.len(), 0);
        if self.planar_input {
            let mut argmax = std::mem::take(&mut self.argmax);
            self.pool_planes(input, batch, output, &mut argmax);
            self.argmax = argmax;
            return;
        }
        let [ph, pw] = self.pool;
        let [sh, sw] = self.strides;
        let mut outs = output
            .chunks_exact_mut(c)
            .zip(self.argmax.chunks_exact_mut(c));
        for b in 0..batch {
            let image = b * h * w * c;
            for out_y in 0..oh {
                for out_x in 0..ow {
                    let Some((best, arg)) = outs.next() else {
                        return;
                    };
                    best.fill(f32::NEG_INFINITY);
                    for filter_y in 0..ph {
                        for filter_x in 0..pw {
                            let i =
                                image + ((out_y * sh + filter_y) * w + out_x * sw + filter_x) * c;
                            let (src, best, arg) =
                                (&input[i..i + c], &mut best[..c], &mut arg[..c]);
                            for ch in 0..c {
                                let v = src[ch];
                                // the winner is data-dependent: ask for a select, not a branch
                                let better = v > best[ch];
                                best[ch] = select_unpredictable(better, v, best[ch]);
                                arg[ch] = select_unpredictable(better, (i + ch) as u32, arg[ch]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Pool `batch` images of channel planes into NHWC `output`; `argmax`, in plane order, indexes
    /// `input`. The common 2×2, stride-2 pool runs in the AVX-512 kernel where the CPU has it, else in
    /// the AVX2 kernel where the CPU has that and the rows are wide enough, in its SIMD128 build on
    /// wasm, else in its portable twin (all exact, so all equal); other pools in
    /// [`MaxPool2D::forward_planes`].
    pub(super) fn pool_planes(
        &self,
        input: &[f32],
        batch: usize,
        output: &mut [f32],
        argmax: &mut [u32],
    ) {
        if self.pool == [2, 2] && self.strides == [2, 2] {
            let [h, w, c] = self.in_shape;
            #[cfg(target_arch = "x86_64")]
            if let Some(cpu) = Avx512::detect()
                && simd512::max_pool_2x2_planes(cpu, input, batch * c, h, w, c, output, argmax)
            {
                return;
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(cpu) = Avx2Fma::detect()
                && simd::max_pool_2x2_planes(cpu, input, batch * c, h, w, c, output, argmax)
            {
                return;
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            wasm_simd::max_pool_2x2_planes(input, batch * c, h, w, c, output, argmax);
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            kernels::max_pool_2x2_planes(input, batch * c, h, w, c, output, argmax);
            return;
        }
        self.forward_planes(input, batch, output, argmax);
    }

    /// Any other pool over channel planes: each output row of one plane is computed for all `out_x` at
    /// once, window element by window element, so the loops run along a row and vectorize.
    fn forward_planes(&self, input: &[f32], batch: usize, output: &mut [f32], argmax: &mut [u32]) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        let [ph, pw] = self.pool;
        let [sh, sw] = self.strides;
        let mut best = vec![0.0f32; ow];
        let mut arg = vec![0u32; ow];
        for (plane_index, plane) in input.chunks_exact(h * w).take(batch * c).enumerate() {
            let (b, ch) = (plane_index / c, plane_index % c);
            let plane_start = (plane_index * h * w) as u32;
            for out_y in 0..oh {
                best.fill(f32::NEG_INFINITY);
                for filter_y in 0..ph {
                    let row_start = (out_y * sh + filter_y) * w;
                    let row = &plane[row_start..row_start + w];
                    for filter_x in 0..pw {
                        let first = plane_start + (row_start + filter_x) as u32;
                        let (best, arg) = (&mut best[..ow], &mut arg[..ow]);
                        for out_x in 0..ow {
                            let v = row[out_x * sw + filter_x];
                            // the winner is data-dependent: ask for a select, not a branch
                            let better = v > best[out_x];
                            best[out_x] = select_unpredictable(better, v, best[out_x]);
                            arg[out_x] = select_unpredictable(
                                better,
                                first + (out_x * sw) as u32,
                                arg[out_x],
                            );
                        }
                    }
                }
                let o = (b * oh + out_y) * ow * c + ch;
                for (out_x, &m) in best.iter().enumerate() {
                    output[o + out_x * c] = m;
                }
                argmax[(plane_index * oh + out_y) * ow..][..ow].copy_from_slice(&arg);
            }
        }
    }

    pub(super) fn backward(
        &self,
        output: &[f32],
        d_out: &[f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        let Some(d_in) = d_in else { return };
        let [h, w, c] = self.in_shape;
        d_in.clear();
        d_in.resize(batch * h * w * c, 0.0);
        self.route(output, d_out, &self.argmax, d_in);
    }

    /// Add each output's gradient to the input element that won its window (`argmax` indexes `d_in`,
    /// which is all zeros: both callers clear it first); over channel planes with windows that do not
    /// overlap, on AVX-512 CPUs, in the AVX-512 kernel (the same sums).
    pub(super) fn route(&self, output: &[f32], d_out: &[f32], argmax: &[u32], d_in: &mut [f32]) {
        debug_assert!(
            d_in.iter().all(|&v| v.to_bits() == 0),
            "route into a cleared buffer"
        );
        // windows that do not overlap have distinct winners, which a scatter can update at once
        #[cfg(target_arch = "x86_64")]
        if self.planar_input
            && self.disjoint_windows()
            && let Some(cpu) = Avx512::detect()
        {
            let [oh, ow, c] = self.out_shape;
            if simd512::route_planes(
                cpu,
                output,
                d_out,
                argmax,
                d_in,
                (oh * ow, c),
                self.relu_input,
            ) {
                return;
            }
        }
        self.route_scalar(output, d_out, argmax, d_in);
    }

    /// Whether the windows do not overlap (strides at least the pool's size), so that each input
    /// element wins at most one.
    fn disjoint_windows(&self) -> bool {
        self.strides[0] >= self.pool[0] && self.strides[1] >= self.pool[1]
    }

    /// [`MaxPool2D::route`] without the AVX-512 kernel.
    fn route_scalar(&self, output: &[f32], d_out: &[f32], argmax: &[u32], d_in: &mut [f32]) {
        let [oh, ow, c] = self.out_shape;
        let p = oh * ow;
        let mut add = |g: f32, y: f32, i: u32| {
            // whether a window passes its gradient depends on the data: a select, not a branch
            let g = select_unpredictable(self.relu_input && y <= 0.0, 0.0, g);
            if let Some(d) = d_in.get_mut(i as usize) {
                *d += g;
            }
        };
        if !self.planar_input {
            for ((&g, &i), &y) in d_out.iter().zip(argmax).zip(output) {
                add(g, y, i);
            }
            return;
        }
        if self.disjoint_windows() && p * c > 0 {
            // windows that do not overlap have distinct winners, so the order of the additions does
            // not change the sums: the gradients and outputs are read in their own (NHWC) order and
            // only the winners across planes, one strided stream instead of two (an epoch in wasm
            // 1.50–1.57 s instead of 1.62–1.72 s, bench/wasm_kernels.sh --epoch --relaxed)
            let images = d_out.chunks_exact(p * c).zip(output.chunks_exact(p * c));
            for ((g_image, y_image), args) in images.zip(argmax.chunks_exact(p * c)) {
                let outputs = g_image.chunks_exact(c).zip(y_image.chunks_exact(c));
                for (pos, (g_row, y_row)) in outputs.enumerate() {
                    for (&i, (&g, &y)) in args[pos..].iter().step_by(p).zip(g_row.iter().zip(y_row))
                    {
                        add(g, y, i);
                    }
                }
            }
            return;
        }
        for (plane, args) in argmax.chunks_exact(p.max(1)).enumerate() {
            let (b, ch) = (plane / c, plane % c);
            for (pos, &i) in args.iter().enumerate() {
                let j = (b * p + pos) * c + ch;
                if let (Some(&g), Some(&y)) = (d_out.get(j), output.get(j)) {
                    add(g, y, i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::train::kernels::tests::{route_reference, routing_case};

    /// The scalar routing over channel planes against the plane-by-plane loop of the tests, with
    /// windows that do not overlap (read in NHWC order) and windows that do (read plane by plane):
    /// distinct winners per plane for the first (a shared one for the second, whose additions then
    /// meet), some outside `d_in` (skipped), gradients a ReLU blocks or passes, −0 among them.
    #[test]
    fn routing_over_planes_adds_each_gradient_to_its_winner() {
        let mut rng = Rng::new(41);
        for (oh, ow, c, images, pool, strides) in [
            (13, 13, 12, 2, [2, 2], [2, 2]),
            (3, 5, 3, 3, [2, 2], [3, 2]),
            (1, 1, 1, 1, [2, 2], [2, 2]),
            (4, 4, 2, 2, [2, 2], [1, 1]),
        ] {
            let p = oh * ow;
            let (output, d_out, mut argmax, d_len) = routing_case(&mut rng, p, c, images);
            if strides[0] < pool[0] {
                // windows that overlap: two of each plane share a winner
                for plane in argmax.chunks_exact_mut(p) {
                    plane[1] = plane[0];
                }
            }
            for relu_input in [false, true] {
                let layer = MaxPool2D {
                    in_shape: [2 * oh, 2 * ow, c],
                    out_shape: [oh, ow, c],
                    pool,
                    strides,
                    planar_input: true,
                    relu_input,
                    argmax: Vec::new(),
                };
                let want = route_reference(&output, &d_out, &argmax, (p, c), relu_input, d_len);
                let mut got = vec![0.0f32; d_len];
                layer.route_scalar(&output, &d_out, &argmax, &mut got);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "{oh}×{ow}×{c} strides {strides:?} relu {relu_input}"
                );
            }
        }
    }
}
