//! MNIST evaluation helpers: encode a 28×28 u8 image into a model's input the documented way, run it,
//! read the raw output and its argmax, and measure accuracy over a dataset.
//!
//! Input encoding (what the tutorial and `litert_outputs.py` do):
//!
//! - float input: `pixel / 255` in float32;
//! - quantized input with (scale, zero point): `q = round(pixel / 255 / scale) + zero_point`, clamped
//!   to the type. For the tutorial's scale 1/255 this is `pixel` for uint8 (zero point 0) and
//!   `pixel − 128` for int8 (zero point −128).

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::interp::interpreter::Interpreter;
use crate::interp::tensor::TensorInfo;
use crate::tflite::TensorType;

/// `round(pixel / 255 / scale) + zero_point` clamped to `[lo, hi]` (computed in double).
fn quantize_pixel(pixel: u8, scale: f32, zero_point: i32, (lo, hi): (i32, i32)) -> i32 {
    let q = (pixel as f64 / 255.0 / scale as f64).round() + zero_point as f64;
    q.clamp(lo as f64, hi as f64) as i32
}

/// Encodes u8 pixels into a model's input 0: a 256-entry table built once from the input's type and
/// quantization, so encoding an image is one lookup per pixel.
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
}

impl ImageEncoder {
    /// The encoder for an input described by `info` (float32, uint8 or int8).
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
        }
        Ok(())
    }
}

/// Write `pixels` (row-major u8) into input 0 of `interp`, encoded for its type. Builds an
/// [`ImageEncoder`] each time; loops should build one and reuse it.
pub fn set_image(interp: &mut Interpreter, pixels: &[u8]) -> Result<()> {
    ImageEncoder::for_input(interp)?.encode(interp, pixels)
}

/// Index of the largest value of output 0 (the first one on ties, like `numpy.argmax`). For int8/uint8
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
        other => {
            return Err(Error::InvalidArgument(format!(
                "cannot take the argmax of a {other} output"
            )));
        }
    })
}

/// One classified image.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Output 0 as little-endian bytes of its type.
    pub raw: Vec<u8>,
    /// Its argmax.
    pub class: usize,
}

/// Encode `pixels`, invoke, and return the raw output and its argmax.
pub fn predict(interp: &mut Interpreter, pixels: &[u8]) -> Result<Prediction> {
    set_image(interp, pixels)?;
    interp.invoke()?;
    Ok(Prediction {
        raw: interp.output_bytes(0)?,
        class: argmax_output(interp)?,
    })
}

/// Accuracy over a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
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
        encoder.encode(interp, data.image(i))?;
        interp.invoke()?;
        if argmax_output(interp)? == data.labels[i] as usize {
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
}
