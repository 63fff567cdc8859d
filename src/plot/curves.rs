//! The [`curves`] figure: mean lines with shaded mean ± SEM bands.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{
    FONT, LegendEntry, MARKER_MAX_POINTS, Series, Swatch, colour, draw_legend, legend_width,
    linear_tick, log_tick, save_both,
};

/// Draws learning curves or metric-versus-horizon curves: one coloured mean
/// line per series with a shaded mean ± SEM band, point markers when a series
/// has at most 12 points, and a legend to the right of the axes. Colours
/// cycle after nine series.
///
/// With `log_y`, the y axis is logarithmic when every drawn mean is positive
/// (band lower edges that reach zero or below are clipped to the bottom of the
/// axis). If some mean is zero or negative the plot falls back to a linear
/// y axis and the title gets the note "(linear y: non-positive values)".
///
/// Writes `stem.png` and `stem.svg`.
pub fn curves(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    let prepared: Vec<PreparedSeries> = series.iter().map(PreparedSeries::new).collect();
    let points = || prepared.iter().flat_map(|s| s.segments.iter().flatten());
    let non_positive = points().any(|p| p.mean <= 0.0);
    let has_data = points().next().is_some();
    let use_log = log_y && has_data && !non_positive;
    let title = if log_y && non_positive {
        format!("{title} (linear y: non-positive values)")
    } else {
        title.to_string()
    };
    let legend: Vec<LegendEntry> = prepared
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry {
            label: if s.segments.is_empty() {
                format!("{} (no data)", s.label)
            } else {
                s.label.clone()
            },
            colour: colour(i),
            swatch: Swatch::Band {
                marker: s.n_points <= MARKER_MAX_POINTS,
            },
        })
        .collect();
    let legend_w = legend_width(&legend)?;
    let fig = CurvesFigure {
        title,
        x_label,
        y_label,
        series: prepared,
        use_log,
        legend,
        plot_w: 820,
    };
    let size = (fig.plot_w + legend_w, 540);
    save_both(stem, size, |a| fig.draw(a), |a| fig.draw(a))
}

/// Linear axis range over `lo..hi` with 5% padding; a degenerate or empty
/// range is widened.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi <= lo {
        let w = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - w, hi + w);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// One point of a prepared series.
#[derive(Debug, Clone, Copy)]
struct BandPoint {
    x: f64,
    mean: f64,
    lo: f64,
    hi: f64,
}

/// A [`Series`] cut into runs of finite points.
struct PreparedSeries {
    label: String,
    mark: Option<f64>,
    segments: Vec<Vec<BandPoint>>,
    n_points: usize,
}

impl PreparedSeries {
    fn new(s: &Series) -> Self {
        let mut segments = Vec::new();
        let mut cur = Vec::new();
        for (i, (&x, &mean)) in s.x.iter().zip(&s.mean).enumerate() {
            if x.is_finite() && mean.is_finite() {
                let e = s
                    .sem
                    .get(i)
                    .copied()
                    .filter(|e| e.is_finite())
                    .unwrap_or(0.0);
                let e = e.abs();
                cur.push(BandPoint {
                    x,
                    mean,
                    lo: mean - e,
                    hi: mean + e,
                });
            } else if !cur.is_empty() {
                segments.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            segments.push(cur);
        }
        let n_points = segments.iter().map(Vec::len).sum();
        Self {
            label: s.label.clone(),
            mark: s.mark.filter(|x| x.is_finite()),
            segments,
            n_points,
        }
    }
}

/// Everything [`curves`] needs to draw on either backend.
struct CurvesFigure<'a> {
    title: String,
    x_label: &'a str,
    y_label: &'a str,
    series: Vec<PreparedSeries>,
    use_log: bool,
    legend: Vec<LegendEntry>,
    plot_w: u32,
}

impl CurvesFigure<'_> {
    fn points(&self) -> impl Iterator<Item = &BandPoint> {
        self.series.iter().flat_map(|s| s.segments.iter().flatten())
    }

    fn draw<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (plot_area, legend_area) = root.split_horizontally(self.plot_w);
        draw_legend(&legend_area, &self.legend, 60)?;

        let (x_lo, x_hi) = self
            .points()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.x), b.max(p.x))
            });
        let (x0, x1) = padded(x_lo, x_hi);
        let mut builder = ChartBuilder::on(&plot_area);
        builder
            .caption(&self.title, (FONT, 22).into_font().style(FontStyle::Bold))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(80);
        if self.use_log {
            let floor = self
                .points()
                .map(|p| if p.lo > 0.0 { p.lo } else { p.mean })
                .fold(f64::INFINITY, f64::min);
            let top = self
                .points()
                .map(|p| p.hi)
                .fold(f64::NEG_INFINITY, f64::max);
            let (y0, y1) = if top > floor {
                let pad = (top / floor).powf(0.04);
                (floor / pad, top * pad)
            } else {
                (floor / 2.0, top * 2.0)
            };
            let mut chart = builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
            self.draw_content(&mut chart, (x0, x1), &|v: &f64| log_tick(*v), y0)
        } else {
            let (y_lo, y_hi) = self
                .points()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                    (a.min(p.lo), b.max(p.hi))
                });
            let (y0, y1) = padded(y_lo, y_hi);
            let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
            let max_abs = y0.abs().max(y1.abs());
            let fmt = move |v: &f64| linear_tick(*v, y1 - y0, max_abs);
            self.draw_content(&mut chart, (x0, x1), &fmt, f64::NEG_INFINITY)
        }
    }

    /// Draws mesh, bands, lines and markers; band lower edges are clipped at `y_floor`.
    fn draw_content<DB, Y>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
        (x0, x1): (f64, f64),
        y_fmt: &dyn Fn(&f64) -> String,
        y_floor: f64,
    ) -> Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let x_max_abs = x0.abs().max(x1.abs());
        let x_fmt = move |v: &f64| linear_tick(*v, x1 - x0, x_max_abs);
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(y_fmt)
            .axis_desc_style((FONT, 17))
            .label_style((FONT, 14))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(RGBColor(244, 244, 244))
            .max_light_lines(4)
            .draw()?;
        for (i, s) in self.series.iter().enumerate() {
            let band = colour(i).mix(0.22).filled();
            for seg in &s.segments {
                let mut poly: Vec<(f64, f64)> = seg.iter().map(|p| (p.x, p.hi)).collect();
                poly.extend(seg.iter().rev().map(|p| (p.x, p.lo.max(y_floor))));
                chart.draw_series(std::iter::once(Polygon::new(poly, band)))?;
            }
        }
        for (i, s) in self.series.iter().enumerate() {
            let line = colour(i).stroke_width(2);
            for seg in &s.segments {
                chart.draw_series(LineSeries::new(seg.iter().map(|p| (p.x, p.mean)), line))?;
            }
            // Markers on every point of short series, and on isolated points
            // (which a line alone would not show).
            let dot = colour(i).filled();
            let marked = s
                .segments
                .iter()
                .filter(|seg| s.n_points <= MARKER_MAX_POINTS || seg.len() == 1)
                .flatten();
            chart.draw_series(marked.map(|p| Circle::new((p.x, p.mean), 4, dot)))?;
        }
        let y = chart.y_range();
        for (i, s) in self.series.iter().enumerate() {
            if let Some(x) = s.mark {
                let ends = [(x, y.start), (x, y.end)];
                chart.draw_series(DashedLineSeries::new(ends, 6, 4, colour(i).stroke_width(2)))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::tests::check_outputs;
    use std::fs;

    fn learning_series() -> Vec<Series> {
        let x: Vec<f64> = (0..60).map(|i| i as f64 * 100.0).collect();
        let make = |label: &str, scale: f64| {
            let mean: Vec<f64> = x
                .iter()
                .map(|s| scale * (-s / 1500.0).exp() + 0.02)
                .collect();
            Series {
                mark: None,
                label: label.into(),
                sem: mean.iter().map(|m| 0.15 * m).collect(),
                x: x.clone(),
                mean,
            }
        };
        vec![make("cortex only", 1.0), make("cortex + cerebellum", 0.6)]
    }

    #[test]
    fn curves_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("nested/folder/learning");
        let series = learning_series();
        curves(&stem, "Learning curve", "step", "loss", &series, true).unwrap();
        let svg = check_outputs(&stem);
        for text in [
            "Learning curve",
            "cortex only",
            "cortex + cerebellum",
            "step",
            "loss",
        ] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
        assert!(!svg.contains("linear y"));
    }

    #[test]
    fn curves_with_markers_and_log_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("horizon");
        let series = vec![
            Series {
                mark: None,
                label: "R2 model A".into(),
                x: vec![1.0, 2.0, 4.0, 8.0, 16.0],
                mean: vec![0.9, 0.7, 0.4, 0.0, -0.3],
                sem: vec![0.05, 0.05, 0.1, 0.1, 0.2],
            },
            Series {
                mark: None,
                label: "R2 model B".into(),
                x: vec![1.0, 2.0, 4.0, 8.0, 16.0],
                mean: vec![0.95, f64::NAN, 0.6, 0.3, 0.1],
                sem: vec![0.02, 0.03],
            },
        ];
        curves(&stem, "Horizon", "horizon", "R2", &series, true).unwrap();
        let svg = check_outputs(&stem);
        assert!(svg.contains("(linear y: non-positive values)"));
        assert!(svg.contains("R2 model A") && svg.contains("R2 model B"));
    }

    #[test]
    fn curves_survive_empty_and_degenerate_input() {
        let dir = tempfile::tempdir().unwrap();
        curves(&dir.path().join("none"), "Nothing", "x", "y", &[], true).unwrap();
        check_outputs(&dir.path().join("none"));
        let series = vec![
            Series {
                mark: None,
                label: "empty".into(),
                x: vec![],
                mean: vec![],
                sem: vec![],
            },
            Series {
                mark: None,
                label: "all nan".into(),
                x: vec![0.0, 1.0],
                mean: vec![f64::NAN, f64::INFINITY],
                sem: vec![1.0, 1.0],
            },
            Series {
                mark: None,
                label: "single".into(),
                x: vec![3.0],
                mean: vec![5.0],
                sem: vec![f64::NAN],
            },
        ];
        let stem = dir.path().join("degenerate");
        curves(&stem, "Degenerate", "x", "y", &series, false).unwrap();
        let svg = check_outputs(&stem);
        assert!(svg.contains("empty (no data)") && svg.contains("all nan (no data)"));
        assert!(svg.contains("single"));
    }

    #[test]
    fn error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").unwrap();
        let stem = blocker.join("sub/plot");
        let err = curves(&stem, "t", "x", "y", &learning_series(), false).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(&blocker.display().to_string()), "{msg}");
    }
}
