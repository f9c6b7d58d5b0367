//! The drawing core shared by line and ECDF figures: prepared (already cleaned) polylines and
//! bands on linear or logarithmic x, a mesh, a reference line and a legend that avoids the data.

use crate::legend::{best_place, Entry, Legend, Occupancy, PxRect, Swatch};
use crate::style::{Style, BACKGROUND, GRID, INK, REFERENCE};
use crate::ticks::{self, Ticked, Ticks};
use anyhow::{anyhow, Result};
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One cleaned curve: finite polyline segments (a gap wherever data was missing) and band
/// segments as (x, low, high).
#[derive(Debug, Clone)]
pub(crate) struct XyLine {
    pub name: String,
    pub colour: RGBColor,
    pub segments: Vec<Vec<(f64, f64)>>,
    pub band: Vec<Vec<(f64, f64, f64)>>,
}

/// A cleaned x-y figure, ready to draw.
#[derive(Debug, Clone)]
pub(crate) struct XyPlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub lines: Vec<XyLine>,
    pub hline: Option<(String, f64)>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
}

/// Layout constants at the design size (1000 x 640).
const TITLE_BAND: f64 = 54.0;

fn derr<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> anyhow::Error {
    move |e| anyhow!("{what}: {e}")
}

/// Draws the figure title centred in a band at the top and returns the area below it.
pub(crate) fn title_band<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    st: &Style,
) -> Result<DrawingArea<DB, Shift>> {
    let band = st.tpx(TITLE_BAND);
    let (w, _) = root.dim_in_pixel();
    let style = st.title().pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, band / 2 + st.tpx(4.0)),
        style,
    ))
    .map_err(derr("drawing title"))?;
    Ok(root.split_vertically(band).1)
}

/// Renders an x-y plot on `root` (the whole canvas).
pub(crate) fn draw_xy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    p: &XyPlot,
    st: &Style,
) -> Result<()> {
    root.fill(&BACKGROUND).map_err(derr("filling background"))?;
    let area = title_band(root, &p.title, st)?;
    let (x0, x1) = p.x_range;
    if p.log_x {
        let xt = ticks::log(x0, x1);
        draw_in(
            root,
            &area,
            p,
            st,
            || xt.bind(LogCoord::from((x0..x1).log_scale())),
            &xt,
        )
    } else {
        let xt = ticks::linear(x0, x1, 8);
        draw_in(
            root,
            &area,
            p,
            st,
            || xt.bind(RangedCoordf64::from(x0..x1)),
            &xt,
        )
    }
}

type Chart<'a, DB, X> = ChartContext<'a, DB, Cartesian2d<Ticked<X>, Ticked<RangedCoordf64>>>;

fn build<'a, DB, X>(
    area: &'a DrawingArea<DB, Shift>,
    st: &Style,
    x: Ticked<X>,
    (y0, y1): (f64, f64),
) -> Result<(Chart<'a, DB, X>, Ticks)>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
{
    let yt = ticks::linear(y0, y1, 7);
    let chart = ChartBuilder::on(area)
        .margin_left(st.px(10.0))
        .margin_right(st.px(28.0))
        .margin_top(st.px(6.0))
        .margin_bottom(st.px(10.0))
        .x_label_area_size(st.tpx(62.0))
        .y_label_area_size(st.tpx(84.0))
        .build_cartesian_2d(x, yt.bind(RangedCoordf64::from(y0..y1)))
        .map_err(derr("building chart"))?;
    Ok((chart, yt))
}

fn plot_rect<DB: DrawingBackend, X: Ranged<ValueType = f64>>(chart: &Chart<'_, DB, X>) -> PxRect {
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    (xr.start, yr.start, xr.end, yr.end)
}

fn occupancy<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    chart: &Chart<'_, DB, X>,
    p: &XyPlot,
) -> Occupancy {
    let mut occ = Occupancy::default();
    for l in &p.lines {
        for seg in &l.segments {
            let px: Vec<_> = seg.iter().map(|pt| chart.backend_coord(pt)).collect();
            occ.add_polyline(&px);
        }
        for seg in &l.band {
            let px: Vec<_> = seg
                .iter()
                .map(|&(x, lo, hi)| {
                    let a = chart.backend_coord(&(x, hi));
                    let b = chart.backend_coord(&(x, lo));
                    (a.0, a.1, b.1)
                })
                .collect();
            occ.add_band(&px);
        }
    }
    if let Some((_, y)) = &p.hline {
        let a = chart.backend_coord(&(p.x_range.0, *y));
        let b = chart.backend_coord(&(p.x_range.1, *y));
        occ.add_polyline(&[a, b]);
    }
    occ
}

fn legend_entries(p: &XyPlot) -> Vec<Entry> {
    let mut entries: Vec<Entry> = p
        .lines
        .iter()
        .filter(|l| !l.segments.is_empty() || !l.band.is_empty())
        .map(|l| Entry {
            label: l.name.clone(),
            colour: l.colour,
            swatch: Swatch::Line {
                band: !l.band.is_empty(),
            },
        })
        .collect();
    if let Some((label, _)) = &p.hline {
        entries.push(Entry {
            label: label.clone(),
            colour: REFERENCE,
            swatch: Swatch::Dashed,
        });
    }
    entries
}

fn draw_in<DB, X, F>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &XyPlot,
    st: &Style,
    make_x: F,
    xt: &Ticks,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    F: Fn() -> Ticked<X>,
{
    let (y0, mut y1) = p.y_range;
    let legend = Legend::measure(root, legend_entries(p), st)?;
    let inset = st.px(12.0);
    let (mut chart, mut yt) = build(area, st, make_x(), (y0, y1))?;
    let mut place = None;
    if !legend.entries.is_empty() {
        let rect = plot_rect(&chart);
        let occ = occupancy(&chart, p);
        let (mut r, n) = best_place(&occ, rect, legend.width, legend.height, inset);
        if n > 0 {
            // Every corner covers data: raise the top of the y axis so the data sit below
            // the legend's height, then place it again (a top corner is now free).
            let plot_h = f64::from(rect.3 - rect.1);
            let f = f64::from(legend.height + 2 * inset) / plot_h;
            if f < 0.6 {
                y1 = (y1 - f * y0) / (1.0 - f);
                (chart, yt) = build(area, st, make_x(), (y0, y1))?;
                let rect = plot_rect(&chart);
                let occ = occupancy(&chart, p);
                r = best_place(&occ, rect, legend.width, legend.height, inset).0;
            }
        }
        place = Some(r);
    }

    let fx = |v: &f64| xt.label(*v);
    let fy = |v: &f64| yt.label(*v);
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .label_style(st.tick())
        .axis_desc_style(st.axis_desc())
        .axis_style(ShapeStyle::from(INK).stroke_width(st.thin_width()))
        .bold_line_style(GRID.mix(0.13))
        .light_line_style(GRID.mix(0.045))
        .set_all_tick_mark_size(st.px(6.0))
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .draw()
        .map_err(derr("drawing axes"))?;

    // Bands first, then the reference line, then the curves on top.
    for l in &p.lines {
        for seg in &l.band {
            let mut poly: Vec<(f64, f64)> = seg.iter().map(|&(x, _, hi)| (x, hi)).collect();
            poly.extend(seg.iter().rev().map(|&(x, lo, _)| (x, lo)));
            if seg.len() == 1 {
                let (x, lo, hi) = seg[0];
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, lo), (x, hi)],
                        ShapeStyle::from(l.colour.mix(0.35)).stroke_width(st.line_width()),
                    )))
                    .map_err(derr("drawing band"))?;
            } else {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        l.colour.mix(0.2).filled(),
                    )))
                    .map_err(derr("drawing band"))?;
            }
        }
    }
    if let Some((_, y)) = &p.hline {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![(p.x_range.0, *y), (p.x_range.1, *y)],
                st.px(9.0),
                st.px(6.0),
                ShapeStyle::from(REFERENCE).stroke_width(st.thin_width()),
            )))
            .map_err(derr("drawing reference line"))?;
    }
    for l in &p.lines {
        let style = ShapeStyle::from(l.colour).stroke_width(st.line_width());
        for seg in &l.segments {
            if seg.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        seg[0],
                        st.px(4.0),
                        l.colour.filled(),
                    )))
                    .map_err(derr("drawing point"))?;
            } else {
                chart
                    .draw_series(std::iter::once(PathElement::new(seg.clone(), style)))
                    .map_err(derr("drawing line"))?;
            }
        }
    }
    if let Some(r) = place {
        legend.draw(root, (r.0, r.1), st)?;
    }
    Ok(())
}

/// Range with padding: `frac` of the span on each side; a degenerate range gets a unit-ish span.
pub(crate) fn padded(lo: f64, hi: f64, frac: f64, log: bool) -> (f64, f64) {
    if log {
        if hi <= lo {
            return (lo / 2.0, hi * 2.0);
        }
        let r = (hi / lo).powf(frac);
        return (lo / r, hi * r);
    }
    if hi <= lo {
        let d = (lo.abs() * 0.01).max(0.5);
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * frac;
    (lo - d, hi + d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_handles_degenerate_ranges() {
        assert_eq!(padded(1.0, 1.0, 0.05, false), (0.5, 1.5));
        let (a, b) = padded(10.0, 1000.0, 0.02, true);
        assert!(a < 10.0 && b > 1000.0);
        assert_eq!(padded(5.0, 5.0, 0.05, true), (2.5, 10.0));
    }
}
