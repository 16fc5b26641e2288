//! `quantize::fold_static_shapes` on TensorFlow's five tutorial files and on op fixtures: no SHAPE,
//! STRIDED_SLICE or PACK is left, no shape signature has a `-1`, and the outputs on 300 test images are
//! bit-identical to the unfolded file's (LiteRT runs folded files in tests/litert/variants_check.py).

mod common;

use common::{fixtures, test_images};
use ptq_playground::eval::set_image;
use ptq_playground::interp::Interpreter;
use ptq_playground::quantize::fold_static_shapes;
use ptq_playground::tflite::schema::op;
use ptq_playground::tflite::{Model, read_model, write_model};

fn outputs(model: &Model, images: &[u8]) -> Vec<u8> {
    let mut interp = Interpreter::new(model).unwrap();
    let mut out = Vec::new();
    for image in images.chunks_exact(784) {
        set_image(&mut interp, image).unwrap();
        interp.invoke().unwrap();
        out.extend(interp.output_bytes(0).unwrap());
    }
    out
}

#[test]
fn folded_shapes_give_the_same_outputs() {
    let root = fixtures();
    let test = test_images();
    let images = &test[..300 * 784];
    let mut files: Vec<String> = common::REFERENCE
        .iter()
        .map(|s| format!("reference/{s}.tflite"))
        .collect();
    for stem in ["depthwise", "cnn_softmax", "conv_bn", "pools"] {
        files.push(format!("ops/{stem}_intonly_int8.tflite"));
    }
    for file in &files {
        let model = read_model(&std::fs::read(root.join(file)).unwrap()).unwrap();
        let had = model.subgraphs[0].operators.len();
        let mut folded = model.clone();
        fold_static_shapes(&mut folded).unwrap();
        // written and read back, as a user gets it
        let folded = read_model(&write_model(&folded).unwrap()).unwrap();
        let g = &folded.subgraphs[0];
        assert!(
            g.operators
                .iter()
                .all(|o| !matches!(o.code, op::SHAPE | op::STRIDED_SLICE | op::PACK)),
            "{file}: shape arithmetic left"
        );
        assert!(g.operators.len() < had, "{file}: nothing folded");
        assert!(
            g.tensors.iter().all(|t| t
                .shape_signature
                .as_ref()
                .is_none_or(|s| s.iter().all(|&d| d > 0))),
            "{file}: a dynamic dimension is left"
        );
        assert_eq!(outputs(&model, images), outputs(&folded, images), "{file}");
    }
}
