//! Planning SOFTMAX: float32 (reference or TF's calibrator arithmetic), int8 (whose output must be
//! TFLite's fixed 1/256 scale and −128 zero point) and uint8, along the last dimension.

use super::{Planner, checked_len, invalid, shape_mismatch, unsupported};
use crate::error::Result;
use crate::interp::kernels::int16::Int16Softmax;
use crate::interp::kernels::softmax::SoftmaxQuant;
use crate::interp::step::{
    SoftmaxF32, SoftmaxF32Optimized, SoftmaxI8, SoftmaxI16, SoftmaxU8, Step,
};
use crate::tflite::{Operator, Options, TensorType};

impl Planner<'_> {
    pub(super) fn softmax(&mut self, op: &str, o: &Operator) -> Result<()> {
        let beta = match &o.options {
            Options::Softmax { beta } => *beta,
            Options::None => 0.0,
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let Some(&depth) = shape.last() else {
            return Err(shape_mismatch(op, "an input of rank ≥ 1", &shape));
        };
        let out_i = self.check_output(op, out_t)?;
        self.add_work(op, checked_len(&shape).unwrap_or(usize::MAX) as u64)?;
        let step = match (self.dtype(xi), self.dtype(out_i)) {
            (TensorType::Float32, TensorType::Float32) => {
                if !beta.is_finite() {
                    return Err(invalid(format!("{op}: beta {beta}")));
                }
                let output = self.output(op, out_t, shape)?;
                if self.config.tf_calibrator() {
                    Step::new(SoftmaxF32Optimized {
                        input: xa.buffer,
                        output,
                        depth,
                        beta,
                    })
                } else {
                    Step::new(SoftmaxF32 {
                        input: xa.buffer,
                        output,
                        depth,
                        beta,
                    })
                }
            }
            (TensorType::Int8, TensorType::Int8) => {
                let (s_in, _) = self.activation_quant(op, xi, "input")?;
                let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
                // SoftmaxPrepare: zero point −128 and scale 1/256 (±0.1 %).
                if zp_out != -128 || (s_out - 1.0 / 256.0).abs() > 0.001 / 256.0 {
                    return Err(unsupported(
                        op,
                        format!(
                            "int8 output scale {s_out} / zero point {zp_out} (must be 1/256, −128)"
                        ),
                    ));
                }
                let quant = SoftmaxQuant::new(beta, s_in)?;
                let output = self.output(op, out_t, shape)?;
                Step::new(SoftmaxI8 {
                    input: xa.buffer,
                    output,
                    depth,
                    quant,
                })
            }
            (TensorType::UInt8, TensorType::UInt8) => {
                let (s_in, _) = self.activation_quant(op, xi, "input")?;
                let quant = SoftmaxQuant::new(beta, s_in)?;
                let output = self.output(op, out_t, shape)?;
                Step::new(SoftmaxU8 {
                    input: xa.buffer,
                    output,
                    depth,
                    quant,
                })
            }
            (TensorType::Int16, TensorType::Int16) => {
                self.symmetric_int16(op, &[xi, out_i])?;
                let (s_in, _) = self.activation_quant(op, xi, "input")?;
                let params = Int16Softmax::new(s_in, beta)?;
                let output = self.output(op, out_t, shape)?;
                Step::new(SoftmaxI16 {
                    input: xa.buffer,
                    output,
                    depth,
                    params,
                })
            }
            other => return Err(unsupported(op, format!("input/output types {other:?}"))),
        };
        self.push(step, xa.constant, out_i)
    }
}
