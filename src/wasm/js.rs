//! What both binding sets share: errors as `JsError`s with the typed error's message, reports as plain
//! JS objects, and the panic hook.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::Error;

pub(super) fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

pub(super) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // plain objects (not Maps) and large integers as numbers, so JS can read them directly
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("cannot convert report: {e}")))
}

/// Set up the panic hook once (a panic is a bug, but its message should reach the console).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
