//! The model designer's questions: the presets, whether a design is valid and what each of its layers
//! costs, and the design a float model file carries. The training modules only (the `training`
//! feature), which train what the designer designs: checking a design builds its layers with the
//! trainer's `Sequential`.

use serde::Serialize;

use super::Session;
use crate::design::{
    Design, DesignSummary, MAX_ACTIVATION, MAX_LAYERS, MAX_MACS, MAX_PARAMS, PRESETS,
};
use crate::error::{Error, Result};
use crate::quantize::import_float;

/// One preset as the page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct PresetInfo {
    pub name: String,
    /// The library's one line on it (English; the page has its own texts in every language).
    pub description: String,
    /// The design, as the page's editor loads it.
    pub json: String,
}

/// The limits a design must keep to (see [`Design::summary`]).
#[derive(Clone, Debug, Serialize)]
pub struct DesignLimits {
    pub layers: usize,
    pub params: u64,
    pub macs: u64,
    /// Values in one layer's output per image.
    pub values: u64,
}

/// A design's check: its costs when it is valid, else what is wrong. Never an error itself, so the
/// editor can show the problem next to the layer it concerns.
#[derive(Clone, Debug, Serialize)]
pub struct DesignCheck {
    pub summary: Option<DesignSummary>,
    pub problem: Option<DesignProblem>,
}

/// What makes a design invalid.
#[derive(Clone, Debug, Serialize)]
pub struct DesignProblem {
    /// The layer's place in the list (0-based) and type, when one layer is at fault.
    pub layer: Option<usize>,
    pub kind: Option<String>,
    /// What is wrong, without the layer's name (the whole message when no layer is at fault).
    pub problem: String,
    /// A limit the design goes over: what, the limit and the value.
    pub limit: Option<(String, u64, u64)>,
}

impl From<Error> for DesignProblem {
    fn from(e: Error) -> DesignProblem {
        match e {
            Error::InvalidLayer {
                index,
                kind,
                problem,
            } => DesignProblem {
                layer: Some(index),
                kind: Some(kind),
                problem,
                limit: None,
            },
            Error::LimitExceeded { what, limit, got } => DesignProblem {
                layer: None,
                kind: None,
                problem: format!("{what} is {got}, over the limit of {limit}"),
                limit: Some((what, limit, got)),
            },
            Error::InvalidArgument(problem) => DesignProblem {
                layer: None,
                kind: None,
                problem,
                limit: None,
            },
            other => DesignProblem {
                layer: None,
                kind: None,
                problem: other.to_string(),
                limit: None,
            },
        }
    }
}

impl Session {
    /// The presets, the default first.
    pub fn design_presets() -> Vec<PresetInfo> {
        PRESETS
            .iter()
            .map(|p| PresetInfo {
                name: p.name.into(),
                description: p.description.into(),
                json: p.json.into(),
            })
            .collect()
    }

    /// The limits that keep a design trainable in a browser.
    pub fn design_limits() -> DesignLimits {
        DesignLimits {
            layers: MAX_LAYERS,
            params: MAX_PARAMS,
            macs: MAX_MACS,
            values: MAX_ACTIVATION,
        }
    }

    /// Check a design given as JSON (the format of [`crate::design`]) and cost its layers.
    pub fn design_check(json: &str) -> DesignCheck {
        match Design::parse(json).and_then(|d| d.summary()) {
            Ok(summary) => DesignCheck {
                summary: Some(summary),
                problem: None,
            },
            Err(e) => DesignCheck {
                summary: None,
                problem: Some(e.into()),
            },
        }
    }

    /// The design a float model written by this library carries, as JSON (its weights come with it when
    /// training resumes from the file: [`Session::train_begin_from`]).
    pub fn design_of(bytes: &[u8]) -> Result<String> {
        import_float(bytes)?.0.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_check_and_a_bad_design_names_its_layer() {
        let presets = Session::design_presets();
        assert_eq!(presets.len(), 4);
        assert_eq!(presets[0].name, "tutorial");
        for p in &presets {
            let check = Session::design_check(&p.json);
            assert!(check.problem.is_none(), "{}: {:?}", p.name, check.problem);
            assert!(check.summary.unwrap().params > 0);
        }
        // a 30×30 kernel on a 28×28 image
        let bad = r#"{"name":"x","input_shape":[28,28],"layers":[{"type":"Reshape","target_shape":[28,28,1]},
            {"type":"Conv2D","filters":4,"kernel_size":30},{"type":"Flatten"},{"type":"Dense","units":10}]}"#;
        let check = Session::design_check(bad);
        let problem = check.problem.unwrap();
        assert_eq!(
            (problem.layer, problem.kind.as_deref()),
            (Some(1), Some("Conv2D"))
        );
        assert!(
            problem.problem.contains("do not fit"),
            "{}",
            problem.problem
        );
        assert!(check.summary.is_none());
        // not JSON at all: no layer, a sentence
        let problem = Session::design_check("{").problem.unwrap();
        assert_eq!(problem.layer, None);
        assert!(problem.problem.contains("not valid JSON"));
        // too many parameters: the layer where the sum goes over the limit
        let big = r#"{"name":"x","input_shape":[28,28],"layers":[{"type":"Flatten"},
            {"type":"Dense","units":2000},{"type":"Dense","units":10}]}"#;
        let problem = Session::design_check(big).problem.unwrap();
        assert_eq!(problem.layer, Some(1));
        assert!(
            problem.problem.contains("parameters"),
            "{}",
            problem.problem
        );
    }

    #[test]
    fn a_file_without_a_design_says_so() {
        let err = Session::design_of(&[1, 2, 3]).unwrap_err().to_string();
        assert!(!err.is_empty());
    }
}
