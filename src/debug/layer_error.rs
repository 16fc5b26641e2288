//! Per-layer quantization error, as TensorFlow's `tf.lite.experimental.QuantizationDebugger` measures it:
//! for every tensor the quantized model computes (each operator's quantized output), the difference
//! `dequantized quantized value − float value`, summarized per image by TF's five default metrics
//! (`num_elements`, `stddev`, `mean_error`, `max_abs_error`, `mean_squared_error`) and averaged over the
//! images; plus the two its tutorial derives (`range` = 255 × scale, `rmse/scale`, ideally 1/√12 ≈
//! 0.289) and the signal-to-quantization-noise ratio.
//!
//! Two modes. Layer-wise (TF's default): each operator's float twin is fed the dequantized inputs the
//! quantized model computed, so a layer's figures are its own error. Accumulated: the float model runs
//! end to end beside the quantized one, so each figure holds the error of every layer before it too.

use serde::Serialize;

use crate::debug::pairing::{QuantizedTensor, pair_models, quant_params, quantized_tensors};
use crate::error::{Error, Result};
use crate::eval::set_image;
use crate::interp::{Interpreter, InterpreterOptions};
use crate::tflite::schema::op_name;
use crate::tflite::{Model, Operator, Subgraph, TensorType};

/// Which float values the quantized ones are compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorMode {
    /// Each float operator is fed the dequantized quantized inputs: the layer's own error.
    LayerWise,
    /// Float model end to end against quantized model end to end: the error accumulated so far.
    Accumulated,
}

/// One quantized tensor's error, averaged over the images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerError {
    /// Operator index in the quantized model.
    pub op_index: usize,
    /// The operator that writes the tensor (`CONV_2D`).
    pub op_name: String,
    /// Tensor index in the quantized model.
    pub tensor_index: usize,
    pub tensor_name: String,
    pub scale: f32,
    pub zero_point: i32,
    pub num_elements: f64,
    /// Standard deviation of the differences (population, as `numpy.std`).
    pub stddev: f64,
    /// Mean of `dequantized − float`.
    pub mean_error: f64,
    pub max_abs_error: f64,
    pub mean_squared_error: f64,
    /// The representable range: `(qmax − qmin) × scale` (255 × scale for 8 bits).
    pub range: f64,
    /// √mean_squared_error / scale: 1/√12 ≈ 0.289 is pure rounding error, more means clipping or
    /// error carried in from the inputs.
    #[serde(rename = "rmse/scale")]
    pub rmse_over_scale: f64,
    /// 10·log10(Σ float² / Σ (dequantized − float)²) over all images; `None` when there is no error
    /// at all (infinite).
    pub sqnr_db: Option<f64>,
}

/// The per-layer report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerErrorReport {
    pub mode: ErrorMode,
    /// Images compared.
    pub images: usize,
    /// One entry per quantized tensor an operator writes, in operator order.
    pub layers: Vec<LayerError>,
}

/// Running sums for one layer.
#[derive(Clone, Debug, Default)]
struct Sums {
    num_elements: f64,
    stddev: f64,
    mean_error: f64,
    max_abs_error: f64,
    mean_squared_error: f64,
    signal: f64,
    noise: f64,
}

impl Sums {
    /// Add one image's differences (`quant − float`) and float values.
    fn add(&mut self, dequantized: &[f32], float: &[f32]) {
        let n = dequantized.len() as f64;
        if n == 0.0 {
            return;
        }
        let (mut sum, mut sum_sq, mut max_abs, mut signal) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (&q, &f) in dequantized.iter().zip(float) {
            let d = (q - f) as f64;
            sum += d;
            sum_sq += d * d;
            max_abs = max_abs.max(d.abs());
            signal += f as f64 * f as f64;
        }
        let mean = sum / n;
        let variance = dequantized
            .iter()
            .zip(float)
            .map(|(&q, &f)| {
                let c = (q - f) as f64 - mean;
                c * c
            })
            .sum::<f64>()
            / n;
        self.num_elements += n;
        self.stddev += variance.sqrt();
        self.mean_error += mean;
        self.max_abs_error += max_abs;
        self.mean_squared_error += sum_sq / n;
        self.signal += signal;
        self.noise += sum_sq;
    }
}

/// Dequantize tensor `index` of `interp` (int8, uint8 or int16) as TFLite's DEQUANTIZE reference kernel
/// does: `scale × (q − zero_point)` in double, rounded to float.
fn dequantize(interp: &Interpreter, index: usize, scale: f32, zero_point: i32) -> Result<Vec<f32>> {
    let f = |q: i32| (scale as f64 * (q - zero_point) as f64) as f32;
    let info = interp
        .tensor_info(index)
        .ok_or_else(|| Error::InvalidArgument(format!("tensor {index} does not exist")))?;
    Ok(match info.dtype {
        TensorType::Int8 => interp
            .tensor::<i8>(index)?
            .iter()
            .map(|&q| f(q as i32))
            .collect(),
        TensorType::UInt8 => interp
            .tensor::<u8>(index)?
            .iter()
            .map(|&q| f(q as i32))
            .collect(),
        TensorType::Int16 => interp
            .tensor_bytes(index)?
            .chunks_exact(2)
            .map(|b| f(i16::from_le_bytes([b[0], b[1]]) as i32))
            .collect(),
        other => {
            return Err(Error::InvalidArgument(format!(
                "tensor {index} ({}) is {other}, not quantized",
                info.name
            )));
        }
    })
}

/// Where each input of a layer's float twin comes from.
#[derive(Clone, Debug)]
enum Feed {
    /// A graph input fed with the dequantized quantized tensor (its index and parameters).
    Dequantized(usize, f32, i32),
    /// A graph input fed with the quantized model's float tensor as it is.
    Float(usize),
}

/// A layer's float operator alone in a model, run on the quantized model's inputs (layer-wise mode).
struct Twin {
    interp: Interpreter,
    feeds: Vec<Feed>,
}

impl Twin {
    /// The float operator `float_op` alone; its activation inputs become graph inputs fed from the
    /// quantized model's tensors, its other inputs (weights, and shapes the graph computes) constants
    /// with the float model's values.
    fn new(
        float: &Model,
        float_run: &Interpreter,
        quant: &Subgraph,
        quant_op: &Operator,
        float_op: &Operator,
    ) -> Result<Twin> {
        let fg = &float.subgraphs[0];
        let mut model = Model::default();
        let mut g = Subgraph::default();
        let mut feeds = Vec::new();
        let mut remap = |t: i32,
                         model: &mut Model,
                         g: &mut Subgraph,
                         input: Option<i32>|
         -> Result<i32> {
            let Ok(ti) = usize::try_from(t) else {
                return Ok(-1);
            };
            let mut tensor = fg
                .tensors
                .get(ti)
                .cloned()
                .ok_or_else(|| Error::InvalidModel(format!("tensor {t} does not exist")))?;
            let data = float.tensor_data(&tensor).map(<[u8]>::to_vec);
            tensor.buffer = 0;
            let new = g.tensors.len() as i32;
            match (data, input) {
                (Some(bytes), _) => tensor.buffer = model.add_buffer(bytes),
                (None, Some(q)) => {
                    let qt = usize::try_from(q)
                        .ok()
                        .and_then(|q| quant.tensors.get(q).map(|t| (q, t)));
                    match qt {
                        Some((qi, qt)) if tensor.dtype == TensorType::Float32 => {
                            if let Some((scale, zp, _)) = quant_params(qt) {
                                feeds.push(Feed::Dequantized(qi, scale, zp));
                            } else if qt.dtype == TensorType::Float32 {
                                feeds.push(Feed::Float(qi));
                            } else {
                                return Err(Error::InvalidArgument(format!(
                                    "tensor {qi} ({}) of the quantized model is {}: no float value \
                                     to feed {}",
                                    qt.name,
                                    qt.dtype,
                                    op_name(float_op.code)
                                )));
                            }
                            g.inputs.push(new);
                        }
                        _ => {
                            // computed in the float graph but not an activation (a shape): constant
                            tensor.buffer = model.add_buffer(float_run.tensor_bytes(ti)?);
                        }
                    }
                }
                (None, None) => {}
            }
            g.tensors.push(tensor);
            Ok(new)
        };
        let mut inputs = Vec::new();
        for (&f, &q) in float_op.inputs.iter().zip(&quant_op.inputs) {
            inputs.push(remap(f, &mut model, &mut g, Some(q))?);
        }
        let mut outputs = Vec::new();
        for &f in &float_op.outputs {
            outputs.push(remap(f, &mut model, &mut g, None)?);
        }
        g.outputs = outputs.clone();
        g.operators.push(Operator {
            inputs,
            outputs,
            ..float_op.clone()
        });
        model.subgraphs.push(g);
        let interp = Interpreter::with_options(
            &model,
            InterpreterOptions {
                preserve_all_tensors: true,
                ..Default::default()
            },
        )?;
        Ok(Twin { interp, feeds })
    }

    /// Run on the quantized model's current tensors; returns the float output 0.
    fn run(&mut self, quant_run: &Interpreter) -> Result<Vec<f32>> {
        for (i, feed) in self.feeds.iter().enumerate() {
            match *feed {
                Feed::Dequantized(t, scale, zp) => {
                    let values = dequantize(quant_run, t, scale, zp)?;
                    self.interp.set_input(i, &values)?;
                }
                Feed::Float(t) => {
                    let values = quant_run.tensor::<f32>(t)?.to_vec();
                    self.interp.set_input(i, &values)?;
                }
            }
        }
        self.interp.invoke()?;
        Ok(self.interp.output_f32(0)?.to_vec())
    }
}

/// A quantized tensor under comparison, with its running sums.
struct Layer {
    t: QuantizedTensor,
    sums: Sums,
}

/// The comparison of `quant` with `float` (the model it was converted from), one image at a time:
/// what [`layer_errors`] runs, for callers that step it themselves (the page's worker, which must
/// stay responsive between images).
pub struct LayerErrors {
    float: Model,
    quant: Model,
    mode: ErrorMode,
    float_run: Interpreter,
    quant_run: Interpreter,
    layers: Vec<Layer>,
    /// Each layer's float operator alone (layer-wise mode), built on the first image.
    twins: Vec<Twin>,
    images: usize,
}

impl LayerErrors {
    /// Pair the models and plan both (with every tensor kept); the comparison keeps its own copies.
    pub fn new(float: &Model, quant: &Model, mode: ErrorMode) -> Result<LayerErrors> {
        let pairing = pair_models(float, quant)?;
        let options = InterpreterOptions {
            preserve_all_tensors: true,
            ..Default::default()
        };
        let layers = quantized_tensors(&quant.subgraphs[0], &pairing)
            .into_iter()
            .map(|t| Layer {
                t,
                sums: Sums::default(),
            })
            .collect();
        Ok(LayerErrors {
            float: float.clone(),
            quant: quant.clone(),
            mode,
            float_run: Interpreter::with_options(float, options)?,
            quant_run: Interpreter::with_options(quant, options)?,
            layers,
            twins: Vec::new(),
            images: 0,
        })
    }

    /// Images added so far.
    pub fn images(&self) -> usize {
        self.images
    }

    /// Run both models on one image (u8 pixels, encoded for each as `eval` does) and add every
    /// layer's differences.
    pub fn add_image(&mut self, image: &[u8]) -> Result<()> {
        let (qg, fg) = (&self.quant.subgraphs[0], &self.float.subgraphs[0]);
        set_image(&mut self.float_run, image)?;
        self.float_run.invoke()?;
        set_image(&mut self.quant_run, image)?;
        self.quant_run.invoke()?;
        if self.mode == ErrorMode::LayerWise && self.twins.is_empty() {
            for layer in &self.layers {
                self.twins.push(Twin::new(
                    &self.float,
                    &self.float_run,
                    qg,
                    &qg.operators[layer.t.op_index],
                    &fg.operators[layer.t.float_op],
                )?);
            }
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let t = &layer.t;
            let dequantized = dequantize(&self.quant_run, t.tensor, t.scale, t.zero_point)?;
            let reference = match self.mode {
                ErrorMode::LayerWise => self.twins[i].run(&self.quant_run)?,
                ErrorMode::Accumulated => self.float_run.tensor::<f32>(t.float_tensor)?.to_vec(),
            };
            if reference.len() != dequantized.len() {
                return Err(Error::InvalidArgument(format!(
                    "tensor {} has {} values in the quantized model but {} in the float model",
                    t.tensor,
                    dequantized.len(),
                    reference.len()
                )));
            }
            layer.sums.add(&dequantized, &reference);
        }
        self.images += 1;
        Ok(())
    }

    /// The report over the images added so far (TF's per-image metrics averaged over them).
    pub fn report(&self) -> LayerErrorReport {
        let qg = &self.quant.subgraphs[0];
        let images = self.images.max(1) as f64;
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let (s, l) = (&l.sums, &l.t);
                let mse = s.mean_squared_error / images;
                LayerError {
                    op_index: l.op_index,
                    op_name: op_name(qg.operators[l.op_index].code),
                    tensor_index: l.tensor,
                    tensor_name: qg.tensors[l.tensor].name.clone(),
                    scale: l.scale,
                    zero_point: l.zero_point,
                    num_elements: s.num_elements / images,
                    stddev: s.stddev / images,
                    mean_error: s.mean_error / images,
                    max_abs_error: s.max_abs_error / images,
                    mean_squared_error: mse,
                    range: (l.qmax - l.qmin) as f64 * l.scale as f64,
                    rmse_over_scale: mse.sqrt() / l.scale as f64,
                    sqnr_db: (s.noise > 0.0).then(|| 10.0 * (s.signal / s.noise).log10()),
                }
            })
            .collect();
        LayerErrorReport {
            mode: self.mode,
            images: self.images,
            layers,
        }
    }
}

/// Compare `quant` with `float` (the model it was converted from) on `images` (u8 pixels, `image_len`
/// per image, encoded for each model as `eval` does). `progress(done, total)` is called after each image;
/// returning `false` cancels.
pub fn layer_errors(
    float: &Model,
    quant: &Model,
    images: &[u8],
    image_len: usize,
    mode: ErrorMode,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<LayerErrorReport> {
    if image_len == 0 || images.is_empty() || !images.len().is_multiple_of(image_len) {
        return Err(Error::InvalidArgument(format!(
            "the comparison needs whole images of {image_len} pixels, got {} bytes",
            images.len()
        )));
    }
    let mut errors = LayerErrors::new(float, quant, mode)?;
    let total = images.len() / image_len;
    for (n, image) in images.chunks_exact(image_len).enumerate() {
        errors.add_image(image)?;
        if !progress(n + 1, total) {
            return Err(Error::Cancelled);
        }
    }
    Ok(errors.report())
}
