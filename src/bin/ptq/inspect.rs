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
    /// Check, per operator, whether an integer-only accelerator (Edge TPU style) would run it, and why
    /// not; a lint from the published requirements, not the vendor's compiler
    #[arg(long)]
    pub deploy: bool,
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
    if args.deploy {
        let model = tflite::read_model(&bytes).map_err(|e| e.in_file(&path))?;
        return print_deploy(&tflite::deploy_check(&model), args.json);
    }
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

fn print_deploy(check: &tflite::DeployCheck, json: bool) -> Result<()> {
    if json {
        let text = serde_json::to_string_pretty(check)
            .map_err(|e| Error::InvalidArgument(format!("cannot render the check as JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "integer-only accelerator check (a lint from the published requirements, not the vendor's compiler):"
    );
    for o in &check.ops {
        let place = match o.placement {
            tflite::deploy::Placement::Accelerator => "accelerator",
            tflite::deploy::Placement::Cpu => "CPU",
        };
        let why = if o.maps {
            if o.placement == tflite::deploy::Placement::Cpu {
                "maps, but follows an operator that does not".to_string()
            } else {
                "maps".to_string()
            }
        } else {
            o.reasons.join("; ")
        };
        println!("{:>4}  {:<18} {:<12} {}", o.op_index, o.op_name, place, why);
    }
    println!(
        "{} of {} operators on the accelerator{}",
        check.mapped,
        check.ops.len(),
        check.first_unmapped.map_or(String::new(), |i| format!(
            "; from operator {i} on, everything runs on the CPU (one partition)"
        ))
    );
    Ok(())
}
