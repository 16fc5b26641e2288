//! A conv layer and the max pool after it, run together one image at a time.

use super::conv::conv_forward_image;
use super::{Activation, Conv2D, MaxPool2D};

/// A conv whose ReLU output feeds a max pool, run one image at a time through both layers: the
/// image's conv planes (P·O values) stay in the first-level cache between the conv and the pool, and the
/// batch's conv output is never stored. The backward pass likewise routes the pool's gradient into one
/// image's planes and hands them to the conv's gradient at once. Same arithmetic, in the same order, as
/// the two layers run one after the other.
pub(crate) struct ConvPool<'a> {
    pub conv: &'a mut Conv2D,
    pub pool: &'a mut MaxPool2D,
}

impl ConvPool<'_> {
    /// Whether the pair can run fused: a planar conv whose ReLU gradient the pool applies.
    pub fn fits(conv: &Conv2D, pool: &MaxPool2D) -> bool {
        conv.planar_output && conv.pool_masks_relu && pool.planar_input
    }

    pub fn forward(&mut self, input: &[f32], batch: usize, output: &mut Vec<f32>) {
        let ConvPool { conv, pool } = self;
        let [oh, ow, o] = conv.out_shape;
        let positions = oh * ow;
        let pooled = pool.out_shape.iter().product::<usize>();
        conv.im2col(input, batch);
        output.resize(batch * pooled, 0.0); // fully overwritten
        let mut argmax = std::mem::take(&mut pool.argmax);
        argmax.resize(output.len(), 0);
        let relu = conv.activation == Activation::Relu;
        let mut planes = std::mem::take(&mut conv.scratch);
        planes.resize(positions * o, 0.0);
        for (b, (out, arg)) in output
            .chunks_exact_mut(pooled)
            .zip(argmax.chunks_exact_mut(pooled))
            .enumerate()
        {
            conv_forward_image(
                &conv.cols,
                b,
                positions,
                &conv.weights,
                &conv.bias,
                relu,
                &mut planes,
            );
            // argmax indexes this image's planes
            pool.pool_planes(&planes, 1, out, arg);
        }
        pool.argmax = argmax;
        conv.scratch = planes;
    }

    /// The pool's and the conv's backward passes; `output` and `d_out` are the pool's.
    pub fn backward(
        &mut self,
        output: &[f32],
        d_out: &[f32],
        batch: usize,
        d_in: Option<&mut Vec<f32>>,
    ) {
        let ConvPool { conv, pool } = self;
        let pooled = pool.out_shape.iter().product::<usize>();
        let argmax = &pool.argmax;
        conv.backward_planes(batch, d_in, |b, d_planes| {
            let images = b * pooled..(b + 1) * pooled;
            if let (Some(y), Some(dy), Some(arg)) = (
                output.get(images.clone()),
                d_out.get(images.clone()),
                argmax.get(images),
            ) {
                // argmax indexes this image's planes
                pool.route(y, dy, arg, d_planes);
            }
        });
    }
}
