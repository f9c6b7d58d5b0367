//! `weaknas-digits`: a small, real, end-to-end example evaluator for open-domain NAS.
//!
//! The binary `weaknas-digits-eval` reads a DARTS or NASNet cell genotype (the JSON the
//! harness's command evaluator writes), trains a DARTS-style network built from it on the
//! 8x8 handwritten digits with candle on one CPU thread, and writes the validation and test
//! accuracy of the final epoch as JSON. See the crate's README for the network and the
//! training choices.

#![warn(missing_docs)]

pub mod data;
pub mod fetch;
pub mod genotype;
pub mod kernels;
pub mod model;
pub mod train;

pub use genotype::Genotype;
pub use train::{evaluate, EvalResult, TrainConfig};

/// Forces single-threaded compute (rayon's and candle's thread counts = 1) for the rest of the
/// process: several evaluations run side by side, and one thread keeps results reproducible.
/// Call it before candle is first used.
pub fn single_thread() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    });
}
