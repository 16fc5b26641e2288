//! A planned operator: the kernel to call, its tensors (as buffer indices) and everything precomputed
//! for it (weights as typed vectors, multipliers, geometry, scratch space).

use crate::error::{Error, Result};
use crate::interp::kernels::average_pool2d::{
    average_pool2d_f32, average_pool2d_f32_fast, average_pool2d_i8, average_pool2d_i8_fast,
};
use crate::interp::kernels::conv2d::{
    ChannelQuant, ConvF32Fast, ConvFastScratch, ConvI8Fast, ConvShape, conv2d_f32, conv2d_f32_fast,
    conv2d_f32_max_pool2d_fast, conv2d_hybrid, conv2d_hybrid_per_channel, conv2d_i8,
    conv2d_i8_fast, conv2d_i8_max_pool2d_fast,
};
use crate::interp::kernels::depthwise_conv2d::{
    DepthwiseFast, DepthwiseScratch, DepthwiseShape, depthwise_conv2d_f32,
    depthwise_conv2d_f32_fast, depthwise_conv2d_hybrid, depthwise_conv2d_i8,
    depthwise_conv2d_i8_fast,
};
use crate::interp::kernels::dequantize::dequantize;
use crate::interp::kernels::fully_connected::{
    FcF32Fast, FcFastScratch, FcHybridFast, FcI8Fast, FcQuant, FcShape, HybridScratch,
    HybridWeights, fully_connected_f32, fully_connected_f32_fast, fully_connected_hybrid,
    fully_connected_hybrid_fast, fully_connected_i8, fully_connected_i8_fast,
    fully_connected_i8_fixed_point,
};
use crate::interp::kernels::hybrid::{asymmetric_quantize_floats, symmetric_quantize_floats};
use crate::interp::kernels::max_pool2d::{
    max_pool2d_f32, max_pool2d_f32_fast, max_pool2d_i8, max_pool2d_i8_fast,
};
use crate::interp::kernels::optimized_f32::{
    ConvF32Optimized, conv2d_f32_optimized, depthwise_conv2d_f32_optimized,
    fully_connected_f32_optimized, softmax_f32_optimized,
};
use crate::interp::kernels::pack::pack_one;
use crate::interp::kernels::quantize::{quantize_f32, requantize};
use crate::interp::kernels::shape::{shape_i32, shape_i64};
use crate::interp::kernels::softmax::{SoftmaxQuant, softmax_f32, softmax_quantized};
use crate::interp::kernels::strided_slice::{StridedSlicePlan, strided_slice};
use crate::interp::kernels::window::Window;
use crate::interp::options::FcRequant;
use crate::interp::tensor::{Buffer, Element};

/// Float clamp bounds of a fused activation.
pub type FloatRange = (f32, f32);
/// Quantized clamp bounds of a fused activation.
pub type QuantRange = (i32, i32);

/// Per-batch scratch of the hybrid convolutions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvHybridScratch {
    pub input_q: Vec<i8>,
    pub scaling_factor: Vec<f32>,
    pub zero_point: Vec<i32>,
}

/// One planned operator. Indices are buffer indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Conv2dF32 {
        input: usize,
        output: usize,
        shape: ConvShape,
        filter: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: FloatRange,
    },
    Conv2dI8 {
        input: usize,
        output: usize,
        shape: ConvShape,
        quant: ChannelQuant,
        filter: Vec<i8>,
        bias: Option<Vec<i32>>,
    },
    /// Hybrid convolution; `filter_scale` is per channel (asymmetric inputs) or `None` for one scale
    /// `scale` (symmetric inputs).
    Conv2dHybrid {
        input: usize,
        output: usize,
        shape: ConvShape,
        filter: Vec<i8>,
        filter_scale: Option<Vec<f32>>,
        scale: f32,
        bias: Option<Vec<f32>>,
        act: FloatRange,
        scratch: ConvHybridScratch,
    },
    /// Fast kernels (bit-identical to the reference ones; see `kernels::conv2d`).
    Conv2dF32Fast {
        input: usize,
        output: usize,
        kernel: Box<ConvF32Fast>,
        scratch: ConvFastScratch,
    },
    Conv2dI8Fast {
        input: usize,
        output: usize,
        kernel: Box<ConvI8Fast>,
        scratch: ConvFastScratch,
    },
    /// int8 CONV_2D fused with the int8 MAX_POOL_2D that is its only reader (only when intermediate
    /// tensors need not be preserved); `output` is the pool's.
    Conv2dI8MaxPoolFast {
        input: usize,
        output: usize,
        kernel: Box<ConvI8Fast>,
        pool: Window,
        pool_act: QuantRange,
        scratch: ConvFastScratch,
    },
    /// float32 CONV_2D fused with the MAX_POOL_2D that is its only reader.
    Conv2dF32MaxPoolFast {
        input: usize,
        output: usize,
        kernel: Box<ConvF32Fast>,
        pool: Window,
        pool_act: FloatRange,
        scratch: ConvFastScratch,
    },
    DepthwiseConv2dF32 {
        input: usize,
        output: usize,
        shape: DepthwiseShape,
        filter: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: FloatRange,
    },
    DepthwiseConv2dI8 {
        input: usize,
        output: usize,
        shape: DepthwiseShape,
        quant: ChannelQuant,
        filter: Vec<i8>,
        bias: Option<Vec<i32>>,
    },
    /// Fast depthwise kernels (bit-identical to the reference ones; see `kernels::depthwise_conv2d`).
    DepthwiseConv2dF32Fast {
        input: usize,
        output: usize,
        kernel: Box<DepthwiseFast<f32>>,
        scratch: DepthwiseScratch<f32>,
    },
    DepthwiseConv2dI8Fast {
        input: usize,
        output: usize,
        kernel: Box<DepthwiseFast<i32>>,
        scratch: DepthwiseScratch<i32>,
    },
    DepthwiseConv2dHybrid {
        input: usize,
        output: usize,
        shape: DepthwiseShape,
        filter: Vec<i8>,
        filter_scale: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: FloatRange,
        scratch: ConvHybridScratch,
    },
    FullyConnectedF32 {
        input: usize,
        output: usize,
        shape: FcShape,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: FloatRange,
    },
    FullyConnectedI8 {
        input: usize,
        output: usize,
        shape: FcShape,
        quant: FcQuant,
        weights: Vec<i8>,
        bias: Option<Vec<i32>>,
        requant: FcRequant,
    },
    FullyConnectedHybrid {
        input: usize,
        output: usize,
        shape: FcShape,
        weights: HybridWeights,
        bias: Option<Vec<f32>>,
        act: FloatRange,
        scratch: HybridScratch,
    },
    FullyConnectedF32Fast {
        input: usize,
        output: usize,
        kernel: Box<FcF32Fast>,
        scratch: FcFastScratch,
    },
    FullyConnectedI8Fast {
        input: usize,
        output: usize,
        kernel: Box<FcI8Fast>,
        scratch: FcFastScratch,
    },
    FullyConnectedHybridFast {
        input: usize,
        output: usize,
        kernel: Box<FcHybridFast>,
        scratch: FcFastScratch,
    },
    MaxPool2dF32 {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: FloatRange,
    },
    MaxPool2dI8 {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: QuantRange,
    },
    AveragePool2dF32 {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: FloatRange,
    },
    AveragePool2dI8 {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: QuantRange,
    },
    MaxPool2dF32Fast {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: FloatRange,
    },
    MaxPool2dI8Fast {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: QuantRange,
    },
    AveragePool2dF32Fast {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: FloatRange,
    },
    AveragePool2dI8Fast {
        input: usize,
        output: usize,
        window: Window,
        channels: usize,
        act: QuantRange,
        sums: Vec<i32>,
    },
    SoftmaxF32 {
        input: usize,
        output: usize,
        depth: usize,
        beta: f32,
    },
    /// Float kernels in the arithmetic of TFLite's optimized kernels as TF's calibrator runs them
    /// (`FloatArithmetic::TfCalibrator`, see `kernels::optimized_f32`).
    Conv2dF32Optimized {
        input: usize,
        output: usize,
        kernel: Box<ConvF32Optimized>,
        patch: Vec<f32>,
    },
    DepthwiseConv2dF32Optimized {
        input: usize,
        output: usize,
        shape: DepthwiseShape,
        filter: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: FloatRange,
    },
    FullyConnectedF32Optimized {
        input: usize,
        output: usize,
        shape: FcShape,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: FloatRange,
    },
    SoftmaxF32Optimized {
        input: usize,
        output: usize,
        depth: usize,
        beta: f32,
    },
    SoftmaxI8 {
        input: usize,
        output: usize,
        depth: usize,
        quant: SoftmaxQuant,
    },
    SoftmaxU8 {
        input: usize,
        output: usize,
        depth: usize,
        quant: SoftmaxQuant,
    },
    /// float32 → int8 or uint8 (by the output buffer's type).
    Quantize {
        input: usize,
        output: usize,
        scale: f32,
        zero_point: i32,
    },
    /// int8/uint8 → int8/uint8.
    Requantize {
        input: usize,
        output: usize,
        multiplier: i32,
        shift: i32,
        input_zero_point: i32,
        output_zero_point: i32,
    },
    /// int8/uint8 → float32.
    Dequantize {
        input: usize,
        output: usize,
        scale: f32,
        zero_point: i32,
    },
    Shape {
        output: usize,
        shape: Vec<usize>,
    },
    StridedSlice {
        input: usize,
        output: usize,
        plan: StridedSlicePlan,
    },
    Pack {
        inputs: Vec<usize>,
        output: usize,
        outer: usize,
        inner: usize,
    },
}

fn missing(index: usize) -> Error {
    Error::InvalidModel(format!(
        "internal: buffer {index} is missing or has the wrong type"
    ))
}

/// A typed view of buffer `index`.
fn get<T: Element>(buffers: &[Buffer], index: usize) -> Result<&[T]> {
    buffers
        .get(index)
        .and_then(T::slice)
        .ok_or_else(|| missing(index))
}

/// Run `f` with the other buffers readable and the output buffer writable as `&mut [T]`. The output is
/// moved out (`mem::take` leaves an empty, unallocated buffer) and put back afterwards, so inputs and
/// output can be borrowed at once without copying or `unsafe`. Plans never make an op read its own
/// output.
fn with_output<T: Element>(
    buffers: &mut [Buffer],
    output: usize,
    f: impl FnOnce(&[Buffer], &mut [T]) -> Result<()>,
) -> Result<()> {
    let mut out = std::mem::take(buffers.get_mut(output).ok_or_else(|| missing(output))?);
    let result = match T::slice_mut(&mut out) {
        Some(o) => f(buffers, o),
        None => Err(missing(output)),
    };
    buffers[output] = out;
    result
}

impl Step {
    /// Execute the step on the interpreter's buffers. Allocates nothing.
    pub fn run(&mut self, buffers: &mut [Buffer]) -> Result<()> {
        match self {
            Step::Conv2dF32 {
                input,
                output,
                shape,
                filter,
                bias,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                conv2d_f32(shape, get(b, *input)?, filter, bias.as_deref(), *act, out)
            }),
            Step::Conv2dI8 {
                input,
                output,
                shape,
                quant,
                filter,
                bias,
            } => with_output::<i8>(buffers, *output, |b, out| {
                conv2d_i8(shape, quant, get(b, *input)?, filter, bias.as_deref(), out)
            }),
            Step::Conv2dHybrid {
                input,
                output,
                shape,
                filter,
                filter_scale,
                scale,
                bias,
                act,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                let input = get::<f32>(b, *input)?;
                quantize_batches(input, shape.window.batches, filter_scale.is_some(), scratch)?;
                match filter_scale {
                    Some(fs) => conv2d_hybrid_per_channel(
                        shape,
                        &scratch.input_q,
                        &scratch.scaling_factor,
                        &scratch.zero_point,
                        filter,
                        fs,
                        bias.as_deref(),
                        *act,
                        out,
                    ),
                    None => {
                        for sf in scratch.scaling_factor.iter_mut() {
                            *sf *= *scale;
                        }
                        conv2d_hybrid(
                            shape,
                            &scratch.input_q,
                            &scratch.scaling_factor,
                            filter,
                            bias.as_deref(),
                            *act,
                            out,
                        )
                    }
                }
            }),
            Step::Conv2dF32Fast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                conv2d_f32_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::Conv2dI8Fast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<i8>(buffers, *output, |b, out| {
                conv2d_i8_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::Conv2dI8MaxPoolFast {
                input,
                output,
                kernel,
                pool,
                pool_act,
                scratch,
            } => with_output::<i8>(buffers, *output, |b, out| {
                conv2d_i8_max_pool2d_fast(kernel, pool, *pool_act, get(b, *input)?, scratch, out)
            }),
            Step::Conv2dF32MaxPoolFast {
                input,
                output,
                kernel,
                pool,
                pool_act,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                conv2d_f32_max_pool2d_fast(kernel, pool, *pool_act, get(b, *input)?, scratch, out)
            }),
            Step::FullyConnectedF32Fast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                fully_connected_f32_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::FullyConnectedI8Fast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<i8>(buffers, *output, |b, out| {
                fully_connected_i8_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::FullyConnectedHybridFast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                fully_connected_hybrid_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::DepthwiseConv2dF32 {
                input,
                output,
                shape,
                filter,
                bias,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                depthwise_conv2d_f32(shape, get(b, *input)?, filter, bias.as_deref(), *act, out)
            }),
            Step::DepthwiseConv2dI8 {
                input,
                output,
                shape,
                quant,
                filter,
                bias,
            } => with_output::<i8>(buffers, *output, |b, out| {
                depthwise_conv2d_i8(shape, quant, get(b, *input)?, filter, bias.as_deref(), out)
            }),
            Step::DepthwiseConv2dF32Fast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                depthwise_conv2d_f32_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::DepthwiseConv2dI8Fast {
                input,
                output,
                kernel,
                scratch,
            } => with_output::<i8>(buffers, *output, |b, out| {
                depthwise_conv2d_i8_fast(kernel, get(b, *input)?, scratch, out)
            }),
            Step::DepthwiseConv2dHybrid {
                input,
                output,
                shape,
                filter,
                filter_scale,
                bias,
                act,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                quantize_batches(get::<f32>(b, *input)?, shape.window.batches, true, scratch)?;
                depthwise_conv2d_hybrid(
                    shape,
                    &scratch.input_q,
                    &scratch.scaling_factor,
                    &scratch.zero_point,
                    filter,
                    filter_scale,
                    bias.as_deref(),
                    *act,
                    out,
                )
            }),
            Step::FullyConnectedF32 {
                input,
                output,
                shape,
                weights,
                bias,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                fully_connected_f32(*shape, get(b, *input)?, weights, bias.as_deref(), *act, out)
            }),
            Step::FullyConnectedI8 {
                input,
                output,
                shape,
                quant,
                weights,
                bias,
                requant,
            } => with_output::<i8>(buffers, *output, |b, out| match requant {
                FcRequant::Double => fully_connected_i8(
                    *shape,
                    quant,
                    get(b, *input)?,
                    weights,
                    bias.as_deref(),
                    out,
                ),
                FcRequant::FixedPoint => fully_connected_i8_fixed_point(
                    *shape,
                    quant,
                    get(b, *input)?,
                    weights,
                    bias.as_deref(),
                    out,
                ),
            }),
            Step::FullyConnectedHybrid {
                input,
                output,
                shape,
                weights,
                bias,
                act,
                scratch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                fully_connected_hybrid(
                    *shape,
                    weights,
                    get(b, *input)?,
                    bias.as_deref(),
                    *act,
                    scratch,
                    out,
                )
            }),
            Step::MaxPool2dF32 {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                max_pool2d_f32(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::MaxPool2dI8 {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<i8>(buffers, *output, |b, out| {
                max_pool2d_i8(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::AveragePool2dF32 {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                average_pool2d_f32(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::AveragePool2dI8 {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<i8>(buffers, *output, |b, out| {
                average_pool2d_i8(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::MaxPool2dF32Fast {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                max_pool2d_f32_fast(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::MaxPool2dI8Fast {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<i8>(buffers, *output, |b, out| {
                max_pool2d_i8_fast(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::AveragePool2dF32Fast {
                input,
                output,
                window,
                channels,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                average_pool2d_f32_fast(window, *channels, get(b, *input)?, *act, out)
            }),
            Step::AveragePool2dI8Fast {
                input,
                output,
                window,
                channels,
                act,
                sums,
            } => with_output::<i8>(buffers, *output, |b, out| {
                average_pool2d_i8_fast(window, *channels, get(b, *input)?, *act, sums, out)
            }),
            Step::SoftmaxF32 {
                input,
                output,
                depth,
                beta,
            } => with_output::<f32>(buffers, *output, |b, out| {
                softmax_f32(*depth, *beta, get(b, *input)?, out)
            }),
            Step::Conv2dF32Optimized {
                input,
                output,
                kernel,
                patch,
            } => with_output::<f32>(buffers, *output, |b, out| {
                conv2d_f32_optimized(kernel, get(b, *input)?, patch, out)
            }),
            Step::DepthwiseConv2dF32Optimized {
                input,
                output,
                shape,
                filter,
                bias,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                depthwise_conv2d_f32_optimized(
                    shape,
                    get(b, *input)?,
                    filter,
                    bias.as_deref(),
                    *act,
                    out,
                )
            }),
            Step::FullyConnectedF32Optimized {
                input,
                output,
                shape,
                weights,
                bias,
                act,
            } => with_output::<f32>(buffers, *output, |b, out| {
                fully_connected_f32_optimized(
                    shape,
                    get(b, *input)?,
                    weights,
                    bias.as_deref(),
                    *act,
                    out,
                )
            }),
            Step::SoftmaxF32Optimized {
                input,
                output,
                depth,
                beta,
            } => with_output::<f32>(buffers, *output, |b, out| {
                softmax_f32_optimized(*depth, *beta, get(b, *input)?, out)
            }),
            Step::SoftmaxI8 {
                input,
                output,
                depth,
                quant,
            } => with_output::<i8>(buffers, *output, |b, out| {
                softmax_quantized(*depth, quant, get(b, *input)?, out)
            }),
            Step::SoftmaxU8 {
                input,
                output,
                depth,
                quant,
            } => with_output::<u8>(buffers, *output, |b, out| {
                softmax_quantized(*depth, quant, get(b, *input)?, out)
            }),
            Step::Quantize {
                input,
                output,
                scale,
                zero_point,
            } => match buffers.get(*output).map(Buffer::dtype) {
                Some(crate::tflite::TensorType::UInt8) => {
                    with_output::<u8>(buffers, *output, |b, out| {
                        quantize_f32(*scale, *zero_point, get(b, *input)?, out)
                    })
                }
                _ => with_output::<i8>(buffers, *output, |b, out| {
                    quantize_f32(*scale, *zero_point, get(b, *input)?, out)
                }),
            },
            Step::Requantize {
                input,
                output,
                multiplier,
                shift,
                input_zero_point,
                output_zero_point,
            } => {
                let (m, s, zi, zo) = (*multiplier, *shift, *input_zero_point, *output_zero_point);
                let in_u8 = matches!(buffers.get(*input), Some(Buffer::U8(_)));
                let out_u8 = matches!(buffers.get(*output), Some(Buffer::U8(_)));
                match (in_u8, out_u8) {
                    (true, true) => with_output::<u8>(buffers, *output, |b, out| {
                        requantize::<u8, u8>(m, s, zi, zo, get(b, *input)?, out)
                    }),
                    (true, false) => with_output::<i8>(buffers, *output, |b, out| {
                        requantize::<u8, i8>(m, s, zi, zo, get(b, *input)?, out)
                    }),
                    (false, true) => with_output::<u8>(buffers, *output, |b, out| {
                        requantize::<i8, u8>(m, s, zi, zo, get(b, *input)?, out)
                    }),
                    (false, false) => with_output::<i8>(buffers, *output, |b, out| {
                        requantize::<i8, i8>(m, s, zi, zo, get(b, *input)?, out)
                    }),
                }
            }
            Step::Dequantize {
                input,
                output,
                scale,
                zero_point,
            } => {
                if matches!(buffers.get(*input), Some(Buffer::U8(_))) {
                    with_output::<f32>(buffers, *output, |b, out| {
                        dequantize::<u8>(*scale, *zero_point, get(b, *input)?, out)
                    })
                } else {
                    with_output::<f32>(buffers, *output, |b, out| {
                        dequantize::<i8>(*scale, *zero_point, get(b, *input)?, out)
                    })
                }
            }
            Step::Shape { output, shape } => match buffers.get(*output) {
                Some(Buffer::I64(_)) => {
                    with_output::<i64>(buffers, *output, |_, out| shape_i64(shape, out))
                }
                _ => with_output::<i32>(buffers, *output, |_, out| shape_i32(shape, out)),
            },
            Step::StridedSlice {
                input,
                output,
                plan,
            } => {
                let plan = &*plan;
                match buffers.get(*input).map(Buffer::dtype) {
                    Some(crate::tflite::TensorType::Float32) => {
                        with_output::<f32>(buffers, *output, |b, out| {
                            strided_slice(plan, get(b, *input)?, out)
                        })
                    }
                    Some(crate::tflite::TensorType::Int8) => {
                        with_output::<i8>(buffers, *output, |b, out| {
                            strided_slice(plan, get(b, *input)?, out)
                        })
                    }
                    Some(crate::tflite::TensorType::UInt8) => {
                        with_output::<u8>(buffers, *output, |b, out| {
                            strided_slice(plan, get(b, *input)?, out)
                        })
                    }
                    Some(crate::tflite::TensorType::Int64) => {
                        with_output::<i64>(buffers, *output, |b, out| {
                            strided_slice(plan, get(b, *input)?, out)
                        })
                    }
                    _ => with_output::<i32>(buffers, *output, |b, out| {
                        strided_slice(plan, get(b, *input)?, out)
                    }),
                }
            }
            Step::Pack {
                inputs,
                output,
                outer,
                inner,
            } => {
                let (outer, inner, n) = (*outer, *inner, inputs.len());
                for (index, &input) in inputs.iter().enumerate() {
                    match buffers.get(*output).map(Buffer::dtype) {
                        Some(crate::tflite::TensorType::Float32) => {
                            with_output::<f32>(buffers, *output, |b, out| {
                                pack_one(outer, inner, n, index, get(b, input)?, out)
                            })?
                        }
                        Some(crate::tflite::TensorType::Int8) => {
                            with_output::<i8>(buffers, *output, |b, out| {
                                pack_one(outer, inner, n, index, get(b, input)?, out)
                            })?
                        }
                        Some(crate::tflite::TensorType::UInt8) => {
                            with_output::<u8>(buffers, *output, |b, out| {
                                pack_one(outer, inner, n, index, get(b, input)?, out)
                            })?
                        }
                        Some(crate::tflite::TensorType::Int64) => {
                            with_output::<i64>(buffers, *output, |b, out| {
                                pack_one(outer, inner, n, index, get(b, input)?, out)
                            })?
                        }
                        _ => with_output::<i32>(buffers, *output, |b, out| {
                            pack_one(outer, inner, n, index, get(b, input)?, out)
                        })?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// Quantize each batch of a hybrid convolution's input: asymmetric (per-channel filters) or symmetric.
fn quantize_batches(
    input: &[f32],
    batches: usize,
    asymmetric: bool,
    scratch: &mut ConvHybridScratch,
) -> Result<()> {
    crate::interp::kernels::check_len(
        "hybrid input quantization",
        "scratch",
        scratch.input_q.len(),
        input.len(),
    )?;
    crate::interp::kernels::check_len(
        "hybrid input quantization",
        "scaling factors",
        scratch.scaling_factor.len(),
        batches,
    )?;
    crate::interp::kernels::check_len(
        "hybrid input quantization",
        "zero points",
        scratch.zero_point.len(),
        batches,
    )?;
    if batches == 0 {
        return Ok(());
    }
    let per_batch = input.len() / batches;
    if per_batch == 0 {
        return Ok(());
    }
    for (b, (x, q)) in input
        .chunks_exact(per_batch)
        .zip(scratch.input_q.chunks_exact_mut(per_batch))
        .enumerate()
    {
        if asymmetric {
            let (sf, zp) = asymmetric_quantize_floats(x, q);
            scratch.scaling_factor[b] = sf;
            scratch.zero_point[b] = zp;
        } else {
            scratch.scaling_factor[b] = symmetric_quantize_floats(x, q);
            scratch.zero_point[b] = 0;
        }
    }
    Ok(())
}
