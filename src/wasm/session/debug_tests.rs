//! Tests of the session's views inside a quantization: the graph and its pairing, the per-layer error in
//! steps against one library call over the same images, the by-hand explanation against the layer's
//! output and the float model's tensor, and the conversions that keep layers in float.

use super::tests::with_float_model;
use super::*;
use crate::debug::{ErrorMode, LayerError, layer_errors};

/// The tutorial network (untrained, seed 0) and its integer-only uint8 conversion, on `n` tiny images.
fn quantized(n: usize) -> (Session, Vec<u8>) {
    let (mut s, images) = with_float_model(n);
    s.quantize("integer-only-uint8", 10).unwrap();
    (s, images)
}

#[test]
fn the_graph_names_each_operator_its_tensors_and_its_float_twin() {
    let (s, _) = quantized(16);
    let g = s.graph(QUANT, Some(FLOAT)).unwrap();
    let names: Vec<&str> = g.ops.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "QUANTIZE",
            "RESHAPE",
            "CONV_2D",
            "MAX_POOL_2D",
            "RESHAPE",
            "FULLY_CONNECTED",
            "QUANTIZE"
        ]
    );
    assert!(g.integer);
    assert_eq!(g.mode, "integer-only-uint8");
    assert_eq!(g.paired_with.as_deref(), Some(FLOAT));
    assert_eq!(g.pairing_error, None);
    let float = s.graph(FLOAT, None).unwrap();
    assert!(!float.integer);
    assert!(
        float
            .ops
            .iter()
            .all(|o| !o.explainable && o.float_op.is_none())
    );
    let conv = &g.ops[2];
    assert!(conv.explainable);
    let twin = conv.float_op.unwrap();
    assert_eq!(float.ops[twin].name, "CONV_2D");
    assert_eq!(
        conv.keep_float_name.as_deref(),
        Some(float.ops[twin].outputs[0].name.as_str())
    );
    let out = &conv.outputs[0];
    assert_eq!(
        (out.dtype.as_str(), out.shape.as_slice()),
        ("int8", &[1, 26, 26, 12][..])
    );
    assert_eq!((out.scale.len(), out.constant), (1, false));
    let weights = &conv.inputs[1];
    assert_eq!((weights.scale.len(), weights.constant), (12, true));
    // pools and fully connected layers are explained; pools cannot be kept in float
    assert!(g.ops[3].explainable && g.ops[3].keep_float_name.is_none());
    assert!(g.ops[5].explainable && g.ops[5].keep_float_name.is_some());
    for edge in [&g.ops[0], &g.ops[6]] {
        assert!(!edge.explainable && edge.float_op.is_none());
    }
    assert_eq!(g.ops[6].outputs[0].dtype, "uint8");
    // two models that do not pair: the graph still draws, and says why
    let swapped = s.graph(FLOAT, Some(QUANT)).unwrap();
    assert!(swapped.paired_with.is_none());
    assert!(swapped.pairing_error.unwrap().contains("do not pair"));
    assert!(s.graph("nothing", None).is_err());
    assert!(s.graph(QUANT, Some("nothing")).is_err());
}

#[test]
fn the_error_in_steps_equals_one_comparison_over_the_same_images() {
    let n = 20;
    let (mut s, images) = quantized(24);
    let float = s.slots[FLOAT].model.clone();
    let quant = s.slots[QUANT].model.clone();
    let modes = [ErrorMode::LayerWise, ErrorMode::Accumulated];
    let p = s.debug_begin(FLOAT, QUANT, n, &modes).unwrap();
    assert_eq!((p.done, p.total, p.mode), (0, 2 * n, ErrorMode::LayerWise));
    assert!(s.debug_report().is_err(), "not finished yet");
    // steps never cross from one mode into the next
    let mut seen = Vec::new();
    loop {
        let p = s.debug_step(7).unwrap();
        seen.push((p.done, p.mode));
        if p.done == p.total {
            break;
        }
    }
    use ErrorMode::{Accumulated as A, LayerWise as L};
    assert_eq!(seen, [(7, L), (14, L), (20, L), (27, A), (34, A), (40, A)]);
    let p = s.debug_step(7).unwrap(); // past the end: stays done
    assert_eq!((p.done, p.total), (40, 40));
    let reports = s.debug_report().unwrap();
    assert_eq!(reports.len(), 2);
    for (report, mode) in reports.iter().zip(modes) {
        let one = layer_errors(
            &float,
            &quant,
            &images[..n * IMAGE_LEN],
            IMAGE_LEN,
            mode,
            |_, _| true,
        )
        .unwrap();
        assert_eq!((report.mode, report.images), (mode, n));
        assert_eq!(report.layers.len(), one.layers.len());
        assert!(!report.layers.is_empty());
        for (a, b) in report.layers.iter().zip(&one.layers) {
            // the per-image metrics add up in the same order: equal to the last bit
            let exact = |x: &LayerError| {
                (
                    x.op_index,
                    x.tensor_name.clone(),
                    x.scale,
                    x.zero_point,
                    x.num_elements,
                    x.stddev,
                    x.mean_error,
                    x.max_abs_error,
                    x.mean_squared_error,
                    x.range,
                    x.rmse_over_scale,
                )
            };
            assert_eq!(exact(a), exact(b), "{mode:?}");
            // the SQNR comes back from each image's own: equal but for rounding
            match (a.sqnr_db, b.sqnr_db) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} {y}"),
                (x, y) => assert_eq!(x, y, "{} {mode:?}", a.op_name),
            }
        }
    }
    // a new test set ends the comparison (it indexes the old one)
    s.debug_begin(FLOAT, QUANT, n, &modes).unwrap();
    s.debug_step(3).unwrap();
    let (_, img, lab) = super::tests::tiny(4);
    s.set_test_set(&img, &lab).unwrap();
    assert!(s.debug_step(3).is_err());
    s.debug_begin(FLOAT, QUANT, 4, &modes).unwrap();
    assert!(s.debug_cancel());
    assert!(!s.debug_cancel());
    assert!(s.debug_step(1).is_err());
    assert!(s.debug_report().is_err());
}

#[test]
fn comparisons_that_cannot_run_are_errors_that_say_why() {
    let (mut s, _) = quantized(8);
    let err = |r: Result<DebugProgress>| r.unwrap_err().to_string();
    assert!(err(s.debug_begin(FLOAT, QUANT, 0, &[ErrorMode::LayerWise])).contains("1–8"));
    assert!(err(s.debug_begin(FLOAT, QUANT, 9, &[ErrorMode::LayerWise])).contains("not 9"));
    assert!(err(s.debug_begin(FLOAT, QUANT, 4, &[])).contains("no error mode"));
    assert!(err(s.debug_begin(QUANT, FLOAT, 4, &[ErrorMode::LayerWise])).contains("do not pair"));
    assert!(err(s.debug_begin(FLOAT, "nothing", 4, &[ErrorMode::LayerWise])).contains("no model"));
    s.quantize("dynamic-range", 10).unwrap();
    assert!(
        err(s.debug_begin(FLOAT, QUANT, 4, &[ErrorMode::LayerWise]))
            .contains("no integer activations")
    );
    assert_eq!(
        parse_modes("layer-wise, accumulated").unwrap(),
        [ErrorMode::LayerWise, ErrorMode::Accumulated]
    );
    assert!(
        parse_modes("sideways")
            .unwrap_err()
            .to_string()
            .contains("sideways")
    );
}

#[test]
fn each_explained_element_is_the_layer_output_and_names_the_float_value() {
    let (mut s, _) = quantized(8);
    let image = 3;
    let g = s.graph(QUANT, Some(FLOAT)).unwrap();
    let mut explained = 0;
    for o in g.ops.iter().filter(|o| o.explainable) {
        let out = s.layer_output(QUANT, o.index, image).unwrap();
        let float = s.layer_output(FLOAT, o.float_op.unwrap(), image).unwrap();
        assert_eq!(out.values.len(), float.values.len());
        assert_eq!(out.shape, o.outputs[0].shape);
        let step = (out.values.len() / 60).max(1);
        for flat in (0..out.values.len()).step_by(step) {
            let e = s.explain(QUANT, Some(FLOAT), o.index, flat, image).unwrap();
            assert_eq!(
                e.explanation.result as f64, out.values[flat],
                "{} {flat}",
                o.name
            );
            assert_eq!(e.float_value, Some(float.values[flat] as f32));
            assert_eq!((e.image, &e.output_shape), (image, &out.shape));
            explained += 1;
        }
        // without a float model: no float value
        assert_eq!(
            s.explain(QUANT, None, o.index, 0, image)
                .unwrap()
                .float_value,
            None
        );
    }
    assert!(explained > 100, "{explained}");
    // what cannot be explained says so
    let err = |r: Result<ExplainReport>| r.unwrap_err().to_string();
    assert!(err(s.explain(QUANT, None, 0, 0, image)).contains("only CONV_2D"));
    assert!(err(s.explain(QUANT, None, 2, 26 * 26 * 12, image)).contains("outside"));
    assert!(err(s.explain(QUANT, None, 99, 0, image)).contains("does not exist"));
    assert!(err(s.explain(QUANT, None, 2, 0, 8)).contains("test image 8"));
    assert!(s.layer_output(QUANT, 99, image).is_err());
    // the kept runs follow the slot: another conversion is explained from its own tensors
    let last = |s: &Session| s.graph(QUANT, None).unwrap().ops.len() - 1;
    assert_eq!(
        s.layer_output(QUANT, last(&s), image).unwrap().dtype,
        "uint8"
    );
    s.quantize("integer-only-int8", 10).unwrap();
    assert_eq!(
        s.layer_output(QUANT, last(&s), image).unwrap().dtype,
        "int8"
    );
}

#[test]
fn keeping_layers_in_float_converts_beside_the_all_int8_file() {
    let (mut s, _) = with_float_model(16);
    let float = s.graph(FLOAT, None).unwrap();
    let conv = float.ops.iter().find(|o| o.name == "CONV_2D").unwrap();
    let name = conv.outputs[0].name.clone();
    let r = s.convert_keeping_float(FLOAT, &[name], 10).unwrap();
    assert_eq!((r.kept.as_slice(), r.samples), (&[conv.index][..], 10));
    assert!(r.ignored.is_empty());
    assert_eq!(
        (r.selective.mode.as_str(), r.all_int8.mode.as_str()),
        ("full-integer", "full-integer")
    );
    // the kept layer computes in float between a DEQUANTIZE and a QUANTIZE
    let g = s.graph(SELECTIVE, Some(FLOAT)).unwrap();
    let kept = g.ops.iter().find(|o| o.name == "CONV_2D").unwrap();
    assert_eq!(kept.outputs[0].dtype, "float32");
    assert!(g.ops.iter().any(|o| o.name == "DEQUANTIZE"));
    // keeping nothing is the plain full-integer conversion
    let all = s.model_bytes(ALL_INT8).unwrap();
    assert_ne!(s.model_bytes(SELECTIVE).unwrap(), all);
    s.quantize("full-integer", 10).unwrap();
    assert_eq!(s.model_bytes(QUANT).unwrap(), all);
    // a pool stays quantized whatever the list says; unknown names are errors that name them
    let r = s
        .convert_keeping_float(FLOAT, &["MAX_POOL_2D".into()], 10)
        .unwrap();
    assert_eq!(
        (r.kept.len(), r.ignored.as_slice()),
        (0, &["MAX_POOL_2D".to_string()][..])
    );
    assert_eq!(s.model_bytes(SELECTIVE).unwrap(), all);
    let err = s
        .convert_keeping_float(FLOAT, &["nope".into()], 10)
        .unwrap_err();
    assert!(err.to_string().contains("\"nope\""), "{err}");
    assert!(s.convert_keeping_float(FLOAT, &[], 0).is_err());
    // both run through the evaluation like any slot, and can be emptied again
    s.eval_begin(&[SELECTIVE.into(), ALL_INT8.into()]).unwrap();
    assert!(s.remove_model(SELECTIVE));
    assert!(!s.remove_model(SELECTIVE));
    assert!(s.graph(SELECTIVE, None).is_err());
}

#[test]
fn layers_without_error_on_some_images_keep_those_images_signal() {
    // black and white images pass the input through quantization without error; gray ones do not
    let (mut s, _) = quantized(8);
    let n = 12;
    let images: Vec<u8> = (0..n * IMAGE_LEN)
        .map(|i| match (i / IMAGE_LEN) % 3 {
            0 if (i % 28) % 5 == 0 => 255,
            0 => 0,
            _ => ((i * 7919) % 256) as u8,
        })
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let write = crate::data::idx::write_idx_u8;
    s.set_test_set(
        &write(&[n, 28, 28], &images).unwrap(),
        &write(&[n], &labels).unwrap(),
    )
    .unwrap();
    let float = s.slots[FLOAT].model.clone();
    let quant = s.slots[QUANT].model.clone();
    for mode in [ErrorMode::LayerWise, ErrorMode::Accumulated] {
        s.debug_begin(FLOAT, QUANT, n, &[mode]).unwrap();
        while s.debug_step(5).unwrap().done < n {}
        let stepped = s.debug_report().unwrap().remove(0);
        let one = layer_errors(&float, &quant, &images, IMAGE_LEN, mode, |_, _| true).unwrap();
        let mut mixed = 0;
        for (a, b) in stepped.layers.iter().zip(&one.layers) {
            match (a.sqnr_db, b.sqnr_db) {
                (Some(x), Some(y)) => {
                    assert!(
                        (x - y).abs() <= 1e-9 * y.abs(),
                        "{} {mode:?}: {x} {y}",
                        a.op_name
                    );
                    mixed += usize::from(a.op_name == "RESHAPE");
                }
                (x, y) => assert_eq!(x, y, "{} {mode:?}", a.op_name),
            }
        }
        if mode == ErrorMode::Accumulated {
            assert!(mixed > 0, "no layer was error-free on some images only");
        }
    }
}
