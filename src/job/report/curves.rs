//! The plots every job draws: learning curves, training loss and the cerebellum's cosine with
//! its teaching signal over epochs (mean ± SEM over seeds per variant, each lesion marked), and
//! the drawing tasks' trajectories.

use crate::batch::Batch;
use crate::job::layout::JobDir;
use crate::job::records::{EpochRecord, FinishedRun};
use crate::job::spec::Experiment;
use crate::loss::Target;
use crate::network::Network;
use crate::plot::{self, Series, Trajectory, TrajectoryPanel};
use crate::stats::{mean, sem};
use crate::tasks::{DrawingExample, Task};
use anyhow::Result;
use std::path::Path;

/// Mean ± SEM over the seeds of `label` of one per-epoch figure `f`, as (epochs, means, SEMs),
/// over the epochs every seed ran and where some seed has the figure.
pub(super) fn per_epoch(
    runs: &[FinishedRun],
    label: &str,
    f: impl Fn(&EpochRecord) -> Option<f64>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let rs: Vec<&FinishedRun> = runs.iter().filter(|r| r.label == label).collect();
    let epochs = rs.iter().map(|r| r.records.len()).min().unwrap_or(0);
    let (mut x, mut m, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for e in 0..epochs {
        let vals: Vec<f64> = rs.iter().filter_map(|r| f(&r.records[e])).collect();
        if !vals.is_empty() {
            x.push((e + 1) as f64);
            m.push(mean(&vals));
            s.push(sem(&vals));
        }
    }
    (x, m, s)
}

/// Mean ± SEM over seeds of one per-epoch figure, per variant.
fn series(
    exp: &Experiment,
    runs: &[FinishedRun],
    f: impl Fn(&EpochRecord) -> Option<f64>,
) -> Vec<Series> {
    exp.variants
        .iter()
        .map(|v| {
            let (x, m, s) = per_epoch(runs, &v.label, &f);
            // A lesion takes effect from its epoch on: marked between that epoch and the one before.
            let lesion = exp
                .run_config(v, exp.seeds[0])
                .map(|c| c.lesion)
                .unwrap_or_default();
            let mark = lesion
                .cerebellum_at
                .or(lesion.olive_at)
                .map(|e| e as f64 - 0.5);
            Series {
                label: v.label.clone(),
                x,
                mean: m,
                sem: s,
                mark,
            }
        })
        .collect()
}

/// The learning curves (validation error), the training loss and, where a cerebellum learns,
/// the cosine of its prediction with its teaching signal, per epoch: mean ± SEM over seeds.
pub fn plot_curves(exp: &Experiment, runs: &[FinishedRun], job: &JobDir) -> Result<()> {
    let classification = runs
        .first()
        .is_some_and(|r| r.records[0].validation.accuracy.is_some());
    let title = format!("{}: mean ± SEM over {} seeds", exp.name, exp.seeds.len());
    let words = runs
        .first()
        .is_some_and(|r| r.records[0].validation.bits_per_word.is_some());
    type Measure = fn(&EpochRecord) -> Option<f64>;
    let (measure, log_y, y_label): (Measure, bool, &str) = if words {
        (
            |r| r.validation.bits_per_word,
            false,
            "validation bits per word",
        )
    } else if classification {
        (|r| r.validation.accuracy, false, "validation accuracy")
    } else {
        (|r| r.validation.mse, true, "validation MSE (all steps)")
    };
    let curves = series(exp, runs, measure);
    plot::curves(
        &job.report("learning_curves"),
        &title,
        "epoch",
        y_label,
        &curves,
        log_y,
    )?;
    let train = series(exp, runs, |r| Some(r.train_loss));
    plot::curves(
        &job.report("training_loss"),
        &title,
        "epoch",
        "training loss",
        &train,
        true,
    )?;
    let cos = series(exp, runs, |r| r.cosine);
    if cos.iter().any(|s| !s.x.is_empty()) {
        let cos: Vec<Series> = cos.into_iter().filter(|s| !s.x.is_empty()).collect();
        plot::curves(
            &job.report("cerebellar_cosine"),
            &format!("{title}: cos(C(s), teaching signal)"),
            "epoch",
            "cosine similarity",
            &cos,
            false,
        )?;
    }
    Ok(())
}

/// The drawing tasks' trajectories of each variant's first-seed network against the targets.
pub fn plot_drawings(
    exp: &Experiment,
    runs: &[FinishedRun],
    task: &dyn Task,
    job: &JobDir,
) -> Result<()> {
    let seed = exp.seeds[0];
    let networks: Vec<(&str, &dyn Network)> = exp
        .variants
        .iter()
        .filter_map(|v| runs.iter().find(|r| r.label == v.label && r.seed == seed))
        .map(|r| (r.label.as_str(), &r.model as &dyn Network))
        .collect();
    draw_trajectories(
        &networks,
        task,
        &format!("{}: drawn trajectories (seed {seed}) vs targets", exp.name),
        &job.report("trajectories"),
    )?;
    Ok(())
}

/// Draws what each (label, network) draws for the task's drawing examples, against the
/// targets, into `stem.png` and `stem.svg`. Returns false, drawing nothing, for a task without
/// drawings (classification).
pub fn draw_trajectories(
    networks: &[(&str, &dyn Network)],
    task: &dyn Task,
    title: &str,
    stem: &Path,
) -> Result<bool> {
    let examples = task.drawing_examples();
    if examples.is_empty() {
        return Ok(false);
    }
    let panels: Vec<TrajectoryPanel> = examples
        .iter()
        .map(|ex| {
            let sample = one_sample(ex, task.steps());
            TrajectoryPanel {
                title: ex.title.clone(),
                targets: vec![ex.target.clone()],
                drawn: networks
                    .iter()
                    .map(|(label, network)| Trajectory {
                        label: label.to_string(),
                        points: (network.read_out(&sample).chunks_exact(2))
                            .map(|p| (p[0] as f64, p[1] as f64))
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    plot::trajectories(stem, title, &panels)?;
    Ok(true)
}

/// A drawing example as a batch of one sequence, its target the trajectory to draw (one point
/// per step).
fn one_sample(ex: &DrawingExample, steps: usize) -> Batch<f32> {
    let mut values: Vec<f32> = (ex.target.iter())
        .flat_map(|&(x, y)| [x as f32, y as f32])
        .collect();
    values.resize(steps * 2, 0.0);
    Batch {
        batch: 1,
        steps,
        inputs: ex.inputs.clone(),
        target: Target::Trajectory {
            values,
            feedback: vec![true; steps],
        },
        context: ex.context.clone(),
        words: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ModelKind, TaskKind};
    use crate::job::spec::Variant;

    #[test]
    fn learning_curves_mark_each_lesion_just_before_its_epoch() {
        let mut olive = Variant::new("olive at 3", ModelKind::CcRnn);
        olive.settings = toml::toml! { lesion = { olive_at = 3 } };
        let exp = Experiment {
            name: "marks".into(),
            seeds: vec![0],
            variants: vec![Variant::new("ccRNN", ModelKind::CcRnn), olive],
            base: Config::defaults(TaskKind::Reach),
            figure: None,
        };
        let marks: Vec<Option<f64>> = series(&exp, &[], |r| Some(r.train_loss))
            .iter()
            .map(|s| s.mark)
            .collect();
        assert_eq!(marks, [None, Some(2.5)]);
    }

    /// A drawing is what the network reads out for the example as a batch of one: for a
    /// one-area model, what [`Model::predict`] gives for its inputs.
    #[test]
    fn a_drawing_is_the_networks_readout_of_the_example() {
        let config = Config::defaults(TaskKind::Reach);
        let task = config.build_task().unwrap();
        let spec = config.model_spec(task.input_size(), task.output_size(), task.context_size());
        let model = crate::model::Model::<f32>::new(&spec, 3);
        let examples = task.drawing_examples();
        assert!(!examples.is_empty());
        for ex in &examples {
            let sample = one_sample(ex, task.steps());
            assert_eq!(
                sample.context.as_ref().map(Vec::len),
                Some(task.context_size())
            );
            let drawn = Network::read_out(&model, &sample);
            assert_eq!(
                drawn,
                model.predict(&ex.inputs, task.steps(), 1),
                "{}",
                ex.title
            );
        }
    }
}
