//! The interpreter: plan once, then `invoke` as often as needed.
//!
//! ```text
//! let mut it = Interpreter::new(&model)?;          // validate, infer shapes, fold, precompute
//! it.input_mut::<u8>(0)?.copy_from_slice(&pixels); // or set_input_bytes
//! it.invoke()?;                                    // runs the planned steps; allocates nothing
//! let logits = it.output::<u8>(0)?;                // or output_bytes / output_dequantized
//! ```

use crate::error::{Error, Result};
use crate::interp::options::{FcRequant, FloatArithmetic, InterpreterOptions, PlanConfig};
use crate::interp::plan::{Plan, plan};
use crate::interp::step::Step;
use crate::interp::tensor::{Buffer, Element, TensorInfo};
use crate::tflite::{Model, TensorType};

/// Runs subgraph 0 of a model with TFLite's reference arithmetic.
#[derive(Clone, Debug)]
pub struct Interpreter {
    /// Per model tensor: description and buffer (if the plan holds it).
    tensors: Vec<(TensorInfo, Option<usize>)>,
    buffers: Vec<Buffer>,
    steps: Vec<Step>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    input_buffers: Vec<usize>,
    output_buffers: Vec<usize>,
    options: InterpreterOptions,
    work: u64,
}

fn bad_arg(what: String) -> Error {
    Error::InvalidArgument(what)
}

impl Interpreter {
    /// Plan subgraph 0 of `model` with default options.
    pub fn new(model: &Model) -> Result<Interpreter> {
        Interpreter::with_options(model, InterpreterOptions::default())
    }

    /// Plan subgraph 0 of `model`.
    pub fn with_options(model: &Model, options: InterpreterOptions) -> Result<Interpreter> {
        Interpreter::from_config(
            model,
            PlanConfig {
                options,
                reference_only: false,
            },
        )
    }

    /// [`Interpreter::with_options`] with `options.fc_requant` set to `requant`:
    /// [`FcRequant::Double`] is TF/LiteRT ≥ 2.20's reference kernel (the default);
    /// [`FcRequant::FixedPoint`] reproduces tflite-micro and TF ≤ 2.19.
    pub fn with_fc_requant(
        model: &Model,
        options: InterpreterOptions,
        requant: FcRequant,
    ) -> Result<Interpreter> {
        let options = InterpreterOptions {
            fc_requant: requant,
            ..options
        };
        Interpreter::with_options(model, options)
    }

    /// Plan with the naive reference kernels only: no fast kernels, no fusion, every tensor kept. Same
    /// results as [`Interpreter::new`], much slower; the oracle for testing the fast paths.
    pub fn reference(model: &Model) -> Result<Interpreter> {
        let options = InterpreterOptions {
            preserve_all_tensors: true,
            float_arithmetic: FloatArithmetic::Reference,
            fc_requant: FcRequant::Double,
        };
        Interpreter::from_config(
            model,
            PlanConfig {
                options,
                reference_only: true,
            },
        )
    }

    fn from_config(model: &Model, config: PlanConfig) -> Result<Interpreter> {
        let Plan {
            tensors,
            buffers,
            steps,
            inputs,
            outputs,
            input_buffers,
            output_buffers,
            work,
        } = plan(model, config)?;
        Ok(Interpreter {
            tensors,
            buffers,
            steps,
            inputs,
            outputs,
            input_buffers,
            output_buffers,
            options: config.options,
            work,
        })
    }

    /// The graph inputs, like LiteRT's `get_input_details()`.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The graph outputs, like LiteRT's `get_output_details()`.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    pub fn options(&self) -> InterpreterOptions {
        self.options
    }

    /// Number of tensors in subgraph 0.
    pub fn num_tensors(&self) -> usize {
        self.tensors.len()
    }

    /// Description of tensor `index` (shape as planned).
    pub fn tensor_info(&self, index: usize) -> Option<&TensorInfo> {
        self.tensors.get(index).map(|(info, _)| info)
    }

    /// The work the plan counted against [`limits::MAX_WORK`](crate::interp::limits::MAX_WORK):
    /// multiply-accumulates or element operations, constant folding included. An upper estimate of
    /// one invoke's cost.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Number of operators left to run at invoke time (after constant folding).
    pub fn num_steps(&self) -> usize {
        self.steps.len()
    }

    fn typed<T: Element>(&self, buffer: usize, what: &str) -> Result<&[T]> {
        let b = self
            .buffers
            .get(buffer)
            .ok_or_else(|| bad_arg(format!("{what} has no data")))?;
        T::slice(b).ok_or_else(|| bad_arg(format!("{what} is {}, not {}", b.dtype(), T::DTYPE)))
    }

    fn input_buffer(&self, i: usize) -> Result<usize> {
        self.input_buffers.get(i).copied().ok_or_else(|| {
            bad_arg(format!(
                "input {i} does not exist (the model has {})",
                self.input_buffers.len()
            ))
        })
    }

    fn output_buffer(&self, i: usize) -> Result<usize> {
        self.output_buffers.get(i).copied().ok_or_else(|| {
            bad_arg(format!(
                "output {i} does not exist (the model has {})",
                self.output_buffers.len()
            ))
        })
    }

    /// Input `i` as a mutable typed slice (`T` must be the input's type).
    pub fn input_mut<T: Element>(&mut self, i: usize) -> Result<&mut [T]> {
        let buffer = self.input_buffer(i)?;
        let b = self
            .buffers
            .get_mut(buffer)
            .ok_or_else(|| bad_arg(format!("input {i} has no data")))?;
        let dtype = b.dtype();
        T::slice_mut(b).ok_or_else(|| bad_arg(format!("input {i} is {dtype}, not {}", T::DTYPE)))
    }

    /// Input `i` as a typed slice.
    pub fn input<T: Element>(&self, i: usize) -> Result<&[T]> {
        self.typed(self.input_buffer(i)?, &format!("input {i}"))
    }

    /// Copy `data` into input `i` (exactly as many elements as the input has).
    pub fn set_input<T: Element>(&mut self, i: usize, data: &[T]) -> Result<()> {
        let dst = self.input_mut::<T>(i)?;
        if dst.len() != data.len() {
            return Err(bad_arg(format!(
                "input {i} has {} elements, got {}",
                dst.len(),
                data.len()
            )));
        }
        dst.copy_from_slice(data);
        Ok(())
    }

    /// Set input `i` from little-endian bytes of its type.
    pub fn set_input_bytes(&mut self, i: usize, bytes: &[u8]) -> Result<()> {
        let buffer = self.input_buffer(i)?;
        let b = self
            .buffers
            .get_mut(buffer)
            .ok_or_else(|| bad_arg(format!("input {i} has no data")))?;
        let expected = b.len() * b.dtype().size().unwrap_or(1);
        if b.copy_from_le_bytes(bytes) {
            Ok(())
        } else {
            Err(bad_arg(format!(
                "input {i} takes {expected} bytes, got {}",
                bytes.len()
            )))
        }
    }

    /// Output `i` as a typed slice (`T` must be the output's type).
    pub fn output<T: Element>(&self, i: usize) -> Result<&[T]> {
        self.typed(self.output_buffer(i)?, &format!("output {i}"))
    }

    /// Output `i` of a float model.
    pub fn output_f32(&self, i: usize) -> Result<&[f32]> {
        self.output::<f32>(i)
    }

    /// Output `i` as little-endian bytes of its type (what LiteRT's `get_tensor` holds).
    pub fn output_bytes(&self, i: usize) -> Result<Vec<u8>> {
        let buffer = self.output_buffer(i)?;
        Ok(self
            .buffers
            .get(buffer)
            .map(Buffer::to_le_bytes)
            .unwrap_or_default())
    }

    /// Output `i` as floats: float outputs as they are, int8/uint8 outputs dequantized with the output's
    /// (scale, zero point).
    pub fn output_dequantized(&self, i: usize) -> Result<Vec<f32>> {
        let info = self
            .outputs
            .get(i)
            .ok_or_else(|| bad_arg(format!("output {i} does not exist")))?;
        let (scale, zp) = (info.scale as f64, info.zero_point as f64);
        let buffer = self.output_buffer(i)?;
        Ok(match self.buffers.get(buffer) {
            Some(Buffer::F32(v)) => v.clone(),
            Some(Buffer::I8(v)) => v
                .iter()
                .map(|&q| (scale * (q as f64 - zp)) as f32)
                .collect(),
            Some(Buffer::U8(v)) => v
                .iter()
                .map(|&q| (scale * (q as f64 - zp)) as f32)
                .collect(),
            Some(Buffer::I16(v)) => v
                .iter()
                .map(|&q| (scale * (q as f64 - zp)) as f32)
                .collect(),
            Some(other) => {
                return Err(bad_arg(format!(
                    "output {i} is {}, not a float or quantized tensor",
                    other.dtype()
                )));
            }
            None => Vec::new(),
        })
    }

    /// Tensor `index` of subgraph 0 as a typed slice, after `invoke` (intermediate activations, constants
    /// and folded values alike). Tensors the plan never touched have no data.
    pub fn tensor<T: Element>(&self, index: usize) -> Result<&[T]> {
        let (info, buffer) = self.tensors.get(index).ok_or_else(|| {
            bad_arg(format!(
                "tensor {index} does not exist (the model has {})",
                self.tensors.len()
            ))
        })?;
        let buffer = buffer.ok_or_else(|| {
            bad_arg(format!(
                "tensor {index} ({}) is not used by the model",
                info.name
            ))
        })?;
        self.typed(buffer, &format!("tensor {index} ({})", info.name))
    }

    /// Tensor `index` as little-endian bytes of its type.
    pub fn tensor_bytes(&self, index: usize) -> Result<Vec<u8>> {
        let (info, buffer) = self.tensors.get(index).ok_or_else(|| {
            bad_arg(format!(
                "tensor {index} does not exist (the model has {})",
                self.tensors.len()
            ))
        })?;
        let buffer = buffer.ok_or_else(|| {
            bad_arg(format!(
                "tensor {index} ({}) is not used by the model",
                info.name
            ))
        })?;
        Ok(self
            .buffers
            .get(buffer)
            .map(Buffer::to_le_bytes)
            .unwrap_or_default())
    }

    /// Run the model on the current inputs. Allocates nothing.
    pub fn invoke(&mut self) -> Result<()> {
        for step in &mut self.steps {
            step.run(&mut self.buffers)?;
        }
        Ok(())
    }

    /// The element type of input `i` (shorthand for `inputs()[i].dtype`).
    pub fn input_type(&self, i: usize) -> Option<TensorType> {
        self.inputs.get(i).map(|t| t.dtype)
    }
}
