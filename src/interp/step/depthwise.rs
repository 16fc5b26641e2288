//! Prepared DEPTHWISE_CONV_2D kernels: float32 and int8 reference, the fast kernels, hybrid (float
//! input quantized per batch, int8 filter with one scale per channel), and float32 in TF's calibrator
//! arithmetic.

use super::conv::{ConvHybridScratch, quantize_batches};
use super::{FloatRange, Run, get, unary, with_output};
use crate::error::Result;
use crate::interp::kernels::conv2d::ChannelQuant;
use crate::interp::kernels::depthwise_conv2d::{
    DepthwiseFast, DepthwiseScratch, DepthwiseShape, depthwise_conv2d_f32,
    depthwise_conv2d_f32_fast, depthwise_conv2d_hybrid, depthwise_conv2d_i8,
    depthwise_conv2d_i8_fast,
};
use crate::interp::kernels::optimized_f32::depthwise_conv2d_f32_optimized;
use crate::interp::tensor::Buffer;

#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2dF32 {
    pub input: usize,
    pub output: usize,
    pub shape: DepthwiseShape,
    pub filter: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
}

impl Run for DepthwiseConv2dF32 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            depthwise_conv2d_f32(
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
pub struct DepthwiseConv2dI8 {
    pub input: usize,
    pub output: usize,
    pub shape: DepthwiseShape,
    pub quant: ChannelQuant,
    pub filter: Vec<i8>,
    pub bias: Option<Vec<i32>>,
}

impl Run for DepthwiseConv2dI8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            depthwise_conv2d_i8(
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

/// Fast float32 kernel (bit-identical to the reference one; see `kernels::depthwise_conv2d`).
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2dF32Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<DepthwiseFast<f32>>,
    pub scratch: DepthwiseScratch<f32>,
}

impl Run for DepthwiseConv2dF32Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            depthwise_conv2d_f32_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// Fast int8 kernel (bit-identical to the reference one; see `kernels::depthwise_conv2d`).
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2dI8Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<DepthwiseFast<i32>>,
    pub scratch: DepthwiseScratch<i32>,
}

impl Run for DepthwiseConv2dI8Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            depthwise_conv2d_i8_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// Hybrid depthwise convolution: the input is quantized asymmetrically per batch.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2dHybrid {
    pub input: usize,
    pub output: usize,
    pub shape: DepthwiseShape,
    pub filter: Vec<i8>,
    pub filter_scale: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
    pub scratch: ConvHybridScratch,
}

impl Run for DepthwiseConv2dHybrid {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let DepthwiseConv2dHybrid {
            input,
            output,
            shape,
            filter,
            filter_scale,
            bias,
            act,
            scratch,
        } = self;
        with_output::<f32>(buffers, *output, |b, out| {
            quantize_batches(get::<f32>(b, *input)?, shape.window.batches, true, scratch)?;
            depthwise_conv2d_hybrid(
                shape,
                &scratch.input_q,
                &scratch.scaling_factor,
                &scratch.zero_point,
                filter,
                filter_scale,
                bias.as_deref(),
                *act,
                out,
            )
        })
    }
}

/// float32 in the arithmetic of TFLite's optimized kernels as TF's calibrator runs them.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2dF32Optimized {
    pub input: usize,
    pub output: usize,
    pub shape: DepthwiseShape,
    pub filter: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
}

impl Run for DepthwiseConv2dF32Optimized {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            depthwise_conv2d_f32_optimized(
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
