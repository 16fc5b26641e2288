//! Limits on what a model may ask of the interpreter, so a hostile file cannot exhaust memory or time.
//! Generous for real models: a 10 MB CNN is far inside every one of them.

/// Tensors in subgraph 0.
pub const MAX_TENSORS: u64 = 1 << 16;
/// Operators in subgraph 0.
pub const MAX_OPERATORS: u64 = 1 << 16;
/// Dimensions of one tensor.
pub const MAX_RANK: u64 = 8;
/// Elements of one tensor (256 Mi).
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 28;
/// Bytes of all tensors the interpreter holds (constants it decoded plus activations): 512 MiB.
pub const MAX_ARENA_BYTES: u64 = 1 << 29;
/// Multiply-accumulates (or element operations) of one invoke, constant folding included: 2^32 ≈ 4.3
/// billion, a few seconds of reference kernels; MobileNet-class models need a few hundred million.
pub const MAX_WORK: u64 = 1 << 32;
