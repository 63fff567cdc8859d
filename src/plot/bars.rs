//! The [`bars`] figure: groups of bars (e.g. one group per task), each bar a mean with its
//! standard error and a note written above it (e.g. a p-value).

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, LegendEntry, Swatch, colour, draw_legend, legend_width, linear_tick, save_both};

/// One bar of a [`BarGroup`]: a mean over seeds, its standard error, and a note drawn above
/// the bar (or below it, when the mean is negative).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub mean: f64,
    pub sem: f64,
    pub note: String,
}

/// One category of [`bars`](fn@bars): its label under the axis and one bar per series, in the
/// series' order (a non-finite mean draws no bar).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// Width of the plot area in pixels.
const PLOT_W: u32 = 900;
/// Font size of the notes above the bars.
const NOTE_FONT: u32 = 13;

/// Draws grouped bars: one group per [`BarGroup`] along the x axis, labelled under it, one
/// coloured bar per series in each group with a mean ± SEM error bar and its note, a line at
/// zero, and a legend of the `series` to the right. Writes `stem.png` and `stem.svg`.
pub fn bars(
    stem: &Path,
    title: &str,
    y_label: &str,
    series: &[String],
    groups: &[BarGroup],
) -> Result<()> {
    let legend: Vec<LegendEntry> = (series.iter().enumerate())
        .map(|(i, s)| LegendEntry {
            label: s.clone(),
            colour: colour(i),
            swatch: Swatch::Band { marker: false },
        })
        .collect();
    let size = (PLOT_W + legend_width(&legend)?, 560);
    let fig = BarsFigure {
        title,
        y_label,
        series: series.len().max(1),
        groups,
        legend,
    };
    save_both(stem, size, |a| fig.draw(a), |a| fig.draw(a))
}

struct BarsFigure<'a> {
    title: &'a str,
    y_label: &'a str,
    series: usize,
    groups: &'a [BarGroup],
    legend: Vec<LegendEntry>,
}

impl BarsFigure<'_> {
    /// The finite bars with their group, their series and their left and right edges.
    fn placed(&self) -> impl Iterator<Item = (usize, f64, f64, &Bar)> {
        let width = 0.8 / self.series as f64;
        self.groups.iter().enumerate().flat_map(move |(g, group)| {
            (group.bars.iter().enumerate())
                .filter(|(_, b)| b.mean.is_finite())
                .map(move |(j, b)| {
                    let left = g as f64 + 0.1 + j as f64 * width;
                    (j, left, left + width, b)
                })
        })
    }

    /// The y range: every bar's mean ± SEM and zero, padded for the notes.
    fn y_range(&self) -> (f64, f64) {
        let err = |b: &Bar| if b.sem.is_finite() { b.sem.abs() } else { 0.0 };
        let (lo, hi) = (self.placed()).fold((0.0f64, 0.0f64), |(lo, hi), (_, _, _, b)| {
            (lo.min(b.mean - err(b)), hi.max(b.mean + err(b)))
        });
        let pad = if hi > lo { 0.12 * (hi - lo) } else { 1.0 };
        (lo - pad, hi + pad)
    }

    fn draw<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (plot_area, legend_area) = root.split_horizontally(PLOT_W);
        draw_legend(&legend_area, &self.legend, 60)?;
        let (y0, y1) = self.y_range();
        let n = self.groups.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(self.title, (FONT, 20).into_font().style(FontStyle::Bold))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..n, y0..y1)?;
        let span = y1 - y0;
        let max_abs = y0.abs().max(y1.abs());
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_label)
            .y_label_formatter(&|v: &f64| linear_tick(*v, span, max_abs))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (n, 0.0)],
            BLACK.stroke_width(1),
        )))?;
        let note_style = |down: bool| {
            TextStyle::from((FONT, NOTE_FONT).into_font())
                .color(&BLACK)
                .pos(Pos::new(
                    HPos::Center,
                    if down { VPos::Top } else { VPos::Bottom },
                ))
        };
        for (j, left, right, b) in self.placed() {
            let c = colour(j);
            let mid = (left + right) / 2.0;
            let e = if b.sem.is_finite() { b.sem.abs() } else { 0.0 };
            chart.draw_series([
                Rectangle::new([(left, 0.0), (right, b.mean)], c.mix(0.75).filled()),
                Rectangle::new([(left, 0.0), (right, b.mean)], c.stroke_width(1)),
            ])?;
            let cap = (right - left) / 4.0;
            chart.draw_series([
                PathElement::new(
                    vec![(mid, b.mean - e), (mid, b.mean + e)],
                    BLACK.stroke_width(1),
                ),
                PathElement::new(
                    vec![(mid - cap, b.mean - e), (mid + cap, b.mean - e)],
                    BLACK.stroke_width(1),
                ),
                PathElement::new(
                    vec![(mid - cap, b.mean + e), (mid + cap, b.mean + e)],
                    BLACK.stroke_width(1),
                ),
            ])?;
            let down = b.mean < 0.0;
            let y = if down { b.mean - e } else { b.mean + e };
            let (px, py) = chart.backend_coord(&(mid, y));
            let py = if down { py + 3 } else { py - 3 };
            root.draw(&Text::new(b.note.clone(), (px, py), note_style(down)))?;
        }
        let label_style = TextStyle::from((FONT, 16).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for (g, group) in self.groups.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(g as f64 + 0.5, y0));
            root.draw(&Text::new(
                group.label.clone(),
                (px, py + 10),
                label_style.clone(),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::tests::check_outputs;

    #[test]
    fn bars_are_drawn_with_their_notes_and_group_labels() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("glance");
        let bar = |mean, note: &str| Bar {
            mean,
            sem: 0.05,
            note: note.to_string(),
        };
        let groups = [
            BarGroup {
                label: "reach".into(),
                bars: vec![bar(0.3, "p=0.01"), bar(-0.2, "p=0.30"), bar(f64::NAN, "")],
            },
            BarGroup {
                label: "mnist class".into(),
                bars: vec![bar(0.1, "p=0.5"), bar(0.0, "p=0.9"), bar(0.1, "p=0.2")],
            },
        ];
        let series = ["total".to_string(), "constant".into(), "state".into()];
        bars(&stem, "gain", "NP", &series, &groups).unwrap();
        let svg = check_outputs(&stem);
        for text in [
            "p=0.01",
            "p=0.30",
            "mnist class",
            "reach",
            "constant",
            "state",
        ] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
    }
}
