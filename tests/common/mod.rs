//! Shared helpers of the end-to-end tests.
#![allow(dead_code)]

use std::sync::OnceLock;
use weaknas_harness::runner::{BenchmarkSet, LoadedBenchmark};
use weaknas_harness::space::nb201::Nb201Space;
use weaknas_harness::store::import::nb201_csv;
use weaknas_harness::testdata::shared_data_or_skip;

/// The real NAS-Bench-201 benchmark built from ../shared/data (None: skip).
pub fn nb201() -> Option<&'static BenchmarkSet> {
    static SET: OnceLock<Option<BenchmarkSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = shared_data_or_skip("nasbench201")?;
        let (store, sources) = nb201_csv::import_dir(&dir).expect("import the shared NB201 CSVs");
        let sha = sources
            .iter()
            .map(|s| s.sha256.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let mut set = BenchmarkSet::new();
        set.insert(
            "nb201",
            LoadedBenchmark::new(store, sha, std::sync::Arc::new(Nb201Space)).unwrap(),
        );
        Some(set)
    })
    .as_ref()
}

/// A spec over NB201 cifar10-valid x-valid -> cifar10 ori-test with the given methods (TOML).
pub fn spec(
    name: &str,
    seeds: &str,
    budget: usize,
    methods: &str,
) -> weaknas_harness::runner::Spec {
    let text = format!(
        r#"
name = "{name}"
seeds = "{seeds}"
budget = {budget}
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
{methods}
"#
    );
    weaknas_harness::runner::Spec::parse(&text).unwrap()
}
