//! TFLite flatbuffers ⇄ the plain model IR. Converts bytes to a [`Model`] and back; no arithmetic.

pub mod check;
pub mod deploy;
mod flatbuf;
pub mod inspect;
pub mod model;
pub mod read;
pub mod schema;
pub mod write;

pub use check::{limits, validate};
pub use deploy::{DeployCheck, deploy_check};
pub use inspect::{Report, inspect, inspect_bytes};
pub use model::*;
pub use read::read_model;
pub use write::write_model;
