//! Figures for weaknas-bench: PNG + SVG with an embedded font (DejaVu Sans, no system fonts),
//! one consistent style (a fixed colour per method name) and a provenance sidecar per figure.
//!
//! The crate takes plain data (vectors of `f64`, strings) and knows nothing of the harness or
//! the result store. Describe a figure with [`LineFigure`], [`ScatterFigure`] or
//! [`EcdfFigure`], wrap it in [`Figure`] (`.into()`), and call [`render`]:
//!
//! ```no_run
//! use weaknas_plots::{render, LineFigure, LineSeries, Provenance};
//! let fig = LineFigure {
//!     title: "NAS-Bench-201 CIFAR-10".into(),
//!     x_label: "queries".into(),
//!     y_label: "test accuracy (%)".into(),
//!     log_x: false,
//!     series: vec![LineSeries {
//!         name: "WeakNAS".into(),
//!         x: vec![10.0, 20.0, 30.0],
//!         y: vec![92.0, 93.5, 94.1],
//!         band: Some((vec![91.0, 93.0, 93.9], vec![93.0, 94.0, 94.3])),
//!     }],
//!     hline: Some(("global optimum".into(), 94.37)),
//! };
//! let prov = Provenance { spec_hash: Some("ab12".into()), ..Default::default() };
//! let paths = render(&fig.into(), std::path::Path::new("figures"), "nb201_c10", &prov)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

#![warn(missing_docs)]

mod ecdf;
mod figure;
mod font;
mod legend;
mod line;
mod output;
mod provenance;
mod scatter;
mod style;
mod ticks;
mod xy;

pub use figure::{
    CurveColours, EcdfCurve, EcdfFigure, Figure, LineFigure, LineSeries, ScatterFigure,
    ScatterPanel, Skipped,
};
pub use font::{ensure_fonts, FAMILY};
pub use output::{render, render_with, RenderOptions};
pub use provenance::{Generator, Provenance, Sidecar, WrittenFile, SIDECAR_SCHEMA};
pub use style::{method_color, method_colors, normalise_method, sequential_color};
