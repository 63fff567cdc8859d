//! The measures over learning (docs/model.md §5) of a run: after every epoch of a run with
//! `record.probe = N` > 0, the current network is recorded on a fixed probe set, the first N
//! validation sequences, without changing its parameters, gradients or optimizer state
//! ([`Trainer::record_batch`]), and [`crate::analysis::learning`] turns the recording into
//! measures: the alignment of prediction, teaching signal and true feedback, the population
//! statistics of the cortex, each granule layer and the cerebellar output, and the cerebellar
//! weights. The report writes them to `learning.csv` and plots them ([`super::report`]).

use super::records::LearningRecord;
use crate::analysis::cerebellar::{
    constant_baseline, granule_activity, granule_drive, prediction_variety,
};
use crate::analysis::learning::{alignment, cerebellar_weights, populations};
use crate::batch::Batch;
use crate::loss::Target;
use crate::tasks::Task;
use crate::trainer::Trainer;
use anyhow::{Context, Result};

/// The probe set of a run: the first `n` validation sequences as one batch (all of them when
/// the set is smaller); `None` for `n` = 0.
pub fn probe(task: &dyn Task, n: usize) -> Option<Batch<f32>> {
    if n == 0 {
        return None;
    }
    let batches = task.validation();
    let first = batches.first()?;
    let mut taken: Vec<(&Batch<f32>, usize)> = Vec::new();
    let mut left = n;
    for b in batches {
        if left == 0 {
            break;
        }
        let k = left.min(b.batch);
        taken.push((b, k));
        left -= k;
    }
    let total = n - left;
    let take = Taken {
        batches: &taken,
        steps: first.steps,
    };
    let target = match &first.target {
        Target::Trajectory { feedback, .. } => Target::Trajectory {
            values: take.rows(values_of),
            feedback: feedback.clone(),
        },
        Target::Masked { .. } => Target::Masked {
            values: take.rows(values_of),
            mask: take.rows(mask_of),
        },
        Target::Bits { .. } => Target::Bits {
            values: take.rows(values_of),
            mask: take.rows(mask_of),
        },
        Target::Labels { .. } => Target::Labels {
            labels: take.rows(|b| match &b.target {
                Target::Labels { labels } => labels,
                _ => &[],
            }),
        },
        // The caption task has no probe set (`record.probe` is refused for it).
        Target::Words { .. } => return None,
        Target::Class { .. } => Target::Class {
            labels: taken
                .iter()
                .flat_map(|&(b, k)| match &b.target {
                    Target::Class { labels } => labels[..k].to_vec(),
                    _ => Vec::new(),
                })
                .collect(),
        },
    };
    let ctx_w = first.context.as_ref().map_or(0, |c| c.len() / first.batch);
    let context = first.context.as_ref().map(|_| {
        taken
            .iter()
            .flat_map(|&(b, k)| b.context.as_ref().map_or(&[][..], |c| &c[..k * ctx_w]))
            .copied()
            .collect()
    });
    Some(Batch {
        batch: total,
        steps: first.steps,
        inputs: take.rows(|b| &b.inputs),
        target,
        context,
        words: None,
    })
}

/// The samples taken from each validation batch.
struct Taken<'a> {
    batches: &'a [(&'a Batch<f32>, usize)],
    steps: usize,
}

impl Taken<'_> {
    /// A time-major array of the taken samples (rows `t * total + b`): per step, the first k
    /// samples of each batch in turn, each row as wide as the batch's array says.
    fn rows<V: Copy>(&self, of: impl Fn(&Batch<f32>) -> &[V]) -> Vec<V> {
        let mut out = Vec::new();
        for t in 0..self.steps {
            for &(b, k) in self.batches {
                let w = of(b).len() / (b.steps * b.batch).max(1);
                out.extend_from_slice(&of(b)[t * b.batch * w..(t * b.batch + k) * w]);
            }
        }
        out
    }
}

/// A trajectory's, masked trajectory's or bits' values.
fn values_of(b: &Batch<f32>) -> &[f32] {
    match &b.target {
        Target::Trajectory { values, .. }
        | Target::Masked { values, .. }
        | Target::Bits { values, .. } => values,
        _ => &[],
    }
}

/// A masked trajectory's or bits' mask.
fn mask_of(b: &Batch<f32>) -> &[bool] {
    match &b.target {
        Target::Masked { mask, .. } | Target::Bits { mask, .. } => mask,
        _ => &[],
    }
}

/// The measures of `trainer`'s current network on the probe set, after `epoch`.
pub fn measure(
    trainer: &mut Trainer<f32>,
    probe: &Batch<f32>,
    label: &str,
    seed: u64,
    epoch: usize,
) -> Result<LearningRecord> {
    let rec = trainer.record_batch(probe);
    let mut measures = alignment(&rec);
    measures.extend(
        populations(&rec, trainer.model.cortex.hidden())
            .with_context(|| format!("{label} seed {seed}: measures of epoch {epoch}"))?,
    );
    measures.extend(constant_baseline(&rec));
    measures.extend(granule_activity(&rec));
    measures.extend(granule_drive(&rec, &trainer.model));
    measures.extend(
        prediction_variety(&rec)
            .with_context(|| format!("{label} seed {seed}: measures of epoch {epoch}"))?,
    );
    measures.extend(cerebellar_weights(&trainer.model));
    Ok(LearningRecord {
        model: label.to_string(),
        seed,
        epoch,
        measures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelKind;
    use crate::job::run::tests::tiny;

    #[test]
    fn the_probe_set_is_the_first_validation_sequences_across_batches() {
        let task = tiny(ModelKind::CcRnn, 6).build_task().unwrap();
        let v = task.validation();
        assert_eq!(v.iter().map(|b| b.batch).collect::<Vec<_>>(), [4, 4, 2]);
        let p = probe(task.as_ref(), 6).unwrap();
        assert_eq!((p.batch, p.steps), (6, v[0].steps));
        let input = p.inputs.len() / (p.steps * p.batch);
        let Target::Trajectory { values, .. } = &p.target else {
            panic!("reach draws")
        };
        let Target::Trajectory { values: v1, .. } = &v[1].target else {
            panic!("reach draws")
        };
        for t in 0..p.steps {
            for j in 0..6 {
                let (b, i) = (&v[j / 4], j % 4);
                let row = |x: &[f32], w: usize, batch: usize, i: usize| {
                    x[(t * batch + i) * w..][..w].to_vec()
                };
                assert_eq!(
                    row(&p.inputs, input, 6, j),
                    row(&b.inputs, input, b.batch, i)
                );
                if j >= 4 {
                    assert_eq!(row(values, 2, 6, j), row(v1, 2, 4, i), "t {t} sample {j}");
                }
            }
        }
        // More than the set holds: all of it; none asked: none.
        assert_eq!(probe(task.as_ref(), 50).unwrap().batch, 10);
        assert!(probe(task.as_ref(), 0).is_none());
    }
}
