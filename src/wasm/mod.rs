//! The browser boundary. [`session`] holds what the page does, as plain Rust (compiled and tested on
//! every target); `bindings` (wasm32 only) is the only `#[wasm_bindgen]` code: it converts typed
//! arrays and small serde reports, and turns every error into a `JsError` with the error's message.

pub mod session;

#[cfg(all(target_arch = "wasm32", not(feature = "trainer-only")))]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(all(target_arch = "wasm32", feature = "training"))]
mod train_bindings;

#[cfg(all(target_arch = "wasm32", not(feature = "trainer-only")))]
pub use bindings::Playground;
#[cfg(all(target_arch = "wasm32", feature = "training"))]
pub use train_bindings::Trainer;

pub use session::Session;
