//! Figures for the experiments, written as both PNG and SVG.
//!
//! Every function takes a path *stem* and writes `stem.png` and `stem.svg`
//! (the extensions are appended, so a stem such as `out/run.v1` gives
//! `out/run.v1.png`), creating the parent folder if needed.
//!
//! Text is rendered with DejaVu Sans, embedded in the binary through the
//! `dejavu` crate and registered with plotters' `ab_glyph` backend, so no
//! system font library (fontconfig/freetype) is needed to build or run. The
//! SVG files carry their text as `<text>` elements with a `sans-serif` family.
//!
//! Non-finite values (NaN, ±inf) are never drawn: they break lines into
//! separate pieces and are left out of the axis ranges. Empty inputs give an
//! empty but valid figure.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Font family name under which the embedded DejaVu Sans is registered.
const FONT: &str = "sans-serif";

/// Line colours (Tableau palette without its grey, which marks targets).
const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of target trajectories.
const TARGET_GREY: RGBColor = RGBColor(120, 120, 120);

/// Series with at most this many points get point markers.
const MARKER_MAX_POINTS: usize = 12;

/// Legend text size in pixels.
const LEGEND_FONT: u32 = 15;

/// Height of the figure title band in pixels.
const TITLE_BAND: u32 = 46;

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One curve of [`curves`]: a mean with its standard error at each `x`.
///
/// Only the first `min(x.len(), mean.len())` points are used; a missing or
/// non-finite `sem` entry draws no band at that point. Points whose `x` or
/// `mean` is not finite are skipped and break the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Abscissae (e.g. training step or prediction horizon).
    pub x: Vec<f64>,
    /// Mean over seeds at each abscissa.
    pub mean: Vec<f64>,
    /// Standard error of the mean at each abscissa (band is mean ± sem).
    pub sem: Vec<f64>,
}

/// One drawn trajectory of a model in a [`TrajectoryPanel`].
///
/// Trajectories sharing a `label` (in any panel) share one colour and one
/// legend entry, so a panel may hold several trajectories of the same model.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Model name shown in the legend.
    pub label: String,
    /// Points `(x, y)` in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// One panel of [`trajectories`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPanel {
    /// Panel title (e.g. the cue or digit).
    pub title: String,
    /// Target trajectories, each drawn as a dashed grey line with markers.
    /// Several are allowed, e.g. all seven reach targets in a single panel.
    pub targets: Vec<Vec<(f64, f64)>>,
    /// Models' trajectories, each a coloured line.
    pub drawn: Vec<Trajectory>,
}

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

/// Registers the embedded DejaVu Sans fonts with plotters (once per process).
fn ensure_fonts() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "embedded DejaVu Sans is not a valid font".to_string())?;
            register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "embedded DejaVu Sans Bold is not a valid font".to_string())
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// `stem` with `.ext` appended (not replacing any existing extension).
fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Creates the parent folder of `stem`, then draws the figure once on a PNG
/// backend and once on an SVG backend.
fn save_both(
    stem: &Path,
    size: (u32, u32),
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    ensure_fonts()?;
    if let Some(parent) = stem.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("creating folder {}", parent.display()))?;
    }
    let png = with_ext(stem, "png");
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_png(&root).with_context(|| format!("drawing {}", png.display()))?;
        root.present()
            .with_context(|| format!("writing {}", png.display()))?;
    }
    let svg = with_ext(stem, "svg");
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_svg(&root).with_context(|| format!("drawing {}", svg.display()))?;
        root.present()
            .with_context(|| format!("writing {}", svg.display()))?;
    }
    Ok(())
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

/// Formats `v` with `decimals` decimals, trimming trailing zeros.
fn trim_fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// Formats `v` in scientific notation with a trimmed mantissa (`1e-5`, `2.5e7`).
fn trim_sci(v: f64) -> String {
    let s = format!("{v:.2e}");
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

/// Tick label for a linear axis spanning `span` whose largest magnitude is `max_abs`.
fn linear_tick(v: f64, span: f64, max_abs: f64) -> String {
    // Ticks that should be zero often come out as ±1e-17 or so.
    let v = if v.abs() < span * 1e-9 { 0.0 } else { v };
    let step = (span / 10.0).max(f64::MIN_POSITIVE);
    let decimals = (-step.log10().floor()).max(0.0) as usize + 1;
    if max_abs >= 1e5 || decimals > 6 {
        if v == 0.0 {
            "0".to_string()
        } else {
            trim_sci(v)
        }
    } else {
        trim_fixed(v, decimals)
    }
}

/// Tick label for a logarithmic axis.
fn log_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if (1e-3..1e5).contains(&a) {
        trim_fixed(v, (-a.log10().floor()).max(0.0) as usize + 2)
    } else {
        trim_sci(v)
    }
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
            segments,
            n_points,
        }
    }
}

/// How a legend entry's sample is drawn.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// Line over a shaded band, optionally with a marker.
    Band { marker: bool },
    /// Plain coloured line.
    Line,
    /// Dashed line with a marker (targets).
    Dashed,
}

/// One legend row.
struct LegendEntry {
    label: String,
    colour: RGBColor,
    swatch: Swatch,
}

fn legend_row_height() -> u32 {
    LEGEND_FONT + 11
}

/// Width in pixels of the legend column for `entries`.
fn legend_width(entries: &[LegendEntry]) -> Result<u32> {
    ensure_fonts()?;
    let font = FontDesc::new(
        FontFamily::Name(FONT),
        LEGEND_FONT.into(),
        FontStyle::Normal,
    );
    let mut widest = 0;
    for e in entries {
        let (w, _) = font
            .box_size(&e.label)
            .map_err(|err| anyhow!("measuring legend label {:?}: {err}", e.label))?;
        widest = widest.max(w);
    }
    Ok((widest + 70).clamp(120, 600))
}

/// Draws `entries` as a vertical list in `area`, starting `top` pixels down.
fn draw_legend<DB>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry], top: i32) -> Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let text = TextStyle::from((FONT, LEGEND_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (x0, x1) = (8, 40);
    for (i, e) in entries.iter().enumerate() {
        let y = top + i as i32 * legend_row_height() as i32;
        let line = e.colour.stroke_width(2);
        match e.swatch {
            Swatch::Band { marker } => {
                area.draw(&Rectangle::new(
                    [(x0, y - 7), (x1, y + 7)],
                    e.colour.mix(0.22).filled(),
                ))?;
                area.draw(&PathElement::new(vec![(x0, y), (x1, y)], line))?;
                if marker {
                    area.draw(&Circle::new(((x0 + x1) / 2, y), 3, e.colour.filled()))?;
                }
            }
            Swatch::Line => {
                area.draw(&PathElement::new(vec![(x0, y), (x1, y)], line))?;
            }
            Swatch::Dashed => {
                for (a, b) in [(x0, x0 + 8), (x0 + 12, x0 + 20), (x0 + 24, x1)] {
                    area.draw(&PathElement::new(vec![(a, y), (b, y)], line))?;
                }
                area.draw(&Circle::new(((x0 + x1) / 2, y), 3, e.colour.filled()))?;
            }
        }
        area.draw(&Text::new(e.label.clone(), (x1 + 8, y), text.clone()))?;
    }
    Ok(())
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
        Ok(())
    }
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
        let (title_area, body) = root.split_vertically(TITLE_BAND);
        let (w, h) = title_area.dim_in_pixel();
        title_area.draw(&Text::new(
            self.title.to_string(),
            (w as i32 / 2, h as i32 / 2),
            TextStyle::from((FONT, 22).into_font().style(FontStyle::Bold))
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
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
        let (mut xl, mut xh, mut yl, mut yh) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in all {
            xl = xl.min(x);
            xh = xh.max(x);
            yl = yl.min(y);
            yh = yh.max(y);
        }
        if xl > xh {
            (xl, xh, yl, yh) = (-1.0, 1.0, -1.0, 1.0);
        }
        // Equal aspect: the same data units per pixel on both axes.
        let (cx, cy) = (0.5 * (xl + xh), 0.5 * (yl + yh));
        let raw = (xh - xl).max(yh - yl);
        let span = if raw > 0.0 {
            raw * 1.08
        } else {
            (cx.abs().max(cy.abs()) * 0.2).max(2.0)
        };
        let per_px = (span / pw).max(span / ph);
        let (hx, hy) = (0.5 * per_px * pw, 0.5 * per_px * ph);
        let (x0, x1, y0, y1) = (cx - hx, cx + hx, cy - hy, cy + hy);

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

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// Checks both files of `stem` and returns the SVG text.
    fn check_outputs(stem: &Path) -> String {
        let png = fs::read(with_ext(stem, "png")).expect("png written");
        assert!(png.starts_with(&PNG_SIGNATURE), "not a PNG");
        assert!(
            png.len() > 5_000,
            "PNG suspiciously small: {} bytes",
            png.len()
        );
        let svg = fs::read_to_string(with_ext(stem, "svg")).expect("svg is text");
        assert!(svg.contains("<svg"), "not an SVG");
        assert!(svg.trim_end().ends_with("</svg>"), "SVG not closed");
        svg
    }

    fn learning_series() -> Vec<Series> {
        let x: Vec<f64> = (0..60).map(|i| i as f64 * 100.0).collect();
        let make = |label: &str, scale: f64| {
            let mean: Vec<f64> = x
                .iter()
                .map(|s| scale * (-s / 1500.0).exp() + 0.02)
                .collect();
            Series {
                label: label.into(),
                sem: mean.iter().map(|m| 0.15 * m).collect(),
                x: x.clone(),
                mean,
            }
        };
        vec![make("cortex only", 1.0), make("cortex + cerebellum", 0.6)]
    }

    #[test]
    fn tick_labels() {
        assert_eq!(linear_tick(0.30000000000000004, 1.0, 1.0), "0.3");
        assert_eq!(linear_tick(-0.0, 1.0, 1.0), "0");
        assert_eq!(linear_tick(5.17e-17, 2.0, 1.0), "0");
        assert_eq!(linear_tick(2500.0, 6000.0, 6000.0), "2500");
        assert_eq!(linear_tick(0.005, 0.05, 0.05), "0.005");
        assert_eq!(linear_tick(200000.0, 1e6, 1e6), "2e5");
        assert_eq!(log_tick(0.001), "0.001");
        assert_eq!(log_tick(20.0), "20");
        assert_eq!(log_tick(1e-5), "1e-5");
        assert_eq!(log_tick(2.5e7), "2.5e7");
    }

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

    #[test]
    fn stem_extension_is_appended() {
        assert_eq!(
            with_ext(Path::new("a/run.v1"), "png"),
            PathBuf::from("a/run.v1.png")
        );
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
                label: "R2 model A".into(),
                x: vec![1.0, 2.0, 4.0, 8.0, 16.0],
                mean: vec![0.9, 0.7, 0.4, 0.0, -0.3],
                sem: vec![0.05, 0.05, 0.1, 0.1, 0.2],
            },
            Series {
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
                label: "empty".into(),
                x: vec![],
                mean: vec![],
                sem: vec![],
            },
            Series {
                label: "all nan".into(),
                x: vec![0.0, 1.0],
                mean: vec![f64::NAN, f64::INFINITY],
                sem: vec![1.0, 1.0],
            },
            Series {
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
