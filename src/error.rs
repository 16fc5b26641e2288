//! The crate's one error type, grouped by who is at fault (the input file, the model, the caller).
//!
//! Every fallible path that touches bytes from a file, a drawing or a user setting returns one of these;
//! nothing from the outside may reach a panic. The wasm boundary turns them into `JsError` with the same
//! message.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// An IDX file (the MNIST format) is malformed: bad magic, truncated, inconsistent sizes.
    #[error("malformed IDX data: {0}")]
    MalformedIdx(String),

    /// MNIST images and labels that do not belong together, or are not what the caller expected.
    #[error("invalid dataset: {0}")]
    InvalidDataset(String),

    /// The MNIST files could not be found; the message says where we looked and how to get them.
    #[error("MNIST data not found: {0}")]
    DataNotFound(String),

    /// The bytes are not a well-formed .tflite flatbuffer (offsets, lengths, enums, buffer sizes).
    #[error("malformed .tflite: {0}")]
    MalformedTflite(String),

    /// A well-formed model that cannot be run: dangling or cyclic graph, type or quantization problems.
    #[error("invalid model: {0}")]
    InvalidModel(String),

    /// An operator outside the supported op set.
    #[error("unsupported operator {name} (builtin code {code}); supported: {supported}")]
    UnsupportedOp {
        name: String,
        code: i32,
        supported: &'static str,
    },

    /// A supported operator used with types or options we do not implement.
    #[error("{op}: unsupported {what}")]
    Unsupported { op: String, what: String },

    /// Tensor shapes that do not fit the operator.
    #[error("{op}: shape mismatch: expected {expected}, got {got}")]
    ShapeMismatch {
        op: String,
        expected: String,
        got: String,
    },

    /// A size from the input exceeds a documented limit.
    #[error("{what} is {got}, over the limit of {limit}")]
    LimitExceeded { what: String, limit: u64, got: u64 },

    /// One layer of a model design that cannot be built, trained or exported: its index in the
    /// design's layer list, its type (Keras's name) and what is wrong.
    #[error("layer {index} ({kind}): {problem}")]
    InvalidLayer {
        index: usize,
        kind: String,
        problem: String,
    },

    /// A bad argument or setting from the caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The caller cancelled a long-running job.
    #[error("cancelled")]
    Cancelled,

    /// Another error, with the file it came from.
    #[error("{path}: {source}")]
    InFile {
        path: String,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Attach the path of the file this error came from (once; an error already naming a file is kept).
    pub fn in_file(self, path: impl fmt::Display) -> Error {
        match self {
            Error::Io { .. } | Error::InFile { .. } => self,
            other => Error::InFile {
                path: path.to_string(),
                source: Box::new(other),
            },
        }
    }

    /// An I/O error on the given path.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }

    /// A limit check: `Ok(())` if `got <= limit`, else `LimitExceeded`.
    pub fn check_limit(what: &str, got: u64, limit: u64) -> Result<()> {
        if got > limit {
            Err(Error::LimitExceeded {
                what: what.to_string(),
                limit,
                got,
            })
        } else {
            Ok(())
        }
    }
}
