//! A trained [`Sequential`] network as a float `.tflite` model, laid out as TensorFlow's converter lays
//! out a Keras model: a `[1, …]` input with a dynamic batch (`shape_signature` −1), RESHAPE for Keras
//! Reshape and Flatten (with a constant shape tensor, `-1` for the batch), CONV_2D / MAX_POOL_2D /
//! FULLY_CONNECTED with fused activations, and a `serving_default` signature. Our layer layouts are
//! TFLite's (OHWI conv filters, `[out, in]` dense weights), so the weights are copied, not transposed.

use crate::error::{Error, Result};
use crate::quantize::version::min_runtime_version;
use crate::tflite::schema::{METADATA_MIN_RUNTIME_VERSION, SIGNATURE_SERVING_DEFAULT, op};
use crate::tflite::{
    Activation as TfActivation, Conv2DOptions, FullyConnectedOptions, Metadata, Model, Operator,
    Options, Padding as TfPadding, Pool2DOptions, SignatureDef, Subgraph, Tensor, TensorMap,
    TensorType,
};
use crate::train::Sequential;
use crate::train::layers::{Activation, Layer, Padding};

/// Name of the input in the signature (what Keras 3 calls its input tensor).
pub const SIGNATURE_INPUT: &str = "keras_tensor";
/// Name of the output in the signature.
pub const SIGNATURE_OUTPUT: &str = "output_0";

struct Builder {
    model: Model,
    graph: Subgraph,
}

impl Builder {
    fn tensor(
        &mut self,
        name: &str,
        dtype: TensorType,
        shape: &[usize],
        dynamic_batch: bool,
        data: Option<Vec<u8>>,
    ) -> Result<i32> {
        let shape: Vec<i32> = shape
            .iter()
            .map(|&d| {
                i32::try_from(d).map_err(|_| {
                    Error::InvalidArgument(format!("dimension {d} of {name} is too large"))
                })
            })
            .collect::<Result<_>>()?;
        let shape_signature = dynamic_batch.then(|| {
            let mut s = shape.clone();
            s[0] = -1;
            s
        });
        let buffer = match data {
            Some(d) => self.model.add_buffer(d),
            None => 0,
        };
        self.graph.tensors.push(Tensor {
            name: name.into(),
            dtype,
            shape,
            shape_signature,
            buffer,
            quantization: None,
            is_variable: false,
        });
        Ok((self.graph.tensors.len() - 1) as i32)
    }

    fn op(&mut self, code: i32, inputs: Vec<i32>, outputs: Vec<i32>, options: Options) {
        self.graph.operators.push(Operator {
            code,
            custom_code: None,
            version: 1,
            inputs,
            outputs,
            options,
        });
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn activation(a: Activation) -> TfActivation {
    match a {
        Activation::Linear => TfActivation::None,
        Activation::Relu => TfActivation::Relu,
    }
}

/// Export `net` as a float TFLite model (one subgraph, batch 1 with a dynamic batch signature).
pub fn export_float(net: &Sequential) -> Result<Model> {
    let mut b = Builder {
        model: Model::default(),
        graph: Subgraph {
            name: Some("main".into()),
            ..Subgraph::default()
        },
    };
    let mut shape = vec![1];
    shape.extend(&net.input_shape);
    let input = b.tensor(
        "serving_default_keras_tensor:0",
        TensorType::Float32,
        &shape,
        true,
        None,
    )?;
    b.graph.inputs = vec![input];
    let mut current = input;
    let count = net.layers.len();
    for (i, layer) in net.layers.iter().enumerate() {
        let last = i + 1 == count;
        let mut out_shape = vec![1];
        out_shape.extend(layer.out_shape());
        let name = if last {
            "StatefulPartitionedCall:0".to_string()
        } else {
            format!("sequential/layer_{i}")
        };
        let out = b.tensor(&name, TensorType::Float32, &out_shape, true, None)?;
        match layer {
            Layer::Reshape { .. } | Layer::Flatten { .. } => {
                let mut target: Vec<i32> = vec![-1];
                target.extend(out_shape[1..].iter().map(|&d| d as i32));
                let shape_tensor = b.tensor(
                    &format!("sequential/layer_{i}/shape"),
                    TensorType::Int32,
                    &[target.len()],
                    false,
                    Some(i32_bytes(&target)),
                )?;
                b.op(
                    op::RESHAPE,
                    vec![current, shape_tensor],
                    vec![out],
                    Options::None,
                );
            }
            Layer::Conv2D(c) => {
                let [o, kh, kw, ch] = [c.out_shape[2], c.kernel[0], c.kernel[1], c.in_shape[2]];
                let w = b.tensor(
                    &format!("sequential/layer_{i}/kernel"),
                    TensorType::Float32,
                    &[o, kh, kw, ch],
                    false,
                    Some(f32_bytes(&c.weights)),
                )?;
                let bias = b.tensor(
                    &format!("sequential/layer_{i}/bias"),
                    TensorType::Float32,
                    &[o],
                    false,
                    Some(f32_bytes(&c.bias)),
                )?;
                let options = Conv2DOptions {
                    padding: match c.padding {
                        Padding::Valid => TfPadding::Valid,
                        Padding::Same => TfPadding::Same,
                    },
                    stride_w: c.strides[1] as i32,
                    stride_h: c.strides[0] as i32,
                    fused_activation: activation(c.activation),
                    dilation_w: 1,
                    dilation_h: 1,
                };
                b.op(
                    op::CONV_2D,
                    vec![current, w, bias],
                    vec![out],
                    Options::Conv2D(options),
                );
            }
            Layer::MaxPool2D(p) => {
                let options = Pool2DOptions {
                    padding: TfPadding::Valid,
                    stride_w: p.strides[1] as i32,
                    stride_h: p.strides[0] as i32,
                    filter_w: p.pool[1] as i32,
                    filter_h: p.pool[0] as i32,
                    fused_activation: TfActivation::None,
                };
                b.op(
                    op::MAX_POOL_2D,
                    vec![current],
                    vec![out],
                    Options::Pool2D(options),
                );
            }
            Layer::Dense(d) => {
                let w = b.tensor(
                    &format!("sequential/layer_{i}/kernel"),
                    TensorType::Float32,
                    &[d.units, d.inputs],
                    false,
                    Some(f32_bytes(&d.weights)),
                )?;
                let bias = b.tensor(
                    &format!("sequential/layer_{i}/bias"),
                    TensorType::Float32,
                    &[d.units],
                    false,
                    Some(f32_bytes(&d.bias)),
                )?;
                let options = FullyConnectedOptions {
                    fused_activation: activation(d.activation),
                    ..FullyConnectedOptions::default()
                };
                b.op(
                    op::FULLY_CONNECTED,
                    vec![current, w, bias],
                    vec![out],
                    Options::FullyConnected(options),
                );
            }
        }
        current = out;
    }
    b.graph.outputs = vec![current];
    let Builder { mut model, graph } = b;
    let runtime = min_runtime_version(graph.operators.iter().map(|o| (o.code, o.version)));
    let buffer = model.add_buffer(runtime);
    model.metadata.push(Metadata {
        name: METADATA_MIN_RUNTIME_VERSION.into(),
        buffer,
    });
    model.signature_defs.push(SignatureDef {
        key: SIGNATURE_SERVING_DEFAULT.into(),
        inputs: vec![TensorMap {
            name: SIGNATURE_INPUT.into(),
            tensor_index: input as u32,
        }],
        outputs: vec![TensorMap {
            name: SIGNATURE_OUTPUT.into(),
            tensor_index: current as u32,
        }],
        subgraph_index: 0,
    });
    model.description = Some("ptq-playground".into());
    model.subgraphs.push(graph);
    Ok(model)
}
