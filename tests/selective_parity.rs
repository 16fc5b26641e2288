//! Selective quantization against TensorFlow 2.21's (tests/fixtures/selective, made by make_selective.py
//! next to it): for each case our `--deny` conversion has TF's operators in TF's order (shape arithmetic
//! aside), each output float or quantized as in TF's file with TF's scale and zero point, and runs to
//! the same outputs as TF's file on 300 test images, bit for bit.

mod common;

use common::{fixtures, float_outputs, test_images, train_set};
use ptq_playground::quantize::{
    ConvertOptions, Mode, calibrate_first, convert_keeping_float, resolve_keep_float,
};
use ptq_playground::tflite::schema::op;
use ptq_playground::tflite::{Model, TensorType, read_model};

/// (op code, output is float, output scale, output zero point) of each operator but shape arithmetic.
fn signature(model: &Model) -> Vec<(i32, bool, Option<f32>, Option<i64>)> {
    let g = &model.subgraphs[0];
    g.operators
        .iter()
        .filter(|o| !matches!(o.code, op::SHAPE | op::STRIDED_SLICE | op::PACK))
        .map(|o| {
            let t = &g.tensors[o.outputs[0] as usize];
            let q = t.per_tensor_quantization();
            (
                o.code,
                t.dtype == TensorType::Float32,
                q.map(|q| q.0),
                q.map(|q| q.1),
            )
        })
        .collect()
}

#[test]
fn kept_layers_match_tf_selective_quantization() {
    let root = fixtures();
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("selective/cases.json")).unwrap())
            .unwrap();
    let train = train_set();
    let test = test_images();
    let images = &test[..300 * 784];
    let mut compared = 0;
    for (case, spec) in cases.as_object().unwrap() {
        let float_path = root.join(spec["float_model"].as_str().unwrap());
        let float = read_model(&std::fs::read(float_path).unwrap()).unwrap();
        let deny: Vec<String> = spec["deny"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        let keep = resolve_keep_float(&float, &deny).unwrap();
        let calibration = calibrate_first(&float, &train.images, train.image_len(), 100).unwrap();
        let ours = convert_keeping_float(
            &float,
            &ConvertOptions::new(Mode::FullInteger),
            Some(&calibration),
            &keep.ops,
        )
        .unwrap();
        let tf_file =
            read_model(&std::fs::read(root.join(format!("selective/{case}.tflite"))).unwrap())
                .unwrap();
        let expected: Vec<(i32, bool, Option<f32>, Option<i64>)> = spec["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["op"].as_i64().unwrap() as i32,
                    o["float"].as_bool().unwrap(),
                    o["scale"].as_f64().map(|s| s as f32),
                    o["zero_point"].as_i64(),
                )
            })
            .collect();
        assert_eq!(
            signature(&ours),
            expected,
            "{case}: operators and parameters"
        );
        assert_eq!(
            signature(&tf_file),
            expected,
            "{case}: TF's file as we read it"
        );
        let (a, b) = (
            float_outputs(&ours, images),
            float_outputs(&tf_file, images),
        );
        let same = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| x.to_bits() == y.to_bits())
            .count();
        assert_eq!(same, a.len(), "{case}: outputs identical to TF's file's");
        compared += 1;
    }
    assert_eq!(compared, 8);
}
