//! `ptq explain`: one output element of an integer layer worked out by hand, step by step, beside the
//! float model's value for it; `ptq tensors`: every tensor of a model after one image, as raw files (for
//! comparing with another runtime's intermediate tensors).

use std::path::PathBuf;

use ptq_playground::data::{Mnist, find_data_dir};
use ptq_playground::debug::{Explanation, Grid, explain, pair_models};
use ptq_playground::eval::set_image;
use ptq_playground::interp::{Interpreter, InterpreterOptions};
use ptq_playground::tflite::Model;
use ptq_playground::{Error, Result};

use crate::eval::load_model;

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The quantized .tflite model
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Test image to run (0–9999)
    #[arg(long, default_value_t = 0, value_name = "I")]
    pub image: usize,
    /// The layer: its output tensor's name or index
    #[arg(long, value_name = "NAME|INDEX")]
    pub tensor: String,
    /// The element: coordinates in the output's shape, comma-separated (e.g. 0,5,7,3), or one flat index
    #[arg(long, value_name = "COORDS", default_value = "0")]
    pub index: String,
    /// The float model the quantized one was converted from, to show the float value of the element
    #[arg(long, value_name = "FILE")]
    pub float: Option<PathBuf>,
    /// Print the explanation as JSON
    #[arg(long)]
    pub json: bool,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct TensorsArgs {
    /// The .tflite model
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Test image to run (0–9999)
    #[arg(long, default_value_t = 0, value_name = "I")]
    pub image: usize,
    /// Folder to write `<tensor index>.raw` into (little-endian values of the tensor's type) and
    /// `tensors.json` (index, name, type, shape, scale, zero point of each written tensor)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Folder with the MNIST IDX files
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// Run `model` on test image `image` keeping every tensor.
fn run_on_test_image(
    model: &Model,
    image: usize,
    data: Option<&std::path::Path>,
) -> Result<Interpreter> {
    let dir = find_data_dir(data)?;
    let test = Mnist::load_test(&dir)?;
    if image >= test.len() {
        return Err(Error::InvalidArgument(format!(
            "--image {image}: the test set has {} images",
            test.len()
        )));
    }
    let len = test.image_len();
    let options = InterpreterOptions {
        preserve_all_tensors: true,
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(model, options)?;
    set_image(&mut interp, &test.images[image * len..(image + 1) * len])?;
    interp.invoke()?;
    Ok(interp)
}

pub fn run_explain(args: &ExplainArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let graph = model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let tensor = match args.tensor.parse::<usize>() {
        Ok(i) => i,
        Err(_) => graph
            .tensors
            .iter()
            .position(|t| t.name == args.tensor)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "--tensor {}: {} has no tensor of that name",
                    args.tensor,
                    args.model.display()
                ))
            })?,
    };
    let op_index = graph
        .operators
        .iter()
        .position(|o| o.outputs.first() == Some(&(tensor as i32)))
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "--tensor {}: no operator writes tensor {tensor}",
                args.tensor
            ))
        })?;
    let shape: Vec<usize> = graph.tensors[tensor]
        .shape
        .iter()
        .map(|&d| d.max(0) as usize)
        .collect();
    let coords: Vec<usize> = args
        .index
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            Error::InvalidArgument(format!(
                "--index {}: give comma-separated coordinates or one flat index",
                args.index
            ))
        })?;
    let flat = if coords.len() == 1 {
        coords[0]
    } else if coords.len() == shape.len() && coords.iter().zip(&shape).all(|(c, d)| c < d) {
        coords.iter().zip(&shape).fold(0, |acc, (c, d)| acc * d + c)
    } else {
        return Err(Error::InvalidArgument(format!(
            "--index {}: the output has shape {shape:?}",
            args.index
        )));
    };
    let interp = run_on_test_image(&model, args.image, args.data.as_deref())?;
    let e =
        explain(&model, &interp, op_index, flat).map_err(|e| e.in_file(args.model.display()))?;
    let float_value = match &args.float {
        Some(path) => {
            let float = load_model(path)?;
            let pairing = pair_models(&float, &model)?;
            let twin = pairing
                .float_tensor
                .get(tensor)
                .copied()
                .flatten()
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("tensor {tensor} has no float twin"))
                })?;
            let run = run_on_test_image(&float, args.image, args.data.as_deref())?;
            run.tensor::<f32>(twin)?.get(flat).copied()
        }
        None => None,
    };
    if args.json {
        let mut value =
            serde_json::to_value(&e).map_err(|e| Error::InvalidArgument(format!("JSON: {e}")))?;
        if let (Some(f), Some(obj)) = (float_value, value.as_object_mut()) {
            obj.insert("float_value".into(), serde_json::json!(f));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        print_explanation(&e, float_value);
    }
    Ok(())
}

fn print_grid(label: &str, g: &Grid) {
    println!(
        "{label} (shape {:?}, scale {:?}, zero point {}):",
        g.shape, g.scale, g.zero_point
    );
    let row = g.shape.iter().skip(1).product::<usize>().max(1);
    for chunk in g.values.chunks(row) {
        let cells: Vec<String> = chunk
            .iter()
            .map(|v| v.map_or("  pad".to_string(), |v| format!("{v:>5}")))
            .collect();
        println!("  {}", cells.join(""));
    }
}

fn print_explanation(e: &Explanation, float_value: Option<f32>) {
    println!(
        "{} (operator {}), output {} element {:?}",
        e.op_name, e.op_index, e.tensor_name, e.coords
    );
    print_grid("input window", &e.input);
    if let Some(w) = &e.weights {
        print_grid("weights", w);
    }
    for s in &e.steps {
        match s.real {
            Some(r) => println!("  {:<20} {r:.10}", s.id),
            None => println!("  {:<20} {}", s.id, s.value),
        }
    }
    println!(
        "  = {} → real {} × ({} − {}) = {}",
        e.result, e.output_scale, e.result, e.output_zero_point, e.dequantized
    );
    if let Some(f) = float_value {
        println!("  float model: {f} (difference {})", e.dequantized - f);
    }
}

pub fn run_tensors(args: &TensorsArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let interp = run_on_test_image(&model, args.image, args.data.as_deref())?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(args.out.display(), e))?;
    let mut index = Vec::new();
    for i in 0..interp.num_tensors() {
        let (Some(info), Ok(bytes)) = (interp.tensor_info(i), interp.tensor_bytes(i)) else {
            continue;
        };
        let path = args.out.join(format!("{i}.raw"));
        std::fs::write(&path, &bytes).map_err(|e| Error::io(path.display(), e))?;
        index.push(
            serde_json::to_value(info).map_err(|e| Error::InvalidArgument(format!("JSON: {e}")))?,
        );
    }
    let path = args.out.join("tensors.json");
    let text = serde_json::to_string_pretty(&index)
        .map_err(|e| Error::InvalidArgument(format!("JSON: {e}")))?;
    std::fs::write(&path, text).map_err(|e| Error::io(path.display(), e))?;
    eprintln!(
        "{}: {} tensors after test image {}",
        args.out.display(),
        index.len(),
        args.image
    );
    Ok(())
}
