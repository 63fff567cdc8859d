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
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod bars;
mod curves;
mod trajectories;
mod trial;

pub use bars::{Bar, BarGroup, bars};
pub use curves::curves;
pub use trajectories::trajectories;
pub use trial::{TrialRow, trial};

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

/// Splits a title band of [`TITLE_BAND`] pixels off the top of `root`, draws `title` centred in
/// it in bold at `size` pixels, and returns the area below.
fn titled<DB>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    size: u32,
) -> Result<DrawingArea<DB, Shift>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let (title_area, body) = root.split_vertically(TITLE_BAND);
    let (w, h) = title_area.dim_in_pixel();
    title_area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, h as i32 / 2),
        TextStyle::from((FONT, size).into_font().style(FontStyle::Bold))
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(body)
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One curve of [`curves`](fn@curves): a mean with its standard error at each `x`.
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
    /// An abscissa to mark with a dashed vertical line in the series' colour (e.g. where a
    /// lesion takes effect).
    pub mark: Option<f64>,
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

/// One panel of [`trajectories`](fn@trajectories).
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

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// Checks both files of `stem` and returns the SVG text.
    pub(super) fn check_outputs(stem: &Path) -> String {
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
    fn stem_extension_is_appended() {
        assert_eq!(
            with_ext(Path::new("a/run.v1"), "png"),
            PathBuf::from("a/run.v1.png")
        );
    }
}
