//! One output element of an integer layer, computed by hand: the int8 inputs and weights of its window,
//! the int32 accumulator, the bias, the real multiplier `s_in·s_w/s_out` and its fixed-point form (M0,
//! shift), the rounding, the zero point and the clamp, each a named step, the way TFLite's reference
//! kernels compute it (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, AVERAGE_POOL_2D, and SOFTMAX's
//! fixed-point exponentials).
//! Written from the model and the interpreter's tensors, independently of the kernels; the tests hold
//! every element of every such layer to the interpreter's output.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::interp::Interpreter;
use crate::interp::fixed_point::{
    calculate_input_radius, exp_on_negative_values, get_reciprocal,
    multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_greater_than_one,
    quantize_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
    saturating_rounding_multiply_by_pot,
};
use crate::interp::kernels::activation::quantized_range;
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Activation, Model, Operator, Options, Padding, Tensor, TensorType};

/// A small grid of integers shown to the student (an input window or a filter's weights), row-major
/// over `shape`; `None` marks a padded position outside the input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grid {
    pub shape: Vec<usize>,
    pub values: Vec<Option<i32>>,
    pub scale: Vec<f32>,
    pub zero_point: i32,
}

/// One named step of the integer computation. `id` is stable (the page translates it); `value` is
/// exact for integers and `real` holds the one real-valued step (the multiplier).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub id: &'static str,
    pub value: i64,
    pub real: Option<f64>,
}

/// The explanation of one output element.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub op_index: usize,
    pub op_name: String,
    pub tensor_index: usize,
    pub tensor_name: String,
    /// The element's coordinates in the output's shape.
    pub coords: Vec<usize>,
    pub input: Grid,
    pub weights: Option<Grid>,
    pub steps: Vec<Step>,
    /// The int8 (or uint8) result the steps arrive at.
    pub result: i32,
    pub output_scale: f32,
    pub output_zero_point: i32,
    /// `scale × (result − zero point)`.
    pub dequantized: f32,
}

fn step(id: &'static str, value: i64) -> Step {
    Step {
        id,
        value,
        real: None,
    }
}

fn tensor(model: &Model, t: i32) -> Result<(usize, &Tensor)> {
    usize::try_from(t)
        .ok()
        .and_then(|i| model.subgraphs.first()?.tensors.get(i).map(|x| (i, x)))
        .ok_or_else(|| Error::InvalidModel(format!("tensor {t} does not exist")))
}

/// A tensor's values as integers (int8, uint8 or int32), from the interpreter.
fn values(interp: &Interpreter, index: usize) -> Result<Vec<i32>> {
    let info = interp
        .tensor_info(index)
        .ok_or_else(|| Error::InvalidArgument(format!("tensor {index} does not exist")))?;
    Ok(match info.dtype {
        TensorType::Int8 => interp
            .tensor::<i8>(index)?
            .iter()
            .map(|&v| v as i32)
            .collect(),
        TensorType::UInt8 => interp
            .tensor::<u8>(index)?
            .iter()
            .map(|&v| v as i32)
            .collect(),
        TensorType::Int32 => interp.tensor::<i32>(index)?.to_vec(),
        other => {
            return Err(Error::InvalidArgument(format!(
                "tensor {index} ({}) is {other}: only integer layers are explained",
                info.name
            )));
        }
    })
}

/// Element `i` of an input read by a window, or an error if the tensor is shorter than its shape says.
fn at(values: &[i32], i: usize) -> Result<i32> {
    values.get(i).copied().ok_or_else(|| {
        Error::InvalidModel(format!("a window reads element {i} of {}", values.len()))
    })
}

fn per_tensor(t: &Tensor, what: &str) -> Result<(f32, i32)> {
    t.per_tensor_quantization()
        .map(|(s, z)| (s, z as i32))
        .ok_or_else(|| Error::InvalidArgument(format!("{what} {} is not quantized", t.name)))
}

fn scales(t: &Tensor) -> Vec<f32> {
    t.quantization
        .as_ref()
        .map(|q| q.scale.clone())
        .unwrap_or_default()
}

fn dims(t: &Tensor) -> Vec<usize> {
    t.shape.iter().map(|&d| d.max(0) as usize).collect()
}

/// Padding before the first row/column, as TFLite computes it (SAME: half the total, rounded down).
fn pad_before(
    padding: Padding,
    input: usize,
    output: usize,
    filter: usize,
    stride: usize,
    dilation: usize,
) -> i64 {
    match padding {
        Padding::Valid => 0,
        Padding::Same => {
            let needed =
                (output as i64 - 1) * stride as i64 + ((filter as i64 - 1) * dilation as i64 + 1);
            ((needed - input as i64).max(0)) / 2
        }
    }
}

/// Coordinates of flat index `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut coords = vec![0; shape.len()];
    for (c, &d) in coords.iter_mut().zip(shape).rev() {
        *c = flat % d.max(1);
        flat /= d.max(1);
    }
    coords
}

/// Explain element `flat` (row-major) of the output of operator `op_index` of `model`, whose tensors
/// `interp` holds after an `invoke` with `preserve_all_tensors`.
pub fn explain(
    model: &Model,
    interp: &Interpreter,
    op_index: usize,
    flat: usize,
) -> Result<Explanation> {
    let graph = model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel("the model has no subgraph".into()))?;
    let o = graph.operators.get(op_index).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "operator {op_index} does not exist (the model has {})",
            graph.operators.len()
        ))
    })?;
    let name = op_name(o.code);
    let (out_i, out_t) = tensor(model, *o.outputs.first().unwrap_or(&-1))?;
    let out_shape = dims(out_t);
    let len: usize = out_shape.iter().product();
    if flat >= len {
        return Err(Error::InvalidArgument(format!(
            "element {flat} is outside {name}'s output {} ({len} elements)",
            out_t.name
        )));
    }
    let (s_out, zp_out) = per_tensor(out_t, "the output")?;
    let (in_i, in_t) = tensor(model, *o.inputs.first().unwrap_or(&-1))?;
    let (s_in, zp_in) = per_tensor(in_t, "the input")?;
    let input = values(interp, in_i)?;
    let in_shape = dims(in_t);
    let coords = unravel(flat, &out_shape);
    let (qmin, qmax) = if out_t.dtype == TensorType::UInt8 {
        (0, 255)
    } else {
        (-128, 127)
    };
    let activation = |act: Activation| quantized_range(&name, act, s_out, zp_out, (qmin, qmax));
    let four_d = matches!(
        o.code,
        op::CONV_2D | op::DEPTHWISE_CONV_2D | op::MAX_POOL_2D | op::AVERAGE_POOL_2D
    );
    if four_d && (in_shape.len() != 4 || out_shape.len() != 4) {
        return Err(Error::InvalidModel(format!(
            "{name}: input {in_shape:?} and output {out_shape:?} are not both 4-D"
        )));
    }
    let mut steps = Vec::new();
    let (grid, weights, result) = match (o.code, &o.options) {
        (op::CONV_2D | op::DEPTHWISE_CONV_2D, _) => {
            let (grid, weights, acc, act) = conv_window(
                model, o, &input, &in_shape, &out_shape, &coords, zp_in, s_in,
            )?;
            steps.push(step("sum_of_products", acc.0));
            steps.push(step("bias", acc.1));
            let accumulator = (acc.0 + acc.1) as i32;
            steps.push(step("accumulator", accumulator as i64));
            let channel = coords[3];
            let s_w = *weights
                .scale
                .get(channel)
                .or(weights.scale.first())
                .unwrap_or(&0.0);
            let real = s_in as f64 * s_w as f64 / s_out as f64;
            let (m0, shift) = quantize_multiplier(real);
            steps.push(Step {
                id: "real_multiplier",
                value: 0,
                real: Some(real),
            });
            steps.push(step("m0", m0 as i64));
            steps.push(step("shift", shift as i64));
            let scaled = multiply_by_quantized_multiplier(accumulator, m0, shift);
            steps.push(step("rescaled", scaled as i64));
            let (lo, hi) = activation(act)?;
            (
                grid,
                Some(weights),
                finish(&mut steps, scaled, zp_out, lo, hi),
            )
        }
        (op::FULLY_CONNECTED, Options::FullyConnected(fc)) => {
            let (w_i, w_t) = tensor(model, *o.inputs.get(1).unwrap_or(&-1))?;
            let w = model.tensor_data(w_t).ok_or_else(|| {
                Error::InvalidModel(format!("{name}: weights {w_i} are not constant"))
            })?;
            let depth = *dims(w_t).last().unwrap_or(&0);
            let unit = coords.last().copied().unwrap_or(0);
            let row = flat / out_shape.last().copied().unwrap_or(1).max(1);
            let x = input.get(row * depth..(row + 1) * depth).ok_or_else(|| {
                Error::InvalidModel(format!("{name}: input shorter than its rows"))
            })?;
            let wrow: Vec<i32> = w
                .get(unit * depth..(unit + 1) * depth)
                .ok_or_else(|| {
                    Error::InvalidModel(format!("{name}: weights shorter than their units"))
                })?
                .iter()
                .map(|&b| b as i8 as i32)
                .collect();
            let w_scales = scales(w_t);
            let w_zp = w_t
                .quantization
                .as_ref()
                .and_then(|q| q.zero_point.first().copied())
                .unwrap_or(0) as i32;
            let products: i64 = x
                .iter()
                .zip(&wrow)
                .map(|(&a, &b)| (a - zp_in) as i64 * (b - w_zp) as i64)
                .sum();
            let bias = bias_value(model, o, unit)?;
            steps.push(step("sum_of_products", products));
            steps.push(step("bias", bias));
            let accumulator = (products + bias) as i32;
            steps.push(step("accumulator", accumulator as i64));
            let s_w = *w_scales.get(unit).or(w_scales.first()).unwrap_or(&0.0);
            let real = s_in as f64 * s_w as f64 / s_out as f64;
            steps.push(Step {
                id: "real_multiplier",
                value: 0,
                real: Some(real),
            });
            // TF 2.21's reference FULLY_CONNECTED rescales in double and rounds half away from zero
            let scaled = (accumulator as f64 * real).round() as i32;
            steps.push(step("rescaled", scaled as i64));
            let (lo, hi) = activation(fc.fused_activation)?;
            let grid = Grid {
                shape: vec![depth],
                values: x.iter().map(|&v| Some(v)).collect(),
                scale: vec![s_in],
                zero_point: zp_in,
            };
            let wgrid = Grid {
                shape: vec![depth],
                values: wrow.into_iter().map(Some).collect(),
                scale: vec![s_w],
                zero_point: w_zp,
            };
            (
                grid,
                Some(wgrid),
                finish(&mut steps, scaled, zp_out, lo, hi),
            )
        }
        (op::MAX_POOL_2D | op::AVERAGE_POOL_2D, Options::Pool2D(p)) => {
            let (b, y, x, c) = (coords[0], coords[1], coords[2], coords[3]);
            let (h, w, ch) = (in_shape[1], in_shape[2], in_shape[3]);
            let (fh, fw) = (p.filter_h.max(1) as usize, p.filter_w.max(1) as usize);
            let top = pad_before(
                p.padding,
                h,
                out_shape[1],
                fh,
                p.stride_h.max(1) as usize,
                1,
            );
            let left = pad_before(
                p.padding,
                w,
                out_shape[2],
                fw,
                p.stride_w.max(1) as usize,
                1,
            );
            let mut window = Vec::new();
            for fy in 0..fh {
                for fx in 0..fw {
                    let iy = (y * p.stride_h.max(1) as usize + fy) as i64 - top;
                    let ix = (x * p.stride_w.max(1) as usize + fx) as i64 - left;
                    let inside = (0..h as i64).contains(&iy) && (0..w as i64).contains(&ix);
                    window.push(
                        inside.then(|| input[((b * h + iy as usize) * w + ix as usize) * ch + c]),
                    );
                }
            }
            let (lo, hi) = activation(p.fused_activation)?;
            let present: Vec<i64> = window.iter().flatten().map(|&v| v as i64).collect();
            let value = if o.code == op::MAX_POOL_2D {
                let m = present.iter().copied().max().unwrap_or(lo as i64);
                steps.push(step("maximum", m));
                m
            } else {
                let sum: i64 = present.iter().sum();
                let count = present.len().max(1) as i64;
                steps.push(step("sum", sum));
                steps.push(step("count", count));
                // round half away from zero with C's truncating division
                let avg = if sum > 0 {
                    (sum + count / 2) / count
                } else {
                    (sum - count / 2) / count
                };
                steps.push(step("average", avg));
                avg
            };
            steps.push(step("clamp_min", lo as i64));
            steps.push(step("clamp_max", hi as i64));
            let result = value.clamp(lo as i64, hi as i64) as i32;
            let grid = Grid {
                shape: vec![fh, fw],
                values: window,
                scale: vec![s_in],
                zero_point: zp_in,
            };
            (grid, None, result)
        }
        (op::SOFTMAX, Options::Softmax { beta }) => {
            let depth = in_shape.last().copied().unwrap_or(1).max(1);
            let row = input
                .get(flat / depth * depth..(flat / depth + 1) * depth)
                .ok_or_else(|| {
                    Error::InvalidModel(format!("{name}: input shorter than its rows"))
                })?;
            let result = softmax_steps(&mut steps, row, flat % depth, *beta, s_in, (qmin, qmax))?;
            let grid = Grid {
                shape: vec![depth],
                values: row.iter().map(|&v| Some(v)).collect(),
                scale: vec![s_in],
                zero_point: zp_in,
            };
            (grid, None, result)
        }
        _ => {
            return Err(Error::InvalidArgument(format!(
                "{name} (operator {op_index}): only CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, \
                 MAX_POOL_2D, AVERAGE_POOL_2D and SOFTMAX outputs are explained"
            )));
        }
    };
    steps.push(step("result", result as i64));
    Ok(Explanation {
        op_index,
        op_name: name,
        tensor_index: out_i,
        tensor_name: out_t.name.clone(),
        coords,
        input: grid,
        weights,
        steps,
        result,
        output_scale: s_out,
        output_zero_point: zp_out,
        dequantized: (s_out as f64 * (result - zp_out) as f64) as f32,
    })
}

/// Add the zero point and clamp to the activation range: the last steps of every requantizing kernel.
fn finish(steps: &mut Vec<Step>, scaled: i32, zero_point: i32, lo: i32, hi: i32) -> i32 {
    let shifted = scaled.wrapping_add(zero_point);
    steps.push(step("output_zero_point", zero_point as i64));
    steps.push(step("before_clamp", shifted as i64));
    steps.push(step("clamp_min", lo as i64));
    steps.push(step("clamp_max", hi as i64));
    shifted.clamp(lo, hi)
}

/// Integer bits of the rescaled differences (Q5.26) and of the sum of exponentials (Q12.19) in TFLite's
/// quantized softmax.
const DIFF_BITS: i32 = 5;
const SUM_BITS: i32 = 12;

/// Element `i` of a quantized softmax row, as the reference kernel computes it: differences from the
/// row's maximum rescaled to Q5.26 by `β·s_in·2^26` in fixed point, exp of each in Q0.31 (differences
/// below `diff_min` count as 0), their sum in Q12.19, its reciprocal, and the element's exp times the
/// reciprocal shifted down to 8 bits, plus the type's minimum (the output's zero point).
fn softmax_steps(
    steps: &mut Vec<Step>,
    row: &[i32],
    i: usize,
    beta: f32,
    s_in: f32,
    (qmin, qmax): (i32, i32),
) -> Result<i32> {
    let real = (beta as f64 * s_in as f64 * (1i64 << (31 - DIFF_BITS)) as f64).min(i32::MAX as f64);
    if real.is_nan() || real <= 1.0 {
        return Err(Error::InvalidArgument(format!(
            "SOFTMAX: beta {beta} × input scale {s_in} is too small for the fixed-point kernel"
        )));
    }
    let (m0, shift) = quantize_multiplier(real);
    let diff_min = -calculate_input_radius(DIFF_BITS, shift);
    let max = row.iter().copied().fold(qmin, i32::max);
    let rescaled = |x: i32| {
        (x - max >= diff_min)
            .then(|| multiply_by_quantized_multiplier_greater_than_one(x - max, m0, shift))
    };
    let mut sum = 0i32;
    for &x in row {
        if let Some(d) = rescaled(x) {
            let e = exp_on_negative_values(d, DIFF_BITS as u32);
            sum = sum.wrapping_add(saturating_rounding_multiply_by_pot(e, -SUM_BITS));
        }
    }
    let (reciprocal, bits_over_unit) = get_reciprocal(sum, SUM_BITS);
    let exponent = bits_over_unit + 31 - 8;
    if !(0..=31).contains(&exponent) {
        return Err(Error::InvalidArgument(format!(
            "SOFTMAX: a row of {} values whose exponentials sum beyond the kernel's range",
            row.len()
        )));
    }
    let x = row.get(i).copied().unwrap_or(qmin);
    steps.push(step("row_max", max as i64));
    steps.push(step("input_diff", (x - max) as i64));
    steps.push(step("diff_min", diff_min as i64));
    steps.push(Step {
        id: "input_multiplier",
        value: 0,
        real: Some(real),
    });
    steps.push(step("m0", m0 as i64));
    steps.push(step("shift", shift as i64));
    steps.push(step("sum_of_exps_q12_19", sum as i64));
    steps.push(step("reciprocal_q0_31", reciprocal as i64));
    steps.push(step("exponent", exponent as i64));
    let result = match rescaled(x) {
        Some(d) => {
            let e = exp_on_negative_values(d, DIFF_BITS as u32);
            steps.push(step("rescaled_diff_q5_26", d as i64));
            steps.push(step("exp_q0_31", e as i64));
            let scaled = rounding_divide_by_pot(
                saturating_rounding_doubling_high_mul(reciprocal, e),
                exponent,
            );
            steps.push(step("scaled_exp", scaled as i64));
            let shifted = scaled.wrapping_add(qmin);
            steps.push(step("output_zero_point", qmin as i64));
            steps.push(step("before_clamp", shifted as i64));
            shifted.clamp(qmin, qmax)
        }
        None => qmin,
    };
    steps.push(step("clamp_min", qmin as i64));
    steps.push(step("clamp_max", qmax as i64));
    Ok(result)
}

fn bias_value(model: &Model, o: &Operator, channel: usize) -> Result<i64> {
    let Some(&b) = o.inputs.get(2).filter(|&&b| b >= 0) else {
        return Ok(0);
    };
    let (_, t) = tensor(model, b)?;
    let data = model.tensor_data(t).unwrap_or(&[]);
    Ok(data
        .get(channel * 4..channel * 4 + 4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
        .unwrap_or(0))
}

type ConvParts = (Grid, Grid, (i64, i64), Activation);

/// The input window and filter of one convolution output, and its (sum of products, bias).
#[allow(clippy::too_many_arguments)]
fn conv_window(
    model: &Model,
    o: &Operator,
    input: &[i32],
    in_shape: &[usize],
    out_shape: &[usize],
    coords: &[usize],
    zp_in: i32,
    s_in: f32,
) -> Result<ConvParts> {
    let name = op_name(o.code);
    let (w_i, w_t) = tensor(model, *o.inputs.get(1).unwrap_or(&-1))?;
    let w = model
        .tensor_data(w_t)
        .ok_or_else(|| Error::InvalidModel(format!("{name}: weights {w_i} are not constant")))?;
    let w_shape = dims(w_t);
    if w_shape.len() != 4 {
        return Err(Error::InvalidModel(format!(
            "{name}: weights of shape {w_shape:?} are not 4-D"
        )));
    }
    let (kh, kw) = (w_shape[1], w_shape[2]);
    let (b, y, x, oc) = (coords[0], coords[1], coords[2], coords[3]);
    let (h, wd, ch) = (in_shape[1], in_shape[2], in_shape[3]);
    let (padding, sh, sw, dh, dw, act, depthwise) = match &o.options {
        Options::Conv2D(c) => (
            c.padding,
            c.stride_h,
            c.stride_w,
            c.dilation_h,
            c.dilation_w,
            c.fused_activation,
            None,
        ),
        Options::DepthwiseConv2D(c) => (
            c.padding,
            c.stride_h,
            c.stride_w,
            c.dilation_h,
            c.dilation_w,
            c.fused_activation,
            Some(c.depth_multiplier.max(1) as usize),
        ),
        _ => return Err(Error::InvalidModel(format!("{name} without its options"))),
    };
    let (sh, sw, dh, dw) = (
        sh.max(1) as usize,
        sw.max(1) as usize,
        dh.max(1) as usize,
        dw.max(1) as usize,
    );
    let top = pad_before(padding, h, out_shape[1], kh, sh, dh);
    let left = pad_before(padding, wd, out_shape[2], kw, sw, dw);
    // the input channels this output reads: all of them, or one for a depthwise filter
    let channels: Vec<usize> = match depthwise {
        None => (0..ch).collect(),
        Some(mult) => vec![oc / mult],
    };
    let mut window = Vec::new();
    let mut filter = Vec::new();
    let mut products = 0i64;
    for fy in 0..kh {
        for fx in 0..kw {
            let iy = (y * sh + fy * dh) as i64 - top;
            let ix = (x * sw + fx * dw) as i64 - left;
            let inside = (0..h as i64).contains(&iy) && (0..wd as i64).contains(&ix);
            for &ic in &channels {
                let index = match depthwise {
                    None => ((oc * kh + fy) * kw + fx) * ch + ic,
                    Some(_) => (fy * kw + fx) * w_shape[3] + oc,
                };
                let weight = *w.get(index).ok_or_else(|| {
                    Error::InvalidModel(format!("{name}: weights shorter than their shape"))
                })? as i8 as i32;
                filter.push(Some(weight));
                if inside {
                    let v = at(input, ((b * h + iy as usize) * wd + ix as usize) * ch + ic)?;
                    window.push(Some(v));
                    products += (v - zp_in) as i64 * weight as i64;
                } else {
                    // padding holds the zero point: (zp − zp)·w adds nothing
                    window.push(None);
                }
            }
        }
    }
    let bias = bias_value(model, o, oc)?;
    let shape = vec![kh, kw, channels.len()];
    let w_scales = scales(w_t);
    let s_w = *w_scales.get(oc).or(w_scales.first()).unwrap_or(&0.0);
    Ok((
        Grid {
            shape: shape.clone(),
            values: window,
            scale: vec![s_in],
            zero_point: zp_in,
        },
        Grid {
            shape,
            values: filter,
            scale: vec![s_w],
            zero_point: 0,
        },
        (products, bias),
        act,
    ))
}
