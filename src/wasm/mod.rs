//! The browser boundary. [`session`] holds what the page does, as plain Rust (compiled and tested on
//! every target); `bindings` (wasm32 only) is the only `#[wasm_bindgen]` code: it converts typed
//! arrays and small serde reports, and turns every error into a `JsError` with the error's message.

pub mod session;

#[cfg(target_arch = "wasm32")]
mod bindings;

#[cfg(target_arch = "wasm32")]
pub use bindings::Playground;

pub use session::Session;
