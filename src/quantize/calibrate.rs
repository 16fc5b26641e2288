//! Calibration: run the float model over representative images and record each float activation
//! tensor's global min and max (TFLite's `MinMax` calibration: running min/max over all samples).
//!
//! The float model runs with [`FloatArithmetic::TfCalibrator`], the summation orders of the optimized
//! TFLite kernels that TensorFlow 2.21's calibrator executes, so the ranges are TF's to the bit
//! (`tests/calibration_parity.rs`) and so are the scales and zero points derived from them.

use crate::error::{Error, Result};
use crate::eval::set_image;
use crate::interp::{FloatArithmetic, Interpreter, InterpreterOptions};
use crate::tflite::{Model, TensorType};

/// The observed range of every tensor of subgraph 0 (`None` for constants and non-float tensors).
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub samples: usize,
    pub ranges: Vec<Option<(f32, f32)>>,
}

impl Calibration {
    /// The range of tensor `index`, if it was observed.
    pub fn range(&self, index: usize) -> Option<(f32, f32)> {
        self.ranges.get(index).copied().flatten()
    }
}

/// [`calibrate`] on the first `n` images of `images` (all of them if there are fewer), the way the
/// tutorial's representative dataset takes the first training images.
pub fn calibrate_first(
    model: &Model,
    images: &[u8],
    image_len: usize,
    n: usize,
) -> Result<Calibration> {
    let n = n.min(images.len() / image_len.max(1));
    calibrate(model, &images[..n * image_len], image_len, |_, _| true)
}

/// Run `model` on each of `images` (row-major u8 pixels, `image_len` per image, encoded as the
/// tutorial's representative dataset: pixel / 255 in float32) and record min/max per float activation.
/// `progress(done, total)` is called after each image; returning `false` cancels.
pub fn calibrate(
    model: &Model,
    images: &[u8],
    image_len: usize,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<Calibration> {
    if image_len == 0 || !images.len().is_multiple_of(image_len) || images.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "calibration needs whole images of {image_len} pixels, got {} bytes",
            images.len()
        )));
    }
    let graph = model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let observed: Vec<bool> = graph
        .tensors
        .iter()
        .map(|t| t.dtype == TensorType::Float32 && model.tensor_data(t).is_none())
        .collect();
    // TF's calibrator runs TFLite's optimized float kernels; their summation order is reproduced so that
    // the recorded ranges (and so every scale and zero point) equal TF's.
    let options = InterpreterOptions {
        preserve_all_tensors: true,
        float_arithmetic: FloatArithmetic::TfCalibrator,
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(model, options)?;
    let mut ranges: Vec<Option<(f32, f32)>> = vec![None; graph.tensors.len()];
    let mut saw_nan = vec![false; graph.tensors.len()];
    let total = images.len() / image_len;
    for (n, image) in images.chunks_exact(image_len).enumerate() {
        set_image(&mut interp, image)?;
        interp.invoke()?;
        for (index, (range, nan)) in ranges.iter_mut().zip(saw_nan.iter_mut()).enumerate() {
            if !observed[index] {
                continue;
            }
            let Ok(values) = interp.tensor::<f32>(index) else {
                continue;
            };
            for &v in values {
                if v.is_nan() {
                    *nan = true;
                    continue;
                }
                let (lo, hi) = range.get_or_insert((v, v));
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
        if !progress(n + 1, total) {
            return Err(Error::Cancelled);
        }
    }
    // NaN would otherwise drop out of min/max silently; make it visible to the parameter step instead
    for (range, nan) in ranges.iter_mut().zip(saw_nan) {
        if nan {
            *range = Some((f32::NAN, f32::NAN));
        }
    }
    Ok(Calibration {
        samples: total,
        ranges,
    })
}
