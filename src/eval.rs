//! Running a model on MNIST images and scoring it, for the `ptq` CLI and the web page's session alike:
//! encode a 28×28 u8 image into the model's input the documented way, run it, read the prediction, and
//! score a dataset (accuracy, confusion matrix, where two models disagree, raw outputs).

use serde::Serialize;

use crate::data::Dataset;
use crate::data::mnist::NUM_CLASSES;
use crate::error::{Error, Result};
use crate::interp::{Interpreter, TensorInfo};
use crate::tflite::TensorType;

/// `round(pixel / 255 / scale) + zero_point` clamped to `[lo, hi]` (computed in double).
fn quantize_pixel(pixel: u8, scale: f32, zero_point: i32, (lo, hi): (i32, i32)) -> i32 {
    let q = (pixel as f64 / 255.0 / scale as f64).round() + zero_point as f64;
    q.clamp(lo as f64, hi as f64) as i32
}

/// Encodes u8 pixels into a model's input 0 as the tutorial and the LiteRT cross-checks do:
///
/// - float input: `pixel / 255` in float32;
/// - quantized input (uint8, int8, int16) with (scale, zero point):
///   `q = round(pixel / 255 / scale) + zero_point`, clamped to the type. For the tutorial's scale 1/255 this is `pixel` for uint8 (zero point 0) and
///   `pixel − 128` for int8 (zero point −128).
///
/// A 256-entry table is built once from the input's type and quantization, so encoding an image is one
/// lookup per pixel.
#[derive(Clone, Debug)]
pub struct ImageEncoder {
    table: Table,
    /// Pixels per image (the input's element count).
    len: usize,
    name: String,
    shape: Vec<usize>,
}

#[derive(Clone, Debug)]
enum Table {
    F32(Box<[f32; 256]>),
    U8(Box<[u8; 256]>),
    I8(Box<[i8; 256]>),
    I16(Box<[i16; 256]>),
}

impl ImageEncoder {
    /// The encoder for an input described by `info` (float32, uint8, int8 or int16).
    pub fn new(info: &TensorInfo) -> Result<ImageEncoder> {
        let quant = || -> Result<(f32, i32)> {
            if info.scale.is_finite() && info.scale > 0.0 {
                Ok((info.scale, info.zero_point))
            } else {
                Err(Error::InvalidArgument(format!(
                    "the {} input {} has no quantization parameters",
                    info.dtype, info.name
                )))
            }
        };
        let table = match info.dtype {
            TensorType::Float32 => Table::F32(Box::new(std::array::from_fn(|p| p as f32 / 255.0))),
            TensorType::UInt8 => {
                let (s, z) = quant()?;
                Table::U8(Box::new(std::array::from_fn(|p| {
                    quantize_pixel(p as u8, s, z, (0, 255)) as u8
                })))
            }
            TensorType::Int8 => {
                let (s, z) = quant()?;
                Table::I8(Box::new(std::array::from_fn(|p| {
                    quantize_pixel(p as u8, s, z, (-128, 127)) as i8
                })))
            }
            TensorType::Int16 => {
                let (s, z) = quant()?;
                Table::I16(Box::new(std::array::from_fn(|p| {
                    quantize_pixel(p as u8, s, z, (-32768, 32767)) as i16
                })))
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "cannot encode an image as {other}"
                )));
            }
        };
        Ok(ImageEncoder {
            table,
            len: info.num_elements(),
            name: info.name.clone(),
            shape: info.shape.clone(),
        })
    }

    /// Encoder for input 0 of `interp`.
    pub fn for_input(interp: &Interpreter) -> Result<ImageEncoder> {
        let info = interp
            .inputs()
            .first()
            .ok_or_else(|| Error::InvalidArgument("the model has no input".into()))?;
        ImageEncoder::new(info)
    }

    /// Write `pixels` (row-major u8) into input 0 of `interp`.
    pub fn encode(&self, interp: &mut Interpreter, pixels: &[u8]) -> Result<()> {
        if pixels.len() != self.len {
            return Err(Error::InvalidArgument(format!(
                "the model input {} has shape {:?} ({} values) but the image has {} pixels",
                self.name,
                self.shape,
                self.len,
                pixels.len()
            )));
        }
        match &self.table {
            Table::F32(t) => interp
                .input_mut::<f32>(0)?
                .iter_mut()
                .zip(pixels)
                .for_each(|(d, &p)| *d = t[p as usize]),
            Table::U8(t) => interp
                .input_mut::<u8>(0)?
                .iter_mut()
                .zip(pixels)
                .for_each(|(d, &p)| *d = t[p as usize]),
            Table::I8(t) => interp
                .input_mut::<i8>(0)?
                .iter_mut()
                .zip(pixels)
                .for_each(|(d, &p)| *d = t[p as usize]),
            Table::I16(t) => interp
                .input_mut::<i16>(0)?
                .iter_mut()
                .zip(pixels)
                .for_each(|(d, &p)| *d = t[p as usize]),
        }
        Ok(())
    }

    /// Encode `pixels`, invoke, and return the argmax of output 0.
    pub fn classify(&self, interp: &mut Interpreter, pixels: &[u8]) -> Result<usize> {
        self.encode(interp, pixels)?;
        interp.invoke()?;
        argmax_output(interp)
    }

    /// Encode `pixels`, invoke, and return the whole [`Prediction`].
    pub fn predict(&self, interp: &mut Interpreter, pixels: &[u8]) -> Result<Prediction> {
        self.encode(interp, pixels)?;
        interp.invoke()?;
        Prediction::read(interp)
    }
}

/// Write `pixels` (row-major u8) into input 0 of `interp`, encoded for its type. Builds an
/// [`ImageEncoder`] each time; loops should build one and reuse it.
pub fn set_image(interp: &mut Interpreter, pixels: &[u8]) -> Result<()> {
    ImageEncoder::for_input(interp)?.encode(interp, pixels)
}

/// Index of the largest value of output 0 (the first one on ties, like `numpy.argmax`). For integer
/// outputs the raw values are compared: dequantization with a positive scale keeps the order.
pub fn argmax_output(interp: &Interpreter) -> Result<usize> {
    fn first_max<T: PartialOrd + Copy>(v: &[T]) -> usize {
        let mut best = 0;
        for (i, x) in v.iter().enumerate() {
            if *x > v[best] {
                best = i;
            }
        }
        best
    }
    let dtype = interp
        .outputs()
        .first()
        .map(|o| o.dtype)
        .ok_or_else(|| Error::InvalidArgument("the model has no output".into()))?;
    Ok(match dtype {
        TensorType::Float32 => first_max(interp.output::<f32>(0)?),
        TensorType::Int8 => first_max(interp.output::<i8>(0)?),
        TensorType::UInt8 => first_max(interp.output::<u8>(0)?),
        TensorType::Int16 => first_max(interp.output::<i16>(0)?),
        other => {
            return Err(Error::InvalidArgument(format!(
                "cannot take the argmax of a {other} output"
            )));
        }
    })
}

/// An input's or output's type, shape and quantization, as the tutorial prints them (`uint8`,
/// `[1, 10]`, scale, zero point).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IoDetails {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub scale: f32,
    pub zero_point: i32,
}

impl From<&TensorInfo> for IoDetails {
    fn from(t: &TensorInfo) -> IoDetails {
        IoDetails {
            dtype: t.dtype.name().to_ascii_lowercase(),
            shape: t.shape.clone(),
            scale: t.scale,
            zero_point: t.zero_point,
        }
    }
}

/// One classified image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// The argmax of output 0.
    pub class: usize,
    /// Softmax of the (dequantized) output.
    pub probabilities: Vec<f32>,
    /// The raw output values as numbers (uint8/int8 codes for quantized outputs, floats otherwise).
    pub raw: Vec<f64>,
    pub output: IoDetails,
}

impl Prediction {
    /// The prediction in output 0 of `interp`, after `invoke`.
    fn read(interp: &Interpreter) -> Result<Prediction> {
        let out = interp
            .outputs()
            .first()
            .ok_or_else(|| Error::InvalidArgument("the model has no output".into()))?;
        let values = interp.output_dequantized(0)?;
        let raw: Vec<f64> = match out.dtype {
            TensorType::UInt8 => interp.output::<u8>(0)?.iter().map(|&v| v as f64).collect(),
            TensorType::Int8 => interp.output::<i8>(0)?.iter().map(|&v| v as f64).collect(),
            TensorType::Int16 => interp.output::<i16>(0)?.iter().map(|&v| v as f64).collect(),
            _ => values.iter().map(|&v| v as f64).collect(),
        };
        Ok(Prediction {
            class: argmax_output(interp)?,
            probabilities: softmax(&values),
            raw,
            output: out.into(),
        })
    }
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|&v| v / sum).collect()
}

/// Encode `pixels`, invoke, and return the prediction. Builds an [`ImageEncoder`] each time; loops
/// should build one and use [`ImageEncoder::predict`].
pub fn predict(interp: &mut Interpreter, pixels: &[u8]) -> Result<Prediction> {
    ImageEncoder::for_input(interp)?.predict(interp, pixels)
}

/// Accuracy over a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
}

impl Accuracy {
    /// Fraction correct in [0, 1] (0 for an empty dataset).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// How often `progress` is called (every this many images, and at the end).
pub const PROGRESS_EVERY: usize = 100;

/// Classify every image of `data` (one image per invoke) and count the correct ones. `progress(done,
/// total)` is called every [`PROGRESS_EVERY`] images and at the end; returning `false` cancels with
/// [`Error::Cancelled`].
pub fn accuracy(
    interp: &mut Interpreter,
    data: &Dataset,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<Accuracy> {
    let total = data.len();
    let encoder = ImageEncoder::for_input(interp)?;
    let mut correct = 0;
    for i in 0..total {
        if encoder.classify(interp, data.image(i))? == data.labels[i] as usize {
            correct += 1;
        }
        if ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == total) && !progress(i + 1, total) {
            return Err(Error::Cancelled);
        }
    }
    Ok(Accuracy { correct, total })
}

/// Raw output 0 for every image of `images` (consecutive images of `image_len` pixels), concatenated:
/// what `ptq predict --raw` writes and what the reference `*.ref.*` files hold.
pub fn raw_outputs(
    interp: &mut Interpreter,
    images: &[u8],
    image_len: usize,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<Vec<u8>> {
    if image_len == 0 || !images.len().is_multiple_of(image_len) {
        return Err(Error::InvalidArgument(format!(
            "{} pixels are not whole images of {image_len}",
            images.len()
        )));
    }
    let total = images.len() / image_len;
    let encoder = ImageEncoder::for_input(interp)?;
    let mut out = Vec::new();
    for (i, image) in images.chunks_exact(image_len).enumerate() {
        encoder.encode(interp, image)?;
        interp.invoke()?;
        out.extend_from_slice(&interp.output_bytes(0)?);
        if ((i + 1) % PROGRESS_EVERY == 0 || i + 1 == total) && !progress(i + 1, total) {
            return Err(Error::Cancelled);
        }
    }
    Ok(out)
}

/// Predicted digits scored against their labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    /// Correct predictions out of all labels.
    pub accuracy: Accuracy,
    /// `confusion[label][prediction]`: how many images of each digit went to each class (10×10).
    pub confusion: Vec<Vec<u32>>,
}

/// Score `predictions` (one digit per image) against `labels`. Images past the shorter of the two are
/// not counted as correct; a prediction that is not a digit counts as wrong and lands in no cell.
pub fn score(predictions: &[u8], labels: &[u8]) -> Score {
    let mut confusion = vec![vec![0u32; NUM_CLASSES]; NUM_CLASSES];
    let mut correct = 0;
    for (&p, &y) in predictions.iter().zip(labels) {
        if let Some(cell) = confusion
            .get_mut(y as usize)
            .and_then(|row| row.get_mut(p as usize))
        {
            *cell += 1;
        }
        correct += (p == y) as usize;
    }
    Score {
        accuracy: Accuracy {
            correct,
            total: labels.len(),
        },
        confusion,
    }
}

/// Where two models' predictions differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Fraction of the `total` images where they agree.
    pub agreement: f64,
    /// Indices of the images where they do not.
    pub disagreements: Vec<usize>,
}

/// Compare two models' predictions over `total` images.
pub fn compare(a: &[u8], b: &[u8], total: usize) -> Comparison {
    let disagreements: Vec<usize> = a
        .iter()
        .zip(b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .collect();
    Comparison {
        agreement: 1.0 - disagreements.len() as f64 / total.max(1) as f64,
        disagreements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_encoding() {
        let s = 1.0f32 / 255.0;
        // uint8, zp 0: identity; int8, zp −128: pixel − 128.
        for p in [0u8, 1, 127, 128, 254, 255] {
            assert_eq!(quantize_pixel(p, s, 0, (0, 255)), p as i32);
            assert_eq!(quantize_pixel(p, s, -128, (-128, 127)), p as i32 - 128);
        }
        // The float32 value of 1/255 the converter writes (0.003921569) gives the same.
        for p in 0..=255u8 {
            assert_eq!(
                quantize_pixel(p, 0.003921569, -128, (-128, 127)),
                p as i32 - 128
            );
        }
        // A coarser scale: 4/255 → round(p/4): 7 → 1.75 → 2; 5 → 1.25 → 1.
        assert_eq!(quantize_pixel(7, 4.0 / 255.0, 0, (0, 255)), 2);
        assert_eq!(quantize_pixel(5, 4.0 / 255.0, 0, (0, 255)), 1);
        assert_eq!(quantize_pixel(255, 0.5 / 255.0, 0, (0, 255)), 255);
    }

    #[test]
    fn score_counts_cells_and_correct_predictions() {
        // labels 3, 3, 7, 0; predictions 3, 5, 7, 12 (not a digit)
        let s = score(&[3, 5, 7, 12], &[3, 3, 7, 0]);
        assert_eq!(
            s.accuracy,
            Accuracy {
                correct: 2,
                total: 4
            }
        );
        assert_eq!(s.accuracy.fraction(), 0.5);
        assert_eq!((s.confusion.len(), s.confusion[0].len()), (10, 10));
        assert_eq!(
            (s.confusion[3][3], s.confusion[3][5], s.confusion[7][7]),
            (1, 1, 1)
        );
        assert_eq!(s.confusion.iter().flatten().sum::<u32>(), 3);
        assert_eq!(score(&[], &[]).accuracy.fraction(), 0.0);
    }

    #[test]
    fn compare_lists_disagreements_in_order() {
        let c = compare(&[1, 2, 3, 4, 5], &[1, 0, 3, 0, 5], 5);
        assert_eq!(c.disagreements, vec![1, 3]);
        assert_eq!(c.agreement, 1.0 - 2.0 / 5.0);
        assert_eq!(compare(&[], &[], 0).agreement, 1.0);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_the_order() {
        let p = softmax(&[1.0, 3.0, 2.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[2] && p[2] > p[0]);
        // large values do not overflow: the maximum is subtracted first
        assert!(softmax(&[1000.0, 1000.0]).iter().all(|&v| v == 0.5));
    }
}
