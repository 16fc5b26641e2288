//! `ptq debug`: per-layer quantization error of a conversion, as TensorFlow's QuantizationDebugger
//! reports it (layer-wise by default, `--accumulated` for end to end).

use std::path::PathBuf;

use ptq_playground::data::{Mnist, find_data_dir};
use ptq_playground::debug::{ErrorMode, LayerErrorReport, layer_errors};
use ptq_playground::quantize::{
    ConvertOptions, calibrate_first, convert_keeping_float, resolve_keep_float,
};
use ptq_playground::{Error, Result};

use crate::convert::{IoArg, ModeArg, report_ignored};
use crate::eval::{load_model, progress_bar};

#[derive(clap::Args)]
pub struct DebugArgs {
    /// The float .tflite model (from `ptq train --out`, or TensorFlow's converter)
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Conversion to examine (one with integer activations)
    #[arg(long, value_enum, default_value = "full-integer")]
    pub mode: ModeArg,
    /// Input/output type of integer-only models
    #[arg(long, value_enum, default_value = "uint8")]
    pub io: IoArg,
    /// Compare this quantized .tflite (converted from --in, e.g. by TensorFlow) instead of converting
    #[arg(long, value_name = "FILE")]
    pub quantized: Option<PathBuf>,
    /// Representative images for calibration: the first N training images
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub calibration_samples: usize,
    /// Compare on the first N test images
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub images: usize,
    /// Float model end to end against quantized model end to end (default: layer-wise, each float
    /// layer fed the quantized model's dequantized inputs)
    #[arg(long)]
    pub accumulated: bool,
    /// Keep these operators in float before comparing (selective quantization, full-integer only): an
    /// operator name such as CONV_2D, or an operator's output tensor name. Repeatable
    #[arg(long, value_name = "OP|TENSOR")]
    pub deny: Vec<String>,
    /// Print the report as JSON on stdout: {"layers": [...]}, one entry per quantized tensor
    #[arg(long)]
    pub json: bool,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

pub fn run(args: &DebugArgs) -> Result<()> {
    if args.images == 0 || args.calibration_samples == 0 {
        return Err(Error::InvalidArgument(
            "--images and --calibration-samples must be at least 1".into(),
        ));
    }
    let float = load_model(&args.input)?;
    let dir = find_data_dir(args.data.as_deref())?;
    let (quant, what) = match &args.quantized {
        Some(path) if args.deny.is_empty() => (load_model(path)?, path.display().to_string()),
        Some(_) => {
            return Err(Error::InvalidArgument(
                "--deny applies to the conversion debug makes; a --quantized file is compared as it is"
                    .into(),
            ));
        }
        None => {
            let mode = args.mode.mode(args.io);
            if !mode.needs_calibration() {
                return Err(Error::InvalidArgument(format!(
                    "--mode {}: the debugger compares quantized activations; choose full-integer or \
                     integer-only",
                    mode.name()
                )));
            }
            let train = Mnist::load_split_train(&dir)?;
            let calibration = calibrate_first(
                &float,
                &train.images,
                train.image_len(),
                args.calibration_samples,
            )
            .map_err(|e| e.in_file(args.input.display()))?;
            let keep = resolve_keep_float(&float, &args.deny)
                .map_err(|e| e.in_file(args.input.display()))?;
            report_ignored(&keep.ignored);
            let model = convert_keeping_float(
                &float,
                &ConvertOptions::new(mode),
                Some(&calibration),
                &keep.ops,
            )
            .map_err(|e| e.in_file(args.input.display()))?;
            (
                model,
                format!(
                    "{} (calibrated on {} training images)",
                    mode.name(),
                    calibration.samples
                ),
            )
        }
    };
    let test = Mnist::load_test(&dir)?;
    let n = args.images.min(test.len());
    let mode = if args.accumulated {
        ErrorMode::Accumulated
    } else {
        ErrorMode::LayerWise
    };
    let bar = progress_bar(n, "compare");
    let report = layer_errors(
        &float,
        &quant,
        &test.images[..n * test.image_len()],
        test.image_len(),
        mode,
        |done, _| {
            bar.set_position(done as u64);
            true
        },
    )
    .map_err(|e| e.in_file(args.input.display()))?;
    bar.finish_and_clear();
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::InvalidArgument(format!("JSON: {e}")))?;
        println!("{text}");
    } else {
        print_table(&report, &what);
    }
    Ok(())
}

fn print_table(report: &LayerErrorReport, what: &str) {
    let mode = match report.mode {
        ErrorMode::LayerWise => "layer-wise (each float layer fed the dequantized quantized input)",
        ErrorMode::Accumulated => "accumulated (float model end to end vs quantized end to end)",
    };
    println!(
        "{what}: {mode}, averaged over {} test images",
        report.images
    );
    println!(
        "{:>3}  {:<16} {:<28} {:>10} {:>5} {:>8} {:>10} {:>11} {:>10} {:>10} {:>9} {:>10} {:>8}",
        "op",
        "operator",
        "tensor",
        "scale",
        "zp",
        "elements",
        "stddev",
        "mean_error",
        "max_abs",
        "mse",
        "range",
        "rmse/scale",
        "SQNR dB"
    );
    for l in &report.layers {
        let name: String = if l.tensor_name.chars().count() > 28 {
            let tail: String = l.tensor_name.chars().rev().take(27).collect();
            format!("…{}", tail.chars().rev().collect::<String>())
        } else {
            l.tensor_name.clone()
        };
        println!(
            "{:>3}  {:<16} {:<28} {:>10.6} {:>5} {:>8} {:>10.3e} {:>11.3e} {:>10.3e} {:>10.3e} {:>9.4} {:>10.3} {:>8}",
            l.op_index,
            l.op_name,
            name,
            l.scale,
            l.zero_point,
            l.num_elements,
            l.stddev,
            l.mean_error,
            l.max_abs_error,
            l.mean_squared_error,
            l.range,
            l.rmse_over_scale,
            l.sqnr_db.map_or("inf".to_string(), |s| format!("{s:.1}"))
        );
    }
    println!(
        "rmse/scale near 1/√12 ≈ 0.289 is rounding alone; larger means clipping or error carried in."
    );
}
