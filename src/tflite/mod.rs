//! TFLite flatbuffers ⇄ the plain model IR. Converts bytes to a [`Model`] and back; no arithmetic.

pub mod model;
pub mod schema;

pub use model::*;
