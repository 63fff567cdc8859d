//! The [`trial`] figure: one trial of a task as a raster, a row per input or target channel and
//! a column per step, each cell shaded by its value (white 0, dark 1), the target's unscored
//! cells hatched grey.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, TITLE_BAND, colour, save_both, titled};

/// One row of a [`trial`] figure: a channel's value at every step.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRow {
    /// The row's name (`CS`, `bit 3`, `target`, ...).
    pub label: String,
    /// The value at each step, drawn from 0 (white) to 1 (full colour); values outside are
    /// clipped.
    pub values: Vec<f64>,
    /// The steps at which a target is scored (`None`: every step, or an input).
    pub scored: Option<Vec<bool>>,
    /// The colour group (inputs 0, targets 1, ...).
    pub group: usize,
}

const LABELS: u32 = 120;
const CELL_H: u32 = 22;
const AXIS: u32 = 34;

/// Draws the rows of one trial over its steps (a cell per step), with `title` above.
///
/// Writes `stem.png` and `stem.svg`.
pub fn trial(stem: &Path, title: &str, rows: &[TrialRow]) -> Result<()> {
    let steps = rows
        .iter()
        .map(|r| r.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let cell_w = (900 / steps as u32).clamp(8, 28);
    // Wide enough for the title too (about 10 pixels a character at its size).
    let title_w = 10 * title.chars().count() as u32 + 40;
    let size = (
        (LABELS + cell_w * steps as u32 + 20).max(title_w),
        TITLE_BAND + CELL_H * rows.len() as u32 + AXIS + 10,
    );
    let fig = TrialFigure {
        title,
        rows,
        steps,
        cell_w,
    };
    save_both(stem, size, |a| fig.draw(a), |a| fig.draw(a))
}

struct TrialFigure<'a> {
    title: &'a str,
    rows: &'a [TrialRow],
    steps: usize,
    cell_w: u32,
}

impl TrialFigure<'_> {
    fn draw<DB>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let body = titled(root, self.title, 18)?;
        let (cw, ch) = (self.cell_w as i32, CELL_H as i32);
        let x0 = LABELS as i32;
        for (i, row) in self.rows.iter().enumerate() {
            let y = i as i32 * ch;
            body.draw(&Text::new(
                row.label.clone(),
                (x0 - 8, y + ch / 2),
                TextStyle::from((FONT, 14).into_font())
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let c = colour(row.group);
            for (t, &v) in row.values.iter().enumerate() {
                let (x, scored) = (x0 + t as i32 * cw, row.scored.as_ref().is_none_or(|s| s[t]));
                let cell = [(x, y + 1), (x + cw - 1, y + ch - 1)];
                let v = if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let mix = |a: u8| (255.0 - (255.0 - f64::from(a)) * v).round() as u8;
                let fill = if scored {
                    RGBColor(mix(c.0), mix(c.1), mix(c.2))
                } else {
                    RGBColor(225, 225, 225)
                };
                body.draw(&Rectangle::new(cell, fill.filled()))?;
                body.draw(&Rectangle::new(
                    cell,
                    RGBColor(200, 200, 200).stroke_width(1),
                ))?;
            }
        }
        let y = self.rows.len() as i32 * ch + 4;
        let every = if self.steps > 40 { 10 } else { 5 };
        for t in (0..self.steps).step_by(every) {
            body.draw(&Text::new(
                t.to_string(),
                (x0 + t as i32 * cw + cw / 2, y + 6),
                TextStyle::from((FONT, 12).into_font())
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        body.draw(&Text::new(
            "step (grey: not scored)".to_string(),
            (x0 + (self.steps as i32 * cw) / 2, y + 22),
            TextStyle::from((FONT, 12).into_font())
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_is_written_as_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("trial");
        let rows = vec![
            TrialRow {
                label: "CS".into(),
                values: vec![0.0, 1.0, 1.0, 0.0],
                scored: None,
                group: 0,
            },
            TrialRow {
                label: "target".into(),
                values: vec![0.0, 0.5, f64::NAN, 2.0],
                scored: Some(vec![false, true, true, true]),
                group: 1,
            },
        ];
        trial(&stem, "one trial", &rows).unwrap();
        assert!(stem.with_extension("png").exists());
        let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
        assert!(svg.contains("CS") && svg.contains("one trial"));
    }
}
