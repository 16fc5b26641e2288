//! Planning: validate subgraph 0 of a [`Model`] once, infer every shape, fold what is static, and turn
//! each remaining operator into a [`Step`] with its weights and quantization precomputed.
//!
//! Nothing from the model is trusted: every index, type, shape and quantization parameter an operator
//! uses is checked here and becomes a typed error; sizes are bounded by [`super::limits`]. After
//! planning, the kernels only see lengths the plan has checked.
//!
//! Graph rules (what LiteRT's interpreter also needs): operators run in file order; an operator may read
//! only constants, graph inputs and outputs of earlier operators (so there are no cycles); every tensor
//! is written at most once; graph outputs must be computed.

use crate::error::{Error, Result};
use crate::interp::fixed_point::quantize_multiplier;
use crate::interp::kernels::activation::{float_range, quantized_range};
use crate::interp::kernels::conv2d::{ChannelQuant, ConvF32Fast, ConvI8Fast, ConvShape};
use crate::interp::kernels::depthwise_conv2d::{DepthwiseFast, DepthwiseShape};
use crate::interp::kernels::fully_connected::{
    FcF32Fast, FcHybridFast, FcI8Fast, FcQuant, FcShape, HybridScratch, HybridWeights,
    litert_row_sum,
};
use crate::interp::kernels::optimized_f32::{ConvF32Optimized, conv_path};
use crate::interp::kernels::pack::pack_output_shape;
use crate::interp::kernels::reshape::reshape_output_shape;
use crate::interp::kernels::softmax::SoftmaxQuant;
use crate::interp::kernels::strided_slice::{StridedSlicePlan, StridedSliceSpec};
use crate::interp::kernels::window::Window;
use crate::interp::limits;
use crate::interp::options::{FcRequant, PlanConfig};
use crate::interp::step::{ConvHybridScratch, Step};
use crate::interp::tensor::{Buffer, Element, TensorInfo};
use crate::tflite::schema::op;
use crate::tflite::{Activation, Model, Operator, Options, Quantization, TensorType};

/// Operators the interpreter runs (for error messages).
pub const SUPPORTED_OPS: &str = "CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, AVERAGE_POOL_2D, \
RESHAPE, SHAPE, STRIDED_SLICE, PACK, QUANTIZE, DEQUANTIZE, SOFTMAX";

/// The result of planning.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Per model tensor: its description and buffer, if the plan computes or holds it.
    pub tensors: Vec<(TensorInfo, Option<usize>)>,
    pub buffers: Vec<Buffer>,
    pub steps: Vec<Step>,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub input_buffers: Vec<usize>,
    pub output_buffers: Vec<usize>,
    /// Work counted against [`limits::MAX_WORK`] (constant folding included).
    pub work: u64,
}

/// Quantization of one tensor, parsed.
#[derive(Clone, Debug, PartialEq)]
enum Quant {
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

/// A tensor that can be read: its buffer and whether its value is known at plan time.
#[derive(Clone, Copy, Debug)]
struct Avail {
    buffer: usize,
    constant: bool,
}

struct Planner<'m> {
    model: &'m Model,
    sg: &'m crate::tflite::Subgraph,
    infos: Vec<TensorInfo>,
    quant: Vec<Quant>,
    avail: Vec<Option<Avail>>,
    buffers: Vec<Buffer>,
    buffer_bytes: u64,
    work: u64,
    steps: Vec<Step>,
    config: PlanConfig,
    /// How many operator inputs and graph outputs read each tensor.
    uses: Vec<usize>,
    /// Convolutions whose only reader is a MAX_POOL_2D still to be planned: model tensor → step.
    pending_conv: Vec<(usize, Step)>,
}

fn invalid(what: impl Into<String>) -> Error {
    Error::InvalidModel(what.into())
}

fn unsupported(op: &str, what: impl Into<String>) -> Error {
    Error::Unsupported {
        op: op.to_string(),
        what: what.into(),
    }
}

fn shape_mismatch(op: &str, expected: impl Into<String>, got: impl std::fmt::Debug) -> Error {
    Error::ShapeMismatch {
        op: op.to_string(),
        expected: expected.into(),
        got: format!("{got:?}"),
    }
}

/// Parse a tensor's quantization table (TFLite's `ParseQuantization` rules: as many zero points as
/// scales; a per-axis dimension inside the rank).
fn parse_quant(index: usize, q: Option<&Quantization>, rank: usize) -> Result<Quant> {
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
fn type_range(dtype: TensorType) -> Option<(i32, i32)> {
    match dtype {
        TensorType::Int8 => Some((-128, 127)),
        TensorType::UInt8 => Some((0, 255)),
        _ => None,
    }
}

impl<'m> Planner<'m> {
    fn new(model: &'m Model, config: PlanConfig) -> Result<Planner<'m>> {
        let sg = model
            .subgraphs
            .first()
            .ok_or_else(|| invalid("the model has no subgraph"))?;
        Error::check_limit("tensor count", sg.tensors.len() as u64, limits::MAX_TENSORS)?;
        Error::check_limit(
            "operator count",
            sg.operators.len() as u64,
            limits::MAX_OPERATORS,
        )?;
        let mut infos = Vec::with_capacity(sg.tensors.len());
        let mut quant = Vec::with_capacity(sg.tensors.len());
        for (index, t) in sg.tensors.iter().enumerate() {
            Error::check_limit("tensor rank", t.shape.len() as u64, limits::MAX_RANK)?;
            let q = parse_quant(index, t.quantization.as_ref(), t.shape.len())?;
            let (scale, zero_point) = match &q {
                Quant::PerTensor { scale, zero_point } => {
                    (*scale, i32::try_from(*zero_point).unwrap_or(0))
                }
                _ => (0.0, 0),
            };
            infos.push(TensorInfo {
                index,
                name: t.name.clone(),
                dtype: t.dtype,
                // Declared shape; negative (dynamic) dimensions are refused where the tensor is used.
                shape: t.shape.iter().map(|&d| d.max(0) as usize).collect(),
                scale,
                zero_point,
            });
            quant.push(q);
        }
        Ok(Planner {
            model,
            sg,
            infos,
            quant,
            avail: vec![None; sg.tensors.len()],
            buffers: Vec::new(),
            buffer_bytes: 0,
            work: 0,
            steps: Vec::new(),
            config,
            uses: {
                let mut uses = vec![0usize; sg.tensors.len()];
                for &t in sg
                    .operators
                    .iter()
                    .flat_map(|o| o.inputs.iter())
                    .chain(sg.outputs.iter())
                {
                    if let Some(u) = usize::try_from(t).ok().and_then(|i| uses.get_mut(i)) {
                        *u += 1;
                    }
                }
                uses
            },
            pending_conv: Vec::new(),
        })
    }

    // ---- tensors -------------------------------------------------------------------------------

    fn tensor_index(&self, op: &str, t: i32) -> Result<usize> {
        usize::try_from(t)
            .ok()
            .filter(|&i| i < self.sg.tensors.len())
            .ok_or_else(|| {
                invalid(format!(
                    "{op}: tensor index {t} out of range (the subgraph has {} tensors)",
                    self.sg.tensors.len()
                ))
            })
    }

    fn add_buffer(
        &mut self,
        what: &str,
        dtype: TensorType,
        len: usize,
        data: Option<Buffer>,
    ) -> Result<usize> {
        Error::check_limit(
            &format!("{what} element count"),
            len as u64,
            limits::MAX_TENSOR_ELEMENTS,
        )?;
        let size = dtype.size().unwrap_or(8) as u64;
        self.buffer_bytes = self
            .buffer_bytes
            .saturating_add(size.saturating_mul(len as u64));
        Error::check_limit(
            "total tensor memory (bytes)",
            self.buffer_bytes,
            limits::MAX_ARENA_BYTES,
        )?;
        let buffer = match data {
            Some(b) => b,
            None => Buffer::zeros(dtype, len)
                .ok_or_else(|| unsupported(what, format!("tensors of type {dtype}")))?,
        };
        self.buffers.push(buffer);
        Ok(self.buffers.len() - 1)
    }

    /// The declared static shape of tensor `i`, refusing dynamic dimensions.
    fn declared_shape(&self, op: &str, i: usize) -> Result<Vec<usize>> {
        let t = &self.sg.tensors[i];
        if t.shape.iter().any(|&d| d < 0) {
            return Err(unsupported(
                op,
                format!("tensor {i} ({}) has a dynamic shape {:?}", t.name, t.shape),
            ));
        }
        Ok(t.shape.iter().map(|&d| d as usize).collect())
    }

    /// Make tensor `t` readable for `op`: a constant is materialized on first use.
    fn input(&mut self, op: &str, t: i32) -> Result<(usize, Avail)> {
        let i = self.tensor_index(op, t)?;
        if let Some(a) = self.avail[i] {
            return Ok((i, a));
        }
        let tensor = &self.sg.tensors[i];
        let Some(data) = self.model.tensor_data(tensor) else {
            return Err(invalid(format!(
                "{op} reads tensor {i} ({}), which is neither a constant, a graph input nor computed earlier",
                tensor.name
            )));
        };
        if tensor.is_variable {
            return Err(unsupported(op, format!("variable tensor {i}")));
        }
        let shape = self.declared_shape(op, i)?;
        let len = checked_len(&shape)
            .ok_or_else(|| invalid(format!("tensor {i}: shape {shape:?} overflows")))?;
        let dtype = tensor.dtype;
        let expected_bytes = dtype.size().and_then(|s| s.checked_mul(len));
        if expected_bytes != Some(data.len()) {
            return Err(invalid(format!(
                "constant tensor {i} ({}) of type {dtype} and shape {shape:?} has {} bytes of data",
                tensor.name,
                data.len()
            )));
        }
        let decoded = Buffer::from_le_bytes(dtype, data)
            .ok_or_else(|| unsupported(op, format!("constant tensors of type {dtype}")))?;
        let buffer = self.add_buffer(op, dtype, len, Some(decoded))?;
        let a = Avail {
            buffer,
            constant: true,
        };
        self.avail[i] = Some(a);
        self.infos[i].shape = shape;
        Ok((i, a))
    }

    /// An optional input (`-1` or absent).
    fn optional_input(
        &mut self,
        op: &str,
        inputs: &[i32],
        k: usize,
    ) -> Result<Option<(usize, Avail)>> {
        match inputs.get(k) {
            None | Some(-1) => Ok(None),
            Some(&t) => self.input(op, t).map(Some),
        }
    }

    fn required_input(&mut self, op: &str, inputs: &[i32], k: usize) -> Result<(usize, Avail)> {
        match inputs.get(k) {
            Some(&t) if t >= 0 => self.input(op, t),
            _ => Err(invalid(format!("{op}: input {k} is missing"))),
        }
    }

    fn shape(&self, i: usize) -> &[usize] {
        &self.infos[i].shape
    }

    fn dtype(&self, i: usize) -> TensorType {
        self.infos[i].dtype
    }

    /// Declare tensor `t` as the output of `op`, with `shape`; allocates its buffer.
    fn output(&mut self, op: &str, t: i32, shape: Vec<usize>) -> Result<usize> {
        let i = self.check_output(op, t)?;
        let len = checked_len(&shape)
            .ok_or_else(|| invalid(format!("{op}: output shape {shape:?} overflows")))?;
        let dtype = self.dtype(i);
        let buffer = self.add_buffer(op, dtype, len, None)?;
        self.avail[i] = Some(Avail {
            buffer,
            constant: false,
        });
        self.infos[i].shape = shape;
        Ok(buffer)
    }

    /// Declare `t` as sharing the buffer of an input (RESHAPE).
    fn alias_output(&mut self, op: &str, t: i32, input: Avail, shape: Vec<usize>) -> Result<()> {
        let i = self.check_output(op, t)?;
        self.avail[i] = Some(input);
        self.infos[i].shape = shape;
        Ok(())
    }

    fn check_output(&self, op: &str, t: i32) -> Result<usize> {
        let i = self.tensor_index(op, t)?;
        let tensor = &self.sg.tensors[i];
        if self.avail[i].is_some() {
            return Err(invalid(format!(
                "{op} writes tensor {i} ({}), which is already written or a graph input",
                tensor.name
            )));
        }
        if self.model.tensor_data(tensor).is_some() {
            return Err(invalid(format!(
                "{op} writes tensor {i} ({}), which is a constant",
                tensor.name
            )));
        }
        if tensor.is_variable {
            return Err(unsupported(op, format!("variable tensor {i}")));
        }
        Ok(i)
    }

    fn single_output(&self, op: &str, o: &Operator) -> Result<i32> {
        match o.outputs.as_slice() {
            [t] => Ok(*t),
            other => Err(invalid(format!(
                "{op} has {} outputs, expected 1",
                other.len()
            ))),
        }
    }

    fn expect_dtype(&self, op: &str, i: usize, what: &str, want: TensorType) -> Result<()> {
        let got = self.dtype(i);
        if got == want {
            Ok(())
        } else {
            Err(unsupported(
                op,
                format!("{what} of type {got} (expected {want})"),
            ))
        }
    }

    /// Per-tensor (scale, zero point) of an activation tensor, validated.
    fn activation_quant(&self, op: &str, i: usize, what: &str) -> Result<(f32, i32)> {
        let dtype = self.dtype(i);
        match &self.quant[i] {
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
    fn weight_quant(
        &self,
        op: &str,
        i: usize,
        axis: usize,
        count: usize,
    ) -> Result<(Vec<f32>, Vec<i64>, bool)> {
        let (scales, zps, per_axis) = match &self.quant[i] {
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
        Ok((scales, zps, per_axis))
    }

    fn const_data<T: Element>(&self, op: &str, a: Avail, what: &str) -> Result<Vec<T>> {
        if !a.constant {
            return Err(unsupported(
                op,
                format!("a {what} computed at run time (only constant {what}s are supported)"),
            ));
        }
        self.buffers
            .get(a.buffer)
            .and_then(T::slice)
            .map(<[T]>::to_vec)
            .ok_or_else(|| {
                unsupported(
                    op,
                    format!(
                        "{what} of type {}",
                        self.buffers
                            .get(a.buffer)
                            .map_or(TensorType::String, Buffer::dtype)
                    ),
                )
            })
    }

    /// Whether the operator reading tensor `t` (the first one that does) is a MAX_POOL_2D taking it as
    /// its input.
    fn read_by_max_pool(&self, t: i32) -> bool {
        self.sg
            .operators
            .iter()
            .find(|o| o.inputs.contains(&t))
            .is_some_and(|o| o.code == op::MAX_POOL_2D && o.inputs.first() == Some(&t))
    }

    fn add_work(&mut self, op: &str, w: u64) -> Result<()> {
        self.work = self.work.saturating_add(w);
        Error::check_limit(
            &format!("work up to {op} (multiply-accumulates per invoke)"),
            self.work,
            limits::MAX_WORK,
        )
    }

    /// Queue a step, or run it now if all of its inputs are known (constant folding).
    fn push(&mut self, mut step: Step, foldable: bool, out_tensor: usize) -> Result<()> {
        if foldable {
            step.run(&mut self.buffers)?;
            if let Some(a) = self.avail[out_tensor].as_mut() {
                a.constant = true;
            }
        } else {
            self.steps.push(step);
        }
        Ok(())
    }

    // ---- operators -----------------------------------------------------------------------------

    fn operator(&mut self, index: usize, o: &Operator) -> Result<()> {
        let name = crate::tflite::schema::op_name(o.code);
        let op = name.as_str();
        let result = match o.code {
            op::CONV_2D => self.conv2d(op, o),
            op::DEPTHWISE_CONV_2D => self.depthwise_conv2d(op, o),
            op::FULLY_CONNECTED => self.fully_connected(op, o),
            op::MAX_POOL_2D | op::AVERAGE_POOL_2D => self.pool2d(op, o, o.code == op::MAX_POOL_2D),
            op::RESHAPE => self.reshape(op, o),
            op::SHAPE => self.shape_op(op, o),
            op::STRIDED_SLICE => self.strided_slice(op, o),
            op::PACK => self.pack(op, o),
            op::QUANTIZE => self.quantize(op, o),
            op::DEQUANTIZE => self.dequantize(op, o),
            op::SOFTMAX => self.softmax(op, o),
            code => {
                let name = match (code, &o.custom_code) {
                    (op::CUSTOM, Some(c)) => format!("CUSTOM ({c})"),
                    _ => name.clone(),
                };
                return Err(Error::UnsupportedOp {
                    name,
                    code,
                    supported: SUPPORTED_OPS,
                });
            }
        };
        result.map_err(|e| match e {
            Error::InvalidModel(m) => Error::InvalidModel(format!("operator {index}: {m}")),
            other => other,
        })
    }

    fn conv2d(&mut self, op: &str, o: &Operator) -> Result<()> {
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
                    let step = Step::Conv2dF32Optimized {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        patch,
                    };
                    return self.push(step, foldable, out_i);
                }
                match (self.config.fast_kernels() && !self.config.tf_calibrator())
                    .then(|| ConvF32Fast::new(&shape, &filter, bias.as_deref(), act))
                    .flatten()
                {
                    Some((kernel, scratch)) => {
                        let step = Step::Conv2dF32Fast {
                            input: xa.buffer,
                            output,
                            kernel: Box::new(kernel),
                            scratch,
                        };
                        // Defer it if its only reader is a MAX_POOL_2D: the pool may fuse it.
                        if !foldable
                            && self.config.fusion()
                            && self.uses[out_i] == 1
                            && self.read_by_max_pool(out_t)
                        {
                            self.pending_conv.push((out_i, step));
                            return Ok(());
                        }
                        step
                    }
                    None => Step::Conv2dF32 {
                        input: xa.buffer,
                        output,
                        shape,
                        filter,
                        bias,
                        act,
                    },
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
                    Some((kernel, scratch)) => {
                        let step = Step::Conv2dI8Fast {
                            input: xa.buffer,
                            output,
                            kernel: Box::new(kernel),
                            scratch,
                        };
                        // Defer it if its only reader is a MAX_POOL_2D: the pool may fuse it.
                        if !foldable
                            && self.config.fusion()
                            && self.uses[out_i] == 1
                            && self.read_by_max_pool(out_t)
                        {
                            self.pending_conv.push((out_i, step));
                            return Ok(());
                        }
                        step
                    }
                    None => Step::Conv2dI8 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        filter,
                        bias,
                    },
                }
            }
            (TensorType::Float32, TensorType::Int8, TensorType::Float32) => {
                let filter = self.const_data::<i8>(op, fa, "filter")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let (scales, _, _) = self.weight_quant(op, fi, 0, oc)?;
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
                Step::Conv2dHybrid {
                    input: xa.buffer,
                    output,
                    shape,
                    filter,
                    filter_scale: per_channel.then_some(scales),
                    scale,
                    bias,
                    act,
                    scratch,
                }
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

    /// Per-channel requantization for CONV_2D / DEPTHWISE_CONV_2D (`PopulateConvolutionQuantizationParams`):
    /// `M[c] = (double)s_in · (double)s_w[c] / (double)s_out`; weights must have zero point 0.
    #[allow(clippy::too_many_arguments)]
    fn channel_quant(
        &self,
        op: &str,
        xi: usize,
        fi: usize,
        out_i: usize,
        axis: usize,
        count: usize,
        act: Activation,
    ) -> Result<ChannelQuant> {
        let (s_in, zp_in) = self.activation_quant(op, xi, "input")?;
        let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
        let (scales, zps, _) = self.weight_quant(op, fi, axis, count)?;
        if zps.iter().any(|&z| z != 0) {
            return Err(unsupported(op, "int8 weights with a non-zero zero point"));
        }
        let mut multiplier = Vec::with_capacity(count);
        let mut shift = Vec::with_capacity(count);
        for &s_w in &scales {
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
        let (act_min, act_max) = quantized_range(op, act, s_out, zp_out, (-128, 127))?;
        Ok(ChannelQuant {
            input_offset: -zp_in,
            output_offset: zp_out,
            multiplier,
            shift,
            act_min,
            act_max,
        })
    }

    fn depthwise_conv2d(&mut self, op: &str, o: &Operator) -> Result<()> {
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
                    Step::DepthwiseConv2dF32Optimized {
                        input: xa.buffer,
                        output,
                        shape,
                        filter,
                        bias,
                        act,
                    }
                } else if let Some((kernel, scratch)) = self
                    .config
                    .fast_kernels()
                    .then(|| DepthwiseFast::new_f32(&shape, &filter, bias.as_deref(), act))
                    .flatten()
                {
                    Step::DepthwiseConv2dF32Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    }
                } else {
                    Step::DepthwiseConv2dF32 {
                        input: xa.buffer,
                        output,
                        shape,
                        filter,
                        bias,
                        act,
                    }
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
                    Some((kernel, scratch)) => Step::DepthwiseConv2dI8Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    },
                    None => Step::DepthwiseConv2dI8 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        filter,
                        bias,
                    },
                }
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
                let (filter_scale, _, per_axis) = self.weight_quant(op, fi, 3, oc)?;
                if !per_axis && oc != 1 {
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
                Step::DepthwiseConv2dHybrid {
                    input: xa.buffer,
                    output,
                    shape,
                    filter,
                    filter_scale,
                    bias,
                    act,
                    scratch,
                }
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

    fn fully_connected(&mut self, op: &str, o: &Operator) -> Result<()> {
        let opts = match &o.options {
            Options::FullyConnected(f) => f.clone(),
            Options::None => Default::default(),
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if opts.weights_format != 0 {
            return Err(unsupported(
                op,
                format!("weights format {}", opts.weights_format),
            ));
        }
        if !(2..=3).contains(&o.inputs.len()) {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 2 or 3",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let (wi, wa) = self.required_input(op, &o.inputs, 1)?;
        let bias = self.optional_input(op, &o.inputs, 2)?;
        let (in_shape, w_shape) = (self.shape(xi).to_vec(), self.shape(wi).to_vec());
        let [units, depth] = w_shape[..] else {
            return Err(shape_mismatch(op, "2-D weights [units, depth]", &w_shape));
        };
        let in_len = checked_len(&in_shape).unwrap_or(usize::MAX);
        if depth == 0 || units == 0 || !in_len.is_multiple_of(depth) {
            return Err(shape_mismatch(
                op,
                format!("an input whose size is a multiple of the depth {depth}"),
                &in_shape,
            ));
        }
        let batches = in_len / depth;
        let out_shape = if opts.keep_num_dims {
            if in_shape.last() != Some(&depth) {
                return Err(shape_mismatch(
                    op,
                    format!("a last input dimension of {depth} (keep_num_dims)"),
                    &in_shape,
                ));
            }
            let mut s = in_shape.clone();
            if let Some(last) = s.last_mut() {
                *last = units;
            }
            s
        } else {
            vec![batches, units]
        };
        if let Some((bi, _)) = bias
            && checked_len(self.shape(bi)) != Some(units)
        {
            return Err(shape_mismatch(
                op,
                format!("a bias of {units} elements"),
                self.shape(bi),
            ));
        }
        let out_i = self.check_output(op, out_t)?;
        self.add_work(
            op,
            (batches as u64)
                .saturating_mul(units as u64)
                .saturating_mul(depth as u64),
        )?;
        let shape = FcShape {
            batches,
            depth,
            units,
        };
        let foldable = xa.constant;
        let step = match (self.dtype(xi), self.dtype(wi), self.dtype(out_i)) {
            (TensorType::Float32, TensorType::Float32, TensorType::Float32) => {
                let weights = self.const_data::<f32>(op, wa, "weights")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let act = float_range(op, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                if self.config.tf_calibrator() {
                    let step = Step::FullyConnectedF32Optimized {
                        input: xa.buffer,
                        output,
                        shape,
                        weights,
                        bias,
                        act,
                    };
                    return self.push(step, foldable, out_i);
                }
                match self
                    .config
                    .fast_kernels()
                    .then(|| FcF32Fast::new(shape, &weights, bias.as_deref(), act))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::FullyConnectedF32Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    },
                    None => Step::FullyConnectedF32 {
                        input: xa.buffer,
                        output,
                        shape,
                        weights,
                        bias,
                        act,
                    },
                }
            }
            (TensorType::Int8, TensorType::Int8, TensorType::Int8) => {
                let weights = self.const_data::<i8>(op, wa, "weights")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<i32>(op, ba, "bias"))
                    .transpose()?;
                let quant = self.fc_quant(op, xi, wi, out_i, units, opts.fused_activation)?;
                let output = self.output(op, out_t, out_shape)?;
                let fixed_point = self.config.options.fc_requant == FcRequant::FixedPoint;
                match self
                    .config
                    .fast_kernels()
                    .then(|| FcI8Fast::new(shape, &quant, &weights, bias.as_deref(), fixed_point))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::FullyConnectedI8Fast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    },
                    None => Step::FullyConnectedI8 {
                        input: xa.buffer,
                        output,
                        shape,
                        quant,
                        weights,
                        bias,
                        requant: self.config.options.fc_requant,
                    },
                }
            }
            (TensorType::Float32, TensorType::Int8, TensorType::Float32) => {
                let weights = self.const_data::<i8>(op, wa, "weights")?;
                let bias = bias
                    .map(|(_, ba)| self.const_data::<f32>(op, ba, "bias"))
                    .transpose()?;
                let (scales, _, per_axis) = self.weight_quant(op, wi, 0, units)?;
                let act = float_range(op, opts.fused_activation)?;
                let row_sums = weights.chunks_exact(depth).map(litert_row_sum).collect();
                let hybrid = HybridWeights {
                    weights,
                    scale: scales[0],
                    per_channel_scale: per_axis.then_some(scales),
                    row_sums,
                    asymmetric: opts.asymmetric_quantize_inputs,
                };
                let output = self.output(op, out_t, out_shape)?;
                match self
                    .config
                    .fast_kernels()
                    .then(|| FcHybridFast::new(shape, &hybrid, bias.as_deref(), act))
                    .flatten()
                {
                    Some((kernel, scratch)) => Step::FullyConnectedHybridFast {
                        input: xa.buffer,
                        output,
                        kernel: Box::new(kernel),
                        scratch,
                    },
                    None => {
                        let scratch = HybridScratch::new(batches, in_len);
                        Step::FullyConnectedHybrid {
                            input: xa.buffer,
                            output,
                            shape,
                            weights: hybrid,
                            bias,
                            act,
                            scratch,
                        }
                    }
                }
            }
            other => {
                return Err(unsupported(
                    op,
                    format!("input/weights/output types {other:?}"),
                ));
            }
        };
        self.push(step, foldable, out_i)
    }

    /// FULLY_CONNECTED int8 requantization (both flavours; see `kernels::fully_connected`).
    fn fc_quant(
        &self,
        op: &str,
        xi: usize,
        wi: usize,
        out_i: usize,
        units: usize,
        act: Activation,
    ) -> Result<FcQuant> {
        let (s_in, zp_in) = self.activation_quant(op, xi, "input")?;
        let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
        let (scales, zps, per_axis) = self.weight_quant(op, wi, 0, units)?;
        let weights_offset = if per_axis {
            0
        } else {
            let z = zps[0];
            if !(-128..=127).contains(&z) {
                return Err(invalid(format!(
                    "{op}: weight zero point {z} outside the int8 range"
                )));
            }
            -(z as i32)
        };
        let mut effective_scale = Vec::with_capacity(units);
        let mut multiplier = Vec::with_capacity(units);
        let mut shift = Vec::with_capacity(units);
        for &s_w in &scales {
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
        let (act_min, act_max) = quantized_range(op, act, s_out, zp_out, (-128, 127))?;
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

    fn pool2d(&mut self, op: &str, o: &Operator, max: bool) -> Result<()> {
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
        // A deferred int8 convolution feeding this pool: fuse when this is an int8 max pool, else emit
        // the convolution now, before the pool.
        if let Some(pos) = self.pending_conv.iter().position(|(t, _)| *t == xi) {
            let (_, conv) = self.pending_conv.remove(pos);
            let fusable_f32 = max
                && self.dtype(xi) == TensorType::Float32
                && self.dtype(out_i) == TensorType::Float32;
            let fusable =
                max && self.dtype(xi) == TensorType::Int8 && self.dtype(out_i) == TensorType::Int8;
            match conv {
                Step::Conv2dF32Fast {
                    input,
                    kernel,
                    mut scratch,
                    ..
                } if fusable_f32 => {
                    scratch.for_pool(&kernel.conv, &window);
                    let pool_act = float_range(op, opts.fused_activation)?;
                    self.add_work(op, checked_len(&out_shape).unwrap_or(usize::MAX) as u64)?;
                    let output = self.output(op, out_t, out_shape)?;
                    self.steps.push(Step::Conv2dF32MaxPoolFast {
                        input,
                        output,
                        kernel,
                        pool: window,
                        pool_act,
                        scratch,
                    });
                    return Ok(());
                }
                Step::Conv2dI8Fast {
                    input,
                    kernel,
                    mut scratch,
                    ..
                } if fusable => {
                    scratch.for_pool(&kernel.conv, &window);
                    self.activation_quant(op, xi, "input")?;
                    let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
                    let pool_act =
                        quantized_range(op, opts.fused_activation, s_out, zp_out, (-128, 127))?;
                    self.add_work(op, checked_len(&out_shape).unwrap_or(usize::MAX) as u64)?;
                    let output = self.output(op, out_t, out_shape)?;
                    self.steps.push(Step::Conv2dI8MaxPoolFast {
                        input,
                        output,
                        kernel,
                        pool: window,
                        pool_act,
                        scratch,
                    });
                    return Ok(());
                }
                other => self.steps.push(other),
            }
        }
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
                    (true, true) => Step::MaxPool2dF32Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                    (true, false) => Step::MaxPool2dF32 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                    (false, true) => Step::AveragePool2dF32Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                    (false, false) => Step::AveragePool2dF32 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                }
            }
            (TensorType::Int8, TensorType::Int8) => {
                // No rescaling: TFLite assumes output and input share (scale, zero point).
                self.activation_quant(op, xi, "input")?;
                let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
                let act = quantized_range(op, opts.fused_activation, s_out, zp_out, (-128, 127))?;
                let output = self.output(op, out_t, out_shape)?;
                match (max, fast) {
                    (true, true) => Step::MaxPool2dI8Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                    (true, false) => Step::MaxPool2dI8 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                    (false, true) => Step::AveragePool2dI8Fast {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                        sums: vec![0; c],
                    },
                    (false, false) => Step::AveragePool2dI8 {
                        input: xa.buffer,
                        output,
                        window,
                        channels: c,
                        act,
                    },
                }
            }
            other => return Err(unsupported(op, format!("input/output types {other:?}"))),
        };
        self.push(step, foldable, out_i)
    }

    fn reshape(&mut self, op: &str, o: &Operator) -> Result<()> {
        if !(1..=2).contains(&o.inputs.len()) {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1 or 2",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape_input = self.optional_input(op, &o.inputs, 1)?;
        // The shape comes from input 1 if it is a 1-D int32 tensor, else from the options.
        let new_shape: Vec<i32> = match shape_input {
            Some((si, sa)) if self.dtype(si) == TensorType::Int32 && self.shape(si).len() == 1 => {
                self.const_data::<i32>(op, sa, "shape")?
            }
            _ => match &o.options {
                Options::Reshape { new_shape } if new_shape.len() == 1 && new_shape[0] == 0 => {
                    Vec::new()
                }
                Options::Reshape { new_shape } => new_shape.clone(),
                _ => {
                    return Err(invalid(format!(
                        "{op} has neither a 1-D int32 shape input nor ReshapeOptions"
                    )));
                }
            },
        };
        let in_len = checked_len(self.shape(xi)).unwrap_or(usize::MAX);
        let out_shape = reshape_output_shape(in_len, &new_shape)?;
        let out_i = self.check_output(op, out_t)?;
        if self.dtype(out_i) != self.dtype(xi) {
            return Err(unsupported(
                op,
                format!(
                    "output type {} differs from input type {}",
                    self.dtype(out_i),
                    self.dtype(xi)
                ),
            ));
        }
        // Same data, new shape: share the buffer.
        self.alias_output(op, out_t, xa, out_shape)
    }

    fn shape_op(&mut self, op: &str, o: &Operator) -> Result<()> {
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, _) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let out_i = self.check_output(op, out_t)?;
        if !matches!(self.dtype(out_i), TensorType::Int32 | TensorType::Int64) {
            return Err(unsupported(
                op,
                format!("output type {}", self.dtype(out_i)),
            ));
        }
        let output = self.output(op, out_t, vec![shape.len()])?;
        // Shapes are static, so SHAPE is always folded.
        self.push(Step::Shape { output, shape }, true, out_i)
    }

    fn strided_slice(&mut self, op: &str, o: &Operator) -> Result<()> {
        let opts = match &o.options {
            Options::StridedSlice(s) => s.clone(),
            Options::None => Default::default(),
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if opts.offset {
            return Err(unsupported(op, "offset = true"));
        }
        if o.inputs.len() != 4 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 4",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let mut idx = Vec::with_capacity(3);
        for (k, what) in [(1, "begin"), (2, "end"), (3, "strides")] {
            let (ti, ta) = self.required_input(op, &o.inputs, k)?;
            self.expect_dtype(op, ti, what, TensorType::Int32)?;
            if self.shape(ti).len() != 1 {
                return Err(shape_mismatch(op, format!("a 1-D {what}"), self.shape(ti)));
            }
            idx.push(self.const_data::<i32>(op, ta, what)?);
        }
        let spec = StridedSliceSpec {
            begin: idx[0].clone(),
            end: idx[1].clone(),
            strides: idx[2].clone(),
            begin_mask: opts.begin_mask as u32,
            end_mask: opts.end_mask as u32,
            ellipsis_mask: opts.ellipsis_mask as u32,
            new_axis_mask: opts.new_axis_mask as u32,
            shrink_axis_mask: opts.shrink_axis_mask as u32,
        };
        let plan = StridedSlicePlan::new(&spec, self.shape(xi))?;
        let out_i = self.check_output(op, out_t)?;
        if self.dtype(out_i) != self.dtype(xi) {
            return Err(unsupported(
                op,
                format!(
                    "output type {} differs from input type {}",
                    self.dtype(out_i),
                    self.dtype(xi)
                ),
            ));
        }
        self.add_work(op, plan.output_len() as u64)?;
        let output = self.output(op, out_t, plan.output_shape.clone())?;
        self.push(
            Step::StridedSlice {
                input: xa.buffer,
                output,
                plan,
            },
            xa.constant,
            out_i,
        )
    }

    fn pack(&mut self, op: &str, o: &Operator) -> Result<()> {
        let (values_count, axis) = match &o.options {
            Options::Pack { values_count, axis } => (*values_count, *axis),
            Options::None => (o.inputs.len() as i32, 0),
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if o.inputs.is_empty() || values_count as i64 != o.inputs.len() as i64 {
            return Err(invalid(format!(
                "{op}: values_count {values_count} but {} inputs",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let mut inputs = Vec::with_capacity(o.inputs.len());
        let mut all_constant = true;
        let (first, _) = self.required_input(op, &o.inputs, 0)?;
        let (shape, dtype) = (self.shape(first).to_vec(), self.dtype(first));
        for k in 0..o.inputs.len() {
            let (i, a) = self.required_input(op, &o.inputs, k)?;
            if self.shape(i) != shape.as_slice() || self.dtype(i) != dtype {
                return Err(shape_mismatch(
                    op,
                    format!("inputs of one shape {shape:?} and type {dtype}"),
                    self.shape(i),
                ));
            }
            all_constant &= a.constant;
            inputs.push(a.buffer);
        }
        let rank = shape.len() as i64;
        let axis = if axis < 0 {
            axis as i64 + rank + 1
        } else {
            axis as i64
        };
        if !(0..=rank).contains(&axis) {
            return Err(invalid(format!(
                "{op}: axis {axis} out of range for rank {rank}"
            )));
        }
        let axis = axis as usize;
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis..].iter().product();
        let out_shape = pack_output_shape(&shape, inputs.len(), axis);
        let out_i = self.check_output(op, out_t)?;
        if self.dtype(out_i) != dtype {
            return Err(unsupported(
                op,
                format!(
                    "output type {} differs from input type {dtype}",
                    self.dtype(out_i)
                ),
            ));
        }
        self.add_work(op, checked_len(&out_shape).unwrap_or(usize::MAX) as u64)?;
        let output = self.output(op, out_t, out_shape)?;
        self.push(
            Step::Pack {
                inputs,
                output,
                outer,
                inner,
            },
            all_constant,
            out_i,
        )
    }

    fn quantize(&mut self, op: &str, o: &Operator) -> Result<()> {
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let out_i = self.check_output(op, out_t)?;
        let out_type = self.dtype(out_i);
        if type_range(out_type).is_none() {
            return Err(unsupported(op, format!("output type {out_type}")));
        }
        let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
        self.add_work(op, checked_len(&shape).unwrap_or(usize::MAX) as u64)?;
        let step = match self.dtype(xi) {
            TensorType::Float32 => {
                let output = self.output(op, out_t, shape)?;
                Step::Quantize {
                    input: xa.buffer,
                    output,
                    scale: s_out,
                    zero_point: zp_out,
                }
            }
            TensorType::Int8 | TensorType::UInt8 => {
                let (s_in, zp_in) = self.activation_quant(op, xi, "input")?;
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
                let output = self.output(op, out_t, shape)?;
                Step::Requantize {
                    input: xa.buffer,
                    output,
                    multiplier,
                    shift,
                    input_zero_point: zp_in,
                    output_zero_point: zp_out,
                }
            }
            other => return Err(unsupported(op, format!("input type {other}"))),
        };
        self.push(step, xa.constant, out_i)
    }

    fn dequantize(&mut self, op: &str, o: &Operator) -> Result<()> {
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let out_i = self.check_output(op, out_t)?;
        self.expect_dtype(op, out_i, "output", TensorType::Float32)?;
        if type_range(self.dtype(xi)).is_none() {
            return Err(unsupported(op, format!("input type {}", self.dtype(xi))));
        }
        let (scale, zero_point) = self.activation_quant(op, xi, "input")?;
        self.add_work(op, checked_len(&shape).unwrap_or(usize::MAX) as u64)?;
        let output = self.output(op, out_t, shape)?;
        self.push(
            Step::Dequantize {
                input: xa.buffer,
                output,
                scale,
                zero_point,
            },
            xa.constant,
            out_i,
        )
    }

    fn softmax(&mut self, op: &str, o: &Operator) -> Result<()> {
        let beta = match &o.options {
            Options::Softmax { beta } => *beta,
            Options::None => 0.0,
            _ => return Err(invalid(format!("{op} with options of another operator"))),
        };
        if o.inputs.len() != 1 {
            return Err(invalid(format!(
                "{op} has {} inputs, expected 1",
                o.inputs.len()
            )));
        }
        let out_t = self.single_output(op, o)?;
        let (xi, xa) = self.required_input(op, &o.inputs, 0)?;
        let shape = self.shape(xi).to_vec();
        let Some(&depth) = shape.last() else {
            return Err(shape_mismatch(op, "an input of rank ≥ 1", &shape));
        };
        let out_i = self.check_output(op, out_t)?;
        self.add_work(op, checked_len(&shape).unwrap_or(usize::MAX) as u64)?;
        let step = match (self.dtype(xi), self.dtype(out_i)) {
            (TensorType::Float32, TensorType::Float32) => {
                if !beta.is_finite() {
                    return Err(invalid(format!("{op}: beta {beta}")));
                }
                let output = self.output(op, out_t, shape)?;
                if self.config.tf_calibrator() {
                    Step::SoftmaxF32Optimized {
                        input: xa.buffer,
                        output,
                        depth,
                        beta,
                    }
                } else {
                    Step::SoftmaxF32 {
                        input: xa.buffer,
                        output,
                        depth,
                        beta,
                    }
                }
            }
            (TensorType::Int8, TensorType::Int8) => {
                let (s_in, _) = self.activation_quant(op, xi, "input")?;
                let (s_out, zp_out) = self.activation_quant(op, out_i, "output")?;
                // SoftmaxPrepare: zero point −128 and scale 1/256 (±0.1 %).
                if zp_out != -128 || (s_out - 1.0 / 256.0).abs() > 0.001 / 256.0 {
                    return Err(unsupported(
                        op,
                        format!(
                            "int8 output scale {s_out} / zero point {zp_out} (must be 1/256, −128)"
                        ),
                    ));
                }
                let quant = SoftmaxQuant::new(beta, s_in)?;
                let output = self.output(op, out_t, shape)?;
                Step::SoftmaxI8 {
                    input: xa.buffer,
                    output,
                    depth,
                    quant,
                }
            }
            (TensorType::UInt8, TensorType::UInt8) => {
                let (s_in, _) = self.activation_quant(op, xi, "input")?;
                let quant = SoftmaxQuant::new(beta, s_in)?;
                let output = self.output(op, out_t, shape)?;
                Step::SoftmaxU8 {
                    input: xa.buffer,
                    output,
                    depth,
                    quant,
                }
            }
            other => return Err(unsupported(op, format!("input/output types {other:?}"))),
        };
        self.push(step, xa.constant, out_i)
    }
}

fn as4(shape: &[usize]) -> Option<[usize; 4]> {
    shape.try_into().ok()
}

fn positive(op: &str, what: &str, v: i32) -> Result<usize> {
    if v > 0 {
        Ok(v as usize)
    } else {
        Err(invalid(format!("{op}: {what} {v} must be positive")))
    }
}

/// Product of the dimensions, if it does not overflow.
pub(crate) fn checked_len(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Plan subgraph 0 of `model`.
pub(crate) fn plan(model: &Model, config: PlanConfig) -> Result<Plan> {
    let mut p = Planner::new(model, config)?;
    let sg = p.sg;

    // Graph inputs get zeroed buffers of their declared shape.
    let mut input_buffers = Vec::with_capacity(sg.inputs.len());
    for &t in &sg.inputs {
        let i = p.tensor_index("graph input", t)?;
        if let Some(a) = p.avail[i] {
            input_buffers.push(a.buffer);
            continue;
        }
        let shape = p.declared_shape("graph input", i)?;
        let len = checked_len(&shape)
            .ok_or_else(|| invalid(format!("graph input {i}: shape {shape:?} overflows")))?;
        let dtype = p.dtype(i);
        let buffer = p.add_buffer("graph input", dtype, len, None)?;
        p.avail[i] = Some(Avail {
            buffer,
            constant: false,
        });
        p.infos[i].shape = shape;
        input_buffers.push(buffer);
    }

    for (index, o) in sg.operators.iter().enumerate() {
        p.operator(index, o)?;
    }
    // Deferred convolutions whose pool never claimed them (cannot happen for valid graphs: their one
    // reader is a pool): run them last.
    for (_, step) in std::mem::take(&mut p.pending_conv) {
        p.steps.push(step);
    }

    let mut output_buffers = Vec::with_capacity(sg.outputs.len());
    for &t in &sg.outputs {
        let (i, a) = p.input("graph output", t)?;
        let _ = i;
        output_buffers.push(a.buffer);
    }

    let info = |p: &Planner, list: &[i32]| -> Vec<TensorInfo> {
        list.iter()
            .filter_map(|&t| usize::try_from(t).ok())
            .filter_map(|i| p.infos.get(i).cloned())
            .collect()
    };
    let inputs = info(&p, &sg.inputs);
    let outputs = info(&p, &sg.outputs);
    let tensors = p
        .infos
        .iter()
        .cloned()
        .zip(p.avail.iter().map(|a| a.map(|a| a.buffer)))
        .collect();
    Ok(Plan {
        tensors,
        buffers: p.buffers,
        steps: p.steps,
        inputs,
        outputs,
        input_buffers,
        output_buffers,
        work: p.work,
    })
}
