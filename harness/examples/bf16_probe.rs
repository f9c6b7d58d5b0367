//! Quick side-by-side of the MLP's precisions in CPU time (robust when other work shares the
//! cores, unlike wall time): the paper's 4 x 1000 MLP, a few Adam steps on
//! synthetic rows of 30 features (init and packing included), then a prediction.
//!
//! Usage: `cargo run --release -p weaknas-harness --example bf16_probe [F32|Bf16Amx|Bf16Avx512]
//! [FIT_ROWS STEPS PREDICT_ROWS [THREADS]]` (default: every precision this machine has; 200
//! rows, 5 steps, 8,192 rows, one thread). The data are synthetic (timing only).

use std::time::Instant;
use weaknas_harness::matrix::Matrix;
use weaknas_harness::predictor::mlp::{Mlp, MlpConfig, Precision};
use weaknas_harness::predictor::{Predictor, Threads};
use weaknas_harness::runner::plan::process_cpu_s;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, default: usize| {
        args.get(i)
            .map(|s| s.parse().expect("FIT_ROWS STEPS PREDICT_ROWS are counts"))
            .unwrap_or(default)
    };
    let (n, steps, rows, d) = (num(2, 200), num(3, 5), num(4, 8192), 30);
    let x = Matrix::from_vec(
        n,
        d,
        (0..n * d)
            .map(|i| ((i * 7919) % 13) as f32 / 13.0)
            .collect(),
    );
    let y: Vec<f32> = (0..n).map(|i| (i % 11) as f32 / 11.0).collect();
    let xp = Matrix::from_vec(
        rows,
        d,
        x.data.iter().copied().cycle().take(rows * d).collect(),
    );
    let which = args.get(1).cloned().unwrap_or_default();
    // One step per epoch up to 200 rows (scikit-learn's batch of min(200, n)).
    let epochs = steps.div_ceil(n.div_ceil(200));
    for p in [Precision::F32, Precision::Bf16Amx, Precision::Bf16Avx512] {
        if (!which.is_empty() && format!("{p:?}") != which) || p.validate().is_err() {
            continue;
        }
        let cfg = MlpConfig {
            max_iter: epochs,
            n_iter_no_change: 100,
            precision: p,
            ..MlpConfig::default()
        };
        let mut m = Mlp::new(cfg, Threads(num(5, 1)));
        let (c0, t0) = (process_cpu_s(), Instant::now());
        m.fit(
            x.view(),
            &y,
            &mut weaknas_harness::rng::stream("probe", 0, "fit"),
        )
        .unwrap();
        let (c1, t1) = (process_cpu_s(), Instant::now());
        std::hint::black_box(m.predict(xp.view()));
        let c2 = process_cpu_s();
        println!(
            "{:<46} fit {n} rows, {} steps: {:.3} CPU-s ({:.3} s wall); predict {rows} rows: {:.3} CPU-s ({:.3} s wall)",
            p.kernel_label(),
            m.n_steps(),
            c1 - c0,
            (t1 - t0).as_secs_f64(),
            c2 - c1,
            t1.elapsed().as_secs_f64()
        );
    }
}
