//! Replays every input the fuzzers ever found a problem with (tests/fixtures/fuzz-regressions; the IDX
//! folder also holds the fuzzer's seeds), plus a few hand-made hostile inputs, through the same entry
//! points as the fuzz targets. Each must come back as Ok or a typed error: a panic fails the test.

mod common;

use common::{REFERENCE, fixtures, reference};
use ptq_playground::fuzzing::{FUZZ_WORK_BUDGET, idx_bytes, tflite_bytes};
use ptq_playground::interp::Interpreter;
use ptq_playground::tflite::read_model;

/// Feed every file of the corpus folder `dir` to `f`; returns the file names with whether `f`
/// accepted each.
fn replay(dir: &str, f: fn(&[u8]) -> bool) -> Vec<(String, bool)> {
    let dir = fixtures().join("fuzz-regressions").join(dir);
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_file() && !name.starts_with('.') {
            let bytes = std::fs::read(&path).unwrap();
            replayed.push((name, f(&bytes)));
        }
    }
    replayed.sort();
    replayed
}

#[test]
fn tflite_regressions_do_not_panic() {
    // timeout-* inputs are heavy but legal models: the entry point plans them and, above
    // FUZZ_WORK_BUDGET, does not run them
    let replayed = replay("tflite", tflite_bytes);
    eprintln!("replayed {} .tflite regression inputs", replayed.len());
    // the two inputs found so far: a forged dilation (OOM) and a batch of 65,536 (timeout)
    assert!(replayed.len() >= 2, "{replayed:?}");
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
    let replayed = replay("idx", idx_bytes);
    eprintln!("replayed {} IDX inputs", replayed.len());
    // the fuzzer's seeds (fuzz/run.sh copies this folder into its corpus): the first bytes of the MNIST
    // test files, whose headers claim more items than follow (refused), plain and gzip; and the same
    // bytes with headers that match (accepted)
    let accepted = |name: &str| replayed.iter().find(|(n, _)| n == name).map(|&(_, ok)| ok);
    for (seed, ok) in [
        ("seed-images-head", false),
        ("seed-images-head.gz", false),
        ("seed-labels-head", false),
        ("seed-images-10", true),
        ("seed-labels-10", true),
    ] {
        assert_eq!(accepted(seed), Some(ok), "{seed}");
    }
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
    for name in REFERENCE {
        let bytes = reference(name);
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
