//! Calibration: run the float model over representative images and record each float activation
//! tensor's global min and max (TFLite's `MinMax` calibration: running min/max over all samples), or,
//! with another [`CalibrationMethod`], a second pass that histograms the values and picks a narrower
//! clipping range from them (`quantize::thresholds`).
//!
//! The float model runs with [`FloatArithmetic::TfCalibrator`], the summation orders of the optimized
//! TFLite kernels that TensorFlow 2.21's calibrator executes, so the ranges are TF's to the bit
//! (`tests/calibration_parity.rs`) and so are the scales and zero points derived from them.

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::eval::set_image;
use crate::interp::{FloatArithmetic, Interpreter, InterpreterOptions};
use crate::quantize::thresholds::{
    DEFAULT_PERCENTILE, HISTOGRAM_BINS, ValueHistogram, entropy_range, mse_range, percentile_range,
};
use crate::tflite::{Model, TensorType};

/// How an activation's range is chosen from the values seen (weights always use their min/max).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationMethod {
    /// The smallest and largest value seen (TensorFlow's calibrator).
    #[default]
    MinMax,
    /// Cut 0.0005% of the values off each side (99.999th percentile, ONNX Runtime's default).
    Percentile,
    /// The window whose 128-level version loses the least information (TensorRT's KL calibrator).
    Entropy,
    /// The window with the smallest mean squared quantization error.
    Mse,
}

impl CalibrationMethod {
    pub const ALL: [CalibrationMethod; 4] = [
        CalibrationMethod::MinMax,
        CalibrationMethod::Percentile,
        CalibrationMethod::Entropy,
        CalibrationMethod::Mse,
    ];

    /// The method's id (`minmax`, `percentile`, `entropy`, `mse`).
    pub fn name(self) -> &'static str {
        match self {
            CalibrationMethod::MinMax => "minmax",
            CalibrationMethod::Percentile => "percentile",
            CalibrationMethod::Entropy => "entropy",
            CalibrationMethod::Mse => "mse",
        }
    }
}

impl FromStr for CalibrationMethod {
    type Err = Error;

    fn from_str(name: &str) -> Result<CalibrationMethod> {
        CalibrationMethod::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown calibration method {name:?} (minmax, percentile, entropy, mse)"
                ))
            })
    }
}

/// The chosen range of every tensor of subgraph 0 (`None` for constants and non-float tensors).
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub samples: usize,
    pub method: CalibrationMethod,
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
    min_max(model, images, image_len, 1, &mut progress).map(|(_, c)| c)
}

/// [`calibrate`] with a choice of method. Methods other than min/max run the images twice (min/max,
/// then a histogram of each tensor over its range); `progress` counts both passes.
pub fn calibrate_with(
    model: &Model,
    images: &[u8],
    image_len: usize,
    method: CalibrationMethod,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<Calibration> {
    if method == CalibrationMethod::MinMax {
        return calibrate(model, images, image_len, progress);
    }
    let (mut interp, mut calibration) = min_max(model, images, image_len, 2, &mut progress)?;
    let total = calibration.samples;
    let mut histograms: Vec<Option<ValueHistogram>> = calibration
        .ranges
        .iter()
        .map(|r| r.map(|(lo, hi)| ValueHistogram::new(lo, hi, HISTOGRAM_BINS)))
        .collect();
    for (n, image) in images.chunks_exact(image_len).enumerate() {
        set_image(&mut interp, image)?;
        interp.invoke()?;
        for (index, h) in histograms.iter_mut().enumerate() {
            let Some(h) = h else { continue };
            if let Ok(values) = interp.tensor::<f32>(index) {
                values.iter().for_each(|&v| h.add(v));
            }
        }
        if !progress(total + n + 1, 2 * total) {
            return Err(Error::Cancelled);
        }
    }
    for (range, h) in calibration.ranges.iter_mut().zip(&histograms) {
        // a NaN range stays NaN: the parameter step reports it
        if let (Some(range), Some(h)) = (range.as_mut(), h)
            && !range.0.is_nan()
        {
            *range = match method {
                CalibrationMethod::MinMax => *range,
                CalibrationMethod::Percentile => percentile_range(h, DEFAULT_PERCENTILE),
                CalibrationMethod::Entropy => entropy_range(h),
                CalibrationMethod::Mse => mse_range(h),
            };
        }
    }
    calibration.method = method;
    Ok(calibration)
}

/// The min/max pass: every float activation's range over `images`, and the interpreter that ran them
/// (for a second pass). `passes` only scales the progress total.
fn min_max(
    model: &Model,
    images: &[u8],
    image_len: usize,
    passes: usize,
    progress: &mut impl FnMut(usize, usize) -> bool,
) -> Result<(Interpreter, Calibration)> {
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
        if !progress(n + 1, passes * total) {
            return Err(Error::Cancelled);
        }
    }
    // NaN would otherwise drop out of min/max silently; make it visible to the parameter step instead
    for (range, nan) in ranges.iter_mut().zip(saw_nan) {
        if nan {
            *range = Some((f32::NAN, f32::NAN));
        }
    }
    Ok((
        interp,
        Calibration {
            samples: total,
            method: CalibrationMethod::MinMax,
            ranges,
        },
    ))
}
