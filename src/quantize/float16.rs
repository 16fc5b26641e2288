//! Float16 quantization, as TF's converter writes it (`optimizations=[DEFAULT]`,
//! `target_spec.supported_types=[tf.float16]`): every float32 constant (weights and biases) is stored as
//! IEEE half precision, rounded to nearest with ties to even, and a DEQUANTIZE at the front of the graph
//! turns it back into the float32 tensor its operators read. Activations and arithmetic stay float32;
//! the file is about half the size.

use crate::error::Result;
use crate::tflite::schema::op;
use crate::tflite::{Model, Operator, Options, TensorType};

/// The IEEE half-precision bits nearest to `x` (ties to even; overflow to infinity; NaN stays NaN).
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    if exponent == 0xff {
        return sign | 0x7c00 | if mantissa != 0 { 0x200 } else { 0 };
    }
    let e = exponent - 127 + 15;
    if e >= 31 {
        return sign | 0x7c00;
    }
    // round `value >> shift` to nearest, ties to even
    let round = |value: u32, shift: u32| -> u32 {
        if shift >= 32 {
            return 0;
        }
        let q = value >> shift;
        let rest = value & ((1u32 << shift) - 1);
        let half = 1u32 << (shift - 1);
        if rest > half || (rest == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    if e <= 0 {
        // subnormal (or zero): units of 2^-24; a carry into 0x400 is the smallest normal, as it should be
        if exponent == 0 {
            return sign;
        }
        return sign | round(mantissa | 0x80_0000, (14 - e) as u32) as u16;
    }
    // normal: a carry out of the mantissa moves into the exponent (and to infinity at the top)
    sign | round(((e as u32) << 23) | mantissa, 13) as u16
}

/// Store every float32 constant of subgraph 0 as float16 behind a DEQUANTIZE (version 3, float16 input).
pub(crate) fn float16(model: &mut Model) -> Result<()> {
    let g = &model.subgraphs[0];
    let mut targets: Vec<usize> = Vec::new();
    for o in &g.operators {
        for &t in &o.inputs {
            let Some(i) = usize::try_from(t).ok() else {
                continue;
            };
            let Some(tensor) = g.tensors.get(i) else {
                continue;
            };
            if tensor.dtype == TensorType::Float32
                && model.tensor_data(tensor).is_some()
                && !targets.contains(&i)
            {
                targets.push(i);
            }
        }
    }
    let mut front = Vec::new();
    for i in targets {
        let data = model
            .tensor_data(&model.subgraphs[0].tensors[i])
            .unwrap_or(&[]);
        let halves: Vec<u8> = data
            .chunks_exact(4)
            .flat_map(|b| {
                f32_to_f16_bits(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes()
            })
            .collect();
        let buffer = model.add_buffer(halves);
        let g = &mut model.subgraphs[0];
        let mut half = g.tensors[i].clone();
        half.dtype = TensorType::Float16;
        half.buffer = buffer;
        g.tensors.push(half);
        let half_index = (g.tensors.len() - 1) as i32;
        // the float32 tensor the operators read is now computed by the DEQUANTIZE
        g.tensors[i].buffer = 0;
        g.tensors[i].name.push_str("/dequantized");
        front.push(Operator {
            code: op::DEQUANTIZE,
            custom_code: None,
            version: 3,
            inputs: vec![half_index],
            outputs: vec![i as i32],
            options: Options::None,
        });
    }
    let g = &mut model.subgraphs[0];
    front.append(&mut g.operators);
    g.operators = front;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::kernels::dequantize::f16_to_f32;

    #[test]
    fn rounding_to_half_is_nearest_with_ties_to_even() {
        for (x, bits) in [
            (1.0f32, 0x3c00u16),
            (-2.0, 0xc000),
            (65504.0, 0x7bff),
            (65520.0, 0x7c00), // the tie above the largest half rounds to infinity
            (1.0 + 1.0 / 2048.0, 0x3c00), // a tie: to the even neighbour
            (1.0 + 3.0 / 2048.0, 0x3c02), // a tie: to the even neighbour, upwards
            (5.960_464_5e-8, 0x0001), // the smallest subnormal
            (2.980_232_2e-8, 0x0000), // half of it: a tie, to even (zero)
            (6.102e-5, 0x0400), // above the largest subnormal: up into the smallest normal
            (6.097_555e-5, 0x03ff), // the largest subnormal
            (1e-10, 0x0000),
            (f32::INFINITY, 0x7c00),
            (-0.0, 0x8000),
        ] {
            assert_eq!(f32_to_f16_bits(x), bits, "{x}");
        }
        assert!(f16_to_f32(f32_to_f16_bits(f32::NAN)).is_nan());
        // every half decodes and encodes back to itself
        for bits in 0u16..=0xffff {
            let x = f16_to_f32(bits);
            if !x.is_nan() {
                assert_eq!(f32_to_f16_bits(x), bits, "{bits:#06x}");
            }
        }
    }
}
