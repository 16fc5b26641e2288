//! `ptq calibrate`: the activation ranges each calibration method chooses for a float model, and
//! (`--dump`) the activations they were chosen from, so another program can check the choice.

use std::path::PathBuf;

use ptq_playground::data::{Mnist, find_data_dir};
use ptq_playground::eval::set_image;
use ptq_playground::interp::{FloatArithmetic, Interpreter, InterpreterOptions};
use ptq_playground::quantize::{CalibrationMethod, calibrate_with};
use ptq_playground::{Error, Result};

use crate::eval::load_model;

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// The float .tflite model
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Representative images: the first N training images
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub calibration_samples: usize,
    /// Also write each calibrated tensor's values over all images (`<tensor index>.f32`, float32
    /// little-endian) into this folder
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// Prints `{"samples": N, "ranges": {"<method>": {"<tensor index>": [lo, hi], ...}, ...}}`.
pub fn run(args: &CalibrateArgs) -> Result<()> {
    if args.calibration_samples == 0 {
        return Err(Error::InvalidArgument(
            "--calibration-samples must be at least 1".into(),
        ));
    }
    let float = load_model(&args.input)?;
    let dir = find_data_dir(args.data.as_deref())?;
    let train = Mnist::load_split_train(&dir)?;
    let n = args.calibration_samples.min(train.len());
    let images = &train.images[..n * train.image_len()];
    let mut ranges = serde_json::Map::new();
    let mut observed = Vec::new();
    for method in CalibrationMethod::ALL {
        let c = calibrate_with(&float, images, train.image_len(), method, |_, _| true)
            .map_err(|e| e.in_file(args.input.display()))?;
        let mut by_tensor = serde_json::Map::new();
        for (i, r) in c.ranges.iter().enumerate() {
            if let Some((lo, hi)) = r {
                by_tensor.insert(i.to_string(), serde_json::json!([lo, hi]));
                if !observed.contains(&i) {
                    observed.push(i);
                }
            }
        }
        ranges.insert(method.name().into(), serde_json::Value::Object(by_tensor));
    }
    if let Some(out) = &args.dump {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out.display(), e))?;
        // the same float arithmetic calibration uses, so these are the values it saw
        let options = InterpreterOptions {
            preserve_all_tensors: true,
            float_arithmetic: FloatArithmetic::TfCalibrator,
            ..Default::default()
        };
        let mut interp = Interpreter::with_options(&float, options)?;
        let mut values: Vec<Vec<u8>> = vec![Vec::new(); observed.len()];
        for image in images.chunks_exact(train.image_len()) {
            set_image(&mut interp, image)?;
            interp.invoke()?;
            for (&t, v) in observed.iter().zip(values.iter_mut()) {
                v.extend(
                    interp
                        .tensor::<f32>(t)?
                        .iter()
                        .flat_map(|x| x.to_le_bytes()),
                );
            }
        }
        for (&t, v) in observed.iter().zip(&values) {
            let path = out.join(format!("{t}.f32"));
            std::fs::write(&path, v).map_err(|e| Error::io(path.display(), e))?;
        }
    }
    let report = serde_json::json!({ "samples": n, "ranges": ranges });
    println!(
        "{}",
        serde_json::to_string_pretty(&report)
            .map_err(|e| Error::InvalidArgument(format!("JSON: {e}")))?
    );
    Ok(())
}
