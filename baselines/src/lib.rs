//! Baseline searchers of weaknas-bench, one file each, and the registry of every method
//! ([`registry`]: WeakNAS and the baselines).
//!
//! | kind | file | method |
//! |---|---|---|
//! | `random` | [`random`] | random search without replacement |
//! | `evolution` | [`evolution`] | regularized evolution (Real et al. 2019), NASLib defaults |
//! | `strong-predictor` | [`strong_predictor`] | one predictor fitted once, its top cells queried |
//! | `local-search` | [`local_search`] | local search with restarts (White et al.), naszilla defaults |
//! | `external` | [`external`] | your own searcher, any language: a program speaking `docs/protocol.md` |
//!
//! # Adding a baseline
//!
//! 1. Write one file `src/<name>.rs` with a config struct
//!    (`#[serde(default, deny_unknown_fields)]`, parsed with
//!    [`weaknas_harness::searcher::parse_params`] so typos are errors), a type implementing
//!    [`Searcher`](weaknas_harness::searcher::Searcher) that queries only through
//!    `ctx.oracle` / `ctx.try_query_new` until `ctx.oracle.remaining() == 0`, draws every
//!    random choice from `ctx.rng`, and
//!    `pub fn build(params: &toml::Table, info: &BuildInfo) -> anyhow::Result<Box<dyn Searcher>>`.
//! 2. Add `pub mod <name>;` below and one `.add(kind, about, <name>::build)` line in
//!    [`registry`].
//!
//! Searchers here never query a cell twice and spend exactly their budget; methods without a
//! natural iteration label their queries in blocks of [`ITERATION_BLOCK`].

pub mod evolution;
pub mod external;
pub mod local_search;
pub mod random;
pub mod strong_predictor;
mod util;

pub use util::ITERATION_BLOCK;

use weaknas_harness::searcher::Registry;

/// Every method a spec can name, by kind: WeakNAS (from the harness) and the baselines. The
/// one registry the binary, the tests and the examples use.
pub fn registry() -> Registry {
    use weaknas_harness::weaknas;
    Registry::new()
        .add(
            "weaknas",
            "WeakNAS: iterative weak predictors, uniform sampling in the predicted top-N",
            weaknas::build,
        )
        .add(
            "weaknas-ei",
            "WeakNAS with an ensemble and expected-improvement sampling",
            weaknas::build_ei,
        )
        .add(
            random::KIND,
            "random search: uniform without replacement",
            random::build,
        )
        .add(
            evolution::KIND,
            "regularized evolution (Real et al. 2019); NASLib defaults P=30, S=10",
            evolution::build,
        )
        .add(
            strong_predictor::KIND,
            "single strong predictor: fit once on `init` uniform samples, query its ranking",
            strong_predictor::build,
        )
        .add(
            local_search::KIND,
            "local search with random restarts (White et al.); naszilla defaults",
            local_search::build,
        )
        .add(
            external::KIND,
            "your own searcher in any language: a program speaking docs/protocol.md",
            external::build,
        )
}
