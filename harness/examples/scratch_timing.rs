// TEMPORARY timing scratch (deleted before hand-off).
use rand::Rng;
use std::time::Instant;
use weaknas_harness::matrix::Matrix;
use weaknas_harness::predictor::mlp::{Mlp, MlpConfig};
use weaknas_harness::predictor::{Predictor, Threads};

fn gemm_peak(m: usize, n: usize, k: usize, par: gemm::Parallelism) -> f64 {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0f32; m * n];
    let run = |c: &mut Vec<f32>| unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
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
    };
    run(&mut c);
    let mut s = f64::INFINITY;
    for _ in 0..8 {
        let t = Instant::now();
        run(&mut c);
        s = s.min(t.elapsed().as_secs_f64());
    }
    2.0 * (m * n * k) as f64 / s / 1e9
}

#[allow(clippy::too_many_arguments)]
fn shape(
    name: &str,
    m: usize,
    n: usize,
    k: usize,
    lrs: usize,
    lcs: usize,
    rrs: usize,
    rcs: usize,
    par: gemm::Parallelism,
) {
    let a = vec![0.5f32; 8_400_000];
    let b = vec![0.25f32; 2_100_000];
    let mut c = vec![0f32; m * n];
    let run = |c: &mut Vec<f32>| unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            lcs as isize,
            lrs as isize,
            b.as_ptr(),
            rcs as isize,
            rrs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    };
    run(&mut c);
    let mut s = f64::INFINITY;
    for _ in 0..15 {
        let t = Instant::now();
        run(&mut c);
        s = s.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name:>10} {m}x{n}x{k}: {:.1} GF/s ({:.2} ms)",
        2.0 * (m * n * k) as f64 / s / 1e9,
        s * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(|s| s.as_str()).unwrap_or("all");
    let epochs: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(10);
    let threads: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(2);
    println!("kernel {}", weaknas_harness::predictor::kernel_name());
    if what == "gemm" || what == "all" {
        for (m, n, k) in [
            (1000, 1000, 1000),
            (8192, 1000, 1000),
            (200, 1000, 1000),
            (1000, 1000, 200),
        ] {
            println!(
                "gemm {m}x{n}x{k}: 1T {:.1} GF/s, 2T {:.1} GF/s",
                gemm_peak(m, n, k, gemm::Parallelism::None),
                gemm_peak(m, n, k, gemm::Parallelism::Rayon(2))
            );
        }
    }
    if what == "blocks" {
        let p = gemm::Parallelism::None;
        for b in [200usize, 100] {
            for rb in [25usize, 50, 100] {
                shape("fwd rows", rb, 1000, 1000, 1000, 1, 1000, 1, p);
            }
            for nb in [64usize, 128, 256, 512] {
                shape("fwd cols", b, nb, 1000, 1000, 1, 1000, 1, p);
                shape("dlt cols", b, nb, 1000, 1000, 1, 1, 1000, p);
            }
        }
        return;
    }
    if what == "trees" {
        use weaknas_harness::predictor::PredictorConfig;
        let mut rng = weaknas_harness::rng::stream("timing", 0, "t");
        let d = 30;
        let rows = 423_624;
        let xp = Matrix::from_vec(
            rows,
            d,
            (0..rows)
                .flat_map(|i| {
                    let mut v = vec![0f32; 30];
                    let mut c = i % 15625;
                    for e in 0..6 {
                        v[e * 5 + c % 5] = 1.0;
                        c /= 5;
                    }
                    v
                })
                .collect(),
        );
        let idx: Vec<u32> = (0..1000).map(|_| rng.random_range(0..15625u32)).collect();
        let xs = xp.gather(&idx);
        let y: Vec<f32> = idx
            .iter()
            .map(|&i| {
                let r = xp.row(i as usize);
                r[3] + 2.0 * r[8] - r[12] * r[27] + 0.5 * r[19] + 0.1 * rng.random::<f32>()
            })
            .collect();
        for cfg in [
            PredictorConfig::Gbdt(Default::default()),
            PredictorConfig::RandomForest(Default::default()),
        ] {
            let mut p = cfg.build(Threads(threads));
            let t = Instant::now();
            p.fit(xs.view(), &y, &mut rng).unwrap();
            let f = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let out = p.predict(xp.view());
            println!(
                "{}: fit 1000 {f:.2} s, predict {rows} {:.2} s ({})",
                cfg.label(),
                t.elapsed().as_secs_f64(),
                out[0]
            );
        }
        return;
    }
    if what == "pshapes" {
        let p = gemm::Parallelism::None;
        for m in [1024usize, 2048, 4096, 8192] {
            shape("pred", m, 1000, 1000, 1000, 1, 1000, 1, p);
            shape("pred blk", m, 128, 1000, 1000, 1, 1000, 1, p);
            shape("pred blk256", m, 256, 1000, 1000, 1, 1000, 1, p);
        }
        return;
    }
    if what == "shapes" {
        for b in [200usize, 100] {
            let p = gemm::Parallelism::None;
            shape("fwd", b, 1000, 1000, 1000, 1, 1000, 1, p);
            shape("delta", b, 1000, 1000, 1000, 1, 1, 1000, p);
            shape("dW panel", 131, 1000, b, 1, 1000, 1000, 1, p);
            shape("dW full", 1000, 1000, b, 1, 1000, 1000, 1, p);
            shape("dW^T", 1000, 1000, b, 1, 1000, 1000, 1, p);
            shape("fwd0", b, 1000, 30, 30, 1, 1000, 1, p);
            shape("out", b, 1, 1000, 1000, 1, 1, 1, p);
            shape("dOut", b, 1000, 1, 1, 1, 1, 1, p);
            shape("dW0", 30, 1000, b, 1, 30, 1000, 1, p);
            shape("dWout", 1000, 1, b, 1, 1000, 1, 1, p);
        }
        return;
    }
    let mut rng = weaknas_harness::rng::stream("timing", 0, "x");
    let d = 30;
    let x = Matrix::from_vec(
        1000,
        d,
        (0..1000 * d)
            .map(|_| if rng.random::<f32>() < 0.2 { 1.0 } else { 0.0 })
            .collect(),
    );
    let y: Vec<f32> = (0..1000).map(|_| rng.random::<f32>()).collect();
    let cfg = MlpConfig {
        max_iter: epochs,
        n_iter_no_change: 10_000,
        ..MlpConfig::default()
    };
    if what == "fit" || what == "all" {
        let sizes: Vec<usize> = std::env::var("SIZES")
            .map(|s| s.split(',').map(|v| v.parse().unwrap()).collect())
            .unwrap_or(vec![100, 500, 1000]);
        for n in sizes {
            let mut m = Mlp::new(cfg.clone(), Threads(threads));
            let xs = x.gather(&(0..n as u32).collect::<Vec<_>>());
            let t = Instant::now();
            m.fit(xs.view(), &y[..n], &mut rng).unwrap();
            let s = t.elapsed().as_secs_f64();
            let flops = 2.0 * cfg.train_macs_per_row(d) as f64 * n as f64 * epochs as f64;
            println!("fit n={n} epochs={epochs} T={threads}: {s:.3} s ({:.1} GF/s) => 100 epochs ~{:.2} s", flops / s / 1e9, s * 100.0 / epochs as f64);
        }
    }
    if what == "predict" || what == "all" {
        for (rows, d) in [(15_625usize, 30usize), (423_624, 45)] {
            let xp = Matrix::from_vec(
                rows,
                d,
                (0..rows * d)
                    .map(|i| ((i * 7) % 5 == 0) as u8 as f32)
                    .collect(),
            );
            let xs = Matrix::from_vec(100, d, xp.data[..100 * d].to_vec());
            let mut m = Mlp::new(
                MlpConfig {
                    max_iter: 1,
                    ..cfg.clone()
                },
                Threads(threads),
            );
            m.fit(xs.view(), &y[..100], &mut rng).unwrap();
            let t = Instant::now();
            let p = m.predict(xp.view());
            let s = t.elapsed().as_secs_f64();
            let flops = 2.0 * cfg.forward_macs_per_row(d) as f64 * rows as f64;
            println!(
                "predict {rows} rows T={threads}: {s:.3} s ({:.1} GF/s) p0 {}",
                flops / s / 1e9,
                p[0]
            );
        }
    }
}
