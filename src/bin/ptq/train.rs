//! `ptq train`.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ptq_playground::Result;
use ptq_playground::data::{Mnist, mnist::find_data_dir};
use ptq_playground::quantize::export_float;
use ptq_playground::tflite::write_model;
use ptq_playground::train::{TrainConfig, Trainer};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Number of passes over the 60,000 training images
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Images per gradient step (the last partial batch is kept, as Keras does)
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Adam learning rate (β1 0.9, β2 0.999, ε 1e-7 as Keras)
    #[arg(long, default_value_t = 0.001)]
    pub learning_rate: f32,
    /// Seed for the initial weights and the per-epoch shuffles (same seed, same weights)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder with the four MNIST IDX files (plain or .gz)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Write the trained model as a float32 .tflite file
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the final summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let dir = find_data_dir(args.data.as_deref())?;
    let mnist = Mnist::load(&dir)?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        seed: args.seed,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(config, &mnist.train)?;
    trainer.check_validation(&mnist.test)?;
    eprintln!(
        "Training on {} images from {} ({} parameters), validating on {} test images",
        mnist.train.len(),
        dir.display(),
        trainer.net.num_params(),
        mnist.test.len()
    );
    let steps = trainer.steps_per_epoch(mnist.train.len());
    let style = ProgressStyle::with_template(
        "{prefix} {bar:30.cyan/blue} {pos:>5}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
    )
    .map_err(|e| ptq_playground::Error::InvalidArgument(e.to_string()))?
    .progress_chars("=> ");
    let started = Instant::now();
    let mut epochs = Vec::new();
    while !trainer.finished() {
        let bar = ProgressBar::new(steps as u64)
            .with_style(style.clone())
            .with_prefix(format!("Epoch {}/{}", trainer.epoch() + 1, args.epochs));
        let epoch_start = Instant::now();
        while let Some(r) = trainer.step(&mnist.train) {
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
        let model = export_float(&trainer.net)?;
        let bytes = write_model(&model)?;
        std::fs::write(path, &bytes).map_err(|e| ptq_playground::Error::io(path.display(), e))?;
        eprintln!("Wrote {} ({} bytes, float32)", path.display(), bytes.len());
    }
    if args.json {
        let summary = serde_json::json!({ "seed": args.seed, "seconds": total, "epochs": epochs });
        println!("{summary}");
    }
    Ok(())
}
