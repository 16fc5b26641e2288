//! A trained [`Sequential`] network as a float `.tflite` model, laid out as TensorFlow's converter lays
//! out a Keras model: a `[1, …]` input with a dynamic batch (`shape_signature` −1), RESHAPE for Keras
//! Reshape and Flatten (with a constant shape tensor, `-1` for the batch), CONV_2D / DEPTHWISE_CONV_2D /
//! FULLY_CONNECTED with fused activations, MAX_POOL_2D / AVERAGE_POOL_2D, SOFTMAX, and a
//! `serving_default` signature. Our layer layouts are TFLite's (OHWI conv filters, `[1, KH, KW, C·M]`
//! depthwise filters, `[out, in]` dense weights), so the weights are copied, not transposed.
//!
//! As TensorFlow's converter does with a Keras model at inference: Dropout disappears, a
//! BatchNormalization is folded into the Conv2D, DepthwiseConv2D or Dense before it (see [`fold`]), and
//! an Activation layer after such a layer (or after its BatchNormalization) becomes its fused
//! activation. The model also carries its design ([`METADATA_DESIGN`]) and the parameters folding
//! changed ([`METADATA_UNFOLDED`]), which `import_float` reads back.

use crate::design::Design;
use crate::error::{Error, Result};
use crate::quantize::version::min_runtime_version;
use crate::tflite::schema::{
    METADATA_DESIGN, METADATA_MIN_RUNTIME_VERSION, METADATA_UNFOLDED, SIGNATURE_SERVING_DEFAULT, op,
};
use crate::tflite::{
    Activation as TfActivation, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions,
    Metadata, Model, Operator, Options, Padding as TfPadding, Pool2DOptions, SignatureDef,
    Subgraph, Tensor, TensorMap, TensorType,
};
use crate::train::layers::{Activation, BatchNorm, Layer, Padding};
use crate::train::{Architecture, Sequential};

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
        Activation::Relu6 => TfActivation::Relu6,
    }
}

fn padding(p: Padding) -> TfPadding {
    match p {
        Padding::Valid => TfPadding::Valid,
        Padding::Same => TfPadding::Same,
    }
}

/// One operator of the export and the layers it stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Step {
    /// The layer that gives the operator (a Reshape, Flatten, conv, dense, pool or softmax).
    pub index: usize,
    /// The BatchNormalization folded into it, if any.
    pub batch_norm: Option<usize>,
    /// The fused activation: the layer's own, or an Activation layer's after it.
    pub activation: Activation,
}

/// Whether a layer vanishes at inference (Dropout, a linear Activation).
fn is_identity(layer: &Layer) -> bool {
    matches!(
        layer,
        Layer::Dropout(_)
            | Layer::Activation {
                activation: Activation::Linear,
                ..
            }
    )
}

/// The operators the export writes for `layers`, in order. Errors for a BatchNormalization or an
/// Activation that no operator can absorb (TFLite would need MUL, ADD or RELU operators of their own,
/// which the converter and interpreter here do not take).
pub(crate) fn plan(layers: &[Layer]) -> Result<Vec<Step>> {
    let skip = |mut j: usize| {
        while layers.get(j).is_some_and(is_identity) {
            j += 1;
        }
        j
    };
    let mut steps = Vec::new();
    let mut i = 0;
    while i < layers.len() {
        let layer = &layers[i];
        if is_identity(layer) {
            i += 1;
            continue;
        }
        let own = match layer {
            Layer::Conv2D(l) => Some(l.activation),
            Layer::DepthwiseConv2D(l) => Some(l.activation),
            Layer::Dense(l) => Some(l.activation),
            _ => None,
        };
        let mut step = Step {
            index: i,
            batch_norm: None,
            activation: own.unwrap_or(Activation::Linear),
        };
        let mut next = i + 1;
        match (layer, own) {
            (_, Some(Activation::Linear)) => {
                let mut j = skip(i + 1);
                if let Some(Layer::BatchNorm(_)) = layers.get(j) {
                    step.batch_norm = Some(j);
                    next = j + 1;
                    j = skip(j + 1);
                }
                if let Some(Layer::Activation { activation, .. }) = layers.get(j) {
                    step.activation = *activation;
                    next = j + 1;
                }
            }
            (Layer::BatchNorm(_), _) => {
                return Err(Error::InvalidArgument(format!(
                    "layer {i}: a BatchNormalization can only be exported after a Conv2D, DepthwiseConv2D or Dense without activation (it is folded into that layer's weights)"
                )));
            }
            (Layer::Activation { .. }, _) => {
                return Err(Error::InvalidArgument(format!(
                    "layer {i}: an Activation can only be exported after a Conv2D, DepthwiseConv2D or Dense without activation, or the BatchNormalization after one (it becomes their fused activation)"
                )));
            }
            _ => {}
        }
        steps.push(step);
        i = next;
    }
    Ok(steps)
}

/// Fold a BatchNormalization into the weights and bias before it, per output channel `c`, as
/// TensorFlow computes it: Keras's inference is `tf.nn.batch_normalization`, i.e. `x·inv + (β −
/// mean·inv)` with `inv = rsqrt(var + ε)·γ`, and the converter multiplies the conv's weights and bias by
/// `inv` and adds the offset to the bias:
///
/// `w' = w·inv[c]`, `b' = b·inv[c] + (β[c] − mean[c]·inv[c])`,
///
/// the same as `w·γ/√(var+ε)` and `(b − mean)·γ/√(var+ε) + β` in exact arithmetic, computed in
/// TensorFlow's order in float32. `tests/design_parity.rs` checks them against TensorFlow's file: bit
/// for bit where TF computes rsqrt exactly; TF's constant folding takes Eigen's vectorized rsqrt (an
/// estimate refined once, a few ulp off, CPU-dependent) for groups of 8 channels, where we keep the
/// correctly rounded 1/√. `channel_of(i)` is the output channel of weight `i`.
pub fn fold(
    weights: &[f32],
    bias: &[f32],
    bn: &BatchNorm,
    channel_of: impl Fn(usize) -> usize,
) -> (Vec<f32>, Vec<f32>) {
    let (inv, offset) = bn.inference_affine();
    let w = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| w * inv[channel_of(i)])
        .collect();
    let b = bias
        .iter()
        .zip(&inv)
        .zip(&offset)
        .map(|((&b, &s), &t)| b * s + t)
        .collect();
    (w, b)
}

/// The network's layers as an architecture (what `Design::from_architecture` describes).
fn architecture_of(net: &Sequential) -> Architecture {
    Architecture {
        input_shape: net.input_shape.clone(),
        layers: net.layers.iter().map(Layer::spec).collect(),
    }
}

/// Export `net` as a float TFLite model (one subgraph, batch 1 with a dynamic batch signature). Its
/// design is named after the preset with the same layers (so the page's and the CLI's tutorial models
/// say "tutorial"), else "sequential", Keras's default model name.
pub fn export_float(net: &Sequential) -> Result<Model> {
    let arch = architecture_of(net);
    let name = crate::design::PRESETS
        .iter()
        .find(|p| {
            p.design()
                .and_then(|d| d.architecture())
                .is_ok_and(|a| a == arch)
        })
        .map_or("sequential", |p| p.name);
    export_float_named(net, name)
}

/// [`export_float`] with the design's name.
pub fn export_float_named(net: &Sequential, name: &str) -> Result<Model> {
    let design = Design::from_architecture(name, &architecture_of(net));
    export_float_with_design(net, &design)
}

/// [`export_float`] carrying `design` as written (a softmax activation on a Dense stays so, say). The
/// design must describe `net`'s layers.
pub fn export_float_with_design(net: &Sequential, design: &Design) -> Result<Model> {
    let described = design.architecture_unchecked()?;
    if described != architecture_of(net) {
        return Err(Error::InvalidArgument(format!(
            "the design {} does not describe the network being exported",
            design.name
        )));
    }
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
    let mut unfolded: Vec<f32> = Vec::new();
    for step in plan(&net.layers)? {
        let i = step.index;
        let layer = &net.layers[i];
        let mut out_shape = vec![1];
        out_shape.extend(layer.out_shape());
        let out = b.tensor(
            &format!("sequential/layer_{i}"),
            TensorType::Float32,
            &out_shape,
            true,
            None,
        )?;
        let bn = match step.batch_norm.map(|j| &net.layers[j]) {
            Some(Layer::BatchNorm(bn)) => Some(bn),
            _ => None,
        };
        // weights and bias as written: folded when a BatchNormalization follows
        let mut constants = |b: &mut Builder,
                             w: &[f32],
                             bias: &[f32],
                             w_shape: &[usize],
                             channel_of: &dyn Fn(usize) -> usize|
         -> Result<(i32, i32)> {
            let (w, bias) = match bn {
                Some(bn) => {
                    for v in [
                        w,
                        bias,
                        &bn.gamma,
                        &bn.beta,
                        &bn.moving_mean,
                        &bn.moving_var,
                    ] {
                        unfolded.extend_from_slice(v);
                    }
                    fold(w, bias, bn, channel_of)
                }
                None => (w.to_vec(), bias.to_vec()),
            };
            let wt = b.tensor(
                &format!("sequential/layer_{i}/kernel"),
                TensorType::Float32,
                w_shape,
                false,
                Some(f32_bytes(&w)),
            )?;
            let bt = b.tensor(
                &format!("sequential/layer_{i}/bias"),
                TensorType::Float32,
                &[bias.len()],
                false,
                Some(f32_bytes(&bias)),
            )?;
            Ok((wt, bt))
        };
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
                let k = kh * kw * ch;
                let (w, bias) =
                    constants(&mut b, &c.weights, &c.bias, &[o, kh, kw, ch], &|i| i / k)?;
                let options = Conv2DOptions {
                    padding: padding(c.padding),
                    stride_w: c.strides[1] as i32,
                    stride_h: c.strides[0] as i32,
                    fused_activation: activation(step.activation),
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
            Layer::DepthwiseConv2D(d) => {
                let [kh, kw] = d.kernel;
                let o = d.out_shape[2];
                let (w, bias) =
                    constants(&mut b, &d.weights, &d.bias, &[1, kh, kw, o], &|i| i % o)?;
                let options = DepthwiseConv2DOptions {
                    padding: padding(d.padding),
                    stride_w: d.strides[1] as i32,
                    stride_h: d.strides[0] as i32,
                    depth_multiplier: d.depth_multiplier as i32,
                    fused_activation: activation(step.activation),
                    dilation_w: 1,
                    dilation_h: 1,
                };
                b.op(
                    op::DEPTHWISE_CONV_2D,
                    vec![current, w, bias],
                    vec![out],
                    Options::DepthwiseConv2D(options),
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
            Layer::AvgPool2D(p) => {
                let options = Pool2DOptions {
                    padding: padding(p.padding),
                    stride_w: p.strides[1] as i32,
                    stride_h: p.strides[0] as i32,
                    filter_w: p.pool[1] as i32,
                    filter_h: p.pool[0] as i32,
                    fused_activation: TfActivation::None,
                };
                b.op(
                    op::AVERAGE_POOL_2D,
                    vec![current],
                    vec![out],
                    Options::Pool2D(options),
                );
            }
            Layer::Dense(d) => {
                let n = d.inputs;
                let (w, bias) =
                    constants(&mut b, &d.weights, &d.bias, &[d.units, d.inputs], &|i| {
                        i / n
                    })?;
                let options = FullyConnectedOptions {
                    fused_activation: activation(step.activation),
                    ..FullyConnectedOptions::default()
                };
                b.op(
                    op::FULLY_CONNECTED,
                    vec![current, w, bias],
                    vec![out],
                    Options::FullyConnected(options),
                );
            }
            Layer::Softmax { .. } => {
                b.op(
                    op::SOFTMAX,
                    vec![current],
                    vec![out],
                    Options::Softmax { beta: 1.0 },
                );
            }
            Layer::BatchNorm(_) | Layer::Activation { .. } | Layer::Dropout(_) => {
                return Err(Error::InvalidArgument(format!(
                    "layer {i} cannot be exported on its own"
                )));
            }
        }
        current = out;
    }
    if current == input {
        return Err(Error::InvalidArgument(
            "the network has no layer that exports as an operator".into(),
        ));
    }
    if let Some(t) = b.graph.tensors.get_mut(current as usize) {
        t.name = "StatefulPartitionedCall:0".into();
    }
    b.graph.outputs = vec![current];
    let Builder { mut model, graph } = b;
    let runtime = min_runtime_version(graph.operators.iter().map(|o| (o.code, o.version)));
    let buffer = model.add_buffer(runtime);
    model.metadata.push(Metadata {
        name: METADATA_MIN_RUNTIME_VERSION.into(),
        buffer,
    });
    let buffer = model.add_buffer(design.to_json()?.into_bytes());
    model.metadata.push(Metadata {
        name: METADATA_DESIGN.into(),
        buffer,
    });
    if !unfolded.is_empty() {
        let buffer = model.add_buffer(f32_bytes(&unfolded));
        model.metadata.push(Metadata {
            name: METADATA_UNFOLDED.into(),
            buffer,
        });
    }
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
