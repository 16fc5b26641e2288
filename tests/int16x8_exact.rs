//! 16x8 quantization (int16 activations, int8 weights, int64 bias) against LiteRT's reference kernels:
//! TF 2.21's files in `fixtures/int16x8/` (made by `make_int16x8.py` there, with LiteRT's BUILTIN_REF
//! outputs on the 10,000 MNIST test images) must give bit-identical raw outputs here, for the
//! tutorial's model (float and int16 input/output, per-channel and per-tensor weights) and the op fixtures (depthwise with ReLU6, average
//! pooling, softmax, stride-2 SAME convolutions, folded batch normalization), with the fast kernels
//! and with the reference kernels alone.

mod common;

use common::{fixtures, test_images};
use ptq_playground::eval;
use ptq_playground::interp::Interpreter;
use ptq_playground::tflite::TensorType;
use ptq_playground::tflite::read::read_model;

const MODELS: [&str; 8] = [
    "mnist_int16x8",
    "mnist_int16x8_int16io",
    "mnist_int16x8_pt",
    "mnist_int16x8_dense_pt",
    "depthwise_int16x8",
    "conv_bn_int16x8",
    "cnn_softmax_int16x8",
    "conv_same_s2_int16x8",
];

/// (images identical, images, largest difference in output units) of `stem` against its LiteRT file.
fn agreement(stem: &str, images: &[u8], reference: bool) -> (usize, usize, f64) {
    let dir = fixtures().join("int16x8");
    let bytes = std::fs::read(dir.join(format!("{stem}.tflite"))).unwrap();
    let model = read_model(&bytes).unwrap();
    let mut interp = if reference {
        Interpreter::reference(&model).unwrap()
    } else {
        Interpreter::new(&model).unwrap()
    };
    let out = interp.outputs()[0].clone();
    let n = out.num_elements();
    let ours = eval::raw_outputs(&mut interp, images, 784, |_, _| true).unwrap();
    let (ext, size) = match out.dtype {
        TensorType::Float32 => ("float32", 4),
        TensorType::Int16 => ("int16", 2),
        other => panic!("{stem}: output type {other}"),
    };
    let theirs = std::fs::read(dir.join(format!("{stem}.ref.{ext}"))).unwrap();
    assert_eq!(ours.len(), theirs.len(), "{stem}: output length");
    let value = |c: &[u8]| -> f64 {
        if size == 4 {
            f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64
        } else {
            i16::from_le_bytes([c[0], c[1]]) as f64
        }
    };
    let mut identical = 0;
    let mut max_diff = 0.0f64;
    for (o, t) in ours
        .chunks_exact(n * size)
        .zip(theirs.chunks_exact(n * size))
    {
        if o == t {
            identical += 1;
        }
        for (a, b) in o.chunks_exact(size).zip(t.chunks_exact(size)) {
            max_diff = max_diff.max((value(a) - value(b)).abs());
        }
    }
    (identical, ours.len() / (n * size), max_diff)
}

#[test]
fn tf_16x8_files_match_litert_reference_kernels() {
    let images = test_images();
    let mut failures = Vec::new();
    // the fast kernels (`Interpreter::new`), then the reference kernels alone (their oracle)
    for reference in [false, true] {
        let kernels = if reference { "reference" } else { "default" };
        for stem in MODELS {
            let (identical, total, max_diff) = agreement(stem, &images, reference);
            println!(
                "{stem:<28} {kernels:<9} {identical}/{total} identical, max diff {max_diff:.3e}"
            );
            if identical != total {
                failures.push(format!(
                    "{stem} ({kernels} kernels): {identical}/{total} identical (max diff {max_diff:.3e})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
