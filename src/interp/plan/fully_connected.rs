//! Planning FULLY_CONNECTED: the weights `[units, depth]` and the batch the input's size gives, the
//! output shape (`keep_num_dims` or `[batches, units]`), then per input/weights/output types the kernel
//! (TF's calibrator arithmetic, fast or reference float32; int8 in the chosen requantization; hybrid
//! with LiteRT's row sums) with its weights, bias and quantization prepared.

use super::quant::WeightQuant;
use super::{Planner, checked_len, invalid, shape_mismatch, unsupported};
use crate::error::Result;
use crate::interp::kernels::activation::float_range;
use crate::interp::kernels::fully_connected::{
    FcF32Fast, FcHybridFast, FcI8Fast, FcShape, HybridScratch, HybridWeights, litert_row_sum,
};
use crate::interp::options::FcRequant;
use crate::interp::step::{
    FullyConnectedF32, FullyConnectedF32Fast, FullyConnectedF32Optimized, FullyConnectedHybrid,
    FullyConnectedHybridFast, FullyConnectedI8, FullyConnectedI8Fast, FullyConnectedI16, Step,
};
use crate::tflite::{Operator, Options, TensorType};

impl Planner<'_> {
    pub(super) fn fully_connected(&mut self, op: &str, o: &Operator) -> Result<()> {
        let opts = match &o.options {
            Options::FullyConnected(f) => f.clone(),
            Options::None => Default::default(),
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if opts.weights_format != 0 {
            return Err(unsupported(
                op,
                format!("weights format {}", opts.weights_format),
            ));
        }
        if !(2..=3).contains(&o.inputs.len()) {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 2 or 3",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let (wi, wa) = self.required_input(op, &o.inputs, 1)?;
        let bias = self.optional_input(op, &o.inputs, 2)?;
        let (in_shape, w_shape) = (self.shape(xi).to_vec(), self.shape(wi).to_vec());
        let [units, depth] = w_shape[..] else {
            return Err(shape_mismatch(op, "2-D weights [units, depth]", &w_shape));
        };
        let in_len = checked_len(&in_shape).unwrap_or(usize::MAX);
        if depth == 0 || units == 0 || !in_len.is_multiple_of(depth) {
            return Err(shape_mismatch(
                op,
                format!("an input whose size is a multiple of the depth {depth}"),
                &in_shape,
            ));
        }
        let batches = in_len / depth;
        let out_shape = if opts.keep_num_dims {
            if in_shape.last() != Some(&depth) {
                return Err(shape_mismatch(
                    op,
                    format!("a last input dimension of {depth} (keep_num_dims)"),
                    &in_shape,
                ));
            }
            let mut s = in_shape.clone();
            if let Some(last) = s.last_mut() {
                *last = units;
            }
            s
        } else {
            vec![batches, units]
        };
        if let Some((bi, _)) = bias
            && checked_len(self.shape(bi)) != Some(units)
        {
            return Err(shape_mismatch(
                op,
                format!("a bias of {units} elements"),
                self.shape(bi),
            ));
        }
        let out_i = self.check_output(op, out_t)?;
        self.add_work(
            op,
            (batches as u64)
                .saturating_mul(units as u64)
                .saturating_mul(depth as u64),
        )?;
        let shape = FcShape {
            batches,
            depth,
            units,
        };
        let foldable = xa.constant;
        let step = match (self.dtype(xi), self.dtype(wi), self.dtype(out_i)) {
            (TensorType::Float32, TensorType::Float32, TensorType::Float32) => {
                let weights = self.const_data::<f32>(op, wa, "weights")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let act = float_range(op, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                if self.config.tf_calibrator() {
                    let step = Step::new(FullyConnectedF32Optimized {
                        input: xa.buffer,
                        output,
                        shape,
                        weights,
                        bias,
                        act,
                    });
                    return self.push(step, foldable, out_i);
                }
                match self
                    .config
                    .fast_kernels()
                    .then(|| FcF32Fast::new(shape, &weights, bias.as_deref(), act))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(FullyConnectedF32Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => Step::new(FullyConnectedF32 {
                        input: xa.buffer,
                        output,
                        shape,
                        weights,
                        bias,
                        act,
                    }),
                }
            }
            (TensorType::Int8, TensorType::Int8, TensorType::Int8) => {
                let weights = self.const_data::<i8>(op, wa, "weights")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<i32>(op, ba, "bias"))
                    .transpose()?;
                let quant = self.fc_quant(op, xi, wi, out_i, units, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                let fixed_point = self.config.options.fc_requant == FcRequant::FixedPoint;
                match self
                    .config
                    .fast_kernels()
                    .then(|| FcI8Fast::new(shape, &quant, &weights, bias.as_deref(), fixed_point))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(FullyConnectedI8Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => Step::new(FullyConnectedI8 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        weights,
                        bias,
                        requant: self.config.options.fc_requant,
                    }),
                }
            }
            (TensorType::Int16, TensorType::Int8, TensorType::Int16) => {
                let weights = self.const_data::<i8>(op, wa, "weights")?;
                let bias = self.int16_bias(op, bias)?;
                self.symmetric_int16(op, &[xi, out_i])?;
                let quant = self.fc_quant(op, xi, wi, out_i, units, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                Step::new(FullyConnectedI16 {
                    input: xa.buffer,
                    output,
                    shape,
                    quant,
                    weights,
                    bias,
                })
            }
            (TensorType::Float32, TensorType::Int8, TensorType::Float32) => {
                let weights = self.const_data::<i8>(op, wa, "weights")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let WeightQuant {
                    scales, per_axis, ..
                } = self.weight_quant(op, wi, 0, units)?;
                let act = float_range(op, opts.fused_activation)?;
                let row_sums = weights.chunks_exact(depth).map(litert_row_sum).collect();
                let hybrid = HybridWeights {
                    weights,
                    scale: scales[0],
                    per_channel_scale: per_axis.then_some(scales),
                    row_sums,
                    asymmetric: opts.asymmetric_quantize_inputs,
                };
                let output = self.output(op, out_t, out_shape)?;
                match self
                    .config
                    .fast_kernels()
                    .then(|| FcHybridFast::new(shape, &hybrid, bias.as_deref(), act))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(FullyConnectedHybridFast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => {
                        let scratch = HybridScratch::new(batches, in_len);
                        Step::new(FullyConnectedHybrid {
                            input: xa.buffer,
                            output,
                            shape,
                            weights: hybrid,
                            bias,
                            act,
                            scratch,
                        })
                    }
                }
            }
            other => {
                return Err(unsupported(
                    op,
                    format!("input/weights/output types {other:?}"),
                ));
            }
        };
        self.push(step, foldable, out_i)
    }
}
