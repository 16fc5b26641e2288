//! The plain model IR: what a `.tflite` file says, as ordinary Rust values.
//!
//! It mirrors the flatbuffer closely (buffers are referenced by index, indices are `i32` as in the schema,
//! `-1` marks an omitted optional input) so that bytes → IR → bytes keeps everything we understand, and
//! so that the reader can validate every index once. There is no arithmetic here: the interpreter runs a
//! `Model`, the quantizer builds one, `read`/`write` convert it from/to bytes.
//!
//! Operators carry their builtin code and version directly; the writer builds the file's operator-code
//! table (deduplicated, in order of first use) and the reader resolves it.

use serde::Serialize;

/// Element type of a tensor (`TensorType` in the schema; the numeric values are the schema's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TensorType {
    Float32 = 0,
    Float16 = 1,
    Int32 = 2,
    UInt8 = 3,
    Int64 = 4,
    String = 5,
    Bool = 6,
    Int16 = 7,
    Complex64 = 8,
    Int8 = 9,
    Float64 = 10,
    Complex128 = 11,
    UInt64 = 12,
    Resource = 13,
    Variant = 14,
    UInt32 = 15,
    UInt16 = 16,
    Int4 = 17,
    BFloat16 = 18,
}

impl TensorType {
    pub const ALL: [TensorType; 19] = [
        TensorType::Float32,
        TensorType::Float16,
        TensorType::Int32,
        TensorType::UInt8,
        TensorType::Int64,
        TensorType::String,
        TensorType::Bool,
        TensorType::Int16,
        TensorType::Complex64,
        TensorType::Int8,
        TensorType::Float64,
        TensorType::Complex128,
        TensorType::UInt64,
        TensorType::Resource,
        TensorType::Variant,
        TensorType::UInt32,
        TensorType::UInt16,
        TensorType::Int4,
        TensorType::BFloat16,
    ];

    /// The schema's numeric code.
    pub fn code(self) -> i8 {
        self as i8
    }

    /// The type with this schema code, if any.
    pub fn from_code(code: i8) -> Option<TensorType> {
        TensorType::ALL.iter().copied().find(|t| t.code() == code)
    }

    /// Bytes per element, for fixed-size types (`None` for STRING, RESOURCE, VARIANT and packed INT4).
    pub fn size(self) -> Option<usize> {
        use TensorType::*;
        Some(match self {
            Bool | UInt8 | Int8 => 1,
            Float16 | Int16 | UInt16 | BFloat16 => 2,
            Float32 | Int32 | UInt32 => 4,
            Float64 | Int64 | UInt64 | Complex64 => 8,
            Complex128 => 16,
            String | Resource | Variant | Int4 => return None,
        })
    }

    /// Upper-case name as the schema spells it (FLOAT32, INT8, …).
    pub fn name(self) -> &'static str {
        use TensorType::*;
        match self {
            Float32 => "FLOAT32",
            Float16 => "FLOAT16",
            Int32 => "INT32",
            UInt8 => "UINT8",
            Int64 => "INT64",
            String => "STRING",
            Bool => "BOOL",
            Int16 => "INT16",
            Complex64 => "COMPLEX64",
            Int8 => "INT8",
            Float64 => "FLOAT64",
            Complex128 => "COMPLEX128",
            UInt64 => "UINT64",
            Resource => "RESOURCE",
            Variant => "VARIANT",
            UInt32 => "UINT32",
            UInt16 => "UINT16",
            Int4 => "INT4",
            BFloat16 => "BFLOAT16",
        }
    }
}

impl std::fmt::Display for TensorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Affine quantization: `real = scale · (q − zero_point)`, per tensor (one entry) or per axis
/// (`quantized_dimension` names the axis; one entry per index along it).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
    /// Optional recorded float range (the converter leaves these empty in final models).
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

impl Quantization {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i64) -> Quantization {
        Quantization {
            scale: vec![scale],
            zero_point: vec![zero_point],
            ..Quantization::default()
        }
    }

    /// Per-axis parameters along `axis`.
    pub fn per_axis(scale: Vec<f32>, zero_point: Vec<i64>, axis: i32) -> Quantization {
        Quantization {
            scale,
            zero_point,
            quantized_dimension: axis,
            ..Quantization::default()
        }
    }

    /// True if there are no scales (a present but empty table, as TF writes for float tensors).
    pub fn is_empty(&self) -> bool {
        self.scale.is_empty()
            && self.zero_point.is_empty()
            && self.min.is_empty()
            && self.max.is_empty()
    }
}

/// One tensor of a subgraph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tensor {
    pub name: String,
    pub dtype: TensorType,
    pub shape: Vec<i32>,
    /// Shape with `-1` for dynamic dimensions (TF writes `[-1, 28, 28]` for a batch input).
    pub shape_signature: Option<Vec<i32>>,
    /// Index into `Model::buffers`; buffer 0 is the empty sentinel (no constant data).
    pub buffer: u32,
    pub quantization: Option<Quantization>,
    pub is_variable: bool,
}

impl Tensor {
    /// Number of elements of the static shape (negative dimensions count as 0).
    pub fn num_elements(&self) -> usize {
        self.shape.iter().map(|&d| d.max(0) as usize).product()
    }

    /// The per-tensor (scale, zero point), if the tensor has exactly one of each.
    pub fn per_tensor_quantization(&self) -> Option<(f32, i64)> {
        let q = self.quantization.as_ref()?;
        match (q.scale.as_slice(), q.zero_point.as_slice()) {
            ([s], [z]) => Some((*s, *z)),
            _ => None,
        }
    }
}

/// `Padding` in the schema: SAME = 0 (the default), VALID = 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Padding {
    #[default]
    Same = 0,
    Valid = 1,
}

/// `ActivationFunctionType` in the schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Activation {
    #[default]
    None = 0,
    Relu = 1,
    ReluN1To1 = 2,
    Relu6 = 3,
    Tanh = 4,
    SignBit = 5,
}

/// `Default` gives the schema's defaults (dilation 1, everything else 0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conv2DOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub fused_activation: Activation,
    pub dilation_w: i32,
    pub dilation_h: i32,
}

/// `Default` gives the schema's defaults (dilation 1, everything else 0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DepthwiseConv2DOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub depth_multiplier: i32,
    pub fused_activation: Activation,
    pub dilation_w: i32,
    pub dilation_h: i32,
}

impl Default for Conv2DOptions {
    fn default() -> Conv2DOptions {
        Conv2DOptions {
            padding: Padding::Same,
            stride_w: 0,
            stride_h: 0,
            fused_activation: Activation::None,
            dilation_w: 1,
            dilation_h: 1,
        }
    }
}

impl Default for DepthwiseConv2DOptions {
    fn default() -> DepthwiseConv2DOptions {
        DepthwiseConv2DOptions {
            padding: Padding::Same,
            stride_w: 0,
            stride_h: 0,
            depth_multiplier: 0,
            fused_activation: Activation::None,
            dilation_w: 1,
            dilation_h: 1,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Pool2DOptions {
    pub padding: Padding,
    pub stride_w: i32,
    pub stride_h: i32,
    pub filter_w: i32,
    pub filter_h: i32,
    pub fused_activation: Activation,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FullyConnectedOptions {
    pub fused_activation: Activation,
    /// `FullyConnectedOptionsWeightsFormat`: 0 = DEFAULT (the only one we run).
    pub weights_format: i8,
    pub keep_num_dims: bool,
    pub asymmetric_quantize_inputs: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StridedSliceOptions {
    pub begin_mask: i32,
    pub end_mask: i32,
    pub ellipsis_mask: i32,
    pub new_axis_mask: i32,
    pub shrink_axis_mask: i32,
    pub offset: bool,
}

/// The builtin options of an operator, for the option tables we understand.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub enum Options {
    /// No options table.
    #[default]
    None,
    Conv2D(Conv2DOptions),
    DepthwiseConv2D(DepthwiseConv2DOptions),
    Pool2D(Pool2DOptions),
    FullyConnected(FullyConnectedOptions),
    Softmax {
        beta: f32,
    },
    Reshape {
        new_shape: Vec<i32>,
    },
    Shape {
        out_type: TensorType,
    },
    StridedSlice(StridedSliceOptions),
    Pack {
        values_count: i32,
        axis: i32,
    },
    /// An empty `QuantizeOptions` table (TF usually writes none).
    Quantize,
    /// An empty `DequantizeOptions` table.
    Dequantize,
    /// An options table of a type we do not parse (the `BuiltinOptions` union type code).
    Unknown(u8),
}

/// One operator: builtin code and version (the file's operator-code entry, resolved), tensor indices and
/// options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Operator {
    /// `BuiltinOperator` code (the larger of `builtin_code` and `deprecated_builtin_code`).
    pub code: i32,
    /// Name of a custom op (only for code `CUSTOM`).
    pub custom_code: Option<String>,
    pub version: i32,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Options,
}

/// A subgraph: tensors, operators in execution order, and the graph's inputs and outputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Subgraph {
    pub name: Option<String>,
    pub tensors: Vec<Tensor>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<Operator>,
}

/// A named metadata entry pointing at a buffer (e.g. `min_runtime_version`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metadata {
    pub name: String,
    pub buffer: u32,
}

/// A name → tensor-index pair of a signature.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorMap {
    pub name: String,
    pub tensor_index: u32,
}

/// A signature (`serving_default` for Keras models), needed by LiteRT's signature runner.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SignatureDef {
    pub key: String,
    pub inputs: Vec<TensorMap>,
    pub outputs: Vec<TensorMap>,
    pub subgraph_index: u32,
}

/// A whole model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Model {
    /// Schema version; LiteRT accepts only 3.
    pub version: u32,
    pub description: Option<String>,
    pub subgraphs: Vec<Subgraph>,
    /// Constant data; `buffers[0]` is the empty sentinel.
    #[serde(skip)]
    pub buffers: Vec<Vec<u8>>,
    pub metadata: Vec<Metadata>,
    pub signature_defs: Vec<SignatureDef>,
}

impl Default for Model {
    fn default() -> Model {
        Model {
            version: crate::tflite::schema::SCHEMA_VERSION,
            description: None,
            subgraphs: Vec::new(),
            buffers: vec![Vec::new()],
            metadata: Vec::new(),
            signature_defs: Vec::new(),
        }
    }
}

impl Model {
    /// Append a buffer and return its index.
    pub fn add_buffer(&mut self, data: Vec<u8>) -> u32 {
        self.buffers.push(data);
        (self.buffers.len() - 1) as u32
    }

    /// The constant data of `tensor`, if it has any (a non-empty buffer other than the sentinel).
    pub fn tensor_data(&self, tensor: &Tensor) -> Option<&[u8]> {
        match self.buffers.get(tensor.buffer as usize) {
            Some(b) if tensor.buffer != 0 && !b.is_empty() => Some(b),
            _ => None,
        }
    }

    /// The value of a metadata entry's buffer, if present.
    pub fn metadata_value(&self, name: &str) -> Option<&[u8]> {
        let m = self.metadata.iter().find(|m| m.name == name)?;
        self.buffers.get(m.buffer as usize).map(Vec::as_slice)
    }
}
