//! Representative datasets for calibration: the tutorial's first N training images, or a set chosen to
//! show what a biased calibration does to ranges and accuracy (a random N, one digit only, blank
//! images, noise). Labels are kept where the images have them (255 marks a made-up image).

use std::str::FromStr;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Label of images that are no digit (blank or noise).
pub const NO_LABEL: u8 = 255;

/// Which images calibrate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CalibrationSet {
    /// The first N training images (the tutorial's `representative_data_gen`).
    #[default]
    First,
    /// N training images drawn at random (seeded), without repetition.
    Random { seed: u64 },
    /// The first N training images of one digit.
    Digit(u8),
    /// N all-black images.
    Blank,
    /// N images of uniform random pixels (seeded).
    Noise { seed: u64 },
}

impl CalibrationSet {
    /// The set's id as the CLI and the page spell it: `first`, `random`, `digit:D`, `blank`, `noise`.
    pub fn name(self) -> String {
        match self {
            CalibrationSet::First => "first".into(),
            CalibrationSet::Random { .. } => "random".into(),
            CalibrationSet::Digit(d) => format!("digit:{d}"),
            CalibrationSet::Blank => "blank".into(),
            CalibrationSet::Noise { .. } => "noise".into(),
        }
    }

    /// `n` images of this set from `train` (fewer if the set has fewer: a digit's images, or a small
    /// training set).
    pub fn select(self, train: &Dataset, n: usize) -> Dataset {
        let len = train.image_len();
        let blank = |n: usize, fill: &mut dyn FnMut() -> u8| Dataset {
            images: (0..n * len).map(|_| fill()).collect(),
            labels: vec![NO_LABEL; n],
            rows: train.rows,
            cols: train.cols,
        };
        let pick = |indices: &[usize]| Dataset {
            images: indices
                .iter()
                .flat_map(|&i| train.image(i).iter().copied())
                .collect(),
            labels: indices.iter().map(|&i| train.labels[i]).collect(),
            rows: train.rows,
            cols: train.cols,
        };
        match self {
            CalibrationSet::First => train.take(n),
            CalibrationSet::Random { seed } => {
                let mut order: Vec<usize> = (0..train.len()).collect();
                Rng::new(seed).shuffle(&mut order);
                order.truncate(n);
                pick(&order)
            }
            CalibrationSet::Digit(d) => {
                let indices: Vec<usize> = (0..train.len())
                    .filter(|&i| train.labels[i] == d)
                    .take(n)
                    .collect();
                pick(&indices)
            }
            CalibrationSet::Blank => blank(n, &mut || 0),
            CalibrationSet::Noise { seed } => {
                let mut rng = Rng::new(seed);
                blank(n, &mut || rng.below(256) as u8)
            }
        }
    }
}

impl FromStr for CalibrationSet {
    type Err = Error;

    /// `first`, `random`, `digit:D` (D from 0 to 9), `blank` or `noise`; the random sets use seed 0.
    fn from_str(s: &str) -> Result<CalibrationSet> {
        match s {
            "first" => Ok(CalibrationSet::First),
            "random" => Ok(CalibrationSet::Random { seed: 0 }),
            "blank" => Ok(CalibrationSet::Blank),
            "noise" => Ok(CalibrationSet::Noise { seed: 0 }),
            _ => match s.strip_prefix("digit:").map(str::parse::<u8>) {
                Some(Ok(d)) if d <= 9 => Ok(CalibrationSet::Digit(d)),
                _ => Err(Error::InvalidArgument(format!(
                    "calibration set {s:?}: use first, random, digit:D (D from 0 to 9), blank or noise"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train() -> Dataset {
        // 20 images of 4 pixels, image i filled with i, labelled i % 10
        Dataset {
            images: (0..20u8).flat_map(|i| [i; 4]).collect(),
            labels: (0..20u8).map(|i| i % 10).collect(),
            rows: 2,
            cols: 2,
        }
    }

    #[test]
    fn each_set_selects_what_it_says() {
        let t = train();
        assert_eq!(CalibrationSet::First.select(&t, 3).labels, vec![0, 1, 2]);
        let digit = CalibrationSet::Digit(7).select(&t, 5);
        assert_eq!(digit.labels, vec![7, 7]);
        assert_eq!(digit.images, vec![7, 7, 7, 7, 17, 17, 17, 17]);
        let random = CalibrationSet::Random { seed: 1 }.select(&t, 20);
        let mut seen: Vec<u8> = random.images.chunks(4).map(|c| c[0]).collect();
        assert_ne!(seen, (0..20).collect::<Vec<u8>>(), "shuffled");
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<u8>>(), "without repetition");
        let blank = CalibrationSet::Blank.select(&t, 2);
        assert_eq!(
            (blank.images, blank.labels),
            (vec![0; 8], vec![NO_LABEL; 2])
        );
        let noise = CalibrationSet::Noise { seed: 3 }.select(&t, 50);
        assert!(noise.images.iter().any(|&p| p > 128) && noise.images.iter().any(|&p| p < 128));
    }

    #[test]
    fn names_parse_back() {
        for set in [
            CalibrationSet::First,
            CalibrationSet::Random { seed: 0 },
            CalibrationSet::Digit(3),
            CalibrationSet::Blank,
            CalibrationSet::Noise { seed: 0 },
        ] {
            assert_eq!(set.name().parse::<CalibrationSet>().unwrap(), set);
        }
        assert!("digit:10".parse::<CalibrationSet>().is_err());
        assert!("last".parse::<CalibrationSet>().is_err());
    }
}
