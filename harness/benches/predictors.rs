//! Predictor speed (criterion): f32 GEMM peak of this machine, the paper's MLP 4 x 1000
//! (fit at 100 epochs on 100 / 500 / 1000 samples; predict 15,625 and 423,624 rows), GBDT and
//! random forest (fit 1000 samples, predict 423,624 rows), the thread policy, and the MLP in
//! f32 vs bf16 side by side (`mlp_precision`).
//!
//! Throughput is reported in elements/s where one element is one floating-point operation
//! (2 per multiply-add of the GEMMs), so "Gelem/s" reads as GFLOP/s; compare the MLP groups
//! with the `gemm_f32_peak` group run in the same session. Tree throughput is in rows/s.
//!
//! Data: the real NAS-Bench-201 space (30-dim one-hot of `ops`, target `c10v_val_mean`) from
//! `../shared/data` when present, else a synthetic NB201-shaped space (printed). 423,624 rows
//! (the size of NAS-Bench-101) are the NB201 rows tiled; the MLP's cost does not depend on the
//! values, the trees' only on their fitted shape.
//!
//! Thread policy groups: `alone` = one predictor with `Threads::all()` (gemm's and our
//! threads); `alone, Threads(1)` = one predictor on one thread, the other cores idle;
//! `2 runs x Threads(1)` = two predictors run at once from two rayon jobs, one thread
//! each (what the runner does for parallel runs): per-run time is the wall time of the pair,
//! throughput counts both runs.
//!
//! Run: `cargo bench -p weaknas-harness --bench predictors [-- FILTER]`. The MLP fits take
//! seconds each and criterion takes 10 samples: the whole file runs for ~15-25 minutes.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::Rng;
use std::hint::black_box;
use std::time::Duration;
use weaknas_harness::matrix::Matrix;
use weaknas_harness::predictor::forest::ForestConfig;
use weaknas_harness::predictor::gbdt::GbdtConfig;
use weaknas_harness::predictor::mlp::Mlp;
use weaknas_harness::predictor::mlp::MlpConfig;
use weaknas_harness::predictor::{Predictor, PredictorConfig, Threads};

const NB101_ROWS: usize = 423_624;

/// NB201 features and standardised targets (real when available).
fn nb201() -> (Matrix, Vec<f32>, &'static str) {
    let path = weaknas_harness::testdata::shared_data_dir().join("nasbench201/nb201_200ep.csv");
    if let Ok(mut r) = csv::Reader::from_path(&path) {
        let h = r.headers().unwrap().clone();
        let ops = h.iter().position(|c| c == "ops").expect("ops column");
        let acc = h
            .iter()
            .position(|c| c == "c10v_val_mean")
            .expect("c10v_val_mean");
        let mut x = Vec::new();
        let mut y = Vec::new();
        for rec in r.records() {
            let rec = rec.unwrap();
            let mut v = [0f32; 30];
            for (e, c) in rec[ops].bytes().enumerate() {
                v[e * 5 + (c - b'0') as usize] = 1.0;
            }
            x.extend_from_slice(&v);
            y.push(rec[acc].parse::<f64>().unwrap());
        }
        let m = y.iter().sum::<f64>() / y.len() as f64;
        let s = (y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / y.len() as f64).sqrt();
        let y = y.iter().map(|v| ((v - m) / s) as f32).collect::<Vec<_>>();
        return (
            Matrix::from_vec(y.len(), 30, x),
            y,
            "real NB201 (c10v_val_mean)",
        );
    }
    let mut rng = weaknas_harness::rng::stream("bench", 0, "synthetic");
    let mut x = Matrix::zeros(15_625, 30);
    let eff: Vec<f32> = (0..30).map(|_| rng.random()).collect();
    let mut y = Vec::new();
    for c in 0..15_625 {
        let mut code = c;
        let mut t = 0.0;
        for e in 0..6 {
            x.data[c * 30 + e * 5 + code % 5] = 1.0;
            t += eff[e * 5 + code % 5];
            code /= 5;
        }
        y.push(t);
    }
    (
        x,
        y,
        "SYNTHETIC NB201-shaped space (../shared/data not found)",
    )
}

fn tiled(x: &Matrix, rows: usize) -> Matrix {
    let data = x.data.iter().copied().cycle().take(rows * x.cols).collect();
    Matrix::from_vec(rows, x.cols, data)
}

fn subset(x: &Matrix, y: &[f32], n: usize, seed: u64) -> (Matrix, Vec<f32>) {
    use rand::seq::SliceRandom;
    let mut idx: Vec<u32> = (0..x.rows as u32).collect();
    idx.shuffle(&mut weaknas_harness::rng::stream("bench", seed, "subset"));
    idx.truncate(n);
    (x.gather(&idx), idx.iter().map(|&i| y[i as usize]).collect())
}

/// The paper's MLP, forced to run exactly 100 epochs (no early stop) for timing.
fn mlp_100_epochs() -> MlpConfig {
    MlpConfig {
        n_iter_no_change: usize::MAX,
        ..MlpConfig::default()
    }
}

/// Runs `f` twice at once from two rayon jobs (the runner's parallel mode).
fn pair<F: Fn() + Sync>(f: F) {
    rayon::join(&f, &f);
}

/// One f32 GEMM `d = a * b` (row-major, m x k times k x n) with `gemm`'s given threading.
fn gemm_once(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], d: &mut [f32], t: usize) {
    assert!(a.len() >= m * k && b.len() >= k * n && d.len() >= m * n);
    let par = if t == 1 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(t)
    };
    // SAFETY: row-major buffers of at least m*k, k*n and m*n values (asserted above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            d.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// The machine's f32 GEMM throughput with the kernel the MLP uses: `gemm`'s own threading
/// (1 and 2 threads) and two independent single-threaded products at once (the way the MLP
/// uses both cores; the best of these is the peak the MLP groups are compared with).
fn gemm_peak(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_f32_peak");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    eprintln!("gemm kernel: {}", weaknas_harness::predictor::kernel_name());
    // Large products (all operands far beyond L2) and the cache-resident blocks the MLP
    // really runs (200 x 128 x 1000: a batch of 200 rows times a 128-column block of a
    // 1000 x 1000 layer; 2048 x 128 x 1000: a prediction chunk's block). Small blocks whose
    // operands stay in L2 run faster than the large products, so the peak is the best of all.
    for (m, n, k) in [
        (1000usize, 1000usize, 1000usize),
        (2048, 1000, 1000),
        (8192, 1000, 1000),
        (200, 128, 1000),
        (2048, 128, 1000),
    ] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut d = vec![0f32; m * n];
        let mut d2 = vec![0f32; m * n];
        let flops = 2 * (m * n * k) as u64;
        let shape = format!("{m}x{n}x{k}");
        g.throughput(Throughput::Elements(flops));
        for t in [1usize, 2] {
            g.bench_function(
                BenchmarkId::new(&shape, format!("gemm {t} threads")),
                |bch| bch.iter(|| gemm_once(m, n, k, &a, &b, &mut d, t)),
            );
        }
        g.throughput(Throughput::Elements(2 * flops));
        g.bench_function(BenchmarkId::new(&shape, "2 x 1 thread at once"), |bch| {
            bch.iter(|| {
                rayon::join(
                    || gemm_once(m, n, k, &a, &b, &mut d, 1),
                    || gemm_once(m, n, k, &a, &b, &mut d2, 1),
                )
            })
        });
    }
    g.finish();
}

/// Times fresh fits of `cfg` with `threads`, a new seed each iteration.
fn fit_each_seed(
    b: &mut criterion::Bencher<'_>,
    cfg: &MlpConfig,
    xs: &Matrix,
    ys: &[f32],
    threads: Threads,
) {
    let mut seed = 0;
    b.iter(|| {
        seed += 1;
        let mut p = Mlp::new(cfg.clone(), threads);
        p.fit(
            xs.view(),
            ys,
            &mut weaknas_harness::rng::stream("b", seed, "fit"),
        )
        .unwrap();
        black_box(&p);
    })
}

fn mlp_fit(c: &mut Criterion) {
    let (x, y, what) = nb201();
    eprintln!("data: {what}");
    let cfg = mlp_100_epochs();
    let mut g = c.benchmark_group("mlp_4x1000_fit_100_epochs");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for n in [100usize, 500, 1000] {
        let (xs, ys) = subset(&x, &y, n, n as u64);
        let flops = 2 * cfg.train_macs_per_row(30) * n as u64 * cfg.max_iter as u64;
        g.throughput(Throughput::Elements(flops));
        g.bench_function(BenchmarkId::new("alone", n), |b| {
            fit_each_seed(b, &cfg, &xs, &ys, Threads::all())
        });
        // One thread, the other core idle: compare with `gemm_f32_peak`'s "gemm 1 threads".
        g.bench_function(BenchmarkId::new("alone, Threads(1)", n), |b| {
            fit_each_seed(b, &cfg, &xs, &ys, Threads::ONE)
        });
        if n == 500 {
            g.throughput(Throughput::Elements(2 * flops));
            g.bench_function(BenchmarkId::new("2 runs x Threads(1)", n), |b| {
                b.iter(|| {
                    pair(|| {
                        let mut p = PredictorConfig::Mlp(cfg.clone()).build(Threads::ONE);
                        p.fit(
                            xs.view(),
                            &ys,
                            &mut weaknas_harness::rng::stream("b", 0, "fit"),
                        )
                        .unwrap();
                        black_box(&p);
                    })
                })
            });
        }
    }
    g.finish();
}

fn mlp_predict(c: &mut Criterion) {
    let (x, y, _) = nb201();
    let cfg = MlpConfig {
        max_iter: 1,
        ..MlpConfig::default()
    };
    let (xs, ys) = subset(&x, &y, 100, 7);
    let fitted = |t: Threads| {
        let mut p = Mlp::new(cfg.clone(), t);
        p.fit(
            xs.view(),
            &ys,
            &mut weaknas_harness::rng::stream("b", 0, "p"),
        )
        .unwrap();
        p
    };
    let all = fitted(Threads::all());
    let (one_a, one_b) = (fitted(Threads::ONE), fitted(Threads::ONE));
    let mut g = c.benchmark_group("mlp_4x1000_predict");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for rows in [15_625usize, NB101_ROWS] {
        let xp = tiled(&x, rows);
        let flops = 2 * cfg.forward_macs_per_row(30) * rows as u64;
        g.throughput(Throughput::Elements(flops));
        g.bench_function(BenchmarkId::new("alone", rows), |b| {
            b.iter(|| black_box(all.predict(xp.view())))
        });
        g.throughput(Throughput::Elements(2 * flops));
        g.bench_function(BenchmarkId::new("2 runs x Threads(1)", rows), |b| {
            b.iter(|| {
                black_box(rayon::join(
                    || one_a.predict(xp.view()),
                    || one_b.predict(xp.view()),
                ))
            })
        });
    }
    g.finish();
}

fn trees(c: &mut Criterion) {
    let (x, y, _) = nb201();
    let (xs, ys) = subset(&x, &y, 1000, 1000);
    let xp = tiled(&x, NB101_ROWS);
    let configs = [
        PredictorConfig::Gbdt(GbdtConfig::default()),
        PredictorConfig::RandomForest(ForestConfig::default()),
    ];
    let mut g = c.benchmark_group("trees");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for cfg in &configs {
        for (label, t) in [("alone", Threads::all()), ("Threads(1)", Threads::ONE)] {
            g.throughput(Throughput::Elements(1000));
            g.bench_function(
                BenchmarkId::new(format!("{} fit 1000", cfg.label()), label),
                |b| {
                    b.iter(|| {
                        let mut p = cfg.build(t);
                        p.fit(
                            xs.view(),
                            &ys,
                            &mut weaknas_harness::rng::stream("b", 0, "t"),
                        )
                        .unwrap();
                        black_box(&p);
                    })
                },
            );
            let mut p = cfg.build(t);
            p.fit(
                xs.view(),
                &ys,
                &mut weaknas_harness::rng::stream("b", 0, "t"),
            )
            .unwrap();
            g.throughput(Throughput::Elements(NB101_ROWS as u64));
            g.bench_function(
                BenchmarkId::new(format!("{} predict {NB101_ROWS}", cfg.label()), label),
                |b| b.iter(|| black_box(p.predict(xp.view()))),
            );
        }
    }
    // smartcore 0.7's RandomForestRegressor with the same knobs (1000 trees, depth 10, all
    // features, bootstrap): the measurement behind writing our own forest. Its fit is
    // sequential; its predict is timed on 15,625 rows only.
    {
        use smartcore::ensemble::random_forest_regressor::{
            RandomForestRegressor, RandomForestRegressorParameters,
        };
        use smartcore::linalg::basic::matrix::DenseMatrix;
        let rows: Vec<Vec<f64>> = (0..xs.rows)
            .map(|i| xs.row(i).iter().map(|&v| v as f64).collect())
            .collect();
        let dm = DenseMatrix::from_2d_vec(&rows).unwrap();
        let yy: Vec<f64> = ys.iter().map(|&v| v as f64).collect();
        let params = RandomForestRegressorParameters::default()
            .with_n_trees(1000)
            .with_max_depth(10)
            .with_m(30)
            .with_seed(1);
        g.throughput(Throughput::Elements(1000));
        g.bench_function("smartcore rf-1000x10 fit 1000 (sequential)", |b| {
            b.iter(|| black_box(RandomForestRegressor::fit(&dm, &yy, params.clone()).unwrap()))
        });
        let model = RandomForestRegressor::fit(&dm, &yy, params.clone()).unwrap();
        let prow: Vec<Vec<f64>> = (0..15_625)
            .map(|i| x.row(i).iter().map(|&v| v as f64).collect())
            .collect();
        let pm = DenseMatrix::from_2d_vec(&prow).unwrap();
        g.throughput(Throughput::Elements(15_625));
        g.bench_function("smartcore rf-1000x10 predict 15625", |b| {
            b.iter(|| black_box(model.predict(&pm).unwrap()))
        });
    }
    g.finish();
}

/// The paper's MLP in f32 and in bf16 on each bf16 kernel this machine has, side by side in
/// one session (group `mlp_precision`): fit at 100 epochs on 100 / 500 / 1000 samples and
/// predict 15,625 / 423,624 rows, all cores (`Threads::all()`). Throughput counts the same
/// FLOPs for every precision, so the ratios of the Gelem/s columns are the speed-ups.
fn mlp_precision(c: &mut Criterion) {
    use weaknas_harness::predictor::bf16::Bf16Kernel;
    use weaknas_harness::predictor::mlp::Precision;
    let (x, y, what) = nb201();
    eprintln!("data: {what}");
    let mut precisions = vec![("f32", Precision::F32)];
    for (label, p, k) in [
        ("bf16-avx512", Precision::Bf16Avx512, Bf16Kernel::Avx512Bf16),
        ("bf16-amx", Precision::Bf16Amx, Bf16Kernel::Amx),
    ] {
        if k.available() {
            precisions.push((label, p));
        } else {
            eprintln!(
                "SKIPPED {label}: {} not available on this machine",
                k.name()
            );
        }
    }
    let mut g = c.benchmark_group("mlp_precision");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for n in [100usize, 500, 1000] {
        let (xs, ys) = subset(&x, &y, n, n as u64);
        for &(label, precision) in &precisions {
            let cfg = MlpConfig {
                precision,
                ..mlp_100_epochs()
            };
            g.throughput(Throughput::Elements(
                2 * cfg.train_macs_per_row(30) * n as u64 * cfg.max_iter as u64,
            ));
            g.bench_function(BenchmarkId::new(format!("fit {label}"), n), |b| {
                fit_each_seed(b, &cfg, &xs, &ys, Threads::all())
            });
        }
    }
    let (xs, ys) = subset(&x, &y, 100, 7);
    for rows in [15_625usize, NB101_ROWS] {
        let xp = tiled(&x, rows);
        for &(label, precision) in &precisions {
            let cfg = MlpConfig {
                precision,
                max_iter: 1,
                ..MlpConfig::default()
            };
            let mut p = Mlp::new(cfg.clone(), Threads::all());
            p.fit(
                xs.view(),
                &ys,
                &mut weaknas_harness::rng::stream("b", 0, "p"),
            )
            .unwrap();
            g.throughput(Throughput::Elements(
                2 * cfg.forward_macs_per_row(30) * rows as u64,
            ));
            g.bench_function(BenchmarkId::new(format!("predict {label}"), rows), |b| {
                b.iter(|| black_box(p.predict(xp.view())))
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    gemm_peak,
    mlp_fit,
    mlp_predict,
    trees,
    mlp_precision
);
criterion_main!(benches);
