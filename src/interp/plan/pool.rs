//! Planning MAX_POOL_2D and AVERAGE_POOL_2D: the window (every one must overlap the image), the fused
//! activation's clamp range, and the fast kernel unless the plan is reference-only or the window is
//! too large for its 32-bit sums. A MAX_POOL_2D reading a fast CONV_2D may be merged into it later by
//! the fusion pass.

use super::{Planner, as4, checked_len, invalid, positive, shape_mismatch, unsupported};
use crate::error::Result;
use crate::interp::kernels::activation::{float_range, quantized_range};
use crate::interp::kernels::window::Window;
use crate::interp::step::{
    AveragePool2dF32, AveragePool2dF32Fast, AveragePool2dI8, AveragePool2dI8Fast, MaxPool2dF32,
    MaxPool2dF32Fast, MaxPool2dI8, MaxPool2dI8Fast, Pool2dI16, Step,
};
use crate::tflite::{Operator, Options, TensorType};

impl Planner<'_> {
    pub(super) fn pool2d(&mut self, op: &str, o: &Operator, max: bool) -> Result<()> {
        let Options::Pool2D(opts) = &o.options else {
            return Err(invalid(format!("{op} without Pool2DOptions")));
        };
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let in_shape = self.shape(xi).to_vec();
        let Some([n, h, w, c]) = as4(&in_shape) else {
            return Err(shape_mismatch(op, "a 4-D NHWC input", &in_shape));
        };
        let window = Window::new(
            op,
            opts.padding,
            n,
            (h, w),
            (
                positive(op, "filter size", opts.filter_h)?,
                positive(op, "filter size", opts.filter_w)?,
            ),
            (
                positive(op, "stride", opts.stride_h)?,
                positive(op, "stride", opts.stride_w)?,
            ),
            (1, 1),
        )?;
        // Every window must overlap the image (TFLite's average pool fails otherwise).
        if (0..window.out_h).any(|y| {
            let (s, e) = window.clipped_y(y);
            s >= e
        }) || (0..window.out_w).any(|x| {
            let (s, e) = window.clipped_x(x);
            s >= e
        }) {
            return Err(invalid(format!(
                "{op}: a window lies entirely in the padding"
            )));
        }
        let out_shape = vec![n, window.out_h, window.out_w, c];
        let out_i = self.check_output(op, out_t)?;
        self.add_work(
            op,
            (checked_len(&out_shape).unwrap_or(usize::MAX) as u64)
                .saturating_mul((window.filter_h * window.filter_w) as u64),
        )?;
        let foldable = xa.constant;
        // The fast pools keep per-channel sums in i32: fine for windows below 2^23 taps.
        let fast = self.config.fast_kernels() && window.filter_h * window.filter_w < (1 << 23);
        let step = match (self.dtype(xi), self.dtype(out_i)) {
            (TensorType::Float32, TensorType::Float32) => {
                let act = float_range(op, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                match (max, fast) {
                    (true, true) => Step::new(MaxPool2dF32Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                    (true, false) => Step::new(MaxPool2dF32 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                    (false, true) => Step::new(AveragePool2dF32Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                    (false, false) => Step::new(AveragePool2dF32 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                }
            }
            (TensorType::Int8, TensorType::Int8) => {
                // No rescaling: TFLite assumes output and input share (scale, zero point).
                self.activation_quant(op, xi, "input")?;
                let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
                let act = quantized_range(op, opts.fused_activation, s_out, zp_out, (-128, 127))?;
                let output = self.output(op, out_t, out_shape)?;
                match (max, fast) {
                    (true, true) => Step::new(MaxPool2dI8Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                    (true, false) => Step::new(MaxPool2dI8 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                    (false, true) => Step::new(AveragePool2dI8Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                        sums: vec![0; c],
                    }),
                    (false, false) => Step::new(AveragePool2dI8 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    }),
                }
            }
            (TensorType::Int16, TensorType::Int16) => {
                self.symmetric_int16(op, &[xi, out_i])?;
                let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
                let act =
                    quantized_range(op, opts.fused_activation, s_out, zp_out, (-32768, 32767))?;
                let output = self.output(op, out_t, out_shape)?;
                Step::new(Pool2dI16 {
                    input: xa.buffer,
                    output,
                    window,
                    channels: c,
                    act,
                    max,
                })
            }
            other => return Err(unsupported(op, format!("input/output types {other:?}"))),
        };
        self.push(step, foldable, out_i)
    }
}
