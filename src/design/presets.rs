//! The preset designs, as data: a name, one line on what each shows about quantization, and the design
//! itself in the JSON format a user would write (so an editor can show and start from it).

use crate::design::Design;
use crate::error::{Error, Result};

/// A named design with a one-line reason to try it.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Preset {
    pub name: &'static str,
    pub description: &'static str,
    pub json: &'static str,
}

impl Preset {
    /// The preset's design (each preset is tested to parse and pass the design checks).
    pub fn design(&self) -> Result<Design> {
        Design::parse(self.json)
            .map_err(|e| Error::InvalidArgument(format!("preset {}: {e}", self.name)))
    }
}

/// Every preset; the first is the default.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "tutorial",
        description: "The TensorFlow tutorial's CNN: one convolution, one pool, one dense layer; \
                      the model every other number in the playground is compared with.",
        json: r#"{"name": "tutorial", "input_shape": [28, 28], "layers": [
            {"type": "Reshape", "target_shape": [28, 28, 1]},
            {"type": "Conv2D", "filters": 12, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "activation": "relu"},
            {"type": "MaxPooling2D", "pool_size": [2, 2]},
            {"type": "Flatten"},
            {"type": "Dense", "units": 10}]}"#,
    },
    Preset {
        name: "deep",
        description: "Two 5×5 convolutions and a hidden dense layer: rounding errors pile up over \
                      four requantized layers, and the error debugger shows where they grow.",
        json: r#"{"name": "deep", "input_shape": [28, 28], "layers": [
            {"type": "Reshape", "target_shape": [28, 28, 1]},
            {"type": "Conv2D", "filters": 16, "kernel_size": 5, "padding": "same", "activation": "relu"},
            {"type": "MaxPooling2D", "pool_size": 2},
            {"type": "Conv2D", "filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu"},
            {"type": "MaxPooling2D", "pool_size": 2},
            {"type": "Flatten"},
            {"type": "Dense", "units": 64, "activation": "relu"},
            {"type": "Dense", "units": 10}]}"#,
    },
    Preset {
        name: "mlp",
        description: "No convolutions: three per-channel quantized FULLY_CONNECTED layers, and 92% \
                      of the weights in the first, where dynamic-range quantization keeps the \
                      activations in float.",
        json: r#"{"name": "mlp", "input_shape": [28, 28], "layers": [
            {"type": "Flatten"},
            {"type": "Dense", "units": 128, "activation": "relu"},
            {"type": "Dense", "units": 64, "activation": "relu"},
            {"type": "Dense", "units": 10}]}"#,
    },
    Preset {
        name: "mobile",
        description: "MobileNet's building blocks: a depthwise convolution has only nine weights \
                      per channel, so per-channel scales matter most there, and ReLU6 bounds the \
                      activations to [0, 6] before calibration sees them.",
        json: r#"{"name": "mobile", "input_shape": [28, 28], "layers": [
            {"type": "Reshape", "target_shape": [28, 28, 1]},
            {"type": "Conv2D", "filters": 16, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu6"},
            {"type": "DepthwiseConv2D", "kernel_size": 3, "padding": "same", "activation": "relu6"},
            {"type": "Conv2D", "filters": 32, "kernel_size": 1, "activation": "relu6"},
            {"type": "AveragePooling2D", "pool_size": 2},
            {"type": "Flatten"},
            {"type": "Dense", "units": 10}]}"#,
    },
];

/// The preset called `name`; the error lists the names there are.
pub fn preset(name: &str) -> Result<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        Error::InvalidArgument(format!(
            "no preset called {name:?}; the presets are {}",
            names.join(", ")
        ))
    })
}
