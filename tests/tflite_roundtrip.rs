//! `.tflite` write/read round trips, TF's reference files, and hostile bytes.
//!
//! - Hand-built models (every `Options` variant, per-axis quantization, signatures, metadata, several
//!   subgraphs) survive IR → bytes → IR unchanged.
//! - TF's five reference files read without error, have the structure TF's converter gave them, and survive
//!   read → write → read unchanged, at most as large as TF wrote them.
//! - Truncations, bit flips, swapped offsets and garbage give `Ok` or an error, never a panic.
//!
//! Set `PTQ_REWRITE_DIR=DIR` to also write our re-encoded copies of the reference files into DIR, for
//! `tests/litert/rewrite_check.py` to load with LiteRT.

mod common;

use std::path::PathBuf;

use common::{REFERENCE, fixtures, operator, reference, tensor};
use flatbuffers::FlatBufferBuilder;
use ptq_playground::Error;
use ptq_playground::rng::Rng;
use ptq_playground::tflite::schema::{self, field, op};
use ptq_playground::tflite::*;

/// A model touching every part of the IR the writer encodes.
fn everything() -> Model {
    let mut m = Model {
        description: Some("hand-built".into()),
        ..Model::default()
    };
    let filter = m.add_buffer((0..2 * 3 * 3 * 4).map(|i| i as u8).collect());
    let bias = m.add_buffer(vec![7; 2 * 4]);
    let new_shape = m.add_buffer([1i32, 32].iter().flat_map(|v| v.to_le_bytes()).collect());
    let version = m.add_buffer(b"1.14.0\0\0\0\0\0\0\0\0\0\0".to_vec());
    let blob = m.add_buffer(vec![0xAB; 33]);
    let empty = m.add_buffer(Vec::new());
    m.metadata = vec![
        Metadata {
            name: schema::METADATA_MIN_RUNTIME_VERSION.into(),
            buffer: version,
        },
        Metadata {
            name: "blob".into(),
            buffer: blob,
        },
    ];

    let per_axis = Quantization::per_axis(vec![0.5, 0.25], vec![0, 0], 0);
    let act = |zp| Some(Quantization::per_tensor(0.1, zp));
    let tensors = vec![
        Tensor {
            shape_signature: Some(vec![-1, 4, 4, 4]),
            ..tensor(
                "input",
                TensorType::UInt8,
                &[1, 4, 4, 4],
                empty,
                Some(Quantization::per_tensor(1.0 / 255.0, 0)),
            )
        },
        tensor("q", TensorType::Int8, &[1, 4, 4, 4], 0, act(-128)),
        tensor(
            "filter",
            TensorType::Int8,
            &[2, 3, 3, 4],
            filter,
            Some(per_axis.clone()),
        ),
        tensor(
            "bias",
            TensorType::Int32,
            &[2],
            bias,
            Some(Quantization::per_axis(vec![0.05, 0.025], vec![0, 0], 0)),
        ),
        tensor("conv", TensorType::Int8, &[1, 4, 4, 2], 0, act(5)),
        tensor("dw", TensorType::Int8, &[1, 2, 2, 2], 0, act(5)),
        tensor("pool", TensorType::Int8, &[1, 2, 2, 2], 0, act(5)),
        tensor("avg", TensorType::Int8, &[1, 1, 1, 2], 0, act(5)),
        tensor(
            "new_shape",
            TensorType::Int32,
            &[2],
            new_shape,
            Some(Quantization::default()),
        ),
        tensor("flat", TensorType::Int8, &[1, 2], 0, act(5)),
        tensor("fc", TensorType::Int8, &[1, 2], 0, act(1)),
        tensor(
            "deq",
            TensorType::Float32,
            &[1, 2],
            0,
            Some(Quantization::default()),
        ),
        tensor("softmax", TensorType::Float32, &[1, 2], 0, None),
        tensor("shape", TensorType::Int32, &[2], 0, None),
        tensor("slice", TensorType::Int32, &[], 0, None),
        tensor("pack", TensorType::Int32, &[2], 0, None),
        Tensor {
            is_variable: true,
            quantization: Some(Quantization {
                scale: vec![0.5],
                zero_point: vec![3],
                quantized_dimension: 0,
                min: vec![-1.5],
                max: vec![126.0],
            }),
            ..tensor("state", TensorType::Int16, &[3], 0, None)
        },
        tensor("custom_out", TensorType::Float32, &[1], 0, None),
    ];
    let operators = vec![
        operator(op::QUANTIZE, 1, &[0], &[1], Options::None),
        operator(
            op::CONV_2D,
            3,
            &[1, 2, 3],
            &[4],
            Options::Conv2D(Conv2DOptions {
                padding: Padding::Same,
                stride_w: 1,
                stride_h: 1,
                fused_activation: Activation::Relu6,
                dilation_w: 1,
                dilation_h: 2,
            }),
        ),
        operator(
            op::DEPTHWISE_CONV_2D,
            2,
            &[4, 2, -1],
            &[5],
            Options::DepthwiseConv2D(DepthwiseConv2DOptions {
                padding: Padding::Valid,
                stride_w: 2,
                stride_h: 2,
                depth_multiplier: 1,
                fused_activation: Activation::None,
                dilation_w: 3,
                dilation_h: 1,
            }),
        ),
        operator(
            op::MAX_POOL_2D,
            2,
            &[5],
            &[6],
            Options::Pool2D(Pool2DOptions {
                padding: Padding::Valid,
                stride_w: 1,
                stride_h: 1,
                filter_w: 1,
                filter_h: 1,
                fused_activation: Activation::Relu,
            }),
        ),
        operator(
            op::AVERAGE_POOL_2D,
            2,
            &[6],
            &[7],
            Options::Pool2D(Pool2DOptions {
                padding: Padding::Same,
                stride_w: 2,
                stride_h: 2,
                filter_w: 2,
                filter_h: 2,
                fused_activation: Activation::Tanh,
            }),
        ),
        operator(
            op::RESHAPE,
            1,
            &[7, 8],
            &[9],
            Options::Reshape {
                new_shape: vec![1, -1],
            },
        ),
        operator(
            op::RESHAPE,
            1,
            &[7],
            &[9],
            Options::Reshape { new_shape: vec![] },
        ),
        operator(
            op::FULLY_CONNECTED,
            5,
            &[9, 2, -1],
            &[10],
            Options::FullyConnected(FullyConnectedOptions {
                fused_activation: Activation::ReluN1To1,
                weights_format: 1,
                keep_num_dims: true,
                asymmetric_quantize_inputs: true,
            }),
        ),
        operator(op::DEQUANTIZE, 2, &[10], &[11], Options::Dequantize),
        operator(op::QUANTIZE, 1, &[11], &[10], Options::Quantize),
        operator(
            op::SOFTMAX,
            1,
            &[11],
            &[12],
            Options::Softmax { beta: 0.75 },
        ),
        operator(op::SOFTMAX, 1, &[11], &[12], Options::Softmax { beta: 0.0 }),
        operator(
            op::SHAPE,
            1,
            &[12],
            &[13],
            Options::Shape {
                out_type: TensorType::Int64,
            },
        ),
        operator(
            op::STRIDED_SLICE,
            1,
            &[13, 8, 8, 8],
            &[14],
            Options::StridedSlice(StridedSliceOptions {
                begin_mask: 1,
                end_mask: 2,
                ellipsis_mask: 4,
                new_axis_mask: 8,
                shrink_axis_mask: 16,
                offset: true,
            }),
        ),
        operator(
            op::PACK,
            1,
            &[14, 14],
            &[15],
            Options::Pack {
                values_count: 2,
                axis: 1,
            },
        ),
        operator(
            op::PACK,
            1,
            &[14, 14],
            &[15],
            Options::Pack {
                values_count: 0,
                axis: 0,
            },
        ),
        operator(
            op::FULLY_CONNECTED,
            1,
            &[9, 2],
            &[10],
            Options::FullyConnected(FullyConnectedOptions::default()),
        ),
        Operator {
            custom_code: Some("MyCustomOp".into()),
            ..operator(op::CUSTOM, 1, &[12], &[17], Options::None)
        },
        operator(op::ADD, 1, &[16, 16], &[16], Options::None),
        operator(300, 1, &[16], &[16], Options::None),
    ];
    m.subgraphs.push(Subgraph {
        name: Some("main".into()),
        tensors,
        inputs: vec![0],
        outputs: vec![12, 15],
        operators,
    });
    // A second, unnamed subgraph without operators.
    m.subgraphs.push(Subgraph {
        name: None,
        tensors: vec![tensor("x", TensorType::Bool, &[2, 2], 0, None)],
        inputs: vec![0],
        outputs: vec![0],
        operators: vec![],
    });
    m.signature_defs = vec![
        SignatureDef {
            key: schema::SIGNATURE_SERVING_DEFAULT.into(),
            inputs: vec![TensorMap {
                name: "image".into(),
                tensor_index: 0,
            }],
            outputs: vec![
                TensorMap {
                    name: "probabilities".into(),
                    tensor_index: 12,
                },
                TensorMap {
                    name: "pair".into(),
                    tensor_index: 15,
                },
            ],
            subgraph_index: 0,
        },
        SignatureDef {
            key: "second".into(),
            inputs: vec![],
            outputs: vec![TensorMap {
                name: "x".into(),
                tensor_index: 0,
            }],
            subgraph_index: 1,
        },
    ];
    m
}

#[test]
fn hand_built_model_round_trips() {
    let model = everything();
    validate(&model).unwrap();
    let bytes = write_model(&model).unwrap();
    let back = read_model(&bytes).unwrap();
    assert_eq!(back, model);
    // Encoding is deterministic, and a second trip gives the same bytes.
    assert_eq!(write_model(&back).unwrap(), bytes);
    // The per-axis and present-but-empty quantization survive as such.
    let t = &back.subgraphs[0].tensors;
    assert_eq!(t[2].quantization.as_ref().map(|q| q.scale.len()), Some(2));
    assert_eq!(t[8].quantization, Some(Quantization::default()));
    assert_eq!(t[12].quantization, None);
    assert_eq!(
        back.metadata_value(schema::METADATA_MIN_RUNTIME_VERSION),
        Some(&b"1.14.0\0\0\0\0\0\0\0\0\0\0"[..])
    );
}

#[test]
fn a_ten_megabyte_model_loads() {
    let mut m = Model::default();
    let weights = m.add_buffer(vec![0x3c; 2560 * 1024 * 4]);
    m.subgraphs.push(Subgraph {
        tensors: vec![
            tensor("x", TensorType::Float32, &[1, 1024], 0, None),
            tensor("w", TensorType::Float32, &[2560, 1024], weights, None),
            tensor("y", TensorType::Float32, &[1, 2560], 0, None),
        ],
        inputs: vec![0],
        outputs: vec![2],
        operators: vec![operator(
            op::FULLY_CONNECTED,
            1,
            &[0, 1, -1],
            &[2],
            Options::FullyConnected(FullyConnectedOptions::default()),
        )],
        ..Subgraph::default()
    });
    let bytes = write_model(&m).unwrap();
    assert!(bytes.len() > 10 << 20);
    assert_eq!(read_model(&bytes).unwrap(), m);
}

/// The operator names of subgraph 0.
fn op_names(m: &Model) -> Vec<&'static str> {
    m.subgraphs[0]
        .operators
        .iter()
        .map(|o| schema::builtin_name(o.code).unwrap_or("?"))
        .collect()
}

#[test]
fn reference_files_have_tf_structure() {
    let prologue = ["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"];
    let body = [
        "CONV_2D",
        "MAX_POOL_2D",
        "SHAPE",
        "STRIDED_SLICE",
        "PACK",
        "RESHAPE",
        "FULLY_CONNECTED",
    ];
    let plain: Vec<&str> = prologue.iter().chain(&body).copied().collect();
    let with_quantize: Vec<&str> = ["QUANTIZE"].iter().chain(&plain).copied().collect();

    for name in REFERENCE {
        let m = read_model(&reference(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.version, 3);
        assert_eq!(m.description.as_deref(), Some("MLIR Converted."));
        assert_eq!(m.subgraphs.len(), 1);
        assert!(m.buffers[0].is_empty());
        let sig = &m.signature_defs[0];
        assert_eq!(sig.key, "serving_default");
        assert_eq!(sig.inputs[0].name, "keras_tensor");
        assert_eq!(sig.outputs[0].name, "output_0");
        let main = &m.subgraphs[0];
        assert_eq!(sig.inputs[0].tensor_index as i32, main.inputs[0]);
        assert_eq!(sig.outputs[0].tensor_index as i32, main.outputs[0]);
        let input = &main.tensors[main.inputs[0] as usize];
        assert_eq!(input.shape, [1, 28, 28]);
        assert_eq!(input.shape_signature.as_deref(), Some(&[-1, 28, 28][..]));
        assert!(m.metadata_value("min_runtime_version").is_some());

        let ops = op_names(&m);
        let (expected, io): (Vec<&str>, _) = match name {
            "mnist_float" | "mnist_dynamic" => (plain.clone(), TensorType::Float32),
            "mnist_intonly_int8" => (plain.clone(), TensorType::Int8),
            "mnist_fullint_floatio" => (
                [&with_quantize[..], &["DEQUANTIZE"]].concat(),
                TensorType::Float32,
            ),
            _ => (
                [&with_quantize[..], &["QUANTIZE"]].concat(),
                TensorType::UInt8,
            ),
        };
        assert_eq!(ops, expected, "{name}");
        assert_eq!(input.dtype, io, "{name}");
        assert_eq!(main.tensors[main.outputs[0] as usize].dtype, io, "{name}");

        // Conv and pool options as the tutorial's Keras layers give them.
        for o in &main.operators {
            match &o.options {
                Options::Conv2D(c) => assert_eq!(
                    c,
                    &Conv2DOptions {
                        padding: Padding::Valid,
                        stride_w: 1,
                        stride_h: 1,
                        fused_activation: Activation::Relu,
                        dilation_w: 1,
                        dilation_h: 1,
                    }
                ),
                Options::Pool2D(p) => {
                    assert_eq!(
                        (p.padding, p.filter_w, p.filter_h, p.stride_w, p.stride_h),
                        (Padding::Valid, 2, 2, 2, 2)
                    )
                }
                _ => {}
            }
        }
    }

    // The integer-only uint8 file, as the tutorial prints it.
    let m = read_model(&reference("mnist_intonly_uint8")).unwrap();
    let main = &m.subgraphs[0];
    let input = &main.tensors[main.inputs[0] as usize];
    assert_eq!(input.per_tensor_quantization(), Some((1.0 / 255.0, 0)));
    let output = &main.tensors[main.outputs[0] as usize];
    assert_eq!(output.per_tensor_quantization().map(|q| q.1), Some(177));
    let versions: Vec<i32> = main.operators.iter().map(|o| o.version).collect();
    assert_eq!(versions, [1, 1, 1, 1, 1, 3, 2, 1, 1, 1, 1, 4, 1]);
    // Per-channel conv and FC weights along axis 0, int32 biases.
    let conv = &main.operators[5];
    let filter = &main.tensors[conv.inputs[1] as usize];
    assert_eq!(
        (filter.dtype, filter.shape.as_slice()),
        (TensorType::Int8, &[12, 3, 3, 1][..])
    );
    let q = filter.quantization.as_ref().unwrap();
    assert_eq!((q.scale.len(), q.quantized_dimension), (12, 0));
    assert_eq!(
        main.tensors[conv.inputs[2] as usize].dtype,
        TensorType::Int32
    );
    let fc = &main.operators[11];
    let weights = &main.tensors[fc.inputs[1] as usize];
    assert_eq!(weights.shape, [10, 2028]);
    assert_eq!(
        weights.quantization.as_ref().map(|q| q.scale.len()),
        Some(10)
    );
    assert_eq!(m.tensor_data(weights).map(<[u8]>::len), Some(20280));
    assert_eq!(
        m.metadata_value("min_runtime_version"),
        Some(&b"1.14.0\0\0\0\0\0\0\0\0\0\0"[..])
    );

    // The dynamic-range file: hybrid FC (float in, int8 weights) at version 12.
    let m = read_model(&reference("mnist_dynamic")).unwrap();
    let fc = m.subgraphs[0].operators.last().unwrap();
    assert_eq!(fc.version, 12);
    assert!(matches!(&fc.options, Options::FullyConnected(o) if o.asymmetric_quantize_inputs));
}

#[test]
fn reference_files_round_trip() {
    let out_dir = std::env::var_os("PTQ_REWRITE_DIR").map(PathBuf::from);
    for name in REFERENCE {
        let original = reference(name);
        let model = read_model(&original).unwrap();
        let bytes = write_model(&model).unwrap();
        let back = read_model(&bytes).unwrap_or_else(|e| panic!("{name} re-written: {e}"));
        assert_eq!(back, model, "{name}");
        assert!(
            bytes.len() <= original.len(),
            "{name}: {} > TF's {}",
            bytes.len(),
            original.len()
        );
        // The report is stable across the round trip, apart from the file size.
        let (a, b) = (inspect(&model, 0), inspect(&back, 0));
        assert_eq!(a, b);
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.tflite")), &bytes).unwrap();
        }
    }
}

/// Read (and if that works, write and report): must not panic, whatever the bytes.
fn survive(bytes: &[u8]) -> bool {
    match read_model(bytes) {
        Ok(model) => {
            let _ = inspect(&model, bytes.len()).to_text();
            // Whatever the reader accepts, the writer encodes or refuses (Unknown options) cleanly, and
            // the encoding reads back to the same model (compared as bytes: a flipped scale may be NaN).
            if let Ok(again) = write_model(&model) {
                assert_eq!(write_model(&read_model(&again).unwrap()).unwrap(), again);
            }
            true
        }
        Err(e) => {
            assert!(
                matches!(e, Error::MalformedTflite(_) | Error::LimitExceeded { .. }),
                "unexpected error kind: {e:?}"
            );
            false
        }
    }
}

#[test]
fn truncated_files_are_errors() {
    for name in REFERENCE {
        let bytes = reference(name);
        for len in (0..bytes.len()).step_by(97) {
            // The tail holds the buffers TF wrote first; cutting it leaves offsets pointing past the end.
            assert!(
                !survive(&bytes[..len]),
                "{name} truncated to {len} bytes was accepted"
            );
        }
    }
}

#[test]
fn bit_flips_and_offset_swaps_do_not_panic() {
    let mut rng = Rng::new(7);
    for name in REFERENCE {
        let original = reference(name);
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..400 {
            let mut bytes = original.clone();
            // One to four random bit flips…
            for _ in 0..=rng.below(4) {
                let i = rng.below(bytes.len() as u64) as usize;
                bytes[i] ^= 1 << rng.below(8);
            }
            // …and sometimes two aligned words swapped (often two offsets).
            if rng.below(2) == 0 {
                let words = bytes.len() / 4;
                let (a, b) = (
                    4 * rng.below(words as u64) as usize,
                    4 * rng.below(words as u64) as usize,
                );
                for k in 0..4 {
                    bytes.swap(a + k, b + k);
                }
            }
            if survive(&bytes) {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        // Most flips land in weights and stay valid; some must hit the structure.
        assert!(
            accepted > 0 && refused > 0,
            "{name}: {accepted} accepted, {refused} refused"
        );
    }
    // Flip every bit of the first 256 bytes (header, root table, vtables) of one file.
    let original = reference("mnist_intonly_uint8");
    for i in 0..256 {
        for bit in 0..8 {
            let mut bytes = original.clone();
            bytes[i] ^= 1 << bit;
            survive(&bytes);
        }
    }
}

#[test]
fn garbage_is_an_error() {
    let mut rng = Rng::new(11);
    for len in [0, 1, 7, 8, 9, 64, 1000, 100_000] {
        for _ in 0..20 {
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            assert!(!survive(&bytes));
            // With a valid identifier and a small root offset, the reader gets further.
            if len >= 8 {
                bytes[0..4].copy_from_slice(&(rng.below(len.min(256) as u64) as u32).to_le_bytes());
                bytes[4..8].copy_from_slice(schema::FILE_IDENTIFIER);
                survive(&bytes);
            }
        }
    }
}

/// A file whose 2,000 tensors all point at one 1 MiB name: small on disk, huge if decoded naively.
#[test]
fn shared_data_cannot_blow_up_memory() {
    let mut fbb = FlatBufferBuilder::new();
    let name = fbb.create_string(&"n".repeat(1 << 20));
    let shape = fbb.create_vector(&[1i32]);
    let tensors: Vec<_> = (0..2000)
        .map(|_| {
            let start = fbb.start_table();
            fbb.push_slot_always(field::tensor::NAME, name);
            fbb.push_slot_always(field::tensor::SHAPE, shape);
            fbb.end_table(start)
        })
        .collect();
    let tensors = fbb.create_vector(&tensors);
    let subgraph = {
        let start = fbb.start_table();
        fbb.push_slot_always(field::subgraph::TENSORS, tensors);
        fbb.end_table(start)
    };
    let subgraphs = fbb.create_vector(&[subgraph]);
    let buffer = {
        let start = fbb.start_table();
        fbb.end_table(start)
    };
    let buffers = fbb.create_vector(&[buffer]);
    let start = fbb.start_table();
    fbb.push_slot::<u32>(field::model::VERSION, 3, 0);
    fbb.push_slot_always(field::model::SUBGRAPHS, subgraphs);
    fbb.push_slot_always(field::model::BUFFERS, buffers);
    let root = fbb.end_table(start);
    fbb.finish(root, Some("TFL3"));
    let bytes = fbb.finished_data();
    assert!(bytes.len() < (1 << 20) + 100_000);
    assert!(matches!(
        read_model(bytes),
        Err(Error::LimitExceeded { .. })
    ));
}

/// Every `.tflite` under tests/fixtures/ops (TF's converter on small Keras models using more ops) reads,
/// re-writes to the same model, and does not grow (unless it holds options we only keep as `Unknown`).
#[test]
fn op_fixture_files_round_trip() {
    let dir = fixtures().join("ops");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let out_dir = std::env::var_os("PTQ_REWRITE_DIR").map(|d| PathBuf::from(d).join("ops"));
    let mut count = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "tflite") {
            continue;
        }
        let original = std::fs::read(&path).unwrap();
        let model = read_model(&original).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let bytes = write_model(&model).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(read_model(&bytes).unwrap(), model, "{}", path.display());
        assert!(
            bytes.len() <= original.len(),
            "{}: {} > {}",
            path.display(),
            bytes.len(),
            original.len()
        );
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(entry.file_name()), &bytes).unwrap();
        }
        count += 1;
    }
    assert!(count > 0);
}

/// `ptq inspect`'s report on the integer-only uint8 file: what the tutorial prints, and more.
#[test]
fn inspect_reports_the_uint8_model() {
    let bytes = reference("mnist_intonly_uint8");
    let report = inspect_bytes(&bytes).unwrap();
    assert_eq!(report.file_size, 25384);
    assert_eq!(
        (
            report.input_types.as_slice(),
            report.output_types.as_slice()
        ),
        (&["UINT8".to_string()][..], &["UINT8".to_string()][..])
    );
    assert_eq!((report.totals.operators, report.totals.tensors), (13, 23));
    let main = &report.subgraphs[0];
    assert_eq!(main.operators[5].name, "CONV_2D");
    assert_eq!(
        main.operators[5].options,
        "padding=VALID stride=1x1 activation=RELU"
    );
    let filter = &main.tensors[main.operators[5].inputs[1] as usize];
    assert_eq!(
        (
            filter.data_bytes,
            filter.quantization.as_ref().and_then(|q| q.axis)
        ),
        (108, Some(0))
    );
    let text = report.to_text();
    for expected in [
        "I/O: UINT8 in, UINT8 out",
        "input  #0 \"serving_default_keras_tensor:0\": UINT8 [1, 28, 28], scale 0.003921569 zp 0",
        "output #22 \"StatefulPartitionedCall_1:0\": UINT8 [1, 10], scale 0.17128342 zp 177",
        "min_runtime_version = \"1.14.0\"",
        "axis 0 (12 scales)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["subgraphs"][0]["tensors"][22]["quantization"]["zero_point"][0],
        177
    );
}
