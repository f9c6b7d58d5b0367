//! The plain-data figure descriptions callers fill in. No harness or polars types: vectors of
//! `f64` and strings only, so any crate (or a JSON file) can describe a figure.

use serde::{Deserialize, Serialize};

/// Mean curves with an optional band (std or CI) against a shared x axis, e.g. best accuracy
/// found vs number of queries (the paper's Figure 1 teaser, the NAS-Bench-201 curves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineFigure {
    /// Figure title.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// Logarithmic x axis; points with x <= 0 are then skipped (and counted in the sidecar).
    pub log_x: bool,
    /// One curve per method; colours are fixed per method name (see [`crate::method_color`]).
    pub series: Vec<LineSeries>,
    /// Optional horizontal reference line: (legend label, y), e.g. the global optimum.
    pub hline: Option<(String, f64)>,
}

/// One curve of a [`LineFigure`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineSeries {
    /// Legend label; also picks the colour.
    pub name: String,
    /// X values (need not be sorted; the curve is drawn in the given order).
    pub x: Vec<f64>,
    /// Y values, same length as `x`. Non-finite points are skipped and break the line.
    pub y: Vec<f64>,
    /// Optional shaded band (lower, upper), each the same length as `x`.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

/// Small multiples of predicted vs true scores, one panel per selected search iteration.
/// Convention: x = true metric, y = predicted score (their scales differ, so no y = x line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterFigure {
    /// Figure title.
    pub title: String,
    /// X axis description of every panel (e.g. "true validation accuracy (%)").
    pub x_label: String,
    /// Y axis description of every panel (e.g. "predicted score").
    pub y_label: String,
    /// Panels, in reading order (left to right, top to bottom).
    pub panels: Vec<ScatterPanel>,
    /// Number of panel columns; `None` picks a near-square grid (at most 4 columns).
    pub columns: Option<usize>,
    /// Use one x range for all panels (same true-metric scale everywhere).
    pub share_x: bool,
    /// Legend text for points at or above a panel's `x_threshold` (e.g. "true top-100").
    pub x_threshold_label: String,
    /// Legend text for the horizontal `y_threshold` line (e.g. "predicted top-100 cut-off").
    pub y_threshold_label: String,
}

/// One panel of a [`ScatterFigure`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterPanel {
    /// Panel title (e.g. "iteration 5 (60 queries)").
    pub title: String,
    /// True metric of each architecture.
    pub x: Vec<f64>,
    /// Predicted score of each architecture, same length as `x`.
    pub y: Vec<f64>,
    /// True top-k threshold: a dashed vertical line; points with x >= it are highlighted.
    pub x_threshold: Option<f64>,
    /// Predicted top-k cut-off: a dotted horizontal line.
    pub y_threshold: Option<f64>,
}

/// How the curves of an [`EcdfFigure`] are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CurveColours {
    /// Ordered curves (iterations): a sequential colour map, first curve darkest.
    #[default]
    Sequential,
    /// Curves named after methods: the fixed method colours.
    ByMethod,
}

/// Empirical CDFs of a quantity, one curve per group, e.g. the error (true rank, or accuracy
/// gap to the optimum) of the predicted top-200 at several search iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcdfFigure {
    /// Figure title.
    pub title: String,
    /// X axis description (the quantity).
    pub x_label: String,
    /// Y axis description (e.g. "fraction of predicted top-200").
    pub y_label: String,
    /// Logarithmic x axis; values <= 0 still count in the ECDF (the curve starts above 0).
    pub log_x: bool,
    /// One ECDF per group.
    pub curves: Vec<EcdfCurve>,
    /// Colouring of the curves.
    #[serde(default)]
    pub colours: CurveColours,
}

/// One curve of an [`EcdfFigure`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcdfCurve {
    /// Legend label (e.g. "iteration 10").
    pub name: String,
    /// The sample; non-finite values are skipped.
    pub values: Vec<f64>,
}

/// Any figure this crate renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Figure {
    /// Curves with bands.
    Line(LineFigure),
    /// Small multiples of predicted vs true.
    Scatter(ScatterFigure),
    /// Empirical CDFs.
    Ecdf(EcdfFigure),
}

impl Figure {
    /// Short kind name ("line", "scatter", "ecdf"), as written in the sidecar.
    pub fn kind(&self) -> &'static str {
        match self {
            Figure::Line(_) => "line",
            Figure::Scatter(_) => "scatter",
            Figure::Ecdf(_) => "ecdf",
        }
    }

    /// The figure's title.
    pub fn title(&self) -> &str {
        match self {
            Figure::Line(f) => &f.title,
            Figure::Scatter(f) => &f.title,
            Figure::Ecdf(f) => &f.title,
        }
    }

    /// Default canvas size in pixels (width, height); also the size the layout is designed at.
    pub fn default_size(&self) -> (u32, u32) {
        match self {
            Figure::Line(_) | Figure::Ecdf(_) => (1000, 640),
            Figure::Scatter(f) => {
                let (rows, cols) = crate::scatter::grid(f.panels.len(), f.columns);
                crate::scatter::design_size(rows, cols)
            }
        }
    }
}

impl From<LineFigure> for Figure {
    fn from(f: LineFigure) -> Self {
        Figure::Line(f)
    }
}

impl From<ScatterFigure> for Figure {
    fn from(f: ScatterFigure) -> Self {
        Figure::Scatter(f)
    }
}

impl From<EcdfFigure> for Figure {
    fn from(f: EcdfFigure) -> Self {
        Figure::Ecdf(f)
    }
}

/// What was left out of a figure, reported in the sidecar so nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Points (or sample values) not drawn: non-finite, or x <= 0 on a log axis.
    pub points: usize,
    /// Series, panels or curves with nothing drawable at all.
    pub empty: Vec<String>,
}
