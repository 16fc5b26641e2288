//! Prepared MAX_POOL_2D and AVERAGE_POOL_2D kernels, float32 and int8, reference and fast: the
//! window, the channel count and the fused activation's clamp range (and the fast int8 average's
//! per-channel sums).

use super::{FloatRange, QuantRange, Run, unary};
use crate::error::Result;
use crate::interp::kernels::average_pool2d::{
    average_pool2d_f32, average_pool2d_f32_fast, average_pool2d_i8_fast, average_pool2d_quant,
};
use crate::interp::kernels::max_pool2d::{
    max_pool2d_f32, max_pool2d_f32_fast, max_pool2d_i8_fast, max_pool2d_quant,
};
use crate::interp::kernels::window::Window;
use crate::interp::tensor::Buffer;

/// float32 MAX_POOL_2D, reference kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPool2dF32 {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: FloatRange,
}

impl Run for MaxPool2dF32 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            max_pool2d_f32(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// int8 MAX_POOL_2D, reference kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPool2dI8 {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: QuantRange,
}

impl Run for MaxPool2dI8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary::<i8, i8>(buffers, self.input, self.output, |input, out| {
            max_pool2d_quant(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// float32 AVERAGE_POOL_2D, reference kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct AveragePool2dF32 {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: FloatRange,
}

impl Run for AveragePool2dF32 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            average_pool2d_f32(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// int8 AVERAGE_POOL_2D, reference kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct AveragePool2dI8 {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: QuantRange,
}

impl Run for AveragePool2dI8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary::<i8, i8>(buffers, self.input, self.output, |input, out| {
            average_pool2d_quant(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// float32 MAX_POOL_2D, fast kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPool2dF32Fast {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: FloatRange,
}

impl Run for MaxPool2dF32Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            max_pool2d_f32_fast(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// int8 MAX_POOL_2D, fast kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPool2dI8Fast {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: QuantRange,
}

impl Run for MaxPool2dI8Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            max_pool2d_i8_fast(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// float32 AVERAGE_POOL_2D, fast kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct AveragePool2dF32Fast {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: FloatRange,
}

impl Run for AveragePool2dF32Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            average_pool2d_f32_fast(&self.window, self.channels, input, self.act, out)
        })
    }
}

/// int8 AVERAGE_POOL_2D, fast kernel with per-channel sums.
#[derive(Clone, Debug, PartialEq)]
pub struct AveragePool2dI8Fast {
    pub input: usize,
    pub output: usize,
    pub window: Window,
    pub channels: usize,
    pub act: QuantRange,
    pub sums: Vec<i32>,
}

impl Run for AveragePool2dI8Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            average_pool2d_i8_fast(
                &self.window,
                self.channels,
                input,
                self.act,
                &mut self.sums,
                out,
            )
        })
    }
}
