//! The [`trajectories`] figure: a grid of equal-aspect panels of targets and
//! models' trajectories.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    FONT, LegendEntry, Swatch, TARGET_GREY, TITLE_BAND, TrajectoryPanel, colour, draw_legend,
    legend_row_height, legend_width, linear_tick, save_both, titled,
};

/// Draws a grid of small equal-aspect panels (roughly square grid, row by
/// row), each with its targets as dashed grey lines with markers (at most
/// about 20 markers per target) and every model trajectory as a coloured line,
/// plus one shared legend to the right. A single panel holding many targets
/// (e.g. all seven reach cues) is drawn larger.
///
/// Writes `stem.png` and `stem.svg`.
pub fn trajectories(stem: &Path, title: &str, panels: &[TrajectoryPanel]) -> Result<()> {
    let mut labels: Vec<String> = Vec::new();
    for t in panels.iter().flat_map(|p| &p.drawn) {
        if !labels.contains(&t.label) {
            labels.push(t.label.clone());
        }
    }
    let mut legend = vec![LegendEntry {
        label: "target".to_string(),
        colour: TARGET_GREY,
        swatch: Swatch::Dashed,
    }];
    legend.extend(labels.iter().enumerate().map(|(i, l)| LegendEntry {
        label: l.clone(),
        colour: colour(i),
        swatch: Swatch::Line,
    }));
    let legend_w = legend_width(&legend)?;
    let n = panels.len().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let panel_px: u32 = match n {
        1 => 560,
        2..=4 => 380,
        _ => 280,
    };
    let grid_w = cols as u32 * panel_px;
    let grid_h = rows as u32 * panel_px;
    let legend_h = 20 + legend.len() as u32 * legend_row_height();
    let fig = TrajectoriesFigure {
        title,
        tick_px: if panel_px >= 380 { 13 } else { 11 },
        panels,
        labels,
        legend,
        rows,
        cols,
        grid_w,
    };
    let size = (grid_w + legend_w, TITLE_BAND + grid_h.max(legend_h));
    save_both(stem, size, |a| fig.draw(a), |a| fig.draw(a))
}

/// Splits `points` into maximal runs of finite points.
fn finite_runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut cur = Vec::new();
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            cur.push((x, y));
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// Everything [`trajectories`] needs to draw on either backend.
struct TrajectoriesFigure<'a> {
    title: &'a str,
    panels: &'a [TrajectoryPanel],
    labels: Vec<String>,
    legend: Vec<LegendEntry>,
    rows: usize,
    cols: usize,
    grid_w: u32,
    /// Tick label size in pixels.
    tick_px: u32,
}

impl TrajectoriesFigure<'_> {
    fn draw<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let body = titled(root, self.title, 22)?;
        let (grid, legend_area) = body.split_horizontally(self.grid_w);
        draw_legend(&legend_area, &self.legend, 30)?;
        if self.panels.is_empty() {
            let (w, h) = grid.dim_in_pixel();
            grid.draw(&Text::new(
                "(no panels)".to_string(),
                (w as i32 / 2, h as i32 / 3),
                TextStyle::from((FONT, 16).into_font())
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
            return Ok(());
        }
        let cells = grid.split_evenly((self.rows, self.cols));
        for (panel, cell) in self.panels.iter().zip(&cells) {
            self.draw_panel(panel, cell)?;
        }
        Ok(())
    }

    fn draw_panel<DB>(&self, panel: &TrajectoryPanel, cell: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        const MARGIN: u32 = 8;
        const X_LABELS: u32 = 26;
        const Y_LABELS: u32 = 44;
        let area = cell.titled(&panel.title, (FONT, 16))?;
        let (w, h) = area.dim_in_pixel();
        let pw = f64::from(w.saturating_sub(2 * MARGIN + Y_LABELS).max(1));
        let ph = f64::from(h.saturating_sub(2 * MARGIN + X_LABELS).max(1));

        let targets: Vec<Vec<(f64, f64)>> =
            panel.targets.iter().flat_map(|t| finite_runs(t)).collect();
        let drawn: Vec<(usize, Vec<(f64, f64)>)> = panel
            .drawn
            .iter()
            .flat_map(|t| {
                let c = self.labels.iter().position(|l| *l == t.label).unwrap_or(0);
                finite_runs(&t.points).into_iter().map(move |r| (c, r))
            })
            .collect();
        let all = targets
            .iter()
            .flatten()
            .chain(drawn.iter().flat_map(|(_, r)| r));
        let (x0, x1, y0, y1) = equal_aspect_box(all.copied(), pw, ph);

        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .x_label_area_size(X_LABELS)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let max_abs = [x0, x1, y0, y1].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let x_fmt = move |v: &f64| linear_tick(*v, x1 - x0, max_abs);
        let y_fmt = move |v: &f64| linear_tick(*v, y1 - y0, max_abs);
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, self.tick_px))
            .bold_line_style(RGBColor(232, 232, 232))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let target_line = TARGET_GREY.stroke_width(2);
        for t in &targets {
            chart.draw_series(DashedLineSeries::new(t.iter().copied(), 7, 5, target_line))?;
            let stride = t.len().div_ceil(20).max(1);
            chart.draw_series(
                t.iter()
                    .step_by(stride)
                    .map(|&p| Circle::new(p, 3, TARGET_GREY.filled())),
            )?;
        }
        for (c, r) in &drawn {
            chart.draw_series(LineSeries::new(
                r.iter().copied(),
                colour(*c).stroke_width(2),
            ))?;
            if let [p] = r.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(*p, 3, colour(*c).filled())))?;
            }
        }
        Ok(())
    }
}

/// The plotted box `(x0, x1, y0, y1)` around `points` for a panel of `pw × ph` pixels, with the
/// same data units per pixel on both axes and an 8% margin; a unit box when there are no points.
fn equal_aspect_box(
    points: impl Iterator<Item = (f64, f64)>,
    pw: f64,
    ph: f64,
) -> (f64, f64, f64, f64) {
    let (mut xl, mut xh, mut yl, mut yh) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in points {
        xl = xl.min(x);
        xh = xh.max(x);
        yl = yl.min(y);
        yh = yh.max(y);
    }
    if xl > xh {
        (xl, xh, yl, yh) = (-1.0, 1.0, -1.0, 1.0);
    }
    let (cx, cy) = (0.5 * (xl + xh), 0.5 * (yl + yh));
    let raw = (xh - xl).max(yh - yl);
    let span = if raw > 0.0 {
        raw * 1.08
    } else {
        (cx.abs().max(cy.abs()) * 0.2).max(2.0)
    };
    let per_px = (span / pw).max(span / ph);
    let (hx, hy) = (0.5 * per_px * pw, 0.5 * per_px * ph);
    (cx - hx, cx + hx, cy - hy, cy + hy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Trajectory;
    use crate::plot::tests::check_outputs;

    #[test]
    fn runs_split_on_non_finite() {
        let pts = [
            (0.0, 1.0),
            (1.0, f64::NAN),
            (2.0, 2.0),
            (3.0, 3.0),
            (f64::INFINITY, 0.0),
        ];
        assert_eq!(
            finite_runs(&pts),
            vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]
        );
        assert!(finite_runs(&[]).is_empty());
    }

    fn circle(n: usize, r: f64, phase: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let a = phase + i as f64 / (n - 1) as f64 * std::f64::consts::TAU;
                (r * a.cos(), 0.5 * r * a.sin())
            })
            .collect()
    }

    #[test]
    fn trajectories_grid_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("digits");
        let panels: Vec<TrajectoryPanel> = (0..5)
            .map(|d| TrajectoryPanel {
                title: format!("digit {d}"),
                targets: vec![circle(10, 1.0, 0.0)],
                drawn: vec![
                    Trajectory {
                        label: "cortex only".into(),
                        points: circle(50, 0.8, 0.1 * d as f64),
                    },
                    Trajectory {
                        label: "cortex + cerebellum".into(),
                        points: circle(50, 0.97, 0.02),
                    },
                ],
            })
            .collect();
        trajectories(&stem, "Drawn digits", &panels).unwrap();
        let svg = check_outputs(&stem);
        for text in [
            "Drawn digits",
            "digit 4",
            "target",
            "cortex only",
            "cortex + cerebellum",
        ] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
    }

    #[test]
    fn trajectories_single_panel_and_degenerate_input() {
        let dir = tempfile::tempdir().unwrap();
        let reach: Vec<Vec<(f64, f64)>> = (0..7)
            .map(|k| {
                let a = k as f64 / 7.0 * std::f64::consts::TAU;
                (0..=10)
                    .map(|i| (i as f64 / 10.0 * a.cos(), i as f64 / 10.0 * a.sin()))
                    .collect()
            })
            .collect();
        let drawn = reach
            .iter()
            .map(|t| Trajectory {
                label: "model".into(),
                points: t.iter().map(|&(x, y)| (0.9 * x, 0.9 * y + 0.02)).collect(),
            })
            .collect();
        let stem = dir.path().join("reach");
        let panel = TrajectoryPanel {
            title: "all cues".into(),
            targets: reach,
            drawn,
        };
        trajectories(&stem, "Reaching", &[panel]).unwrap();
        assert!(check_outputs(&stem).contains("model"));

        let stem = dir.path().join("empty");
        trajectories(&stem, "No panels", &[]).unwrap();
        assert!(check_outputs(&stem).contains("No panels"));

        let stem = dir.path().join("nan");
        let panels = [
            TrajectoryPanel {
                title: "nan".into(),
                targets: vec![vec![(f64::NAN, 0.0)], vec![]],
                drawn: vec![Trajectory {
                    label: "m".into(),
                    points: vec![(0.0, 0.0), (f64::NAN, 1.0), (1.0, f64::INFINITY)],
                }],
            },
            TrajectoryPanel {
                title: "point".into(),
                targets: vec![vec![(2.0, 2.0)]],
                drawn: vec![],
            },
        ];
        trajectories(&stem, "Degenerate", &panels).unwrap();
        check_outputs(&stem);
    }
}
