//! Small multiples of predicted vs true scores (one panel per search iteration).

use crate::figure::{ScatterFigure, Skipped};
use crate::legend::{draw_swatch, Entry, Swatch};
use crate::line::min_max;
use crate::style::{Style, BACKGROUND, GRID, HIGHLIGHT, INK, POINT, REFERENCE};
use crate::ticks;
use crate::xy::{padded, title_band};
use anyhow::{anyhow, bail, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const PANEL_W: u32 = 360;
const PANEL_H: u32 = 330;
const HEADER: u32 = 54 + 40;
const LEGEND_STRIP: f64 = 40.0;
const PANEL_TITLE: f64 = 28.0;

/// Grid shape (rows, columns) for `n` panels.
pub(crate) fn grid(n: usize, columns: Option<usize>) -> (usize, usize) {
    let n = n.max(1);
    let cols = columns
        .unwrap_or_else(|| ((n as f64).sqrt().ceil() as usize).min(4))
        .clamp(1, n);
    (n.div_ceil(cols), cols)
}

/// Canvas size the layout is designed at for a grid.
pub(crate) fn design_size(rows: usize, cols: usize) -> (u32, u32) {
    (PANEL_W * cols as u32 + 20, PANEL_H * rows as u32 + HEADER)
}

/// A panel's finite points, split into ordinary and highlighted (x >= x_threshold).
struct Clean {
    plain: Vec<(f64, f64)>,
    high: Vec<(f64, f64)>,
}

/// Validates the figure and splits each panel's points.
fn prepare(fig: &ScatterFigure) -> Result<(Vec<Clean>, Skipped)> {
    let mut skipped = Skipped::default();
    let mut out = Vec::with_capacity(fig.panels.len());
    for p in &fig.panels {
        if p.x.len() != p.y.len() {
            bail!(
                "scatter figure {:?}, panel {:?}: x has {} values but y has {}",
                fig.title,
                p.title,
                p.x.len(),
                p.y.len()
            );
        }
        let thr = p.x_threshold.filter(|t| t.is_finite());
        let mut c = Clean {
            plain: Vec::new(),
            high: Vec::new(),
        };
        for (&x, &y) in p.x.iter().zip(&p.y) {
            if !(x.is_finite() && y.is_finite()) {
                skipped.points += 1;
            } else if thr.is_some_and(|t| x >= t) {
                c.high.push((x, y));
            } else {
                c.plain.push((x, y));
            }
        }
        if c.plain.is_empty() && c.high.is_empty() {
            tracing::warn!(figure = %fig.title, panel = %p.title, "panel has no finite points");
            skipped.empty.push(p.title.clone());
        }
        out.push(c);
    }
    if out.iter().all(|c| c.plain.is_empty() && c.high.is_empty()) {
        bail!(
            "scatter figure {:?}: no data to plot ({} panels, none with a finite point)",
            fig.title,
            fig.panels.len()
        );
    }
    Ok((out, skipped))
}

/// Validates a scatter figure without drawing it (returns what would be skipped).
pub(crate) fn check(fig: &ScatterFigure) -> Result<Skipped> {
    prepare(fig).map(|(_, s)| s)
}

fn derr<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> anyhow::Error {
    move |e| anyhow!("{what}: {e}")
}

/// Renders a scatter figure on the whole canvas.
pub(crate) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &ScatterFigure,
    st: &Style,
) -> Result<()> {
    let (clean, _) = prepare(fig)?;
    root.fill(&BACKGROUND).map_err(derr("filling background"))?;
    let area = title_band(root, &fig.title, st)?;
    let (strip, panels_area) = area.split_vertically(st.tpx(LEGEND_STRIP));
    draw_strip(root, &strip, fig, st)?;
    let panels_area = panels_area.margin(0, st.px(8.0), st.px(10.0), st.px(10.0));
    let (rows, cols) = grid(fig.panels.len(), fig.columns);
    let cells = panels_area.split_evenly((rows, cols));

    let shared_x = if fig.share_x {
        let xs = clean
            .iter()
            .flat_map(|c| c.plain.iter().chain(&c.high).map(|p| p.0))
            .chain(
                fig.panels
                    .iter()
                    .filter_map(|p| p.x_threshold.filter(|t| t.is_finite())),
            );
        min_max(xs)
    } else {
        None
    };

    for ((panel, c), cell) in fig.panels.iter().zip(&clean).zip(&cells) {
        let n = c.plain.len() + c.high.len();
        if n == 0 {
            let (w, h) = cell.dim_in_pixel();
            cell.draw(&Text::new(
                format!("{}: no data", panel.title),
                (w as i32 / 2, h as i32 / 2),
                st.panel_title().pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(derr("drawing empty panel"))?;
            continue;
        }
        let xt = panel.x_threshold.filter(|t| t.is_finite());
        let yt = panel.y_threshold.filter(|t| t.is_finite());
        let pts = || c.plain.iter().chain(&c.high);
        let (xl, xh) = shared_x
            .or_else(|| min_max(pts().map(|p| p.0).chain(xt)))
            .expect("panel has points");
        let (yl, yh) = min_max(pts().map(|p| p.1).chain(yt)).expect("panel has points");
        let (x0, x1) = padded(xl, xh, 0.04, false);
        let (y0, y1) = padded(yl, yh, 0.05, false);

        let (xk, yk) = (ticks::linear(x0, x1, 5), ticks::linear(y0, y1, 6));
        // Panel title drawn by hand, with room below it for the top tick label.
        let (head, body) = cell.split_vertically(st.tpx(PANEL_TITLE));
        let (hw, hh) = head.dim_in_pixel();
        head.draw(&Text::new(
            panel.title.clone(),
            (hw as i32 / 2, hh as i32 / 2),
            st.panel_title().pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(derr("drawing panel title"))?;
        let mut chart = ChartBuilder::on(&body)
            .margin(st.px(8.0))
            .margin_top(st.tpx(12.0))
            .margin_right(st.px(16.0))
            .x_label_area_size(st.tpx(50.0))
            .y_label_area_size(st.tpx(68.0))
            .build_cartesian_2d(
                xk.bind(RangedCoordf64::from(x0..x1)),
                yk.bind(RangedCoordf64::from(y0..y1)),
            )
            .map_err(derr("building panel"))?;
        let fx = |v: &f64| xk.label(*v);
        let fy = |v: &f64| yk.label(*v);
        chart
            .configure_mesh()
            .x_desc(fig.x_label.as_str())
            .y_desc(fig.y_label.as_str())
            .label_style(st.tick())
            .axis_desc_style(st.tick())
            .axis_style(ShapeStyle::from(INK).stroke_width(st.thin_width()))
            .bold_line_style(GRID.mix(0.13))
            .light_line_style(GRID.mix(0.0))
            .set_all_tick_mark_size(st.px(5.0))
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .draw()
            .map_err(derr("drawing panel axes"))?;

        let (radius, alpha) = match n {
            0..=500 => (3.0, 0.75),
            501..=3000 => (2.2, 0.5),
            _ => (1.6, 0.35),
        };
        let r = st.px(radius);
        // Highlighted points are few (a top-k) and drawn on top: slightly larger.
        let rh = st.px(radius * 1.4);
        chart
            .draw_series(
                c.plain
                    .iter()
                    .map(|&p| Circle::new(p, r, POINT.mix(alpha).filled())),
            )
            .map_err(derr("drawing points"))?;
        chart
            .draw_series(
                c.high
                    .iter()
                    .map(|&p| Circle::new(p, rh, HIGHLIGHT.mix(alpha.max(0.8)).filled())),
            )
            .map_err(derr("drawing highlighted points"))?;
        let line = ShapeStyle::from(REFERENCE).stroke_width(st.thin_width());
        if let Some(t) = xt {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(t, y0), (t, y1)],
                    st.px(7.0),
                    st.px(5.0),
                    line,
                )))
                .map_err(derr("drawing threshold"))?;
        }
        if let Some(t) = yt {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(x0, t), (x1, t)],
                    st.px(2.0),
                    st.px(4.0),
                    line,
                )))
                .map_err(derr("drawing threshold"))?;
        }
    }
    Ok(())
}

/// The one-row legend under the title (only entries that occur in some panel).
fn draw_strip<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    strip: &DrawingArea<DB, Shift>,
    fig: &ScatterFigure,
    st: &Style,
) -> Result<()> {
    let has_xt = fig
        .panels
        .iter()
        .any(|p| p.x_threshold.is_some_and(f64::is_finite));
    let has_yt = fig
        .panels
        .iter()
        .any(|p| p.y_threshold.is_some_and(f64::is_finite));
    let mut entries = Vec::new();
    if has_xt {
        entries.push(Entry {
            label: fig.x_threshold_label.clone(),
            colour: HIGHLIGHT,
            swatch: Swatch::Dot,
        });
        entries.push(Entry {
            label: "other architectures".into(),
            colour: POINT,
            swatch: Swatch::Dot,
        });
        entries.push(Entry {
            label: format!("{} threshold", fig.x_threshold_label),
            colour: REFERENCE,
            swatch: Swatch::Dashed,
        });
    }
    if has_yt {
        entries.push(Entry {
            label: fig.y_threshold_label.clone(),
            colour: REFERENCE,
            swatch: Swatch::Dotted,
        });
    }
    if entries.is_empty() {
        return Ok(());
    }
    let font = st.legend().pos(Pos::new(HPos::Left, VPos::Center));
    let (sw, gap, spacing) = (st.tpx(30.0), st.tpx(8.0), st.tpx(28.0));
    let mut widths = Vec::with_capacity(entries.len());
    let mut row_h = 0;
    for e in &entries {
        let (w, h) = root
            .estimate_text_size(&e.label, &font)
            .map_err(derr("measuring legend"))?;
        widths.push(sw + gap + w as i32);
        row_h = row_h.max(h as i32);
    }
    let total: i32 = widths.iter().sum::<i32>() + spacing * (entries.len() as i32 - 1);
    let ((sx0, sx1), (sy0, sy1)) = {
        let (xr, yr) = strip.get_pixel_range();
        ((xr.start, xr.end), (yr.start, yr.end))
    };
    let cy = (sy0 + sy1) / 2;
    let mut x = sx0 + ((sx1 - sx0) - total).max(0) / 2;
    for (e, w) in entries.iter().zip(widths) {
        draw_swatch(root, e, (x, x + sw, cy), row_h * 3 / 2, st).map_err(derr("drawing legend"))?;
        root.draw(&Text::new(
            e.label.clone(),
            (x + sw + gap, cy),
            font.clone(),
        ))
        .map_err(derr("drawing legend"))?;
        x += w + spacing;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_are_near_square() {
        assert_eq!(grid(1, None), (1, 1));
        assert_eq!(grid(4, None), (2, 2));
        assert_eq!(grid(6, None), (2, 3));
        assert_eq!(grid(10, None), (3, 4));
        assert_eq!(grid(5, Some(5)), (1, 5));
        assert_eq!(grid(3, Some(10)), (1, 3));
    }
}
