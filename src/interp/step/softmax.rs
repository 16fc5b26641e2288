//! Prepared SOFTMAX kernels along the last dimension (`depth` values per row): float32 reference,
//! float32 in TF's calibrator arithmetic, and int8 / uint8 with their fixed-point parameters.

use super::{Run, unary};
use crate::error::Result;
use crate::interp::kernels::optimized_f32::softmax_f32_optimized;
use crate::interp::kernels::softmax::{SoftmaxQuant, softmax_f32, softmax_quantized};
use crate::interp::tensor::Buffer;

#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxF32 {
    pub input: usize,
    pub output: usize,
    pub depth: usize,
    pub beta: f32,
}

impl Run for SoftmaxF32 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            softmax_f32(self.depth, self.beta, input, out)
        })
    }
}

/// float32 in the arithmetic of TFLite's optimized kernels as TF's calibrator runs them.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxF32Optimized {
    pub input: usize,
    pub output: usize,
    pub depth: usize,
    pub beta: f32,
}

impl Run for SoftmaxF32Optimized {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            softmax_f32_optimized(self.depth, self.beta, input, out)
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxI8 {
    pub input: usize,
    pub output: usize,
    pub depth: usize,
    pub quant: SoftmaxQuant,
}

impl Run for SoftmaxI8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary::<i8, i8>(buffers, self.input, self.output, |input, out| {
            softmax_quantized(self.depth, &self.quant, input, out)
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxU8 {
    pub input: usize,
    pub output: usize,
    pub depth: usize,
    pub quant: SoftmaxQuant,
}

impl Run for SoftmaxU8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary::<u8, u8>(buffers, self.input, self.output, |input, out| {
            softmax_quantized(self.depth, &self.quant, input, out)
        })
    }
}
