use super::*;
use crate::train::layers::Activation;

fn tutorial_json() -> &'static str {
    r#"{"name":"t","input_shape":[28,28],"layers":[{"type":"Reshape","target_shape":[28,28,1]},{"type":"Conv2D","filters":12,"kernel_size":[3,3],"strides":[1,1],"padding":"valid","activation":"relu"},{"type":"MaxPooling2D","pool_size":[2,2]},{"type":"Flatten"},{"type":"Dense","units":10}]}"#
}

#[test]
fn the_issue_example_is_the_tutorial_architecture() {
    let design = Design::parse(tutorial_json()).unwrap();
    assert_eq!(design.architecture().unwrap(), Architecture::tutorial());
}

#[test]
fn single_integers_stand_for_pairs_as_in_keras() {
    let json = tutorial_json()
        .replace("[3,3]", "3")
        .replace("\"strides\":[1,1]", "\"strides\":1")
        .replace("[2,2]", "2");
    let design = Design::parse(&json).unwrap();
    assert_eq!(design.architecture().unwrap(), Architecture::tutorial());
    // defaults: strides 1, padding valid, activation linear, pool strides = pool size
    let json = r#"{"name":"d","input_shape":[28,28],"layers":[{"type":"Reshape","target_shape":[28,28,1]},{"type":"Conv2D","filters":12,"kernel_size":3,"activation":"relu"},{"type":"MaxPooling2D"},{"type":"Flatten"},{"type":"Dense","units":10}]}"#;
    assert_eq!(
        Design::parse(json).unwrap().architecture().unwrap(),
        Architecture::tutorial()
    );
}

#[test]
fn every_preset_parses_checks_and_round_trips_through_json() {
    for p in PRESETS {
        let design = p.design().unwrap();
        assert_eq!(design.name, p.name);
        let summary = design.summary().unwrap();
        assert_eq!(summary.layers.last().unwrap().output_shape, vec![CLASSES]);
        assert!(summary.macs <= MAX_MACS && summary.params <= MAX_PARAMS);
        let again = Design::parse(&design.to_json().unwrap()).unwrap();
        assert_eq!(again, design);
        assert!(!p.description.is_empty() && !p.description.contains('\n'));
    }
    assert_eq!(PRESETS[0].name, "tutorial");
    assert_eq!(
        preset("tutorial")
            .unwrap()
            .design()
            .unwrap()
            .architecture()
            .unwrap(),
        Architecture::tutorial()
    );
    let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
    assert_eq!(names, ["tutorial", "deep", "mlp", "mobile"]);
    let err = preset("resnet").unwrap_err().to_string();
    assert!(err.contains("tutorial, deep, mlp, mobile"), "{err}");
}

#[test]
fn the_summary_counts_what_keras_and_the_files_hold() {
    let s = preset("tutorial")
        .unwrap()
        .design()
        .unwrap()
        .summary()
        .unwrap();
    let conv = &s.layers[1];
    // Keras model.summary(): conv 120 parameters (108 + 12), dense 20,290
    assert_eq!(
        (conv.params, conv.output_shape.clone()),
        (120, vec![26, 26, 12])
    );
    assert_eq!(conv.macs, 26 * 26 * 12 * 9);
    assert_eq!((conv.float_bytes, conv.int8_bytes), (480, 108 + 48));
    assert_eq!(s.layers[2].output_shape, vec![13, 13, 12]);
    assert_eq!(s.layers[4].params, 20_290);
    assert_eq!(s.params, 20_410);
    assert_eq!(s.macs, 26 * 26 * 12 * 9 + 2028 * 10);
    let m = preset("mobile")
        .unwrap()
        .design()
        .unwrap()
        .summary()
        .unwrap();
    // depthwise 3×3 on 16 channels: 9·16 weights + 16 biases, 14·14·16·9 multiply-adds
    assert_eq!(
        (m.layers[2].params, m.layers[2].macs),
        (160, 14 * 14 * 16 * 9)
    );
    assert_eq!(m.layers[4].output_shape, vec![7, 7, 32]);
    let bn = Design::parse(r#"{"name":"bn","input_shape":[784],"layers":[{"type":"Dense","units":10},{"type":"BatchNormalization"},{"type":"Activation","activation":"softmax"}]}"#)
        .unwrap()
        .summary()
        .unwrap();
    assert_eq!((bn.layers[1].params, bn.layers[1].float_bytes), (40, 0));
}

/// The error of a design with `layers` (JSON list).
fn error_of(layers: &str) -> String {
    let json = format!(r#"{{"name":"e","input_shape":[28,28],"layers":{layers}}}"#);
    match Design::parse(&json).and_then(|d| d.summary()) {
        Ok(_) => panic!("{layers} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_layer_and_the_problem() {
    let cases = [
        (
            r#"[{"type":"Flatten"},{"type":"Dense","unit":10}]"#,
            "layer 1 (Dense): unknown field `unit`",
        ),
        (
            r#"[{"type":"Flatten"},{"type":"Dense2","units":10}]"#,
            "layer 1 (Dense2): unknown variant `Dense2`",
        ),
        (
            r#"[{"type":"Reshape","target_shape":[28,28,1]},{"type":"Conv2D","filters":4,"kernel_size":[30,3]},{"type":"Flatten"},{"type":"Dense","units":10}]"#,
            "layer 1 (Conv2D): Conv2D kernel [30, 3]",
        ),
        (
            r#"[{"type":"Reshape","target_shape":[28,28,1]},{"type":"Conv2D","filters":4,"kernel_size":[1,2,3]}]"#,
            "layer 1 (Conv2D): invalid length 3",
        ),
        (
            r#"[{"type":"Flatten"},{"type":"Dense","units":10,"activation":"relu"},{"type":"BatchNormalization"}]"#,
            "layer 2 (BatchNormalization): must follow a Conv2D, DepthwiseConv2D or Dense without activation",
        ),
        (
            r#"[{"type":"Reshape","target_shape":[28,28,1]},{"type":"MaxPooling2D"},{"type":"Activation","activation":"relu"},{"type":"Flatten"},{"type":"Dense","units":10}]"#,
            "layer 2 (Activation): must follow",
        ),
        (
            r#"[{"type":"Flatten"},{"type":"Dense","units":10,"activation":"softmax"},{"type":"Dense","units":10}]"#,
            "layer 1 (Dense): a softmax must be the last layer",
        ),
        (
            r#"[{"type":"Flatten"},{"type":"Dense","units":12}]"#,
            "layer 1 (Dense): the last layer must give 10 outputs",
        ),
        (
            r#"[{"type":"Flatten"},{"type":"Dense","units":5000},{"type":"Dense","units":10}]"#,
            "layer 1 (Dense): the design reaches 3925000 parameters here, over the limit of 1000000",
        ),
        (
            r#"[{"type":"Reshape","target_shape":[28,28,1]},{"type":"Conv2D","filters":64,"kernel_size":5,"padding":"same"},{"type":"Conv2D","filters":64,"kernel_size":5,"padding":"same"},{"type":"Flatten"},{"type":"Dense","units":10}]"#,
            "layer 2 (Conv2D): the design reaches",
        ),
        (
            r#"[{"type":"Reshape","target_shape":[28,28,1]},{"type":"MaxPooling2D","padding":"same"}]"#,
            "layer 1 (MaxPooling2D): padding \"same\" is not supported",
        ),
        (
            r#"[{"type":"Flatten"},{"type":"Dropout","rate":1.5},{"type":"Dense","units":10}]"#,
            "layer 1 (Dropout): Dropout rate must be in [0, 1)",
        ),
    ];
    for (layers, expected) in cases {
        let err = error_of(layers);
        assert!(
            err.contains(expected),
            "{layers}:\n  got {err}\n  expected {expected}"
        );
    }
    let wrong_input = Design::parse(r#"{"name":"x","input_shape":[28,27],"layers":[{"type":"Flatten"},{"type":"Dense","units":10}]}"#)
        .unwrap()
        .summary()
        .unwrap_err()
        .to_string();
    assert!(wrong_input.contains("784 pixels"), "{wrong_input}");
    let too_many: Vec<&str> = vec![r#"{"type":"Dropout","rate":0.1}"#; MAX_LAYERS + 1];
    let err = error_of(&format!("[{}]", too_many.join(",")));
    assert!(
        err.contains("the number of layers is 33, over the limit of 32"),
        "{err}"
    );
}

#[test]
fn batch_norm_and_activation_layers_export_as_one_fused_operator() {
    let json = r#"{"name":"bn","input_shape":[28,28],"layers":[
        {"type":"Reshape","target_shape":[28,28,1]},
        {"type":"Conv2D","filters":4,"kernel_size":3},
        {"type":"BatchNormalization"},
        {"type":"Activation","activation":"relu6"},
        {"type":"Dropout","rate":0.25},
        {"type":"Flatten"},
        {"type":"Dense","units":10,"activation":"softmax"}]}"#;
    let design = Design::parse(json).unwrap();
    let net = design.build(0).unwrap();
    let steps = crate::quantize::export::plan(&net.layers).unwrap();
    let indices: Vec<usize> = steps.iter().map(|s| s.index).collect();
    // Reshape, Conv2D (+BN +ReLU6), Flatten, Dense, Softmax; Dropout is gone
    assert_eq!(indices, vec![0, 1, 5, 6, 7]);
    assert_eq!(steps[1].batch_norm, Some(2));
    assert_eq!(steps[1].activation, Activation::Relu6);
}

/// The README's example design is valid, and its costs are what the README's words imply.
#[test]
fn the_readme_example_design_is_valid() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("### Model designs")
        .nth(1)
        .expect("README has a Model designs section");
    let json = section
        .split("```json")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a json block in the section");
    let design = Design::parse(json).unwrap();
    let summary = design.summary().unwrap();
    assert_eq!(summary.layers.len(), 8);
    // the BatchNormalization folds away: no bytes of its own in the file
    assert_eq!(summary.layers[2].float_bytes, 0);
    let net = design.build(0).unwrap();
    assert!(net.outputs_probabilities());
}
