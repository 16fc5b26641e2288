//! Prepared FULLY_CONNECTED kernels: float32 reference, int8 in either requantization, hybrid (float
//! input, int8 weights), their fast kernels, and float32 in TF's calibrator arithmetic.

use super::{FloatRange, Run, unary};
use crate::error::Result;
use crate::interp::kernels::fully_connected::{
    FcF32Fast, FcFastScratch, FcHybridFast, FcI8Fast, FcQuant, FcShape, HybridScratch,
    HybridWeights, fully_connected_f32, fully_connected_f32_fast, fully_connected_hybrid,
    fully_connected_hybrid_fast, fully_connected_i8, fully_connected_i8_fast,
    fully_connected_i8_fixed_point,
};
use crate::interp::kernels::optimized_f32::fully_connected_f32_optimized;
use crate::interp::options::FcRequant;
use crate::interp::tensor::Buffer;

#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedF32 {
    pub input: usize,
    pub output: usize,
    pub shape: FcShape,
    pub weights: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
}

impl Run for FullyConnectedF32 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            fully_connected_f32(
                self.shape,
                input,
                &self.weights,
                self.bias.as_deref(),
                self.act,
                out,
            )
        })
    }
}

/// int8 reference kernel in the requantization `requant` names.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedI8 {
    pub input: usize,
    pub output: usize,
    pub shape: FcShape,
    pub quant: FcQuant,
    pub weights: Vec<i8>,
    pub bias: Option<Vec<i32>>,
    pub requant: FcRequant,
}

impl Run for FullyConnectedI8 {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let bias = self.bias.as_deref();
        unary(buffers, self.input, self.output, |input, out| {
            match self.requant {
                FcRequant::Double => {
                    fully_connected_i8(self.shape, &self.quant, input, &self.weights, bias, out)
                }
                FcRequant::FixedPoint => fully_connected_i8_fixed_point(
                    self.shape,
                    &self.quant,
                    input,
                    &self.weights,
                    bias,
                    out,
                ),
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedHybrid {
    pub input: usize,
    pub output: usize,
    pub shape: FcShape,
    pub weights: HybridWeights,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
    pub scratch: HybridScratch,
}

impl Run for FullyConnectedHybrid {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            fully_connected_hybrid(
                self.shape,
                &self.weights,
                input,
                self.bias.as_deref(),
                self.act,
                &mut self.scratch,
                out,
            )
        })
    }
}

/// Fast float32 kernel (bit-identical to the reference one; see `kernels::fully_connected`).
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedF32Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<FcF32Fast>,
    pub scratch: FcFastScratch,
}

impl Run for FullyConnectedF32Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            fully_connected_f32_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// Fast int8 kernel, in the requantization it was prepared for.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedI8Fast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<FcI8Fast>,
    pub scratch: FcFastScratch,
}

impl Run for FullyConnectedI8Fast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            fully_connected_i8_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// Fast hybrid kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedHybridFast {
    pub input: usize,
    pub output: usize,
    pub kernel: Box<FcHybridFast>,
    pub scratch: FcFastScratch,
}

impl Run for FullyConnectedHybridFast {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            fully_connected_hybrid_fast(&self.kernel, input, &mut self.scratch, out)
        })
    }
}

/// float32 in the arithmetic of TFLite's optimized kernels as TF's calibrator runs them.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedF32Optimized {
    pub input: usize,
    pub output: usize,
    pub shape: FcShape,
    pub weights: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: FloatRange,
}

impl Run for FullyConnectedF32Optimized {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        unary(buffers, self.input, self.output, |input, out| {
            fully_connected_f32_optimized(
                &self.shape,
                input,
                &self.weights,
                self.bias.as_deref(),
                self.act,
                out,
            )
        })
    }
}
