//! The design layers against Keras, and our batch-normalization folding against TensorFlow's
//! converter (fixtures made by tests/fixtures/design/make_keras_parity.py): Keras's forward pass on
//! fixed weights, and the weights and biases TF's converter wrote after folding, against ours. Also
//! the design's round trip through a float .tflite (export, read back, same outputs).

use ptq_playground::design::{Design, PRESETS};
use ptq_playground::interp::Interpreter;
use ptq_playground::quantize::import::folded_ranges;
use ptq_playground::quantize::{export_float_with_design, import_float};
use ptq_playground::tflite::schema::op;
use ptq_playground::tflite::{Model, read_model, write_model};
use ptq_playground::train::Sequential;
use ptq_playground::train::layers::Layer;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/design");

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The fixture's design, a network for it with the fixture's weights, inputs, Keras's outputs, batch.
fn load(name: &str) -> (Design, Sequential, Vec<f32>, Vec<f32>, usize) {
    let text = std::fs::read_to_string(format!("{DIR}/{name}.json")).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let design = Design::parse(&fixture["design"].to_string()).unwrap();
    let mut net = Sequential::new(&design.architecture_unchecked().unwrap(), 0).unwrap();
    let mut params = fixture["params"].as_array().unwrap().iter();
    for layer in net.layers.iter_mut() {
        let p = match layer {
            Layer::Conv2D(_)
            | Layer::DepthwiseConv2D(_)
            | Layer::Dense(_)
            | Layer::BatchNorm(_) => params.next().unwrap(),
            _ => continue,
        };
        let set = |dst: &mut Vec<f32>, key: &str| {
            let v = floats(&p[key]);
            assert_eq!(v.len(), dst.len(), "{name}: {key}");
            *dst = v;
        };
        match layer {
            Layer::Conv2D(l) => (set(&mut l.weights, "kernel"), set(&mut l.bias, "bias")),
            Layer::DepthwiseConv2D(l) => (set(&mut l.weights, "kernel"), set(&mut l.bias, "bias")),
            Layer::Dense(l) => (set(&mut l.weights, "kernel"), set(&mut l.bias, "bias")),
            Layer::BatchNorm(l) => {
                set(&mut l.gamma, "gamma");
                set(&mut l.beta, "beta");
                set(&mut l.moving_mean, "moving_mean");
                set(&mut l.moving_var, "moving_var");
                ((), ())
            }
            _ => ((), ()),
        };
    }
    assert!(params.next().is_none(), "{name}: weights left over");
    let batch = fixture["batch"].as_u64().unwrap() as usize;
    (
        design,
        net,
        floats(&fixture["inputs"]),
        floats(&fixture["outputs"]),
        batch,
    )
}

/// Our inference forward pass against Keras's `model(x, training=False)`.
fn forward_matches_keras(name: &str) {
    let (_, mut net, x, expected, batch) = load(name);
    let ours = net.forward(&x, batch).to_vec();
    assert_eq!(ours.len(), expected.len());
    for (i, (&a, &e)) in ours.iter().zip(&expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-6 + 1e-5 * e.abs(),
            "{name} output {i}: ours {a}, Keras {e}"
        );
    }
}

#[test]
fn depthwise_average_pool_relu6_and_softmax_match_keras() {
    forward_matches_keras("depthwise");
}

#[test]
fn batch_norm_activation_and_dropout_at_inference_match_keras() {
    forward_matches_keras("batchnorm");
}

#[test]
fn folded_batch_norm_matches_keras_too() {
    forward_matches_keras("folding");
}

/// The constant inputs (weights, bias) of each CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, in order.
fn folded_constants(model: &Model) -> Vec<(Vec<f32>, Vec<f32>)> {
    let graph = &model.subgraphs[0];
    let data = |t: i32| -> Vec<f32> {
        let tensor = &graph.tensors[t as usize];
        model
            .tensor_data(tensor)
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    graph
        .operators
        .iter()
        .filter(|o| [op::CONV_2D, op::DEPTHWISE_CONV_2D, op::FULLY_CONNECTED].contains(&o.code))
        .map(|o| (data(o.inputs[1]), data(o.inputs[2])))
        .collect()
}

/// Distance in units in the last place between two floats of the same sign.
fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    if a.signum() != b.signum() {
        return u32::MAX;
    }
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
}

/// The ranges the page shows for each folded BatchNormalization: before folding, Keras's kernel as
/// trained (the fixture's weights); after, the kernel TensorFlow's converter wrote (equal for conv and
/// depthwise, within TF's few-ulp rsqrt estimate for dense).
#[test]
fn folded_ranges_are_kerass_kernels_and_tfs_folded_ones() {
    let (design, net, _, _, _) = load("folding");
    let tf = read_model(&std::fs::read(format!("{DIR}/folding.tflite")).unwrap()).unwrap();
    let bytes = write_model(&export_float_with_design(&net, &design).unwrap()).unwrap();
    let ranges = folded_ranges(&bytes).unwrap();
    let range = |v: &[f32]| {
        let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        [lo, hi]
    };
    let tf_kernels = folded_constants(&tf);
    assert_eq!(ranges.len(), 3);
    let kinds: Vec<&str> = ranges.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["Conv2D", "DepthwiseConv2D", "Dense"]);
    for (k, r) in ranges.iter().enumerate() {
        let keras = match &net.layers[r.layer] {
            Layer::Conv2D(l) => &l.weights,
            Layer::DepthwiseConv2D(l) => &l.weights,
            Layer::Dense(l) => &l.weights,
            other => panic!("layer {} is {other:?}", r.layer),
        };
        assert!(matches!(net.layers[r.batch_norm], Layer::BatchNorm(_)));
        assert_eq!(r.unfolded, range(keras), "layer {k}");
        let tf_range = range(&tf_kernels[k].0);
        let off = |a: f32, b: f32| ulps(a, b);
        let worst = off(r.folded[0], tf_range[0]).max(off(r.folded[1], tf_range[1]));
        assert!(
            worst <= if k < 2 { 0 } else { 8 },
            "layer {k}: {:?} vs TF {tf_range:?}",
            r.folded
        );
        assert_ne!(r.folded, r.unfolded, "folding changed layer {k}'s range");
    }
    // a model without batch normalization has none; bytes that are no model give an error
    let mlp = PRESETS
        .iter()
        .find(|p| p.name == "mlp")
        .unwrap()
        .design()
        .unwrap();
    let plain =
        write_model(&export_float_with_design(&mlp.build(0).unwrap(), &mlp).unwrap()).unwrap();
    assert_eq!(folded_ranges(&plain).unwrap(), []);
    assert!(folded_ranges(&[0; 8]).is_err());
}

#[test]
fn batch_norm_folds_as_tensorflow_converter_folds_it() {
    let (design, net, x, _, batch) = load("folding");
    let tf = read_model(&std::fs::read(format!("{DIR}/folding.tflite")).unwrap()).unwrap();
    let ours = export_float_with_design(&net, &design).unwrap();
    let (tf_c, our_c) = (folded_constants(&tf), folded_constants(&ours));
    assert_eq!(tf_c.len(), 3, "TF folded all three BatchNormalizations");
    assert_eq!(our_c.len(), 3);
    // Conv2D (3 channels) and DepthwiseConv2D (6): bit-identical. Dense (10 channels): TensorFlow
    // constant-folds rsqrt(var + ε) with Eigen's vectorized rsqrt, a hardware estimate refined by one
    // Newton step, on the first 8 channels (the last 2 take the exact scalar path), so those differ
    // from the correctly rounded 1/√ by a few ulp, depending on the CPU that ran the converter.
    for (layer, ((tw, tb), (ow, ob))) in tf_c.iter().zip(&our_c).enumerate() {
        assert_eq!((tw.len(), tb.len()), (ow.len(), ob.len()));
        let (mut exact, mut worst) = (0, 0);
        for (&t, &o) in tw.iter().chain(tb).zip(ow.iter().chain(ob)) {
            let d = ulps(t, o);
            worst = worst.max(d);
            exact += usize::from(d == 0);
        }
        let values = tw.len() + tb.len();
        eprintln!(
            "layer {layer}: {exact} of {values} folded values bit-identical to TensorFlow's, worst {worst} ulp"
        );
        if layer < 2 {
            assert_eq!(
                exact, values,
                "conv/depthwise fold {layer} differs from TensorFlow's"
            );
        } else {
            assert!(
                worst <= 8,
                "a folded dense value is {worst} ulp from TensorFlow's"
            );
            // the last two channels took TF's exact path: weights 8·96.. and biases 8, 9
            assert!(tw[8 * 96..] == ow[8 * 96..] && tb[8..] == ob[8..]);
        }
    }
    // and both files compute the same function
    let run = |m: &Model| -> Vec<f32> {
        let mut out = Vec::new();
        let mut it = Interpreter::new(m).unwrap();
        let n = x.len() / batch;
        for image in x.chunks_exact(n) {
            it.set_input(0, image).unwrap();
            it.invoke().unwrap();
            out.extend_from_slice(it.output_f32(0).unwrap());
        }
        out
    };
    for (a, b) in run(&tf).iter().zip(run(&ours)) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "TF {a}, ours {b}");
    }
}

/// Export → bytes → import: the same design and bit-identical outputs, the batch normalization's
/// parameters restored unfolded, and training resumable.
#[test]
fn a_model_file_carries_its_design_and_weights_back() {
    for name in ["batchnorm", "depthwise", "folding"] {
        let (design, mut net, x, _, batch) = load(name);
        let bytes = write_model(&export_float_with_design(&net, &design).unwrap()).unwrap();
        let (back_design, mut back) = import_float(&bytes).unwrap();
        assert_eq!(back_design, design);
        assert_eq!(net.forward(&x, batch), back.forward(&x, batch), "{name}");
        let params = |n: &mut Sequential| -> Vec<Vec<f32>> {
            n.params_and_grads()
                .into_iter()
                .map(|(p, _)| p.to_vec())
                .collect()
        };
        assert_eq!(params(&mut net), params(&mut back), "{name}");
        let stats = |n: &Sequential| -> Vec<Vec<f32>> {
            n.layers
                .iter()
                .filter_map(|l| match l {
                    Layer::BatchNorm(b) => Some([b.moving_mean.clone(), b.moving_var.clone()]),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        assert_eq!(stats(&net), stats(&back), "{name}");
    }
    for preset in PRESETS {
        let design = preset.design().unwrap();
        let net = design.build(3).unwrap();
        let bytes = write_model(&export_float_with_design(&net, &design).unwrap()).unwrap();
        let (back_design, mut back) = import_float(&bytes).unwrap();
        assert_eq!(back_design, design);
        let x: Vec<f32> = (0..2 * 784).map(|i| (i % 255) as f32 / 255.0).collect();
        let mut net = net;
        assert_eq!(net.forward(&x, 2), back.forward(&x, 2), "{}", preset.name);
    }
    // a file without a design says so
    let tf = std::fs::read(format!("{DIR}/folding.tflite")).unwrap();
    let err = import_float(&tf).unwrap_err().to_string();
    assert!(err.contains("ptq_design"), "{err}");
}

/// A design ending in a softmax exports SOFTMAX (β 1), and the integer converter gives its int8
/// output TF's fixed parameters, scale 1/256 and zero point −128; a BatchNormalization leaves no
/// operator of its own.
#[test]
fn a_softmax_design_exports_softmax_and_converts_with_fixed_output_parameters() {
    use ptq_playground::quantize::{ConvertOptions, IoType, Mode, calibrate_first, convert};
    use ptq_playground::tflite::Options;
    let design = Design::parse(
        r#"{"name":"soft","input_shape":[28,28],"layers":[
        {"type":"Reshape","target_shape":[28,28,1]},
        {"type":"Conv2D","filters":4,"kernel_size":3,"strides":2},
        {"type":"BatchNormalization"},
        {"type":"Activation","activation":"relu"},
        {"type":"Flatten"},
        {"type":"Dropout","rate":0.5},
        {"type":"Dense","units":10,"activation":"softmax"}]}"#,
    )
    .unwrap();
    let net = design.build(1).unwrap();
    let float = export_float_with_design(&net, &design).unwrap();
    let codes: Vec<i32> = float.subgraphs[0]
        .operators
        .iter()
        .map(|o| o.code)
        .collect();
    // the BatchNormalization and the ReLU are inside the CONV_2D; the Dropout is gone
    assert_eq!(
        codes,
        vec![
            op::RESHAPE,
            op::CONV_2D,
            op::RESHAPE,
            op::FULLY_CONNECTED,
            op::SOFTMAX
        ]
    );
    assert_eq!(
        float.subgraphs[0].operators[4].options,
        Options::Softmax { beta: 1.0 }
    );
    let images: Vec<u8> = (0..20 * 784).map(|i| ((i * 7) % 256) as u8).collect();
    let cal = calibrate_first(&float, &images, 784, 20).unwrap();
    let int8 = convert(
        &float,
        &ConvertOptions::new(Mode::IntegerOnly(IoType::Int8)),
        Some(&cal),
    )
    .unwrap();
    let it = Interpreter::new(&int8).unwrap();
    let out = &it.outputs()[0];
    assert_eq!((out.scale, out.zero_point), (1.0 / 256.0, -128));
}

/// Training mode against Keras's `model(x, training=True)`: batch statistics (biased variance) in the
/// forward pass, and the moving statistics that one call leaves (momentum 0.99).
#[test]
fn batch_norm_in_training_mode_matches_keras() {
    let (_, mut net, x, _, batch) = load("folding");
    let text = std::fs::read_to_string(format!("{DIR}/folding.json")).unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let expected = floats(&fixture["outputs_training"]);
    let ours = net.forward_training(&x, batch).to_vec();
    let mut worst = 0.0f32;
    for (i, (&a, &e)) in ours.iter().zip(&expected).enumerate() {
        let d = (a - e).abs() / (1.0 + e.abs());
        worst = worst.max(d);
        assert!(d <= 1e-5, "output {i}: ours {a}, Keras {e}");
    }
    eprintln!("training-mode outputs: worst relative difference {worst:e}");
    let moved = fixture["moving_after_training"].as_array().unwrap();
    let ours: Vec<_> = net
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::BatchNorm(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(ours.len(), moved.len());
    for (bn, keras) in ours.iter().zip(moved) {
        for (mine, key) in [
            (&bn.moving_mean, "moving_mean"),
            (&bn.moving_var, "moving_var"),
        ] {
            for (&a, e) in mine.iter().zip(floats(&keras[key])) {
                assert!(
                    (a - e).abs() <= 1e-6 * (1.0 + e.abs()),
                    "{key}: ours {a}, Keras {e}"
                );
            }
        }
    }
}
