//! Float16 quantization (`ptq convert --mode float16`) against TensorFlow 2.21's
//! (tests/fixtures/float16, made by make_float16.py next to it from the tutorial's reference model):
//! the same float16 weights and biases, byte for byte; outputs equal to LiteRT BUILTIN_REF's on TF's
//! file for 100 test images within 1e-4 (and our interpreter runs TF's own file bit for bit); the file
//! within 1% of TF's size.

mod common;

use common::{fixtures, float_outputs, test_images};
use ptq_playground::quantize::{ConvertOptions, Mode, convert, detect_mode};
use ptq_playground::tflite::{Model, TensorType, read_model, write_model};

fn halves(model: &Model) -> Vec<(Vec<i32>, Vec<u8>)> {
    let mut out: Vec<(Vec<i32>, Vec<u8>)> = model.subgraphs[0]
        .tensors
        .iter()
        .filter(|t| t.dtype == TensorType::Float16)
        .map(|t| (t.shape.clone(), model.tensor_data(t).unwrap().to_vec()))
        .collect();
    out.sort();
    out
}

#[test]
fn float16_matches_tf() {
    let root = fixtures();
    let float =
        read_model(&std::fs::read(root.join("reference/mnist_float.tflite")).unwrap()).unwrap();
    let tf_bytes = std::fs::read(root.join("float16/mnist_float16.tflite")).unwrap();
    let tf = read_model(&tf_bytes).unwrap();
    let ours = convert(&float, &ConvertOptions::new(Mode::Float16), None).unwrap();
    let ours_bytes = write_model(&ours).unwrap();
    let ours = read_model(&ours_bytes).unwrap();
    assert_eq!(detect_mode(&ours), Mode::Float16);
    assert_eq!(detect_mode(&tf), Mode::Float16);
    let (a, b) = (halves(&ours), halves(&tf));
    assert_eq!(a.len(), 4, "conv and dense weights and biases");
    assert_eq!(a, b, "float16 constants");
    let litert: Vec<f32> = std::fs::read(root.join("float16/mnist_float16.ref.float32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let images = &test_images()[..100 * 784];
    let on_tf = float_outputs(&tf, images);
    assert!(
        on_tf
            .iter()
            .zip(&litert)
            .all(|(x, y)| x.to_bits() == y.to_bits()),
        "TF's float16 file, bit for bit"
    );
    let on_ours = float_outputs(&ours, images);
    let worst = on_ours
        .iter()
        .zip(&litert)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-4, "ours vs LiteRT: {worst}");
    let ratio = ours_bytes.len() as f64 / tf_bytes.len() as f64;
    assert!(
        (ratio - 1.0).abs() <= 0.01,
        "{} vs {} bytes",
        ours_bytes.len(),
        tf_bytes.len()
    );
}
