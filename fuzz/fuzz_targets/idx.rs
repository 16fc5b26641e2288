//! Any bytes → IDX parse (plain or gzip) → MNIST dataset: Ok or a typed error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ptq_playground::fuzzing::idx_bytes(data);
});
