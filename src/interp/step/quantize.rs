//! Prepared QUANTIZE and DEQUANTIZE kernels: float32 → int8/uint8/int16, int8/uint8 → int8/uint8 (a
//! rescale), and int8/uint8/int16 → float32. The storage types are read from the buffers when the step
//! runs.

use super::{Run, unary};
use crate::error::Result;
use crate::interp::kernels::dequantize::dequantize;
use crate::interp::kernels::quantize::{quantize_f32, requantize};
use crate::interp::tensor::Buffer;
use crate::tflite::TensorType;

/// float32 → int8 or uint8 (by the output buffer's type).
#[derive(Clone, Debug, PartialEq)]
pub struct Quantize {
    pub input: usize,
    pub output: usize,
    pub scale: f32,
    pub zero_point: i32,
}

impl Run for Quantize {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let (scale, zero_point) = (self.scale, self.zero_point);
        match buffers.get(self.output).map(Buffer::dtype) {
            Some(TensorType::UInt8) => {
                unary::<f32, u8>(buffers, self.input, self.output, |x, out| {
                    quantize_f32(scale, zero_point, x, out)
                })
            }
            Some(TensorType::Int16) => {
                unary::<f32, i16>(buffers, self.input, self.output, |x, out| {
                    quantize_f32(scale, zero_point, x, out)
                })
            }
            _ => unary::<f32, i8>(buffers, self.input, self.output, |x, out| {
                quantize_f32(scale, zero_point, x, out)
            }),
        }
    }
}

/// int8/uint8 → int8/uint8.
#[derive(Clone, Debug, PartialEq)]
pub struct Requantize {
    pub input: usize,
    pub output: usize,
    pub multiplier: i32,
    pub shift: i32,
    pub input_zero_point: i32,
    pub output_zero_point: i32,
}

impl Run for Requantize {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let (m, s, zi, zo) = (
            self.multiplier,
            self.shift,
            self.input_zero_point,
            self.output_zero_point,
        );
        let (input, output) = (self.input, self.output);
        let in_u8 = matches!(buffers.get(input), Some(Buffer::U8(_)));
        let out_u8 = matches!(buffers.get(output), Some(Buffer::U8(_)));
        match (in_u8, out_u8) {
            (true, true) => unary(buffers, input, output, |x, out| {
                requantize::<u8, u8>(m, s, zi, zo, x, out)
            }),
            (true, false) => unary(buffers, input, output, |x, out| {
                requantize::<u8, i8>(m, s, zi, zo, x, out)
            }),
            (false, true) => unary(buffers, input, output, |x, out| {
                requantize::<i8, u8>(m, s, zi, zo, x, out)
            }),
            (false, false) => unary(buffers, input, output, |x, out| {
                requantize::<i8, i8>(m, s, zi, zo, x, out)
            }),
        }
    }
}

/// int8/uint8 → float32.
#[derive(Clone, Debug, PartialEq)]
pub struct Dequantize {
    pub input: usize,
    pub output: usize,
    pub scale: f32,
    pub zero_point: i32,
}

impl Run for Dequantize {
    fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        let (scale, zero_point) = (self.scale, self.zero_point);
        if matches!(buffers.get(self.input), Some(Buffer::U8(_))) {
            unary(buffers, self.input, self.output, |x, out| {
                dequantize::<u8>(scale, zero_point, x, out)
            })
        } else if matches!(buffers.get(self.input), Some(Buffer::I16(_))) {
            unary(buffers, self.input, self.output, |x, out| {
                dequantize::<i16>(scale, zero_point, x, out)
            })
        } else {
            unary(buffers, self.input, self.output, |x, out| {
                dequantize::<i8>(scale, zero_point, x, out)
            })
        }
    }
}
