//! TFLite flatbuffers ⇄ the plain model IR. Converts bytes to a [`Model`] and back; no arithmetic.

pub mod check;
mod flatbuf;
pub mod inspect;
pub mod model;
pub mod read;
pub mod schema;
pub mod write;

pub use check::{limits, validate};
pub use inspect::{Report, inspect, inspect_bytes};
pub use model::*;
pub use read::read_model;
pub use write::write_model;
