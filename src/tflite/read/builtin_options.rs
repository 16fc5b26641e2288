//! Builtin options tables → [`Options`]: one arm per option type the IR models, unknown types kept as
//! `Options::Unknown` so that `inspect` can list them.

use crate::error::Result;
use crate::tflite::flatbuf::Table;
use crate::tflite::model::*;
use crate::tflite::schema::{field, options};

fn padding(t: &Table, vo: u16) -> Result<Padding> {
    match t.scalar::<i8>(vo, "padding", 0)? {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        v => Err(t.err("padding", format!("{v} is not a Padding (SAME 0, VALID 1)"))),
    }
}

fn activation(t: &Table, vo: u16) -> Result<Activation> {
    use Activation::*;
    let name = "fused_activation_function";
    Ok(match t.scalar::<i8>(vo, name, 0)? {
        0 => None,
        1 => Relu,
        2 => ReluN1To1,
        3 => Relu6,
        4 => Tanh,
        5 => SignBit,
        v => {
            return Err(t.err(
                name,
                format!("{v} is not an ActivationFunctionType (0..=5)"),
            ));
        }
    })
}

/// Decode an options table of union type `union`; unknown types become `Options::Unknown`.
pub(super) fn read_options(union: u8, t: &Table) -> Result<Options> {
    Ok(match union {
        options::CONV_2D => {
            use field::conv_2d as f;
            Options::Conv2D(Conv2DOptions {
                padding: padding(t, f::PADDING)?,
                stride_w: t.scalar::<i32>(f::STRIDE_W, "stride_w", 0)?,
                stride_h: t.scalar::<i32>(f::STRIDE_H, "stride_h", 0)?,
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
                dilation_w: t.scalar::<i32>(f::DILATION_W, "dilation_w_factor", 1)?,
                dilation_h: t.scalar::<i32>(f::DILATION_H, "dilation_h_factor", 1)?,
            })
        }
        options::DEPTHWISE_CONV_2D => {
            use field::depthwise_conv_2d as f;
            Options::DepthwiseConv2D(DepthwiseConv2DOptions {
                padding: padding(t, f::PADDING)?,
                stride_w: t.scalar::<i32>(f::STRIDE_W, "stride_w", 0)?,
                stride_h: t.scalar::<i32>(f::STRIDE_H, "stride_h", 0)?,
                depth_multiplier: t.scalar::<i32>(f::DEPTH_MULTIPLIER, "depth_multiplier", 0)?,
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
                dilation_w: t.scalar::<i32>(f::DILATION_W, "dilation_w_factor", 1)?,
                dilation_h: t.scalar::<i32>(f::DILATION_H, "dilation_h_factor", 1)?,
            })
        }
        options::POOL_2D => {
            use field::pool_2d as f;
            Options::Pool2D(Pool2DOptions {
                padding: padding(t, f::PADDING)?,
                stride_w: t.scalar::<i32>(f::STRIDE_W, "stride_w", 0)?,
                stride_h: t.scalar::<i32>(f::STRIDE_H, "stride_h", 0)?,
                filter_w: t.scalar::<i32>(f::FILTER_W, "filter_width", 0)?,
                filter_h: t.scalar::<i32>(f::FILTER_H, "filter_height", 0)?,
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
            })
        }
        options::FULLY_CONNECTED => {
            use field::fully_connected as f;
            let weights_format = t.scalar::<i8>(f::WEIGHTS_FORMAT, "weights_format", 0)?;
            if !(0..=1).contains(&weights_format) {
                return Err(t.err(
                    "weights_format",
                    format!(
                        "{weights_format} is not a FullyConnectedOptionsWeightsFormat (DEFAULT 0, SHUFFLED4x16INT8 1)"
                    ),
                ));
            }
            Options::FullyConnected(FullyConnectedOptions {
                fused_activation: activation(t, f::FUSED_ACTIVATION)?,
                weights_format,
                keep_num_dims: t.bool(f::KEEP_NUM_DIMS, "keep_num_dims")?,
                asymmetric_quantize_inputs: t
                    .bool(f::ASYMMETRIC_QUANTIZE_INPUTS, "asymmetric_quantize_inputs")?,
            })
        }
        options::SOFTMAX => Options::Softmax {
            beta: t.scalar::<f32>(field::softmax::BETA, "beta", 0.0)?,
        },
        options::RESHAPE => Options::Reshape {
            new_shape: t
                .scalars::<i32>(field::reshape::NEW_SHAPE, "new_shape")?
                .unwrap_or_default(),
        },
        options::STRIDED_SLICE => {
            use field::strided_slice as f;
            Options::StridedSlice(StridedSliceOptions {
                begin_mask: t.scalar::<i32>(f::BEGIN_MASK, "begin_mask", 0)?,
                end_mask: t.scalar::<i32>(f::END_MASK, "end_mask", 0)?,
                ellipsis_mask: t.scalar::<i32>(f::ELLIPSIS_MASK, "ellipsis_mask", 0)?,
                new_axis_mask: t.scalar::<i32>(f::NEW_AXIS_MASK, "new_axis_mask", 0)?,
                shrink_axis_mask: t.scalar::<i32>(f::SHRINK_AXIS_MASK, "shrink_axis_mask", 0)?,
                offset: t.bool(f::OFFSET, "offset")?,
            })
        }
        options::SHAPE => {
            let code = t.scalar::<i8>(field::shape::OUT_TYPE, "out_type", 0)?;
            let out_type = TensorType::from_code(code).ok_or_else(|| {
                t.err(
                    "out_type",
                    format!("{code} is not a TensorType we know (0..=18)"),
                )
            })?;
            Options::Shape { out_type }
        }
        options::PACK => Options::Pack {
            values_count: t.scalar::<i32>(field::pack::VALUES_COUNT, "values_count", 0)?,
            axis: t.scalar::<i32>(field::pack::AXIS, "axis", 0)?,
        },
        options::QUANTIZE => Options::Quantize,
        options::DEQUANTIZE => Options::Dequantize,
        other => Options::Unknown(other),
    })
}
