//! The average pool layer, VALID or SAME padding, over NHWC input.
//!
//! With SAME padding a window that hangs over the edge averages only the values inside the image (the
//! padding is not counted), as Keras's `AveragePooling2D` (TensorFlow's `avg_pool`) and TFLite's
//! AVERAGE_POOL_2D do; otherwise the exported model would compute another function than the trained one.

use super::Padding;

/// Average pooling with its geometry; it has no parameters and caches nothing.
#[derive(Clone, Debug)]
pub struct AvgPool2D {
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub pool: [usize; 2],
    pub strides: [usize; 2],
    pub padding: Padding,
    /// Rows above / columns left of the input that the first window starts in (SAME padding).
    pub pad: [usize; 2],
}

impl AvgPool2D {
    /// The input rows `[y0, y1)` and columns `[x0, x1)` of the window of output (out_y, out_x).
    fn window(&self, out_y: usize, out_x: usize) -> [usize; 4] {
        let [h, w, _] = self.in_shape;
        let [ph, pw] = self.pool;
        let [sh, sw] = self.strides;
        let [pt, pl] = self.pad;
        let (top, left) = (out_y * sh, out_x * sw);
        let y0 = top.saturating_sub(pt);
        let x0 = left.saturating_sub(pl);
        let y1 = (top + ph).saturating_sub(pt).min(h);
        let x1 = (left + pw).saturating_sub(pl).min(w);
        [y0, y1.max(y0), x0, x1.max(x0)]
    }

    pub(super) fn forward(&self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        output.clear();
        output.resize(batch * oh * ow * c, 0.0);
        for (image, out) in input
            .chunks_exact(h * w * c)
            .zip(output.chunks_exact_mut(oh * ow * c))
            .take(batch)
        {
            for (pos, sums) in out.chunks_exact_mut(c).enumerate() {
                let [y0, y1, x0, x1] = self.window(pos / ow, pos % ow);
                for in_y in y0..y1 {
                    for in_x in x0..x1 {
                        let src = &image[(in_y * w + in_x) * c..][..c];
                        for (s, &v) in sums.iter_mut().zip(src) {
                            *s += v;
                        }
                    }
                }
                // a window has at least one input inside the image (Layer::new checked the shapes)
                let count = ((y1 - y0) * (x1 - x0)).max(1) as f32;
                for s in sums.iter_mut() {
                    *s /= count;
                }
            }
        }
    }

    /// Each output's gradient, divided by its window's count, goes to every input of its window.
    pub(super) fn backward(&self, d_out: &[f32], batch: usize, d_in: Option<&mut Vec<f32>>) {
        let Some(d_in) = d_in else { return };
        let [h, w, c] = self.in_shape;
        let [oh, ow, _] = self.out_shape;
        d_in.clear();
        d_in.resize(batch * h * w * c, 0.0);
        for (image, grads) in d_in
            .chunks_exact_mut(h * w * c)
            .zip(d_out.chunks_exact(oh * ow * c))
        {
            for (pos, g) in grads.chunks_exact(c).enumerate() {
                let [y0, y1, x0, x1] = self.window(pos / ow, pos % ow);
                let count = ((y1 - y0) * (x1 - x0)).max(1) as f32;
                for in_y in y0..y1 {
                    for in_x in x0..x1 {
                        let dst = &mut image[(in_y * w + in_x) * c..][..c];
                        for (d, &g) in dst.iter_mut().zip(g) {
                            *d += g / count;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×3 single-channel image pooled 2×2, stride 2, SAME: four windows of 4, 2, 2 and 1 inputs.
    #[test]
    fn same_padding_averages_only_the_inputs_inside() {
        let pool = AvgPool2D {
            in_shape: [3, 3, 1],
            out_shape: [2, 2, 1],
            pool: [2, 2],
            strides: [2, 2],
            padding: Padding::Same,
            pad: [0, 0], // TF puts the one extra row/column of padding at the end
        };
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut y = Vec::new();
        pool.forward(&x, 1, &mut y);
        // (0,0): 1 2 4 5 → 3; (0,1): 3 6 → 4.5; (1,0): 7 8 → 7.5; (1,1): 9
        assert_eq!(y, vec![3.0, 4.5, 7.5, 9.0]);
        let mut d = Vec::new();
        pool.backward(&[4.0, 2.0, 2.0, 1.0], 1, Some(&mut d));
        assert_eq!(d, vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    }
}
