//! SHAPE: the input's dimensions as a 1-D int32 (or int64) tensor. The interpreter always folds it:
//! our shapes are static.

use crate::error::Result;

/// Write the dimensions of `shape` into `output` (`output.len()` must be the rank).
pub fn shape_i32(shape: &[usize], output: &mut [i32]) -> Result<()> {
    super::check_len("SHAPE", "output", output.len(), shape.len())?;
    for (o, &d) in output.iter_mut().zip(shape) {
        *o = i32::try_from(d).map_err(|_| crate::Error::InvalidModel(format!("SHAPE: dimension {d} does not fit int32")))?;
    }
    Ok(())
}

/// Same as [`shape_i32`] for `out_type = INT64`.
pub fn shape_i64(shape: &[usize], output: &mut [i64]) -> Result<()> {
    super::check_len("SHAPE", "output", output.len(), shape.len())?;
    for (o, &d) in output.iter_mut().zip(shape) {
        *o = d as i64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn dims() {
        let mut out = [0i32; 3];
        super::shape_i32(&[1, 28, 28], &mut out).unwrap();
        assert_eq!(out, [1, 28, 28]);
        assert!(super::shape_i32(&[1], &mut out).is_err());
    }
}
