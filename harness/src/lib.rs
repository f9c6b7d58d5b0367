//! Core of weaknas-bench.
//!
//! Search spaces ([`space`]), benchmark stores and importers ([`store`]), the query oracle
//! ([`oracle`]), predictors ([`predictor`]), ranking diagnostics ([`diagnostics`]), the
//! [`searcher::Searcher`] trait with WeakNAS itself ([`weaknas`]), traces ([`trace`]) and the
//! runner ([`runner`]). This crate never compiles polars or plotters.

pub mod checkpoint;
pub mod diagnostics;
pub mod evaluator;
pub mod expectation;
pub mod fsutil;
pub mod home;
pub mod matrix;
pub mod oracle;
pub mod pip;
pub mod predictor;
pub mod rng;
pub mod searcher;
pub mod space;
pub mod store;
pub mod testdata;
pub mod trace;

/// Version of the harness, part of every run's content address.
pub const HARNESS_VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod nb101;
pub mod runner;
pub mod weaknas;
