//! Tests of the reader on hand-assembled files: each knob of a minimal model turned to a value a
//! malformed or unsupported file would hold, and the error it must give.

use flatbuffers::FlatBufferBuilder;

use super::*;
use crate::tflite::schema::op;

/// Knobs for a hand-assembled file: one subgraph, tensors 0 (input, FLOAT32 [1, 4]) and 1 (output),
/// one operator.
struct Raw {
    identifier: &'static str,
    version: u32,
    tensor_type: i8,
    shape: Vec<i32>,
    buffer: u32,
    buffer_offset: u64,
    sparsity: bool,
    deprecated_code: i8,
    builtin_code: i32,
    opcode_index: u32,
    op_inputs: Vec<i32>,
    options_type: u8,
    /// Write an options table (a Conv2DOptions-shaped one, padding = this value).
    options_padding: Option<i8>,
    scale: Option<Vec<f32>>,
    zero_point: Option<Vec<i64>>,
}

impl Default for Raw {
    fn default() -> Raw {
        Raw {
            identifier: "TFL3",
            version: 3,
            tensor_type: 0,
            shape: vec![1, 4],
            buffer: 0,
            buffer_offset: 0,
            sparsity: false,
            deprecated_code: 0,
            builtin_code: op::QUANTIZE,
            opcode_index: 0,
            op_inputs: vec![0],
            options_type: 0,
            options_padding: None,
            scale: None,
            zero_point: None,
        }
    }
}

fn build(r: &Raw) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let buffers: Vec<_> = (0..2)
        .map(|i| {
            let start = fbb.start_table();
            if i == 1 {
                fbb.push_slot::<u64>(field::buffer::OFFSET, r.buffer_offset, 0);
            }
            fbb.end_table(start)
        })
        .collect();
    let buffers = fbb.create_vector(&buffers);
    let code = {
        let start = fbb.start_table();
        fbb.push_slot::<i32>(field::operator_code::BUILTIN_CODE, r.builtin_code, 0);
        fbb.push_slot::<i8>(
            field::operator_code::DEPRECATED_BUILTIN_CODE,
            r.deprecated_code,
            0,
        );
        fbb.end_table(start)
    };
    let codes = fbb.create_vector(&[code]);
    let mut tensors = Vec::new();
    for i in 0..2 {
        let name = fbb.create_string(&format!("t{i}"));
        let shape = fbb.create_vector(&r.shape);
        let quantization = if i == 0 && (r.scale.is_some() || r.zero_point.is_some()) {
            let scale = r.scale.as_ref().map(|s| fbb.create_vector(s));
            let zero_point = r.zero_point.as_ref().map(|z| fbb.create_vector(z));
            let start = fbb.start_table();
            if let Some(s) = scale {
                fbb.push_slot_always(field::quantization::SCALE, s);
            }
            if let Some(z) = zero_point {
                fbb.push_slot_always(field::quantization::ZERO_POINT, z);
            }
            Some(fbb.end_table(start))
        } else {
            None
        };
        let sparsity = (r.sparsity && i == 0).then(|| {
            let start = fbb.start_table();
            fbb.end_table(start)
        });
        let start = fbb.start_table();
        fbb.push_slot_always(field::tensor::NAME, name);
        fbb.push_slot_always(field::tensor::SHAPE, shape);
        if let Some(q) = quantization {
            fbb.push_slot_always(field::tensor::QUANTIZATION, q);
        }
        if let Some(s) = sparsity {
            fbb.push_slot_always(field::tensor::SPARSITY, s);
        }
        fbb.push_slot::<u32>(field::tensor::BUFFER, if i == 0 { r.buffer } else { 0 }, 0);
        fbb.push_slot::<i8>(field::tensor::TYPE, r.tensor_type, 0);
        tensors.push(fbb.end_table(start));
    }
    let tensors = fbb.create_vector(&tensors);
    let op_inputs = fbb.create_vector(&r.op_inputs);
    let op_outputs = fbb.create_vector(&[1i32]);
    let options = r.options_padding.map(|p| {
        let start = fbb.start_table();
        fbb.push_slot::<i8>(field::conv_2d::PADDING, p, 0);
        fbb.end_table(start)
    });
    let operator = {
        let start = fbb.start_table();
        fbb.push_slot::<u32>(field::operator::OPCODE_INDEX, r.opcode_index, 0);
        fbb.push_slot_always(field::operator::INPUTS, op_inputs);
        fbb.push_slot_always(field::operator::OUTPUTS, op_outputs);
        if let Some(o) = options {
            fbb.push_slot_always(field::operator::BUILTIN_OPTIONS, o);
        }
        fbb.push_slot::<u8>(field::operator::BUILTIN_OPTIONS_TYPE, r.options_type, 0);
        fbb.end_table(start)
    };
    let operators = fbb.create_vector(&[operator]);
    let io_in = fbb.create_vector(&[0i32]);
    let io_out = fbb.create_vector(&[1i32]);
    let subgraph = {
        let start = fbb.start_table();
        fbb.push_slot_always(field::subgraph::TENSORS, tensors);
        fbb.push_slot_always(field::subgraph::INPUTS, io_in);
        fbb.push_slot_always(field::subgraph::OUTPUTS, io_out);
        fbb.push_slot_always(field::subgraph::OPERATORS, operators);
        fbb.end_table(start)
    };
    let subgraphs = fbb.create_vector(&[subgraph]);
    let start = fbb.start_table();
    fbb.push_slot::<u32>(field::model::VERSION, r.version, 0);
    fbb.push_slot_always(field::model::OPERATOR_CODES, codes);
    fbb.push_slot_always(field::model::SUBGRAPHS, subgraphs);
    fbb.push_slot_always(field::model::BUFFERS, buffers);
    let root = fbb.end_table(start);
    fbb.finish(root, Some(r.identifier));
    fbb.finished_data().to_vec()
}

fn error(r: Raw) -> String {
    read_model(&build(&r)).unwrap_err().to_string()
}

#[test]
fn reads_a_minimal_file() {
    let m = read_model(&build(&Raw::default())).unwrap();
    assert_eq!(m.subgraphs[0].operators[0].code, op::QUANTIZE);
    assert_eq!(m.subgraphs[0].tensors[1].name, "t1");
    assert_eq!(m.subgraphs[0].tensors[0].quantization, None);
}

#[test]
fn resolves_operator_codes() {
    // Old files: only the i8 field.
    let m = read_model(&build(&Raw {
        builtin_code: 0,
        deprecated_code: 6,
        ..Raw::default()
    }))
    .unwrap();
    assert_eq!(m.subgraphs[0].operators[0].code, op::DEQUANTIZE);
    // New codes: 127 in the i8 field.
    let m = read_model(&build(&Raw {
        builtin_code: 150,
        deprecated_code: 127,
        ..Raw::default()
    }))
    .unwrap();
    assert_eq!(m.subgraphs[0].operators[0].code, 150);
    // Codes the schema doesn't know, with options we don't know, are read for `inspect`.
    let m = read_model(&build(&Raw {
        builtin_code: 5000,
        deprecated_code: 127,
        options_type: 200,
        options_padding: Some(0),
        ..Raw::default()
    }))
    .unwrap();
    assert_eq!(m.subgraphs[0].operators[0].options, Options::Unknown(200));
    assert!(
        error(Raw {
            builtin_code: -4,
            deprecated_code: -1,
            ..Raw::default()
        })
        .contains("operator code 0 (builtin_code): -1 is negative")
    );
}

#[test]
fn reads_missing_options_as_defaults() {
    let m = read_model(&build(&Raw {
        builtin_code: op::CONV_2D,
        options_type: options::CONV_2D,
        ..Raw::default()
    }))
    .unwrap();
    assert_eq!(
        m.subgraphs[0].operators[0].options,
        Options::Conv2D(Conv2DOptions::default())
    );
}

#[test]
fn errors_name_the_table_and_field() {
    let cases: Vec<(Raw, &str)> = vec![
        (
            Raw {
                identifier: "TFL2",
                ..Raw::default()
            },
            "file identifier: expected \"TFL3\" at bytes 4..8, found \"TFL2\"",
        ),
        (
            Raw {
                version: 2,
                ..Raw::default()
            },
            "model (version): schema version 2 is not supported",
        ),
        (
            Raw {
                tensor_type: 42,
                ..Raw::default()
            },
            "subgraph 0 tensor 0 (type): 42 is not a TensorType",
        ),
        (
            Raw {
                opcode_index: 3,
                ..Raw::default()
            },
            "subgraph 0 operator 0 (opcode_index): 3 out of range (1 operator codes)",
        ),
        (
            Raw {
                op_inputs: vec![0, 7],
                ..Raw::default()
            },
            "subgraph 0 operator 0 (QUANTIZE) (inputs): tensor index 7 out of range (2 tensors)",
        ),
        (
            Raw {
                buffer: 9,
                ..Raw::default()
            },
            "subgraph 0 tensor 0 (buffer): index 9 out of range (2 buffers)",
        ),
        (
            Raw {
                buffer_offset: 4096,
                ..Raw::default()
            },
            "buffer 1 (offset): data stored outside the flatbuffer",
        ),
        (
            Raw {
                sparsity: true,
                ..Raw::default()
            },
            "subgraph 0 tensor 0 (sparsity): sparse tensors are not supported",
        ),
        (
            Raw {
                shape: vec![1, -1],
                ..Raw::default()
            },
            "subgraph 0 tensor 0 (shape): dimension 1 is -1",
        ),
        (
            Raw {
                builtin_code: op::CONV_2D,
                options_type: options::CONV_2D,
                options_padding: Some(9),
                ..Raw::default()
            },
            "subgraph 0 operator 0 builtin_options (padding): 9 is not a Padding",
        ),
        (
            Raw {
                builtin_code: op::CONV_2D,
                options_type: options::POOL_2D,
                options_padding: Some(1),
                ..Raw::default()
            },
            "Pool2DOptions does not fit this operator, which takes Conv2DOptions",
        ),
        (
            Raw {
                scale: Some(vec![0.5]),
                ..Raw::default()
            },
            "subgraph 0 tensor 0 (quantization): 1 scales but 0 zero points",
        ),
        (
            Raw {
                scale: Some(vec![0.5, 0.5]),
                zero_point: Some(vec![0, 0]),
                ..Raw::default()
            },
            "2 scales along quantized_dimension 0, whose size is 1",
        ),
    ];
    for (raw, expected) in cases {
        let got = error(raw);
        assert!(got.contains(expected), "expected {expected:?} in {got:?}");
    }
    let zero_point_only = read_model(&build(&Raw {
        zero_point: Some(vec![3]),
        ..Raw::default()
    }));
    assert!(zero_point_only.is_err());
    let ok = read_model(&build(&Raw {
        scale: Some(vec![0.5]),
        zero_point: Some(vec![3]),
        ..Raw::default()
    }));
    assert_eq!(
        ok.unwrap().subgraphs[0].tensors[0].per_tensor_quantization(),
        Some((0.5, 3))
    );
}

#[test]
fn short_and_oversized_files() {
    assert!(
        read_model(b"")
            .unwrap_err()
            .to_string()
            .contains("too short")
    );
    assert!(read_model(b"\x08\0\0\0TFL3").is_err());
    // Zeroed pages: nothing is touched beyond the length check.
    let huge = vec![0u8; limits::MAX_FILE_BYTES + 1];
    assert!(matches!(
        read_model(&huge),
        Err(Error::LimitExceeded { .. })
    ));
}
