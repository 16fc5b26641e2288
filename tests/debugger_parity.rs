//! `debug::layer_errors` against TensorFlow 2.21's QuantizationDebugger (layer-wise, its default, and
//! accumulated, its whole-model verification) on the tutorial's model and three other architectures: the same verified tensors in the same order, the same
//! operator, scale and zero point, and every metric within 1% relative or 1e-6 absolute of TF's
//! (tests/fixtures/debugger/tf_debugger.json, made by tf_debugger.py next to it: calibration on the first
//! 100 training images, comparison on the first 100 test images).

mod common;

use common::{fixtures, test_images, train_set};
use ptq_playground::debug::{ErrorMode, layer_errors};
use ptq_playground::quantize::{ConvertOptions, Mode, calibrate_first, convert};
use ptq_playground::tflite::read_model;

fn close(ours: f64, tf: f64) -> bool {
    (ours - tf).abs() <= 1e-6 || (ours - tf).abs() <= 0.01 * tf.abs()
}

#[test]
fn layer_wise_metrics_match_tf_debugger() {
    compare(ErrorMode::LayerWise, "layers");
}

/// TF's `enable_whole_model_verify=True`: the float ops run end to end on the float input.
#[test]
fn accumulated_metrics_match_tf_whole_model_verify() {
    compare(ErrorMode::Accumulated, "layers_accumulated");
}

fn compare(mode: ErrorMode, key: &str) {
    let root = fixtures();
    let tf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("debugger/tf_debugger.json")).unwrap(),
    )
    .unwrap();
    let train = train_set();
    let test = test_images();
    let n = tf["debug_images"].as_u64().unwrap() as usize;
    let calibration_images = tf["calibration_images"].as_u64().unwrap() as usize;
    let mut checked = 0;
    let mut worst = (0.0f64, String::new());
    for (file, expected) in tf["models"].as_object().unwrap() {
        let float = read_model(&std::fs::read(root.join(file)).unwrap()).unwrap();
        let calibration =
            calibrate_first(&float, &train.images, train.image_len(), calibration_images).unwrap();
        let quant = convert(
            &float,
            &ConvertOptions::new(Mode::FullInteger),
            Some(&calibration),
        )
        .unwrap();
        let report =
            layer_errors(&float, &quant, &test[..n * 784], 784, mode, |_, _| true).unwrap();
        let layers = expected[key].as_array().unwrap();
        let names: Vec<&str> = report.layers.iter().map(|l| l.op_name.as_str()).collect();
        let tf_names: Vec<&str> = layers
            .iter()
            .map(|l| l["op_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, tf_names, "{file}: verified operators");
        for (ours, tf) in report.layers.iter().zip(layers) {
            let at = format!("{file}: {} {}", ours.op_name, ours.tensor_name);
            assert_eq!(
                ours.scale,
                tf["scale"].as_f64().unwrap() as f32,
                "{at}: scale"
            );
            assert_eq!(
                ours.zero_point as i64,
                tf["zero_point"].as_i64().unwrap(),
                "{at}"
            );
            for (metric, value) in [
                ("num_elements", ours.num_elements),
                ("stddev", ours.stddev),
                ("mean_error", ours.mean_error),
                ("max_abs_error", ours.max_abs_error),
                ("mean_squared_error", ours.mean_squared_error),
            ] {
                let want = tf[metric].as_f64().unwrap();
                assert!(close(value, want), "{at}: {metric} {value} vs TF's {want}");
                if want.abs() > 1e-6 && (value - want).abs() / want.abs() > worst.0 {
                    worst = ((value - want).abs() / want.abs(), format!("{at}: {metric}"));
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * (5 + 7 + 4 + 6), "every TF layer compared");
    eprintln!(
        "{key}: {checked} metrics within 1% (or 1e-6) of TF's; largest relative difference {:.1e} ({})",
        worst.0, worst.1
    );
}
