//! The interpreter on hand-built models (planning, folding, the API, errors) and on hostile models: many
//! random mutations of TF's reference models must each load with `Ok` or a typed error, and invoke
//! with `Ok` or a typed error — never a panic.

mod common;

use common::{operator, tensor};
use ptq_playground::Error;
use ptq_playground::eval;
use ptq_playground::interp::kernels::conv2d::{ChannelQuant, ConvShape, conv2d_i8};
use ptq_playground::interp::kernels::window::Window;
use ptq_playground::interp::{FloatArithmetic, Interpreter, InterpreterOptions};
use ptq_playground::rng::Rng;
use ptq_playground::tflite::schema::op;
use ptq_playground::tflite::*;

fn le_i32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// An int8 model in TF's shape: input [1,4,4] int8 → SHAPE → STRIDED_SLICE → PACK → RESHAPE
/// [1,4,4,1] → CONV_2D (2 filters 3×3 SAME, RELU) → MAX_POOL_2D 2×2 → RESHAPE [1,8] (options) →
/// FULLY_CONNECTED 3 → SOFTMAX.
fn tiny_int8_model() -> Model {
    let mut m = Model::default();
    let q = |s: f32, z: i64| Some(Quantization::per_tensor(s, z));
    let b_begin = m.add_buffer(le_i32(&[0]));
    let b_end = m.add_buffer(le_i32(&[1]));
    let b_stride = m.add_buffer(le_i32(&[1]));
    let b_dims = m.add_buffer(le_i32(&[4]));
    let b_one = m.add_buffer(le_i32(&[1]));
    let filter: Vec<u8> = (0..18).map(|i| ((i * 7 % 11) as i8 - 5) as u8).collect();
    let b_filter = m.add_buffer(filter);
    let b_bias = m.add_buffer(le_i32(&[10, -20]));
    let fc: Vec<u8> = (0..24).map(|i| ((i * 5 % 13) as i8 - 6) as u8).collect();
    let b_fc = m.add_buffer(fc);
    let b_fc_bias = m.add_buffer(le_i32(&[100, 0, -100]));
    let tensors = vec![
        tensor("input", TensorType::Int8, &[1, 4, 4], 0, q(0.05, -10)), // 0
        tensor("shape", TensorType::Int32, &[3], 0, None),              // 1
        tensor("begin", TensorType::Int32, &[1], b_begin, None),        // 2
        tensor("end", TensorType::Int32, &[1], b_end, None),            // 3
        tensor("strides", TensorType::Int32, &[1], b_stride, None),     // 4
        tensor("batch", TensorType::Int32, &[], 0, None),               // 5
        tensor("four", TensorType::Int32, &[], b_dims, None),           // 6
        tensor("one", TensorType::Int32, &[], b_one, None),             // 7
        tensor("new_shape", TensorType::Int32, &[4], 0, None),          // 8
        tensor("nhwc", TensorType::Int8, &[1, 4, 4, 1], 0, q(0.05, -10)), // 9
        tensor(
            "filter",
            TensorType::Int8,
            &[2, 3, 3, 1],
            b_filter,
            Some(Quantization::per_axis(vec![0.02, 0.03], vec![0, 0], 0)),
        ), // 10
        tensor(
            "bias",
            TensorType::Int32,
            &[2],
            b_bias,
            Some(Quantization::per_axis(vec![0.001, 0.0015], vec![0, 0], 0)),
        ), // 11
        tensor("conv", TensorType::Int8, &[1, 4, 4, 2], 0, q(0.04, -128)), // 12
        tensor("pool", TensorType::Int8, &[1, 2, 2, 2], 0, q(0.04, -128)), // 13
        tensor("flat", TensorType::Int8, &[1, 8], 0, q(0.04, -128)),    // 14
        tensor(
            "fc_w",
            TensorType::Int8,
            &[3, 8],
            b_fc,
            Some(Quantization::per_axis(
                vec![0.01, 0.02, 0.015],
                vec![0, 0, 0],
                0,
            )),
        ), // 15
        tensor("fc_b", TensorType::Int32, &[3], b_fc_bias, None),       // 16
        tensor("logits", TensorType::Int8, &[1, 3], 0, q(0.1, 5)),      // 17
        tensor("probs", TensorType::Int8, &[1, 3], 0, q(1.0 / 256.0, -128)), // 18
    ];
    let conv = Conv2DOptions {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        fused_activation: Activation::Relu,
        dilation_w: 1,
        dilation_h: 1,
    };
    let pool = Pool2DOptions {
        padding: Padding::Valid,
        stride_w: 2,
        stride_h: 2,
        filter_w: 2,
        filter_h: 2,
        fused_activation: Activation::None,
    };
    let slice = StridedSliceOptions {
        shrink_axis_mask: 1,
        ..Default::default()
    };
    let operators = vec![
        operator(
            op::SHAPE,
            1,
            &[0],
            &[1],
            Options::Shape {
                out_type: TensorType::Int32,
            },
        ),
        operator(
            op::STRIDED_SLICE,
            1,
            &[1, 2, 3, 4],
            &[5],
            Options::StridedSlice(slice),
        ),
        operator(
            op::PACK,
            1,
            &[5, 6, 6, 7],
            &[8],
            Options::Pack {
                values_count: 4,
                axis: 0,
            },
        ),
        operator(op::RESHAPE, 1, &[0, 8], &[9], Options::None),
        operator(op::CONV_2D, 1, &[9, 10, 11], &[12], Options::Conv2D(conv)),
        operator(op::MAX_POOL_2D, 1, &[12], &[13], Options::Pool2D(pool)),
        operator(
            op::RESHAPE,
            1,
            &[13],
            &[14],
            Options::Reshape {
                new_shape: vec![1, -1],
            },
        ),
        operator(
            op::FULLY_CONNECTED,
            1,
            &[14, 15, 16],
            &[17],
            Options::FullyConnected(FullyConnectedOptions::default()),
        ),
        operator(op::SOFTMAX, 1, &[17], &[18], Options::Softmax { beta: 1.0 }),
    ];
    m.subgraphs.push(Subgraph {
        name: Some("main".into()),
        tensors,
        inputs: vec![0],
        outputs: vec![18],
        operators,
    });
    m
}

#[test]
fn plans_folds_and_runs_a_tf_shaped_graph() {
    let model = tiny_int8_model();
    let mut it = Interpreter::with_options(
        &model,
        InterpreterOptions {
            preserve_all_tensors: true,
            ..Default::default()
        },
    )
    .unwrap();
    // SHAPE, STRIDED_SLICE, PACK fold; both RESHAPEs share buffers; 4 ops remain.
    assert_eq!(it.num_steps(), 4);
    assert_eq!(it.tensor::<i32>(8).unwrap(), &[1, 4, 4, 1]);
    assert_eq!(it.tensor::<i32>(5).unwrap(), &[1]);
    let info = &it.inputs()[0];
    assert_eq!(
        (info.dtype, info.shape.clone(), info.scale, info.zero_point),
        (TensorType::Int8, vec![1, 4, 4], 0.05, -10)
    );
    assert_eq!(it.outputs()[0].shape, vec![1, 3]);
    assert_eq!(it.tensor_info(14).unwrap().shape, vec![1, 8]);

    let input: Vec<i8> = (0..16).map(|i| (i * 9 % 23) as i8 - 10).collect();
    it.set_input(0, &input).unwrap();
    it.invoke().unwrap();

    // The convolution output equals the kernel called directly.
    let shape = ConvShape {
        window: Window::new("t", Padding::Same, 1, (4, 4), (3, 3), (1, 1), (1, 1)).unwrap(),
        in_c: 1,
        out_c: 2,
        filter_c: 1,
    };
    let mult: Vec<(i32, i32)> = [0.02f32, 0.03]
        .iter()
        .map(|&s| {
            ptq_playground::interp::fixed_point::quantize_multiplier(0.05f64 * s as f64 / 0.04f64)
        })
        .collect();
    let q = ChannelQuant {
        input_offset: 10,
        output_offset: -128,
        multiplier: mult.iter().map(|m| m.0).collect(),
        shift: mult.iter().map(|m| m.1).collect(),
        act_min: -128,
        act_max: 127,
    };
    let filter: Vec<i8> = (0..18).map(|i| (i * 7 % 11) as i8 - 5).collect();
    let mut conv = vec![0i8; 32];
    conv2d_i8(&shape, &q, &input, &filter, Some(&[10, -20]), &mut conv).unwrap();
    assert_eq!(it.tensor::<i8>(12).unwrap(), conv.as_slice());

    // Softmax output is a distribution: the dequantized values sum to ≈ 1.
    let probs = it.output_dequantized(0).unwrap();
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 0.02, "{probs:?}");
    // Invoking again with the same input gives the same bytes.
    let first = it.output_bytes(0).unwrap();
    it.invoke().unwrap();
    assert_eq!(it.output_bytes(0).unwrap(), first);
}

#[test]
fn api_errors_are_typed() {
    let model = tiny_int8_model();
    let mut it = Interpreter::new(&model).unwrap();
    assert!(matches!(
        it.input_mut::<f32>(0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        it.input_mut::<i8>(1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        it.set_input_bytes(0, &[0; 15]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(it.set_input_bytes(0, &[0; 16]).is_ok());
    assert!(matches!(
        it.set_input::<i8>(0, &[0; 3]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(it.output::<u8>(0), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        it.tensor::<i8>(1000),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        eval::set_image(&mut it, &[0; 784]),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn unsupported_op_is_named_at_load() {
    let mut model = tiny_int8_model();
    model.subgraphs[0].operators[8].code = 28; // TANH
    match Interpreter::new(&model) {
        Err(Error::UnsupportedOp { name, code, .. }) => {
            assert_eq!((name.as_str(), code), ("TANH", 28))
        }
        other => panic!("{other:?}"),
    }
    model.subgraphs[0].operators[8].code = 9999;
    assert!(matches!(
        Interpreter::new(&model),
        Err(Error::UnsupportedOp { code: 9999, .. })
    ));
}

#[test]
fn graph_errors_are_typed() {
    // Reading a tensor that nothing produced.
    let mut model = tiny_int8_model();
    model.subgraphs[0].operators.swap(4, 5);
    assert!(matches!(
        Interpreter::new(&model),
        Err(Error::InvalidModel(_))
    ));
    // Writing a tensor twice.
    let mut model = tiny_int8_model();
    model.subgraphs[0].operators[5].outputs = vec![12];
    assert!(matches!(
        Interpreter::new(&model),
        Err(Error::InvalidModel(_))
    ));
    // A cycle: the conv reads its own output.
    let mut model = tiny_int8_model();
    model.subgraphs[0].operators[4].inputs[0] = 12;
    assert!(matches!(
        Interpreter::new(&model),
        Err(Error::InvalidModel(_))
    ));
    // Scale 0 / NaN, zero point out of range, per-axis count mismatch.
    for q in [
        Quantization::per_tensor(0.0, -128),
        Quantization::per_tensor(f32::NAN, -128),
        Quantization::per_tensor(0.04, 300),
    ] {
        let mut model = tiny_int8_model();
        model.subgraphs[0].tensors[12].quantization = Some(q);
        assert!(
            matches!(Interpreter::new(&model), Err(Error::InvalidModel(_))),
            "{:?}",
            model.subgraphs[0].tensors[12].quantization
        );
    }
    let mut model = tiny_int8_model();
    model.subgraphs[0].tensors[10].quantization =
        Some(Quantization::per_axis(vec![0.1; 3], vec![0; 3], 0));
    assert!(matches!(
        Interpreter::new(&model),
        Err(Error::InvalidModel(_))
    ));
    // A constant with too little data.
    let mut model = tiny_int8_model();
    model.buffers[6].pop();
    assert!(matches!(
        Interpreter::new(&model),
        Err(Error::InvalidModel(_))
    ));
    // Huge shapes hit the limits instead of allocating.
    let mut model = tiny_int8_model();
    model.subgraphs[0].tensors[0].shape = vec![1 << 20, 1 << 20, 4];
    assert!(Interpreter::new(&model).is_err());
}

/// The mutation corpus: TF's five reference files, op-coverage files with the other ops, and the
/// hand-built model.
fn reference_models() -> Vec<Model> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let files = [
        "float",
        "dynamic",
        "fullint_floatio",
        "intonly_uint8",
        "intonly_int8",
    ]
    .iter()
    .map(|m| root.join(format!("reference/mnist_{m}.tflite")))
    .chain(
        [
            "depthwise_intonly_int8",
            "depthwise_dynamic",
            "pools_float",
            "pools2_intonly_uint8",
            "cnn_softmax_intonly_int8",
            "mlp_softmax_float",
            "hybrid_dynamic",
            "dense_3d_b1_fullint_floatio",
            "dilated_b1_intonly_int8",
        ]
        .iter()
        .map(|m| root.join(format!("ops/{m}.tflite"))),
    );
    files
        .map(|path| read_model(&std::fs::read(&path).unwrap()).unwrap())
        .chain(std::iter::once(tiny_int8_model()))
        .collect()
}

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[rng.below(v.len() as u64) as usize]
}

/// One random change to a model's IR.
fn mutate(rng: &mut Rng, m: &mut Model) {
    let sg = &mut m.subgraphs[0];
    let nt = sg.tensors.len() as i32;
    let no = sg.operators.len();
    let wild_i32 = [
        -1,
        0,
        1,
        2,
        3,
        -7,
        26,
        28,
        1000,
        i32::MAX,
        i32::MIN,
        1 << 16,
    ];
    match rng.below(14) {
        0 if no > 0 => {
            let o = &mut sg.operators[rng.below(no as u64) as usize];
            if !o.inputs.is_empty() {
                let k = rng.below(o.inputs.len() as u64) as usize;
                o.inputs[k] = if rng.below(2) == 0 {
                    rng.below(nt as u64 + 2) as i32 - 1
                } else {
                    pick(rng, &wild_i32)
                };
            }
        }
        1 if no > 0 => {
            let o = &mut sg.operators[rng.below(no as u64) as usize];
            if !o.outputs.is_empty() {
                let k = rng.below(o.outputs.len() as u64) as usize;
                o.outputs[k] = rng.below(nt as u64 + 2) as i32 - 1;
            }
        }
        2 => {
            let t = &mut sg.tensors[rng.below(nt as u64) as usize];
            if !t.shape.is_empty() {
                let k = rng.below(t.shape.len() as u64) as usize;
                t.shape[k] = pick(rng, &[0, 1, 2, 3, 5, -1, 1 << 15, 1 << 30, i32::MAX]);
            } else {
                t.shape.push(pick(rng, &[0, 1, 7]));
            }
        }
        3 => {
            let t = &mut sg.tensors[rng.below(nt as u64) as usize];
            match rng.below(3) {
                0 => {
                    t.shape.push(1);
                }
                1 => {
                    t.shape.pop();
                }
                _ => t.shape = vec![1; rng.below(12) as usize],
            }
        }
        4 => {
            let t = &mut sg.tensors[rng.below(nt as u64) as usize];
            t.dtype = pick(rng, &TensorType::ALL);
        }
        5 => {
            let t = &mut sg.tensors[rng.below(nt as u64) as usize];
            let s = pick(
                rng,
                &[
                    0.0,
                    -1.0,
                    f32::NAN,
                    f32::INFINITY,
                    1e-30,
                    1e30,
                    0.5,
                    f32::MIN_POSITIVE,
                ],
            );
            let z = pick(rng, &[0i64, -128, 127, 255, -129, 1 << 40, i64::MIN]);
            t.quantization = Some(match rng.below(3) {
                0 => Quantization::per_tensor(s, z),
                1 => Quantization::per_axis(vec![s; 3], vec![z; 3], pick(rng, &[0, 3, -1, 9])),
                _ => Quantization {
                    scale: vec![s],
                    zero_point: vec![],
                    ..Default::default()
                },
            });
        }
        6 if no > 0 => {
            let o = &mut sg.operators[rng.below(no as u64) as usize];
            o.code = pick(
                rng,
                &[
                    op::CONV_2D,
                    op::DEPTHWISE_CONV_2D,
                    op::FULLY_CONNECTED,
                    op::MAX_POOL_2D,
                    op::AVERAGE_POOL_2D,
                    op::RESHAPE,
                    op::SHAPE,
                    op::STRIDED_SLICE,
                    op::PACK,
                    op::QUANTIZE,
                    op::DEQUANTIZE,
                    op::SOFTMAX,
                    0,
                    32,
                    -5,
                    500,
                ],
            );
        }
        7 if no > 0 => {
            let o = &mut sg.operators[rng.below(no as u64) as usize];
            o.options = match rng.below(8) {
                0 => Options::None,
                1 => Options::Conv2D(Conv2DOptions {
                    padding: if rng.below(2) == 0 {
                        Padding::Same
                    } else {
                        Padding::Valid
                    },
                    stride_w: pick(rng, &wild_i32),
                    stride_h: pick(rng, &[1, 2, 0]),
                    fused_activation: pick(
                        rng,
                        &[
                            Activation::None,
                            Activation::Relu,
                            Activation::Tanh,
                            Activation::Relu6,
                        ],
                    ),
                    dilation_w: pick(rng, &[1, 2, 0, -1, 1 << 20]),
                    dilation_h: 1,
                }),
                2 => Options::Pool2D(Pool2DOptions {
                    padding: Padding::Same,
                    stride_w: pick(rng, &wild_i32),
                    stride_h: 1,
                    filter_w: pick(rng, &wild_i32),
                    filter_h: pick(rng, &[1, 2, 100]),
                    fused_activation: Activation::None,
                }),
                3 => Options::Reshape {
                    new_shape: (0..rng.below(5)).map(|_| pick(rng, &wild_i32)).collect(),
                },
                4 => Options::Softmax {
                    beta: pick(rng, &[0.0, 1.0, f32::NAN, -1.0, 1e30]),
                },
                5 => Options::Pack {
                    values_count: pick(rng, &wild_i32),
                    axis: pick(rng, &wild_i32),
                },
                6 => Options::StridedSlice(StridedSliceOptions {
                    begin_mask: pick(rng, &wild_i32),
                    end_mask: pick(rng, &wild_i32),
                    ellipsis_mask: pick(rng, &[0, 1, 2, -1]),
                    new_axis_mask: pick(rng, &[0, 1, 2, -1]),
                    shrink_axis_mask: pick(rng, &[0, 1, 2, -1]),
                    offset: rng.below(4) == 0,
                }),
                _ => Options::FullyConnected(FullyConnectedOptions {
                    fused_activation: Activation::Relu,
                    weights_format: pick(rng, &[0i8, 1]),
                    keep_num_dims: rng.below(2) == 0,
                    asymmetric_quantize_inputs: rng.below(2) == 0,
                }),
            };
        }
        8 if m.buffers.len() > 1 => {
            let b = 1 + rng.below(m.buffers.len() as u64 - 1) as usize;
            let buf = &mut m.buffers[b];
            match rng.below(3) {
                0 => buf.truncate(buf.len() / 2),
                1 => buf.extend_from_slice(&[0xff; 5]),
                _ => buf.iter_mut().for_each(|x| *x = 0x80),
            }
        }
        9 => {
            let t = &mut sg.tensors[rng.below(nt as u64) as usize];
            t.buffer = rng.below(m.buffers.len() as u64 + 2) as u32;
        }
        10 if no > 1 => {
            let a = rng.below(no as u64) as usize;
            let b = rng.below(no as u64) as usize;
            sg.operators.swap(a, b);
        }
        11 => {
            if rng.below(2) == 0 {
                sg.inputs.push(rng.below(nt as u64 + 1) as i32);
            } else {
                sg.outputs = vec![pick(rng, &wild_i32)];
            }
        }
        12 if no > 0 => {
            let o = &mut sg.operators[rng.below(no as u64) as usize];
            if rng.below(2) == 0 {
                o.inputs.push(rng.below(nt as u64) as i32);
            } else {
                o.inputs.pop();
            }
        }
        _ => {
            // A big but legal-looking input: the work and memory limits must catch it.
            let t = &mut sg.tensors
                [sg.inputs.first().copied().unwrap_or(0).max(0) as usize % nt as usize];
            t.shape = vec![1, pick(rng, &[4096, 65536]), pick(rng, &[4096, 65536])];
        }
    }
}

#[test]
fn hostile_models_never_panic() {
    let models = reference_models();
    // HOSTILE_ROUNDS / HOSTILE_SEED widen the search when run by hand.
    let rounds: usize = std::env::var("HOSTILE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut rng = Rng::new(seed);
    let (mut loaded, mut refused, mut invoked) = (0, 0, 0);
    for round in 0..rounds {
        let mut m = models[round % models.len()].clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut m);
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            match Interpreter::new(&m) {
                Ok(mut it) => {
                    let ok = it.invoke().is_ok();
                    // The calibrator's float arithmetic (what `quantize::calibrate` plans) too.
                    let options = InterpreterOptions {
                        preserve_all_tensors: true,
                        float_arithmetic: FloatArithmetic::TfCalibrator,
                        ..Default::default()
                    };
                    if let Ok(mut it) = Interpreter::with_options(&m, options) {
                        let _ = it.invoke();
                    }
                    (true, ok)
                }
                Err(_) => (false, false),
            }
        }));
        match result {
            Ok((true, ok)) => {
                loaded += 1;
                invoked += ok as usize;
            }
            Ok((false, _)) => refused += 1,
            Err(_) => panic!(
                "round {round}: panic on a mutated model: {:#?}",
                m.subgraphs[0].operators
            ),
        }
    }
    println!("hostile models: {loaded} loaded ({invoked} invoked), {refused} refused");
    assert!(
        refused > 100 && loaded > 100,
        "{loaded} loaded, {refused} refused"
    );
}
