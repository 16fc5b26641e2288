//! Float32 kernels with the arithmetic of TFLite's *optimized* builtin kernels as TensorFlow 2.21's
//! calibrator runs them ([`crate::interp::FloatArithmetic::TfCalibrator`]): same products, different
//! summation orders, so results differ from the reference kernels by a few ulps. The orders come from
//! Eigen ([`super::eigen`]); each kernel names the TFLite code path it mirrors.
//!
//! Legend: N batches, H/W height/width, C input channels, O output channels (filters), K = taps per
//! output (filter height · width · depth, in (y, x, c) order), P output pixels (N·out H·out W).
//!
//! What the calibrator (`BuiltinOpResolver`, thread count −1 → a 4-thread Eigen pool) runs, by op:
//! - CONV_2D without dilation and groups: `multithreaded_ops::Conv`, an Eigen `SpatialConvolution`
//!   (a tensor contraction C[O×P] = filter[O×K] · patches[K×P] on the thread pool) or, for 1×1 filters
//!   and filters as large as the unpadded input, the same contraction of plain matrices; then
//!   `AddBiasAndEvalActivationFunction`.
//! - CONV_2D with dilation: `optimized_ops::Conv`, im2col then `cpu_backend_gemm` (Eigen's dense GEMM,
//!   or its row-major GEMV for a single output pixel), then bias and activation.
//! - Grouped CONV_2D: the reference kernel.
//! - FULLY_CONNECTED: `optimized_ops::FullyConnected` → `cpu_backend_gemm` with the weights as a
//!   row-major [O×K] matrix: GEMV for one input row, GEMM for several; then `BiasAndClamp`.
//! - DEPTHWISE_CONV_2D: `optimized_ops::DepthwiseConv` (`depthwiseconv_float.h`): an accumulator
//!   buffer initialised with the bias, taps added filter row by filter row, column by column.
//! - SOFTMAX: `optimized_ops::Softmax`, in Eigen: max, `(x − max)·β`, Eigen's vectorized exp, column
//!   sums with `redux`, one division for the inverse, products.
//! - MAX_POOL_2D and AVERAGE_POOL_2D: the optimized kernels sum in the reference order (checked), so the
//!   reference kernels serve.

use crate::error::Result;
use crate::interp::kernels::activation::clamp_f32;
use crate::interp::kernels::check_len;
use crate::interp::kernels::conv2d::ConvShape;
use crate::interp::kernels::depthwise_conv2d::DepthwiseShape;
use crate::interp::kernels::eigen::{
    self, Blocking, Contraction, ContractionShape, Cost, Order, blocked_element,
};
use crate::interp::kernels::fully_connected::FcShape;

/// How a float CONV_2D's sums are ordered.
#[derive(Clone, Debug, PartialEq)]
pub enum ConvPath {
    /// Eigen tensor contraction on the thread pool (`multithreaded_ops::Conv`).
    Contraction(Contraction),
    /// im2col + Eigen dense GEMM (`optimized_ops::Conv`), with its blocking.
    DenseGemm(Blocking),
    /// im2col + Eigen row-major GEMV: a single output pixel.
    DenseGemv,
    /// Eigen's coefficient-based product for tiny products (K + O + P < 20). **Not checked against TF**;
    /// summed in depth order.
    Lazy,
}

/// A planned float CONV_2D in the calibrator's arithmetic.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvF32Optimized {
    pub shape: ConvShape,
    pub filter: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub act: (f32, f32),
    pub path: ConvPath,
}

/// The path and summation plan TFLite takes for this convolution (ungrouped; see the module docs).
pub fn conv_path(s: &ConvShape) -> ConvPath {
    let w = &s.window;
    let (m, n, k) = (
        s.out_c,
        w.batches * w.out_h * w.out_w,
        w.filter_h * w.filter_w * s.filter_c,
    );
    if w.dilation_h != 1 || w.dilation_w != 1 {
        return dense_path(m, n, k);
    }
    // EigenTensorConvFunctor: 1×1 stride-1 filters and filters covering the whole unpadded input are
    // plain matrix products; everything else goes through image patches, which cost more per coefficient
    // in Eigen's cost model (and so may be split differently over the threads).
    let one_by_one = w.filter_h == 1 && w.filter_w == 1 && w.stride_h == 1 && w.stride_w == 1;
    let whole_input = w.filter_h == w.in_h && w.filter_w == w.in_w && w.pad_h == 0 && w.pad_w == 0;
    let rhs = if one_by_one || whole_input {
        Cost::tensor_map()
    } else {
        Cost::image_patches()
    };
    ConvPath::Contraction(
        ContractionShape {
            m,
            n,
            k,
            lhs: Cost::tensor_map(),
            rhs,
        }
        .plan(),
    )
}

/// `cpu_backend_gemm`'s Eigen path for `[m×k]·[k×n]`: GEMV for one column, else the dense product
/// (coefficient-based below Eigen's `EIGEN_GEMM_TO_COEFFBASED_THRESHOLD` of 20).
fn dense_path(m: usize, n: usize, k: usize) -> ConvPath {
    if n == 1 {
        ConvPath::DenseGemv
    } else if k + m + n < 20 {
        ConvPath::Lazy
    } else {
        ConvPath::DenseGemm(Blocking::new(k, m, n, 1))
    }
}

impl ConvF32Optimized {
    /// Taps per output (K), the length of the patch scratch.
    pub fn depth(&self) -> usize {
        self.shape.window.filter_h * self.shape.window.filter_w * self.shape.filter_c
    }
}

/// Float32 CONV_2D (ungrouped) in the calibrator's order. `patch` is scratch of K floats.
pub fn conv2d_f32_optimized(
    c: &ConvF32Optimized,
    input: &[f32],
    patch: &mut [f32],
    output: &mut [f32],
) -> Result<()> {
    let s = &c.shape;
    s.check(
        "CONV_2D",
        input,
        &c.filter,
        c.bias.as_ref().map(Vec::len),
        output,
    )?;
    let k = c.depth();
    check_len("CONV_2D", "patch scratch", patch.len(), k)?;
    let w = &s.window;
    let (m, n) = (s.out_c, w.batches * w.out_h * w.out_w);
    let (act_min, act_max) = c.act;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                // im2col: the patch in (filter_y, filter_x, in_c) order, zeros outside the image
                for filter_y in 0..w.filter_h {
                    for filter_x in 0..w.filter_w {
                        let at = (filter_y * w.filter_w + filter_x) * s.filter_c;
                        let dst = &mut patch[at..at + s.filter_c];
                        match (w.in_y(out_y, filter_y), w.in_x(out_x, filter_x)) {
                            (Some(in_y), Some(in_x)) => {
                                let from = ((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c;
                                dst.copy_from_slice(&input[from..from + s.filter_c]);
                            }
                            _ => dst.fill(0.0),
                        }
                    }
                }
                let pixel = (batch * w.out_h + out_y) * w.out_w + out_x;
                for out_c in 0..m {
                    let row = &c.filter[out_c * k..(out_c + 1) * k];
                    let acc = match &c.path {
                        ConvPath::Contraction(plan) => {
                            plan.element(row, patch, (out_c, pixel), (m, n))
                        }
                        ConvPath::DenseGemm(b) => {
                            blocked_element(row, patch, (out_c, pixel), (m, n), (0, k), *b)
                        }
                        ConvPath::DenseGemv => eigen::row_major_gemv_dot(row, patch),
                        ConvPath::Lazy => eigen::dot(row, patch, Order::Sequential),
                    };
                    let bias = c.bias.as_ref().map_or(0.0, |b| b[out_c]);
                    output[pixel * m + out_c] = clamp_f32(acc + bias, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Float32 FULLY_CONNECTED in `cpu_backend_gemm`'s Eigen order: row-major GEMV for one input row,
/// else the dense GEMM C[units × batches] = weights · inputᵀ; then bias, then the activation clamp.
pub fn fully_connected_f32_optimized(
    s: &FcShape,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    let op = "FULLY_CONNECTED";
    check_len(op, "input", input.len(), s.batches * s.depth)?;
    check_len(op, "weights", weights.len(), s.units * s.depth)?;
    if let Some(b) = bias {
        check_len(op, "bias", b.len(), s.units)?;
    }
    check_len(op, "output", output.len(), s.batches * s.units)?;
    let (m, n, k) = (s.units, s.batches, s.depth);
    let path = dense_path(m, n, k);
    for batch in 0..n {
        let x = &input[batch * k..(batch + 1) * k];
        for unit in 0..m {
            let row = &weights[unit * k..(unit + 1) * k];
            let acc = match path {
                ConvPath::DenseGemv => eigen::row_major_gemv_dot(row, x),
                ConvPath::DenseGemm(b) => blocked_element(row, x, (unit, batch), (m, n), (0, k), b),
                _ => eigen::dot(row, x, Order::Sequential),
            };
            let b = bias.map_or(0.0, |b| b[unit]);
            output[batch * m + unit] = clamp_f32(acc + b, act_min, act_max);
        }
    }
    Ok(())
}

/// Float32 DEPTHWISE_CONV_2D in the order of `optimized_ops::DepthwiseConv`: each output starts at its
/// bias (0 without one) and adds the taps inside the image filter row by filter row, then column by
/// column (`FloatDepthwiseConvAccumRow*`), products rounded before the addition.
pub fn depthwise_conv2d_f32_optimized(
    s: &DepthwiseShape,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    (act_min, act_max): (f32, f32),
    output: &mut [f32],
) -> Result<()> {
    let op = "DEPTHWISE_CONV_2D";
    let w = &s.window;
    let out_c_count = s.out_c();
    check_len(op, "input", input.len(), w.in_len(s.in_c))?;
    check_len(op, "filter", filter.len(), s.filter_len())?;
    if let Some(b) = bias {
        check_len(op, "bias", b.len(), out_c_count)?;
    }
    check_len(op, "output", output.len(), w.out_len(out_c_count))?;
    for batch in 0..w.batches {
        for out_y in 0..w.out_h {
            for out_x in 0..w.out_w {
                let out_base = ((batch * w.out_h + out_y) * w.out_w + out_x) * out_c_count;
                for out_c in 0..out_c_count {
                    let in_c = out_c / s.multiplier.max(1);
                    let mut acc = bias.map_or(0.0, |b| b[out_c]);
                    for filter_y in 0..w.filter_h {
                        let Some(in_y) = w.in_y(out_y, filter_y) else {
                            continue;
                        };
                        for filter_x in 0..w.filter_w {
                            let Some(in_x) = w.in_x(out_x, filter_x) else {
                                continue;
                            };
                            let x =
                                input[((batch * w.in_h + in_y) * w.in_w + in_x) * s.in_c + in_c];
                            let f =
                                filter[(filter_y * w.filter_w + filter_x) * out_c_count + out_c];
                            acc += f * x;
                        }
                    }
                    output[out_base + out_c] = clamp_f32(acc, act_min, act_max);
                }
            }
        }
    }
    Ok(())
}

/// Float32 SOFTMAX as `optimized_ops::Softmax` computes it with Eigen, rows of `depth` values: the
/// maximum, `(x − max)·β`, [`eigen::exp`], the row sum as Eigen's `redux` does it for a column starting
/// at `row·depth` floats into an aligned buffer, `1/sum`, and one product per element.
pub fn softmax_f32_optimized(
    depth: usize,
    beta: f32,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    check_len("SOFTMAX", "output", output.len(), input.len())?;
    if depth == 0 {
        return Ok(());
    }
    for (row, (in_row, out_row)) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
        .enumerate()
    {
        let max = in_row
            .iter()
            .fold(f32::MIN, |m, &x| if m < x { x } else { m });
        for (o, &x) in out_row.iter_mut().zip(in_row) {
            *o = eigen::exp((x - max) * beta);
        }
        let scale = 1.0 / eigen::redux_sum(out_row, row * depth);
        for o in out_row.iter_mut() {
            *o *= scale;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::kernels::conv2d::conv2d_f32;
    use crate::interp::kernels::window::Window;
    use crate::tflite::Padding;

    fn shape(h: usize, c: usize, k: usize, o: usize, dilation: usize) -> ConvShape {
        ConvShape {
            window: Window::new(
                "t",
                Padding::Same,
                1,
                (h, h),
                (k, k),
                (1, 1),
                (dilation, dilation),
            )
            .unwrap(),
            in_c: c,
            out_c: o,
            filter_c: c,
        }
    }

    #[test]
    fn conv_agrees_with_reference_on_exact_values() {
        // Small integers: every order gives the exact sum, so the result equals the reference kernel.
        for (dilation, o) in [(1, 12), (2, 10), (1, 17)] {
            let s = shape(6, 3, 3, o, dilation);
            let input: Vec<f32> = (0..6 * 6 * 3).map(|i| (i % 7) as f32 - 3.0).collect();
            let filter: Vec<f32> = (0..o * 27).map(|i| (i % 5) as f32 - 2.0).collect();
            let bias: Vec<f32> = (0..o).map(|i| i as f32).collect();
            let act = (f32::MIN, f32::MAX);
            let mut want = vec![0.0; 36 * o];
            conv2d_f32(&s, &input, &filter, Some(&bias), act, &mut want).unwrap();
            let c = ConvF32Optimized {
                path: conv_path(&s),
                shape: s,
                filter,
                bias: Some(bias),
                act,
            };
            let mut got = vec![0.0; 36 * o];
            let mut patch = vec![0.0; c.depth()];
            conv2d_f32_optimized(&c, &input, &mut patch, &mut got).unwrap();
            assert_eq!(got, want, "dilation {dilation}, {o} filters");
        }
    }

    #[test]
    fn softmax_sums_to_one() {
        let input: Vec<f32> = (0..20).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
        let mut out = vec![0.0; 20];
        softmax_f32_optimized(10, 1.0, &input, &mut out).unwrap();
        for row in out.chunks(10) {
            let s: f32 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
    }
}
