//! Prepared 16x8 kernels (int16 activations, int8 weights): CONV_2D, DEPTHWISE_CONV_2D,
//! FULLY_CONNECTED, MAX_POOL_2D, AVERAGE_POOL_2D and SOFTMAX: the reference kernels, and a fast
//! CONV_2D.

use super::{QuantRange, Run, get, unary, with_output};
use crate::error::Result;
use crate::interp::kernels::average_pool2d::average_pool2d_quant;
use crate::interp::kernels::conv2d::{ChannelQuant, ConvShape};
use crate::interp::kernels::depthwise_conv2d::DepthwiseShape;
use crate::interp::kernels::fully_connected::{FcQuant, FcShape};
use crate::interp::kernels::int16::{
    ConvI16Fast, ConvI16Scratch, Int16Softmax, conv2d_i16, conv2d_i16_fast, depthwise_conv2d_i16,
    fully_connected_i16, softmax_i16,
};
use crate::interp::kernels::max_pool2d::max_pool2d_quant;
use crate::interp::kernels::window::Window;
use crate::interp::tensor::Buffer;

/// int16 CONV_2D with int8 weights and int64 bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dI16 {
    pub input: usize,
    pub output: usize,
    pub shape: ConvShape,
    pub quant: ChannelQuant,
    pub filter: Vec<i8>,
    pub bias: Option<Vec<i64>>,
}

impl Run for Conv2dI16 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        with_output::<i16>(buffers, self.output, |b, out| {
            let input = get::<i16>(b, self.input)?;
            conv2d_i16(
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

/// int16 CONV_2D, fast kernel (patches, long multiply-adds, requantization per channel).
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dI16Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<ConvI16Fast>,
    pub scratch: ConvI16Scratch,
}

impl Run for Conv2dI16Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let (kernel, scratch) = (&self.kernel, &mut self.scratch);
        with_output::<i16>(buffers, self.output, |b, out| {
            conv2d_i16_fast(kernel, get::<i16>(b, self.input)?, scratch, out)
        })
    }
}

/// int16 DEPTHWISE_CONV_2D with int8 weights and int64 bias.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2dI16 {
    pub input: usize,
    pub output: usize,
    pub shape: DepthwiseShape,
    pub quant: ChannelQuant,
    pub filter: Vec<i8>,
    pub bias: Option<Vec<i64>>,
}

impl Run for DepthwiseConv2dI16 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        with_output::<i16>(buffers, self.output, |b, out| {
            let input = get::<i16>(b, self.input)?;
            depthwise_conv2d_i16(
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

/// int16 FULLY_CONNECTED with int8 weights and int64 bias.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedI16 {
    pub input: usize,
    pub output: usize,
    pub shape: FcShape,
    pub quant: FcQuant,
    pub weights: Vec<i8>,
    pub bias: Option<Vec<i64>>,
}

impl Run for FullyConnectedI16 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        with_output::<i16>(buffers, self.output, |b, out| {
            let input = get::<i16>(b, self.input)?;
            fully_connected_i16(
                self.shape,
                &self.quant,
                input,
                &self.weights,
                self.bias.as_deref(),
                out,
            )
        })
    }
}

/// int16 MAX_POOL_2D or AVERAGE_POOL_2D.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool2dI16 {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: QuantRange,
    /// MAX_POOL_2D, else AVERAGE_POOL_2D.
    pub max: bool,
}

impl Run for Pool2dI16 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary::<i16, i16>(buffers, self.input, self.output, |input, out| {
            if self.max {
                max_pool2d_quant(&self.window, self.channels, input, self.act, out)
            } else {
                average_pool2d_quant(&self.window, self.channels, input, self.act, out)
            }
        })
    }
}

/// int16 SOFTMAX (output scale 1/32768, zero point 0).
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxI16 {
    pub input: usize,
    pub output: usize,
    pub depth: usize,
    pub params: Int16Softmax,
}

impl Run for SoftmaxI16 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary::<i16, i16>(buffers, self.input, self.output, |input, out| {
            softmax_i16(&self.params, self.depth, input, out)
        })
    }
}
