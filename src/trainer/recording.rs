//! Recordings over learning (docs/model.md §5): with the current parameters, what the network
//! does at every window boundary of a batch — the cortical state at each window's start, the
//! granule-layer activity and the cerebellar prediction there, the teaching signal and the true
//! feedback. A recording changes no parameter, no gradient and no optimizer state: training
//! with recordings is bit-identical to training without.

use super::CerebellumMode;
use super::Trainer;
use crate::batch::Batch;
use crate::real::Real;
use serde::{Deserialize, Serialize};

/// The `[record]` table of the settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordOptions {
    /// Training batches between recordings, counted over the whole run (batch 0 is recorded
    /// too); 0: no recordings.
    pub every: usize,
    /// Probe sequences (the first N of the validation set) on which the measures over learning
    /// are taken after every epoch, into learning.csv (docs/model.md §5); 0: none.
    #[serde(default)]
    pub probe: usize,
}

impl RecordOptions {
    /// Whether the run's `batch`-th training batch (0-based, counted over all epochs) is
    /// recorded before it trains.
    pub fn records(&self, batch: usize) -> bool {
        self.every > 0 && batch.is_multiple_of(self.every)
    }
}

/// One recorded array: `W × B × n` values (window, sample, unit), row-major.
#[derive(Clone, Debug)]
pub struct RecordedArray {
    /// File-name part, e.g. `teaching_signal`.
    pub name: String,
    /// One line on what it holds.
    pub description: String,
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// What a batch's window boundaries held, in the order: `state`, `granule_<l>` (one per granule
/// layer, cerebellum in use only), `prediction` (cerebellum in use only), `teaching_signal`,
/// `true_feedback`.
#[derive(Clone, Debug)]
pub struct Recording {
    pub arrays: Vec<RecordedArray>,
}

impl Recording {
    /// The array named `name`.
    pub fn get(&self, name: &str) -> Option<&RecordedArray> {
        self.arrays.iter().find(|a| a.name == name)
    }
}

impl<T: Real> Trainer<T> {
    /// Records `batch` with the current parameters: the true feedback (full BPTT), then the
    /// training step's own quantities by [`Self::compute_gradients`] without an update. The
    /// gradients are restored afterwards (the authors' olive-lesion mode accumulates the
    /// cerebellum's gradients across batches in them), so training goes on exactly as if
    /// nothing had been recorded.
    pub fn record_batch(&mut self, batch: &Batch<T>) -> Recording {
        let f = |v: &[T]| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
        let feedback = f(&self.true_feedback(batch));
        let saved = self.grads.clone();
        self.compute_gradients(batch);
        let ws = &self.ws;
        let (nw, b, s) = (
            ws.windows.len(),
            batch.batch,
            self.model.cortex.state_size(),
        );
        let n = nw * ws.block;
        let tr = ws.trace.as_ref().expect("a step ran");
        let mut states = vec![T::ZERO; n];
        for (w, &(t0, _)) in ws.windows.iter().enumerate() {
            tr.read_state(t0, &mut states[ws.boundary(w)]);
        }
        let array = |name: &str, description: &str, units: usize, values: Vec<f64>| RecordedArray {
            name: name.to_string(),
            description: description.to_string(),
            shape: vec![nw, b, units],
            values,
        };
        let state = match self.model.cortex.state_size() == self.model.cortex.hidden() {
            true => "cortical state h at each window's start (window, sample, unit)",
            false => "cortical state [h; c] at each window's start (window, sample, unit)",
        };
        let mut arrays = vec![array("state", state, s, f(&states))];
        let in_use = self.model.cerebellum.is_some() && self.mode != CerebellumMode::Off;
        if in_use {
            let layers = ws.cerebellum.acts.len() - 1;
            // A cerebellum that reads nothing has no granule activity.
            for l in (1..=layers).filter(|&l| !ws.cerebellum.acts[l].is_empty()) {
                let g = ws.cerebellum.acts[l].len() / ((nw + 1) * b);
                arrays.push(array(
                    &format!("granule_{}", l - 1),
                    &format!(
                        "ReLU activity of granule layer {} of {layers} at each window's start state",
                        l - 1
                    ),
                    g,
                    f(&ws.cerebellum.acts[l][..nw * b * g]),
                ));
            }
            arrays.push(array(
                "prediction",
                "cerebellar output C(s_start) at each window's start (the feedback it predicts)",
                s,
                f(&ws.cerebellum.output[..n]),
            ));
        }
        arrays.push(array(
            "teaching_signal",
            "teaching signal: gradient arriving at each window's start in truncated BPTT",
            s,
            f(&ws.teaching[..n]),
        ));
        arrays.push(array(
            "true_feedback",
            "true feedback: gradient of the rest of the sequence's task loss at each window's start (full BPTT)",
            s,
            feedback,
        ));
        self.grads = saved;
        Recording { arrays }
    }
}

#[cfg(test)]
mod tests {
    use crate::batch::Batch;
    use crate::cortex::CellKind;
    use crate::layers::cerebellum::CerebellumTrace;
    use crate::layers::gradcheck::values;
    use crate::loss::Target;
    use crate::model::{CerebellumSpec, Model, ModelSpec};
    use crate::trainer::{CerebellumMode, OliveLesion, TrainOptions, Trainer};

    const STEPS: usize = 7;
    const BATCH: usize = 2;

    fn trainer(cell: CellKind, cerebellum: bool, options: TrainOptions) -> Trainer<f64> {
        let spec = ModelSpec {
            cell,
            input: 2,
            hidden: 3,
            output: 2,
            cerebellum: cerebellum.then_some(CerebellumSpec {
                granule: 5,
                layers: 2,
                sparse_k: None,
                context: 0,
            }),
            words: None,
        };
        let mut t = Trainer::new(Model::new(&spec, 2), options);
        if let Some(cb) = &t.model.cerebellum {
            // A cerebellum that predicts something, so a wrong block would show.
            let out = cb.layers.last().unwrap().clone();
            let v = values(out.bias.end - out.weight.start, 7, 0.5);
            t.model.params[out.weight.start..out.bias.end].copy_from_slice(&v);
        }
        t
    }

    fn batch(seed: u64) -> Batch<f64> {
        Batch {
            batch: BATCH,
            steps: STEPS,
            inputs: values(STEPS * BATCH * 2, seed, 1.0),
            target: Target::Trajectory {
                values: values(STEPS * BATCH * 2, seed + 1, 1.0),
                feedback: (0..STEPS).map(|t| t % 2 == 0).collect(),
            },
            context: None,
            words: None,
        }
    }

    fn options(horizon: usize) -> TrainOptions {
        TrainOptions {
            horizon,
            ..TrainOptions::default()
        }
    }

    #[test]
    fn recorded_arrays_are_the_training_steps_own_quantities() {
        for (cell, cerebellum) in [
            (CellKind::Lstm, true),
            (CellKind::Tanh, true),
            (CellKind::Lstm, false),
        ] {
            let mut t = trainer(cell, cerebellum, options(3));
            let b = batch(8);
            let rec = t.record_batch(&b);
            let truth = t.true_feedback(&b);
            t.compute_gradients(&b);
            let windows = t.window_records();
            let (nw, s) = (windows.len(), t.model.cortex.state_size());
            assert_eq!(nw, 3);
            let names: Vec<&str> = rec.arrays.iter().map(|a| a.name.as_str()).collect();
            let want: &[&str] = if cerebellum {
                &[
                    "state",
                    "granule_0",
                    "granule_1",
                    "prediction",
                    "teaching_signal",
                    "true_feedback",
                ]
            } else {
                &["state", "teaching_signal", "true_feedback"]
            };
            assert_eq!(names, want, "{cell:?}");
            let joined = |f: fn(&crate::trainer::WindowRecord) -> &Vec<f64>| {
                windows.iter().flat_map(f).copied().collect::<Vec<f64>>()
            };
            for (name, want) in [
                ("state", joined(|w| &w.s_start)),
                ("teaching_signal", joined(|w| &w.teaching_signal)),
                ("true_feedback", truth.clone()),
            ] {
                let a = rec.get(name).unwrap();
                assert_eq!(a.shape, [nw, BATCH, s], "{name}");
                assert_eq!(a.values, want, "{cell:?} {name}");
            }
            assert!(
                rec.get("teaching_signal")
                    .unwrap()
                    .values
                    .iter()
                    .any(|&v| v != 0.0)
            );
            let Some(cb) = &t.model.cerebellum else {
                continue;
            };
            let prediction = rec.get("prediction").unwrap();
            assert_eq!(prediction.values, joined(|w| &w.prediction));
            assert!(prediction.values.iter().any(|&v| v != 0.0));
            // The granule layers: the cerebellum run afresh at the recorded states.
            let states = &rec.get("state").unwrap().values;
            let mut tr = CerebellumTrace::default();
            cb.forward(&t.model.params, states, None, &mut tr);
            for l in 0..2 {
                let a = rec.get(&format!("granule_{l}")).unwrap();
                assert_eq!(a.shape, [nw, BATCH, 5]);
                assert_eq!(a.values, tr.acts[l + 1], "granule layer {l}");
                assert!(a.values.iter().any(|&v| v > 0.0));
            }
        }
    }

    #[test]
    fn the_controls_read_what_they_claim_in_training() {
        use crate::layers::cerebellum::{Cerebellum, CerebellumInput};
        // Shuffled: sample i's prediction at each window start is the state cerebellum's at
        // sample order[i]'s state.
        let mut t = trainer(CellKind::Lstm, true, options(3));
        let cb = t.model.cerebellum.as_mut().unwrap();
        (cb.input, cb.shuffle_seed) = (CerebellumInput::Shuffled, 4);
        let rec = t.record_batch(&batch(8));
        let cb = t.model.cerebellum.as_ref().unwrap();
        let order = cb.shuffle_order(BATCH);
        assert_eq!(order, [1, 0], "two samples: each reads the other's state");
        let s = t.model.cortex.state_size();
        let states = &rec.get("state").unwrap().values;
        let mut read = states.clone();
        for w in 0..3 {
            for (i, &from) in order.iter().enumerate() {
                read[(w * BATCH + i) * s..][..s]
                    .copy_from_slice(&states[(w * BATCH + from) * s..][..s]);
            }
        }
        let state = Cerebellum {
            input: CerebellumInput::State,
            ..cb.clone()
        };
        let mut tr = CerebellumTrace::default();
        state.forward(&t.model.params, &read, None, &mut tr);
        let prediction = &rec.get("prediction").unwrap().values;
        assert!(
            prediction
                .iter()
                .zip(&tr.output)
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        // ... and not the prediction at the samples' own states.
        let mut own = CerebellumTrace::default();
        state.forward(&t.model.params, states, None, &mut own);
        assert!(
            prediction
                .iter()
                .zip(&own.output)
                .any(|(a, b)| (a - b).abs() > 1e-6)
        );
        // Constant: one vector, the output bias, at every window start of every sample, no
        // granule activity, and training moves the output bias alone among its parameters.
        let mut t = trainer(CellKind::Lstm, true, options(3));
        t.model.cerebellum.as_mut().unwrap().input = CerebellumInput::None;
        let rec = t.record_batch(&batch(8));
        let out = t.model.cerebellum.as_ref().unwrap().layers[2].bias.clone();
        let bias = t.model.params[out.clone()].to_vec();
        let prediction = &rec.get("prediction").unwrap().values;
        assert!(prediction.chunks_exact(bias.len()).all(|row| row == bias));
        assert!(rec.get("granule_0").is_none());
        let before = t.model.params.clone();
        t.train_batch(&batch(9));
        for i in t.model.cerebellar_range() {
            let moved = t.model.params[i] != before[i];
            assert_eq!(moved, out.contains(&i), "parameter {i}");
        }
    }

    /// Trains `n` batches with an inferior-olive lesion (authors' mode, whose cerebellar
    /// gradients accumulate in `grads`) after two, recording before every batch or not.
    fn train(record: bool, cerebellum: bool) -> (Vec<f64>, Vec<f64>) {
        let o = TrainOptions {
            olive_lesion: OliveLesion::Authors,
            ..options(2)
        };
        let mut t = trainer(CellKind::Lstm, cerebellum, o);
        for i in 0..5 {
            if i == 2 {
                t.set_mode(CerebellumMode::Frozen);
            }
            let b = batch(10 + i);
            if record {
                let rec = t.record_batch(&b);
                assert!(rec.get("true_feedback").is_some());
            }
            t.train_batch(&b);
        }
        (t.model.params, t.grads)
    }

    #[test]
    fn recording_leaves_training_bit_identical() {
        for cerebellum in [true, false] {
            let (params, grads) = train(false, cerebellum);
            let (recorded_params, recorded_grads) = train(true, cerebellum);
            assert!(
                params
                    .iter()
                    .zip(&recorded_params)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
            assert!(
                grads
                    .iter()
                    .zip(&recorded_grads)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }

    #[test]
    fn every_n_batches_from_the_first() {
        let r = super::RecordOptions { every: 3, probe: 0 };
        let got: Vec<usize> = (0..10).filter(|&b| r.records(b)).collect();
        assert_eq!(got, [0, 3, 6, 9]);
        assert!(!(0..10).any(|b| super::RecordOptions::default().records(b)));
    }
}
