//! `ptq train`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ptq_playground::data::{Mnist, mnist::find_data_dir};
use ptq_playground::design::{Design, preset};
use ptq_playground::quantize::{export_float_with_design, import_float};
use ptq_playground::tflite::write_model;
use ptq_playground::train::parallel::Helpers;
use ptq_playground::train::{TrainConfig, Trainer};
use ptq_playground::{Error, Result};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Number of passes over the training images
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Images per gradient step (the last partial batch is kept, as Keras does)
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Adam learning rate (β1 0.9, β2 0.999, ε 1e-7 as Keras)
    #[arg(long, default_value_t = 0.001)]
    pub learning_rate: f32,
    /// Seed for the initial weights, the per-epoch shuffles and the dropout masks (same seed, same weights)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub design: DesignArgs,
    /// Continue training a float .tflite written by `ptq train` (its design and weights; the optimizer starts afresh)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["arch", "preset"])]
    pub resume: Option<PathBuf>,
    /// Train on the first N training images only (default: all 60,000)
    #[arg(long, value_name = "N")]
    pub train_images: Option<usize>,
    /// Split each batch over N threads (data-parallel, as the page's workers: gradients summed in a
    /// fixed order, so N threads give the same model every time; not for designs with BatchNormalization)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// Folder with the four MNIST IDX files (plain or .gz)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Write the trained model as a float32 .tflite file (it carries the design, for --resume)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// Which model to train: a design file or a preset (the tutorial's CNN when neither is given).
#[derive(clap::Args)]
pub struct DesignArgs {
    /// Model design as JSON with Keras's layer names (README: "Model designs")
    #[arg(long, value_name = "FILE.json", conflicts_with = "preset")]
    pub arch: Option<PathBuf>,
    /// A preset design: tutorial (the default), deep, mlp or mobile
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
}

impl DesignArgs {
    /// The chosen design, checked (its layers fit, its limits hold); errors name the file.
    pub fn load(&self) -> Result<Design> {
        let design = match (&self.arch, &self.preset) {
            (Some(path), _) => read_design(path)?,
            (None, Some(name)) => preset(name)?.design()?,
            (None, None) => preset("tutorial")?.design()?,
        };
        match &self.arch {
            Some(path) => design.summary().map_err(|e| e.in_file(path.display()))?,
            None => design.summary()?,
        };
        Ok(design)
    }
}

fn read_design(path: &Path) -> Result<Design> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    Design::parse(&text).map_err(|e| e.in_file(path.display()))
}

/// The design's layers with their output shapes, parameters and multiply-adds, as Keras's
/// `model.summary()` lists them.
pub fn print_summary(design: &Design) -> Result<()> {
    let s = design.summary()?;
    eprintln!("Model: \"{}\"", design.name);
    eprintln!(
        "{:<22} {:<16} {:>9} {:>11}",
        "Layer (type)", "Output Shape", "Param #", "MACs/image"
    );
    for l in &s.layers {
        eprintln!(
            "{:<22} {:<16} {:>9} {:>11}",
            l.kind,
            format!("{:?}", l.output_shape),
            l.params,
            l.macs
        );
    }
    eprintln!(
        "Total params: {} ({} bytes float32, about {} bytes int8); {} multiply-adds per image",
        s.params, s.float_bytes, s.int8_bytes, s.macs
    );
    Ok(())
}

pub fn run(args: &TrainArgs) -> Result<()> {
    // the design first: a mistake in it is reported before the data is loaded
    let resumed = match &args.resume {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
            Some(import_float(&bytes).map_err(|e| e.in_file(path.display()))?)
        }
        None => None,
    };
    let design = match &resumed {
        Some((design, _)) => design.clone(),
        None => args.design.load()?,
    };
    let dir = find_data_dir(args.data.as_deref())?;
    let mnist = Mnist::load(&dir)?;
    let train = match args.train_images {
        Some(0) => {
            return Err(Error::InvalidArgument(
                "--train-images must be at least 1".into(),
            ));
        }
        Some(n) => mnist.train.take(n),
        None => mnist.train.clone(),
    };
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        seed: args.seed,
        ..TrainConfig::default()
    };
    let mut trainer = match resumed {
        Some((_, net)) => Trainer::resume(config, net, &train)?,
        None => {
            let config = TrainConfig {
                architecture: design.architecture()?,
                ..config
            };
            Trainer::new(config, &train)?
        }
    };
    trainer.check_validation(&mnist.test)?;
    if design.summary().is_ok() {
        print_summary(&design)?;
    }
    eprintln!(
        "Training on {} images from {} ({} parameters), validating on {} test images",
        train.len(),
        dir.display(),
        trainer.net.num_params(),
        mnist.test.len()
    );
    let steps = trainer.steps_per_epoch(train.len());
    let mut helpers = match args.threads {
        1 => None,
        n => Some(Helpers::new(&trainer, Arc::new(train.clone()), n as usize)?),
    };
    let style = ProgressStyle::with_template(
        "{prefix} {bar:30.cyan/blue} {pos:>5}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
    )
    .map_err(|e| Error::InvalidArgument(e.to_string()))?
    .progress_chars("=> ");
    let started = Instant::now();
    let mut epochs = Vec::new();
    while !trainer.finished() {
        let bar = ProgressBar::new(steps as u64)
            .with_style(style.clone())
            .with_prefix(format!("Epoch {}/{}", trainer.epoch() + 1, args.epochs));
        let epoch_start = Instant::now();
        loop {
            let next = match helpers.as_mut() {
                Some(h) => h.step(&mut trainer, &train).transpose()?,
                None => trainer.step(&train),
            };
            let Some(r) = next else { break };
            bar.set_position(r.step as u64);
            if r.step % 25 == 0 || r.step == r.steps_per_epoch {
                let rate = r.step as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!(
                    "loss: {:.4} - accuracy: {:.4} - {rate:.0} steps/s",
                    r.loss, r.accuracy
                ));
            }
            if r.step == r.steps_per_epoch {
                break;
            }
        }
        let train_secs = epoch_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let report = trainer.end_epoch(&mnist.test)?;
        eprintln!(
            "{steps}/{steps} - {:.1}s - {}",
            epoch_start.elapsed().as_secs_f64(),
            report.keras_line()
        );
        epochs.push(serde_json::json!({
            "epoch": report.epoch + 1,
            "loss": report.loss,
            "accuracy": report.accuracy,
            "val_loss": report.val_loss,
            "val_accuracy": report.val_accuracy,
            "train_seconds": train_secs,
            "seconds": epoch_start.elapsed().as_secs_f64(),
        }));
    }
    let total = started.elapsed().as_secs_f64();
    eprintln!("Trained {} epochs in {total:.1}s", args.epochs);
    if let Some(path) = &args.out {
        let model = export_float_with_design(&trainer.net, &design)?;
        let bytes = write_model(&model)?;
        std::fs::write(path, &bytes).map_err(|e| Error::io(path.display(), e))?;
        eprintln!("Wrote {} ({} bytes, float32)", path.display(), bytes.len());
    }
    if args.json {
        let summary = serde_json::json!({
            "design": design.name,
            "seed": args.seed,
            "seconds": total,
            "epochs": epochs,
        });
        println!("{summary}");
    }
    Ok(())
}
