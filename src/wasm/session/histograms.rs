//! Ranges and histograms on the integer grid, in the worker's session: each layer's float weights on
//! their grid (per output channel where quantized per channel) and the activations the float model
//! produces on the first N representative images on the quantized tensors' grids, optionally with the
//! grids of a new calibration on those same N images, so the page can show the range move as N changes;
//! and every calibration method's range for each of those activations, to draw on the same histogram.

use serde::Serialize;

use super::{IMAGE_LEN, Session};
use crate::debug::{
    TensorHistogram, activation_histograms, pair_models, quantized_tensors, weight_histograms,
};
use crate::error::{Error, Result};
use crate::quantize::{
    CalibrationMethod, ConvertOptions, Mode, calibrate_with, convert, detect_mode,
};

/// Bins per histogram at most (as `ptq histograms --bins` allows).
const MAX_BINS: usize = 4096;

/// Every histogram of a pair of models.
#[derive(Clone, Debug, Serialize)]
pub struct HistogramReport {
    /// Representative images the activations (and a new calibration) ran on.
    pub samples: usize,
    /// The calibration method of a new calibration on those images, when asked for
    /// ([`CalibrationMethod::name`]).
    pub recalibrated: Option<String>,
    pub weights: Vec<TensorHistogram>,
    pub activations: Vec<TensorHistogram>,
}

/// One calibration method's ranges: for each activation the quantized model computes in integers, the
/// real interval its grid covers once calibrated with that method.
#[derive(Clone, Debug, Serialize)]
pub struct MethodRanges {
    /// [`CalibrationMethod::name`].
    pub method: String,
    pub ranges: Vec<ActivationRange>,
}

/// The real interval an activation's grid covers: `scale · (qmin − zero_point)` to
/// `scale · (qmax − zero_point)`, as [`TensorHistogram::grid`] gives it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivationRange {
    pub tensor_name: String,
    pub real_min: f64,
    pub real_max: f64,
}

impl Session {
    /// The representative images: the training set when it is loaded, else the first training images.
    fn representative_pool(&self) -> Result<&[u8]> {
        match (&self.train, &self.representative) {
            (Some(train), _) => Ok(&train.images),
            (None, Some(images)) => Ok(images),
            (None, None) => Err(Error::InvalidArgument(
                "no representative images loaded".into(),
            )),
        }
    }

    /// Histograms of the model in `quant` against the one in `float` (the model it was converted from):
    /// weights, and activations on the first `samples` representative images, `bins` bins each. With
    /// `recalibrate`, the grids are those of `float` converted again as `quant` was (same mode),
    /// calibrated on those `samples` images with that method.
    pub fn histograms(
        &self,
        float: &str,
        quant: &str,
        samples: usize,
        recalibrate: Option<CalibrationMethod>,
        bins: usize,
    ) -> Result<HistogramReport> {
        if !(1..=MAX_BINS).contains(&bins) {
            return Err(Error::InvalidArgument(format!(
                "histograms have 1–{MAX_BINS} bins, not {bins}"
            )));
        }
        let pool = self.representative_pool()?;
        let available = pool.len() / IMAGE_LEN;
        if !(1..=available).contains(&samples) {
            return Err(Error::InvalidArgument(format!(
                "the histograms run on 1–{available} representative images, not {samples}"
            )));
        }
        let images = &pool[..samples * IMAGE_LEN];
        let float_model = &self.slot(float)?.model;
        let quant_slot = self.slot(quant)?;
        let converted;
        let (quant_model, recalibrated) = match recalibrate {
            Some(method) => {
                let mode = detect_mode(&quant_slot.model);
                if !mode.needs_calibration() {
                    return Err(Error::InvalidArgument(format!(
                        "the model in {quant:?} ({}) has no calibrated ranges to compute again",
                        mode.name()
                    )));
                }
                let calibration =
                    calibrate_with(float_model, images, IMAGE_LEN, method, |_, _| true)?;
                converted = convert(float_model, &ConvertOptions::new(mode), Some(&calibration))?;
                (&converted, Some(method.name().to_string()))
            }
            None => (&quant_slot.model, None),
        };
        let weights = weight_histograms(float_model, quant_model, bins)?;
        let activations =
            activation_histograms(float_model, quant_model, images, IMAGE_LEN, bins, |_, _| {
                true
            })?;
        Ok(HistogramReport {
            samples,
            recalibrated,
            weights,
            activations,
        })
    }

    /// Every calibration method's range for each activation of the model in `quant`: `float` converted
    /// again as `quant` was (same mode), calibrated on the first `samples` representative images with
    /// each method in turn, the library's order.
    pub fn method_ranges(
        &self,
        float: &str,
        quant: &str,
        samples: usize,
    ) -> Result<Vec<MethodRanges>> {
        let pool = self.representative_pool()?;
        let available = pool.len() / IMAGE_LEN;
        if !(1..=available).contains(&samples) {
            return Err(Error::InvalidArgument(format!(
                "the ranges are calibrated on 1–{available} representative images, not {samples}"
            )));
        }
        let images = &pool[..samples * IMAGE_LEN];
        let float_model = &self.slot(float)?.model;
        let mode: Mode = detect_mode(&self.slot(quant)?.model);
        if !mode.needs_calibration() {
            return Err(Error::InvalidArgument(format!(
                "the model in {quant:?} ({}) has no calibrated ranges",
                mode.name()
            )));
        }
        let mut out = Vec::new();
        for method in CalibrationMethod::ALL {
            let calibration = calibrate_with(float_model, images, IMAGE_LEN, method, |_, _| true)?;
            let converted = convert(float_model, &ConvertOptions::new(mode), Some(&calibration))?;
            let pairing = pair_models(float_model, &converted)?;
            let graph = converted
                .subgraphs
                .first()
                .ok_or_else(|| Error::InvalidModel("the converted model has no subgraph".into()))?;
            let ranges = quantized_tensors(graph, &pairing)
                .into_iter()
                .filter_map(|t| {
                    Some(ActivationRange {
                        tensor_name: graph.tensors.get(t.tensor)?.name.clone(),
                        real_min: t.scale as f64 * (t.qmin - t.zero_point) as f64,
                        real_max: t.scale as f64 * (t.qmax - t.zero_point) as f64,
                    })
                })
                .collect();
            out.push(MethodRanges {
                method: method.name().to_string(),
                ranges,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_float_model;
    use super::super::{FLOAT, QUANT};
    use super::*;

    #[test]
    fn histograms_follow_the_calibration_images_and_say_what_cannot_run() {
        let (mut s, images) = with_float_model(40);
        s.quantize("integer-only-uint8", 10).unwrap();
        let float = s.slots[FLOAT].model.clone();
        let quant = s.slots[QUANT].model.clone();
        let r = s.histograms(FLOAT, QUANT, 10, None, 32).unwrap();
        assert_eq!((r.samples, r.recalibrated.as_deref()), (10, None));
        // the library's histograms of the same models on the same images
        let weights = weight_histograms(&float, &quant, 32).unwrap();
        let activations = activation_histograms(
            &float,
            &quant,
            &images[..10 * IMAGE_LEN],
            IMAGE_LEN,
            32,
            |_, _| true,
        )
        .unwrap();
        assert_eq!(r.weights, weights);
        assert_eq!(r.activations, activations);
        // per-channel weights: one histogram per output channel of the convolution (12) and the dense
        // layer (10)
        assert_eq!(r.weights.len(), 22);
        assert!(r.activations.iter().all(|h| h.values.counts.len() == 32));
        // calibrating again on the same images gives the quantized model's own grids; on more images,
        // more values, spread at least as wide, and grids that move with them
        let same = s
            .histograms(FLOAT, QUANT, 10, Some(CalibrationMethod::MinMax), 32)
            .unwrap();
        assert_eq!(same.recalibrated.as_deref(), Some("minmax"));
        assert_eq!(same.activations, r.activations);
        let more = s
            .histograms(FLOAT, QUANT, 40, Some(CalibrationMethod::MinMax), 32)
            .unwrap();
        for (a, b) in more.activations.iter().zip(&r.activations) {
            assert!(a.min <= b.min && a.max >= b.max);
            assert_eq!(a.count, b.count * 4);
        }
        assert!(
            more.activations
                .iter()
                .zip(&r.activations)
                .any(|(a, b)| a.grid != b.grid)
        );
        let err = |r: Result<HistogramReport>| r.unwrap_err().to_string();
        assert!(err(s.histograms(FLOAT, QUANT, 0, None, 32)).contains("not 0"));
        assert!(err(s.histograms(FLOAT, QUANT, 41, None, 32)).contains("1–40"));
        assert!(err(s.histograms(FLOAT, QUANT, 10, None, 0)).contains("bins"));
        s.quantize("dynamic-range", 10).unwrap();
        let minmax = Some(CalibrationMethod::MinMax);
        assert!(err(s.histograms(FLOAT, QUANT, 10, minmax, 32)).contains("no calibrated ranges"));
        assert!(s.method_ranges(FLOAT, QUANT, 10).is_err());
    }

    #[test]
    fn each_method_range_is_the_grid_of_that_methods_histograms() {
        let (mut s, _) = with_float_model(40);
        s.quantize("integer-only-int8", 20).unwrap();
        let all = s.method_ranges(FLOAT, QUANT, 20).unwrap();
        let names: Vec<&str> = all.iter().map(|m| m.method.as_str()).collect();
        assert_eq!(names, ["minmax", "percentile", "entropy", "mse"]);
        for m in &all {
            let method: CalibrationMethod = m.method.parse().unwrap();
            let h = s.histograms(FLOAT, QUANT, 20, Some(method), 8).unwrap();
            let grids: Vec<ActivationRange> = h
                .activations
                .iter()
                .map(|a| ActivationRange {
                    tensor_name: a.tensor_name.clone(),
                    real_min: a.grid.real_min,
                    real_max: a.grid.real_max,
                })
                .collect();
            assert_eq!(m.ranges, grids, "{}", m.method);
        }
        // the methods do not all agree
        assert!(all.iter().any(|m| m.ranges != all[0].ranges));
        assert!(s.method_ranges(FLOAT, QUANT, 41).is_err());
    }
}
