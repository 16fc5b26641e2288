//! Planning CONV_2D and DEPTHWISE_CONV_2D: shapes and windows checked, then per input/filter/output
//! types the kernel chosen (TF's calibrator arithmetic, a fast kernel, or the reference one) with its
//! weights, bias and per-channel quantization prepared. Whether a fast CONV_2D then merges into the
//! MAX_POOL_2D after it is decided later, by the fusion pass.

use super::{Planner, as4, checked_len, invalid, positive, shape_mismatch, unsupported};
use crate::error::Result;
use crate::interp::kernels::activation::float_range;
use crate::interp::kernels::conv2d::{ConvF32Fast, ConvI8Fast, ConvShape};
use crate::interp::kernels::depthwise_conv2d::{DepthwiseFast, DepthwiseShape};
use crate::interp::kernels::int16::ConvI16Fast;
use crate::interp::kernels::optimized_f32::{ConvF32Optimized, conv_path};
use crate::interp::kernels::window::Window;
use crate::interp::step::{
    Conv2dF32, Conv2dF32Fast, Conv2dF32Optimized, Conv2dHybrid, Conv2dI8, Conv2dI8Fast, Conv2dI16,
    Conv2dI16Fast, ConvHybridScratch, DepthwiseConv2dF32, DepthwiseConv2dF32Fast,
    DepthwiseConv2dF32Optimized, DepthwiseConv2dHybrid, DepthwiseConv2dI8, DepthwiseConv2dI8Fast,
    DepthwiseConv2dI16, Step,
};
use crate::tflite::{Operator, Options, TensorType};

impl Planner<'_> {
    pub(super) fn conv2d(&mut self, op: &str, o: &Operator) -> Result<()> {
        let Options::Conv2D(opts) = &o.options else {
            return Err(invalid(format!("{op} without Conv2DOptions")));
        };
        if !(2..=3).contains(&o.inputs.len()) {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 2 or 3",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let (fi, fa) = self.required_input(op, &o.inputs, 1)?;
        let bias = self.optional_input(op, &o.inputs, 2)?;
        let (in_shape, f_shape) = (self.shape(xi).to_vec(), self.shape(fi).to_vec());
        let (Some([n, h, w, c]), Some([oc, kh, kw, ic])) = (as4(&in_shape), as4(&f_shape)) else {
            return Err(shape_mismatch(
                op,
                "a 4-D input and a 4-D OHWI filter",
                (&in_shape, &f_shape),
            ));
        };
        if ic == 0 || c % ic != 0 || oc == 0 || oc % (c / ic).max(1) != 0 || c == 0 {
            return Err(shape_mismatch(
                op,
                format!(
                    "input channels ({c}) a multiple of the filter depth, filters a multiple of the groups"
                ),
                &f_shape,
            ));
        }
        let window = Window::new(
            op,
            opts.padding,
            n,
            (h, w),
            (kh, kw),
            (
                positive(op, "stride", opts.stride_h)?,
                positive(op, "stride", opts.stride_w)?,
            ),
            (
                positive(op, "dilation", opts.dilation_h)?,
                positive(op, "dilation", opts.dilation_w)?,
            ),
        )?;
        let shape = ConvShape {
            window,
            in_c: c,
            out_c: oc,
            filter_c: ic,
        };
        let out_shape = vec![n, shape.window.out_h, shape.window.out_w, oc];
        if let Some((bi, _)) = bias
            && checked_len(self.shape(bi)) != Some(oc)
        {
            return Err(shape_mismatch(
                op,
                format!("a bias of {oc} elements"),
                self.shape(bi),
            ));
        }
        let out_i = self.check_output(op, out_t)?;
        let macs = (checked_len(&out_shape).unwrap_or(usize::MAX) as u64)
            .saturating_mul((kh * kw * ic) as u64);
        self.add_work(op, macs)?;
        let foldable = xa.constant;
        let (x_t, f_t, o_t) = (self.dtype(xi), self.dtype(fi), self.dtype(out_i));
        let step = match (x_t, f_t, o_t) {
            (TensorType::Float32, TensorType::Float32, TensorType::Float32) => {
                let filter = self.const_data::<f32>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let act = float_range(op, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                if self.config.tf_calibrator() && shape.groups() == 1 {
                    // TFLite's optimized conv (grouped convs fall back to the reference kernel)
                    let kernel = ConvF32Optimized {
                        path: conv_path(&shape),
                        shape,
                        filter,
                        bias,
                        act,
                    };
                    let patch = vec![0.0; kernel.depth()];
                    let step = Step::new(Conv2dF32Optimized {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        patch,
                    });
                    return self.push(step, foldable, out_i);
                }
                match (self.config.fast_kernels() && !self.config.tf_calibrator())
                    .then(|| ConvF32Fast::new(&shape, &filter, bias.as_deref(), act))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(Conv2dF32Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => Step::new(Conv2dF32 {
                        input: xa.buffer,
                        output,
                        shape,
                        filter,
                        bias,
                        act,
                    }),
                }
            }
            (TensorType::Int8, TensorType::Int8, TensorType::Int8) => {
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<i32>(op, ba, "bias"))
                    .transpose()?;
                let quant = self.channel_quant(op, xi, fi, out_i, 0, oc, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                match self
                    .config
                    .fast_kernels()
                    .then(|| ConvI8Fast::new(&shape, &quant, &filter, bias.as_deref()))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(Conv2dI8Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => Step::new(Conv2dI8 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        filter,
                        bias,
                    }),
                }
            }
            (TensorType::Int16, TensorType::Int8, TensorType::Int16) => {
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = self.int16_bias(op, bias)?;
                self.symmetric_int16(op, &[xi, out_i])?;
                let quant = self.channel_quant(op, xi, fi, out_i, 0, oc, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                match self
                    .config
                    .fast_kernels()
                    .then(|| ConvI16Fast::new(&shape, &quant, &filter, bias.as_deref()))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(Conv2dI16Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => Step::new(Conv2dI16 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        filter,
                        bias,
                    }),
                }
            }
            (TensorType::Float32, TensorType::Int8, TensorType::Float32) => {
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let scales = self.weight_quant(op, fi, 0, oc)?.scales;
                let act = float_range(op, opts.fused_activation)?;
                // TFLite uses the per-channel kernel (asymmetric inputs) only when the scales differ.
                let per_channel = scales.iter().any(|&s| s != scales[0]);
                let in_len = checked_len(&in_shape).unwrap_or(0);
                let scratch = ConvHybridScratch {
                    input_q: vec![0; in_len],
                    scaling_factor: vec![0.0; n],
                    zero_point: vec![0; n],
                };
                let scale = scales[0];
                let output = self.output(op, out_t, out_shape)?;
                Step::new(Conv2dHybrid {
                    input: xa.buffer,
                    output,
                    shape,
                    filter,
                    filter_scale: per_channel.then_some(scales),
                    scale,
                    bias,
                    act,
                    scratch,
                })
            }
            other => {
                return Err(unsupported(
                    op,
                    format!("input/filter/output types {other:?}"),
                ));
            }
        };
        self.push(step, foldable, out_i)
    }

    pub(super) fn depthwise_conv2d(&mut self, op: &str, o: &Operator) -> Result<()> {
        let Options::DepthwiseConv2D(opts) = &o.options else {
            return Err(invalid(format!("{op} without DepthwiseConv2DOptions")));
        };
        if !(2..=3).contains(&o.inputs.len()) {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 2 or 3",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let (fi, fa) = self.required_input(op, &o.inputs, 1)?;
        let bias = self.optional_input(op, &o.inputs, 2)?;
        let (in_shape, f_shape) = (self.shape(xi).to_vec(), self.shape(fi).to_vec());
        let (Some([n, h, w, c]), Some([one, kh, kw, oc])) = (as4(&in_shape), as4(&f_shape)) else {
            return Err(shape_mismatch(
                op,
                "a 4-D input and a 4-D 1HWO filter",
                (&in_shape, &f_shape),
            ));
        };
        if one != 1 || c == 0 || oc % c != 0 || oc == 0 {
            return Err(shape_mismatch(
                op,
                format!("a [1, H, W, {c}·M] filter"),
                &f_shape,
            ));
        }
        let multiplier = oc / c;
        let window = Window::new(
            op,
            opts.padding,
            n,
            (h, w),
            (kh, kw),
            (
                positive(op, "stride", opts.stride_h)?,
                positive(op, "stride", opts.stride_w)?,
            ),
            (
                positive(op, "dilation", opts.dilation_h)?,
                positive(op, "dilation", opts.dilation_w)?,
            ),
        )?;
        let shape = DepthwiseShape {
            window,
            in_c: c,
            multiplier,
        };
        let out_shape = vec![n, shape.window.out_h, shape.window.out_w, oc];
        if let Some((bi, _)) = bias
            && checked_len(self.shape(bi)) != Some(oc)
        {
            return Err(shape_mismatch(
                op,
                format!("a bias of {oc} elements"),
                self.shape(bi),
            ));
        }
        let out_i = self.check_output(op, out_t)?;
        let macs =
            (checked_len(&out_shape).unwrap_or(usize::MAX) as u64).saturating_mul((kh * kw) as u64);
        self.add_work(op, macs)?;
        let foldable = xa.constant;
        let step = match (self.dtype(xi), self.dtype(fi), self.dtype(out_i)) {
            (TensorType::Float32, TensorType::Float32, TensorType::Float32) => {
                let filter = self.const_data::<f32>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let act = float_range(op, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                if self.config.tf_calibrator() {
                    Step::new(DepthwiseConv2dF32Optimized {
                        input: xa.buffer,
                        output,
                        shape,
                        filter,
                        bias,
                        act,
                    })
                } else if let Some((kernel, scratch)) = self
                    .config
                    .fast_kernels()
                    .then(|| DepthwiseFast::new_f32(&shape, &filter, bias.as_deref(), act))
                    .flatten()
                {
                    Step::new(DepthwiseConv2dF32Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    })
                } else {
                    Step::new(DepthwiseConv2dF32 {
                        input: xa.buffer,
                        output,
                        shape,
                        filter,
                        bias,
                        act,
                    })
                }
            }
            (TensorType::Int8, TensorType::Int8, TensorType::Int8) => {
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<i32>(op, ba, "bias"))
                    .transpose()?;
                let quant = self.channel_quant(op, xi, fi, out_i, 3, oc, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                match self
                    .config
                    .fast_kernels()
                    .then(|| DepthwiseFast::new_i8(&shape, &quant, &filter, bias.as_deref()))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::new(DepthwiseConv2dI8Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }),
                    None => Step::new(DepthwiseConv2dI8 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        filter,
                        bias,
                    }),
                }
            }
            (TensorType::Int16, TensorType::Int8, TensorType::Int16) => {
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = self.int16_bias(op, bias)?;
                self.symmetric_int16(op, &[xi, out_i])?;
                let quant = self.channel_quant(op, xi, fi, out_i, 3, oc, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                Step::new(DepthwiseConv2dI16 {
                    input: xa.buffer,
                    output,
                    shape,
                    quant,
                    filter,
                    bias,
                })
            }
            (TensorType::Float32, TensorType::Int8, TensorType::Float32) => {
                // The hybrid kernel indexes with the options' depth multiplier; it must agree.
                if opts.depth_multiplier != multiplier as i32 {
                    return Err(unsupported(
                        op,
                        format!(
                            "hybrid kernel with depth_multiplier {} but {multiplier} from the shapes",
                            opts.depth_multiplier
                        ),
                    ));
                }
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                // TFLite requires one scale per output channel here.
                let weights = self.weight_quant(op, fi, 3, oc)?;
                if !weights.per_axis && oc != 1 {
                    return Err(unsupported(
                        op,
                        "hybrid kernel with one weight scale for several channels",
                    ));
                }
                let act = float_range(op, opts.fused_activation)?;
                let scratch = ConvHybridScratch {
                    input_q: vec![0; checked_len(&in_shape).unwrap_or(0)],
                    scaling_factor: vec![0.0; n],
                    zero_point: vec![0; n],
                };
                let output = self.output(op, out_t, out_shape)?;
                Step::new(DepthwiseConv2dHybrid {
                    input: xa.buffer,
                    output,
                    shape,
                    filter,
                    filter_scale: weights.scales,
                    bias,
                    act,
                    scratch,
                })
            }
            other => {
                return Err(unsupported(
                    op,
                    format!("input/filter/output types {other:?}"),
                ));
            }
        };
        self.push(step, foldable, out_i)
    }
}
