//! Planning the shape plumbing TF emits around Keras Reshape/Flatten: RESHAPE (the output shares its
//! input's buffer), SHAPE (always folded: shapes are static), STRIDED_SLICE and PACK. With constant
//! inputs the planner folds them, so a SHAPE → STRIDED_SLICE → PACK → RESHAPE chain leaves no step.

use super::{Planner, checked_len, invalid, shape_mismatch, unsupported};
use crate::error::Result;
use crate::interp::kernels::pack::pack_output_shape;
use crate::interp::kernels::reshape::reshape_output_shape;
use crate::interp::kernels::strided_slice::{StridedSlicePlan, StridedSliceSpec};
use crate::interp::step::{Pack, Shape, Step, StridedSlice};
use crate::tflite::{Operator, Options, TensorType};

impl Planner<'_> {
    pub(super) fn reshape(&mut self, op: &str, o: &Operator) -> Result<()> {
        if !(1..=2).contains(&o.inputs.len()) {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1 or 2",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape_input = self.optional_input(op, &o.inputs, 1)?;
        // The shape comes from input 1 if it is a 1-D int32 tensor, else from the options.
        let new_shape: Vec<i32> = match shape_input {
            Some((si, sa)) if self.dtype(si) == TensorType::Int32 && self.shape(si).len() == 1 => {
                self.const_data::<i32>(op, sa, "shape")?
            }
            _ => match &o.options {
                Options::Reshape { new_shape } if new_shape.len() == 1 && new_shape[0] == 0 => {
                    Vec::new()
                }
                Options::Reshape { new_shape } => new_shape.clone(),
                _ => {
                    return Err(invalid(format!(
                        "{op} has neither a 1-D int32 shape input nor ReshapeOptions"
                    )));
                }
            },
        };
        let in_len = checked_len(self.shape(xi)).unwrap_or(usize::MAX);
        let out_shape = reshape_output_shape(in_len, &new_shape)?;
        let out_i = self.check_output(op, out_t)?;
        if self.dtype(out_i) != self.dtype(xi) {
            return Err(unsupported(
                op,
                format!(
                    "output type {} differs from input type {}",
                    self.dtype(out_i),
                    self.dtype(xi)
                ),
            ));
        }
        // Same data, new shape: share the buffer.
        self.alias_output(op, out_t, xa, out_shape)
    }

    pub(super) fn shape_op(&mut self, op: &str, o: &Operator) -> Result<()> {
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, _) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let out_i = self.check_output(op, out_t)?;
        if !matches!(self.dtype(out_i), TensorType::Int32 | TensorType::Int64) {
            return Err(unsupported(
                op,
                format!("output type {}", self.dtype(out_i)),
            ));
        }
        let output = self.output(op, out_t, vec![shape.len()])?;
        // Shapes are static, so SHAPE is always folded.
        self.push(Step::new(Shape { output, shape }), true, out_i)
    }

    pub(super) fn strided_slice(&mut self, op: &str, o: &Operator) -> Result<()> {
        let opts = match &o.options {
            Options::StridedSlice(s) => s.clone(),
            Options::None => Default::default(),
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if opts.offset {
            return Err(unsupported(op, "offset = true"));
        }
        if o.inputs.len() != 4 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 4",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let mut idx = Vec::with_capacity(3);
        for (k, what) in [(1, "begin"), (2, "end"), (3, "strides")] {
            let (ti, ta) = self.required_input(op, &o.inputs, k)?;
            self.expect_dtype(op, ti, what, TensorType::Int32)?;
            if self.shape(ti).len() != 1 {
                return Err(shape_mismatch(op, format!("a 1-D {what}"), self.shape(ti)));
            }
            idx.push(self.const_data::<i32>(op, ta, what)?);
        }
        let spec = StridedSliceSpec {
            begin: idx[0].clone(),
            end: idx[1].clone(),
            strides: idx[2].clone(),
            begin_mask: opts.begin_mask as u32,
            end_mask: opts.end_mask as u32,
            ellipsis_mask: opts.ellipsis_mask as u32,
            new_axis_mask: opts.new_axis_mask as u32,
            shrink_axis_mask: opts.shrink_axis_mask as u32,
        };
        let plan = StridedSlicePlan::new(&spec, self.shape(xi))?;
        let out_i = self.check_output(op, out_t)?;
        if self.dtype(out_i) != self.dtype(xi) {
            return Err(unsupported(
                op,
                format!(
                    "output type {} differs from input type {}",
                    self.dtype(out_i),
                    self.dtype(xi)
                ),
            ));
        }
        self.add_work(op, plan.output_len() as u64)?;
        let output = self.output(op, out_t, plan.output_shape.clone())?;
        self.push(
            Step::new(StridedSlice {
                input: xa.buffer,
                output,
                plan,
            }),
            xa.constant,
            out_i,
        )
    }

    pub(super) fn pack(&mut self, op: &str, o: &Operator) -> Result<()> {
        let (values_count, axis) = match &o.options {
            Options::Pack { values_count, axis } => (*values_count, *axis),
            Options::None => (o.inputs.len() as i32, 0),
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if o.inputs.is_empty() || values_count as i64 != o.inputs.len() as i64 {
            return Err(invalid(format!(
                "{op}: values_count {values_count} but {} inputs",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let mut inputs = Vec::with_capacity(o.inputs.len());
        let mut all_constant = true;
        let (first, _) = self.required_input(op, &o.inputs, 0)?;
        let (shape, dtype) = (self.shape(first).to_vec(), self.dtype(first));
        for k in 0..o.inputs.len() {
            let (i, a) = self.required_input(op, &o.inputs, k)?;
            if self.shape(i) != shape.as_slice() || self.dtype(i) != dtype {
                return Err(shape_mismatch(
                    op,
                    format!("inputs of one shape {shape:?} and type {dtype}"),
                    self.shape(i),
                ));
            }
            all_constant &= a.constant;
            inputs.push(a.buffer);
        }
        let rank = shape.len() as i64;
        let axis = if axis < 0 {
            axis as i64 + rank + 1
        } else {
            axis as i64
        };
        if !(0..=rank).contains(&axis) {
            return Err(invalid(format!(
                "{op}: axis {axis} out of range for rank {rank}"
            )));
        }
        let axis = axis as usize;
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis..].iter().product();
        let out_shape = pack_output_shape(&shape, inputs.len(), axis);
        let out_i = self.check_output(op, out_t)?;
        if self.dtype(out_i) != dtype {
            return Err(unsupported(
                op,
                format!(
                    "output type {} differs from input type {dtype}",
                    self.dtype(out_i)
                ),
            ));
        }
        self.add_work(op, checked_len(&out_shape).unwrap_or(usize::MAX) as u64)?;
        let output = self.output(op, out_t, out_shape)?;
        self.push(
            Step::new(Pack {
                inputs,
                output,
                outer,
                inner,
            }),
            all_constant,
            out_i,
        )
    }
}
