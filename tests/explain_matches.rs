//! `debug::explain` works every output element out by hand; here every element of every convolution,
//! depthwise convolution, fully-connected, pooling and softmax layer of TF's integer models (the tutorial's and
//! the op fixtures': SAME and VALID padding, strides, dilation, depth multipliers, per-tensor weights)
//! is held to the interpreter's output on a test image, and the explanation's steps are checked to
//! add up.

mod common;

use common::{fixtures, test_images};
use ptq_playground::debug::explain;
use ptq_playground::eval::set_image;
use ptq_playground::interp::{Interpreter, InterpreterOptions};
use ptq_playground::tflite::read_model;
use ptq_playground::tflite::schema::op;

#[test]
fn every_element_equals_the_interpreter() {
    let root = fixtures();
    let mut files = vec![
        root.join("reference/mnist_intonly_int8.tflite"),
        root.join("reference/mnist_intonly_uint8.tflite"),
        root.join("reference/mnist_fullint_floatio.tflite"),
    ];
    for stem in [
        "depthwise",
        "depthwise_in1",
        "pools",
        "pools2",
        "conv_same_s2",
        "conv_shapes",
        "dilated_b1",
        "dense_3d_b1",
        "dense_nobias",
        "mlp_softmax",
        "tutorial_pt",
        "conv_bn",
        "cnn_softmax",
    ] {
        files.push(root.join(format!("ops/{stem}_intonly_int8.tflite")));
    }
    files.push(root.join("ops/cnn_softmax_intonly_uint8.tflite"));
    files.push(root.join("ops/mlp_softmax_fullint_floatio.tflite"));
    files.push(root.join("interp/variant_conv_pt.tflite"));
    files.push(root.join("interp/variant_fc_sym.tflite"));
    let images = test_images();
    let mut elements = 0usize;
    let mut layers = 0usize;
    let mut softmax_layers = 0usize;
    for path in &files {
        let model = read_model(&std::fs::read(path).unwrap()).unwrap();
        let options = InterpreterOptions {
            preserve_all_tensors: true,
            ..Default::default()
        };
        let mut interp = Interpreter::with_options(&model, options).unwrap();
        for image in [0usize, 18] {
            set_image(&mut interp, &images[image * 784..(image + 1) * 784]).unwrap();
            interp.invoke().unwrap();
            for (i, o) in model.subgraphs[0].operators.iter().enumerate() {
                if !matches!(
                    o.code,
                    op::CONV_2D
                        | op::DEPTHWISE_CONV_2D
                        | op::FULLY_CONNECTED
                        | op::MAX_POOL_2D
                        | op::AVERAGE_POOL_2D
                        | op::SOFTMAX
                ) {
                    continue;
                }
                let out = o.outputs[0] as usize;
                let expected: Vec<i32> = match (interp.tensor::<i8>(out), interp.tensor::<u8>(out))
                {
                    (Ok(v), _) => v.iter().map(|&v| v as i32).collect(),
                    (_, Ok(v)) => v.iter().map(|&v| v as i32).collect(),
                    _ => continue, // a float layer (hybrid or float model)
                };
                for (flat, &want) in expected.iter().enumerate() {
                    let e = explain(&model, &interp, i, flat).unwrap_or_else(|err| {
                        panic!("{}: op {i} element {flat}: {err}", path.display())
                    });
                    assert_eq!(e.result, want, "{}: op {i} element {flat}", path.display());
                    let get = |id: &str| e.steps.iter().find(|s| s.id == id).map(|s| s.value);
                    if let (Some(sum), Some(bias), Some(acc)) =
                        (get("sum_of_products"), get("bias"), get("accumulator"))
                    {
                        assert_eq!(sum + bias, acc, "{}: op {i} element {flat}", path.display());
                    }
                    elements += 1;
                }
                layers += 1;
                softmax_layers += usize::from(o.code == op::SOFTMAX);
            }
        }
    }
    eprintln!(
        "{elements} elements of {layers} layer runs explained, each equal to the interpreter's"
    );
    assert!(
        layers >= 100 && elements > 200_000,
        "{layers} layers, {elements} elements"
    );
    assert!(softmax_layers >= 8, "{softmax_layers} softmax layer runs");
}
