//! `ptq train` with designs: errors name the file, the layer and the problem before any data is read;
//! a preset trains, and a trained file resumes.
#![cfg(feature = "cli")]

use std::process::Command;

fn ptq(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ptq"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn design_errors_name_the_file_the_layer_and_the_problem() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("design_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name":"bad","input_shape":[28,28],"layers":[{"type":"Flatten"},{"type":"Dense","units":10,"activation":"relu"},{"type":"BatchNormalization"}]}"#,
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    // a data folder that does not exist: the design must fail first
    let (ok, err) = ptq(&[
        "train",
        "--arch",
        bad,
        "--data",
        "/nonexistent",
        "--epochs",
        "1",
    ]);
    assert!(!ok);
    assert!(
        err.contains(bad) && err.contains("layer 2 (BatchNormalization)"),
        "{err}"
    );
    let (ok, err) = ptq(&["train", "--preset", "resnet", "--data", "/nonexistent"]);
    assert!(!ok && err.contains("tutorial, deep, mlp, mobile"), "{err}");
    let missing = dir.join("missing.json");
    let (ok, err) = ptq(&["train", "--arch", missing.to_str().unwrap()]);
    assert!(!ok && err.contains("missing.json"), "{err}");
    let (ok, err) = ptq(&["train", "--arch", bad, "--preset", "mlp"]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}

#[test]
fn a_preset_trains_and_its_file_resumes() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("design_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("mlp.tflite");
    let first = first.to_str().unwrap();
    let (ok, err) = ptq(&[
        "train",
        "--preset",
        "mlp",
        "--epochs",
        "1",
        "--train-images",
        "640",
        "--out",
        first,
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("Model: \"mlp\"") && err.contains("109386"),
        "{err}"
    );
    let second = dir.join("mlp2.tflite");
    let (ok, err) = ptq(&[
        "train",
        "--resume",
        first,
        "--epochs",
        "1",
        "--train-images",
        "640",
        "--out",
        second.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&second).unwrap();
    let (design, _) = ptq_playground::quantize::import_float(&bytes).unwrap();
    assert_eq!(design.name, "mlp");
}

/// `--threads 2` splits each batch as the page's workers do: the same file twice, another than one
/// thread's (the shares' sums round differently), and a BatchNormalization design is refused.
#[test]
fn threads_train_deterministically() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("threads_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let train = |threads: &str, name: &str| -> Vec<u8> {
        let out = dir.join(name);
        let (ok, err) = ptq(&[
            "train",
            "--epochs",
            "1",
            "--train-images",
            "640",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        std::fs::read(out).unwrap()
    };
    let one = train("1", "one.tflite");
    let two = train("2", "two.tflite");
    assert_eq!(two, train("2", "two-again.tflite"));
    assert_ne!(one, two);
    let bn = dir.join("bn.json");
    std::fs::write(
        &bn,
        r#"{"name":"bn","input_shape":[28,28],"layers":[{"type":"Flatten"},{"type":"Dense","units":8},{"type":"BatchNormalization"},{"type":"Dense","units":10}]}"#,
    )
    .unwrap();
    let (ok, err) = ptq(&[
        "train",
        "--arch",
        bn.to_str().unwrap(),
        "--epochs",
        "1",
        "--train-images",
        "64",
        "--threads",
        "2",
    ]);
    assert!(!ok);
    assert!(
        err.contains("BatchNormalization trains on one thread"),
        "{err}"
    );
}
