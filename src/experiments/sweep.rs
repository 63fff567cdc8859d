//! The horizon sweep: cRNN and ccRNN at several feedback horizons K over the same seeds, and at
//! each horizon the paired comparison of docs/model.md §5: the normalised performance
//! (E_cRNN - E_ccRNN) / E_cRNN over all epochs (the papers' figure) and over the late phase, each
//! with its own paired t-test, plotted against the horizon.

use super::compare::{self, Comparison};
use super::variants::{self, Experiment, Variant};
use crate::config::{Config, ModelKind};
use crate::plot::{self, Series};
use crate::tasks::Task;
use anyhow::{Result, bail};
use serde::Serialize;
use std::path::Path;

/// The sweep's figures at one horizon: the comparison of the ccRNN with the cRNN there (positive
/// = ccRNN better), written flat next to the horizon in sweep.json.
#[derive(Clone, Debug, Serialize)]
pub struct HorizonPoint {
    pub horizon: usize,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// The experiment of a sweep: for each horizon a cRNN and a ccRNN variant. Refuses an empty list
/// and a horizon given twice (its runs would be pooled with their duplicates).
pub fn experiment(
    name: &str,
    base: Config,
    seeds: Vec<u64>,
    horizons: &[usize],
) -> Result<Experiment> {
    check_horizons(horizons)?;
    let variants = horizons
        .iter()
        .flat_map(|&k| {
            [ModelKind::CRnn, ModelKind::CcRnn].map(|m| Variant {
                horizon: Some(k),
                compare_to: (m == ModelKind::CcRnn).then(|| format!("cRNN K={k}")),
                ..Variant::new(&format!("{} K={k}", m.label()), m)
            })
        })
        .collect();
    let exp = Experiment {
        name: name.to_string(),
        seeds,
        variants,
        base,
        figure: None,
    };
    exp.check()?;
    Ok(exp)
}

/// Refuses an empty list of horizons and a horizon given twice, naming it.
fn check_horizons(horizons: &[usize]) -> Result<()> {
    if horizons.is_empty() {
        bail!("a sweep needs at least one horizon (--horizons)");
    }
    for (i, k) in horizons.iter().enumerate() {
        if horizons[..i].contains(k) {
            bail!("horizon K = {k} is given twice in --horizons; give each horizon once");
        }
    }
    Ok(())
}

/// Runs the sweep into `out`: everything an experiment writes, plus sweep.json and
/// normalised_performance.{png,svg} (both normalised performances against the horizon); a shard
/// (see [`variants::Start`]) trains its runs and returns nothing.
pub fn run(
    exp: &Experiment,
    horizons: &[usize],
    out: &Path,
    threads: usize,
    start: &variants::Start,
    make_task: &(dyn Fn(&Config) -> Result<Box<dyn Task>> + Sync),
) -> Result<Option<Vec<HorizonPoint>>> {
    check_horizons(horizons)?;
    let Some(outcome) = variants::run(exp, out, threads, start, make_task)? else {
        return Ok(None);
    };
    let points: Vec<HorizonPoint> = horizons
        .iter()
        .map(|&k| HorizonPoint {
            horizon: k,
            comparison: compare::compare(
                &outcome.runs,
                &format!("ccRNN K={k}"),
                &format!("cRNN K={k}"),
                exp.base.late_phase,
            ),
        })
        .collect();
    let path = out.join("sweep.json");
    crate::data::write_atomically(&path, serde_json::to_string_pretty(&points)?.as_bytes())?;
    let late = exp.base.late_phase_epochs();
    let series = |label: String, np: fn(&Comparison) -> &compare::NormalisedPerformance| Series {
        mark: None,
        label,
        x: points.iter().map(|p| p.horizon as f64).collect(),
        mean: points.iter().map(|p| np(&p.comparison).mean).collect(),
        sem: points.iter().map(|p| np(&p.comparison).sem).collect(),
    };
    let curves = [
        series("all epochs (papers' measure)".into(), |c| {
            &c.normalised_performance_all_epochs
        }),
        series(
            format!("late phase, epochs {}-{}", late.start(), late.end()),
            |c| &c.normalised_performance_late_phase,
        ),
    ];
    let title = format!(
        "{}: normalised performance (E_cRNN - E_ccRNN) / E_cRNN, {} seeds",
        exp.name,
        exp.seeds.len()
    );
    plot::curves(
        &out.join("normalised_performance"),
        &title,
        "feedback horizon K",
        "normalised performance (positive: ccRNN better)",
        &curves,
        false,
    )?;
    Ok(Some(points))
}

/// One line per horizon, for the terminal: both normalised performances, each mean ± SEM over
/// seeds with the p of its own paired t-test.
pub fn table(points: &[HorizonPoint]) -> String {
    let Some(first) = points.first() else {
        return String::new();
    };
    let (all, late) = (
        &first.comparison.normalised_performance_all_epochs,
        &first.comparison.normalised_performance_late_phase,
    );
    let headers = [
        format!(
            "all epochs {}-{} (papers')",
            all.first_epoch, all.last_epoch
        ),
        format!("late phase {}-{}", late.first_epoch, late.last_epoch),
    ];
    let w = headers.iter().map(String::len).max().unwrap_or(0).max(16);
    let mut s = String::from(
        "normalised performance (E_cRNN - E_ccRNN) / E_cRNN, E = validation error averaged over \
         the epochs;\nmean ± SEM over seeds, positive = ccRNN better; p: paired t-test of E_cRNN \
         against E_ccRNN\n",
    );
    s.push_str(&format!(
        "{:>4}  {:<w$} {:>7}  {:<w$} {:>7}\n",
        "K", headers[0], "p", headers[1], "p"
    ));
    let p = |np: &compare::NormalisedPerformance| np.t_test.as_ref().map_or(f64::NAN, |t| t.p);
    for pt in points {
        let c = &pt.comparison;
        let (all, late) = (
            &c.normalised_performance_all_epochs,
            &c.normalised_performance_late_phase,
        );
        s.push_str(&format!(
            "{:>4}  {:<w$} {:>7.4}  {:<w$} {:>7.4}\n",
            pt.horizon,
            format!("{:+.3} ± {:.3}", all.mean, all.sem),
            p(all),
            format!("{:+.3} ± {:.3}", late.mean, late.sem),
            p(late),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TaskKind;

    fn sweep(horizons: &[usize], seeds: Vec<u64>) -> Result<Experiment> {
        experiment("sweep", Config::defaults(TaskKind::Reach), seeds, horizons)
    }

    #[test]
    fn a_sweep_has_a_crnn_and_a_ccrnn_per_horizon() {
        let exp = sweep(&[1, 3], vec![0, 1]).unwrap();
        let labels: Vec<&str> = exp.variants.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(labels, ["cRNN K=1", "ccRNN K=1", "cRNN K=3", "ccRNN K=3"]);
        assert_eq!(exp.variants[3].horizon, Some(3));
    }

    #[test]
    fn duplicate_or_missing_horizons_and_duplicate_seeds_are_refused() {
        let msg = format!("{:#}", sweep(&[1, 2, 1], vec![0, 1]).unwrap_err());
        assert!(msg.contains("horizon K = 1 is given twice"), "{msg}");
        let msg = format!("{:#}", sweep(&[], vec![0, 1]).unwrap_err());
        assert!(msg.contains("at least one horizon"), "{msg}");
        let msg = format!("{:#}", sweep(&[1, 2], vec![0, 1, 0]).unwrap_err());
        assert!(msg.contains("seed 0 is given twice"), "{msg}");
        let out = std::env::temp_dir().join(format!("ccdni-sweep-dup-{}", std::process::id()));
        let exp = sweep(&[1], vec![0]).unwrap();
        let never = |_: &Config| -> Result<Box<dyn Task>> { panic!("no task is built") };
        let msg = format!(
            "{:#}",
            run(
                &exp,
                &[1, 1],
                &out,
                1,
                &variants::Start::New { invocation: None },
                &never
            )
            .unwrap_err()
        );
        assert!(msg.contains("horizon K = 1 is given twice"), "{msg}");
        assert!(!out.exists(), "nothing is written");
    }
}
