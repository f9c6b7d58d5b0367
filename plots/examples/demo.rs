//! Renders one example of each figure type from SYNTHETIC data (not benchmark results) so the
//! style can be inspected: `cargo run --release -p weaknas-plots --example demo [out_dir]`
//! (default `/tmp/plots_demo`).

use std::path::PathBuf;
use weaknas_plots::{
    render, CurveColours, EcdfCurve, EcdfFigure, LineFigure, LineSeries, Provenance, ScatterFigure,
    ScatterPanel,
};

/// Deterministic uniform numbers in [0, 1) (xorshift64).
fn uniform(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Approximately normal numbers (sum of 4 uniforms, centred, unit variance).
fn normal(seed: u64, n: usize) -> Vec<f64> {
    let u = uniform(seed, 4 * n);
    u.chunks(4)
        .map(|c| (c.iter().sum::<f64>() - 2.0) * 3f64.sqrt())
        .collect()
}

fn curve(name: &str, xs: &[f64], top: f64, rate: f64, spread: f64) -> LineSeries {
    let y: Vec<f64> = xs
        .iter()
        .map(|q| top - 4.0 * (-q / rate).exp() - 0.4 * (-q / (8.0 * rate)).exp())
        .collect();
    let sd: Vec<f64> = xs
        .iter()
        .map(|q| spread * (0.15 + (-q / (2.0 * rate)).exp()))
        .collect();
    LineSeries {
        name: name.into(),
        x: xs.to_vec(),
        band: Some((
            y.iter().zip(&sd).map(|(a, b)| a - b).collect(),
            y.iter().zip(&sd).map(|(a, b)| a + b).collect(),
        )),
        y,
    }
}

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/plots_demo".into()),
    );
    let mut prov = Provenance {
        harness_version: Some(env!("CARGO_PKG_VERSION").into()),
        ..Default::default()
    };
    prov.extra
        .insert("data".into(), serde_json::json!("synthetic (plots demo)"));

    // 1. NB201-style curves: mean +- std over runs vs queries, global optimum.
    let q: Vec<f64> = (1..=100).map(|i| 10.0 * i as f64).collect();
    let line = LineFigure {
        title: "NAS-Bench-201 CIFAR-10 (synthetic demo data)".into(),
        x_label: "number of queried architectures".into(),
        y_label: "test accuracy of best found (%)".into(),
        log_x: false,
        series: vec![
            curve("WeakNAS", &q, 94.30, 40.0, 0.6),
            curve("Regularized Evolution", &q, 94.15, 150.0, 0.9),
            curve("BANANAS", &q, 94.22, 90.0, 0.8),
            curve("Random Search", &q, 93.95, 300.0, 1.0),
        ],
        hline: Some(("global optimum (94.37)".into(), 94.37)),
    };
    let mut paths = render(&line.into(), &out, "demo_line", &prov)?;

    // 2. Teaser-style, log x.
    let qlog: Vec<f64> = (0..40)
        .map(|i| 10.0 * 100f64.powf(i as f64 / 39.0))
        .collect();
    let teaser = LineFigure {
        title: "Weak predictors vs one strong predictor (synthetic demo data)".into(),
        x_label: "number of queries (log scale)".into(),
        y_label: "test accuracy (%)".into(),
        log_x: true,
        series: vec![
            curve("WeakNAS", &qlog, 94.30, 40.0, 0.5),
            curve("Single strong predictor", &qlog, 94.05, 200.0, 0.7),
        ],
        hline: None,
    };
    paths.extend(render(&teaser.into(), &out, "demo_line_logx", &prov)?);

    // 2b. Crossing curves filling every corner, small canvas: the legend must move the data.
    let xs: Vec<f64> = (0..=60).map(|i| i as f64).collect();
    let mk = |name: &str, f: &dyn Fn(f64) -> f64| LineSeries {
        name: name.into(),
        x: xs.clone(),
        y: xs.iter().map(|&x| f(x)).collect(),
        band: None,
    };
    let crowded = LineFigure {
        title: "Crossing curves, small canvas (synthetic)".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        log_x: false,
        series: vec![
            mk("rising", &|x| x),
            mk("falling", &|x| 60.0 - x),
            mk("NPENAS", &|x| 30.0 + 28.0 * (x / 6.0).sin()),
        ],
        hline: None,
    };
    let opts = weaknas_plots::RenderOptions {
        size: Some((640, 420)),
    };
    paths.extend(weaknas_plots::render_with(
        &crowded.into(),
        &out,
        "demo_line_crowded",
        &prov,
        &opts,
    )?);

    // 3. Predicted vs true, 6 iterations, 15625 architectures each.
    let n = 15625;
    let truth: Vec<f64> = uniform(1, n)
        .iter()
        .map(|u| 94.37 - 25.0 * u.powf(3.0) - 0.01)
        .collect();
    let mut sorted = truth.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let top100 = sorted[99];
    let panels = (0..6)
        .map(|k| {
            let noise = normal(100 + k as u64, n);
            let sigma = 1.2 * 0.6f64.powi(k);
            let y: Vec<f64> = truth
                .iter()
                .zip(&noise)
                .map(|(t, e)| (t - 85.0) / 6.0 + sigma * e)
                .collect();
            let mut ys = y.clone();
            ys.sort_by(|a, b| b.total_cmp(a));
            ScatterPanel {
                title: format!("iteration {} ({} queries)", 1 + 20 * k, 10 + 200 * k),
                x: truth.clone(),
                y,
                x_threshold: Some(top100),
                y_threshold: Some(ys[99]),
            }
        })
        .collect();
    let scatter = ScatterFigure {
        title: "Predicted vs true accuracy over iterations (synthetic demo data)".into(),
        x_label: "true accuracy (%)".into(),
        y_label: "predicted score".into(),
        panels,
        columns: Some(3),
        share_x: true,
        x_threshold_label: "true top-100".into(),
        y_threshold_label: "predicted top-100 cut-off".into(),
    };
    paths.extend(render(&scatter.into(), &out, "demo_scatter", &prov)?);

    // 4. ECDF of the true rank of the predicted top-200, per iteration.
    let curves = (0..5)
        .map(|k| EcdfCurve {
            name: format!("iteration {}", 1 + 20 * k),
            values: uniform(50 + k as u64, 200)
                .iter()
                .map(|u| (15625f64.powf(u.powf(1.0 + 0.6 * k as f64))).floor())
                .collect(),
        })
        .collect();
    let ecdf = EcdfFigure {
        title: "True rank of the predicted top-200 (synthetic demo data)".into(),
        x_label: "true rank among 15625 architectures (log scale)".into(),
        y_label: "fraction of predicted top-200".into(),
        log_x: true,
        curves,
        colours: CurveColours::Sequential,
    };
    paths.extend(render(&ecdf.into(), &out, "demo_ecdf", &prov)?);
    for p in paths {
        println!("{}", p.display());
    }
    Ok(())
}
