//! Post-training quantization, as the TensorFlow tutorial does it: export the trained float network to
//! TFLite, calibrate on a representative dataset, and convert to dynamic-range, full-integer or
//! integer-only models whose parameters match TensorFlow 2.21's converter.

pub mod calibrate;
pub mod convert;
mod edges;
pub mod export;
pub mod float16;
#[cfg(feature = "int16")]
pub mod int16x8;
pub mod mode;
pub mod params;
pub mod selective;
pub mod static_shapes;
pub mod thresholds;
pub mod version;

pub use calibrate::{Calibration, CalibrationMethod, calibrate, calibrate_first, calibrate_with};
pub use convert::{
    ConvertOptions, Int16Io, IoType, Mode, convert, convert_keeping_float, detect_mode,
};
pub use export::export_float;
pub use selective::{KeepFloat, resolve_keep_float};
pub use static_shapes::fold_static_shapes;

/// Reading a float file of ours back (its design and weights), for more training.
pub mod import;
pub use export::{export_float_named, export_float_with_design, fold};
pub use import::import_float;

use crate::data::Dataset;
use crate::error::Result;
use crate::tflite::Model;

/// Representative images by default (the tutorial's `representative_data_gen` takes 100).
pub const DEFAULT_CALIBRATION_SAMPLES: usize = 100;

/// Convert `float` in `mode`, calibrating on the first `samples` images of `data` when the mode needs it.
pub fn quantize(
    float: &Model,
    options: &ConvertOptions,
    data: &Dataset,
    samples: usize,
) -> Result<Model> {
    let calibration = if options.mode.needs_calibration() {
        let n = samples.clamp(1, data.len().max(1));
        Some(calibrate(
            float,
            &data.images[..n * data.image_len()],
            data.image_len(),
            |_, _| true,
        )?)
    } else {
        None
    };
    convert(float, options, calibration.as_ref())
}
