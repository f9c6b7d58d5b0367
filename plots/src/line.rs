//! Cleaning a [`LineFigure`] into drawable segments: NaN/inf points (and x <= 0 on a log axis)
//! are skipped and break the line; lengths are checked; an all-empty figure is an error.

use crate::figure::{LineFigure, Skipped};
use crate::style::method_colors;
use crate::xy::{padded, XyLine, XyPlot};
use anyhow::{bail, Result};

fn usable(x: f64, log_x: bool) -> bool {
    x.is_finite() && (!log_x || x > 0.0)
}

/// Validates and cleans a line figure.
pub(crate) fn prepare(fig: &LineFigure) -> Result<(XyPlot, Skipped)> {
    let mut skipped = Skipped::default();
    let names: Vec<&str> = fig.series.iter().map(|s| s.name.as_str()).collect();
    let colours = method_colors(&names);
    let mut lines = Vec::with_capacity(fig.series.len());
    for (s, colour) in fig.series.iter().zip(colours) {
        if s.x.len() != s.y.len() {
            bail!(
                "line figure {:?}, series {:?}: x has {} values but y has {}",
                fig.title,
                s.name,
                s.x.len(),
                s.y.len()
            );
        }
        let mut segments = Vec::new();
        let mut cur: Vec<(f64, f64)> = Vec::new();
        for (&x, &y) in s.x.iter().zip(&s.y) {
            if usable(x, fig.log_x) && y.is_finite() {
                cur.push((x, y));
            } else {
                skipped.points += 1;
                if !cur.is_empty() {
                    segments.push(std::mem::take(&mut cur));
                }
            }
        }
        if !cur.is_empty() {
            segments.push(cur);
        }
        let mut band = Vec::new();
        if let Some((lo, hi)) = &s.band {
            if lo.len() != s.x.len() || hi.len() != s.x.len() {
                bail!(
                    "line figure {:?}, series {:?}: band has {} lower and {} upper values for {} x values",
                    fig.title,
                    s.name,
                    lo.len(),
                    hi.len(),
                    s.x.len()
                );
            }
            let mut cur: Vec<(f64, f64, f64)> = Vec::new();
            for ((&x, &l), &h) in s.x.iter().zip(lo).zip(hi) {
                if usable(x, fig.log_x) && l.is_finite() && h.is_finite() {
                    cur.push((x, l.min(h), l.max(h)));
                } else {
                    skipped.points += 1;
                    if !cur.is_empty() {
                        band.push(std::mem::take(&mut cur));
                    }
                }
            }
            if !cur.is_empty() {
                band.push(cur);
            }
        }
        if segments.is_empty() && band.is_empty() {
            tracing::warn!(figure = %fig.title, series = %s.name, "series has no drawable points; skipped");
            skipped.empty.push(s.name.clone());
        }
        lines.push(XyLine {
            name: s.name.clone(),
            colour,
            segments,
            band,
        });
    }

    let xs = lines.iter().flat_map(|l| {
        l.segments
            .iter()
            .flatten()
            .map(|p| p.0)
            .chain(l.band.iter().flatten().map(|b| b.0))
    });
    let Some((x_lo, x_hi)) = min_max(xs) else {
        bail!(
            "line figure {:?}: no data to plot (every series is empty or has no finite points{})",
            fig.title,
            if fig.log_x { " with x > 0" } else { "" }
        );
    };
    let mut hline = fig.hline.clone();
    if let Some((label, y)) = &hline {
        if !y.is_finite() {
            tracing::warn!(figure = %fig.title, line = %label, "reference line value is not finite; skipped");
            skipped.points += 1;
            skipped.empty.push(label.clone());
            hline = None;
        }
    }
    let ys = lines.iter().flat_map(|l| {
        l.segments
            .iter()
            .flatten()
            .map(|p| p.1)
            .chain(l.band.iter().flatten().flat_map(|b| [b.1, b.2]))
    });
    let (y_lo, y_hi) = min_max(ys.chain(hline.iter().map(|h| h.1))).expect("x data implies y data");
    Ok((
        XyPlot {
            title: fig.title.clone(),
            x_label: fig.x_label.clone(),
            y_label: fig.y_label.clone(),
            log_x: fig.log_x,
            lines,
            hline,
            x_range: padded(x_lo, x_hi, 0.015, fig.log_x),
            y_range: padded(y_lo, y_hi, 0.05, false),
        },
        skipped,
    ))
}

/// Minimum and maximum of an iterator of finite values.
pub(crate) fn min_max(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    v.fold(None, |acc, x| match acc {
        None => Some((x, x)),
        Some((a, b)) => Some((a.min(x), b.max(x))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figure::LineSeries;

    fn fig(series: Vec<LineSeries>) -> LineFigure {
        LineFigure {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: false,
            series,
            hline: None,
        }
    }

    #[test]
    fn nan_breaks_the_line() {
        let f = fig(vec![LineSeries {
            name: "a".into(),
            x: vec![1.0, 2.0, 3.0, 4.0],
            y: vec![1.0, f64::NAN, 3.0, 4.0],
            band: None,
        }]);
        let (p, s) = prepare(&f).unwrap();
        assert_eq!(p.lines[0].segments.len(), 2);
        assert_eq!(s.points, 1);
    }

    #[test]
    fn log_axis_drops_non_positive_x() {
        let mut f = fig(vec![LineSeries {
            name: "a".into(),
            x: vec![0.0, 10.0, 100.0],
            y: vec![1.0, 2.0, 3.0],
            band: None,
        }]);
        f.log_x = true;
        let (p, s) = prepare(&f).unwrap();
        assert_eq!(s.points, 1);
        assert!(p.x_range.0 > 0.0);
    }

    #[test]
    fn length_mismatch_names_the_series() {
        let f = fig(vec![LineSeries {
            name: "WeakNAS".into(),
            x: vec![1.0, 2.0],
            y: vec![1.0],
            band: None,
        }]);
        let e = prepare(&f).unwrap_err().to_string();
        assert!(e.contains("WeakNAS") && e.contains("x has 2"), "{e}");
    }
}
