//! Ranges and histograms on the integer grid: for each layer, the float values a tensor holds (a
//! conv or dense layer's weights, per output channel when they are quantized per channel; the
//! activations the float model produces on the representative images), the grid the quantized model
//! puts them on (its levels, the real range `[scale·(qmin − zp), scale·(qmax − zp)]`, where real 0
//! lands), how many values fall outside it and are clipped, and the distribution of the rounding error
//! `value − dequantize(quantize(value))`, which lies in `[−scale/2, scale/2]` for values inside.

use serde::Serialize;

use crate::debug::pairing::{pair_models, quantized_tensors};
use crate::error::{Error, Result};
use crate::eval::set_image;
use crate::interp::{FloatArithmetic, Interpreter, InterpreterOptions};
use crate::tflite::schema::{op, op_name};
use crate::tflite::{Model, TensorType};

/// Counts of values in `bins` equal bins over `[lo, hi]` (values at `hi` go into the last bin).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

impl Histogram {
    fn new(lo: f64, hi: f64, bins: usize) -> Histogram {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        Histogram {
            lo,
            hi,
            counts: vec![0; bins.max(1)],
        }
    }

    fn add(&mut self, v: f64) {
        if !v.is_finite() || v < self.lo || v > self.hi {
            return;
        }
        let n = self.counts.len();
        let bin = (((v - self.lo) / (self.hi - self.lo)) * n as f64) as usize;
        self.counts[bin.min(n - 1)] += 1;
    }
}

/// The integer grid of a tensor: `real = scale · (q − zero_point)` for `q` in `qmin..=qmax`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Grid {
    pub scale: f32,
    pub zero_point: i32,
    pub qmin: i32,
    pub qmax: i32,
    /// `scale · (qmin − zero_point)`: the smallest representable value.
    pub real_min: f64,
    /// `scale · (qmax − zero_point)`: the largest representable value.
    pub real_max: f64,
}

impl Grid {
    fn new(scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> Grid {
        Grid {
            scale,
            zero_point,
            qmin,
            qmax,
            real_min: scale as f64 * (qmin - zero_point) as f64,
            real_max: scale as f64 * (qmax - zero_point) as f64,
        }
    }

    /// `round(v / scale) + zero_point` (half away from zero), unclamped.
    fn level(&self, v: f64) -> f64 {
        (v / self.scale as f64).round() + self.zero_point as f64
    }
}

/// Whose values a histogram holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Weights,
    Activations,
}

/// One tensor (or one output channel of a weight tensor) on its grid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorHistogram {
    pub kind: Kind,
    /// The operator (in the quantized model) that reads these weights or writes these activations.
    pub op_index: usize,
    pub op_name: String,
    /// Tensor index in the quantized model.
    pub tensor_index: usize,
    pub tensor_name: String,
    /// The output channel, for weights quantized per channel.
    pub channel: Option<usize>,
    pub grid: Grid,
    /// Values seen.
    pub count: u64,
    pub min: f64,
    pub max: f64,
    /// The float values, over `[min(min, real_min), max(max, real_max)]`.
    pub values: Histogram,
    /// Values that quantize below `qmin` or above `qmax` (and are clamped there).
    pub clipped_below: u64,
    pub clipped_above: u64,
    /// `value − scale·(q − zero_point)` of the values not clipped, over `[−scale/2, scale/2]`.
    pub rounding_error: Histogram,
}

/// What a histogram is of.
struct Label {
    kind: Kind,
    op_index: usize,
    op_name: String,
    tensor_index: usize,
    tensor_name: String,
    channel: Option<usize>,
}

/// Running statistics of one tensor's values against its grid.
struct Collector {
    grid: Grid,
    min: f64,
    max: f64,
    count: u64,
    values: Option<Histogram>,
    clipped_below: u64,
    clipped_above: u64,
    rounding_error: Histogram,
}

impl Collector {
    fn new(grid: Grid, bins: usize) -> Collector {
        let half = grid.scale as f64 / 2.0;
        Collector {
            grid,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            count: 0,
            values: None,
            clipped_below: 0,
            clipped_above: 0,
            rounding_error: Histogram::new(-half, half, bins),
        }
    }

    /// First pass: the range.
    fn see(&mut self, v: f64) {
        if v.is_finite() {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    /// Second pass: the histograms (the range is known).
    fn add(&mut self, v: f64, bins: usize) {
        let g = self.grid;
        let (min, max) = (self.min, self.max);
        let values = self
            .values
            .get_or_insert_with(|| Histogram::new(min.min(g.real_min), max.max(g.real_max), bins));
        values.add(v);
        self.count += 1;
        let q = g.level(v);
        if q < g.qmin as f64 {
            self.clipped_below += 1;
        } else if q > g.qmax as f64 {
            self.clipped_above += 1;
        } else {
            self.rounding_error
                .add(v - g.scale as f64 * (q - g.zero_point as f64));
        }
    }

    fn finish(self, label: Label, bins: usize) -> TensorHistogram {
        let g = self.grid;
        TensorHistogram {
            kind: label.kind,
            op_index: label.op_index,
            op_name: label.op_name,
            tensor_index: label.tensor_index,
            tensor_name: label.tensor_name,
            channel: label.channel,
            grid: g,
            count: self.count,
            min: self.min,
            max: self.max,
            values: self
                .values
                .unwrap_or_else(|| Histogram::new(g.real_min, g.real_max, bins)),
            clipped_below: self.clipped_below,
            clipped_above: self.clipped_above,
            rounding_error: self.rounding_error,
        }
    }
}

fn f32s(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
}

/// The weights of every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED of `quant` whose weights are
/// int8: the float model's values (from `float`, the model `quant` was converted from) on the grid of
/// each output channel (or of the whole tensor for per-tensor weights).
pub fn weight_histograms(
    float: &Model,
    quant: &Model,
    bins: usize,
) -> Result<Vec<TensorHistogram>> {
    let pairing = pair_models(float, quant)?;
    let (fg, qg) = (&float.subgraphs[0], &quant.subgraphs[0]);
    let mut out = Vec::new();
    for pair in &pairing.ops {
        let qop = &qg.operators[pair.quant_op];
        if !matches!(
            qop.code,
            op::CONV_2D | op::DEPTHWISE_CONV_2D | op::FULLY_CONNECTED
        ) {
            continue;
        }
        let (Some(&qw), Some(&fw)) = (qop.inputs.get(1), fg.operators[pair.float_op].inputs.get(1))
        else {
            continue;
        };
        let (Some(qt), Some(ft)) = (
            usize::try_from(qw).ok().and_then(|i| qg.tensors.get(i)),
            usize::try_from(fw).ok().and_then(|i| fg.tensors.get(i)),
        ) else {
            continue;
        };
        let (Some(q), Some(data)) = (qt.quantization.as_ref(), float.tensor_data(ft)) else {
            continue;
        };
        if qt.dtype != TensorType::Int8 || ft.dtype != TensorType::Float32 || q.scale.is_empty() {
            continue;
        }
        let dims: Vec<usize> = ft.shape.iter().map(|&d| d.max(0) as usize).collect();
        let per_channel = q.scale.len() > 1;
        let axis = if per_channel {
            usize::try_from(q.quantized_dimension).unwrap_or(0)
        } else {
            0
        };
        let channels = if per_channel { q.scale.len() } else { 1 };
        if per_channel && dims.get(axis) != Some(&channels) {
            return Err(Error::InvalidModel(format!(
                "{}: {} scales for axis {axis} of shape {dims:?}",
                qt.name,
                q.scale.len()
            )));
        }
        // element i's channel: (i / inner) % channels, inner = product of the dims after the axis
        let inner: usize = dims.iter().skip(axis + 1).product();
        let channel_of = |i: usize| {
            if per_channel {
                (i / inner.max(1)) % channels
            } else {
                0
            }
        };
        // TF quantizes weights symmetrically on the narrow range −127..127
        let mut collectors: Vec<Collector> = (0..channels)
            .map(|c| {
                let zp = q.zero_point.get(c).copied().unwrap_or(0) as i32;
                Collector::new(Grid::new(q.scale[c], zp, -127, 127), bins)
            })
            .collect();
        for (i, v) in f32s(data).enumerate() {
            collectors[channel_of(i)].see(v);
        }
        for (i, v) in f32s(data).enumerate() {
            collectors[channel_of(i)].add(v, bins);
        }
        for (c, col) in collectors.into_iter().enumerate() {
            let label = Label {
                kind: Kind::Weights,
                op_index: pair.quant_op,
                op_name: op_name(qop.code),
                tensor_index: qw as usize,
                tensor_name: qt.name.clone(),
                channel: per_channel.then_some(c),
            };
            out.push(col.finish(label, bins));
        }
    }
    Ok(out)
}

/// The activations of every tensor `quant` computes in integers, as the float model produces them on
/// `images` (the representative images: the values calibration saw), on the quantized tensor's grid.
/// Runs the float model twice over the images (range, then histograms); `progress(done, total)` counts
/// both passes and may cancel.
pub fn activation_histograms(
    float: &Model,
    quant: &Model,
    images: &[u8],
    image_len: usize,
    bins: usize,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<Vec<TensorHistogram>> {
    if image_len == 0 || images.is_empty() || !images.len().is_multiple_of(image_len) {
        return Err(Error::InvalidArgument(format!(
            "histograms need whole images of {image_len} pixels, got {} bytes",
            images.len()
        )));
    }
    let pairing = pair_models(float, quant)?;
    let qg = &quant.subgraphs[0];
    let tensors = quantized_tensors(qg, &pairing);
    let mut collectors: Vec<Collector> = tensors
        .iter()
        .map(|t| Collector::new(Grid::new(t.scale, t.zero_point, t.qmin, t.qmax), bins))
        .collect();
    // the float kernels calibration runs, so the values are the ones the ranges came from
    let options = InterpreterOptions {
        preserve_all_tensors: true,
        float_arithmetic: FloatArithmetic::TfCalibrator,
        ..Default::default()
    };
    let mut run = Interpreter::with_options(float, options)?;
    let n = images.len() / image_len;
    for pass in 0..2 {
        for (k, image) in images.chunks_exact(image_len).enumerate() {
            set_image(&mut run, image)?;
            run.invoke()?;
            for (t, col) in tensors.iter().zip(collectors.iter_mut()) {
                for &v in run.tensor::<f32>(t.float_tensor)? {
                    if pass == 0 {
                        col.see(v as f64);
                    } else {
                        col.add(v as f64, bins);
                    }
                }
            }
            if !progress(pass * n + k + 1, 2 * n) {
                return Err(Error::Cancelled);
            }
        }
    }
    Ok(tensors
        .iter()
        .zip(collectors)
        .map(|(t, col)| {
            let label = Label {
                kind: Kind::Activations,
                op_index: t.op_index,
                op_name: op_name(qg.operators[t.op_index].code),
                tensor_index: t.tensor,
                tensor_name: qg.tensors[t.tensor].name.clone(),
                channel: None,
            };
            col.finish(label, bins)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_on_a_grid_are_counted_clipped_and_rounded() {
        let grid = Grid::new(0.5, 0, -2, 2); // levels −1.0 … 1.0
        let mut c = Collector::new(grid, 4);
        let values = [-2.0, -1.0, -0.2, 0.0, 0.26, 0.74, 1.0, 1.3];
        for v in values {
            c.see(v);
        }
        for v in values {
            c.add(v, 4);
        }
        let label = Label {
            kind: Kind::Activations,
            op_index: 0,
            op_name: "X".into(),
            tensor_index: 0,
            tensor_name: "t".into(),
            channel: None,
        };
        let h = c.finish(label, 4);
        assert_eq!((h.min, h.max), (-2.0, 1.3));
        assert_eq!(h.count, 8);
        // −2.0 → level −4 (below −2); 1.3 → round(2.6) = 3 (above 2)
        assert_eq!((h.clipped_below, h.clipped_above), (1, 1));
        assert_eq!(h.rounding_error.counts.iter().sum::<u64>(), 6);
        // the value histogram spans the data and the grid: [−2.0, 1.3]
        assert_eq!((h.values.lo, h.values.hi), (-2.0, 1.3));
        assert_eq!(h.values.counts.iter().sum::<u64>(), 8);
        // errors: −1.0→0, −0.2→−0.2, 0→0, 0.26→−0.24, 0.74→0.24, 1.0→0 over [−0.25, 0.25] in 4 bins
        assert_eq!(h.rounding_error.counts, vec![2, 0, 3, 1]);
    }
}
