//! PACK: stack N tensors of the same shape along a new axis.
//!
//! With the input shape split at `axis` into `outer = Π dims[..axis]` and `inner = Π dims[axis..]`,
//! output element `(o, i, k)` of shape `[outer, N, inner]` is element `(o, k)` of input `i`.

use crate::error::Result;

/// The output shape: `shape` with `n` inserted at `axis` (already normalized to `0..=rank`).
pub fn pack_output_shape(shape: &[usize], n: usize, axis: usize) -> Vec<usize> {
    let mut out = shape.to_vec();
    out.insert(axis.min(shape.len()), n);
    out
}

/// Copy input number `index` of `n` into its place in the output.
pub fn pack_one<T: Copy>(outer: usize, inner: usize, n: usize, index: usize, input: &[T], output: &mut [T]) -> Result<()> {
    super::check_len("PACK", "input", input.len(), outer * inner)?;
    super::check_len("PACK", "output", output.len(), outer * n * inner)?;
    if index >= n {
        return Err(crate::Error::InvalidModel(format!("PACK: input {index} of {n}")));
    }
    for o in 0..outer {
        let dst = (o * n + index) * inner;
        output[dst..dst + inner].copy_from_slice(&input[o * inner..(o + 1) * inner]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_axis_1() {
        // Three scalars on axis 0 → [3]: what TF emits for Reshape's target shape.
        let mut out = [0i32; 3];
        for (i, v) in [1, 28, 28].iter().enumerate() {
            pack_one(1, 1, 3, i, &[*v], &mut out).unwrap();
        }
        assert_eq!(out, [1, 28, 28]);
        assert_eq!(pack_output_shape(&[], 3, 0), vec![3]);
        // Two [2, 2] tensors on axis 1 → [2, 2, 2]: rows interleave.
        let mut out = [0i32; 8];
        pack_one(2, 2, 2, 0, &[1, 2, 3, 4], &mut out).unwrap();
        pack_one(2, 2, 2, 1, &[5, 6, 7, 8], &mut out).unwrap();
        assert_eq!(out, [1, 2, 5, 6, 3, 4, 7, 8]);
        assert_eq!(pack_output_shape(&[2, 2], 2, 1), vec![2, 2, 2]);
    }
}
