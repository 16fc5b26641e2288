//! A deployment check for integer-only accelerators (Edge TPU style): per operator, would it map, and if
//! not, why. Without the vendor's compiler this is a lint, built from the published requirements (Coral's
//! "TensorFlow models on the Edge TPU"): tensors 8-bit quantized, sizes and parameters constant at compile
//! time, tensors of rank at most 3 or with only the three innermost dimensions larger than 1, and an op
//! from the supported list. The compiler makes one partition: from the first operator that does not map,
//! every later operator runs on the CPU.

use serde::Serialize;

use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, Options, Tensor, TensorType};

/// Of the operators our interpreter knows, those the accelerator runs (DEQUANTIZE and SHAPE stay on
/// the CPU: the first makes float, the second is a run-time shape).
const MAPPABLE: [i32; 10] = [
    op::CONV_2D,
    op::DEPTHWISE_CONV_2D,
    op::FULLY_CONNECTED,
    op::MAX_POOL_2D,
    op::AVERAGE_POOL_2D,
    op::RESHAPE,
    op::SOFTMAX,
    op::QUANTIZE,
    op::PACK,
    op::STRIDED_SLICE,
];

/// Where an operator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    Accelerator,
    Cpu,
}

/// One operator's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpCheck {
    pub op_index: usize,
    pub op_name: String,
    /// Whether the operator itself meets every requirement.
    pub maps: bool,
    /// Why not (empty when it maps).
    pub reasons: Vec<String>,
    /// Where it runs after partitioning: an operator that maps still runs on the CPU once an earlier
    /// one did not.
    pub placement: Placement,
}

/// The whole model's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeployCheck {
    pub ops: Vec<OpCheck>,
    /// Operators on the accelerator.
    pub mapped: usize,
    /// The first operator that does not map, where the CPU takes over.
    pub first_unmapped: Option<usize>,
}

fn is_8bit_quantized(t: &Tensor) -> bool {
    matches!(t.dtype, TensorType::Int8 | TensorType::UInt8)
        && t.quantization.as_ref().is_some_and(|q| !q.scale.is_empty())
}

/// The reasons tensor `t` keeps an operator off the accelerator.
fn tensor_problems(model: &Model, t: &Tensor, role: &str, reasons: &mut Vec<String>) {
    // constants (weights, biases, constant shapes) are compiled in; what flows must be 8-bit
    let constant = model.tensor_data(t).is_some();
    if !constant && !is_8bit_quantized(t) {
        reasons.push(format!(
            "{role} {} is {}, not 8-bit quantized",
            t.name,
            t.dtype.name()
        ));
    }
    if t.shape_signature
        .as_ref()
        .is_some_and(|s| s.iter().any(|&d| d < 0))
    {
        reasons.push(format!(
            "{role} {} has a size known only at run time (convert with static shapes)",
            t.name
        ));
    }
    if !constant && t.shape.len() > 3 && t.shape[..t.shape.len() - 3].iter().any(|&d| d > 1) {
        reasons.push(format!(
            "{role} {} has shape {:?}: beyond rank 3 only the three innermost dimensions may exceed 1",
            t.name, t.shape
        ));
    }
}

/// Check every operator of subgraph 0.
pub fn deploy_check(model: &Model) -> DeployCheck {
    let Some(g) = model.subgraphs.first() else {
        return DeployCheck {
            ops: Vec::new(),
            mapped: 0,
            first_unmapped: None,
        };
    };
    let mut ops = Vec::new();
    let mut first_unmapped = None;
    for (i, o) in g.operators.iter().enumerate() {
        let mut reasons = Vec::new();
        if !MAPPABLE.contains(&o.code) {
            reasons.push(match o.code {
                op::DEQUANTIZE => {
                    "DEQUANTIZE produces float, which the accelerator does not run".into()
                }
                op::SHAPE => {
                    "SHAPE computes a size at run time (convert with static shapes)".into()
                }
                _ => format!("{} is not a supported operator", op_name(o.code)),
            });
        }
        let role = |slot: usize| match (o.code, slot) {
            (op::RESHAPE, 1) => "shape",
            (op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED, 1) => "weights",
            (op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED, 2) => "bias",
            _ => "input",
        };
        for (slot, &t) in o.inputs.iter().enumerate() {
            let Some(t) = usize::try_from(t).ok().and_then(|t| g.tensors.get(t)) else {
                continue;
            };
            let role = role(slot);
            if matches!(role, "weights" | "bias") && model.tensor_data(t).is_none() {
                reasons.push(format!("{role} {} is not constant", t.name));
            }
            // QUANTIZE's input is the float the model is fed; the accelerator takes it as it comes in
            if o.code == op::QUANTIZE || role == "bias" {
                continue;
            }
            tensor_problems(model, t, role, &mut reasons);
        }
        for &t in &o.outputs {
            if let Some(t) = usize::try_from(t).ok().and_then(|t| g.tensors.get(t)) {
                tensor_problems(
                    model,
                    t,
                    if o.code == op::PACK {
                        "shape"
                    } else {
                        "output"
                    },
                    &mut reasons,
                );
            }
        }
        if let Options::Conv2D(c) = &o.options
            && (c.dilation_h > 1 || c.dilation_w > 1)
            && (c.stride_h > 1 || c.stride_w > 1)
        {
            reasons.push("dilation together with stride is not supported".into());
        }
        let maps = reasons.is_empty();
        if !maps && first_unmapped.is_none() {
            first_unmapped = Some(i);
        }
        ops.push(OpCheck {
            op_index: i,
            op_name: op_name(o.code),
            maps,
            reasons,
            placement: if first_unmapped.is_none() {
                Placement::Accelerator
            } else {
                Placement::Cpu
            },
        });
    }
    DeployCheck {
        mapped: ops
            .iter()
            .filter(|o| o.placement == Placement::Accelerator)
            .count(),
        first_unmapped,
        ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::read_model;

    fn fixture(path: &str) -> Model {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let bytes = std::fs::read(root.join(path)).unwrap_or_default();
        read_model(&bytes).unwrap()
    }

    #[test]
    fn tf_files_stop_at_their_run_time_shapes_and_float_ops() {
        // integer-only: the batch dimension is -1 from the first tensor on, so nothing maps
        let uint8 = deploy_check(&fixture("reference/mnist_intonly_uint8.tflite"));
        assert_eq!(uint8.first_unmapped, Some(0));
        assert_eq!(uint8.mapped, 0);
        assert!(uint8.ops[0].reasons.iter().any(|r| r.contains("run time")));
        // the float model: nothing is 8-bit (the shape arithmetic is int32 computed at run time)
        let float = deploy_check(&fixture("reference/mnist_float.tflite"));
        assert!(float.ops.iter().all(|o| !o.maps), "{float:#?}");
    }

    #[test]
    fn static_shapes_map_everything_but_the_final_dequantize() {
        let mut model = fixture("reference/mnist_fullint_floatio.tflite");
        crate::quantize::fold_static_shapes(&mut model).unwrap();
        let check = deploy_check(&model);
        let last = check.ops.len() - 1;
        assert_eq!(check.first_unmapped, Some(last), "{check:#?}");
        assert_eq!(check.ops[last].op_name, "DEQUANTIZE");
        assert_eq!(check.mapped, last);
    }
}
