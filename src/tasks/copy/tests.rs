//! The copy tasks: the layout of a trial (patterns, delimiter, repeat count, targets written
//! back, end marker, lead-in), the seeding, and the curriculum's steps, kept through a stop and
//! a resume.

use super::*;
use crate::model::Model;
use std::collections::BTreeMap;

fn config(repeats: usize, lead_in: usize) -> CopyConfig {
    CopyConfig {
        repeats,
        lead_in,
        min_length: 3,
        max_length: 5,
        validation_samples: 7,
        test_samples: 9,
        train_samples: 30,
        ..CopyConfig::default()
    }
}

/// Sample `b`'s row at step `t` of a time-major array `w` wide.
fn row(v: &[f32], b: &Batch<f32>, s: usize, t: usize, w: usize) -> Vec<f32> {
    v[(t * b.batch + s) * w..(t * b.batch + s + 1) * w].to_vec()
}

fn bits_of(b: &Batch<f32>) -> (&[f32], &[bool]) {
    let Target::Bits { values, mask } = &b.target else {
        panic!("bits")
    };
    (values, mask)
}

#[test]
fn a_copy_trial_is_patterns_delimiter_and_the_patterns_written_back() {
    let task = Copy::new(config(1, 0), 4, 100);
    let (n, bits) = (3, 8);
    assert_eq!((task.input_size(), task.output_size()), (9, 8));
    assert_eq!(
        task.steps(),
        2 * 5 + 1,
        "the longest trial of the curriculum"
    );
    let b = task.train_batch(0, 0, 10);
    assert_eq!((b.batch, b.steps), (10, 2 * n + 1));
    let (values, mask) = bits_of(&b);
    for s in 0..b.batch {
        for t in 0..b.steps {
            let x = row(&b.inputs, &b, s, t, 9);
            assert_eq!(
                x[8],
                f32::from(u8::from(t == n)),
                "the delimiter at step N only"
            );
            if t >= n {
                assert!(
                    x[..8].iter().all(|&v| v == 0.0),
                    "no pattern after the delimiter"
                );
            }
            let m = row(
                &mask
                    .iter()
                    .map(|&m| f32::from(u8::from(m)))
                    .collect::<Vec<_>>(),
                &b,
                s,
                t,
                8,
            );
            assert!(
                m.iter().all(|&v| v == f32::from(u8::from(t > n))),
                "scored after the delimiter"
            );
            if t > n {
                let j = t - n - 1;
                assert_eq!(
                    row(values, &b, s, t, 8),
                    row(&b.inputs, &b, s, j, 9)[..bits],
                    "pattern {j} back"
                );
            }
        }
        let ones: f32 = (0..n)
            .flat_map(|t| row(&b.inputs, &b, s, t, 9)[..8].to_vec())
            .sum();
        assert!(ones > 0.0 && ones < (n * bits) as f32, "random bits");
    }
}

#[test]
fn a_repeat_copy_trial_writes_back_r_times_then_the_end_marker() {
    let task = Copy::new(config(3, 0), 1, 100);
    let n = 3;
    assert_eq!((task.input_size(), task.output_size()), (10, 9));
    let b = task.train_batch(2, 0, 30);
    assert_eq!(b.steps, n + 1 + 3 * n + 1);
    let (values, mask) = bits_of(&b);
    let mut seen = std::collections::BTreeSet::new();
    for s in 0..b.batch {
        let delimiter = row(&b.inputs, &b, s, n, 10);
        let r = (delimiter[9] * 3.0).round() as usize;
        assert!(
            (1..=3).contains(&r) && delimiter[8] == 1.0,
            "r / R at the delimiter"
        );
        seen.insert(r);
        let end = n + 1 + n * r;
        for t in 0..b.steps {
            let (v, m) = (
                row(values, &b, s, t, 9),
                &mask[(t * b.batch + s) * 9..(t * b.batch + s + 1) * 9],
            );
            if t > n && t < end {
                assert!(m.iter().all(|&x| x), "every bit and the end marker scored");
                assert_eq!(v[..8], row(&b.inputs, &b, s, (t - n - 1) % n, 10)[..8]);
                assert_eq!(v[8], 0.0);
            } else if t == end {
                assert!(
                    m[8] && !m[..8].iter().any(|&x| x),
                    "only the end marker at the end"
                );
                assert_eq!(v[8], 1.0);
            } else {
                assert!(
                    !m.iter().any(|&x| x),
                    "nothing scored at step {t} (r = {r})"
                );
            }
        }
    }
    assert_eq!(seen.len(), 3, "every repeat count drawn");
}

#[test]
fn a_lead_in_shifts_each_trial_and_pads_its_end() {
    let task = Copy::new(config(1, 4), 2, 100);
    let b = task.train_batch(0, 0, 30);
    assert_eq!(b.steps, 4 + 2 * 3 + 1);
    let mut leads = std::collections::BTreeSet::new();
    for s in 0..b.batch {
        let delimiter = (0..b.steps)
            .position(|t| row(&b.inputs, &b, s, t, 9)[8] == 1.0)
            .unwrap();
        let lead = delimiter - 3;
        leads.insert(lead);
        let (_, mask) = bits_of(&b);
        let scored: Vec<usize> = (0..b.steps)
            .filter(|&t| mask[(t * b.batch + s) * 8])
            .collect();
        assert_eq!(scored, (lead + 4..lead + 7).collect::<Vec<_>>());
    }
    assert_eq!(leads.len(), 5, "lead-ins 0 to 4 drawn");
}

#[test]
fn batches_are_pure_functions_of_the_seed_epoch_and_index() {
    let task = Copy::new(config(1, 0), 5, 100);
    let b = |e, i| task.train_batch(e, i, 10).inputs;
    assert_eq!(
        b(1, 2),
        Copy::new(config(1, 0), 5, 100).train_batch(1, 2, 10).inputs
    );
    assert_ne!(b(1, 2), b(2, 1));
    assert_ne!(
        b(0, 0),
        Copy::new(config(1, 0), 6, 100).train_batch(0, 0, 10).inputs
    );
    assert_eq!(task.batches_per_epoch(10), 3);
    assert_eq!(task.validation().iter().map(|b| b.batch).sum::<usize>(), 7);
    assert_eq!(task.test().iter().map(|b| b.batch).sum::<usize>(), 9);
}

/// Validation measures with `bits` bits per sequence.
fn measured(bits: f64) -> EvalMetrics {
    EvalMetrics {
        measures: BTreeMap::from([(BITS_PER_SEQUENCE.to_string(), bits)]),
        ..EvalMetrics::default()
    }
}

#[test]
fn the_curriculum_grows_the_length_below_the_threshold_up_to_the_longest() {
    let mut task = Copy::new(config(1, 0), 0, 100);
    assert_eq!(task.length(), 3);
    task.end_epoch(&measured(0.2));
    assert_eq!(task.length(), 3, "above the threshold: no step");
    task.end_epoch(&EvalMetrics::default());
    assert_eq!(task.length(), 3, "no measure: no step");
    task.end_epoch(&measured(0.1));
    assert_eq!(task.length(), 4);
    assert!(
        task.validation()
            .iter()
            .chain(task.test())
            .all(|b| b.steps == 9),
        "the sets at the new length"
    );
    assert_eq!(task.train_batch(0, 0, 5).steps, 9);
    task.end_epoch(&measured(0.0));
    task.end_epoch(&measured(0.0));
    assert_eq!(task.length(), 5, "no longer than max_length");
    let model = Model::<f32>::new(
        &crate::config::Config::defaults(crate::config::TaskKind::Copy).model_spec(9, 8, 0),
        0,
    );
    let m = task.evaluate(&model, task.validation());
    assert_eq!(m.measures[LENGTH], 5.0);
    assert!(
        m.measures[BITS_PER_SEQUENCE] > 0.0 && m.measures.contains_key(crate::loss::BIT_ERRORS)
    );
}

#[test]
fn a_stopped_and_resumed_run_keeps_its_curriculum() {
    use crate::job::run::tests::train_in;
    let mut c = crate::config::Config::defaults(crate::config::TaskKind::Copy);
    c.epochs = 6;
    c.batch_size = 10;
    c.cortex.hidden = 12;
    c.cerebellum.granule = 20;
    // A threshold every epoch passes: the length grows each epoch, so a resume that forgot it
    // would train on other sequences.
    c.copy = CopyConfig {
        threshold: 1e6,
        min_length: 1,
        max_length: 10,
        train_samples: 30,
        validation_samples: 10,
        test_samples: 10,
        ..CopyConfig::default()
    };
    let root = tempfile::tempdir().unwrap();
    let whole = train_in(&c, &root.path().join("whole"), None)
        .unwrap()
        .unwrap();
    let lengths: Vec<f64> = whole
        .records
        .iter()
        .map(|r| r.validation.measures[LENGTH])
        .collect();
    assert_eq!(lengths, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let dir = root.path().join("stopped");
    assert!(
        train_in(&c, &dir, Some(10)).unwrap().is_none(),
        "stopped in epoch 4"
    );
    let resumed = train_in(&c, &dir, None).unwrap().unwrap();
    let strip = |r: &crate::job::records::FinishedRun| {
        let mut v = r.records.clone();
        v.iter_mut().for_each(|e| e.train_seconds = 0.0);
        v
    };
    assert_eq!(strip(&resumed), strip(&whole));
    assert!(
        resumed.model.params() == whole.model.params(),
        "bit for bit"
    );
}
