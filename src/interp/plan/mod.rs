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
//!
//! This file walks the graph and keeps what every operator shares: tensor bookkeeping and validation,
//! constant folding and the work count. Each operator family plans in its own file (`conv`,
//! `fully_connected`, `pool`, `softmax`, `quant_ops`, `shape_ops`), the quantization maths is in
//! `quant`, and `fusion` rewrites the finished step list.

mod conv;
mod fully_connected;
mod fusion;
mod pool;
mod quant;
mod quant_ops;
mod shape_ops;
mod softmax;

use crate::error::{Error, Result};
use crate::interp::limits;
use crate::interp::options::PlanConfig;
use crate::interp::step::Step;
use crate::interp::tensor::{Buffer, Element, TensorInfo};
use crate::tflite::schema::op;
use crate::tflite::{Model, Operator, Subgraph, TensorType};
use quant::{Quant, parse_quant};

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

/// A tensor that can be read: its buffer and whether its value is known at plan time.
#[derive(Clone, Copy, Debug)]
struct Avail {
    buffer: usize,
    constant: bool,
}

struct Planner<'m> {
    model: &'m Model,
    sg: &'m Subgraph,
    infos: Vec<TensorInfo>,
    quant: Vec<Quant>,
    avail: Vec<Option<Avail>>,
    buffers: Vec<Buffer>,
    buffer_bytes: u64,
    work: u64,
    steps: Vec<Planned>,
    config: PlanConfig,
    /// How many operator inputs and graph outputs read each tensor.
    uses: Vec<usize>,
    /// The operator being planned.
    operator: usize,
}

/// A step and the operator it runs, for the passes over the finished step list.
#[derive(Clone, Debug)]
struct Planned {
    operator: usize,
    step: Step,
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
            operator: 0,
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
            self.steps.push(Planned {
                operator: self.operator,
                step,
            });
        }
        Ok(())
    }

    // ---- operators -----------------------------------------------------------------------------

    fn operator(&mut self, index: usize, o: &Operator) -> Result<()> {
        self.operator = index;
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
    if p.config.fusion() {
        let steps = std::mem::take(&mut p.steps);
        p.steps = fusion::fuse_conv_max_pool(sg, &p.uses, steps, &mut p.work)?;
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
        steps: p.steps.into_iter().map(|p| p.step).collect(),
        inputs,
        outputs,
        input_buffers,
        output_buffers,
        work: p.work,
    })
}
