//! Planning QUANTIZE (float32 → int8/uint8, or a rescale between int8 and uint8 tensors) and
//! DEQUANTIZE (int8/uint8 → float32).

use super::quant::{rescale, type_range};
use super::{Planner, checked_len, invalid, unsupported};
use crate::error::Result;
use crate::interp::step::{Dequantize, Quantize, Requantize, Step};
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
            TensorType::Int8 | TensorType::UInt8 => {
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
}
