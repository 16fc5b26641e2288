//! Any bytes → read → plan → invoke: every step must return Ok or a typed error, never panic, hang or
//! allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ptq_playground::fuzzing::tflite_bytes(data);
});
