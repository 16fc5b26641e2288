//! `ptq inspect FILE [--json]`: what a `.tflite` file holds — operators, tensors with their quantization,
//! metadata, signatures, sizes. The report is built by the library (`tflite::inspect`) so the web page can
//! show the same thing.

use std::path::PathBuf;

use ptq_playground::tflite::{self, limits};
use ptq_playground::{Error, Result};

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The .tflite file to describe
    pub file: PathBuf,
    /// Print the report as JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let path = args.file.display();
    // Refuse oversized files before reading them into memory.
    let size = std::fs::metadata(&args.file)
        .map_err(|e| Error::io(&path, e))?
        .len();
    Error::check_limit("file size", size, limits::MAX_FILE_BYTES as u64)
        .map_err(|e| e.in_file(&path))?;
    let bytes = std::fs::read(&args.file).map_err(|e| Error::io(&path, e))?;
    let report = tflite::inspect_bytes(&bytes).map_err(|e| e.in_file(&path))?;
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| {
            Error::InvalidArgument(format!("cannot render the report as JSON: {e}"))
        })?;
        println!("{json}");
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
