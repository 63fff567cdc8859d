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
use crate::layers::word_input::Words;
use crate::loss::Target;
use crate::tasks::Task;
use crate::trainer::Trainer;
use anyhow::{Context, Result};

/// The probe set of a run: the first `n` validation sequences as one batch (all of them when
/// the set is smaller), of the first validation batch's length (captions come in batches of
/// one length each; on the other tasks every sequence has it); `None` for `n` = 0.
pub fn probe(task: &dyn Task, n: usize) -> Option<Batch<f32>> {
    if n == 0 {
        return None;
    }
    let batches = task.validation();
    let first = batches.first()?;
    let mut taken: Vec<(&Batch<f32>, usize)> = Vec::new();
    let mut left = n;
    // Captions come in batches of one length each: the probe takes those of the first's.
    for b in batches.iter().filter(|b| b.steps == first.steps) {
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
        Target::Words { .. } => Target::Words {
            labels: take.rows(|b| match &b.target {
                Target::Words { labels } => labels,
                _ => &[],
            }),
        },
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
        words: first.words.as_ref().map(|_| take.words()),
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

impl Taken<'_> {
    /// The caption task's inputs of the taken samples: their image features and the words
    /// they read (time-major over the steps after the first), no dropout.
    fn words(&self) -> Words<f32> {
        fn of(b: &Batch<f32>) -> &Words<f32> {
            b.words.as_ref().expect("caption batches hold words")
        }
        let mut features = Vec::new();
        for &(b, k) in self.batches {
            let w = of(b).features.len() / b.batch.max(1);
            features.extend_from_slice(&of(b).features[..k * w]);
        }
        let mut tokens = Vec::new();
        for t in 0..self.steps.saturating_sub(1) {
            for &(b, k) in self.batches {
                tokens.extend_from_slice(&of(b).tokens[t * b.batch..t * b.batch + k]);
            }
        }
        Words {
            features,
            tokens,
            dropout_seed: None,
        }
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
    measures.extend(constant_baseline(&rec));
    measures.extend(
        populations(&rec, trainer.model.cortex.hidden())
            .with_context(|| format!("{label} seed {seed}: measures of epoch {epoch}"))?,
    );
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
        // More than the set holds: all of it; none asked: none (continued below).
        assert_eq!(probe(task.as_ref(), 50).unwrap().batch, 10);
        assert!(probe(task.as_ref(), 0).is_none());
    }

    #[test]
    fn a_caption_probe_takes_captions_of_one_length_and_is_measured() {
        use crate::config::{Config, TaskKind};
        use crate::model::{Model, ModelSpec};
        let mut config = Config::defaults(TaskKind::Captions);
        config.cortex.hidden = 8;
        config.cerebellum.granule = 16;
        config.captions.embedding = 6;
        config.record.probe = 5;
        config.validate().expect("a probe is accepted for captions");
        let task = config.build_task().unwrap();
        let v = task.validation();
        let p = probe(task.as_ref(), 5).unwrap();
        let words = p.words.as_ref().expect("the probe holds words");
        assert_eq!(p.steps, v[0].steps);
        let w = v[0].words.as_ref().unwrap();
        let f = w.features.len() / v[0].batch;
        assert_eq!(words.features.len(), p.batch * f);
        assert_eq!(words.tokens.len(), (p.steps - 1) * p.batch);
        assert_eq!(words.dropout_seed, None);
        // Sample 0 is the first validation caption: its features, words and targets.
        assert_eq!(words.features[..f], w.features[..f]);
        let Target::Words { labels } = &p.target else {
            panic!("captions")
        };
        let Target::Words { labels: l0 } = &v[0].target else {
            panic!("captions")
        };
        for t in 0..p.steps {
            assert_eq!(labels[t * p.batch], l0[t * v[0].batch], "step {t}");
            if t + 1 < p.steps {
                assert_eq!(words.tokens[t * p.batch], w.tokens[t * v[0].batch]);
            }
        }
        // Every batch it draws from has the first's length.
        let same = v
            .iter()
            .filter(|b| b.steps == p.steps)
            .map(|b| b.batch)
            .sum::<usize>();
        assert_eq!(p.batch, same.min(5));
        // Measured: the recording goes through the model's input stage.
        let spec = ModelSpec {
            words: task.words(),
            ..config.model_spec(task.input_size(), task.output_size(), 0)
        };
        let mut trainer = Trainer::new(Model::<f32>::new(&spec, 1), config.train.clone());
        let record = measure(&mut trainer, &p, "ccRNN", 0, 1).unwrap();
        let get = |pop: &str, m: &str| {
            record
                .measures
                .iter()
                .find(|x| x.population == pop && x.measure == m)
                .map(|x| x.value)
        };
        assert!(get("teaching_signal/true_feedback", "cosine").is_some_and(f64::is_finite));
        assert!(get("cortex", "coding_space").is_some_and(|v| v > 0.0));
        assert!(get("granule_0", "silent_fraction").is_some());
    }
}
