//! RESHAPE: the output shape; the data is unchanged (the interpreter shares the input's buffer, or
//! copies it when it must).
//!
//! Facts from `tflite/kernels/reshape.cc`: the new shape comes from input 1 when the op has two inputs
//! and input 1 is a 1-D int32 tensor, otherwise from `ReshapeOptions.new_shape` (where the legacy
//! `[0]` means a scalar). At most one dimension may be −1; it is inferred so that the element counts
//! match, and they must.

use crate::error::{Error, Result};

/// The output shape for `input_len` elements and a requested shape.
pub fn reshape_output_shape(input_len: usize, new_shape: &[i32]) -> Result<Vec<usize>> {
    let bad = |what: String| Error::InvalidModel(format!("RESHAPE: {what}"));
    let mut stretch = None;
    let mut known: usize = 1;
    for (i, &d) in new_shape.iter().enumerate() {
        if d == -1 {
            if stretch.replace(i).is_some() {
                return Err(bad(format!("more than one −1 in the shape {new_shape:?}")));
            }
        } else if d < 0 {
            return Err(bad(format!(
                "negative dimension in the shape {new_shape:?}"
            )));
        } else {
            known = known
                .checked_mul(d as usize)
                .ok_or_else(|| bad(format!("shape {new_shape:?} overflows")))?;
        }
    }
    let mut shape: Vec<usize> = new_shape.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = stretch {
        if known == 0 || !input_len.is_multiple_of(known) {
            return Err(bad(format!(
                "cannot infer −1 in {new_shape:?} for {input_len} elements"
            )));
        }
        shape[i] = input_len / known;
    } else if known != input_len {
        return Err(bad(format!(
            "shape {new_shape:?} has {known} elements, the input {input_len}"
        )));
    }
    Ok(shape)
}

/// Copy the data (when the output cannot share the input's buffer).
pub fn reshape<T: Copy>(input: &[T], output: &mut [T]) -> Result<()> {
    super::check_len("RESHAPE", "output", output.len(), input.len())?;
    output.copy_from_slice(input);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            reshape_output_shape(784, &[1, 28, 28, 1]).unwrap(),
            vec![1, 28, 28, 1]
        );
        assert_eq!(reshape_output_shape(2028, &[1, -1]).unwrap(), vec![1, 2028]);
        assert_eq!(reshape_output_shape(1, &[]).unwrap(), Vec::<usize>::new());
        assert!(reshape_output_shape(10, &[-1, -1]).is_err());
        assert!(reshape_output_shape(10, &[3, -1]).is_err());
        assert!(reshape_output_shape(10, &[0, -1]).is_err());
        assert!(reshape_output_shape(10, &[5, 3]).is_err());
        assert!(reshape_output_shape(10, &[-2, 5]).is_err());
    }
}
