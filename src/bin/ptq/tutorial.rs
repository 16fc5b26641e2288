//! `ptq tutorial`: the whole TensorFlow post-training integer quantization tutorial in one command.

use std::path::PathBuf;
use std::time::Instant;

use ptq_playground::data::{Mnist, find_data_dir};
use ptq_playground::interp::Interpreter;
use ptq_playground::quantize::{
    ConvertOptions, Mode, calibrate_first, convert, export_float_with_design,
};
use ptq_playground::tflite::{Model, TensorType, write_model};
use ptq_playground::train::{TrainConfig, Trainer};
use ptq_playground::{Error, Result};

use crate::eval::evaluate;

#[derive(clap::Args)]
pub struct TutorialArgs {
    /// Folder for the five .tflite files
    #[arg(long, value_name = "DIR", default_value = "mnist_tflite_models")]
    pub out: PathBuf,
    /// Training epochs
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Seed for the initial weights and the shuffles
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub design: crate::train::DesignArgs,
    /// Representative images for calibration (the first N training images)
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub calibration_samples: usize,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// numpy's name for a tensor type, as the tutorial prints `input_details['dtype']`.
fn numpy_name(t: TensorType) -> String {
    match t {
        TensorType::Float32 => "<class 'numpy.float32'>".into(),
        TensorType::UInt8 => "<class 'numpy.uint8'>".into(),
        TensorType::Int8 => "<class 'numpy.int8'>".into(),
        other => other.name().to_lowercase(),
    }
}

pub fn run(args: &TutorialArgs) -> Result<()> {
    let design = args.design.load()?;
    let dir = find_data_dir(args.data.as_deref())?;
    let mnist = Mnist::load(&dir)?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(args.out.display(), e))?;

    // 1. train
    crate::train::print_summary(&design)?;
    let config = TrainConfig {
        epochs: args.epochs,
        seed: args.seed,
        architecture: design.architecture()?,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(config, &mnist.train)?;
    trainer.check_validation(&mnist.test)?;
    let steps = trainer.steps_per_epoch(mnist.train.len());
    let started = Instant::now();
    while !trainer.finished() {
        let bar = crate::eval::progress_bar(
            steps,
            &format!("Epoch {}/{}", trainer.epoch() + 1, args.epochs),
        );
        while let Some(r) = trainer.step(&mnist.train) {
            bar.set_position(r.step as u64);
            if r.step == r.steps_per_epoch {
                break;
            }
        }
        bar.finish_and_clear();
        println!("{}", trainer.end_epoch(&mnist.test)?.keras_line());
    }
    println!("Trained in {:.1}s\n", started.elapsed().as_secs_f64());

    // 2. convert
    let float = export_float_with_design(&trainer.net, &design)?;
    let (images, image_len) = (&mnist.train.images, mnist.train.image_len());
    let cal = calibrate_first(&float, images, image_len, args.calibration_samples.max(1))?;
    let mut models: Vec<(&str, Model, usize)> = Vec::new();
    for mode in Mode::ALL {
        let name = mode.file_name();
        let model = convert(&float, &ConvertOptions::new(mode), Some(&cal))?;
        let bytes = write_model(&model)?;
        let path = args.out.join(name);
        std::fs::write(&path, &bytes).map_err(|e| Error::io(path.display(), e))?;
        models.push((name, model, bytes.len()));
    }

    // 3. inspect and evaluate each model once
    let float_size = models[0].2 as f64;
    let short = |t: TensorType| {
        numpy_name(t)
            .trim_start_matches("<class 'numpy.")
            .trim_end_matches("'>")
            .to_string()
    };
    let mut rows = Vec::new();
    for (name, model, size) in &models {
        let interp = Interpreter::new(model)?;
        let (input, output) = (interp.inputs()[0].clone(), interp.outputs()[0].clone());
        let (label, accuracy, total, _) = evaluate(model, &mnist.test, &args.out.join(name))?;
        println!(
            "{name}: input: {}  output: {}",
            numpy_name(input.dtype),
            numpy_name(output.dtype)
        );
        println!(
            "{label} model accuracy is {:.4}% (Number of test samples={total})",
            accuracy * 100.0
        );
        rows.push((name, *size, input, output, accuracy));
    }
    let io = |t: &ptq_playground::interp::TensorInfo| {
        if t.is_quantized() {
            format!("{} ({:.6}, {})", short(t.dtype), t.scale, t.zero_point)
        } else {
            short(t.dtype)
        }
    };
    println!(
        "\n{:<30} {:>7} {:>6}  {:<22} {:<22} {:>8}",
        "model", "bytes", "size", "input (scale, zp)", "output (scale, zp)", "accuracy"
    );
    for (name, size, input, output, accuracy) in &rows {
        println!(
            "{:<30} {:>7} {:>5.1}%  {:<22} {:<22} {:>7.2}%",
            name,
            size,
            *size as f64 / float_size * 100.0,
            io(input),
            io(output),
            accuracy * 100.0
        );
    }
    println!("(files in {})", args.out.display());
    Ok(())
}
