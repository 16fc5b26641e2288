//! `ptq eval`, `ptq predict`.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use ptq_playground::data::{Dataset, IdxType, Mnist, find_data_dir, parse_idx};
use ptq_playground::eval;
use ptq_playground::interp::Interpreter;
use ptq_playground::quantize::detect_mode;
use ptq_playground::tflite::{Model, read_model};
use ptq_playground::{Error, Result};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The .tflite model to evaluate (ours or TensorFlow's)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct PredictArgs {
    /// The .tflite model to run
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Images to run (an IDX file of u8 images, rows×cols as the model input; default: the 10,000
    /// MNIST test images)
    #[arg(long, value_name = "IDX")]
    pub images: Option<PathBuf>,
    /// Folder with the MNIST IDX files (when --images is not given)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Write every image's raw output here: the output's dtype, little-endian, one row per image
    #[arg(long, value_name = "OUT")]
    pub raw: PathBuf,
}

pub fn load_model(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
    read_model(&bytes).map_err(|e| e.in_file(path.display()))
}

pub fn progress_bar(len: usize, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_prefix(prefix.to_string());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} {bar:30.cyan/blue} {pos:>5}/{len} [{elapsed_precise}<{eta_precise}] {per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Accuracy of `model` on `test` with a progress bar; returns (label, accuracy fraction, images,
/// seconds spent classifying).
pub fn evaluate(model: &Model, test: &Dataset, path: &Path) -> Result<(String, f64, usize, f64)> {
    let mut interp = Interpreter::new(model).map_err(|e| e.in_file(path.display()))?;
    let bar = progress_bar(test.len(), "Evaluating");
    let started = std::time::Instant::now();
    let acc = eval::accuracy(&mut interp, test, |done, _| {
        bar.set_position(done as u64);
        true
    })
    .map_err(|e| e.in_file(path.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok((
        detect_mode(model).label().to_string(),
        acc.fraction(),
        acc.total,
        seconds,
    ))
}

pub fn run_eval(args: &EvalArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let dir = find_data_dir(args.data.as_deref())?;
    let test = Mnist::load_test(&dir)?;
    let (label, fraction, total, seconds) = evaluate(&model, &test, &args.model)?;
    if args.json {
        let j = serde_json::json!({
            "model": args.model.display().to_string(),
            "kind": label,
            "accuracy": fraction,
            "test_samples": total,
            "seconds": seconds,
            "us_per_image": seconds * 1e6 / total.max(1) as f64,
        });
        println!("{j}");
    } else {
        println!(
            "{label} model accuracy is {:.4}% (Number of test samples={total})",
            fraction * 100.0
        );
    }
    Ok(())
}

pub fn run_predict(args: &PredictArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let (pixels, image_len, source) = match &args.images {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
            let idx = parse_idx(&bytes).map_err(|e| e.in_file(path.display()))?;
            if idx.dtype != IdxType::U8 || idx.dims.len() != 3 {
                return Err(Error::InvalidDataset(format!(
                    "images must be u8 with 3 dimensions, got {:?} {:?}",
                    idx.dtype, idx.dims
                ))
                .in_file(path.display()));
            }
            let len = idx.dims[1] * idx.dims[2];
            (idx.data, len, path.display().to_string())
        }
        None => {
            let dir = find_data_dir(args.data.as_deref())?;
            let test = Mnist::load_test(&dir)?;
            let len = test.image_len();
            (test.images, len, dir.display().to_string())
        }
    };
    let mut interp = Interpreter::new(&model).map_err(|e| e.in_file(args.model.display()))?;
    let bar = progress_bar(pixels.len() / image_len.max(1), "Predicting");
    let raw = eval::raw_outputs(&mut interp, &pixels, image_len, |done, _| {
        bar.set_position(done as u64);
        true
    })
    .map_err(|e| e.in_file(args.model.display()))?;
    bar.finish_and_clear();
    std::fs::write(&args.raw, &raw).map_err(|e| Error::io(args.raw.display(), e))?;
    let out = &interp.outputs()[0];
    eprintln!(
        "{}: {} images from {source}, {} {:?} outputs each ({} bytes)",
        args.raw.display(),
        pixels.len() / image_len.max(1),
        out.dtype,
        out.shape,
        raw.len()
    );
    Ok(())
}
