//! Quantization maths of the planner: a tensor's quantization table parsed and validated, the
//! per-channel multipliers and shifts of CONV_2D / DEPTHWISE_CONV_2D and FULLY_CONNECTED, the rescale
//! of an int8/uint8 QUANTIZE, and the clamp ranges of fused activations on quantized outputs. The
//! functions are pure; the planner's methods at the bottom look the tensors up and call them.

use super::{Planner, invalid, unsupported};
use crate::error::Result;
use crate::interp::fixed_point::quantize_multiplier;
use crate::interp::kernels::activation::quantized_range;
use crate::interp::kernels::conv2d::ChannelQuant;
use crate::interp::kernels::fully_connected::FcQuant;
use crate::tflite::{Activation, Quantization, TensorType};

/// Quantization of one tensor, parsed.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Quant {
    None,
    PerTensor {
        scale: f32,
        zero_point: i64,
    },
    PerAxis {
        scales: Vec<f32>,
        zero_points: Vec<i64>,
        axis: usize,
    },
}

/// The scales and zero points of a weight tensor, one per output channel.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct WeightQuant {
    pub scales: Vec<f32>,
    pub zero_points: Vec<i64>,
    /// Whether the file gives one scale per channel (rather than one scale repeated).
    pub per_axis: bool,
}

/// Parse a tensor's quantization table (TFLite's `ParseQuantization` rules: as many zero points as
/// scales; a per-axis dimension inside the rank).
pub(super) fn parse_quant(index: usize, q: Option<&Quantization>, rank: usize) -> Result<Quant> {
    let Some(q) = q else { return Ok(Quant::None) };
    if q.scale.is_empty() && q.zero_point.is_empty() {
        return Ok(Quant::None);
    }
    if q.scale.len() != q.zero_point.len() {
        return Err(invalid(format!(
            "tensor {index} has {} scales and {} zero points",
            q.scale.len(),
            q.zero_point.len()
        )));
    }
    if q.scale.len() == 1 {
        return Ok(Quant::PerTensor {
            scale: q.scale[0],
            zero_point: q.zero_point[0],
        });
    }
    let axis = usize::try_from(q.quantized_dimension)
        .ok()
        .filter(|&a| a < rank.max(1))
        .ok_or_else(|| {
            invalid(format!(
                "tensor {index}: quantized dimension {} out of range",
                q.quantized_dimension
            ))
        })?;
    Ok(Quant::PerAxis {
        scales: q.scale.clone(),
        zero_points: q.zero_point.clone(),
        axis,
    })
}

fn valid_scale(s: f32) -> bool {
    s.is_finite() && s > 0.0
}

/// The value range of a quantized storage type.
pub(super) fn type_range(dtype: TensorType) -> Option<(i32, i32)> {
    match dtype {
        TensorType::Int8 => Some((-128, 127)),
        TensorType::UInt8 => Some((0, 255)),
        TensorType::Int16 => Some((-32768, 32767)),
        _ => None,
    }
}

/// Per-tensor (scale, zero point) of an activation tensor of type `dtype`, validated: a positive
/// finite scale and a zero point inside the type's range.
pub(super) fn activation_params(
    op: &str,
    what: &str,
    dtype: TensorType,
    quant: &Quant,
) -> Result<(f32, i32)> {
    match quant {
        Quant::PerTensor { scale, zero_point } => {
            if !valid_scale(*scale) {
                return Err(invalid(format!(
                    "{op}: {what} scale {scale} is not a positive finite number"
                )));
            }
            let (lo, hi) = type_range(dtype).unwrap_or((i32::MIN, i32::MAX));
            if *zero_point < lo as i64 || *zero_point > hi as i64 {
                return Err(invalid(format!(
                    "{op}: {what} zero point {zero_point} is outside the {dtype} range"
                )));
            }
            Ok((*scale, *zero_point as i32))
        }
        Quant::None => Err(invalid(format!(
            "{op}: {what} ({dtype}) has no quantization parameters"
        ))),
        Quant::PerAxis { .. } => Err(unsupported(
            op,
            format!("per-axis quantization of the {what}"),
        )),
    }
}

/// Weight scales expanded to `count` channels along `axis`, plus the zero points.
pub(super) fn weight_params(
    op: &str,
    quant: &Quant,
    axis: usize,
    count: usize,
) -> Result<WeightQuant> {
    let (scales, zero_points, per_axis) = match quant {
        Quant::PerTensor { scale, zero_point } => {
            (vec![*scale; count], vec![*zero_point; count], false)
        }
        Quant::PerAxis {
            scales,
            zero_points,
            axis: a,
        } => {
            if *a != axis || scales.len() != count {
                return Err(invalid(format!(
                    "{op}: weights have {} scales on axis {a}, expected {count} on axis {axis}",
                    scales.len()
                )));
            }
            (scales.clone(), zero_points.clone(), true)
        }
        Quant::None => {
            return Err(invalid(format!(
                "{op}: quantized weights without quantization parameters"
            )));
        }
    };
    if let Some(bad) = scales.iter().find(|s| !valid_scale(**s)) {
        return Err(invalid(format!(
            "{op}: weight scale {bad} is not a positive finite number"
        )));
    }
    Ok(WeightQuant {
        scales,
        zero_points,
        per_axis,
    })
}

/// Per-channel requantization for CONV_2D / DEPTHWISE_CONV_2D (`PopulateConvolutionQuantizationParams`):
/// `M[c] = (double)s_in · (double)s_w[c] / (double)s_out`; weights must have zero point 0. `input` and
/// `output` are (scale, zero point) pairs already validated; `range` is the output type's (int8 or
/// int16) clamp range.
pub(super) fn conv_channel_quant(
    op: &str,
    (s_in, zp_in): (f32, i32),
    weights: &WeightQuant,
    (s_out, zp_out): (f32, i32),
    act: Activation,
    range: (i32, i32),
) -> Result<ChannelQuant> {
    if weights.zero_points.iter().any(|&z| z != 0) {
        return Err(unsupported(op, "int8 weights with a non-zero zero point"));
    }
    let count = weights.scales.len();
    let mut multiplier = Vec::with_capacity(count);
    let mut shift = Vec::with_capacity(count);
    for &s_w in &weights.scales {
        let (m, sh) = quantize_multiplier(s_in as f64 * s_w as f64 / s_out as f64);
        if sh > 30 {
            return Err(unsupported(
                op,
                format!(
                    "an effective scale of {} (too large)",
                    s_in as f64 * s_w as f64 / s_out as f64
                ),
            ));
        }
        multiplier.push(m);
        shift.push(sh);
    }
    let (act_min, act_max) = quantized_range(op, act, s_out, zp_out, range)?;
    Ok(ChannelQuant {
        input_offset: -zp_in,
        output_offset: zp_out,
        multiplier,
        shift,
        act_min,
        act_max,
    })
}

/// FULLY_CONNECTED int8 requantization (both flavours; see `kernels::fully_connected`). Per-tensor
/// weights may have a zero point (inside the int8 range); per-channel weights are taken as symmetric.
pub(super) fn fc_quant_params(
    op: &str,
    (s_in, zp_in): (f32, i32),
    weights: &WeightQuant,
    (s_out, zp_out): (f32, i32),
    act: Activation,
    range: (i32, i32),
) -> Result<FcQuant> {
    let per_axis = weights.per_axis;
    let weights_offset = if per_axis {
        0
    } else {
        let z = weights.zero_points.first().copied().unwrap_or(0);
        if !(-128..=127).contains(&z) {
            return Err(invalid(format!(
                "{op}: weight zero point {z} outside the int8 range"
            )));
        }
        -(z as i32)
    };
    let units = weights.scales.len();
    let mut effective_scale = Vec::with_capacity(units);
    let mut multiplier = Vec::with_capacity(units);
    let mut shift = Vec::with_capacity(units);
    for &s_w in &weights.scales {
        effective_scale.push(s_in as f64 * s_w as f64 / s_out as f64);
        // Fixed-point flavour: per-channel in double; per-tensor multiplies the scales in float
        // first (`GetQuantizedConvolutionMultipler`).
        let real = if per_axis {
            s_in as f64 * s_w as f64 / s_out as f64
        } else {
            (s_in * s_w) as f64 / s_out as f64
        };
        let (m, sh) = quantize_multiplier(real);
        if sh > 30 || !real.is_finite() {
            return Err(unsupported(
                op,
                format!("an effective scale of {real} (too large)"),
            ));
        }
        multiplier.push(m);
        shift.push(sh);
    }
    let (act_min, act_max) = quantized_range(op, act, s_out, zp_out, range)?;
    Ok(FcQuant {
        input_offset: -zp_in,
        weights_offset,
        output_offset: zp_out,
        effective_scale,
        multiplier,
        shift,
        act_min,
        act_max,
    })
}

/// The (multiplier, shift) of an int8/uint8 → int8/uint8 QUANTIZE: `s_in / s_out` in double, refused
/// when it needs a left shift above 30.
pub(super) fn rescale(op: &str, s_in: f32, s_out: f32) -> Result<(i32, i32)> {
    let (multiplier, shift) = quantize_multiplier(s_in as f64 / s_out as f64);
    if shift > 30 {
        return Err(unsupported(
            op,
            format!(
                "a rescale factor of {} (too large)",
                s_in as f64 / s_out as f64
            ),
        ));
    }
    Ok((multiplier, shift))
}

impl Planner<'_> {
    /// Per-tensor (scale, zero point) of activation tensor `i`, validated.
    pub(super) fn activation_quant(&self, op: &str, i: usize, what: &str) -> Result<(f32, i32)> {
        activation_params(op, what, self.dtype(i), &self.quant[i])
    }

    /// The scales and zero points of weight tensor `i`, `count` channels along `axis`.
    pub(super) fn weight_quant(
        &self,
        op: &str,
        i: usize,
        axis: usize,
        count: usize,
    ) -> Result<WeightQuant> {
        weight_params(op, &self.quant[i], axis, count)
    }

    /// Refuse int16 activations with a zero point (LiteRT's 16x8 kernels require 0).
    pub(super) fn symmetric_int16(&self, op: &str, tensors: &[usize]) -> Result<()> {
        for &i in tensors {
            let (_, zp) = self.activation_quant(op, i, "int16 activation")?;
            if zp != 0 {
                return Err(unsupported(
                    op,
                    format!(
                        "int16 tensor {i} ({}) with zero point {zp} (16x8 activations are symmetric)",
                        self.infos[i].name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The bias of a 16x8 operator as int64: TF writes int64, int32 is accepted too.
    pub(super) fn int16_bias(
        &self,
        op: &str,
        bias: Option<(usize, super::Avail)>,
    ) -> Result<Option<Vec<i64>>> {
        let Some((bi, ba)) = bias else {
            return Ok(None);
        };
        match self.dtype(bi) {
            TensorType::Int64 => self.const_data::<i64>(op, ba, "bias").map(Some),
            TensorType::Int32 => Ok(Some(
                self.const_data::<i32>(op, ba, "bias")?
                    .into_iter()
                    .map(i64::from)
                    .collect(),
            )),
            other => Err(unsupported(op, format!("a 16x8 bias of type {other}"))),
        }
    }

    /// [`conv_channel_quant`] of input `xi`, filter `fi` (channels along `axis`) and output `out_i`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn channel_quant(
        &self,
        op: &str,
        xi: usize,
        fi: usize,
        out_i: usize,
        axis: usize,
        count: usize,
        act: Activation,
    ) -> Result<ChannelQuant> {
        let input = self.activation_quant(op, xi, "input")?;
        let output = self.activation_quant(op, out_i, "output")?;
        let weights = self.weight_quant(op, fi, axis, count)?;
        let range = type_range(self.dtype(out_i)).unwrap_or((-128, 127));
        conv_channel_quant(op, input, &weights, output, act, range)
    }

    /// [`fc_quant_params`] of input `xi`, weights `wi` (`units` rows) and output `out_i`.
    pub(super) fn fc_quant(
        &self,
        op: &str,
        xi: usize,
        wi: usize,
        out_i: usize,
        units: usize,
        act: Activation,
    ) -> Result<FcQuant> {
        let input = self.activation_quant(op, xi, "input")?;
        let output = self.activation_quant(op, out_i, "output")?;
        let weights = self.weight_quant(op, wi, 0, units)?;
        let range = type_range(self.dtype(out_i)).unwrap_or((-128, 127));
        fc_quant_params(op, input, &weights, output, act, range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn per_tensor(scale: f32, zero_point: i64) -> Quant {
        Quant::PerTensor { scale, zero_point }
    }

    fn weights(scales: &[f32], zero_points: &[i64], per_axis: bool) -> WeightQuant {
        WeightQuant {
            scales: scales.to_vec(),
            zero_points: zero_points.to_vec(),
            per_axis,
        }
    }

    fn is_invalid<T: std::fmt::Debug>(r: Result<T>) -> bool {
        matches!(r, Err(Error::InvalidModel(_)))
    }

    fn is_unsupported<T: std::fmt::Debug>(r: Result<T>) -> bool {
        matches!(r, Err(Error::Unsupported { .. }))
    }

    #[test]
    fn parses_tables_by_tflite_rules() {
        assert_eq!(parse_quant(0, None, 4).unwrap(), Quant::None);
        let empty = Quantization::default();
        assert_eq!(parse_quant(0, Some(&empty), 4).unwrap(), Quant::None);
        let one = Quantization::per_tensor(0.5, -3);
        assert_eq!(parse_quant(0, Some(&one), 4).unwrap(), per_tensor(0.5, -3));
        // per-axis on the last of four dimensions
        let axis3 = Quantization::per_axis(vec![0.1, 0.2], vec![0, 0], 3);
        assert_eq!(
            parse_quant(0, Some(&axis3), 4).unwrap(),
            Quant::PerAxis {
                scales: vec![0.1, 0.2],
                zero_points: vec![0, 0],
                axis: 3
            }
        );
        // a dimension outside the rank, a negative one, and counts that disagree
        let axis4 = Quantization::per_axis(vec![0.1, 0.2], vec![0, 0], 4);
        assert!(is_invalid(parse_quant(0, Some(&axis4), 4)));
        let negative = Quantization::per_axis(vec![0.1, 0.2], vec![0, 0], -1);
        assert!(is_invalid(parse_quant(0, Some(&negative), 4)));
        let uneven = Quantization::per_axis(vec![0.1, 0.2], vec![0], 0);
        assert!(is_invalid(parse_quant(0, Some(&uneven), 4)));
    }

    #[test]
    fn activation_parameters_are_validated() {
        let int8 = TensorType::Int8;
        assert_eq!(
            activation_params("T", "input", int8, &per_tensor(0.25, -128)).unwrap(),
            (0.25, -128)
        );
        assert_eq!(
            activation_params("T", "input", TensorType::UInt8, &per_tensor(0.25, 255)).unwrap(),
            (0.25, 255)
        );
        for bad_scale in [0.0, -0.5, f32::NAN, f32::INFINITY] {
            assert!(
                is_invalid(activation_params(
                    "T",
                    "input",
                    int8,
                    &per_tensor(bad_scale, 0)
                )),
                "{bad_scale}"
            );
        }
        // zero points outside the storage type
        assert!(is_invalid(activation_params(
            "T",
            "x",
            int8,
            &per_tensor(1.0, 128)
        )));
        assert!(is_invalid(activation_params(
            "T",
            "x",
            TensorType::UInt8,
            &per_tensor(1.0, -1)
        )));
        assert!(is_invalid(activation_params("T", "x", int8, &Quant::None)));
        let per_axis = Quant::PerAxis {
            scales: vec![1.0, 1.0],
            zero_points: vec![0, 0],
            axis: 0,
        };
        assert!(is_unsupported(activation_params("T", "x", int8, &per_axis)));
    }

    #[test]
    fn weight_parameters_expand_or_match_the_channels() {
        let w = weight_params("T", &per_tensor(0.5, 0), 0, 3).unwrap();
        assert_eq!(w, weights(&[0.5; 3], &[0; 3], false));
        let axis3 = Quant::PerAxis {
            scales: vec![0.1, 0.2],
            zero_points: vec![0, 0],
            axis: 3,
        };
        let w = weight_params("T", &axis3, 3, 2).unwrap();
        assert_eq!(w, weights(&[0.1, 0.2], &[0, 0], true));
        // wrong axis, wrong count, no table, a bad scale among good ones
        assert!(is_invalid(weight_params("T", &axis3, 0, 2)));
        assert!(is_invalid(weight_params("T", &axis3, 3, 3)));
        assert!(is_invalid(weight_params("T", &Quant::None, 0, 1)));
        let bad = Quant::PerAxis {
            scales: vec![0.1, 0.0],
            zero_points: vec![0, 0],
            axis: 0,
        };
        assert!(is_invalid(weight_params("T", &bad, 0, 2)));
    }

    #[test]
    fn conv_multipliers_come_from_the_double_product() {
        // 0.5 · 0.25 / 0.125 = 1 = 0.5 · 2^1; 0.5 · 0.75 / 0.125 = 3 = 0.75 · 2^2
        let q = conv_channel_quant(
            "T",
            (0.5, 3),
            &weights(&[0.25, 0.75], &[0, 0], true),
            (0.125, -7),
            Activation::None,
            (-128, 127),
        )
        .unwrap();
        assert_eq!(q.multiplier, vec![1 << 30, 3 << 29]);
        assert_eq!(q.shift, vec![1, 2]);
        assert_eq!((q.input_offset, q.output_offset), (-3, -7));
        assert_eq!((q.act_min, q.act_max), (-128, 127));
        // a small scale: a right shift
        let q = conv_channel_quant(
            "T",
            (0.05, 0),
            &weights(&[0.02], &[0], false),
            (0.04, 0),
            Activation::None,
            (-128, 127),
        )
        .unwrap();
        let expected = quantize_multiplier(0.05f32 as f64 * 0.02f32 as f64 / 0.04f32 as f64);
        assert_eq!((q.multiplier[0], q.shift[0]), expected);
        assert!(q.shift[0] < 0);
    }

    #[test]
    fn fused_activations_clamp_quantized_outputs() {
        let w = weights(&[0.01], &[0], false);
        let range = |act, scale, zero_point| {
            let q = conv_channel_quant("T", (0.1, 0), &w, (scale, zero_point), act, (-128, 127))
                .unwrap();
            (q.act_min, q.act_max)
        };
        assert_eq!(range(Activation::None, 0.1, -10), (-128, 127));
        // 0 maps to the zero point; 6 maps to −10 + 60
        assert_eq!(range(Activation::Relu, 0.1, -10), (-10, 127));
        assert_eq!(range(Activation::Relu6, 0.1, -10), (-10, 50));
        // ±1 at scale 0.01 are ±100 around zero point 0
        assert_eq!(range(Activation::ReluN1To1, 0.01, 0), (-100, 100));
        // the bounds stay inside int8: 6 / 0.01 = 600 is clamped to 127
        assert_eq!(range(Activation::Relu6, 0.01, 0), (0, 127));
        assert!(is_unsupported(conv_channel_quant(
            "T",
            (0.1, 0),
            &w,
            (0.1, 0),
            Activation::Tanh,
            (-128, 127)
        )));
    }

    #[test]
    fn conv_quantization_refuses_what_the_kernels_cannot_do() {
        let none = Activation::None;
        // weights with a zero point
        let zp = weights(&[0.1, 0.1], &[0, 1], true);
        assert!(is_unsupported(conv_channel_quant(
            "T",
            (1.0, 0),
            &zp,
            (1.0, 0),
            none,
            (-128, 127)
        )));
        // an effective scale of 1e30 needs a left shift of 100
        let huge = weights(&[1e10], &[0], false);
        assert!(is_unsupported(conv_channel_quant(
            "T",
            (1e10, 0),
            &huge,
            (1e-10, 0),
            none,
            (-128, 127)
        )));
    }

    #[test]
    fn fc_quantization_by_weight_kind() {
        let none = Activation::None;
        // per-tensor: the weight zero point becomes an offset, the scales multiply in float first
        let (s_in, s_w, s_out) = (0.1f32, 0.3f32, 0.7f32);
        let q = fc_quant_params(
            "T",
            (s_in, 2),
            &weights(&[s_w], &[5], false),
            (s_out, -1),
            none,
            (-128, 127),
        )
        .unwrap();
        assert_eq!(
            (q.input_offset, q.weights_offset, q.output_offset),
            (-2, -5, -1)
        );
        assert_eq!(
            (q.multiplier[0], q.shift[0]),
            quantize_multiplier((s_in * s_w) as f64 / s_out as f64)
        );
        assert_eq!(
            q.effective_scale,
            vec![s_in as f64 * s_w as f64 / s_out as f64]
        );
        // per-channel: symmetric weights, the product in double
        let q = fc_quant_params(
            "T",
            (s_in, 2),
            &weights(&[s_w, s_w], &[0, 0], true),
            (s_out, -1),
            none,
            (-128, 127),
        )
        .unwrap();
        assert_eq!(q.weights_offset, 0);
        assert_eq!(
            (q.multiplier[1], q.shift[1]),
            quantize_multiplier(s_in as f64 * s_w as f64 / s_out as f64)
        );
        // a per-tensor zero point outside int8, and a scale too large
        let outside = weights(&[0.1], &[200], false);
        assert!(is_invalid(fc_quant_params(
            "T",
            (1.0, 0),
            &outside,
            (1.0, 0),
            none,
            (-128, 127)
        )));
        let huge = weights(&[1e10], &[0], false);
        assert!(is_unsupported(fc_quant_params(
            "T",
            (1e10, 0),
            &huge,
            (1e-10, 0),
            none,
            (-128, 127)
        )));
    }

    #[test]
    fn quantize_rescale() {
        // 0.5 / 0.25 = 2 = 0.5 · 2^2
        assert_eq!(rescale("T", 0.5, 0.25).unwrap(), (1 << 30, 2));
        // 0.25 / 0.5 = 0.5 · 2^0
        assert_eq!(rescale("T", 0.25, 0.5).unwrap(), (1 << 30, 0));
        assert!(is_unsupported(rescale("T", 1e10, 1e-10)));
    }
}
