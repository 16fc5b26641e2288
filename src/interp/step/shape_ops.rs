//! Prepared SHAPE, STRIDED_SLICE and PACK kernels. They move elements without arithmetic, so one
//! step serves every element type: the type is read from the buffers when the step runs (int32 when
//! it is none of the others).

use super::{Run, unary, with_output};
use crate::error::Result;
use crate::interp::kernels::pack::pack_one;
use crate::interp::kernels::shape::{shape_i32, shape_i64};
use crate::interp::kernels::strided_slice::{StridedSlicePlan, strided_slice};
use crate::interp::tensor::{Buffer, Element};
use crate::tflite::TensorType;

/// The input's static shape, as int32 or int64.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub output: usize,
    pub shape: Vec<usize>,
}

impl Run for Shape {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let shape = &self.shape;
        match buffers.get(self.output) {
            Some(Buffer::I64(_)) => {
                with_output::<i64>(buffers, self.output, |_, out| shape_i64(shape, out))
            }
            _ => with_output::<i32>(buffers, self.output, |_, out| shape_i32(shape, out)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StridedSlice {
    pub input: usize,
    pub output: usize,
    pub plan: StridedSlicePlan,
}

impl Run for StridedSlice {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        fn slice<T: Element>(buffers: &mut [Buffer], s: &StridedSlice) -> Result<()> {
            unary::<T, T>(buffers, s.input, s.output, |x, out| {
                strided_slice(&s.plan, x, out)
            })
        }
        match buffers.get(self.input).map(Buffer::dtype) {
            Some(TensorType::Float32) => slice::<f32>(buffers, self),
            Some(TensorType::Int8) => slice::<i8>(buffers, self),
            Some(TensorType::UInt8) => slice::<u8>(buffers, self),
            Some(TensorType::Int64) => slice::<i64>(buffers, self),
            _ => slice::<i32>(buffers, self),
        }
    }
}

/// `inputs` (all of one shape) stacked along a new axis: `outer` blocks of `inner` elements each.
#[derive(Clone, Debug, PartialEq)]
pub struct Pack {
    pub inputs: Vec<usize>,
    pub output: usize,
    pub outer: usize,
    pub inner: usize,
}

impl Run for Pack {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        fn pack<T: Element>(
            buffers: &mut [Buffer],
            p: &Pack,
            index: usize,
            input: usize,
        ) -> Result<()> {
            unary::<T, T>(buffers, input, p.output, |x, out| {
                pack_one(p.outer, p.inner, p.inputs.len(), index, x, out)
            })
        }
        for (index, &input) in self.inputs.iter().enumerate() {
            match buffers.get(self.output).map(Buffer::dtype) {
                Some(TensorType::Float32) => pack::<f32>(buffers, self, index, input)?,
                Some(TensorType::Int8) => pack::<i8>(buffers, self, index, input)?,
                Some(TensorType::UInt8) => pack::<u8>(buffers, self, index, input)?,
                Some(TensorType::Int64) => pack::<i64>(buffers, self, index, input)?,
                _ => pack::<i32>(buffers, self, index, input)?,
            }
        }
        Ok(())
    }
}
