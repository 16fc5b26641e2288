//! The wasm boundary in a real browser (headless Chromium through chromedriver, `wasm-pack test`): the
//! exported `Playground` takes typed arrays, returns plain JS objects, and turns every failure into a
//! thrown `Error` carrying the library's message. A panic would abort the module and fail the run, so
//! hostile bytes here also prove the page survives them. Tests that train, or use the worker's jobs, need the
//! `training` and `worker` features (the training module's and the worker's builds, in one test build),
//! the views inside a quantization the `inside` feature; the rest also run without them, as the page's
//! build is configured.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Reflect};
use ptq_playground::data::idx::write_idx_u8;
use ptq_playground::wasm::Playground;
#[cfg(feature = "training")]
use ptq_playground::wasm::Trainer;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const IMAGE: usize = 28 * 28;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).expect("property")
}

fn message(e: wasm_bindgen::JsError) -> String {
    let v = JsValue::from(e);
    assert!(
        v.is_instance_of::<js_sys::Error>(),
        "errors arrive as JS Error objects"
    );
    get(&v, "message").as_string().unwrap_or_default()
}

/// `n` deterministic MNIST-shaped images (gzip-free IDX) and labels 0–9.
fn tiny(n: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * IMAGE).map(|i| ((i * 7919) % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    (
        pixels.clone(),
        write_idx_u8(&[n, 28, 28], &pixels).unwrap(),
        write_idx_u8(&[n], &labels).unwrap(),
    )
}

/// One short epoch's settings.
#[cfg(all(feature = "training", feature = "worker"))]
fn one_epoch() -> JsValue {
    let settings = js_sys::Object::new();
    for (k, v) in [
        ("epochs", 1.0),
        ("batch_size", 32.0),
        ("learning_rate", 0.001),
        ("seed", 0.0),
    ] {
        Reflect::set(&settings, &k.into(), &v.into()).unwrap();
    }
    settings.into()
}

/// A float model trained for one short epoch by the training module's `Trainer`, loaded into a
/// playground (as the worker does), with the trainer that keeps the training set.
#[cfg(all(feature = "training", feature = "worker"))]
fn trained_with_trainer() -> (Playground, Trainer, Vec<u8>) {
    let (pixels, images, labels) = tiny(64);
    let mut tr = Trainer::new();
    assert_eq!(tr.set_train_set(&images, &labels).unwrap(), 64);
    assert_eq!(tr.set_test_set(&images, &labels).unwrap(), 64);
    tr.train_begin(one_epoch()).unwrap();
    assert!(message(tr.train_finish().unwrap_err()).contains("not finished"));
    loop {
        let p = tr.train_step(5).unwrap();
        if get(&p, "finished").as_bool() == Some(true) {
            break;
        }
    }
    let file = tr.train_finish().unwrap();
    assert!(!tr.is_training());
    let mut pg = Playground::new();
    assert_eq!(pg.set_test_set(&images, &labels).unwrap(), 64);
    // the worker's playground calibrates on the site's representative images
    assert_eq!(pg.set_representative_images(&images).unwrap(), 64);
    let info = pg.load_model("float", &file).unwrap();
    assert_eq!(get(&info, "mode").as_string().as_deref(), Some("float"));
    (pg, tr, pixels)
}

/// A playground with a float model trained for one short epoch.
#[cfg(all(feature = "training", feature = "worker"))]
fn trained() -> (Playground, Vec<u8>) {
    let (pg, _, pixels) = trained_with_trainer();
    (pg, pixels)
}

/// The worker converts with calibration images its training module picked from the training set: the
/// file is the one a playground holding the training set makes from the same settings.
#[cfg(all(feature = "training", feature = "worker"))]
#[wasm_bindgen_test]
fn calibration_images_from_the_trainer_give_the_same_file() {
    let (mut pg, tr, _) = trained_with_trainer();
    let (_, images, labels) = tiny(64);
    let mut holding = Playground::new();
    holding.set_train_set(&images, &labels).unwrap();
    holding
        .load_model("float", &pg.model_bytes("float").unwrap())
        .unwrap();
    for (set, samples) in [
        ("random", 20.0),
        ("digit:7", 5.0),
        ("first", 64.0),
        ("noise", 8.0),
    ] {
        let settings = js_sys::Object::new();
        for (k, v) in [
            ("mode", JsValue::from_str("integer-only-int8")),
            ("samples", samples.into()),
            ("method", JsValue::from_str("minmax")),
            ("set", JsValue::from_str(set)),
        ] {
            Reflect::set(&settings, &k.into(), &v).unwrap();
        }
        let picked = tr.calibration_images(settings.clone().into()).unwrap();
        assert_eq!(
            picked.as_ref().map(Vec::len),
            Some(samples as usize * IMAGE)
        );
        pg.quantize_with(settings.clone().into(), picked).unwrap();
        holding.quantize_with(settings.into(), None).unwrap();
        assert_eq!(
            pg.model_bytes("quant").unwrap(),
            holding.model_bytes("quant").unwrap(),
            "{set}"
        );
    }
    // a mode that does not calibrate picks none; the settings' defaults apply to what is not given
    let float16 = js_sys::Object::new();
    Reflect::set(&float16, &"mode".into(), &"float16".into()).unwrap();
    assert_eq!(tr.calibration_images(float16.into()).unwrap(), None);
    let defaults = js_sys::Object::new();
    Reflect::set(&defaults, &"mode".into(), &"full-integer".into()).unwrap();
    assert_eq!(
        tr.calibration_images(defaults.into())
            .unwrap()
            .map(|v| v.len()),
        Some(64 * IMAGE),
        "the default 100 samples of the first images: all 64"
    );
    // images that are not whole 28×28 images are refused with a message
    let settings = js_sys::Object::new();
    Reflect::set(&settings, &"mode".into(), &"full-integer".into()).unwrap();
    let e = pg
        .quantize_with(settings.into(), Some(vec![0; 100]))
        .unwrap_err();
    assert!(message(e).contains("calibration images"));
}

#[wasm_bindgen_test]
fn bad_input_is_a_thrown_error_with_the_library_message() {
    let mut pg = Playground::new();
    assert!(
        message(pg.load_model("upload", b"not a model").unwrap_err()).contains("malformed .tflite")
    );
    assert!(
        message(pg.quantize("integer-only-uint8", 100).unwrap_err()).contains("no model in slot")
    );
    assert!(message(pg.predict("float", &[0; IMAGE]).unwrap_err()).contains("no model"));
    assert!(message(pg.set_test_set(b"junk", b"junk").unwrap_err()).contains("IDX"));
    // the browser builds read plain IDX only (the page decompresses the site's gzip files first)
    #[cfg(not(feature = "gzip"))]
    assert!(
        message(pg.set_test_set(&[0x1f, 0x8b, 8, 0], b"junk").unwrap_err())
            .contains("gzip-compressed IDX: this build reads plain IDX only")
    );
    #[cfg(all(feature = "training", feature = "worker"))]
    assert!(
        message(
            Trainer::new()
                .train_begin(JsValue::from_str("fast"))
                .unwrap_err()
        )
        .contains("invalid training settings")
    );
    assert!(message(Playground::preprocess(&[0; 10], 3, 3).unwrap_err()).contains("pixels"));
    assert!(Playground::check_model(&[]).is_err());
    assert_eq!(pg.test_count(), 0);
}

#[wasm_bindgen_test]
fn modes_are_plain_objects_in_the_page_order_and_quantize_takes_their_ids() {
    let modes: Array = Playground::modes().unwrap().dyn_into().unwrap();
    let listed: Vec<(String, String, bool)> = modes
        .iter()
        .map(|m| {
            let text = |key| get(&m, key).as_string().unwrap_or_default();
            (text("id"), text("file"), get(&m, "calibrates").is_truthy())
        })
        .collect();
    // the tutorial's five, then float16 (other conversions may follow)
    let expected = [
        ("float", "mnist_float.tflite", false),
        ("dynamic-range", "mnist_dynamic.tflite", false),
        ("full-integer", "mnist_fullint_floatio.tflite", true),
        ("integer-only-uint8", "mnist_intonly_uint8.tflite", true),
        ("integer-only-int8", "mnist_intonly_int8.tflite", true),
        ("float16", "mnist_float16.tflite", false),
    ];
    assert_eq!(
        listed[..expected.len()],
        expected.map(|(id, file, calibrates)| (id.to_string(), file.to_string(), calibrates))
    );
    // the 16x8 conversions follow; the page's small build (without the `int16` feature) says it leaves
    // them to the worker's
    for m in modes.iter() {
        let id = get(&m, "id").as_string().unwrap_or_default();
        let here = get(&m, "here").is_truthy();
        assert_eq!(
            here,
            !id.starts_with("int16x8") || cfg!(feature = "int16"),
            "{id}"
        );
    }
    assert!(
        listed
            .iter()
            .any(|(id, _, calibrates)| id == "int16x8-int16io" && *calibrates)
    );
    // every id is a mode: without a float model the error is about the missing model
    let mut pg = Playground::new();
    for (id, _, _) in &listed {
        let error = message(pg.quantize(id, 1).unwrap_err());
        assert!(error.contains("no model in slot"), "{id}: {error}");
    }
    assert!(message(pg.quantize("integer-only", 1).unwrap_err()).contains("unknown mode"));
}

#[wasm_bindgen_test]
fn datasets_and_drawings_cross_as_typed_arrays() {
    let (pixels, images, labels) = tiny(3);
    let mut pg = Playground::new();
    assert_eq!(pg.set_test_set(&images, &labels).unwrap(), 3);
    assert_eq!(pg.test_image(1).unwrap(), pixels[IMAGE..2 * IMAGE].to_vec());
    assert_eq!(pg.test_label(2).unwrap(), 2);
    assert!(pg.test_image(3).is_err());
    assert_eq!(pg.set_representative_images(&images).unwrap(), 3);
    // a vertical stroke on a 100×100 canvas
    let gray: Vec<u8> = (0..100 * 100)
        .map(|i| {
            if (45..55).contains(&(i % 100)) && (10..90).contains(&(i / 100)) {
                255
            } else {
                0
            }
        })
        .collect();
    let px = Playground::preprocess(&gray, 100, 100).unwrap();
    assert_eq!(px.len(), IMAGE);
    assert!(
        px.iter()
            .enumerate()
            .all(|(i, &v)| v == 0 || (11..17).contains(&(i % 28)))
    );
}

#[cfg(all(feature = "training", feature = "worker"))]
#[wasm_bindgen_test]
fn train_quantize_predict_evaluate_download() {
    let (mut pg, pixels) = trained();
    let info = pg.quantize("integer-only-uint8", 16).unwrap();
    let input = get(&info, "input");
    assert_eq!(get(&input, "dtype").as_string().as_deref(), Some("uint8"));
    assert_eq!(get(&input, "zero_point").as_f64(), Some(0.0));
    assert_eq!(pg.slots(), vec!["float".to_string(), "quant".to_string()]);
    let p = pg.predict("quant", &pixels[..IMAGE]).unwrap();
    let probabilities: Array = get(&p, "probabilities").dyn_into().unwrap();
    assert_eq!(probabilities.length(), 10);
    let raw: Array = get(&p, "raw").dyn_into().unwrap();
    assert!(raw.iter().all(|v| {
        v.as_f64()
            .is_some_and(|x| (0.0..=255.0).contains(&x) && x.fract() == 0.0)
    }));
    // evaluation, one slot after the other
    pg.eval_begin("float, quant").unwrap();
    // 64 images per model in steps of at most 30, never crossing models: 3 steps each
    let steps = (0..10)
        .position(|_| get(&pg.eval_step(30).unwrap(), "done").as_f64() >= Some(128.0))
        .expect("evaluation finishes");
    assert_eq!(steps, 5);
    let report = pg.eval_report().unwrap();
    assert_eq!(get(&report, "total").as_f64(), Some(64.0));
    // the download bytes read back; inspect reports uint8 I/O
    let bytes = pg.model_bytes("quant").unwrap();
    Playground::check_model(&bytes).unwrap();
    let inspected = Playground::inspect(&bytes).unwrap();
    let types: Array = get(&inspected, "input_types").dyn_into().unwrap();
    assert_eq!(types.get(0).as_string().as_deref(), Some("UINT8"));
}

#[cfg(all(feature = "training", feature = "worker"))]
#[wasm_bindgen_test]
fn truncated_and_flipped_models_are_errors_and_the_slot_keeps_its_model() {
    let (mut pg, pixels) = trained();
    pg.quantize("integer-only-int8", 8).unwrap();
    let good = pg.model_bytes("quant").unwrap();
    pg.load_model("upload", &good).unwrap();
    let before = pg.predict("upload", &pixels[..IMAGE]).unwrap();
    let mut rejected = 0;
    for cut in (0..good.len()).step_by(97) {
        if Playground::check_model(&good[..cut]).is_err() {
            rejected += 1;
        }
        assert!(pg.load_model("upload", &good[..cut]).is_err());
    }
    assert_eq!(rejected, good.len().div_ceil(97));
    // bit flips anywhere: loading and running either works or gives an error, never a panic
    for (n, at) in (0..good.len()).step_by(61).enumerate() {
        let mut bad = good.clone();
        bad[at] ^= 1 << (n % 8);
        if pg.load_model("flipped", &bad).is_ok() {
            let _ = pg.predict("flipped", &pixels[..IMAGE]);
        }
    }
    let after = pg.predict("upload", &pixels[..IMAGE]).unwrap();
    assert_eq!(
        get(&before, "class").as_f64(),
        get(&after, "class").as_f64()
    );
}

/// TF's five reference files, mutated the ways `tests/hostile_inputs.rs` does natively (truncation at
/// every 97th byte, bit flips, swapped 4-byte words), through the exported API: every load is a model
/// or a thrown error with a message, every accepted model predicts or throws, nothing panics.
#[wasm_bindgen_test]
fn mutated_reference_files_through_the_exported_api() {
    let files: [&[u8]; 5] = [
        include_bytes!("fixtures/reference/mnist_float.tflite"),
        include_bytes!("fixtures/reference/mnist_dynamic.tflite"),
        include_bytes!("fixtures/reference/mnist_fullint_floatio.tflite"),
        include_bytes!("fixtures/reference/mnist_intonly_uint8.tflite"),
        include_bytes!("fixtures/reference/mnist_intonly_int8.tflite"),
    ];
    let pixels: Vec<u8> = (0..IMAGE).map(|i| ((i * 37) % 256) as u8).collect();
    let mut pg = Playground::new();
    let (mut accepted, mut rejected) = (0, 0);
    let mut try_load = |pg: &mut Playground, bytes: &[u8]| match pg.load_model("upload", bytes) {
        Ok(_) => {
            accepted += 1;
            let _ = pg.predict("upload", &pixels);
        }
        Err(e) => {
            rejected += 1;
            assert!(!message(e).is_empty());
        }
    };
    // a small deterministic generator for positions
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for good in files {
        for cut in (0..good.len()).step_by(97) {
            try_load(&mut pg, &good[..cut]);
        }
        for _ in 0..150 {
            let mut bad = good.to_vec();
            let bit = next(bad.len() * 8);
            bad[bit / 8] ^= 1 << (bit % 8);
            try_load(&mut pg, &bad);
        }
        for _ in 0..150 {
            let mut bad = good.to_vec();
            let words = bad.len() / 4;
            let (i, j) = (next(words) * 4, next(words) * 4);
            for k in 0..4 {
                bad.swap(i + k, j + k);
            }
            try_load(&mut pg, &bad);
        }
        // the intact file still loads and runs afterwards
        pg.load_model("upload", good).unwrap();
        pg.predict("upload", &pixels).unwrap();
    }
    assert!(
        accepted > 0 && rejected > 0,
        "{accepted} accepted, {rejected} rejected"
    );
}

/// The views inside a quantization (the worker's build) on TensorFlow's own files: the graph, the
/// per-layer error in steps, one element by hand beside the float value, and keeping a layer in float,
/// all as plain JS objects, and every refusal a thrown error with the library's message. The module
/// for those views only (pkg/inside/, the `inside` feature).
#[cfg(all(feature = "training", feature = "inside"))]
#[wasm_bindgen_test]
fn inside_views_cross_as_plain_objects() {
    let (_, images, labels) = tiny(8);
    let mut pg = Playground::new();
    pg.set_test_set(&images, &labels).unwrap();
    pg.set_representative_images(&images).unwrap();
    pg.load_model(
        "float",
        include_bytes!("fixtures/reference/mnist_float.tflite"),
    )
    .unwrap();
    pg.load_model(
        "quant",
        include_bytes!("fixtures/reference/mnist_intonly_uint8.tflite"),
    )
    .unwrap();
    let graph = pg.graph("quant", Some("float".into())).unwrap();
    assert_eq!(
        get(&graph, "paired_with").as_string().as_deref(),
        Some("float")
    );
    assert_eq!(get(&graph, "integer").as_bool(), Some(true));
    let ops: Array = get(&graph, "ops").dyn_into().unwrap();
    let conv = ops
        .iter()
        .find(|o| get(o, "name").as_string().as_deref() == Some("CONV_2D"))
        .expect("a CONV_2D");
    assert_eq!(get(&conv, "explainable").as_bool(), Some(true));
    let output = Array::from(&get(&conv, "outputs")).get(0);
    assert_eq!(get(&output, "dtype").as_string().as_deref(), Some("int8"));
    assert_eq!(Array::from(&get(&output, "scale")).length(), 1);
    let keep_name = get(&conv, "keep_float_name")
        .as_string()
        .expect("a keep-float name");
    let op = get(&conv, "index").as_f64().unwrap() as usize;

    // per-layer error, both modes, in steps
    let p = pg
        .debug_begin("float", "quant", 4, "layer-wise,accumulated")
        .unwrap();
    assert_eq!(get(&p, "total").as_f64(), Some(8.0));
    let mut modes = Vec::new();
    loop {
        let p = pg.debug_step(3).unwrap();
        modes.push(get(&p, "mode").as_string().unwrap_or_default());
        if get(&p, "done").as_f64() == get(&p, "total").as_f64() {
            break;
        }
    }
    assert_eq!(
        modes,
        ["layer-wise", "layer-wise", "accumulated", "accumulated"]
    );
    let reports: Array = pg.debug_report().unwrap().dyn_into().unwrap();
    assert_eq!(reports.length(), 2);
    let layers = Array::from(&get(&reports.get(1), "layers"));
    assert!(layers.length() >= 3);
    for l in layers.iter() {
        assert!(get(&l, "rmse/scale").as_f64().is_some_and(f64::is_finite));
        assert!(get(&l, "range").as_f64().is_some_and(|r| r > 0.0));
    }
    assert!(
        message(pg.debug_begin("float", "quant", 4, "sideways").unwrap_err()).contains("sideways")
    );
    assert!(
        message(
            pg.debug_begin("float", "quant", 9, "accumulated")
                .unwrap_err()
        )
        .contains("1–8")
    );

    // one element by hand: the interpreter's value, with the float model's beside it
    let e = pg
        .explain("quant", Some("float".into()), op, 100, 2)
        .unwrap();
    let layer = pg.layer_output("quant", op, 2).unwrap();
    let values = Array::from(&get(&layer, "values"));
    assert_eq!(get(&e, "result").as_f64(), values.get(100).as_f64());
    assert!(get(&e, "float_value").as_f64().is_some());
    let steps = Array::from(&get(&e, "steps"));
    assert_eq!(
        get(&steps.get(0), "id").as_string().as_deref(),
        Some("sum_of_products")
    );
    assert!(message(pg.explain("quant", None, 0, 0, 2).unwrap_err()).contains("only CONV_2D"));

    // histograms: the file's own grids, or a new calibration's
    let h = pg.histograms("float", "quant", 8, None, 16).unwrap();
    assert!(get(&h, "recalibrated").is_undefined());
    let activations = Array::from(&get(&h, "activations"));
    assert!(activations.length() >= 3);
    let first = activations.get(0);
    assert_eq!(
        Array::from(&get(&get(&first, "values"), "counts")).length(),
        16
    );
    let h = pg
        .histograms("float", "quant", 8, Some("percentile".into()), 16)
        .unwrap();
    assert_eq!(
        get(&h, "recalibrated").as_string().as_deref(),
        Some("percentile")
    );
    assert!(
        message(
            pg.histograms("float", "quant", 8, Some("guess".into()), 16)
                .unwrap_err()
        )
        .contains("unknown calibration method")
    );

    // every method's range for each activation, calibrated on the same images
    let ranges: Array = pg
        .method_ranges("float", "quant", 8)
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(ranges.length(), 4);
    assert_eq!(
        get(&ranges.get(1), "method").as_string().as_deref(),
        Some("percentile")
    );
    let first = Array::from(&get(&ranges.get(0), "ranges")).get(0);
    assert!(get(&first, "real_max").as_f64() > get(&first, "real_min").as_f64());
    assert!(pg.method_ranges("float", "quant", 9).is_err());

    // keep the convolution in float, beside the all-int8 file
    let r = pg
        .convert_keeping_float("float", vec![keep_name], 8)
        .unwrap();
    assert_eq!(Array::from(&get(&r, "kept")).length(), 1);
    let selective = get(&r, "selective");
    assert_eq!(
        get(&selective, "mode").as_string().as_deref(),
        Some("full-integer")
    );
    assert!(
        message(
            pg.convert_keeping_float("float", vec!["nope".into()], 8)
                .unwrap_err()
        )
        .contains("nope")
    );
    assert!(pg.remove_model("selective"));
}

/// The model designer's questions, asked of the training module (its `Trainer`): the presets, a
/// preset's check with its costs, a broken design's problem naming its layer, the design a trained
/// float file carries, and a file that is not a model refused with the library's message.
#[cfg(feature = "training")]
#[wasm_bindgen_test]
fn the_designer_asks_the_training_module() {
    let presets = Array::from(&Trainer::design_presets().unwrap());
    assert!(presets.length() >= 2, "{} presets", presets.length());
    let first = get(&presets.get(0), "json").as_string().unwrap();
    let limits = Trainer::design_limits().unwrap();
    assert!(get(&limits, "params").as_f64().unwrap() > 0.0);
    let check = Trainer::design_check(&first).unwrap();
    let absent = |v: JsValue| v.is_null() || v.is_undefined();
    assert!(absent(get(&check, "problem")));
    let summary = get(&check, "summary");
    assert!(get(&summary, "params").as_f64().unwrap() > 0.0);
    let broken = first.replacen("\"units\": 10", "\"units\": 0", 1);
    assert_ne!(broken, first, "the preset has a dense layer of 10 units");
    let check = Trainer::design_check(&broken).unwrap();
    assert!(absent(get(&check, "summary")));
    let problem = get(&check, "problem");
    assert_eq!(get(&problem, "kind").as_string().as_deref(), Some("Dense"));
    assert!(get(&problem, "layer").as_f64().is_some());
    assert!(
        get(&problem, "problem")
            .as_string()
            .unwrap()
            .contains("at least one unit")
    );
    assert!(message(Trainer::design_of(b"junk").unwrap_err()).contains("malformed .tflite"));
    assert!(message(Trainer::folded_ranges(b"junk").unwrap_err()).contains("malformed .tflite"));
}

/// The worker's conversion with every setting, the deployment check and the list of calibration methods:
/// plain objects in, plain objects out, and static shapes change the check's verdict.
#[cfg(all(feature = "training", feature = "worker"))]
#[wasm_bindgen_test]
fn settings_deployment_check_and_methods_cross_as_plain_objects() {
    let (_, images, labels) = tiny(16);
    let mut pg = Playground::new();
    pg.set_train_set(&images, &labels).unwrap();
    pg.load_model(
        "float",
        include_bytes!("fixtures/reference/mnist_float.tflite"),
    )
    .unwrap();
    let methods = Playground::calibration_methods();
    assert_eq!(methods, ["minmax", "percentile", "entropy", "mse"]);
    let settings = |static_shapes: bool| {
        let s = js_sys::Object::new();
        for (k, v) in [
            ("mode", JsValue::from_str("integer-only-uint8")),
            ("samples", JsValue::from_f64(8.0)),
            ("method", JsValue::from_str("percentile")),
            ("set", JsValue::from_str("digit:3")),
            ("per_tensor", JsValue::TRUE),
            ("static_shapes", JsValue::from_bool(static_shapes)),
        ] {
            Reflect::set(&s, &k.into(), &v).unwrap();
        }
        JsValue::from(s)
    };
    let mapped = |pg: &mut Playground, static_shapes| {
        pg.quantize_with(settings(static_shapes), None).unwrap();
        let check = Playground::deploy_check(&pg.model_bytes("quant").unwrap()).unwrap();
        let ops = Array::from(&get(&check, "ops")).length() as f64;
        (get(&check, "mapped").as_f64().unwrap_or(-1.0), ops)
    };
    let (dynamic, ops) = mapped(&mut pg, false);
    assert!(dynamic < ops, "{dynamic} of {ops}");
    let (folded, ops) = mapped(&mut pg, true);
    assert_eq!(folded, ops);
    let images = pg.calibration_images("digit:3", 8).unwrap();
    assert_eq!(images.len() % IMAGE, 0);
    assert!(message(Playground::deploy_check(b"junk").unwrap_err()).contains("malformed"));
    assert!(
        message(
            pg.quantize_with(JsValue::from_str("fast"), None)
                .unwrap_err()
        )
        .contains("invalid conversion settings")
    );
}
