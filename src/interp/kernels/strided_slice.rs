//! STRIDED_SLICE with begin/end/strides known when the model is planned.
//!
//! Facts from `tflite/kernels/strided_slice.cc` (`BuildStridedSliceParams`, `ResizeOutputTensor`) and
//! `reference/strided_slice.h` (`StartForAxis`, `EndForAxis`): the ellipsis and new-axis masks are first
//! folded into an "effective" input shape (new axes become size-1 dims, the ellipsis expands to full
//! ranges); then per axis, negative indices count from the end, begin/end are clamped (to
//! `[0, size]` going forward, `[−1, size − 1]` going backward), the begin/end masks select the whole
//! axis, and a shrunk axis keeps exactly one element and disappears from the output shape.
//!
//! TF emits `STRIDED_SLICE(shape, [0], [1], [1], shrink_axis_mask=1)` to take the batch size before
//! every Keras Reshape/Flatten.

use crate::error::{Error, Result};

/// The op's parameters (tensor inputs 1–3 and `StridedSliceOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StridedSliceSpec {
    pub begin: Vec<i32>,
    pub end: Vec<i32>,
    pub strides: Vec<i32>,
    pub begin_mask: u32,
    pub end_mask: u32,
    pub ellipsis_mask: u32,
    pub new_axis_mask: u32,
    pub shrink_axis_mask: u32,
}

/// A planned slice: per effective axis, the first index, the stop (exclusive, in the direction of the
/// stride) and the stride; plus the output shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StridedSlicePlan {
    /// Element strides of the effective input shape.
    input_strides: Vec<i64>,
    starts: Vec<i64>,
    stops: Vec<i64>,
    steps: Vec<i64>,
    pub output_shape: Vec<usize>,
}

fn bit(mask: u32, i: usize) -> bool {
    i < 32 && mask & (1u32 << i) != 0
}

impl StridedSlicePlan {
    /// Plan the slice of an input of `input_shape`.
    pub fn new(spec: &StridedSliceSpec, input_shape: &[usize]) -> Result<StridedSlicePlan> {
        let bad = |what: String| Error::InvalidModel(format!("STRIDED_SLICE: {what}"));
        let begin_count = spec.begin.len();
        if spec.end.len() != begin_count || spec.strides.len() != begin_count {
            return Err(bad(format!(
                "begin, end and strides have {}, {} and {} elements",
                begin_count,
                spec.end.len(),
                spec.strides.len()
            )));
        }
        if begin_count > 31 {
            return Err(bad(format!("{begin_count} indices (at most 31)")));
        }
        let input_dims = input_shape.len();
        let num_add_axis = (0..begin_count)
            .filter(|&i| !bit(spec.ellipsis_mask, i) && bit(spec.new_axis_mask, i))
            .count();
        let effective_dims = input_dims + num_add_axis;
        if effective_dims > 32 {
            return Err(bad(format!("{effective_dims} dimensions after adding new axes")));
        }

        // Effective ellipsis and new-axis masks (TFLite's first loop, kept index for index).
        let (mut effective_ellipsis, mut effective_new_axis) = (0u32, 0u32);
        let (mut ellipsis_start_idx, mut expanded_ellipsis) = (effective_dims, 0usize);
        let mut i = 0;
        while i < effective_dims {
            if bit(spec.ellipsis_mask, i) {
                ellipsis_start_idx = i;
                let wanted = (i + 1 + num_add_axis + input_dims) as i64 - begin_count as i64;
                let ellipsis_end_idx = (i as i64 + 1).max(wanted.min(effective_dims as i64)) as usize;
                expanded_ellipsis = ellipsis_end_idx - ellipsis_start_idx - 1;
                while i < ellipsis_end_idx {
                    effective_ellipsis |= 1 << i;
                    i += 1;
                }
                continue;
            }
            if i >= expanded_ellipsis && bit(spec.new_axis_mask, i - expanded_ellipsis) {
                effective_new_axis |= 1 << i;
            }
            i += 1;
        }

        // Effective shape, indices and masks.
        let mut shape = vec![0usize; effective_dims];
        let mut start_idx = vec![0i64; effective_dims];
        let mut stop_idx = vec![0i64; effective_dims];
        let mut steps = vec![1i64; effective_dims];
        let (mut begin_mask, mut end_mask, mut shrink_mask) = (0u32, 0u32, 0u32);
        let (mut added_ellipsis, mut added_axes) = (0usize, 0usize);
        let input_dim = |i: usize, added: usize| -> Result<usize> {
            i.checked_sub(added)
                .and_then(|j| input_shape.get(j).copied())
                .ok_or_else(|| bad(format!("masks do not fit a rank-{input_dims} input")))
        };
        for i in 0..effective_dims {
            if bit(effective_ellipsis, i) {
                added_ellipsis = i.saturating_sub(ellipsis_start_idx);
                begin_mask |= 1 << i;
                end_mask |= 1 << i;
                shape[i] = input_dim(i, added_axes)?;
            } else if bit(effective_new_axis, i) {
                stop_idx[i] = 1;
                shape[i] = 1;
                added_axes += 1;
            } else if i >= begin_count + expanded_ellipsis {
                begin_mask |= 1 << i;
                end_mask |= 1 << i;
                shape[i] = input_dim(i, added_axes)?;
            } else {
                let orig = i
                    .checked_sub(added_ellipsis)
                    .filter(|&o| o < begin_count)
                    .ok_or_else(|| bad("masks do not fit the indices".into()))?;
                start_idx[i] = spec.begin[orig] as i64;
                stop_idx[i] = spec.end[orig] as i64;
                steps[i] = spec.strides[orig] as i64;
                if bit(spec.begin_mask, orig) {
                    begin_mask |= 1 << i;
                }
                if bit(spec.end_mask, orig) {
                    end_mask |= 1 << i;
                }
                if bit(spec.shrink_axis_mask, orig) {
                    shrink_mask |= 1 << i;
                }
                shape[i] = input_dim(i, added_axes)?;
            }
        }

        // Per-axis start/stop and the output shape.
        let mut starts = vec![0i64; effective_dims];
        let mut stops = vec![0i64; effective_dims];
        let mut output_shape = Vec::new();
        for axis in 0..effective_dims {
            let stride = steps[axis];
            if stride == 0 {
                return Err(bad("stride 0".into()));
            }
            let size = shape[axis] as i64;
            // StartForAxis
            let mut start = start_idx[axis];
            if start < 0 {
                start += size;
            }
            start = if stride > 0 { start.clamp(0, size) } else { start.clamp(-1, size - 1) };
            if bit(begin_mask, axis) {
                start = if stride > 0 { 0 } else { size - 1 };
            }
            // EndForAxis
            let stop = if bit(shrink_mask, axis) {
                if start >= size || start < 0 {
                    return Err(bad(format!("index {} out of range for a shrunk axis of size {size}", start_idx[axis])));
                }
                start + 1
            } else {
                let mut end = stop_idx[axis];
                if end < 0 {
                    end += size;
                }
                end = if stride > 0 { end.clamp(0, size) } else { end.clamp(-1, size - 1) };
                if bit(end_mask, axis) {
                    end = if stride > 0 { size } else { -1 };
                }
                end
            };
            starts[axis] = start;
            stops[axis] = stop;
            if bit(shrink_mask, axis) {
                continue;
            }
            let span = stop - start;
            let dim = if (span < 0) != (stride < 0) {
                0
            } else if stride < 0 {
                (span + 1) / stride + 1
            } else if span == 0 {
                0
            } else {
                (span - 1) / stride + 1
            };
            output_shape.push(dim.max(0) as usize);
        }

        let mut input_strides = vec![1i64; effective_dims];
        for axis in (0..effective_dims.saturating_sub(1)).rev() {
            input_strides[axis] = input_strides[axis + 1] * shape[axis + 1] as i64;
        }
        Ok(StridedSlicePlan {
            input_strides,
            starts,
            stops,
            steps,
            output_shape,
        })
    }

    /// Number of output elements.
    pub fn output_len(&self) -> usize {
        self.output_shape.iter().product()
    }
}

/// Gather the slice (reference `StridedSlice`, walking axes outermost first).
pub fn strided_slice<T: Copy>(plan: &StridedSlicePlan, input: &[T], output: &mut [T]) -> Result<()> {
    super::check_len("STRIDED_SLICE", "output", output.len(), plan.output_len())?;
    if plan.starts.is_empty() {
        // A scalar input: one element.
        if let (Some(o), Some(i)) = (output.first_mut(), input.first()) {
            *o = *i;
        }
        return Ok(());
    }
    let mut written = 0usize;
    gather(plan, 0, 0, input, output, &mut written)?;
    super::check_len("STRIDED_SLICE", "output", written, output.len())
}

fn gather<T: Copy>(plan: &StridedSlicePlan, axis: usize, base: i64, input: &[T], output: &mut [T], written: &mut usize) -> Result<()> {
    let (start, stop, step) = (plan.starts[axis], plan.stops[axis], plan.steps[axis]);
    let mut index = start;
    while if step > 0 { index < stop } else { index > stop } {
        let offset = base + index * plan.input_strides[axis];
        if axis + 1 == plan.starts.len() {
            let value = usize::try_from(offset).ok().and_then(|o| input.get(o)).copied();
            match (value, output.get_mut(*written)) {
                (Some(v), Some(slot)) => *slot = v,
                _ => return Err(Error::InvalidModel("STRIDED_SLICE: index out of range".into())),
            }
            *written += 1;
        } else {
            gather(plan, axis + 1, offset, input, output, written)?;
        }
        index += step;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(begin: &[i32], end: &[i32], strides: &[i32]) -> StridedSliceSpec {
        StridedSliceSpec {
            begin: begin.to_vec(),
            end: end.to_vec(),
            strides: strides.to_vec(),
            ..StridedSliceSpec::default()
        }
    }

    #[test]
    fn tf_batch_size_idiom() {
        // shape tensor [1, 28, 28] → [0:1] with shrink → scalar 1
        let s = StridedSliceSpec { shrink_axis_mask: 1, ..spec(&[0], &[1], &[1]) };
        let plan = StridedSlicePlan::new(&s, &[3]).unwrap();
        assert!(plan.output_shape.is_empty());
        let mut out = [0i32; 1];
        strided_slice(&plan, &[1, 28, 28], &mut out).unwrap();
        assert_eq!(out, [1]);
    }

    #[test]
    fn ranges_negative_and_reverse() {
        let data: Vec<i32> = (0..10).collect();
        // [2:8:3] → 2, 5
        let plan = StridedSlicePlan::new(&spec(&[2], &[8], &[3]), &[10]).unwrap();
        let mut out = vec![0; plan.output_len()];
        strided_slice(&plan, &data, &mut out).unwrap();
        assert_eq!(out, [2, 5]);
        // [-3:] with end mask → 7, 8, 9
        let s = StridedSliceSpec { end_mask: 1, ..spec(&[-3], &[0], &[1]) };
        let plan = StridedSlicePlan::new(&s, &[10]).unwrap();
        let mut out = vec![0; plan.output_len()];
        strided_slice(&plan, &data, &mut out).unwrap();
        assert_eq!(out, [7, 8, 9]);
        // [::-4] with both masks → 9, 5, 1
        let s = StridedSliceSpec { begin_mask: 1, end_mask: 1, ..spec(&[0], &[0], &[-4]) };
        let plan = StridedSlicePlan::new(&s, &[10]).unwrap();
        let mut out = vec![0; plan.output_len()];
        strided_slice(&plan, &data, &mut out).unwrap();
        assert_eq!(out, [9, 5, 1]);
        // Out-of-range end clamps: [5:100] → 5..9
        let plan = StridedSlicePlan::new(&spec(&[5], &[100], &[1]), &[10]).unwrap();
        assert_eq!(plan.output_shape, vec![5]);
    }

    #[test]
    fn two_d_with_ellipsis_and_new_axis() {
        // 2×3 input; [..., 1] (ellipsis then index 1 shrunk) → column 1: [1, 4]
        let data = [0, 1, 2, 3, 4, 5];
        let s = StridedSliceSpec { ellipsis_mask: 1, shrink_axis_mask: 2, ..spec(&[0, 1], &[0, 2], &[1, 1]) };
        let plan = StridedSlicePlan::new(&s, &[2, 3]).unwrap();
        assert_eq!(plan.output_shape, vec![2]);
        let mut out = [0; 2];
        strided_slice(&plan, &data, &mut out).unwrap();
        assert_eq!(out, [1, 4]);
        // [newaxis, 0:1] → shape [1, 1, 3]
        let s = StridedSliceSpec { new_axis_mask: 1, ..spec(&[0, 0], &[0, 1], &[1, 1]) };
        let plan = StridedSlicePlan::new(&s, &[2, 3]).unwrap();
        assert_eq!(plan.output_shape, vec![1, 1, 3]);
        let mut out = [0; 3];
        strided_slice(&plan, &data, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2]);
    }

    #[test]
    fn bad_specs() {
        assert!(StridedSlicePlan::new(&spec(&[0], &[1], &[0]), &[3]).is_err());
        assert!(StridedSlicePlan::new(&spec(&[0], &[1, 2], &[1]), &[3]).is_err());
        let s = StridedSliceSpec { shrink_axis_mask: 1, ..spec(&[5], &[6], &[1]) };
        assert!(StridedSlicePlan::new(&s, &[3]).is_err());
    }
}
