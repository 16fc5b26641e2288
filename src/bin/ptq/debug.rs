//! `ptq debug`: per-layer quantization error of a conversion, as TensorFlow's QuantizationDebugger
//! reports it (layer-wise by default, `--accumulated` for end to end); `ptq histograms`: weights and
//! activations on their integer grid.

use std::path::PathBuf;

use ptq_playground::data::{CalibrationSet, Dataset, Mnist, find_data_dir};
use ptq_playground::debug::{
    ErrorMode, LayerErrorReport, TensorHistogram, activation_histograms, layer_errors,
    weight_histograms,
};
use ptq_playground::quantize::{
    ConvertOptions, calibrate_with, convert_keeping_float, resolve_keep_float,
};
use ptq_playground::tflite::Model;
use ptq_playground::{Error, Result};

use crate::convert::{IoArg, MethodArg, ModeArg, parse_set, report_ignored};
use crate::eval::{load_model, progress_bar};

/// The float model and the quantized model made from it (converted here, or given).
#[derive(clap::Args)]
pub struct PairArgs {
    /// The float .tflite model (from `ptq train --out`, or TensorFlow's converter)
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Conversion to examine (one with integer activations)
    #[arg(long, value_enum, default_value = "full-integer")]
    pub mode: ModeArg,
    /// Input/output type of integer-only models (uint8 or int8)
    #[arg(long, value_enum)]
    pub io: Option<IoArg>,
    /// Examine this quantized .tflite (converted from --in, e.g. by TensorFlow) instead of converting
    #[arg(long, value_name = "FILE")]
    pub quantized: Option<PathBuf>,
    /// Representative images for calibration: the first N training images
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub calibration_samples: usize,
    /// Which images calibrate (see `ptq convert --help`)
    #[arg(long, default_value = "first", value_parser = parse_set, value_name = "SET")]
    pub calibration_set: CalibrationSet,
    /// How activation ranges are chosen (see `ptq convert --help`)
    #[arg(long, value_enum, default_value = "minmax")]
    pub calibration: MethodArg,
    /// Keep these operators in float (selective quantization, full-integer only): an operator name
    /// such as CONV_2D, or an operator's output tensor name. Repeatable
    #[arg(long, value_name = "OP|TENSOR")]
    pub deny: Vec<String>,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct DebugArgs {
    #[command(flatten)]
    pub pair: PairArgs,
    /// Compare on the first N test images
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub images: usize,
    /// Float model end to end against quantized model end to end (default: layer-wise, each float
    /// layer fed the quantized model's dequantized inputs)
    #[arg(long)]
    pub accumulated: bool,
    /// Print the report as JSON on stdout: {"layers": [...]}, one entry per quantized tensor
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct HistogramArgs {
    #[command(flatten)]
    pub pair: PairArgs,
    /// Bins per histogram
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub bins: usize,
    /// Print every histogram as JSON on stdout: {"weights": [...], "activations": [...]}
    #[arg(long)]
    pub json: bool,
}

/// The pair's models and a description of the quantized one.
struct Pair {
    float: Model,
    quant: Model,
    what: String,
    /// The first `--calibration-samples` training images (the representative dataset).
    representative: Dataset,
    dir: PathBuf,
}

fn load_pair(args: &PairArgs) -> Result<Pair> {
    if args.calibration_samples == 0 {
        return Err(Error::InvalidArgument(
            "--calibration-samples must be at least 1".into(),
        ));
    }
    let float = load_model(&args.input)?;
    let dir = find_data_dir(args.data.as_deref())?;
    let mut representative = Mnist::load_split_train(&dir)?;
    let n = args.calibration_samples.min(representative.len());
    representative
        .images
        .truncate(n * representative.image_len());
    representative.labels.truncate(n);
    let (quant, what) = match &args.quantized {
        Some(path) if args.deny.is_empty() => (load_model(path)?, path.display().to_string()),
        Some(_) => {
            return Err(Error::InvalidArgument(
                "--deny applies to the conversion made here; a --quantized file is examined as it is"
                    .into(),
            ));
        }
        None => {
            let mode = args.mode.mode(args.io)?;
            if !mode.needs_calibration() {
                return Err(Error::InvalidArgument(format!(
                    "--mode {}: these views examine quantized activations; choose full-integer or \
                     integer-only",
                    mode.name()
                )));
            }
            let calibration = calibrate_with(
                &float,
                &representative.images,
                representative.image_len(),
                args.calibration.method(),
                |_, _| true,
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
                    "{} (calibrated on {} training images, {}, {})",
                    mode.name(),
                    calibration.samples,
                    args.calibration_set.name(),
                    calibration.method.name()
                ),
            )
        }
    };
    Ok(Pair {
        float,
        quant,
        what,
        representative,
        dir,
    })
}

pub fn run(args: &DebugArgs) -> Result<()> {
    if args.images == 0 {
        return Err(Error::InvalidArgument("--images must be at least 1".into()));
    }
    let Pair {
        float,
        quant,
        what,
        dir,
        ..
    } = load_pair(&args.pair)?;
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
    .map_err(|e| e.in_file(args.pair.input.display()))?;
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

pub fn run_histograms(args: &HistogramArgs) -> Result<()> {
    if args.bins == 0 || args.bins > 4096 {
        return Err(Error::InvalidArgument("--bins must be 1 to 4096".into()));
    }
    let pair = load_pair(&args.pair)?;
    let in_file = |e: Error| e.in_file(args.pair.input.display());
    let weights = weight_histograms(&pair.float, &pair.quant, args.bins).map_err(in_file)?;
    let images = &pair.representative;
    let bar = progress_bar(2 * images.len(), "activations");
    let activations = activation_histograms(
        &pair.float,
        &pair.quant,
        &images.images,
        images.image_len(),
        args.bins,
        |done, _| {
            bar.set_position(done as u64);
            true
        },
    )
    .map_err(in_file)?;
    bar.finish_and_clear();
    if args.json {
        let value = serde_json::json!({ "weights": weights, "activations": activations });
        let text = serde_json::to_string_pretty(&value)
            .map_err(|e| Error::InvalidArgument(format!("JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{}: weights, and activations on {} representative images",
        pair.what,
        images.len()
    );
    println!(
        "{:>3}  {:<16} {:<11} {:>7} {:>11} {:>11} {:>11} {:>11} {:>9} {:>9}",
        "op",
        "operator",
        "kind",
        "channel",
        "min",
        "max",
        "grid min",
        "grid max",
        "clipped",
        "values"
    );
    let row = |h: &TensorHistogram| {
        println!(
            "{:>3}  {:<16} {:<11} {:>7} {:>11.5} {:>11.5} {:>11.5} {:>11.5} {:>9} {:>9}",
            h.op_index,
            h.op_name,
            format!("{:?}", h.kind).to_lowercase(),
            h.channel.map_or("all".to_string(), |c| c.to_string()),
            h.min,
            h.max,
            h.grid.real_min,
            h.grid.real_max,
            h.clipped_below + h.clipped_above,
            h.count
        );
    };
    weights.iter().for_each(row);
    activations.iter().for_each(row);
    Ok(())
}
