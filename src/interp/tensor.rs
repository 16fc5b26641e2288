//! Typed tensor storage and tensor descriptions.
//!
//! Every tensor the interpreter touches lives in a [`Buffer`]: one `Vec` of the element type, so kernels
//! get `&[f32]`/`&mut [i8]` views without `unsafe` and without byte reinterpretation. Buffers are
//! allocated once when the model is planned.

use crate::tflite::TensorType;

/// The data of one tensor, as a `Vec` of its element type.
#[derive(Clone, Debug, PartialEq)]
pub enum Buffer {
    F32(Vec<f32>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Default for Buffer {
    /// An empty buffer (no allocation); used as the placeholder while a kernel borrows its output.
    fn default() -> Buffer {
        Buffer::F32(Vec::new())
    }
}

impl Buffer {
    /// A zero-filled buffer of `len` elements of `dtype`, if we store that type.
    pub fn zeros(dtype: TensorType, len: usize) -> Option<Buffer> {
        Some(match dtype {
            TensorType::Float32 => Buffer::F32(vec![0.0; len]),
            TensorType::Int8 => Buffer::I8(vec![0; len]),
            TensorType::UInt8 => Buffer::U8(vec![0; len]),
            TensorType::Int16 => Buffer::I16(vec![0; len]),
            TensorType::Int32 => Buffer::I32(vec![0; len]),
            TensorType::Int64 => Buffer::I64(vec![0; len]),
            _ => return None,
        })
    }

    /// Decode little-endian constant data of `dtype` (the length must be a whole number of elements).
    pub fn from_le_bytes(dtype: TensorType, bytes: &[u8]) -> Option<Buffer> {
        fn chunks<const N: usize, T>(bytes: &[u8], f: fn([u8; N]) -> T) -> Option<Vec<T>> {
            if !bytes.len().is_multiple_of(N) {
                return None;
            }
            Some(
                bytes
                    .chunks_exact(N)
                    .map(|c| {
                        let mut a = [0u8; N];
                        a.copy_from_slice(c);
                        f(a)
                    })
                    .collect(),
            )
        }
        Some(match dtype {
            TensorType::Float32 => Buffer::F32(chunks(bytes, f32::from_le_bytes)?),
            TensorType::Int8 => Buffer::I8(bytes.iter().map(|&b| b as i8).collect()),
            TensorType::UInt8 => Buffer::U8(bytes.to_vec()),
            TensorType::Int16 => Buffer::I16(chunks(bytes, i16::from_le_bytes)?),
            TensorType::Int32 => Buffer::I32(chunks(bytes, i32::from_le_bytes)?),
            TensorType::Int64 => Buffer::I64(chunks(bytes, i64::from_le_bytes)?),
            _ => return None,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> TensorType {
        match self {
            Buffer::F32(_) => TensorType::Float32,
            Buffer::I8(_) => TensorType::Int8,
            Buffer::U8(_) => TensorType::UInt8,
            Buffer::I16(_) => TensorType::Int16,
            Buffer::I32(_) => TensorType::Int32,
            Buffer::I64(_) => TensorType::Int64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Buffer::F32(v) => v.len(),
            Buffer::I8(v) => v.len(),
            Buffer::U8(v) => v.len(),
            Buffer::I16(v) => v.len(),
            Buffer::I32(v) => v.len(),
            Buffer::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data as little-endian bytes (allocates; not for the invoke path).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Buffer::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Buffer::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Buffer::U8(v) => v.clone(),
            Buffer::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Buffer::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Buffer::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Overwrite the data from little-endian bytes; the byte length must match exactly.
    pub fn copy_from_le_bytes(&mut self, bytes: &[u8]) -> bool {
        fn fill<const N: usize, T>(dst: &mut [T], bytes: &[u8], f: fn([u8; N]) -> T) -> bool {
            if bytes.len() != dst.len() * N {
                return false;
            }
            for (d, c) in dst.iter_mut().zip(bytes.chunks_exact(N)) {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                *d = f(a);
            }
            true
        }
        match self {
            Buffer::F32(v) => fill(v, bytes, f32::from_le_bytes),
            Buffer::I8(v) => fill(v, bytes, |[b]: [u8; 1]| b as i8),
            Buffer::U8(v) => fill(v, bytes, |[b]: [u8; 1]| b),
            Buffer::I16(v) => fill(v, bytes, i16::from_le_bytes),
            Buffer::I32(v) => fill(v, bytes, i32::from_le_bytes),
            Buffer::I64(v) => fill(v, bytes, i64::from_le_bytes),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for i8 {}
    impl Sealed for u8 {}
    impl Sealed for i16 {}
    impl Sealed for i32 {}
    impl Sealed for i64 {}
}

/// An element type the interpreter stores: `f32`, `i8`, `u8`, `i16`, `i32`, `i64`.
pub trait Element:
    Copy + Default + PartialOrd + std::fmt::Debug + sealed::Sealed + 'static
{
    /// The matching schema type.
    const DTYPE: TensorType;
    /// A view of the buffer, if it holds this type.
    fn slice(buffer: &Buffer) -> Option<&[Self]>;
    /// A mutable view of the buffer, if it holds this type.
    fn slice_mut(buffer: &mut Buffer) -> Option<&mut [Self]>;
    /// Wrap a vector.
    fn into_buffer(v: Vec<Self>) -> Buffer;
}

macro_rules! element {
    ($t:ty, $variant:ident, $dtype:expr) => {
        impl Element for $t {
            const DTYPE: TensorType = $dtype;
            fn slice(buffer: &Buffer) -> Option<&[$t]> {
                match buffer {
                    Buffer::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(buffer: &mut Buffer) -> Option<&mut [$t]> {
                match buffer {
                    Buffer::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn into_buffer(v: Vec<$t>) -> Buffer {
                Buffer::$variant(v)
            }
        }
    };
}

element!(f32, F32, TensorType::Float32);
element!(i8, I8, TensorType::Int8);
element!(u8, U8, TensorType::UInt8);
element!(i16, I16, TensorType::Int16);
element!(i32, I32, TensorType::Int32);
element!(i64, I64, TensorType::Int64);

/// What LiteRT's `get_input_details()` says about a tensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TensorInfo {
    /// Index of the tensor in subgraph 0.
    pub index: usize,
    pub name: String,
    pub dtype: TensorType,
    /// The shape the interpreter planned (static; TF's `-1` batch dimensions are taken from the file's
    /// `shape`, which holds 1).
    pub shape: Vec<usize>,
    /// Per-tensor scale, 0.0 when the tensor is not quantized per tensor.
    pub scale: f32,
    /// Per-tensor zero point, 0 when the tensor is not quantized per tensor.
    pub zero_point: i32,
}

impl TensorInfo {
    /// Number of elements.
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has per-tensor quantization parameters.
    pub fn is_quantized(&self) -> bool {
        self.scale != 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_round_trip() {
        let b = Buffer::from_le_bytes(TensorType::Int32, &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
            .unwrap();
        assert_eq!(b, Buffer::I32(vec![1, -1]));
        assert_eq!(b.to_le_bytes(), vec![1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(Buffer::from_le_bytes(TensorType::Float32, &[0; 3]).is_none());
        assert!(Buffer::from_le_bytes(TensorType::String, &[]).is_none());
        let mut z = Buffer::zeros(TensorType::Int8, 2).unwrap();
        assert!(z.copy_from_le_bytes(&[0x80, 0x7f]));
        assert_eq!(i8::slice(&z), Some(&[-128i8, 127][..]));
        assert!(!z.copy_from_le_bytes(&[0]));
        assert!(f32::slice(&z).is_none());
    }
}
