//! Prepared CONV_2D kernels: float32 and int8 reference, hybrid (float input quantized per batch,
//! int8 filter), the fast kernels, the fast kernels fused with the MAX_POOL_2D that reads them, and
//! float32 in TF's calibrator arithmetic. Also the per-batch input quantization the hybrid
//! convolutions (CONV_2D and DEPTHWISE_CONV_2D) share.

use super::{FloatRange, QuantRange, Run, get, unary, with_output};
use crate::error::Result;
use crate::interp::kernels::check_len;
use crate::interp::kernels::conv2d::{
    ChannelQuant, ConvF32Fast, ConvFastScratch, ConvI8Fast, ConvShape, conv2d_f32, conv2d_f32_fast,
    conv2d_f32_max_pool2d_fast, conv2d_hybrid, conv2d_hybrid_per_channel, conv2d_i8,
    conv2d_i8_fast, conv2d_i8_max_pool2d_fast,
};
use crate::interp::kernels::hybrid::{asymmetric_quantize_floats, symmetric_quantize_floats};
use crate::interp::kernels::optimized_f32::{ConvF32Optimized, conv2d_f32_optimized};
use crate::interp::kernels::window::Window;
use crate::interp::tensor::Buffer;

#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dF32 {
    pub input: usize,
    pub output: usize,
    pub shape: ConvShape,
    pub filter: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
}

impl Run for Conv2dF32 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_f32(
                &self.shape,
                input,
                &self.filter,
                self.bias.as_deref(),
                self.act,
                out,
            )
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dI8 {
    pub input: usize,
    pub output: usize,
    pub shape: ConvShape,
    pub quant: ChannelQuant,
    pub filter: Vec<i8>,
    pub bias: Option<Vec<i32>>,
}

impl Run for Conv2dI8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_i8(
                &self.shape,
                &self.quant,
                input,
                &self.filter,
                self.bias.as_deref(),
                out,
            )
        })
    }
}

/// Hybrid convolution; `filter_scale` is per channel (asymmetric inputs) or `None` for one scale
/// `scale` (symmetric inputs).
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dHybrid {
    pub input: usize,
    pub output: usize,
    pub shape: ConvShape,
    pub filter: Vec<i8>,
    pub filter_scale: Option<Vec<f32>>,
    pub scale: f32,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
    pub scratch: ConvHybridScratch,
}

impl Run for Conv2dHybrid {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let Conv2dHybrid {
            input,
            output,
            shape,
            filter,
            filter_scale,
            scale,
            bias,
            act,
            scratch,
        } = self;
        with_output::<f32>(buffers, *output, |b, out| {
            let input = get::<f32>(b, *input)?;
            quantize_batches(input, shape.window.batches, filter_scale.is_some(), scratch)?;
            match filter_scale {
                Some(fs) => conv2d_hybrid_per_channel(
                    shape,
                    &scratch.input_q,
                    &scratch.scaling_factor,
                    &scratch.zero_point,
                    filter,
                    fs,
                    bias.as_deref(),
                    *act,
                    out,
                ),
                None => {
                    for sf in scratch.scaling_factor.iter_mut() {
                        *sf *= *scale;
                    }
                    conv2d_hybrid(
                        shape,
                        &scratch.input_q,
                        &scratch.scaling_factor,
                        filter,
                        bias.as_deref(),
                        *act,
                        out,
                    )
                }
            }
        })
    }
}

/// Fast float32 kernel (bit-identical to the reference one; see `kernels::conv2d`).
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dF32Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<ConvF32Fast>,
    pub scratch: ConvFastScratch,
}

impl Run for Conv2dF32Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_f32_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// Fast int8 kernel (bit-identical to the reference one; see `kernels::conv2d`).
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dI8Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<ConvI8Fast>,
    pub scratch: ConvFastScratch,
}

impl Run for Conv2dI8Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_i8_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// int8 CONV_2D fused with the int8 MAX_POOL_2D that is its only reader (only when intermediate
/// tensors need not be preserved); `output` is the pool's.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dI8MaxPoolFast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<ConvI8Fast>,
    pub pool: Window,
    pub pool_act: QuantRange,
    pub scratch: ConvFastScratch,
}

impl Run for Conv2dI8MaxPoolFast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_i8_max_pool2d_fast(
                &self.kernel,
                &self.pool,
                self.pool_act,
                input,
                &mut self.scratch,
                out,
            )
        })
    }
}

/// float32 CONV_2D fused with the MAX_POOL_2D that is its only reader.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dF32MaxPoolFast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<ConvF32Fast>,
    pub pool: Window,
    pub pool_act: FloatRange,
    pub scratch: ConvFastScratch,
}

impl Run for Conv2dF32MaxPoolFast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_f32_max_pool2d_fast(
                &self.kernel,
                &self.pool,
                self.pool_act,
                input,
                &mut self.scratch,
                out,
            )
        })
    }
}

/// float32 in the arithmetic of TFLite's optimized kernels as TF's calibrator runs them
/// (`FloatArithmetic::TfCalibrator`, see `kernels::optimized_f32`).
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dF32Optimized {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<ConvF32Optimized>,
    pub patch: Vec<f32>,
}

impl Run for Conv2dF32Optimized {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            conv2d_f32_optimized(&self.kernel, input, &mut self.patch, out)
        })
    }
}

/// Per-batch scratch of the hybrid convolutions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvHybridScratch {
    pub input_q: Vec<i8>,
    pub scaling_factor: Vec<f32>,
    pub zero_point: Vec<i32>,
}

/// Quantize each batch of a hybrid convolution's input: asymmetric (per-channel filters) or symmetric.
pub(super) fn quantize_batches(
    input: &[f32],
    batches: usize,
    asymmetric: bool,
    scratch: &mut ConvHybridScratch,
) -> Result<()> {
    check_len(
        "hybrid input quantization",
        "scratch",
        scratch.input_q.len(),
        input.len(),
    )?;
    check_len(
        "hybrid input quantization",
        "scaling factors",
        scratch.scaling_factor.len(),
        batches,
    )?;
    check_len(
        "hybrid input quantization",
        "zero points",
        scratch.zero_point.len(),
        batches,
    )?;
    if batches == 0 {
        return Ok(());
    }
    let per_batch = input.len() / batches;
    if per_batch == 0 {
        return Ok(());
    }
    for (b, (x, q)) in input
        .chunks_exact(per_batch)
        .zip(scratch.input_q.chunks_exact_mut(per_batch))
        .enumerate()
    {
        if asymmetric {
            let (sf, zp) = asymmetric_quantize_floats(x, q);
            scratch.scaling_factor[b] = sf;
            scratch.zero_point[b] = zp;
        } else {
            scratch.scaling_factor[b] = symmetric_quantize_floats(x, q);
            scratch.zero_point[b] = 0;
        }
    }
    Ok(())
}
