//! Evaluating model slots on the test set in chunks, one slot after the other so the page can time each
//! model, and the report: accuracy and confusion matrix per slot, agreement of the first two.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CLASSES, IMAGE_LEN, Session};
use crate::error::{Error, Result};
use crate::eval;

/// Progress of a chunked evaluation. Slots are evaluated one after the other (so the page can time
/// each model): `done` and `total` count images over all slots.
#[derive(Clone, Debug, Serialize)]
pub struct EvalProgress {
    pub done: usize,
    pub total: usize,
    /// The slot the last step worked on, and how many of its images are done.
    pub slot: String,
    pub slot_done: usize,
}

/// Results of evaluating one or more slots on the test set.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub total: usize,
    /// Per slot: accuracy in [0, 1] and a 10×10 confusion matrix (row = true label, column = prediction).
    pub models: BTreeMap<String, SlotEval>,
    /// Fraction of images where the first two slots agree, and the images where they do not.
    pub agreement: Option<f64>,
    pub disagreements: Vec<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SlotEval {
    pub accuracy: f64,
    pub correct: usize,
    pub confusion: Vec<Vec<u32>>,
    pub label: String,
}

pub(super) struct EvalState {
    slots: Vec<String>,
    predictions: Vec<Vec<u8>>,
    /// Index into `slots` of the slot being evaluated.
    current: usize,
}

impl Session {
    /// Start evaluating `slots` on the whole test set.
    pub fn eval_begin(&mut self, slots: &[String]) -> Result<EvalProgress> {
        let per_slot = self.test()?.len();
        if slots.is_empty() {
            return Err(Error::InvalidArgument("no model to evaluate".into()));
        }
        let mut unique: Vec<String> = Vec::with_capacity(slots.len());
        for s in slots {
            let interp = &self.slot(s)?.interp;
            if interp.inputs()[0].num_elements() != IMAGE_LEN {
                return Err(Error::InvalidArgument(format!(
                    "the model in {s:?} does not take a 28×28 image"
                )));
            }
            let classes = interp.outputs()[0].num_elements();
            if classes != CLASSES {
                return Err(Error::InvalidArgument(format!(
                    "the model in {s:?} gives {classes} outputs, not one per digit ({CLASSES})"
                )));
            }
            if !unique.contains(s) {
                unique.push(s.clone());
            }
        }
        let progress = EvalProgress {
            done: 0,
            total: per_slot * unique.len(),
            slot: slots[0].clone(),
            slot_done: 0,
        };
        self.eval = Some(EvalState {
            predictions: (0..unique.len())
                .map(|_| Vec::with_capacity(per_slot))
                .collect(),
            slots: unique,
            current: 0,
        });
        Ok(progress)
    }

    /// Evaluate the next `count` images of the slot being evaluated (never crossing into the next slot,
    /// so each step's time belongs to one model).
    pub fn eval_step(&mut self, count: usize) -> Result<EvalProgress> {
        let test = self
            .test
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("the test set is not loaded".into()))?;
        let state = self
            .eval
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no evaluation in progress".into()))?;
        let per_slot = test.len();
        let total = per_slot * state.slots.len();
        if state.current >= state.slots.len() {
            let slot = state.slots.last().cloned().unwrap_or_default();
            return Ok(EvalProgress {
                done: total,
                total,
                slot,
                slot_done: per_slot,
            });
        }
        let name = state.slots[state.current].clone();
        let preds = &mut state.predictions[state.current];
        let slot = self
            .slots
            .get_mut(&name)
            .ok_or_else(|| Error::InvalidArgument(format!("no model in slot {name:?}")))?;
        let start = preds.len();
        let end = start.saturating_add(count.max(1)).min(per_slot);
        for i in start..end {
            // below CLASSES: eval_begin checked the output size
            preds.push(slot.classify(test.image(i))? as u8);
        }
        let slot_done = preds.len();
        let done = state.current * per_slot + slot_done;
        if slot_done >= per_slot {
            state.current += 1;
        }
        Ok(EvalProgress {
            done,
            total,
            slot: name,
            slot_done,
        })
    }

    /// The results once every image is done.
    pub fn eval_report(&self) -> Result<EvalReport> {
        let test = self.test()?;
        let state = self
            .eval
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("no evaluation in progress".into()))?;
        if state.current < state.slots.len() {
            return Err(Error::InvalidArgument(format!(
                "evaluation not finished ({} of {} models done)",
                state.current,
                state.slots.len()
            )));
        }
        let mut models = BTreeMap::new();
        for (name, preds) in state.slots.iter().zip(&state.predictions) {
            let score = eval::score(preds, &test.labels);
            let label = self
                .slots
                .get(name)
                .map(|s| s.mode.label().to_string())
                .unwrap_or_default();
            models.insert(
                name.clone(),
                SlotEval {
                    accuracy: score.accuracy.fraction(),
                    correct: score.accuracy.correct,
                    confusion: score.confusion,
                    label,
                },
            );
        }
        let (agreement, disagreements) = match state.predictions.as_slice() {
            [a, b, ..] => {
                let c = eval::compare(a, b, test.len());
                (Some(c.agreement), c.disagreements)
            }
            _ => (None, Vec::new()),
        };
        Ok(EvalReport {
            total: test.len(),
            models,
            agreement,
            disagreements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_float_model;
    use super::super::{FLOAT, QUANT, UPLOAD};
    use super::*;
    use crate::quantize::export_float;
    use crate::tflite::write_model;

    #[test]
    fn evaluation_needs_one_output_per_digit_and_counts_each_slot_once() {
        let (mut s, _) = with_float_model(64);
        let p = s.eval_begin(&[FLOAT.into(), FLOAT.into()]).unwrap();
        assert_eq!(p.total, 64);
        // a model with 784 inputs and 20 outputs: its predictions could not be scored as digits
        let mut arch = crate::train::Architecture::tutorial();
        if let Some(crate::train::LayerSpec::Dense { units, .. }) = arch.layers.last_mut() {
            *units = 20;
        }
        let net = crate::train::Sequential::new(&arch, 0).unwrap();
        let bytes = write_model(&export_float(&net).unwrap()).unwrap();
        s.load_model(UPLOAD, &bytes).unwrap();
        let err = s.eval_begin(&[UPLOAD.into()]).unwrap_err().to_string();
        assert!(err.contains("20 outputs"), "{err}");
    }

    #[test]
    fn evaluation_runs_one_slot_after_the_other_and_matches_single_predictions() {
        let n = 40;
        let (mut s, images) = with_float_model(n);
        s.quantize("integer-only-int8", 10).unwrap();
        // a second float network (another seed), so that the first two slots disagree somewhere
        let other =
            crate::train::Sequential::new(&crate::train::Architecture::tutorial(), 1).unwrap();
        let bytes = write_model(&export_float(&other).unwrap()).unwrap();
        s.load_model(UPLOAD, &bytes).unwrap();
        let slots = [FLOAT.to_string(), UPLOAD.to_string(), QUANT.to_string()];
        let p = s.eval_begin(&slots).unwrap();
        assert_eq!((p.done, p.total), (0, 3 * n));
        assert!(s.eval_report().is_err(), "not finished yet");
        // steps never cross from one slot into the next
        let p = s.eval_step(25).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (FLOAT, 25, 25));
        let p = s.eval_step(25).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (FLOAT, 40, 40));
        let p = s.eval_step(100).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (UPLOAD, 40, 80));
        let p = s.eval_step(100).unwrap();
        assert_eq!((p.slot.as_str(), p.slot_done, p.done), (QUANT, 40, 120));
        let p = s.eval_step(100).unwrap(); // past the end: stays done
        assert_eq!((p.done, p.total), (120, 120));
        let r = s.eval_report().unwrap();
        // the report agrees with one prediction at a time
        let mut differ = Vec::new();
        for i in 0..n {
            let px = &images[i * IMAGE_LEN..(i + 1) * IMAGE_LEN];
            let [a, b, q] = [FLOAT, UPLOAD, QUANT].map(|slot| s.predict(slot, px).unwrap().class);
            assert!(r.models[FLOAT].confusion[i % 10][a] > 0);
            assert!(r.models[UPLOAD].confusion[i % 10][b] > 0);
            assert!(r.models[QUANT].confusion[i % 10][q] > 0);
            if a != b {
                differ.push(i);
            }
        }
        assert!(
            !differ.is_empty(),
            "the two networks should disagree somewhere"
        );
        assert_eq!(r.disagreements, differ);
        assert_eq!(r.agreement, Some(1.0 - differ.len() as f64 / n as f64));
        for slot in [FLOAT, UPLOAD, QUANT] {
            let m = &r.models[slot];
            assert_eq!(m.accuracy, m.correct as f64 / n as f64);
            assert_eq!(m.confusion.iter().flatten().sum::<u32>() as usize, n);
        }
        // loading a model drops the evaluation
        s.quantize("integer-only-uint8", 10).unwrap();
        assert!(s.eval_report().is_err());
        assert!(s.eval_begin(&[]).is_err());
        assert!(s.eval_begin(&["nothing".to_string()]).is_err());
    }
}
