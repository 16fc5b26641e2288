//! Entry points shared by the `cargo fuzz` targets (fuzz/) and the regression test that replays their
//! committed corpus (tests/fuzz_regressions.rs). Each takes arbitrary bytes and exercises a whole path a
//! user's file takes; they return whether the input was accepted, and must never panic.

use crate::data::{Dataset, parse_idx};
use crate::debug::explain;
use crate::eval;
use crate::interp::{Interpreter, InterpreterOptions};
use crate::quantize::{ConvertOptions, IoType, Mode, calibrate, convert, detect_mode, fold_static_shapes};
use crate::tflite::{deploy_check, read_model};

/// Models that plan to more work than this are read and planned but not run: a legal model may ask
/// for up to [`MAX_WORK`](crate::interp::limits::MAX_WORK) (seconds of reference kernels, longer
/// under the fuzzer's sanitizer), which is cost, not a bug, and would stall the search. The tutorial's
/// model needs about 0.2 M.
pub const FUZZ_WORK_BUDGET: u64 = 1 << 24;

/// Read a `.tflite`, plan it, and run it once on an all-zero input and once on an MNIST-like image
/// (when the input has 784 elements); then what the page's views do with an uploaded file: the
/// deployment check, conversion of a float model, static shapes, and the first and last element of
/// every operator explained.
/// `true` when everything succeeded.
pub fn tflite_bytes(data: &[u8]) -> bool {
    let Ok(model) = read_model(data) else {
        return false;
    };
    let Ok(mut interp) = Interpreter::new(&model) else {
        return false;
    };
    if interp.work() > FUZZ_WORK_BUDGET {
        return true;
    }
    if interp.invoke().is_err() {
        return false;
    }
    let image: Vec<u8> = (0..784).map(|i| ((i * 37) % 256) as u8).collect();
    let _ = eval::predict(&mut interp, &image);
    let _ = interp.output_dequantized(0);
    let _ = deploy_check(&model);
    convert_uploaded(&model, &image);
    let mut folded = model.clone();
    if fold_static_shapes(&mut folded).is_ok() {
        let _ = Interpreter::new(&folded).map(|mut i| i.invoke());
    }
    let options = InterpreterOptions {
        preserve_all_tensors: true,
        ..Default::default()
    };
    if let Ok(mut kept) = Interpreter::with_options(&model, options)
        && kept.invoke().is_ok()
    {
        let ops = model.subgraphs.first().map_or(0, |g| g.operators.len());
        for op_index in 0..ops {
            let len = model.subgraphs[0].operators[op_index]
                .outputs
                .first()
                .and_then(|&t| kept.tensor_info(usize::try_from(t).ok()?))
                .map_or(0, |t| t.num_elements());
            for flat in [0, len.saturating_sub(1)] {
                let _ = explain(&model, &kept, op_index, flat);
            }
        }
    }
    true
}

/// What the page does with an uploaded float model: calibrate it (a black image and `image`, or zeros
/// when its input is not 784 elements) and convert it in each integer mode, then plan and run the
/// result. Errors are fine; panics are not.
fn convert_uploaded(model: &crate::tflite::Model, image: &[u8]) {
    if detect_mode(model) != Mode::Float {
        return;
    }
    let len = model
        .subgraphs
        .first()
        .and_then(|g| g.tensors.get(usize::try_from(*g.inputs.first()?).ok()?))
        .map_or(0, |t| t.shape.iter().map(|&d| d.max(1) as usize).product::<usize>());
    if len == 0 || len > 1 << 16 {
        return;
    }
    let mut images = vec![0u8; len];
    images.extend((0..len).map(|i| image.get(i).copied().unwrap_or((i % 251) as u8)));
    let Ok(calibration) = calibrate(model, &images, len, |_, _| true) else {
        return;
    };
    for mode in [Mode::DynamicRange, Mode::FullInteger, Mode::IntegerOnly(IoType::Int8)] {
        if let Ok(q) = convert(model, &ConvertOptions::new(mode), Some(&calibration))
            && let Ok(mut interp) = Interpreter::new(&q)
            && interp.work() <= FUZZ_WORK_BUDGET
        {
            let _ = interp.invoke();
        }
    }
}

/// Parse IDX bytes and, if they hold a 3-D u8 array, build a dataset from them and themselves as
/// labels (mismatches must be typed errors).
pub fn idx_bytes(data: &[u8]) -> bool {
    let Ok(idx) = parse_idx(data) else {
        return false;
    };
    let accepted = !idx.data.is_empty();
    let _ = Dataset::from_idx(idx.clone(), idx);
    accepted
}
