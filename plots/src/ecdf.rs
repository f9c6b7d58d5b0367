//! Turning samples into ECDF step curves for an [`EcdfFigure`].

use crate::figure::{CurveColours, EcdfFigure, Skipped};
use crate::line::min_max;
use crate::style::{method_colors, sequential_color};
use crate::xy::{padded, XyLine, XyPlot};
use anyhow::{bail, Result};

/// Validates an ECDF figure and builds its step curves.
pub(crate) fn prepare(fig: &EcdfFigure) -> Result<(XyPlot, Skipped)> {
    let mut skipped = Skipped::default();
    // Finite values per curve, sorted.
    let mut samples: Vec<Vec<f64>> = Vec::with_capacity(fig.curves.len());
    for c in &fig.curves {
        let mut v: Vec<f64> = c.values.iter().copied().filter(|x| x.is_finite()).collect();
        skipped.points += c.values.len() - v.len();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            tracing::warn!(figure = %fig.title, curve = %c.name, "curve has no finite values; skipped");
            skipped.empty.push(c.name.clone());
        }
        samples.push(v);
    }
    let visible = samples
        .iter()
        .flatten()
        .copied()
        .filter(|&x| !fig.log_x || x > 0.0);
    let Some((lo, hi)) = min_max(visible) else {
        bail!(
            "ECDF figure {:?}: no data to plot (every curve is empty or has no finite values{})",
            fig.title,
            if fig.log_x { " > 0" } else { "" }
        );
    };
    let (x0, x1) = padded(lo, hi, 0.02, fig.log_x);
    let n_curves = fig.curves.len();
    let colours = match fig.colours {
        CurveColours::Sequential => (0..n_curves)
            .map(|i| sequential_color(i, n_curves))
            .collect(),
        CurveColours::ByMethod => {
            let names: Vec<&str> = fig.curves.iter().map(|c| c.name.as_str()).collect();
            method_colors(&names)
        }
    };
    let mut lines = Vec::with_capacity(n_curves);
    for ((c, v), colour) in fig.curves.iter().zip(&samples).zip(colours) {
        let mut seg = Vec::new();
        if !v.is_empty() {
            let n = v.len() as f64;
            // Values left of the visible axis (x <= 0 on a log axis) still count.
            let hidden = v.iter().take_while(|&&x| fig.log_x && x <= 0.0).count();
            let mut y = hidden as f64 / n;
            seg.push((x0, y));
            for (j, &x) in v.iter().enumerate().skip(hidden) {
                seg.push((x, y));
                y = (j + 1) as f64 / n;
                seg.push((x, y));
            }
            seg.push((x1, y));
        }
        lines.push(XyLine {
            name: c.name.clone(),
            colour,
            segments: if seg.is_empty() { vec![] } else { vec![seg] },
            band: vec![],
        });
    }
    Ok((
        XyPlot {
            title: fig.title.clone(),
            x_label: fig.x_label.clone(),
            y_label: fig.y_label.clone(),
            log_x: fig.log_x,
            lines,
            hline: None,
            x_range: (x0, x1),
            y_range: (-0.02, 1.02),
        },
        skipped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figure::EcdfCurve;

    #[test]
    fn steps_reach_one_and_count_hidden_values() {
        let f = EcdfFigure {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "F".into(),
            log_x: true,
            curves: vec![EcdfCurve {
                name: "it 1".into(),
                values: vec![0.0, 10.0, 1.0, f64::NAN],
            }],
            colours: CurveColours::Sequential,
        };
        let (p, s) = prepare(&f).unwrap();
        assert_eq!(s.points, 1);
        let seg = &p.lines[0].segments[0];
        assert!((seg[0].1 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(seg.last().unwrap().1, 1.0);
        assert!(seg.windows(2).all(|w| w[1].1 >= w[0].1 && w[1].0 >= w[0].0));
    }
}
