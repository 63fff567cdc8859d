//! The horizon sweep: cRNN and ccRNN at several feedback horizons K over the same seeds, and the
//! normalised performance (E_cRNN - E_ccRNN) / E_cRNN of SPEC section 4 with paired t-tests,
//! plotted against the horizon.

use super::compare;
use super::variants::{self, Experiment, Variant};
use crate::config::{Config, ModelKind};
use crate::plot::{self, Series};
use crate::stats::PairedT;
use crate::tasks::Task;
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

/// The sweep's figures at one horizon.
#[derive(Clone, Debug, Serialize)]
pub struct HorizonPoint {
    pub horizon: usize,
    /// Mean ± SEM over seeds of (E_cRNN - E_ccRNN) / E_cRNN, E the validation error averaged
    /// over the training epochs.
    pub normalised_performance: f64,
    pub sem: f64,
    /// Paired t-test of E_ccRNN against E_cRNN over seeds.
    pub t_test: Option<PairedT>,
}

/// The experiment of a sweep: for each horizon a cRNN and a ccRNN variant.
pub fn experiment(name: &str, base: Config, seeds: Vec<u64>, horizons: &[usize]) -> Experiment {
    let variants = horizons
        .iter()
        .flat_map(|&k| {
            [ModelKind::CRnn, ModelKind::CcRnn].map(|m| Variant {
                label: format!("{} K={k}", m.label()),
                model: m,
                horizon: Some(k),
            })
        })
        .collect();
    Experiment {
        name: name.to_string(),
        seeds,
        variants,
        base,
    }
}

/// Runs the sweep into `out`: everything an experiment writes, plus sweep.json and
/// normalised_performance.{png,svg}.
pub fn run(
    exp: &Experiment,
    horizons: &[usize],
    out: &Path,
    threads: usize,
    make_task: &(dyn Fn(&Config) -> Result<Box<dyn Task>> + Sync),
) -> Result<Vec<HorizonPoint>> {
    let outcome = variants::run(exp, out, threads, make_task)?;
    let points: Vec<HorizonPoint> = horizons
        .iter()
        .map(|&k| {
            let c = compare::compare(
                &outcome.runs,
                &format!("ccRNN K={k}"),
                &format!("cRNN K={k}"),
            );
            HorizonPoint {
                horizon: k,
                normalised_performance: c.normalised_performance_mean,
                sem: c.normalised_performance_sem,
                t_test: c.mean_error_test,
            }
        })
        .collect();
    let path = out.join("sweep.json");
    std::fs::write(&path, serde_json::to_string_pretty(&points)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let series = Series {
        label: "ccRNN vs cRNN".into(),
        x: points.iter().map(|p| p.horizon as f64).collect(),
        mean: points.iter().map(|p| p.normalised_performance).collect(),
        sem: points.iter().map(|p| p.sem).collect(),
    };
    let title = format!(
        "{}: normalised performance (E_cRNN - E_ccRNN) / E_cRNN, {} seeds",
        exp.name,
        exp.seeds.len()
    );
    plot::curves(
        &out.join("normalised_performance"),
        &title,
        "feedback horizon K",
        "normalised performance",
        &[series],
        false,
    )?;
    Ok(points)
}

/// One line per horizon, for the terminal.
pub fn table(points: &[HorizonPoint]) -> String {
    let mut s = format!("{:>4} {:>24} {:>10}\n", "K", "normalised performance", "p");
    for p in points {
        let pv = p.t_test.as_ref().map_or(f64::NAN, |t| t.p);
        s.push_str(&format!(
            "{:>4} {:>14.3} ± {:<7.3} {:>10.4}\n",
            p.horizon, p.normalised_performance, p.sem, pv
        ));
    }
    s
}
