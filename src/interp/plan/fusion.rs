//! Conv+pool fusion, a pass over the finished step list: a fast CONV_2D (int8 or float32) whose only
//! reader is a MAX_POOL_2D of its type, taking it as input, becomes one fused step that writes the
//! pool's output and never the convolution's. The planner runs the pass only when intermediate tensors
//! need not be preserved.

use super::{Planned, checked_len};
use crate::interp::kernels::window::Window;
use crate::interp::step::Step;
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
) -> Vec<Planned> {
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
        let (Some(conv), Some(pool)) = (steps[c].take(), steps[p].take()) else {
            continue;
        };
        let extra_work = extra_pool_work(&pool.step);
        match fuse(conv.step, pool.step) {
            Ok(fused) => {
                *work = work.saturating_sub(extra_work);
                steps[p] = Some(Planned {
                    operator: pool.operator,
                    step: fused,
                });
            }
            Err(pair) => {
                let (conv_step, pool_step) = *pair;
                steps[c] = Some(Planned {
                    operator: conv.operator,
                    step: conv_step,
                });
                steps[p] = Some(Planned {
                    operator: pool.operator,
                    step: pool_step,
                });
            }
        }
    }
    steps.into_iter().flatten().collect()
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

/// The work the planner counted for `pool`'s window taps beyond one per output.
fn extra_pool_work(pool: &Step) -> u64 {
    let (window, channels) = match pool {
        Step::MaxPool2dI8Fast {
            window, channels, ..
        }
        | Step::MaxPool2dI8 {
            window, channels, ..
        }
        | Step::MaxPool2dF32Fast {
            window, channels, ..
        }
        | Step::MaxPool2dF32 {
            window, channels, ..
        } => (window, *channels),
        _ => return 0,
    };
    let outputs = pool_outputs(window, channels);
    outputs
        .saturating_mul((window.filter_h * window.filter_w) as u64)
        .saturating_sub(outputs)
}

fn pool_outputs(window: &Window, channels: usize) -> u64 {
    checked_len(&[window.batches, window.out_h, window.out_w, channels]).unwrap_or(usize::MAX)
        as u64
}

/// The fused step of a fast convolution and a max pool of the same type; any other pair comes back.
fn fuse(conv: Step, pool: Step) -> Result<Step, Box<(Step, Step)>> {
    match (conv, pool) {
        (
            Step::Conv2dI8Fast {
                input,
                kernel,
                mut scratch,
                ..
            },
            Step::MaxPool2dI8Fast {
                output,
                window,
                act,
                ..
            }
            | Step::MaxPool2dI8 {
                output,
                window,
                act,
                ..
            },
        ) => {
            scratch.for_pool(&kernel.conv, &window);
            Ok(Step::Conv2dI8MaxPoolFast {
                input,
                output,
                kernel,
                pool: window,
                pool_act: act,
                scratch,
            })
        }
        (
            Step::Conv2dF32Fast {
                input,
                kernel,
                mut scratch,
                ..
            },
            Step::MaxPool2dF32Fast {
                output,
                window,
                act,
                ..
            }
            | Step::MaxPool2dF32 {
                output,
                window,
                act,
                ..
            },
        ) => {
            scratch.for_pool(&kernel.conv, &window);
            Ok(Step::Conv2dF32MaxPoolFast {
                input,
                output,
                kernel,
                pool: window,
                pool_act: act,
                scratch,
            })
        }
        pair => Err(Box::new(pair)),
    }
}
