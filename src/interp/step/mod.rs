//! A planned operator: a [`Step`] holds one prepared kernel (its tensors as buffer indices and
//! everything precomputed for it: weights as typed vectors, multipliers, geometry, scratch space) and
//! runs it on the interpreter's buffers. The prepared kernels live with their operator family, one file
//! each; adding a kernel adds a type implementing [`Run`] there. This file has the trait and the buffer
//! access they share.

mod conv;
mod depthwise;
mod fully_connected;
mod int16;
mod pool;
mod quantize;
mod shape_ops;
mod softmax;

pub use conv::{
    Conv2dF32, Conv2dF32Fast, Conv2dF32MaxPoolFast, Conv2dF32Optimized, Conv2dHybrid, Conv2dI8,
    Conv2dI8Fast, Conv2dI8MaxPoolFast, ConvHybridScratch,
};
pub use depthwise::{
    DepthwiseConv2dF32, DepthwiseConv2dF32Fast, DepthwiseConv2dF32Optimized, DepthwiseConv2dHybrid,
    DepthwiseConv2dI8, DepthwiseConv2dI8Fast,
};
pub use fully_connected::{
    FullyConnectedF32, FullyConnectedF32Fast, FullyConnectedF32Optimized, FullyConnectedHybrid,
    FullyConnectedHybridFast, FullyConnectedI8, FullyConnectedI8Fast,
};
pub use int16::{
    Conv2dI16, Conv2dI16Fast, DepthwiseConv2dI16, FullyConnectedI16, Pool2dI16, SoftmaxI16,
};
pub use pool::{
    AveragePool2dF32, AveragePool2dF32Fast, AveragePool2dI8, AveragePool2dI8Fast, MaxPool2dF32,
    MaxPool2dF32Fast, MaxPool2dI8, MaxPool2dI8Fast,
};
pub use quantize::{Dequantize, Quantize, Requantize};
pub use shape_ops::{Pack, Shape, StridedSlice};
pub use softmax::{SoftmaxF32, SoftmaxF32Optimized, SoftmaxI8, SoftmaxU8};

use std::any::Any;
use std::fmt::Debug;

use crate::error::{Error, Result};
use crate::interp::tensor::{Buffer, Element};

/// Float clamp bounds of a fused activation.
pub type FloatRange = (f32, f32);
/// Quantized clamp bounds of a fused activation.
pub type QuantRange = (i32, i32);

/// A prepared kernel.
pub trait Run: Any + Debug + Send + Sync + CloneRun {
    /// Execute on the interpreter's buffers. Allocates nothing.
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()>;
}

/// Cloning a prepared kernel behind `Box<dyn Run>`; every `Clone` kernel has it.
pub trait CloneRun {
    fn clone_run(&self) -> Box<dyn Run>;
}

impl<T: Run + Clone> CloneRun for T {
    fn clone_run(&self) -> Box<dyn Run> {
        Box::new(self.clone())
    }
}

/// One planned operator: a prepared kernel.
pub struct Step(Box<dyn Run>);

/// A step shows as its kernel.
impl Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Clone for Step {
    fn clone(&self) -> Step {
        Step(self.0.clone_run())
    }
}

impl Step {
    pub fn new(kernel: impl Run) -> Step {
        Step(Box::new(kernel))
    }

    /// Execute the step on the interpreter's buffers. Allocates nothing.
    pub fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        self.0.run(buffers)
    }

    /// The prepared kernel, if it is a `T`.
    pub fn kernel<T: Run>(&self) -> Option<&T> {
        (self.0.as_ref() as &dyn Any).downcast_ref()
    }

    /// The prepared kernel by value, if it is a `T` (check with [`Step::kernel`] first: otherwise the
    /// step is dropped).
    pub fn into_kernel<T: Run>(self) -> Option<T> {
        let any: Box<dyn Any> = self.0;
        any.downcast().ok().map(|kernel| *kernel)
    }
}

fn missing(index: usize) -> Error {
    Error::InvalidModel(format!(
        "internal: buffer {index} is missing or has the wrong type"
    ))
}

/// A typed view of buffer `index`.
fn get<T: Element>(buffers: &[Buffer], index: usize) -> Result<&[T]> {
    buffers
        .get(index)
        .and_then(T::slice)
        .ok_or_else(|| missing(index))
}

/// Run `f` with the other buffers readable and the output buffer writable as `&mut [T]`. The output is
/// moved out (`mem::take` leaves an empty, unallocated buffer) and put back afterwards, so inputs and
/// output can be borrowed at once without copying or `unsafe`. Plans never make an op read its own
/// output.
fn with_output<T: Element>(
    buffers: &mut [Buffer],
    output: usize,
    f: impl FnOnce(&[Buffer], &mut [T]) -> Result<()>,
) -> Result<()> {
    let mut out = std::mem::take(buffers.get_mut(output).ok_or_else(|| missing(output))?);
    let result = match T::slice_mut(&mut out) {
        Some(o) => f(buffers, o),
        None => Err(missing(output)),
    };
    buffers[output] = out;
    result
}

/// Run `f` on buffer `input` read as `&[I]` and buffer `output` written as `&mut [O]`.
fn unary<I: Element, O: Element>(
    buffers: &mut [Buffer],
    input: usize,
    output: usize,
    f: impl FnOnce(&[I], &mut [O]) -> Result<()>,
) -> Result<()> {
    with_output::<O>(buffers, output, |b, out| f(get(b, input)?, out))
}
