//! Geometry of sliding-window ops (CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D).
//!
//! Output size and padding follow `tflite/kernels/padding.h` (`ComputeOutSize`,
//! `ComputePaddingHeightWidth`), which match TensorFlow's `GetWindowedOutputSize`:
//!
//! - effective filter size `k' = (k − 1)·dilation + 1`
//! - SAME: `out = ceil(in / stride)`; VALID: `out = (in + stride − k') / stride` (C division)
//! - total padding `max(0, (out − 1)·stride + k' − in)`; the kernels use the top/left half,
//!   `total / 2` (rounded down), so SAME puts the odd pixel at the bottom/right.
//!
//! Taps that fall outside the image are skipped (zero padding by omission), as in every reference kernel.

use crate::error::{Error, Result};
use crate::tflite::Padding;

/// Spatial geometry shared by all window kernels (NHWC; `h`/`w` are height and width).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub batches: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub filter_h: usize,
    pub filter_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    /// Rows of padding above the image (the top half of the total).
    pub pad_h: usize,
    /// Columns of padding left of the image.
    pub pad_w: usize,
}

/// Output size and leading padding along one axis, or an error for degenerate parameters.
pub fn out_size_and_padding(
    op: &str,
    padding: Padding,
    in_size: usize,
    filter: usize,
    stride: usize,
    dilation: usize,
) -> Result<(usize, usize)> {
    let bad = |what: String| Error::InvalidModel(format!("{op}: {what}"));
    if stride == 0 || dilation == 0 || filter == 0 {
        return Err(bad(format!("stride {stride}, dilation {dilation} and filter size {filter} must be positive")));
    }
    // All arithmetic in i64: sizes are bounded by the element limit, so nothing here can overflow.
    let (in_size, filter, stride, dilation) = (in_size as i64, filter as i64, stride as i64, dilation as i64);
    let effective = (filter - 1) * dilation + 1;
    let out = match padding {
        Padding::Same => (in_size + stride - 1) / stride,
        Padding::Valid => (in_size + stride - effective) / stride,
    };
    if out <= 0 {
        return Err(bad(format!(
            "window of size {effective} (filter {filter}, dilation {dilation}) does not fit an input of size {in_size} with {padding:?} padding"
        )));
    }
    let total = ((out - 1) * stride + effective - in_size).max(0);
    Ok((out as usize, (total / 2) as usize))
}

impl Window {
    /// Build the geometry for an NHWC input of `[batches, in_h, in_w, _]`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        op: &str,
        padding: Padding,
        batches: usize,
        (in_h, in_w): (usize, usize),
        (filter_h, filter_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
        (dilation_h, dilation_w): (usize, usize),
    ) -> Result<Window> {
        let (out_h, pad_h) = out_size_and_padding(op, padding, in_h, filter_h, stride_h, dilation_h)?;
        let (out_w, pad_w) = out_size_and_padding(op, padding, in_w, filter_w, stride_w, dilation_w)?;
        Ok(Window {
            batches,
            in_h,
            in_w,
            out_h,
            out_w,
            filter_h,
            filter_w,
            stride_h,
            stride_w,
            dilation_h,
            dilation_w,
            pad_h,
            pad_w,
        })
    }

    /// Input row of filter row `filter_y` for output row `out_y`, if inside the image.
    #[inline]
    pub fn in_y(&self, out_y: usize, filter_y: usize) -> Option<usize> {
        let y = (out_y * self.stride_h + filter_y * self.dilation_h) as isize - self.pad_h as isize;
        if y >= 0 && (y as usize) < self.in_h { Some(y as usize) } else { None }
    }

    /// Input column of filter column `filter_x` for output column `out_x`, if inside the image.
    #[inline]
    pub fn in_x(&self, out_x: usize, filter_x: usize) -> Option<usize> {
        let x = (out_x * self.stride_w + filter_x * self.dilation_w) as isize - self.pad_w as isize;
        if x >= 0 && (x as usize) < self.in_w { Some(x as usize) } else { None }
    }

    /// Pooling window clipped to the image along y: filter rows `start..end` for output row `out_y`.
    #[inline]
    pub fn clipped_y(&self, out_y: usize) -> (usize, usize) {
        clip(out_y * self.stride_h, self.pad_h, self.filter_h, self.in_h)
    }

    /// Pooling window clipped to the image along x.
    #[inline]
    pub fn clipped_x(&self, out_x: usize) -> (usize, usize) {
        clip(out_x * self.stride_w, self.pad_w, self.filter_w, self.in_w)
    }

    /// Input elements per batch for `channels` channels.
    pub fn in_len(&self, channels: usize) -> usize {
        self.batches * self.in_h * self.in_w * channels
    }

    /// Output elements for `channels` channels.
    pub fn out_len(&self, channels: usize) -> usize {
        self.batches * self.out_h * self.out_w * channels
    }
}

/// `filter_start = max(0, −origin)`, `filter_end = min(filter, in − origin)` with
/// `origin = pos − pad`, as in the reference pooling kernels. An empty window gives `start >= end`.
fn clip(pos: usize, pad: usize, filter: usize, in_size: usize) -> (usize, usize) {
    let origin = pos as isize - pad as isize;
    let start = (-origin).max(0) as usize;
    let end = (in_size as isize - origin).clamp(0, filter as isize) as usize;
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_same_sizes() {
        // 28 → 26 with a 3×3 VALID conv; 26 → 13 with a 2×2/2 pool.
        assert_eq!(out_size_and_padding("t", Padding::Valid, 28, 3, 1, 1).unwrap(), (26, 0));
        assert_eq!(out_size_and_padding("t", Padding::Valid, 26, 2, 2, 1).unwrap(), (13, 0));
        // SAME 3×3 stride 1: pad 1 on each side.
        assert_eq!(out_size_and_padding("t", Padding::Same, 28, 3, 1, 1).unwrap(), (28, 1));
        // SAME 3×3 stride 2 on 28: out 14, total pad (13·2 + 3 − 28) = 1 → top 0, bottom 1.
        assert_eq!(out_size_and_padding("t", Padding::Same, 28, 3, 2, 1).unwrap(), (14, 0));
        // SAME 4 stride 1: total 3 → top 1 (bottom 2).
        assert_eq!(out_size_and_padding("t", Padding::Same, 5, 4, 1, 1).unwrap(), (5, 1));
        // Dilation 2 of a 3-tap filter is 5 wide: VALID 7 → 3.
        assert_eq!(out_size_and_padding("t", Padding::Valid, 7, 3, 1, 2).unwrap(), (3, 0));
        // Too small for VALID; zero stride.
        assert!(out_size_and_padding("t", Padding::Valid, 2, 3, 1, 1).is_err());
        assert!(out_size_and_padding("t", Padding::Same, 2, 3, 0, 1).is_err());
    }

    #[test]
    fn clipping() {
        // in 4, filter 3, pad 1: out 0 starts at −1 → filter rows 1..3
        assert_eq!(clip(0, 1, 3, 4), (1, 3));
        // out 3 (pos 3) starts at 2 → rows 0..2
        assert_eq!(clip(3, 1, 3, 4), (0, 2));
        // fully outside
        assert_eq!(clip(10, 0, 3, 4), (0, 0));
    }
}
