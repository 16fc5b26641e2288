//! Planning QUANTIZE (float32 → int8/uint8/int16, or a rescale between int8 and uint8 tensors) and
//! DEQUANTIZE (int8/uint8/int16 → float32, or a float16 constant → float32, decoded once at planning time as
//! float16 models store their weights).

use super::quant::{rescale, type_range};
use super::{Planner, checked_len, invalid, unsupported};
use crate::error::Result;
use crate::interp::kernels::dequantize::f16_to_f32;
use crate::interp::step::{Dequantize, Quantize, Requantize, Step};
use crate::interp::tensor::Buffer;
use crate::tflite::{Operator, TensorType};

impl Planner<'_> {
    pub(super) fn quantize(&mut self, op: &str, o: &Operator) -> Result<()> {
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let out_i = self.check_output(op, out_t)?;
        let out_type = self.dtype(out_i);
        if type_range(out_type).is_none() {
            return Err(unsupported(op, format!("output type {out_type}")));
        }
        let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
        self.add_work(op, checked_len(&shape).unwrap_or(usize::MAX) as u64)?;
        if out_type == TensorType::Int16 && zp_out != 0 {
            return Err(unsupported(
                op,
                format!("an int16 output with zero point {zp_out} (int16 is symmetric)"),
            ));
        }
        let step = match self.dtype(xi) {
            TensorType::Float32 => {
                let output = self.output(op, out_t, shape)?;
                Step::new(Quantize {
                    input: xa.buffer,
                    output,
                    scale: s_out,
                    zero_point: zp_out,
                })
            }
            TensorType::Int8 | TensorType::UInt8 if out_type != TensorType::Int16 => {
                let (s_in, zp_in) = self.activation_quant(op, xi, "input")?;
                let (multiplier, shift) = rescale(op, s_in, s_out)?;
                let output = self.output(op, out_t, shape)?;
                Step::new(Requantize {
                    input: xa.buffer,
                    output,
                    multiplier,
                    shift,
                    input_zero_point: zp_in,
                    output_zero_point: zp_out,
                })
            }
            other => return Err(unsupported(op, format!("input type {other}"))),
        };
        self.push(step, xa.constant, out_i)
    }

    pub(super) fn dequantize(&mut self, op: &str, o: &Operator) -> Result<()> {
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        if self.dtype(self.tensor_index(op, o.inputs[0])?) == TensorType::Float16 {
            return self.dequantize_f16(op, o.inputs[0], out_t);
        }
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let out_i = self.check_output(op, out_t)?;
        self.expect_dtype(op, out_i, "output", TensorType::Float32)?;
        if type_range(self.dtype(xi)).is_none() {
            return Err(unsupported(op, format!("input type {}", self.dtype(xi))));
        }
        let (scale, zero_point) = self.activation_quant(op, xi, "input")?;
        self.add_work(op, checked_len(&shape).unwrap_or(usize::MAX) as u64)?;
        let output = self.output(op, out_t, shape)?;
        self.push(
            Step::new(Dequantize {
                input: xa.buffer,
                output,
                scale,
                zero_point,
            }),
            xa.constant,
            out_i,
        )
    }

    /// DEQUANTIZE of a float16 constant: its float32 values become a constant of the plan.
    fn dequantize_f16(&mut self, op: &str, input: i32, out_t: i32) -> Result<()> {
        let xi = self.tensor_index(op, input)?;
        let tensor = &self.sg.tensors[xi];
        let Some(data) = self.model.tensor_data(tensor) else {
            return Err(unsupported(op, "float16 tensors computed at run time"));
        };
        let shape = self.declared_shape(op, xi)?;
        let len = checked_len(&shape)
            .ok_or_else(|| invalid(format!("tensor {xi}: shape {shape:?} overflows")))?;
        if len.checked_mul(2) != Some(data.len()) {
            return Err(invalid(format!(
                "float16 tensor {xi} ({}) of shape {shape:?} has {} bytes of data",
                tensor.name,
                data.len()
            )));
        }
        let values: Vec<f32> = data
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect();
        let out_i = self.check_output(op, out_t)?;
        self.expect_dtype(op, out_i, "output", TensorType::Float32)?;
        self.add_work(op, len as u64)?;
        self.constant_output(op, out_i, shape, Buffer::F32(values))
    }
}
