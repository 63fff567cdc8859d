//! The eyeblink task: the timing of every stimulus and of the target in delay and trace trials,
//! the seeding, and the conditioned-response measures on outputs whose answers are known.

use super::*;
use crate::model::Model;

fn config(conditioning: Conditioning) -> EyeblinkConfig {
    EyeblinkConfig {
        conditioning,
        steps: 30,
        isi: 10,
        cs_onset_min: 2,
        cs_onset_max: 6,
        cs_duration: 3,
        us_duration: 2,
        cr_ramp: 4,
        validation_samples: 20,
        test_samples: 30,
        ..EyeblinkConfig::default()
    }
}

/// Channel `c` of sample `s` at every step.
fn channel(b: &Batch<f32>, s: usize, c: usize) -> Vec<f32> {
    (0..b.steps)
        .map(|t| b.inputs[(t * b.batch + s) * INPUTS + c])
        .collect()
}

fn on(v: &[f32]) -> Vec<usize> {
    (0..v.len()).filter(|&t| v[t] > 0.0).collect()
}

#[test]
fn every_cue_comes_at_its_time_in_delay_and_trace_trials() {
    for conditioning in [Conditioning::Delay, Conditioning::Trace] {
        let task = Eyeblink::new(config(conditioning), 3, 100);
        let b = task.batch_of(&[2, 6]);
        let Target::Trajectory { values, feedback } = &b.target else {
            panic!()
        };
        assert!(feedback.iter().all(|&f| f), "scored at every step");
        for (s, cs) in [(0, 2), (1, 6)] {
            let us = cs + 10;
            assert_eq!(
                on(&channel(&b, s, 1)),
                [us, us + 1],
                "the US, ISI after the CS onset"
            );
            let cs_steps = on(&channel(&b, s, 0));
            match conditioning {
                // The CS lasts until the US ends.
                Conditioning::Delay => assert_eq!(cs_steps, (cs..us + 2).collect::<Vec<_>>()),
                // A brief CS, then a stimulus-free trace.
                Conditioning::Trace => assert_eq!(cs_steps, (cs..cs + 3).collect::<Vec<_>>()),
            }
            let target: Vec<f32> = (0..b.steps).map(|t| values[t * 2 + s]).collect();
            let want: Vec<f32> = (0..30)
                .map(|t| match t {
                    t if t == us || t == us + 1 => 1.0,
                    t if t + 4 >= us && t < us => 1.0 - (us - t) as f32 / 4.0,
                    _ => 0.0,
                })
                .collect();
            assert_eq!(
                target, want,
                "a ramp over the 4 steps before the US, 1 during it"
            );
        }
    }
}

#[test]
fn trials_are_seeded_and_their_onsets_span_the_range() {
    let task = Eyeblink::new(config(Conditioning::Delay), 3, 100);
    let b = task.train_batch(1, 2, 50);
    assert_eq!(
        b.inputs,
        Eyeblink::new(config(Conditioning::Delay), 3, 100)
            .train_batch(1, 2, 50)
            .inputs
    );
    assert_ne!(b.inputs, task.train_batch(2, 1, 50).inputs);
    let onsets: std::collections::BTreeSet<usize> =
        (0..b.batch).map(|s| on(&channel(&b, s, 0))[0]).collect();
    assert_eq!(onsets.into_iter().collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
    assert_eq!(task.validation().iter().map(|b| b.batch).sum::<usize>(), 20);
}

#[test]
fn impossible_timings_are_refused_naming_the_key() {
    let long = EyeblinkConfig {
        isi: 25,
        ..config(Conditioning::Delay)
    };
    assert!(
        format!("{:#}", long.check().unwrap_err()).contains("`eyeblink.steps` = 30 is too short")
    );
    let ramp = EyeblinkConfig {
        cr_ramp: 11,
        ..config(Conditioning::Delay)
    };
    assert!(format!("{:#}", ramp.check().unwrap_err()).contains("`eyeblink.cr_ramp` = 11"));
    assert!(config(Conditioning::Trace).check().is_ok());
}

/// A model whose output is constant `level` at every step (readout bias, zero weights).
fn constant(level: f32) -> Model<f32> {
    let spec =
        crate::config::Config::defaults(crate::config::TaskKind::Eyeblink).model_spec(INPUTS, 1, 0);
    let mut m = Model::<f32>::new(&spec, 0);
    let readout = m
        .layout
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("readout"))
        .cloned()
        .collect::<Vec<_>>();
    for t in readout {
        let fill = if t.name.ends_with("bias") { level } else { 0.0 };
        m.params[t.range].fill(fill);
    }
    m
}

#[test]
fn the_measures_of_known_outputs() {
    let task = Eyeblink::new(config(Conditioning::Delay), 3, 100);
    // Always closed: a CR on every trial, at the first step after the CS onset.
    let closed = task.evaluate(&constant(0.9), task.validation());
    assert_eq!(closed.measures[CR_RATE], 1.0);
    assert_eq!(
        closed.measures[CR_ONSET], -9.0,
        "one step after the CS, 9 before the US"
    );
    assert_eq!(
        closed.measures[CR_TIMING_ERROR], 7.0,
        "the target crosses 0.5 at US - 2"
    );
    // Never closed: no CR, so no timing.
    let open = task.evaluate(&constant(0.1), task.validation());
    assert_eq!(open.measures[CR_RATE], 0.0);
    assert!(!open.measures.contains_key(CR_ONSET) && !open.measures.contains_key(CR_TIMING_ERROR));
    assert!(open.mse.is_some());
}
