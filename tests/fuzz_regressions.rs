//! Replays every input the fuzzers ever found a problem with (tests/fixtures/fuzz-regressions), plus a
//! few hand-made hostile inputs, through the same entry points as the fuzz targets. Each must come
//! back as Ok or a typed error: a panic fails the test.

use std::path::Path;

use ptq_playground::fuzzing::{FUZZ_WORK_BUDGET, idx_bytes, tflite_bytes};
use ptq_playground::interp::Interpreter;
use ptq_playground::tflite::read_model;

fn replay(dir: &str, f: fn(&[u8]) -> bool) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz-regressions")
        .join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_file() && !hidden {
            let bytes = std::fs::read(&path).unwrap();
            let _ = f(&bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn tflite_regressions_do_not_panic() {
    // timeout-* inputs are heavy but legal models: the entry point plans them and, above
    // FUZZ_WORK_BUDGET, does not run them
    let n = replay("tflite", tflite_bytes);
    eprintln!("replayed {n} .tflite regression inputs");
    // hand-made: empty, identifier only, huge claimed offsets
    for bytes in [
        &b""[..],
        b"\x08\0\0\0TFL3",
        b"\xff\xff\xff\x7fTFL3\0\0\0\0",
        &[0u8; 64],
    ] {
        assert!(!tflite_bytes(bytes));
    }
}

#[test]
fn idx_regressions_do_not_panic() {
    let n = replay("idx", idx_bytes);
    eprintln!("replayed {n} IDX regression inputs");
    for bytes in [
        &b""[..],
        b"\0\0\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x1f\x8b\x08\0garbage",
    ] {
        assert!(!idx_bytes(bytes));
    }
}

#[test]
fn the_reference_files_pass_through_the_fuzz_entry_point() {
    // the positive case, so the entry point is known to exercise the whole path
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
    for name in [
        "mnist_float",
        "mnist_dynamic",
        "mnist_fullint_floatio",
        "mnist_intonly_uint8",
        "mnist_intonly_int8",
    ] {
        let bytes = std::fs::read(dir.join(format!("{name}.tflite"))).unwrap();
        // inside the budget, so the fuzz target runs them rather than skipping them
        let work = Interpreter::new(&read_model(&bytes).unwrap())
            .unwrap()
            .work();
        assert!(
            work > 50_000 && work <= FUZZ_WORK_BUDGET,
            "{name}: work {work}"
        );
        assert!(tflite_bytes(&bytes), "{name}");
    }
}
