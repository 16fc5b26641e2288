//! The page's views inside a quantization, in the worker's session: a model's graph (operators with
//! their tensors' types, shapes, scales and zero points, and their float twins), the per-layer error
//! against the float model in steps (so the worker can report progress and cancel between them), one
//! output element worked out by hand beside the float model's value, a layer's whole output on an image,
//! and the conversion that keeps chosen layers in float next to the all-int8 one.

use serde::Serialize;

use super::{IMAGE_LEN, ModelInfo, Session};
use crate::debug::{ErrorMode, Explanation, LayerErrorReport, LayerErrors, pair_models};
use crate::error::{Error, Result};
use crate::eval::set_image;
use crate::interp::{Interpreter, InterpreterOptions};
use crate::quantize::selective::KEEPABLE;
use crate::quantize::{
    ConvertOptions, Mode, calibrate_first, convert_keeping_float, resolve_keep_float,
};
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, Subgraph, Tensor, TensorType, write_model};

/// The slot of the conversion that keeps layers in float, and of the same conversion keeping none.
pub const SELECTIVE: &str = "selective";
pub const ALL_INT8: &str = "all-int8";

/// Images the per-layer error may run on at most (the test set).
const MAX_IMAGES: usize = 10_000;

/// Operators whose output element [`Session::explain`] works out by hand.
const EXPLAINED: [i32; 6] = [
    op::CONV_2D,
    op::DEPTHWISE_CONV_2D,
    op::FULLY_CONNECTED,
    op::MAX_POOL_2D,
    op::AVERAGE_POOL_2D,
    op::SOFTMAX,
];

/// A tensor as a graph box shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphTensor {
    pub index: usize,
    pub name: String,
    /// Lower-case type name (`int8`, `float32`).
    pub dtype: String,
    pub shape: Vec<usize>,
    /// The scales (one per tensor, one per channel, or none for a float tensor) and zero points.
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// Whether the tensor is a constant of the file (weights, biases, shapes).
    pub constant: bool,
}

/// An operator of the graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphOp {
    pub index: usize,
    pub name: String,
    pub inputs: Vec<GraphTensor>,
    pub outputs: Vec<GraphTensor>,
    /// Whether [`Session::explain`] can work out one of its output elements (an integer output of a
    /// convolution, a fully connected layer or a pool).
    pub explainable: bool,
    /// The operator of the float model it was converted from, when the graph is paired with one.
    pub float_op: Option<usize>,
    /// What a keep-float list names to keep this operator in float: its float twin's output tensor
    /// (only for the operators the converter can keep in float).
    pub keep_float_name: Option<String>,
}

/// A model's graph, as the page draws it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelGraph {
    pub slot: String,
    /// The conversion the model looks like ([`Mode::name`]).
    pub mode: String,
    /// Whether the model computes with integer activations (the error and by-hand views need them).
    pub integer: bool,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    pub ops: Vec<GraphOp>,
    /// The float slot the graph was paired with, or why pairing failed.
    pub paired_with: Option<String>,
    pub pairing_error: Option<String>,
}

/// Progress of the per-layer error: images done over all the modes asked for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DebugProgress {
    pub done: usize,
    pub total: usize,
    /// The mode the last step worked on.
    pub mode: ErrorMode,
}

/// One element of a layer's output explained, with the float model's value for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainReport {
    #[serde(flatten)]
    pub explanation: Explanation,
    /// The float model's value of the same element on the same image (when a float twin is given).
    pub float_value: Option<f32>,
    /// The test image the models ran on.
    pub image: usize,
    /// The shape of the layer's output.
    pub output_shape: Vec<usize>,
}

/// A layer's whole output on one image: the integer codes and their parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerOutput {
    pub op_index: usize,
    pub tensor_index: usize,
    pub tensor_name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub scale: f32,
    pub zero_point: i32,
    /// The values, row-major: integer codes for integer tensors, reals otherwise.
    pub values: Vec<f64>,
    pub image: usize,
}

/// A conversion keeping layers in float, and the same conversion keeping none.
#[derive(Clone, Debug, Serialize)]
pub struct KeepFloatReport {
    /// Float-model operators kept in float.
    pub kept: Vec<usize>,
    /// Entries that matched only operators the converter keeps quantized anyway (pools, shapes).
    pub ignored: Vec<String>,
    /// Representative images the conversions were calibrated on.
    pub samples: usize,
    pub selective: ModelInfo,
    pub all_int8: ModelInfo,
}

/// The per-layer error in progress: one comparison per mode asked for, stepped image by image.
pub(super) struct DebugRun {
    images: usize,
    modes: Vec<ErrorMode>,
    runs: Vec<LayerErrors>,
    /// Index into `modes` of the mode being run.
    current: usize,
}

/// A model run on one test image with every tensor kept, for the by-hand views.
pub(super) struct KeptRun {
    slot: String,
    image: usize,
    interp: Interpreter,
}

/// What the by-hand views keep between calls; dropped when a slot gets another model.
#[derive(Default)]
pub(super) struct DebugCache {
    runs: Vec<KeptRun>,
}

impl DebugCache {
    pub(super) fn forget(&mut self, slot: &str) {
        self.runs.retain(|r| r.slot != slot);
    }
}

fn dims(t: &Tensor) -> Vec<usize> {
    t.shape.iter().map(|&d| d.max(0) as usize).collect()
}

fn graph_tensor(model: &Model, g: &Subgraph, t: i32) -> Option<GraphTensor> {
    let index = usize::try_from(t).ok()?;
    let tensor = g.tensors.get(index)?;
    let (scale, zero_point) = tensor
        .quantization
        .as_ref()
        .map(|q| (q.scale.clone(), q.zero_point.clone()))
        .unwrap_or_default();
    Some(GraphTensor {
        index,
        name: tensor.name.clone(),
        dtype: tensor.dtype.name().to_ascii_lowercase(),
        shape: dims(tensor),
        scale,
        zero_point,
        constant: model.tensor_data(tensor).is_some(),
    })
}

fn first_graph<'a>(model: &'a Model, what: &str) -> Result<&'a Subgraph> {
    model
        .subgraphs
        .first()
        .ok_or_else(|| Error::InvalidModel(format!("the {what} model has no subgraph")))
}

/// Whether `model` computes with integer activations: an operator writes an int8, uint8 or int16
/// tensor that is not a constant.
fn integer_activations(model: &Model) -> bool {
    model.subgraphs.first().is_some_and(|g| {
        g.operators.iter().any(|o| {
            o.outputs.iter().any(|&t| {
                usize::try_from(t)
                    .ok()
                    .and_then(|t| g.tensors.get(t))
                    .is_some_and(|t| {
                        matches!(
                            t.dtype,
                            TensorType::Int8 | TensorType::UInt8 | TensorType::Int16
                        )
                    })
            })
        })
    })
}

impl Session {
    fn slot_model(&self, slot: &str) -> Result<&Model> {
        Ok(&self.slot(slot)?.model)
    }

    /// Empty `slot` (no error if it is empty already).
    pub fn remove_model(&mut self, slot: &str) -> bool {
        self.debug_cache.forget(slot);
        self.eval = None;
        self.slots.remove(slot).is_some()
    }

    /// The graph of the model in `slot`; with `float`, each operator also names its float twin in that
    /// slot's model (or `pairing_error` says why the two do not pair).
    pub fn graph(&self, slot: &str, float: Option<&str>) -> Result<ModelGraph> {
        let model = self.slot_model(slot)?;
        let g = first_graph(model, "")?;
        let (pairing, float_model, pairing_error) = match float {
            Some(f) => {
                let fm = self.slot_model(f)?;
                match pair_models(fm, model) {
                    Ok(p) => (Some(p), Some(fm), None),
                    Err(e) => (None, None, Some(e.to_string())),
                }
            }
            None => (None, None, None),
        };
        let ops = g
            .operators
            .iter()
            .enumerate()
            .map(|(index, o)| {
                let float_op = pairing
                    .as_ref()
                    .and_then(|p| p.ops.iter().find(|pair| pair.quant_op == index))
                    .map(|pair| pair.float_op);
                let keep_float_name = match (float_op, float_model) {
                    (Some(fi), Some(fm)) if KEEPABLE.contains(&o.code) => fm
                        .subgraphs
                        .first()
                        .and_then(|fg| {
                            let t = *fg.operators.get(fi)?.outputs.first()?;
                            fg.tensors.get(usize::try_from(t).ok()?)
                        })
                        .map(|t| t.name.clone()),
                    _ => None,
                };
                let outputs: Vec<GraphTensor> = o
                    .outputs
                    .iter()
                    .filter_map(|&t| graph_tensor(model, g, t))
                    .collect();
                let integer_out = outputs
                    .first()
                    .is_some_and(|t| matches!(t.dtype.as_str(), "int8" | "uint8"));
                GraphOp {
                    index,
                    name: op_name(o.code),
                    inputs: o
                        .inputs
                        .iter()
                        .filter_map(|&t| graph_tensor(model, g, t))
                        .collect(),
                    outputs,
                    explainable: integer_out && EXPLAINED.contains(&o.code),
                    float_op,
                    keep_float_name,
                }
            })
            .collect();
        let index = |ts: &[i32]| -> Vec<usize> {
            ts.iter().filter_map(|&t| usize::try_from(t).ok()).collect()
        };
        Ok(ModelGraph {
            slot: slot.to_string(),
            mode: self.slot(slot)?.mode.name().to_string(),
            integer: integer_activations(model),
            inputs: index(&g.inputs),
            outputs: index(&g.outputs),
            ops,
            paired_with: pairing_error
                .is_none()
                .then(|| float.map(str::to_string))
                .flatten(),
            pairing_error,
        })
    }

    /// Start comparing the model in `quant` with the one in `float` (the model it was converted from)
    /// on the first `images` test images, in each of `modes`. Replaces a comparison in progress.
    pub fn debug_begin(
        &mut self,
        float: &str,
        quant: &str,
        images: usize,
        modes: &[ErrorMode],
    ) -> Result<DebugProgress> {
        let available = self.test()?.len().min(MAX_IMAGES);
        if !(1..=available).contains(&images) {
            return Err(Error::InvalidArgument(format!(
                "the comparison runs on 1–{available} test images, not {images}"
            )));
        }
        let first = *modes
            .first()
            .ok_or_else(|| Error::InvalidArgument("no error mode asked for".into()))?;
        let float_model = self.slot_model(float)?;
        let quant_model = self.slot_model(quant)?;
        pair_models(float_model, quant_model)?;
        if !integer_activations(quant_model) {
            return Err(Error::InvalidArgument(format!(
                "the model in {quant:?} has no integer activations to compare (a float or \
                 dynamic-range model)"
            )));
        }
        let runs = modes
            .iter()
            .map(|&mode| LayerErrors::new(float_model, quant_model, mode))
            .collect::<Result<Vec<_>>>()?;
        self.debug = Some(DebugRun {
            images,
            modes: modes.to_vec(),
            runs,
            current: 0,
        });
        Ok(DebugProgress {
            done: 0,
            total: images * modes.len(),
            mode: first,
        })
    }

    /// Compare the next `count` images of the mode in progress (a step never crosses into the next
    /// mode).
    pub fn debug_step(&mut self, count: usize) -> Result<DebugProgress> {
        let test = self
            .test
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
        let run = self
            .debug
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no comparison in progress".into()))?;
        let total = run.images * run.modes.len();
        let Some(&mode) = run.modes.get(run.current) else {
            let mode = run.modes.last().copied().unwrap_or(ErrorMode::LayerWise);
            return Ok(DebugProgress {
                done: total,
                total,
                mode,
            });
        };
        let errors = &mut run.runs[run.current];
        let start = errors.images();
        let end = start.saturating_add(count.max(1)).min(run.images);
        for i in start..end {
            errors.add_image(test.image(i))?;
        }
        let done = run.current * run.images + end;
        if end >= run.images {
            run.current += 1;
        }
        Ok(DebugProgress { done, total, mode })
    }

    /// The reports, one per mode asked for, once every image is done.
    pub fn debug_report(&self) -> Result<Vec<LayerErrorReport>> {
        let run = self
            .debug
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("no comparison in progress".into()))?;
        if run.current < run.modes.len() {
            return Err(Error::InvalidArgument(format!(
                "the comparison is not finished ({} of {} modes done)",
                run.current,
                run.modes.len()
            )));
        }
        Ok(run.runs.iter().map(LayerErrors::report).collect())
    }

    /// Drop the comparison in progress. Returns whether there was one.
    pub fn debug_cancel(&mut self) -> bool {
        self.debug.take().is_some()
    }

    /// The model in `slot` run on test image `image` with every tensor kept (cached per slot and image).
    fn kept_run(&mut self, slot: &str, image: usize) -> Result<&Interpreter> {
        let pixels = self.test_image(image)?;
        let cache = &mut self.debug_cache;
        if let Some(i) = cache
            .runs
            .iter()
            .position(|r| r.slot == slot && r.image == image)
        {
            return Ok(&cache.runs[i].interp);
        }
        let model = &self
            .slots
            .get(slot)
            .ok_or_else(|| Error::InvalidArgument(format!("no model in slot {slot:?}")))?
            .model;
        let mut interp = Interpreter::with_options(
            model,
            InterpreterOptions {
                preserve_all_tensors: true,
                ..Default::default()
            },
        )?;
        set_image(&mut interp, &pixels)?;
        interp.invoke()?;
        // a handful of (slot, image) runs is all the views go back to
        if cache.runs.len() >= 4 {
            cache.runs.remove(0);
        }
        cache.runs.push(KeptRun {
            slot: slot.to_string(),
            image,
            interp,
        });
        Ok(&cache.runs[cache.runs.len() - 1].interp)
    }

    /// Work element `flat` (row-major) of operator `op_index`'s output in `quant` out by hand on test
    /// image `image`; with `float`, also the float model's value of the same element.
    pub fn explain(
        &mut self,
        quant: &str,
        float: Option<&str>,
        op_index: usize,
        flat: usize,
        image: usize,
    ) -> Result<ExplainReport> {
        self.kept_run(quant, image)?;
        let model = self.slot_model(quant)?;
        let run = self
            .debug_cache
            .runs
            .iter()
            .find(|r| r.slot == quant && r.image == image)
            .ok_or_else(|| Error::InvalidArgument("the model's run is gone".into()))?;
        let explanation = crate::debug::explain(model, &run.interp, op_index, flat)?;
        let output_shape = run
            .interp
            .tensor_info(explanation.tensor_index)
            .map(|t| t.shape.clone())
            .unwrap_or_default();
        let float_value = match float {
            Some(f) => {
                let pairing = pair_models(self.slot_model(f)?, model)?;
                let twin = pairing
                    .float_tensor
                    .get(explanation.tensor_index)
                    .copied()
                    .flatten()
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "tensor {} has no float twin",
                            explanation.tensor_index
                        ))
                    })?;
                let run = self.kept_run(f, image)?;
                run.tensor::<f32>(twin)?.get(flat).copied()
            }
            None => None,
        };
        Ok(ExplainReport {
            explanation,
            float_value,
            image,
            output_shape,
        })
    }

    /// Operator `op_index`'s first output in `slot` on test image `image`.
    pub fn layer_output(
        &mut self,
        slot: &str,
        op_index: usize,
        image: usize,
    ) -> Result<LayerOutput> {
        let g = first_graph(self.slot_model(slot)?, "")?;
        let o = g.operators.get(op_index).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "operator {op_index} does not exist (the model has {})",
                g.operators.len()
            ))
        })?;
        let tensor_index = o
            .outputs
            .first()
            .and_then(|&t| usize::try_from(t).ok())
            .ok_or_else(|| Error::InvalidModel(format!("operator {op_index} has no output")))?;
        let interp = self.kept_run(slot, image)?;
        let info = interp.tensor_info(tensor_index).cloned().ok_or_else(|| {
            Error::InvalidArgument(format!("tensor {tensor_index} does not exist"))
        })?;
        let values: Vec<f64> = match info.dtype {
            TensorType::Int8 => interp
                .tensor::<i8>(tensor_index)?
                .iter()
                .map(|&v| v as f64)
                .collect(),
            TensorType::UInt8 => interp
                .tensor::<u8>(tensor_index)?
                .iter()
                .map(|&v| v as f64)
                .collect(),
            TensorType::Int32 => interp
                .tensor::<i32>(tensor_index)?
                .iter()
                .map(|&v| v as f64)
                .collect(),
            TensorType::Float32 => interp
                .tensor::<f32>(tensor_index)?
                .iter()
                .map(|&v| v as f64)
                .collect(),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "tensor {tensor_index} ({}) is {other}: not shown",
                    info.name
                )));
            }
        };
        Ok(LayerOutput {
            op_index,
            tensor_index,
            tensor_name: info.name.clone(),
            dtype: info.dtype.name().to_ascii_lowercase(),
            shape: info.shape.clone(),
            scale: info.scale,
            zero_point: info.zero_point,
            values,
            image,
        })
    }

    /// Convert the model in `float` to full integer keeping the operators `keep` names in float (an
    /// operator name such as `CONV_2D`, or an operator's output tensor name, as `ptq convert --deny`
    /// takes them) into [`SELECTIVE`], and keeping none into [`ALL_INT8`], both calibrated on the first
    /// `samples` representative images.
    pub fn convert_keeping_float(
        &mut self,
        float: &str,
        keep: &[String],
        samples: usize,
    ) -> Result<KeepFloatReport> {
        if !(1..=60_000).contains(&samples) {
            return Err(Error::InvalidArgument(format!(
                "representative samples must be 1–60000, got {samples}"
            )));
        }
        let model = self.slot_model(float)?;
        let pool: &[u8] = match (&self.train, &self.representative) {
            (Some(train), _) => &train.images,
            (None, Some(images)) => images,
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "no representative images loaded".into(),
                ));
            }
        };
        let calibration = calibrate_first(model, pool, IMAGE_LEN, samples)?;
        let resolved = resolve_keep_float(model, keep)?;
        let options = ConvertOptions::new(Mode::FullInteger);
        let selective = convert_keeping_float(model, &options, Some(&calibration), &resolved.ops)?;
        let all = convert_keeping_float(model, &options, Some(&calibration), &[])?;
        let (selective, all) = (write_model(&selective)?, write_model(&all)?);
        let selective = self.load_model(SELECTIVE, &selective)?;
        let all_int8 = self.load_model(ALL_INT8, &all)?;
        Ok(KeepFloatReport {
            kept: resolved.ops,
            ignored: resolved.ignored,
            samples: calibration.samples,
            selective,
            all_int8,
        })
    }
}

/// Parse `layer-wise` / `accumulated` (comma-separated).
pub fn parse_modes(text: &str) -> Result<Vec<ErrorMode>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "layer-wise" => Ok(ErrorMode::LayerWise),
            "accumulated" => Ok(ErrorMode::Accumulated),
            other => Err(Error::InvalidArgument(format!(
                "unknown error mode {other:?}: layer-wise or accumulated"
            ))),
        })
        .collect()
}
