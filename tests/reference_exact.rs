//! Bit-exactness against LiteRT's reference kernels (`OpResolverType.BUILTIN_REF`, TF 2.21 /
//! ai-edge-litert 2.3.0).
//!
//! - `reference_models`: TF's five tutorial files in `fixtures/reference/` on all 10,000 MNIST test
//!   images. Every output must be bit-identical for every image, float and dynamic-range outputs
//!   included. Agreement with LiteRT's default XNNPACK path is printed, not asserted.
//! - `op_fixtures`: the TF-converted op-coverage models in `fixtures/ops/` (first 300 images each), same
//!   criterion.
//! - `edited_variants`, `hybrid_row_sum_overflow_matches_litert`: LiteRT behaviour on paths TF's converter
//!   does not produce for MNIST (`fixtures/interp/`).
//! - Every model runs twice: with `Interpreter::new` (fast kernels, fusion) and `Interpreter::reference`
//!   (the naive reference kernels, the fast kernels' oracle).
//!
//! Inputs as the fixtures were made: uint8 = pixel, int8 = pixel − 128, float = pixel / 255.
//! Run with `cargo test --release --test reference_exact -- --nocapture` to see the tables.

mod common;

use std::path::{Path, PathBuf};

use common::{REFERENCE, fixtures, test_images};
use ptq_playground::eval;
use ptq_playground::interp::Interpreter;
use ptq_playground::tflite::TensorType;
use ptq_playground::tflite::read::read_model;

/// Float outputs within this of XNNPACK's are counted in the printed XNNPACK agreement (not asserted).
const XNNPACK_FLOAT_TOLERANCE: f64 = 1e-4;

/// How our raw outputs compare with a file of LiteRT's.
#[derive(Debug, Default)]
struct Agreement {
    images: usize,
    /// Images whose outputs are bit-identical.
    identical: usize,
    /// Images within [`XNNPACK_FLOAT_TOLERANCE`] (float outputs only; printed for XNNPACK).
    within_tolerance: usize,
    /// Largest absolute difference (float outputs) or largest LSB difference (integer outputs).
    max_diff: f64,
    first_mismatch: Option<usize>,
}

fn values(dtype: TensorType, bytes: &[u8]) -> Vec<f64> {
    match dtype {
        TensorType::Float32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        TensorType::Int8 => bytes.iter().map(|&b| b as i8 as f64).collect(),
        TensorType::UInt8 => bytes.iter().map(|&b| b as f64).collect(),
        other => panic!("unexpected output type {other}"),
    }
}

fn compare(dtype: TensorType, ours: &[u8], theirs: &[u8], bytes_per_image: usize) -> Agreement {
    let mut a = Agreement::default();
    for (i, (o, t)) in ours
        .chunks_exact(bytes_per_image)
        .zip(theirs.chunks_exact(bytes_per_image))
        .enumerate()
    {
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
        if dtype == TensorType::Float32 && diff <= XNNPACK_FLOAT_TOLERANCE {
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
    let reference =
        std::fs::read(format!("{}.ref.{ext}", stem.display())).expect("reference outputs");
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
        Some(x) => format!(
            "xnnpack: {}/{} identical, max {} LSB",
            x.identical, x.images, x.max_diff
        ),
        None => "xnnpack: no file".into(),
    };
    if dtype == TensorType::Float32 {
        println!(
            "{name:<40} ref: {}/{} identical, max |diff| {:.2e}   {xnn_text}",
            r.identical, r.images, r.max_diff
        );
    } else {
        println!(
            "{name:<40} ref: {}/{} identical, max {} LSB   {xnn_text}",
            r.identical, r.images, r.max_diff
        );
    }
    (r.identical != r.images).then(|| {
        format!(
            "{name}: {} of {} images differ from BUILTIN_REF (max difference {:.3e}, first image {:?})",
            r.images - r.identical,
            r.images,
            r.max_diff,
            r.first_mismatch
        )
    })
}

#[test]
fn reference_models() {
    let images = test_images();
    let dir = fixtures().join("reference");
    let failures: Vec<String> = REFERENCE
        .iter()
        .filter_map(|stem| {
            check(
                &dir.join(format!("{stem}.tflite")),
                &images,
                10_000,
                Kernels::Default,
            )
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The naive reference kernels alone (the fast kernels' oracle) meet the same bar.
#[test]
fn reference_models_reference_kernels() {
    let images = test_images();
    let dir = fixtures().join("reference");
    let failures: Vec<String> = REFERENCE
        .iter()
        .filter_map(|stem| {
            check(
                &dir.join(format!("{stem}.tflite")),
                &images,
                10_000,
                Kernels::Reference,
            )
        })
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
        .flat_map(|m| {
            [
                check(m, &images, 300, Kernels::Default),
                check(m, &images, 300, Kernels::Reference),
            ]
        })
        .flatten()
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} files fail:\n{}",
        failures.len(),
        models.len(),
        failures.join("\n")
    );
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
    for (mode, ext) in [
        ("fullint_floatio", "float32"),
        ("intonly_uint8", "uint8"),
        ("intonly_int8", "int8"),
    ] {
        let model =
            read_model(&std::fs::read(dir.join(format!("mnist_{mode}.tflite"))).unwrap()).unwrap();
        let mut interp = Interpreter::with_fc_requant(
            &model,
            InterpreterOptions::default(),
            FcRequant::FixedPoint,
        )
        .unwrap();
        let out = &interp.outputs()[0];
        let bpi = out.num_elements() * out.dtype.size().unwrap();
        let ours = eval::raw_outputs(&mut interp, &images, 784, |_, _| true).unwrap();
        let reference = std::fs::read(dir.join(format!("mnist_{mode}.ref.{ext}"))).unwrap();
        let differing = ours
            .chunks_exact(bpi)
            .zip(reference.chunks_exact(bpi))
            .filter(|(a, b)| a != b)
            .count();
        println!(
            "mnist_{mode}: fixed-point FC requantization differs from BUILTIN_REF on {differing} of 10000 images"
        );
        total_differing += differing;
    }
    assert!(
        total_differing > 0,
        "the reference vectors do not distinguish the two FC requantizations"
    );
}

/// TF files edited (fixtures/interp/make_variants.py) to reach the symmetric-input hybrid paths.
#[test]
fn edited_variants() {
    let images = test_images();
    let dir = fixtures().join("interp");
    let failures: Vec<String> = ["variant_fc_sym", "variant_conv_pt"]
        .iter()
        .flat_map(|name| {
            let m = dir.join(format!("{name}.tflite"));
            [
                check(&m, &images, 300, Kernels::Default),
                check(&m, &images, 300, Kernels::Reference),
            ]
        })
        .flatten()
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// LiteRT's x86 build sums hybrid FULLY_CONNECTED weight rows in wrapping 16-bit lanes; a 4096-wide
/// dense layer with saturated weights makes them wrap, and LiteRT's output then differs from the
/// float math (−12.11 instead of 1024). We reproduce it bit for bit (fixtures/interp, made by
/// make_dense4096_rowsum.py).
#[test]
fn hybrid_row_sum_overflow_matches_litert() {
    let dir = fixtures().join("interp");
    let model =
        read_model(&std::fs::read(dir.join("dense4096_rowsum_dynamic.tflite")).unwrap()).unwrap();
    let expected: Vec<f32> = std::fs::read(dir.join("dense4096_rowsum_dynamic.ref.float32"))
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let x: Vec<f32> = (0..4096).map(|d| d as f32 / 4095.0).collect();
    for mut interp in [
        Interpreter::new(&model).unwrap(),
        Interpreter::reference(&model).unwrap(),
    ] {
        interp.set_input(0, &x).unwrap();
        interp.invoke().unwrap();
        assert_eq!(interp.output_f32(0).unwrap(), expected.as_slice());
    }
}
