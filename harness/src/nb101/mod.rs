//! NAS-Bench-101: the cell space, nasbench's graph hash, enumeration of all 423,624 cells,
//! encodings, mutation, the TFRecord importer and a synthetic benchmark (issue 6).
//!
//! - [`spec`]: a cell (adjacency + ops), pruning and validity, exactly as nasbench's
//!   `ModelSpec` and `NASBench.is_valid`.
//! - [`hash`]: nasbench's `graph_util.hash_module` (the module hash of the official file).
//! - [`enumerate`]: every valid cell, de-duplicated by hash: 423,624 cells.
//! - [`space`]: [`Nb101Space`], the [`crate::space::SearchSpace`] of the harness; cell ids are
//!   the cells sorted by hash string, cached under [`crate::home::cache_dir`].
//! - [`encoding`]: the `org` 45-bit encoding (WeakNAS default), the 56-feature adjacency +
//!   op one-hot and the 364-feature BANANAS path encoding.
//! - [`tfrecord`], [`metrics`], [`import`]: the official `nasbench_only108.tfrecord` /
//!   `nasbench_full.tfrecord` reader (and a writer, for tests) into a
//!   [`crate::store::BenchmarkStore`].
//! - [`synthetic`]: a synthetic benchmark over the real space (benchmark name
//!   `nb101-synthetic`), for tests and speed work only — never an NB101 result.

pub mod encoding;
pub mod enumerate;
pub mod hash;
pub mod import;
pub mod metrics;
pub mod space;
pub mod spec;
pub mod synthetic;
pub mod tfrecord;

pub use encoding::Nb101Encoding;
pub use space::Nb101Space;
pub use spec::{ModelSpec, Op, SpecError};

/// Number of unique cells of NAS-Bench-101 (the published count, checked by enumeration).
pub const NUM_CELLS: usize = 423_624;
/// Most vertices of a cell (input and output included).
pub const MAX_VERTICES: usize = 7;
/// Most edges of a cell (after pruning).
pub const MAX_EDGES: usize = 9;
/// Epoch budgets of the official files (`nasbench_full` has all four, `only108` has 108).
pub const EPOCH_BUDGETS: [u32; 4] = [4, 12, 36, 108];
/// Training repeats per cell and epoch budget in the official files.
pub const REPEATS: usize = 3;

/// Landmark for users with the official file: the best mean (over the 3 repeats) test
/// accuracy at 108 epochs, as a fraction (`cifar10/ori-test@108` is in percent: 94.3175...).
pub const BEST_MEAN_TEST_108: f64 = 0.943175752957662;
/// Landmark for users with the official file: the best mean (over the 3 repeats) validation
/// accuracy at 108 epochs, as a fraction (`cifar10/x-valid@108` is in percent: 95.0554...).
pub const BEST_MEAN_VALID_108: f64 = 0.9505542318026224;

/// Store key of the validation accuracy (percent, 3 trials) at `epochs`.
pub fn key_valid(epochs: u32) -> String {
    format!("cifar10/x-valid@{epochs}")
}
/// Store key of the test accuracy (percent, 3 trials) at `epochs`.
pub fn key_test(epochs: u32) -> String {
    format!("cifar10/ori-test@{epochs}")
}
/// Store key of the train accuracy (percent, 3 trials) at `epochs`.
pub fn key_train(epochs: u32) -> String {
    format!("cifar10/train@{epochs}")
}
/// Store key of the training time in seconds (3 trials) at `epochs`.
pub fn key_train_time(epochs: u32) -> String {
    format!("cifar10/train_time_s@{epochs}")
}
/// Store key of the number of trainable parameters (1 trial).
pub const KEY_PARAMS: &str = "cifar10/params";

#[cfg(test)]
mod import_tests;
