//! Training (filled in next).
