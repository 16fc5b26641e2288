//! Conversions with every setting the CLI's `ptq convert` takes besides `--deny`: the calibration method,
//! the calibration set (and the images it picks, for the page's strip of thumbnails), per-tensor weights
//! and static shapes. Each setting maps to the CLI flag of the same name, so a file converted here is the
//! file `ptq convert` writes with those flags. Also the deployment check of a file (`ptq inspect
//! --deploy`) and the calibration methods in the library's order.

use serde::{Deserialize, Serialize};

use super::{FLOAT, IMAGE_LEN, ModelInfo, QUANT, Session};
use crate::data::{CalibrationSet, Dataset};
use crate::error::{Error, Result};
use crate::quantize::{
    CalibrationMethod, ConvertOptions, Mode, calibrate_with, convert, fold_static_shapes,
};
use crate::tflite::{DeployCheck, deploy_check, read_model, write_model};

/// The conversion settings of the page's form, spelled as the CLI spells them.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConvertSettings {
    /// A [`Mode::name`] (`integer-only-uint8`, `float16`, …).
    pub mode: String,
    /// `--calibration-samples`.
    pub samples: usize,
    /// `--calibration`: `minmax`, `percentile`, `entropy` or `mse`.
    pub method: String,
    /// `--calibration-set`: `first`, `random`, `digit:D`, `blank` or `noise`.
    pub set: String,
    /// `--per-tensor`.
    pub per_tensor: bool,
    /// `--static-shapes`.
    pub static_shapes: bool,
}

impl Default for ConvertSettings {
    fn default() -> ConvertSettings {
        ConvertSettings {
            mode: Mode::FullInteger.name().into(),
            samples: 100,
            method: CalibrationMethod::MinMax.name().into(),
            set: "first".into(),
            per_tensor: false,
            static_shapes: false,
        }
    }
}

/// Largest calibration set the page asks for.
const MAX_SAMPLES: usize = 60_000;

impl Session {
    /// The calibration methods' ids, in the library's order (`minmax` first: the default).
    pub fn calibration_methods() -> Vec<&'static str> {
        CalibrationMethod::ALL.iter().map(|m| m.name()).collect()
    }

    /// The integer-only accelerator check of `.tflite` bytes, as `ptq inspect --deploy --json` prints it.
    pub fn deploy_check(bytes: &[u8]) -> Result<DeployCheck> {
        Ok(deploy_check(&read_model(bytes)?))
    }

    /// The images calibration would use with `set` and `samples` (row-major 28×28 images, one after the
    /// other). The sets that need labels or the whole training set (`digit:D`, `random`) are errors while
    /// only the representative images are loaded: with fewer images they would pick other ones than the
    /// CLI does.
    pub fn calibration_images(&self, set: &str, samples: usize) -> Result<Vec<u8>> {
        if !(1..=MAX_SAMPLES).contains(&samples) {
            return Err(Error::InvalidArgument(format!(
                "representative samples must be 1–{MAX_SAMPLES}, got {samples}"
            )));
        }
        let set: CalibrationSet = set.parse()?;
        let chosen = match (&self.train, &self.representative, set) {
            (Some(train), _, _) => set.select(train, samples),
            (None, _, CalibrationSet::Random { .. } | CalibrationSet::Digit(_)) => {
                return Err(Error::InvalidArgument(format!(
                    "the calibration set {} needs the whole training set",
                    set.name()
                )));
            }
            (None, Some(images), _) => {
                let pool = Dataset {
                    labels: vec![0; images.len() / IMAGE_LEN],
                    images: images.clone(),
                    rows: 28,
                    cols: 28,
                };
                set.select(&pool, samples)
            }
            (None, None, CalibrationSet::Blank | CalibrationSet::Noise { .. }) => {
                let pool = Dataset {
                    images: Vec::new(),
                    labels: Vec::new(),
                    rows: 28,
                    cols: 28,
                };
                set.select(&pool, samples)
            }
            (None, None, _) => {
                return Err(Error::InvalidArgument(
                    "no representative images loaded".into(),
                ));
            }
        };
        if chosen.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "the calibration set {} selects no images",
                set.name()
            )));
        }
        Ok(chosen.images)
    }

    /// The images a conversion with `settings` calibrates on (their set and number, the defaults
    /// where they are not given), or `None` for a mode that does not calibrate.
    pub fn calibration_images_for(&self, settings: &ConvertSettings) -> Result<Option<Vec<u8>>> {
        let mode: Mode = settings.mode.parse()?;
        if !mode.needs_calibration() {
            return Ok(None);
        }
        self.calibration_images(&settings.set, settings.samples)
            .map(Some)
    }

    /// Convert the float model into the quantized slot with `settings` (calibration settings apply to the
    /// modes that calibrate, per-tensor weights to the same modes, as in the CLI).
    pub fn quantize_with(&mut self, settings: &ConvertSettings) -> Result<ModelInfo> {
        self.quantize_on(settings, None)
    }

    /// [`Session::quantize_with`], calibrating on `images` (784 bytes each, in order) where given
    /// instead of the images the settings' set picks here: the worker's training module holds the
    /// training set and picks them there ([`Session::calibration_images`] on its session), so the
    /// same settings give the same file.
    pub fn quantize_on(
        &mut self,
        settings: &ConvertSettings,
        images: Option<&[u8]>,
    ) -> Result<ModelInfo> {
        let mode: Mode = settings.mode.parse()?;
        let method: CalibrationMethod = settings.method.parse()?;
        let calibration = if mode.needs_calibration() {
            settings.set.parse::<CalibrationSet>()?;
            let images = match images {
                Some(images) => {
                    let n = images.len() / IMAGE_LEN;
                    if n == 0 || n > MAX_SAMPLES || images.len() % IMAGE_LEN != 0 {
                        return Err(Error::InvalidArgument(format!(
                            "calibration images must be 1–{MAX_SAMPLES} images of {IMAGE_LEN} bytes, got {} bytes",
                            images.len()
                        )));
                    }
                    images.to_vec()
                }
                None => self.calibration_images(&settings.set, settings.samples)?,
            };
            let float = &self.slot(FLOAT)?.model;
            Some(calibrate_with(
                float,
                &images,
                IMAGE_LEN,
                method,
                |_, _| true,
            )?)
        } else {
            // the CLI checks its arguments in every mode: so does the page
            settings.set.parse::<CalibrationSet>()?;
            None
        };
        let options = ConvertOptions {
            mode,
            per_channel_dense: true,
            per_channel: !settings.per_tensor,
        };
        let mut model = convert(&self.slot(FLOAT)?.model, &options, calibration.as_ref())?;
        if settings.static_shapes {
            fold_static_shapes(&mut model)?;
        }
        let bytes = write_model(&model)?;
        self.install(QUANT, model, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::calibrate_first;
    use crate::wasm::session::tests::with_float_model;

    fn settings(mode: &str) -> ConvertSettings {
        ConvertSettings {
            mode: mode.into(),
            samples: 20,
            ..ConvertSettings::default()
        }
    }

    #[test]
    fn defaults_give_the_same_file_as_quantize() {
        let (mut s, _) = with_float_model(64);
        for mode in [
            "full-integer",
            "integer-only-uint8",
            "float16",
            "dynamic-range",
        ] {
            s.quantize(mode, 20).unwrap();
            let plain = s.model_bytes(QUANT).unwrap();
            s.quantize_with(&settings(mode)).unwrap();
            assert_eq!(s.model_bytes(QUANT).unwrap(), plain, "{mode}");
        }
    }

    #[test]
    fn each_setting_is_the_library_call_the_cli_makes() {
        let (mut s, _) = with_float_model(64);
        let float = s.slot(FLOAT).unwrap().model.clone();
        let train = s.train.clone().unwrap();
        for (set, method, per_tensor, static_shapes) in [
            ("random", "percentile", false, false),
            ("digit:3", "entropy", true, false),
            ("blank", "mse", false, true),
            ("noise", "minmax", true, true),
        ] {
            let asked = ConvertSettings {
                set: set.into(),
                method: method.into(),
                per_tensor,
                static_shapes,
                ..settings("integer-only-int8")
            };
            s.quantize_with(&asked).unwrap();
            let chosen = set.parse::<CalibrationSet>().unwrap().select(&train, 20);
            assert_eq!(s.calibration_images(set, 20).unwrap(), chosen.images);
            let calibration = calibrate_with(
                &float,
                &chosen.images,
                IMAGE_LEN,
                method.parse().unwrap(),
                |_, _| true,
            )
            .unwrap();
            let options = ConvertOptions {
                mode: asked.mode.parse().unwrap(),
                per_channel_dense: true,
                per_channel: !per_tensor,
            };
            let mut model = convert(&float, &options, Some(&calibration)).unwrap();
            if static_shapes {
                fold_static_shapes(&mut model).unwrap();
            }
            assert_eq!(
                s.model_bytes(QUANT).unwrap(),
                write_model(&model).unwrap(),
                "{asked:?}"
            );
        }
        // the first images, as before
        let first = calibrate_first(&float, &train.images, IMAGE_LEN, 20).unwrap();
        let model = convert(
            &float,
            &ConvertOptions::new(Mode::FullInteger),
            Some(&first),
        )
        .unwrap();
        s.quantize_with(&settings("full-integer")).unwrap();
        assert_eq!(s.model_bytes(QUANT).unwrap(), write_model(&model).unwrap());
    }

    #[test]
    fn static_shapes_change_the_deployment_check_and_bad_bytes_are_errors() {
        let (mut s, _) = with_float_model(64);
        let check = |s: &mut Session, static_shapes| {
            s.quantize_with(&ConvertSettings {
                static_shapes,
                ..settings("integer-only-uint8")
            })
            .unwrap();
            Session::deploy_check(&s.model_bytes(QUANT).unwrap()).unwrap()
        };
        let dynamic = check(&mut s, false);
        let folded = check(&mut s, true);
        assert!(dynamic.mapped < dynamic.ops.len(), "{dynamic:#?}");
        // integer-only input and output: with constant shapes every operator maps
        assert_eq!(
            (folded.mapped, folded.first_unmapped),
            (folded.ops.len(), None)
        );
        assert!(Session::deploy_check(b"not a model").is_err());
        assert_eq!(Session::calibration_methods()[0], "minmax");
        for m in Session::calibration_methods() {
            assert_eq!(m.parse::<CalibrationMethod>().unwrap().name(), m);
        }
    }

    #[test]
    fn bad_settings_are_errors_and_the_model_stays() {
        let (mut s, images) = with_float_model(64);
        s.quantize_with(&settings("full-integer")).unwrap();
        let before = s.model_bytes(QUANT).unwrap();
        for bad in [
            ConvertSettings {
                method: "median".into(),
                ..settings("full-integer")
            },
            ConvertSettings {
                set: "digit:12".into(),
                ..settings("full-integer")
            },
            ConvertSettings {
                samples: 0,
                ..settings("full-integer")
            },
            ConvertSettings {
                mode: "int4".into(),
                ..settings("full-integer")
            },
        ] {
            assert!(s.quantize_with(&bad).is_err(), "{bad:?}");
            assert_eq!(s.model_bytes(QUANT).unwrap(), before);
        }
        // representative images only: the sets that need the training set say so
        let mut r = Session::new();
        r.load_model(FLOAT, &s.model_bytes(FLOAT).unwrap()).unwrap();
        r.representative = Some(images[..30 * IMAGE_LEN].to_vec());
        for set in ["random", "digit:1"] {
            let err = r.calibration_images(set, 10).unwrap_err().to_string();
            assert!(err.contains("whole training set"), "{err}");
        }
        assert_eq!(
            r.calibration_images("first", 100).unwrap(),
            images[..30 * IMAGE_LEN]
        );
        assert_eq!(
            r.calibration_images("blank", 3).unwrap(),
            vec![0; 3 * IMAGE_LEN]
        );
        r.quantize_with(&ConvertSettings {
            set: "noise".into(),
            ..settings("integer-only-uint8")
        })
        .unwrap();
    }
}
