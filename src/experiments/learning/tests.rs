use super::*;
use crate::config::{Config, ModelKind, TaskKind};
use crate::experiments::run::{EpochRecord, Hooks, train};
use std::sync::atomic::AtomicBool;

/// A tiny reach configuration: 2 training batches, 10 validation sequences in batches of 4.
fn tiny(model: ModelKind, probe: usize) -> Config {
    let mut c = Config::defaults(TaskKind::Reach);
    c.model = model;
    c.epochs = 3;
    c.batch_size = 10;
    c.eval_batch = 4;
    c.cerebellum.granule = 12;
    c.reach.train_samples = 20;
    c.reach.validation_samples = 10;
    c.reach.test_samples = 4;
    c.record.probe = probe;
    c.validate().unwrap();
    c
}

#[test]
fn the_probe_set_is_the_first_validation_sequences_across_batches() {
    let task = crate::tasks::build(&tiny(ModelKind::CcRnn, 6)).unwrap();
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

fn run(c: &Config) -> (Vec<EpochRecord>, Vec<LearningRecord>) {
    let task = crate::tasks::build(c).unwrap();
    let abort = AtomicBool::new(false);
    let hooks = Hooks {
        abort: &abort,
        on_batch: &|| {},
        on_epoch: &mut |_| Ok(()),
        recordings: None,
        checkpoint: None,
    };
    let result = train(c, c.model.label(), task.as_ref(), hooks, false).unwrap();
    let (epochs, learning) = (result.records, result.learning);
    (epochs, learning)
}

fn populations_of(r: &LearningRecord) -> Vec<String> {
    let mut p: Vec<String> = r.measures.iter().map(|m| m.population.clone()).collect();
    p.dedup();
    p
}

#[test]
fn measures_after_every_epoch_leave_training_unchanged() {
    for model in [ModelKind::CRnn, ModelKind::CcRnn] {
        let (plain, none) = run(&tiny(model, 0));
        assert!(none.is_empty(), "probe 0 measures nothing");
        let (probed, learning) = run(&tiny(model, 7));
        let key = |r: &EpochRecord| (r.train_loss, r.grad_norm, r.validation.mse, r.test.mse);
        assert_eq!(
            plain.iter().map(key).collect::<Vec<_>>(),
            probed.iter().map(key).collect::<Vec<_>>(),
            "{model:?}"
        );
        assert_eq!(
            learning.iter().map(|r| r.epoch).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let want: &[&str] = match model {
            ModelKind::CRnn => &["teaching_signal/true_feedback", "cortex"],
            ModelKind::CcRnn => &[
                "prediction/teaching_signal",
                "prediction/true_feedback",
                "teaching_signal/true_feedback",
                "cortex",
                "granule_0",
                "granule_1",
                "cerebellar_output",
                "cerebellum.0.weight",
                "cerebellum.1.weight",
                "cerebellum.2.weight",
            ],
        };
        for r in &learning {
            assert_eq!(populations_of(r), want, "{model:?} epoch {}", r.epoch);
            assert!(r.measures.iter().all(|m| m.value.is_finite()));
            for m in &r.measures {
                if m.measure == "cosine" {
                    assert!((-1.0..=1.0).contains(&m.value), "{m:?}");
                }
            }
        }
    }
}

#[test]
fn after_a_cerebellar_lesion_only_the_weights_of_the_cerebellum_are_measured() {
    let mut c = tiny(ModelKind::CcRnn, 5);
    c.lesion.cerebellum_at = Some(3);
    let (_, learning) = run(&c);
    assert!(populations_of(&learning[1]).contains(&"cerebellar_output".to_string()));
    assert_eq!(
        populations_of(&learning[2]),
        [
            "teaching_signal/true_feedback",
            "cortex",
            "cerebellum.0.weight",
            "cerebellum.1.weight",
            "cerebellum.2.weight"
        ]
    );
}

#[test]
fn series_are_mean_and_sem_over_seeds_per_epoch() {
    let rec = |seed, epoch, value| LearningRecord {
        model: "ccRNN".into(),
        seed,
        epoch,
        measures: vec![Measure {
            population: "cortex".into(),
            measure: "coding_space",
            value,
        }],
    };
    let records = [rec(0, 1, 1.0), rec(1, 1, 3.0), rec(0, 2, 5.0)];
    let s = series(&records, "ccRNN", "cortex", "coding_space");
    assert_eq!(s.x, [1.0, 2.0]);
    assert_eq!(s.mean, [2.0, 5.0]);
    assert_eq!(s.sem[0], 1.0);
    assert!(
        series(&records, "cRNN", "cortex", "coding_space")
            .x
            .is_empty()
    );
}
