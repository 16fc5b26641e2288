//! Hostile `.tflite` input through the whole path a user's file takes (read → plan → invoke, then the
//! deployment check, static shapes and explanations, via the fuzz entry point): truncation at every
//! 97th byte, bit flips and word swaps of TF's five reference files, its float16 file and four of its
//! 16x8 files, and absurd quantization parameters written into otherwise valid int8 and 16x8 models. Every result must be Ok or a typed
//! error; a panic fails the test.

mod common;

use common::{REFERENCE, reference};
use ptq_playground::Error;
use ptq_playground::fuzzing::tflite_bytes;
use ptq_playground::interp::Interpreter;
use ptq_playground::rng::Rng;
use ptq_playground::tflite::{Quantization, read_model};

#[test]
fn truncations_bit_flips_and_word_swaps() {
    let mut rng = Rng::new(97);
    let (mut accepted, mut rejected) = (0, 0);
    let mut count = |ok: bool| if ok { accepted += 1 } else { rejected += 1 };
    let root = common::fixtures();
    let extra = [
        "float16/mnist_float16.tflite",
        "int16x8/mnist_int16x8.tflite",
        "int16x8/mnist_int16x8_int16io.tflite",
        "int16x8/depthwise_int16x8.tflite",
        "int16x8/cnn_softmax_int16x8.tflite",
    ];
    let files = REFERENCE
        .iter()
        .map(|name| reference(name))
        .chain(extra.iter().map(|f| std::fs::read(root.join(f)).unwrap()));
    for bytes in files {
        for cut in (0..bytes.len()).step_by(97) {
            count(tflite_bytes(&bytes[..cut]));
        }
        for _ in 0..400 {
            let mut b = bytes.clone();
            let bit = rng.below(b.len() as u64 * 8) as usize;
            b[bit / 8] ^= 1 << (bit % 8);
            count(tflite_bytes(&b));
        }
        for _ in 0..400 {
            let mut b = bytes.clone();
            let words = b.len() / 4;
            let (i, j) = (
                rng.below(words as u64) as usize * 4,
                rng.below(words as u64) as usize * 4,
            );
            for k in 0..4 {
                b.swap(i + k, j + k);
            }
            count(tflite_bytes(&b));
        }
    }
    eprintln!("{accepted} mutated files accepted and run, {rejected} rejected with typed errors");
    assert!(rejected > 0 && accepted > 0);
}

#[test]
fn absurd_quantization_parameters_are_typed_errors_at_load() {
    let model = read_model(&reference("mnist_intonly_uint8")).unwrap();
    // tensor 15: the conv output (int8, per tensor); tensor 9: the conv weights (per axis, 12 scales)
    let edits: Vec<(&str, usize, Quantization)> = vec![
        ("zero scale", 15, Quantization::per_tensor(0.0, -128)),
        ("NaN scale", 15, Quantization::per_tensor(f32::NAN, -128)),
        (
            "infinite scale",
            15,
            Quantization::per_tensor(f32::INFINITY, -128),
        ),
        ("negative scale", 15, Quantization::per_tensor(-0.01, -128)),
        (
            "zero point out of int8 range",
            15,
            Quantization::per_tensor(0.01, 300),
        ),
        (
            "per-axis count mismatch",
            9,
            Quantization::per_axis(vec![0.01; 5], vec![0; 5], 0),
        ),
        (
            "per-axis dimension out of range",
            9,
            Quantization::per_axis(vec![0.01; 12], vec![0; 12], 7),
        ),
        (
            "no parameters on an int8 activation",
            15,
            Quantization::default(),
        ),
    ];
    for (what, tensor, q) in edits {
        let mut m = model.clone();
        m.subgraphs[0].tensors[tensor].quantization = Some(q);
        match Interpreter::new(&m) {
            Err(e @ (Error::InvalidModel(_) | Error::Unsupported { .. })) => {
                eprintln!("{what}: {e}")
            }
            Err(e) => panic!("{what}: unexpected kind of error: {e}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
}

#[test]
fn absurd_int16_parameters_are_typed_errors_at_load() {
    let root = common::fixtures().join("int16x8");
    let load = |f: &str| read_model(&std::fs::read(root.join(f)).unwrap()).unwrap();
    let mnist = load("mnist_int16x8.tflite");
    let softmax = load("cnn_softmax_int16x8.tflite");
    // mnist: tensor 14 the conv output (int16), 13 the conv input, 3 the conv weights, 1 the conv's
    // int64 bias, 20 the dense output; cnn_softmax: tensor 23 the softmax input
    let edits: Vec<(
        &str,
        &ptq_playground::tflite::Model,
        usize,
        Option<Quantization>,
    )> = vec![
        (
            "zero scale",
            &mnist,
            14,
            Some(Quantization::per_tensor(0.0, 0)),
        ),
        (
            "NaN scale",
            &mnist,
            14,
            Some(Quantization::per_tensor(f32::NAN, 0)),
        ),
        (
            "infinite scale",
            &mnist,
            13,
            Some(Quantization::per_tensor(f32::INFINITY, 0)),
        ),
        (
            "negative scale",
            &mnist,
            20,
            Some(Quantization::per_tensor(-1e-4, 0)),
        ),
        (
            "non-zero int16 zero point",
            &mnist,
            14,
            Some(Quantization::per_tensor(1e-4, 7)),
        ),
        (
            "zero point outside int16",
            &mnist,
            14,
            Some(Quantization::per_tensor(1e-4, 70000)),
        ),
        ("no parameters on an int16 activation", &mnist, 14, None),
        (
            "an output scale needing a huge multiplier",
            &mnist,
            14,
            Some(Quantization::per_tensor(1e-38, 0)),
        ),
        (
            "weights with 5 scales for 12 channels",
            &mnist,
            3,
            Some(Quantization::per_axis(vec![0.01; 5], vec![0; 5], 0)),
        ),
        (
            "softmax input scale 1e30",
            &softmax,
            23,
            Some(Quantization::per_tensor(1e30, 0)),
        ),
    ];
    for (what, model, tensor, q) in edits {
        let mut m = model.clone();
        m.subgraphs[0].tensors[tensor].quantization = q;
        match Interpreter::new(&m) {
            Err(e @ (Error::InvalidModel(_) | Error::Unsupported { .. })) => {
                eprintln!("{what}: {e}")
            }
            Err(e) => panic!("{what}: unexpected kind of error: {e}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
    // An int64 bias turned into a float32 tensor of the same byte size: refused, not misread.
    let mut m = mnist.clone();
    m.subgraphs[0].tensors[1].dtype = ptq_playground::tflite::TensorType::Float32;
    m.subgraphs[0].tensors[1].shape = vec![24];
    assert!(Interpreter::new(&m).is_err());
    // Extreme but representable parameters plan, and run without a panic on every input value.
    let mut m = mnist.clone();
    m.subgraphs[0].tensors[14].quantization = Some(Quantization::per_tensor(1e-12, 0));
    if let Ok(mut interp) = Interpreter::new(&m) {
        interp.input_mut::<f32>(0).unwrap().fill(1.0);
        interp.invoke().unwrap();
    }
}

#[test]
fn a_ten_megabyte_model_plans_and_runs() {
    use ptq_playground::tflite::{
        FullyConnectedOptions, Model, Operator, Options, Subgraph, Tensor, TensorType, schema::op,
        write_model,
    };
    let mut m = Model::default();
    let weights = m.add_buffer(1e-3f32.to_le_bytes().repeat(2560 * 1024));
    let t = |name: &str, shape: Vec<i32>, buffer| Tensor {
        name: name.into(),
        dtype: TensorType::Float32,
        shape,
        shape_signature: None,
        buffer,
        quantization: None,
        is_variable: false,
    };
    m.subgraphs.push(Subgraph {
        tensors: vec![
            t("x", vec![1, 1024], 0),
            t("w", vec![2560, 1024], weights),
            t("y", vec![1, 2560], 0),
        ],
        inputs: vec![0],
        outputs: vec![2],
        operators: vec![Operator {
            code: op::FULLY_CONNECTED,
            custom_code: None,
            version: 1,
            inputs: vec![0, 1, -1],
            outputs: vec![2],
            options: Options::FullyConnected(FullyConnectedOptions::default()),
        }],
        ..Subgraph::default()
    });
    let bytes = write_model(&m).unwrap();
    assert!(bytes.len() > 10 << 20);
    assert!(tflite_bytes(&bytes), "a 10 MB model must load and run");
    let mut it = Interpreter::new(&read_model(&bytes).unwrap()).unwrap();
    it.input_mut::<f32>(0).unwrap().fill(1.0);
    it.invoke().unwrap();
    assert!((it.output_f32(0).unwrap()[0] - 1.024).abs() < 1e-4);
}
