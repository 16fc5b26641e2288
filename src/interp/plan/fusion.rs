//! Conv+pool fusion, a pass over the finished step list: a fast CONV_2D (int8 or float32) whose only
//! reader is a MAX_POOL_2D of its type, taking it as input, becomes one fused step that writes the
//! pool's output and never the convolution's. The planner runs the pass only when intermediate tensors
//! need not be preserved.

use super::{Planned, checked_len};
use crate::error::{Error, Result};
use crate::interp::kernels::window::Window;
use crate::interp::step::{
    Conv2dF32Fast, Conv2dF32MaxPoolFast, Conv2dI8Fast, Conv2dI8MaxPoolFast, MaxPool2dF32,
    MaxPool2dF32Fast, MaxPool2dI8, MaxPool2dI8Fast, Step,
};
use crate::tflite::Subgraph;
use crate::tflite::schema::op;

/// Replace each fusable CONV_2D / MAX_POOL_2D pair of `steps` (in operator order) by its fused step, at
/// the pool's place. `uses` counts the operator inputs and graph outputs reading each tensor. A fused
/// pool counts one operation per output on top of the convolution's, not one per window tap: `work`
/// drops by the difference.
pub(super) fn fuse_conv_max_pool(
    sg: &Subgraph,
    uses: &[usize],
    steps: Vec<Planned>,
    work: &mut u64,
) -> Result<Vec<Planned>> {
    let mut step_of = vec![None; sg.operators.len()];
    for (position, planned) in steps.iter().enumerate() {
        if let Some(s) = step_of.get_mut(planned.operator) {
            *s = Some(position);
        }
    }
    let mut steps: Vec<Option<Planned>> = steps.into_iter().map(Some).collect();
    for c in 0..steps.len() {
        let Some(conv) = &steps[c] else { continue };
        let Some(p) = pool_reader(sg, uses, conv.operator)
            .and_then(|pool_op| step_of.get(pool_op).copied().flatten())
        else {
            continue;
        };
        let Some(pool) = &steps[p] else { continue };
        let Some(pool_parts) = max_pool(&conv.step, &pool.step) else {
            continue;
        };
        let (Some(conv), Some(pool)) = (steps[c].take(), steps[p].take()) else {
            continue;
        };
        *work = work.saturating_sub(pool_parts.extra_work());
        steps[p] = Some(Planned {
            operator: pool.operator,
            step: fuse(conv.step, pool_parts)?,
        });
    }
    Ok(steps.into_iter().flatten().collect())
}

/// The MAX_POOL_2D operator that is the only reader of operator `conv`'s output and takes it as its
/// input, if there is one.
fn pool_reader(sg: &Subgraph, uses: &[usize], conv: usize) -> Option<usize> {
    let &[t] = sg.operators.get(conv)?.outputs.as_slice() else {
        return None;
    };
    if uses.get(usize::try_from(t).ok()?) != Some(&1) {
        return None;
    }
    let reader = sg.operators.iter().position(|o| o.inputs.contains(&t))?;
    let o = &sg.operators[reader];
    (o.code == op::MAX_POOL_2D && o.inputs.first() == Some(&t)).then_some(reader)
}

/// What a fused step takes from the max pool it replaces.
struct PoolParts<R> {
    output: usize,
    window: Window,
    channels: usize,
    act: R,
}

/// The pool's parts for the fused kernel of the convolution's type.
enum MaxPool {
    I8(PoolParts<(i32, i32)>),
    F32(PoolParts<(f32, f32)>),
}

impl MaxPool {
    /// The work the planner counted for the pool's window taps beyond one per output.
    fn extra_work(&self) -> u64 {
        let (window, channels) = match self {
            MaxPool::I8(p) => (&p.window, p.channels),
            MaxPool::F32(p) => (&p.window, p.channels),
        };
        let outputs = checked_len(&[window.batches, window.out_h, window.out_w, channels])
            .unwrap_or(usize::MAX) as u64;
        outputs
            .saturating_mul((window.filter_h * window.filter_w) as u64)
            .saturating_sub(outputs)
    }
}

impl<R> PoolParts<R> {
    fn new(output: usize, window: &Window, channels: usize, act: R) -> PoolParts<R> {
        PoolParts {
            output,
            window: window.clone(),
            channels,
            act,
        }
    }
}

/// If `conv` is a fast convolution and `pool` a max pool (fast or reference) of the same type, the
/// parts of the pool its fused kernel needs.
fn max_pool(conv: &Step, pool: &Step) -> Option<MaxPool> {
    if conv.kernel::<Conv2dI8Fast>().is_some() {
        if let Some(p) = pool.kernel::<MaxPool2dI8Fast>() {
            return Some(MaxPool::I8(PoolParts::new(
                p.output, &p.window, p.channels, p.act,
            )));
        }
        if let Some(p) = pool.kernel::<MaxPool2dI8>() {
            return Some(MaxPool::I8(PoolParts::new(
                p.output, &p.window, p.channels, p.act,
            )));
        }
    }
    if conv.kernel::<Conv2dF32Fast>().is_some() {
        if let Some(p) = pool.kernel::<MaxPool2dF32Fast>() {
            return Some(MaxPool::F32(PoolParts::new(
                p.output, &p.window, p.channels, p.act,
            )));
        }
        if let Some(p) = pool.kernel::<MaxPool2dF32>() {
            return Some(MaxPool::F32(PoolParts::new(
                p.output, &p.window, p.channels, p.act,
            )));
        }
    }
    None
}

/// The fused step of convolution `conv` (which [`max_pool`] accepted) and the pool's parts.
fn fuse(conv: Step, pool: MaxPool) -> Result<Step> {
    let internal = || Error::InvalidModel("internal: a fused convolution changed type".into());
    Ok(match pool {
        MaxPool::I8(pool) => {
            let Conv2dI8Fast {
                input,
                kernel,
                mut scratch,
                ..
            } = conv.into_kernel().ok_or_else(internal)?;
            scratch.for_pool(&kernel.conv, &pool.window);
            Step::new(Conv2dI8MaxPoolFast {
                input,
                output: pool.output,
                kernel,
                pool: pool.window,
                pool_act: pool.act,
                scratch,
            })
        }
        MaxPool::F32(pool) => {
            let Conv2dF32Fast {
                input,
                kernel,
                mut scratch,
                ..
            } = conv.into_kernel().ok_or_else(internal)?;
            scratch.for_pool(&kernel.conv, &pool.window);
            Step::new(Conv2dF32MaxPoolFast {
                input,
                output: pool.output,
                kernel,
                pool: pool.window,
                pool_act: pool.act,
                scratch,
            })
        }
    })
}

// Builds without the `fusion` feature fuse nothing.
#[cfg(all(test, feature = "fusion"))]
mod tests {
    use super::super::plan;
    use crate::interp::Interpreter;
    use crate::interp::options::{InterpreterOptions, PlanConfig};
    use crate::tflite::schema::op;
    use crate::tflite::{
        Activation, Conv2DOptions, Model, Operator, Options, Padding, Pool2DOptions, Quantization,
        Subgraph, Tensor, TensorType,
    };

    /// Who reads the convolution's output besides the MAX_POOL_2D.
    #[derive(Clone, Copy, Debug)]
    enum Readers {
        PoolOnly,
        /// A second MAX_POOL_2D, whose output is a second graph output.
        SecondPool,
        /// The graph (the convolution's output is also a graph output).
        GraphOutput,
    }

    fn tensor(
        name: &str,
        dtype: TensorType,
        shape: &[i32],
        buffer: u32,
        q: Option<Quantization>,
    ) -> Tensor {
        Tensor {
            name: name.into(),
            dtype,
            shape: shape.to_vec(),
            shape_signature: None,
            buffer,
            quantization: q,
            is_variable: false,
        }
    }

    fn operator(code: i32, inputs: &[i32], outputs: &[i32], options: Options) -> Operator {
        Operator {
            code,
            custom_code: None,
            version: 1,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            options,
        }
    }

    /// input [1,4,4,1] → CONV_2D (2 filters 3×3, SAME, RELU) → conv [1,4,4,2] → MAX_POOL_2D 2×2 →
    /// pool [1,2,2,2], in int8 (per-channel filter) or float32, with `readers` deciding who else reads
    /// the convolution.
    fn conv_pool(dtype: TensorType, readers: Readers) -> Model {
        let mut m = Model::default();
        let int8 = dtype == TensorType::Int8;
        let filter: Vec<i8> = (0..18).map(|i| (i * 7 % 11) as i8 - 5).collect();
        let (filter_bytes, bias_bytes): (Vec<u8>, Vec<u8>) = if int8 {
            (
                filter.iter().map(|&w| w as u8).collect(),
                [10i32, -20].iter().flat_map(|b| b.to_le_bytes()).collect(),
            )
        } else {
            (
                filter
                    .iter()
                    .flat_map(|&w| (w as f32 * 0.1).to_le_bytes())
                    .collect(),
                [0.5f32, -0.25]
                    .iter()
                    .flat_map(|b| b.to_le_bytes())
                    .collect(),
            )
        };
        let b_filter = m.add_buffer(filter_bytes);
        let b_bias = m.add_buffer(bias_bytes);
        let q = |s: f32, z: i64| int8.then(|| Quantization::per_tensor(s, z));
        let bias_type = if int8 { TensorType::Int32 } else { dtype };
        let filter_q = int8.then(|| Quantization::per_axis(vec![0.02, 0.03], vec![0, 0], 0));
        let tensors = vec![
            tensor("input", dtype, &[1, 4, 4, 1], 0, q(0.05, -10)),
            tensor("filter", dtype, &[2, 3, 3, 1], b_filter, filter_q),
            tensor("bias", bias_type, &[2], b_bias, None),
            tensor("conv", dtype, &[1, 4, 4, 2], 0, q(0.04, -128)),
            tensor("pool", dtype, &[1, 2, 2, 2], 0, q(0.04, -128)),
            tensor("pool2", dtype, &[1, 2, 2, 2], 0, q(0.04, -128)),
        ];
        let conv = Conv2DOptions {
            padding: Padding::Same,
            stride_w: 1,
            stride_h: 1,
            fused_activation: Activation::Relu,
            dilation_w: 1,
            dilation_h: 1,
        };
        let pool = Options::Pool2D(Pool2DOptions {
            padding: Padding::Valid,
            stride_w: 2,
            stride_h: 2,
            filter_w: 2,
            filter_h: 2,
            fused_activation: Activation::None,
        });
        let mut operators = vec![
            operator(op::CONV_2D, &[0, 1, 2], &[3], Options::Conv2D(conv)),
            operator(op::MAX_POOL_2D, &[3], &[4], pool.clone()),
        ];
        let outputs = match readers {
            Readers::PoolOnly => vec![4],
            Readers::SecondPool => {
                operators.push(operator(op::MAX_POOL_2D, &[3], &[5], pool));
                vec![4, 5]
            }
            Readers::GraphOutput => vec![4, 3],
        };
        m.subgraphs.push(Subgraph {
            name: None,
            tensors,
            inputs: vec![0],
            outputs,
            operators,
        });
        m
    }

    /// The planned steps' kinds (their names in `Debug`).
    fn steps(model: &Model, options: InterpreterOptions) -> Vec<String> {
        let config = PlanConfig {
            options,
            reference_only: false,
        };
        let plan = plan(model, config).unwrap();
        plan.steps
            .iter()
            .map(|s| {
                let debug = format!("{s:?}");
                debug
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    const DEFAULT: InterpreterOptions = InterpreterOptions {
        preserve_all_tensors: false,
        float_arithmetic: crate::interp::FloatArithmetic::Reference,
        fc_requant: crate::interp::FcRequant::Double,
    };

    #[test]
    fn a_conv_read_only_by_a_max_pool_is_fused() {
        let int8 = conv_pool(TensorType::Int8, Readers::PoolOnly);
        assert_eq!(steps(&int8, DEFAULT), ["Conv2dI8MaxPoolFast"]);
        let float = conv_pool(TensorType::Float32, Readers::PoolOnly);
        assert_eq!(steps(&float, DEFAULT), ["Conv2dF32MaxPoolFast"]);
    }

    #[test]
    fn a_conv_with_another_reader_is_not_fused() {
        for dtype in [TensorType::Int8, TensorType::Float32] {
            let second = conv_pool(dtype, Readers::SecondPool);
            let (conv, pool) = match dtype {
                TensorType::Int8 => ("Conv2dI8Fast", "MaxPool2dI8Fast"),
                _ => ("Conv2dF32Fast", "MaxPool2dF32Fast"),
            };
            assert_eq!(steps(&second, DEFAULT), [conv, pool, pool]);
            let output = conv_pool(dtype, Readers::GraphOutput);
            assert_eq!(steps(&output, DEFAULT), [conv, pool]);
        }
    }

    #[test]
    fn nothing_is_fused_when_every_tensor_is_preserved() {
        let preserve = InterpreterOptions {
            preserve_all_tensors: true,
            ..DEFAULT
        };
        let int8 = conv_pool(TensorType::Int8, Readers::PoolOnly);
        assert_eq!(steps(&int8, preserve), ["Conv2dI8Fast", "MaxPool2dI8Fast"]);
        let float = conv_pool(TensorType::Float32, Readers::PoolOnly);
        assert_eq!(
            steps(&float, preserve),
            ["Conv2dF32Fast", "MaxPool2dF32Fast"]
        );
    }

    #[test]
    fn fusion_keeps_the_results_and_the_work() {
        for dtype in [TensorType::Int8, TensorType::Float32] {
            let model = conv_pool(dtype, Readers::PoolOnly);
            let mut fused = Interpreter::new(&model).unwrap();
            let mut reference = Interpreter::reference(&model).unwrap();
            assert_eq!(fused.num_steps(), 1);
            assert_eq!(reference.num_steps(), 2);
            // the fused pool counts one operation per output (8) instead of one per tap (32)
            assert_eq!(reference.work() - fused.work(), 32 - 8);
            let input: Vec<u8> = (0..16u8)
                .flat_map(|i| match dtype {
                    TensorType::Int8 => vec![(i * 9 % 23).wrapping_sub(10)],
                    _ => ((i as f32 - 7.0) * 0.3).to_le_bytes().to_vec(),
                })
                .collect();
            for it in [&mut fused, &mut reference] {
                it.set_input_bytes(0, &input).unwrap();
                it.invoke().unwrap();
            }
            let out = fused.output_bytes(0).unwrap();
            assert_eq!(out, reference.output_bytes(0).unwrap());
            // (an output that exercises the kernels: not one repeated value)
            let values = fused.output_dequantized(0).unwrap();
            assert!(values.windows(2).any(|w| w[0] != w[1]), "{values:?}");
        }
    }
}
