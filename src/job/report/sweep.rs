//! The horizon sweep's figure ([`crate::job::spec::sweep`]: cRNN and ccRNN at several feedback
//! horizons K over the same seeds): at each horizon the paired comparison of docs/model.md §5,
//! the normalised performance (E_cRNN - E_ccRNN) / E_cRNN over all epochs (the papers' figure)
//! and over the late phase, each with its own paired t-test, plotted against the horizon.

use super::compare::{self, Comparison, compare};
use crate::job::layout::JobDir;
use crate::job::records::FinishedRun;
use crate::job::spec::Experiment;
use crate::plot::{self, Series};
use anyhow::Result;
use serde::Serialize;

/// The sweep's figures at one horizon: the comparison of the ccRNN with the cRNN there (positive
/// = ccRNN better), written flat next to the horizon in sweep.json.
#[derive(Clone, Debug, Serialize)]
pub struct HorizonPoint {
    pub horizon: usize,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// The sweep's figure of a finished job into `job`: at each compared variant's horizon, its
/// comparison with its reference (`sweep.json`), and both normalised performances against the
/// horizon (`normalised_performance.{png,svg}`). Returns the table for the terminal.
pub fn draw(exp: &Experiment, runs: &[FinishedRun], job: &JobDir) -> Result<String> {
    let points: Vec<HorizonPoint> = exp
        .variants
        .iter()
        .filter_map(|v| {
            let reference = v.compare_to.as_deref()?;
            let horizon = exp.run_config(v, exp.seeds[0]).ok()?.train.horizon;
            let late = exp.base.late_phase;
            Some(HorizonPoint {
                horizon,
                comparison: compare(runs, &v.label, reference, late),
            })
        })
        .collect();
    super::write_json(&job.report("sweep.json"), &points)?;
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
        &job.report("normalised_performance"),
        &title,
        "feedback horizon K",
        "normalised performance (positive: ccRNN better)",
        &curves,
        false,
    )?;
    Ok(table(&points))
}

/// One line per horizon, for the terminal: both normalised performances, each mean ± SEM over
/// seeds with the p of its own paired t-test.
fn table(points: &[HorizonPoint]) -> String {
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
