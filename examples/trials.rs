//! Draws one trial of each built-in task that needs the feedback a truncation cuts (the
//! pictures of the README): a row per input and target channel, a column per step.
//!
//! ```sh
//! cargo run --release --example trials [OUT_DIR]     # default docs/img
//! ```

use anyhow::Result;
use ccdni::batch::Batch;
use ccdni::config::{Config, TaskKind};
use ccdni::loss::Target;
use ccdni::plot::{TrialRow, trial};
use std::path::Path;

/// The rows of sample 0 of `b`: its inputs named `inputs`, its targets named `targets`.
fn rows(b: &Batch<f32>, inputs: &[String], targets: &[String]) -> Vec<TrialRow> {
    let (n, w) = (b.batch, inputs.len());
    let at = |v: &[f32], t: usize, c: usize, w: usize| f64::from(v[(t * n) * w + c]);
    let mut out: Vec<TrialRow> = (0..w)
        .map(|c| TrialRow {
            label: inputs[c].clone(),
            values: (0..b.steps).map(|t| at(&b.inputs, t, c, w)).collect(),
            scored: None,
            group: 0,
        })
        .collect();
    let o = targets.len();
    // Each target value, and whether it is scored.
    let (values, scored): (&[f32], Vec<bool>) = match &b.target {
        Target::Trajectory { values, feedback } => (
            values,
            (0..b.steps * n * o)
                .map(|i| feedback[i / (n * o)])
                .collect(),
        ),
        Target::Bits { values, mask } | Target::Masked { values, mask } => (values, mask.clone()),
        _ => unreachable!("the timing and copy tasks score values"),
    };
    out.extend((0..o).map(|c| TrialRow {
        label: targets[c].clone(),
        values: (0..b.steps).map(|t| at(values, t, c, o)).collect(),
        scored: Some((0..b.steps).map(|t| scored[t * n * o + c]).collect()),
        group: 1,
    }));
    out
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix} {i}")).collect()
}

/// One trial of `task` with `settings`, drawn to `out/<stem>`.
fn draw(out: &Path, stem: &str, title: &str, task: TaskKind, settings: &str) -> Result<()> {
    let overlay: toml::Table = settings.parse()?;
    let config = Config::resolve(task, &overlay)?;
    let t = config.build_task()?;
    let b = &t.validation()[0];
    let (inputs, targets) = match task {
        TaskKind::Copy => {
            let c = &config.copy;
            let mut i = names("bit", c.bits);
            i.push("delimiter".into());
            let mut o = names("target bit", c.bits);
            if c.repeats > 1 {
                i.push("repeats".into());
                o.push("target end".into());
            }
            (i, o)
        }
        TaskKind::Eyeblink => (vec!["CS".into(), "US".into()], vec!["target eyelid".into()]),
        _ => (vec!["ready".into(), "set".into()], vec!["target go".into()]),
    };
    trial(&out.join(stem), title, &rows(b, &inputs, &targets))
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/img".to_string());
    let out = Path::new(&out);
    let copy = "[copy]\nmin_length = 5";
    draw(
        out,
        "copy",
        "copy, length N = 5: the patterns, the delimiter, the patterns written back",
        TaskKind::Copy,
        copy,
    )?;
    let repeat = "[copy]\nmin_length = 4\nrepeats = 2";
    draw(
        out,
        "repeat-copy",
        "repeat copy, N = 4, written back r times (r / R given), then the end marker",
        TaskKind::Copy,
        repeat,
    )?;
    for (stem, kind) in [("eyeblink-delay", "delay"), ("eyeblink-trace", "trace")] {
        let title = format!(
            "eyeblink, {kind} conditioning, ISI 12: CS, the US 12 steps after its onset, the CR ramp before it"
        );
        draw(
            out,
            stem,
            &title,
            TaskKind::Eyeblink,
            &format!("[eyeblink]\nconditioning = \"{kind}\""),
        )?;
    }
    draw(
        out,
        "interval",
        "interval reproduction (ready-set-go): respond the ready-set interval after set",
        TaskKind::Interval,
        "",
    )?;
    println!("trials drawn in {}", out.display());
    Ok(())
}
