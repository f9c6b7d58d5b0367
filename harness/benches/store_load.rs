//! Criterion benchmark of `load_store` on the real NAS-Bench-201 store (built from the shared
//! CSVs into a temporary directory). Prints the store size; skips with a message when the
//! shared data is absent. Target: under 100 ms and under 100 MB.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use weaknas_harness::store::{import, load_store};
use weaknas_harness::testdata::shared_data_or_skip;

fn bench_store_load(c: &mut Criterion) {
    let Some(data) = shared_data_or_skip("nasbench201") else {
        eprintln!("store_load: skipped (no NAS-Bench-201 data)");
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store, sources) = import::nb201_csv::import_dir(&data).expect("importing the CSVs");
    let manifest = import::merge_into_dir(dir.path(), store, sources).expect("saving the store");
    let values: usize = manifest
        .columns
        .iter()
        .map(|(_, t)| t * manifest.num_cells)
        .sum();
    eprintln!(
        "store_load: store.bin is {} bytes ({:.2} MB): {} cells, {} columns, {} values",
        manifest.store_bytes,
        manifest.store_bytes as f64 / 1e6,
        manifest.num_cells,
        manifest.columns.len(),
        values
    );
    c.bench_function("load_store nb201 (csv import)", |b| {
        b.iter(|| black_box(load_store(black_box(dir.path())).expect("loading")))
    });
}

criterion_group!(benches, bench_store_load);
criterion_main!(benches);
