//! End-to-end rendering tests on synthetic data (named synthetic; no benchmark results).

use image::RgbImage;
use std::path::{Path, PathBuf};
use weaknas_plots::{
    method_color, render, render_with, CurveColours, EcdfCurve, EcdfFigure, Figure, LineFigure,
    LineSeries, Provenance, RenderOptions, ScatterFigure, ScatterPanel, Sidecar,
};

/// Deterministic pseudo-random numbers in [0, 1) (xorshift), for synthetic data.
fn noise(seed: u64, n: usize) -> Vec<f64> {
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

/// Synthetic "best accuracy vs queries" curve with a +-band.
fn curve(name: &str, rate: f64, top: f64, log_x: bool) -> LineSeries {
    let x: Vec<f64> = if log_x {
        (0..30)
            .map(|i| 10f64 * 100f64.powf(i as f64 / 29.0))
            .collect()
    } else {
        (1..=50).map(|i| 20.0 * i as f64).collect()
    };
    let y: Vec<f64> = x.iter().map(|q| top - 6.0 * (-q / rate).exp()).collect();
    let w: Vec<f64> = x.iter().map(|q| 0.3 + 2.0 * (-q / rate).exp()).collect();
    let lo = y.iter().zip(&w).map(|(a, b)| a - b).collect();
    let hi = y.iter().zip(&w).map(|(a, b)| a + b).collect();
    LineSeries {
        name: name.into(),
        x,
        y,
        band: Some((lo, hi)),
    }
}

fn line_fig() -> LineFigure {
    LineFigure {
        title: "Synthetic search curves".into(),
        x_label: "number of queries".into(),
        y_label: "best test accuracy (%)".into(),
        log_x: false,
        series: vec![
            curve("WeakNAS", 60.0, 94.2, false),
            curve("Random Search", 300.0, 93.6, false),
        ],
        hline: Some(("global optimum".into(), 94.37)),
    }
}

fn scatter_fig(n: usize) -> ScatterFigure {
    let panels = (0..4)
        .map(|k| {
            let t = noise(k as u64 + 1, n);
            let e = noise(k as u64 + 100, n);
            let x: Vec<f64> = t.iter().map(|v| 80.0 + 14.0 * v).collect();
            let y: Vec<f64> = x
                .iter()
                .zip(&e)
                .map(|(a, b)| (a - 87.0) / 4.0 + (1.5 - 0.3 * k as f64) * (b - 0.5))
                .collect();
            ScatterPanel {
                title: format!("iteration {}", 1 + 10 * k),
                x,
                y,
                x_threshold: Some(93.0),
                y_threshold: Some(1.2),
            }
        })
        .collect();
    ScatterFigure {
        title: "Synthetic predicted vs true".into(),
        x_label: "true accuracy (%)".into(),
        y_label: "predicted score".into(),
        panels,
        columns: None,
        share_x: true,
        x_threshold_label: "true top-100".into(),
        y_threshold_label: "predicted top-100 cut-off".into(),
    }
}

fn ecdf_fig() -> EcdfFigure {
    EcdfFigure {
        title: "Synthetic error of the predicted top-200".into(),
        x_label: "true rank of predicted top-200 architectures".into(),
        y_label: "fraction of predicted top-200".into(),
        log_x: true,
        curves: (0..4)
            .map(|k| EcdfCurve {
                name: format!("iteration {}", 1 + 20 * k),
                values: noise(k as u64 + 7, 200)
                    .iter()
                    .map(|u| (15625f64).powf(u * (1.0 - 0.2 * k as f64)).floor())
                    .collect(),
            })
            .collect(),
        colours: CurveColours::Sequential,
    }
}

fn prov() -> Provenance {
    let mut p = Provenance {
        spec_hash: Some("spec-0123abcd".into()),
        run_ids: vec!["run-1".into(), "run-2".into()],
        data_checksum: Some("data-feedbeef".into()),
        harness_version: Some("0.1.0+test".into()),
        ..Default::default()
    };
    p.extra
        .insert("benchmark".into(), serde_json::json!("synthetic"));
    p
}

fn decode(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

/// Pixels within `tol` of `c` in every channel, inside the fractional box.
fn count_near(img: &RgbImage, c: [u8; 3], tol: i32, bx: (f64, f64, f64, f64)) -> usize {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let (x0, y0, x1, y1) = (
        (bx.0 * w) as u32,
        (bx.1 * h) as u32,
        (bx.2 * w) as u32,
        (bx.3 * h) as u32,
    );
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            if (0..3).all(|i| (i32::from(p[i]) - i32::from(c[i])).abs() <= tol) {
                n += 1;
            }
        }
    }
    n
}

/// Pixels that are not the white background, inside the fractional box.
fn count_ink(img: &RgbImage, bx: (f64, f64, f64, f64)) -> usize {
    let all = ((bx.2 - bx.0) * f64::from(img.width())) as usize
        * ((bx.3 - bx.1) * f64::from(img.height())) as usize;
    all.saturating_sub(count_near(img, [255, 255, 255], 3, bx))
}

/// Contents of the SVG's `<text>` elements (unescaped for the few entities plotters writes).
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        let after = &rest[i..];
        let open_end = after.find('>').unwrap() + 1;
        let close = after.find("</text>").unwrap();
        out.push(
            after[open_end..close]
                .trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
        rest = &after[close..];
    }
    out
}

fn rgb(c: plotters::style::RGBColor) -> [u8; 3] {
    [c.0, c.1, c.2]
}

fn sidecar(paths: &[PathBuf]) -> Sidecar {
    serde_json::from_slice(&std::fs::read(&paths[2]).unwrap()).unwrap()
}

fn assert_no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().into_string().unwrap();
        assert!(!n.starts_with('.'), "temporary file left behind: {n}");
    }
}

#[test]
fn line_figure_renders_png_svg_and_sidecar() {
    let d = tempfile::tempdir().unwrap();
    let fig: Figure = line_fig().into();
    let opts = RenderOptions {
        size: Some((900, 560)),
    };
    let paths = render_with(&fig, d.path(), "curves", &prov(), &opts).unwrap();
    assert_eq!(
        paths,
        vec![
            d.path().join("curves.png"),
            d.path().join("curves.svg"),
            d.path().join("curves.provenance.json")
        ]
    );
    assert_no_temp_files(d.path());

    let img = decode(&paths[0]);
    assert_eq!(img.dimensions(), (900, 560));
    let plot = (0.12, 0.12, 0.97, 0.85);
    assert!(count_ink(&img, plot) > 5_000);
    // The WeakNAS line in its fixed colour, and its band (20% over white) both visible.
    let red = rgb(method_color("WeakNAS"));
    assert!(
        count_near(&img, red, 30, plot) > 300,
        "WeakNAS line missing"
    );
    let band = red.map(|c| (255.0 * 0.8 + f64::from(c) * 0.2).round() as u8);
    assert!(count_near(&img, band, 8, plot) > 2_000, "band missing");
    // Glyphs were rasterised: dark pixels in the title band.
    assert!(
        count_near(&img, [30, 30, 30], 60, (0.2, 0.0, 0.8, 0.08)) > 100,
        "title not drawn"
    );

    let svg = std::fs::read_to_string(&paths[1]).unwrap();
    assert!(svg.contains("width=\"900\"") && svg.contains("height=\"560\""));
    let texts = svg_texts(&svg);
    for want in [
        "Synthetic search curves",
        "number of queries",
        "best test accuracy (%)",
        "WeakNAS",
        "Random Search",
        "global optimum",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "{want:?} not in SVG text: {texts:?}"
        );
    }
    assert!(svg.contains("#D62728"), "WeakNAS colour not used in SVG");

    let s = sidecar(&paths);
    assert_eq!(s.provenance, prov());
    assert_eq!(s.kind, "line");
    assert_eq!(s.size_px, (900, 560));
    assert_eq!(s.files.len(), 2);
    for f in &s.files {
        let bytes = std::fs::read(d.path().join(&f.file)).unwrap();
        use sha2::Digest;
        assert_eq!(f.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
        assert_eq!(f.bytes, bytes.len() as u64);
    }
    assert_eq!(s.skipped.points, 0);
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&paths[2]).unwrap()).unwrap();
    assert_eq!(raw["provenance"]["benchmark"], "synthetic");
}

#[test]
fn log_x_line_figure_skips_non_positive_x() {
    let d = tempfile::tempdir().unwrap();
    let mut f = line_fig();
    f.log_x = true;
    f.series = vec![
        curve("WeakNAS", 60.0, 94.2, true),
        curve("REA", 150.0, 94.0, true),
    ];
    f.series[1].x[0] = 0.0;
    let paths = render(&f.into(), d.path(), "log", &prov()).unwrap();
    let img = decode(&paths[0]);
    assert_eq!(img.dimensions(), (1000, 640));
    assert!(count_near(&img, rgb(method_color("REA")), 30, (0.1, 0.1, 0.97, 0.88)) > 300);
    let texts = svg_texts(&std::fs::read_to_string(&paths[1]).unwrap());
    assert!(texts.iter().any(|t| t == "100"), "log ticks: {texts:?}");
    // x = 0 dropped from the line and from the band.
    assert_eq!(sidecar(&paths).skipped.points, 2);
}

#[test]
fn nan_and_empty_series_are_skipped_and_recorded() {
    let d = tempfile::tempdir().unwrap();
    let mut f = line_fig();
    f.series[0].y[10] = f64::NAN;
    f.series[0].band.as_mut().unwrap().0[20] = f64::INFINITY;
    f.series.push(LineSeries {
        name: "empty method".into(),
        x: vec![],
        y: vec![],
        band: None,
    });
    f.series.push(LineSeries {
        name: "all NaN method".into(),
        x: vec![1.0, 2.0],
        y: vec![f64::NAN, f64::NAN],
        band: None,
    });
    let paths = render(&f.into(), d.path(), "nan", &prov()).unwrap();
    let img = decode(&paths[0]);
    assert!(
        count_near(
            &img,
            rgb(method_color("WeakNAS")),
            30,
            (0.1, 0.1, 0.97, 0.88)
        ) > 300
    );
    let s = sidecar(&paths);
    assert_eq!(s.skipped.points, 4);
    assert_eq!(s.skipped.empty, vec!["empty method", "all NaN method"]);
    let texts = svg_texts(&std::fs::read_to_string(&paths[1]).unwrap());
    assert!(
        !texts.iter().any(|t| t.contains("empty method")),
        "empty series in legend"
    );
}

#[test]
fn figures_without_data_are_clear_errors_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mut line = line_fig();
    for s in &mut line.series {
        s.y.iter_mut().for_each(|v| *v = f64::NAN);
        s.band = None;
    }
    let mut scatter = scatter_fig(10);
    for p in &mut scatter.panels {
        p.x.clear();
        p.y.clear();
    }
    let ecdf = EcdfFigure {
        curves: vec![EcdfCurve {
            name: "iteration 1".into(),
            values: vec![f64::NAN],
        }],
        ..ecdf_fig()
    };
    let no_series = LineFigure {
        series: vec![],
        ..line_fig()
    };
    for (fig, name) in [
        (Figure::from(line), "line"),
        (scatter.into(), "scatter"),
        (ecdf.into(), "ecdf"),
        (no_series.into(), "none"),
    ] {
        let e = format!("{:#}", render(&fig, d.path(), name, &prov()).unwrap_err());
        assert!(e.contains("no data") && e.contains(name), "{e}");
    }
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn mismatched_lengths_are_errors_naming_the_series() {
    let d = tempfile::tempdir().unwrap();
    let mut f = line_fig();
    f.series[1].band.as_mut().unwrap().1.pop();
    let e = format!(
        "{:#}",
        render(&f.into(), d.path(), "bad", &prov()).unwrap_err()
    );
    assert!(e.contains("Random Search") && e.contains("band"), "{e}");
    let mut s = scatter_fig(10);
    s.panels[2].y.push(1.0);
    let e = format!(
        "{:#}",
        render(&s.into(), d.path(), "bad", &prov()).unwrap_err()
    );
    assert!(e.contains("iteration 21"), "{e}");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn scatter_small_multiples_render() {
    let d = tempfile::tempdir().unwrap();
    let mut f = scatter_fig(600);
    f.panels[1].x[3] = f64::NAN;
    let fig: Figure = f.into();
    let paths = render(&fig, d.path(), "scatter", &prov()).unwrap();
    let img = decode(&paths[0]);
    assert_eq!(img.dimensions(), fig.default_size());
    // Ordinary points and highlighted true top-k points in every quadrant of the 2x2 grid.
    let hl = rgb(weaknas_plots::method_color("weaknas"));
    for (x0, y0) in [(0.0, 0.15), (0.5, 0.15), (0.0, 0.58), (0.5, 0.58)] {
        let b = (x0, y0, x0 + 0.5, y0 + 0.42);
        assert!(count_ink(&img, b) > 2_000);
        assert!(
            count_near(&img, hl, 40, b) > 20,
            "highlighted points missing in {b:?}"
        );
    }
    let texts = svg_texts(&std::fs::read_to_string(&paths[1]).unwrap());
    for want in [
        "Synthetic predicted vs true",
        "iteration 1",
        "iteration 31",
        "true accuracy (%)",
        "predicted score",
        "true top-100",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
    }
    assert_eq!(sidecar(&paths).skipped.points, 1);

    let opts = RenderOptions {
        size: Some((1200, 900)),
    };
    let paths = render_with(&fig, d.path(), "scatter_big", &prov(), &opts).unwrap();
    assert_eq!(decode(&paths[0]).dimensions(), (1200, 900));
}

#[test]
fn ecdf_renders_one_curve_per_iteration() {
    let d = tempfile::tempdir().unwrap();
    let mut f = ecdf_fig();
    f.curves.push(EcdfCurve {
        name: "iteration 99".into(),
        values: vec![],
    });
    let paths = render(&f.into(), d.path(), "ecdf", &prov()).unwrap();
    let img = decode(&paths[0]);
    assert_eq!(img.dimensions(), (1000, 640));
    assert!(count_ink(&img, (0.12, 0.12, 0.97, 0.85)) > 3_000);
    let first = rgb(weaknas_plots::sequential_color(0, 5));
    assert!(count_near(&img, first, 30, (0.1, 0.1, 0.97, 0.88)) > 200);
    let texts = svg_texts(&std::fs::read_to_string(&paths[1]).unwrap());
    for want in [
        "iteration 1",
        "iteration 61",
        "fraction of predicted top-200",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
    }
    assert_eq!(sidecar(&paths).skipped.empty, vec!["iteration 99"]);
}

#[test]
fn rendering_is_deterministic() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for fig in [
        Figure::from(line_fig()),
        ecdf_fig().into(),
        scatter_fig(50).into(),
    ] {
        let pa = render(&fig, a.path(), "f", &prov()).unwrap();
        let pb = render(&fig, b.path(), "f", &prov()).unwrap();
        for (x, y) in pa.iter().zip(&pb) {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{}",
                x.display()
            );
        }
    }
}

#[test]
fn same_method_same_colour_across_figures() {
    let d = tempfile::tempdir().unwrap();
    let mut f = line_fig();
    f.series.reverse();
    f.series.insert(0, curve("BANANAS", 100.0, 94.0, false));
    let p1 = render(&line_fig().into(), d.path(), "one", &prov()).unwrap();
    let p2 = render(&f.into(), d.path(), "two", &prov()).unwrap();
    for p in [&p1[1], &p2[1]] {
        let svg = std::fs::read_to_string(p).unwrap();
        assert!(
            svg.contains("#D62728") && svg.contains("#7F7F7F"),
            "{}",
            p.display()
        );
    }
}

#[test]
fn figure_descriptions_round_trip_as_json() {
    // Dyadic values: serde_json without `float_roundtrip` may parse other floats 1 ulp off.
    let mut f = scatter_fig(5);
    for p in &mut f.panels {
        p.x = vec![90.5, 91.25, f64::from(93)];
        p.y = vec![-0.125, 0.5, 2.0];
    }
    let fig: Figure = f.into();
    let json = serde_json::to_string(&fig).unwrap();
    assert!(json.contains("\"kind\":\"scatter\""));
    assert_eq!(serde_json::from_str::<Figure>(&json).unwrap(), fig);
}
