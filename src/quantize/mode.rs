//! The conversions a float model can go through (the tutorial's five, float16, 16x8), their names and
//! files, the options every conversion takes, and which conversion made a given model.

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::tflite::schema::op;
use crate::tflite::{Model, TensorType};

/// Type of the model's inputs and outputs in integer-only mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IoType {
    UInt8,
    Int8,
}

/// The tutorial's conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    Float,
    DynamicRange,
    FullInteger,
    IntegerOnly(IoType),
    /// Weights stored as float16 (TF's `target_spec.supported_types = [tf.float16]`).
    Float16,
    /// int16 activations, int8 weights, int64 biases (TF's
    /// `EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8`), with float or int16 input and
    /// output.
    Int16x8(Int16Io),
}

/// Input and output type of a 16x8 model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Int16Io {
    /// float32 in and out, with QUANTIZE / DEQUANTIZE at the edges (TF's default).
    Float,
    /// int16 in and out (`inference_input_type = inference_output_type = tf.int16`).
    Int16,
}

impl Mode {
    /// The tutorial's five conversions, in the order it makes them (and the page lists them).
    pub const ALL: [Mode; 5] = [
        Mode::Float,
        Mode::DynamicRange,
        Mode::FullInteger,
        Mode::IntegerOnly(IoType::UInt8),
        Mode::IntegerOnly(IoType::Int8),
    ];

    /// Post-training options beyond the tutorial's five.
    pub const EXTRA: [Mode; 3] = [
        Mode::Float16,
        Mode::Int16x8(Int16Io::Float),
        Mode::Int16x8(Int16Io::Int16),
    ];

    /// Whether the mode needs a representative dataset.
    pub fn needs_calibration(self) -> bool {
        matches!(
            self,
            Mode::FullInteger | Mode::IntegerOnly(_) | Mode::Int16x8(_)
        )
    }

    /// The mode's id (`integer-only-uint8`): what the CLI prints, the page's mode values, and what
    /// [`str::parse`] reads back.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Float => "float",
            Mode::DynamicRange => "dynamic-range",
            Mode::FullInteger => "full-integer",
            Mode::IntegerOnly(IoType::UInt8) => "integer-only-uint8",
            Mode::IntegerOnly(IoType::Int8) => "integer-only-int8",
            Mode::Float16 => "float16",
            Mode::Int16x8(Int16Io::Float) => "int16x8",
            Mode::Int16x8(Int16Io::Int16) => "int16x8-int16io",
        }
    }

    /// The file the tutorial saves this mode's model as (`mnist_intonly_uint8.tflite`).
    pub fn file_name(self) -> &'static str {
        match self {
            Mode::Float => "mnist_float.tflite",
            Mode::DynamicRange => "mnist_dynamic.tflite",
            Mode::FullInteger => "mnist_fullint_floatio.tflite",
            Mode::IntegerOnly(IoType::UInt8) => "mnist_intonly_uint8.tflite",
            Mode::IntegerOnly(IoType::Int8) => "mnist_intonly_int8.tflite",
            Mode::Float16 => "mnist_float16.tflite",
            Mode::Int16x8(Int16Io::Float) => "mnist_int16x8.tflite",
            Mode::Int16x8(Int16Io::Int16) => "mnist_int16x8_int16io.tflite",
        }
    }
}

impl FromStr for Mode {
    type Err = Error;

    /// A mode from its [`Mode::name`].
    fn from_str(name: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .chain(Mode::EXTRA)
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL
                    .iter()
                    .chain(&Mode::EXTRA)
                    .map(|m| m.name())
                    .collect();
                Error::InvalidArgument(format!("unknown mode {name:?} ({})", names.join(", ")))
            })
    }
}

/// Conversion settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertOptions {
    pub mode: Mode,
    /// Quantize FULLY_CONNECTED weights per output channel (TF's default) rather than per tensor.
    pub per_channel_dense: bool,
    /// Quantize every layer's weights per output channel (TF's default); `false` is TF's
    /// `_experimental_disable_per_channel`: one scale per weight tensor (integer modes only).
    pub per_channel: bool,
}

impl ConvertOptions {
    pub fn new(mode: Mode) -> ConvertOptions {
        ConvertOptions {
            mode,
            per_channel_dense: true,
            per_channel: true,
        }
    }

    /// Whether the weights of an operator `code` are quantized per channel.
    pub(crate) fn per_channel_for(&self, code: i32) -> bool {
        self.per_channel && (code != op::FULLY_CONNECTED || self.per_channel_dense)
    }
}

/// Which conversion produced `model`, judged from its tensors: the input type for integer-only and
/// int16-input models, int16 activations for 16x8, int8 activations for full-integer, float16
/// constants for float16, int8 constants only for dynamic range.
pub fn detect_mode(model: &Model) -> Mode {
    let Some(graph) = model.subgraphs.first() else {
        return Mode::Float;
    };
    let input = graph
        .inputs
        .first()
        .and_then(|&i| graph.tensors.get(usize::try_from(i).ok()?));
    match input.map(|t| t.dtype) {
        Some(TensorType::UInt8) => return Mode::IntegerOnly(IoType::UInt8),
        Some(TensorType::Int8) => return Mode::IntegerOnly(IoType::Int8),
        Some(TensorType::Int16) => return Mode::Int16x8(Int16Io::Int16),
        _ => {}
    }
    if graph
        .tensors
        .iter()
        .any(|t| t.dtype == TensorType::Int16 && model.tensor_data(t).is_none())
    {
        return Mode::Int16x8(Int16Io::Float);
    }
    let int8 = |constant: bool| {
        graph
            .tensors
            .iter()
            .any(|t| t.dtype == TensorType::Int8 && model.tensor_data(t).is_some() == constant)
    };
    let half = graph
        .tensors
        .iter()
        .any(|t| t.dtype == TensorType::Float16 && model.tensor_data(t).is_some());
    if int8(false) {
        Mode::FullInteger
    } else if half {
        Mode::Float16
    } else if int8(true) {
        Mode::DynamicRange
    } else {
        Mode::Float
    }
}

impl Mode {
    /// How the tutorial names the model in its accuracy line ("Float model accuracy is …").
    pub fn label(self) -> &'static str {
        match self {
            Mode::Float => "Float",
            Mode::DynamicRange => "Dynamic range quantized",
            Mode::FullInteger => "Full integer quantized",
            Mode::IntegerOnly(_) => "Quantized",
            Mode::Float16 => "Float16",
            Mode::Int16x8(_) => "16x8 quantized",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_their_names_and_have_distinct_files() {
        let every: Vec<Mode> = Mode::ALL.into_iter().chain(Mode::EXTRA).collect();
        for (i, mode) in every.iter().copied().enumerate() {
            assert_eq!(mode.name().parse::<Mode>().ok(), Some(mode));
            for other in &every[i + 1..] {
                assert_ne!(mode.name(), other.name());
                assert_ne!(mode.file_name(), other.file_name());
            }
        }
        assert_eq!(
            "integer-only-int8".parse::<Mode>().ok(),
            Some(Mode::IntegerOnly(IoType::Int8))
        );
        assert_eq!(
            Mode::FullInteger.file_name(),
            "mnist_fullint_floatio.tflite"
        );
        let err = "integer-only".parse::<Mode>().unwrap_err().to_string();
        assert!(
            err.ends_with(
                "unknown mode \"integer-only\" (float, dynamic-range, full-integer, \
                 integer-only-uint8, integer-only-int8, float16, int16x8, int16x8-int16io)"
            ),
            "{err}"
        );
    }
}
