//! MNIST data: the IDX file format, the dataset, seeded batching, and representative sets for
//! calibration.

pub mod batch;
pub mod draw;
pub mod idx;
pub mod mnist;
pub mod representative;

pub use batch::{epoch_batches, fill_batch, prefetch_images};
pub use idx::{Idx, IdxType, parse_idx};
#[cfg(not(target_arch = "wasm32"))]
pub use mnist::find_data_dir;
pub use mnist::{Dataset, Mnist};
pub use representative::CalibrationSet;
