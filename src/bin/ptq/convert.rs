//! `ptq convert`.

use std::path::PathBuf;

use clap::ValueEnum;
use ptq_playground::data::{CalibrationSet, Mnist, find_data_dir};
use ptq_playground::quantize::{
    CalibrationMethod, ConvertOptions, Int16Io, IoType, Mode, calibrate_with,
    convert_keeping_float, fold_static_shapes, resolve_keep_float,
};
use ptq_playground::tflite::{read_model, write_model};
use ptq_playground::{Error, Result};

/// `--mode`: the tutorial's conversions ([`Mode::ALL`]) as the CLI spells them, integer-only once with
/// `--io` choosing its input/output type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Float32 (re-written as is)
    Float,
    /// Int8 weights, float activations quantized at run time (optimizations=[DEFAULT], no dataset)
    DynamicRange,
    /// Int8 everywhere inside, float32 input and output (DEFAULT + representative dataset)
    FullInteger,
    /// Int8 everywhere including the input and output (+ TFLITE_BUILTINS_INT8); --io picks uint8/int8
    IntegerOnly,
    /// Weights stored as float16, float32 arithmetic (DEFAULT + supported_types=[tf.float16])
    Float16,
    /// Int16 activations, int8 weights, int64 biases (EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    /// + representative dataset); --io picks float (default) or int16 input and output
    Int16x8,
}

/// `--calibration-set`, read by [`CalibrationSet`]'s own parser.
pub fn parse_set(s: &str) -> Result<CalibrationSet> {
    s.parse()
}

/// `--calibration`: [`CalibrationMethod`] as the CLI spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// The smallest and largest value seen (TensorFlow's calibrator)
    Minmax,
    /// Cut 0.0005% of the values off each side (99.999th percentile over a 2048-bin histogram)
    Percentile,
    /// The window whose 128-level version loses the least information (KL divergence, TensorRT)
    Entropy,
    /// The window with the smallest mean squared quantization error over the histogram
    Mse,
}

impl MethodArg {
    pub fn method(self) -> CalibrationMethod {
        match self {
            MethodArg::Minmax => CalibrationMethod::MinMax,
            MethodArg::Percentile => CalibrationMethod::Percentile,
            MethodArg::Entropy => CalibrationMethod::Entropy,
            MethodArg::Mse => CalibrationMethod::Mse,
        }
    }
}

/// `--io`: the input/output type of integer-only (uint8, int8) and 16x8 (float, int16) models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoArg {
    Uint8,
    Int8,
    Float,
    Int16,
}

impl ModeArg {
    /// The conversion `--mode self --io io` asks for: `io` picks integer-only's type (uint8 when
    /// absent) and 16x8's (float when absent); other modes have float input and output and ignore it.
    pub fn mode(self, io: Option<IoArg>) -> Result<Mode> {
        let wrong = |io: IoArg, mode: &str, allowed: &str| {
            Error::InvalidArgument(format!(
                "--io {} does not apply to --mode {mode} (choose {allowed})",
                io.to_possible_value()
                    .map_or(String::new(), |v| v.get_name().to_string())
            ))
        };
        Ok(match self {
            ModeArg::Float => Mode::Float,
            ModeArg::DynamicRange => Mode::DynamicRange,
            ModeArg::FullInteger => Mode::FullInteger,
            ModeArg::IntegerOnly => Mode::IntegerOnly(match io {
                None | Some(IoArg::Uint8) => IoType::UInt8,
                Some(IoArg::Int8) => IoType::Int8,
                Some(other) => return Err(wrong(other, "integer-only", "uint8 or int8")),
            }),
            ModeArg::Float16 => Mode::Float16,
            ModeArg::Int16x8 => Mode::Int16x8(match io {
                None | Some(IoArg::Float) => Int16Io::Float,
                Some(IoArg::Int16) => Int16Io::Int16,
                Some(other) => return Err(wrong(other, "int16x8", "float or int16")),
            }),
        })
    }
}

#[derive(clap::Args)]
pub struct ConvertArgs {
    /// Float .tflite to convert (from `ptq train --out`, or TensorFlow's converter)
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Conversion, as in the TensorFlow post-training quantization tutorial
    #[arg(long, value_enum)]
    pub mode: ModeArg,
    /// Where to write the converted .tflite
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Representative images for calibration: N images of --calibration-set (full-integer,
    /// integer-only, int16x8)
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub calibration_samples: usize,
    /// Which images calibrate: first (the first N training images, as the tutorial), random (N at
    /// random, seed 0), digit:D (the first N images of digit D), blank (black images), noise (random pixels)
    #[arg(long, default_value = "first", value_parser = parse_set, value_name = "SET")]
    pub calibration_set: CalibrationSet,
    /// How activation ranges are chosen from the representative images: minmax (TF's), percentile
    /// (99.999th, ONNX Runtime's), entropy (TensorRT's KL divergence), mse (least squared error)
    #[arg(long, value_enum, default_value = "minmax")]
    pub calibration: MethodArg,
    /// Input/output type: uint8 (default) or int8 for integer-only, float (default) or int16 for int16x8
    #[arg(long, value_enum)]
    pub io: Option<IoArg>,
    /// Quantize dense (FULLY_CONNECTED) weights per tensor instead of per output channel
    #[arg(long)]
    pub per_tensor_dense: bool,
    /// Quantize every layer's weights per tensor instead of per output channel (TF's
    /// _experimental_disable_per_channel; full-integer, integer-only, and int16x8 without depthwise layers)
    #[arg(long)]
    pub per_tensor: bool,
    /// Fold the run-time shape computation (SHAPE → STRIDED_SLICE → PACK → RESHAPE) into constant
    /// shapes at batch 1, as integer-only accelerators want
    #[arg(long)]
    pub static_shapes: bool,
    /// Keep these operators in float (selective quantization, full-integer only; TF's denylisted_ops
    /// and denylisted_nodes): an operator name such as CONV_2D, or an operator's output tensor name.
    /// Repeatable
    #[arg(long, value_name = "OP|TENSOR")]
    pub deny: Vec<String>,
    /// Folder with the MNIST IDX files (for calibration)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    let mode = args.mode.mode(args.io)?;
    let bytes = std::fs::read(&args.input).map_err(|e| Error::io(args.input.display(), e))?;
    let float = read_model(&bytes).map_err(|e| e.in_file(args.input.display()))?;
    let options = ConvertOptions {
        mode,
        per_channel_dense: !args.per_tensor_dense,
        per_channel: !args.per_tensor,
    };
    let calibration = if mode.needs_calibration() {
        if args.calibration_samples == 0 {
            return Err(Error::InvalidArgument(
                "--calibration-samples must be at least 1".into(),
            ));
        }
        let dir = find_data_dir(args.data.as_deref())?;
        let train = Mnist::load_split_train(&dir)?;
        let set = args
            .calibration_set
            .select(&train, args.calibration_samples);
        if set.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "--calibration-set {} selects no images",
                args.calibration_set.name()
            )));
        }
        Some(
            calibrate_with(
                &float,
                &set.images,
                set.image_len(),
                args.calibration.method(),
                |_, _| true,
            )
            .map_err(|e| e.in_file(args.input.display()))?,
        )
    } else {
        None
    };
    let keep =
        resolve_keep_float(&float, &args.deny).map_err(|e| e.in_file(args.input.display()))?;
    report_ignored(&keep.ignored);
    let mut model = convert_keeping_float(&float, &options, calibration.as_ref(), &keep.ops)
        .map_err(|e| e.in_file(args.input.display()))?;
    if args.static_shapes {
        fold_static_shapes(&mut model).map_err(|e| e.in_file(args.input.display()))?;
    }
    let out = write_model(&model)?;
    std::fs::write(&args.out, &out).map_err(|e| Error::io(args.out.display(), e))?;
    let ratio = bytes.len() as f64 / out.len() as f64;
    eprintln!(
        "{}: {} model, {} bytes ({ratio:.2}x smaller than the {}-byte input){}",
        args.out.display(),
        mode.name(),
        out.len(),
        bytes.len(),
        calibration.map_or(String::new(), |c| format!(
            ", calibrated on {} images ({}, {})",
            c.samples,
            args.calibration_set.name(),
            c.method.name()
        ))
    );
    Ok(())
}

/// Say which `--deny` entries change nothing (TF's quantizer keeps pools quantized whatever its list says).
pub fn report_ignored(ignored: &[String]) {
    for entry in ignored {
        eprintln!(
            "note: --deny {entry}: only pools or shape operators match, and they stay quantized (as in \
             TensorFlow's converter)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_has_one_spelling_named_after_it() {
        let mut reached = Vec::new();
        let ios = std::iter::once(None).chain(IoArg::value_variants().iter().copied().map(Some));
        for arg in ModeArg::value_variants() {
            for io in ios.clone() {
                let Ok(mode) = arg.mode(io) else {
                    // only the two modes with a choice refuse the other's types
                    assert!(matches!(arg, ModeArg::IntegerOnly | ModeArg::Int16x8));
                    continue;
                };
                let name = arg.to_possible_value().map(|v| v.get_name().to_string());
                // `integer-only` + `--io int8` is `integer-only-int8`; the others are their own id
                assert!(
                    mode.name().starts_with(name.as_deref().unwrap_or("?")),
                    "{mode:?}"
                );
                if !reached.contains(&mode) {
                    reached.push(mode);
                }
            }
        }
        assert!(ModeArg::Int16x8.mode(Some(IoArg::Uint8)).is_err());
        assert!(ModeArg::IntegerOnly.mode(Some(IoArg::Int16)).is_err());
        let every: Vec<Mode> = Mode::ALL.into_iter().chain(Mode::EXTRA).collect();
        assert_eq!(reached, every);
    }
}
