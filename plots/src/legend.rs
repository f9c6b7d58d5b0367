//! Legends drawn by hand (not plotters' series labels) so their exact pixel box is known and
//! can be placed where it covers no data.

use crate::style::{Style, BACKGROUND, GRID};
use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What the legend swatch of an entry looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Swatch {
    /// A solid line, optionally over a shaded band.
    Line { band: bool },
    /// A dashed line.
    Dashed,
    /// A dotted line.
    Dotted,
    /// A filled dot (scatter points).
    Dot,
}

/// One legend row.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub label: String,
    pub colour: RGBColor,
    pub swatch: Swatch,
}

/// A measured legend: entries plus their box size in pixels.
pub(crate) struct Legend {
    pub entries: Vec<Entry>,
    pub width: i32,
    pub height: i32,
    row_h: i32,
    pad: i32,
    swatch_w: i32,
    gap: i32,
}

/// Pixel rectangle (x0, y0, x1, y1), backend coordinates.
pub(crate) type PxRect = (i32, i32, i32, i32);

impl Legend {
    /// Measures a vertical legend with the style's legend font.
    pub fn measure<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        entries: Vec<Entry>,
        st: &Style,
    ) -> Result<Legend> {
        let font = st.legend();
        let mut text_w = 0i32;
        let mut text_h = st.tpx(14.0);
        for e in &entries {
            let (w, h) = root
                .estimate_text_size(&e.label, &font)
                .map_err(|e| anyhow!("measuring legend text: {e}"))?;
            text_w = text_w.max(w as i32);
            text_h = text_h.max(h as i32);
        }
        let pad = st.tpx(10.0);
        let swatch_w = st.tpx(36.0);
        let gap = st.tpx(9.0);
        let row_h = (f64::from(text_h) * 1.5).round() as i32;
        let n = entries.len() as i32;
        Ok(Legend {
            width: 2 * pad + swatch_w + gap + text_w,
            height: 2 * pad + n * row_h,
            entries,
            row_h,
            pad,
            swatch_w,
            gap,
        })
    }

    /// Draws the legend with its top-left corner at `(x, y)` (backend pixels).
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        (x, y): (i32, i32),
        st: &Style,
    ) -> Result<()> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing legend: {e}");
        root.draw(&Rectangle::new(
            [(x, y), (x + self.width, y + self.height)],
            BACKGROUND.mix(0.9).filled(),
        ))
        .map_err(err)?;
        root.draw(&Rectangle::new(
            [(x, y), (x + self.width, y + self.height)],
            ShapeStyle::from(GRID.mix(0.3)).stroke_width(st.upx(1.0)),
        ))
        .map_err(err)?;
        let font = st.legend().pos(Pos::new(HPos::Left, VPos::Center));
        for (i, e) in self.entries.iter().enumerate() {
            let cy = y + self.pad + self.row_h * i as i32 + self.row_h / 2;
            let sx0 = x + self.pad;
            let sx1 = sx0 + self.swatch_w;
            draw_swatch(root, e, (sx0, sx1, cy), self.row_h, st).map_err(err)?;
            root.draw(&Text::new(
                e.label.clone(),
                (sx1 + self.gap, cy),
                font.clone(),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

/// Draws one swatch between `x0` and `x1` centred vertically on `cy`.
pub(crate) fn draw_swatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    e: &Entry,
    (x0, x1, cy): (i32, i32, i32),
    row_h: i32,
    st: &Style,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let line = ShapeStyle::from(e.colour).stroke_width(st.line_width());
    match e.swatch {
        Swatch::Line { band } => {
            if band {
                let h = row_h * 3 / 10;
                root.draw(&Rectangle::new(
                    [(x0, cy - h), (x1, cy + h)],
                    e.colour.mix(0.2).filled(),
                ))?;
            }
            root.draw(&PathElement::new(vec![(x0, cy), (x1, cy)], line))
        }
        Swatch::Dashed => root.draw(&DashedPathElement::new(
            vec![(x0, cy), (x1, cy)],
            st.px(7.0),
            st.px(5.0),
            ShapeStyle::from(e.colour).stroke_width(st.thin_width()),
        )),
        Swatch::Dotted => root.draw(&DashedPathElement::new(
            vec![(x0, cy), (x1, cy)],
            st.px(2.0),
            st.px(4.0),
            ShapeStyle::from(e.colour).stroke_width(st.thin_width()),
        )),
        Swatch::Dot => root.draw(&Circle::new(
            ((x0 + x1) / 2, cy),
            st.px(5.0),
            e.colour.filled(),
        )),
    }
}

/// Pixels occupied by data, sampled: points (lines, markers) and vertical spans (bands).
#[derive(Debug, Default)]
pub(crate) struct Occupancy {
    points: Vec<(i32, i32)>,
    spans: Vec<(i32, i32, i32)>,
}

const STEP: f64 = 3.0;

impl Occupancy {
    /// Adds a polyline, sampled every few pixels along each edge.
    pub fn add_polyline(&mut self, pts: &[(i32, i32)]) {
        if let [p] = pts {
            self.points.push(*p);
        }
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
            let n = (dx.abs().max(dy.abs()) / STEP).ceil().max(1.0) as i32;
            for k in 0..=n {
                let t = f64::from(k) / f64::from(n);
                self.points
                    .push((a.0 + (dx * t).round() as i32, a.1 + (dy * t).round() as i32));
            }
        }
    }

    /// Adds a band given as (x, y_top, y_bottom) pixel triples along its length.
    pub fn add_band(&mut self, pts: &[(i32, i32, i32)]) {
        if let [p] = pts {
            self.spans.push(*p);
        }
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let dx = f64::from(b.0 - a.0);
            let n = (dx.abs() / STEP).ceil().max(1.0) as i32;
            for k in 0..=n {
                let t = f64::from(k) / f64::from(n);
                let lerp = |u: i32, v: i32| u + (f64::from(v - u) * t).round() as i32;
                self.spans
                    .push((lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2)));
            }
        }
    }

    /// Number of samples inside a rectangle.
    pub fn count_in(&self, (x0, y0, x1, y1): PxRect) -> usize {
        let pts = self
            .points
            .iter()
            .filter(|(x, y)| *x >= x0 && *x <= x1 && *y >= y0 && *y <= y1)
            .count();
        let spans = self
            .spans
            .iter()
            .filter(|(x, t, b)| {
                let (top, bot) = ((*t).min(*b), (*t).max(*b));
                *x >= x0 && *x <= x1 && bot >= y0 && top <= y1
            })
            .count();
        pts + spans
    }
}

/// Candidate legend positions inside a plot area, in order of preference for ties
/// (NAS curves rise early and flatten, so the lower right is usually free).
pub(crate) fn candidates(plot: PxRect, w: i32, h: i32, inset: i32) -> [PxRect; 4] {
    let (x0, y0, x1, y1) = plot;
    let left = x0 + inset;
    let right = x1 - inset - w;
    let top = y0 + inset;
    let bottom = y1 - inset - h;
    [
        (right, bottom, right + w, bottom + h),
        (left, top, left + w, top + h),
        (right, top, right + w, top + h),
        (left, bottom, left + w, bottom + h),
    ]
}

/// The candidate covering the fewest data samples, with its count.
pub(crate) fn best_place(
    occ: &Occupancy,
    plot: PxRect,
    w: i32,
    h: i32,
    inset: i32,
) -> (PxRect, usize) {
    let mut best: Option<(PxRect, usize)> = None;
    for r in candidates(plot, w, h, inset) {
        let n = occ.count_in(r);
        if best.is_none_or(|(_, b)| n < b) {
            best = Some((r, n));
        }
    }
    best.expect("four candidates")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_empty_corner() {
        // A curve rising steeply on the left, then flat along the top.
        let mut occ = Occupancy::default();
        occ.add_polyline(&[(0, 100), (10, 5), (100, 5)]);
        let (r, n) = best_place(&occ, (0, 0, 100, 100), 30, 20, 2);
        assert_eq!(n, 0);
        assert_eq!(r, (68, 78, 98, 98));
    }

    #[test]
    fn bands_count_where_they_cross() {
        let mut occ = Occupancy::default();
        occ.add_band(&[(0, 0, 100), (100, 0, 100)]);
        assert!(occ.count_in((40, 40, 60, 60)) > 0);
        assert_eq!(occ.count_in((101, 0, 120, 10)), 0);
    }
}
