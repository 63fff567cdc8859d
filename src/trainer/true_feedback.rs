//! The true feedback at the window boundaries: what the cerebellum's prediction and its
//! teaching signal approximate (docs/model.md §5). It is the gradient of the whole sequence's
//! task loss (the sum of the window losses) with respect to the cortical state at each window's
//! start, from full BPTT through the untruncated sequence with the current parameters. Full
//! BPTT is the truncated backward pass chained: window `w` seeded at its end with the true
//! feedback at the start of window `w + 1` (zero after the last) instead of a prediction.

use super::{Trainer, forward_sequence};
use crate::batch::Batch;
use crate::cortex::WindowGradients;
use crate::real::Real;

impl<T: Real> Trainer<T> {
    /// The true feedback at the start of every window of `batch` (`W × B × S`, block `w` at
    /// window `w`'s start). It changes no parameter and no gradient; it reuses the training
    /// step's buffers, so call it apart from a step (its window records are then not the step's).
    pub fn true_feedback(&mut self, batch: &Batch<T>) -> Vec<T> {
        let windows = self.windows(batch.steps);
        self.start_batch(batch);
        let ws = &mut self.ws;
        ws.windows = windows;
        ws.block = batch.batch * self.model.cortex.state_size();
        let mut unused_grads = vec![T::ZERO; self.model.params.len()];
        forward_sequence(&self.model, batch, ws, &mut unused_grads);
        let (n, h) = (ws.windows.len(), self.model.cortex.hidden());
        let mut feedback = vec![T::ZERO; n * ws.block];
        let mut d_end = vec![T::ZERO; ws.block];
        for w in (0..n).rev() {
            let (t0, t1) = ws.windows[w];
            let rows = ws.rows(w, h);
            let gradients = WindowGradients {
                t0,
                t1,
                dh_out: ws.losses[w].map(|_| &ws.dh[rows]),
                d_end: &d_end,
                d_start: &mut feedback[w * ws.block..(w + 1) * ws.block],
            };
            let tr = ws.trace.as_mut().expect("start_batch ran");
            self.model
                .cortex
                .backward_window(&self.model.params, tr, gradients);
            d_end.copy_from_slice(&feedback[w * ws.block..(w + 1) * ws.block]);
        }
        feedback
    }
}

#[cfg(test)]
mod tests {
    use crate::batch::Batch;
    use crate::cortex::CellKind;
    use crate::layers::gradcheck::values;
    use crate::loss::{Target, window_loss};
    use crate::model::{CerebellumSpec, Model, ModelSpec};
    use crate::trainer::{TrainOptions, Trainer};

    const STEPS: usize = 7;
    const BATCH: usize = 2;

    fn trainer(cell: CellKind, horizon: usize) -> Trainer<f64> {
        let spec = ModelSpec {
            cell,
            input: 2,
            hidden: 3,
            output: 2,
            cerebellum: Some(CerebellumSpec {
                granule: 5,
                layers: 1,
                sparse_k: None,
                context: 0,
            }),
            words: None,
        };
        let mut t = Trainer::new(
            Model::new(&spec, 2),
            TrainOptions {
                horizon,
                ..TrainOptions::default()
            },
        );
        // A cerebellum that predicts something, so a wrong use of it would show.
        let out = t.model.cerebellum.as_ref().unwrap().layers[1].clone();
        let v = values(out.bias.end - out.weight.start, 7, 0.5);
        t.model.params[out.weight.start..out.bias.end].copy_from_slice(&v);
        t
    }

    fn batch() -> Batch<f64> {
        Batch {
            batch: BATCH,
            steps: STEPS,
            inputs: values(STEPS * BATCH * 2, 8, 1.0),
            target: Target::Trajectory {
                values: values(STEPS * BATCH * 2, 9, 1.0),
                feedback: (0..STEPS).map(|t| t % 2 == 0).collect(),
            },
            context: None,
            words: None,
        }
    }

    /// The sum of the window losses of windows `w..` when the state at the start of window `w`
    /// is replaced by `s` (the earlier windows' losses do not depend on it).
    fn loss_from(t: &Trainer<f64>, b: &Batch<f64>, w: usize, s: &[f64]) -> f64 {
        let windows = t.windows(STEPS);
        let t0 = windows[w].0;
        let cortex = &t.model.cortex;
        let mut tr = cortex.trace::<f64>(BATCH, STEPS);
        cortex.forward(&t.model.params, &b.inputs, &mut tr, 0, t0);
        tr.write_state(t0, s);
        cortex.forward(&t.model.params, &b.inputs, &mut tr, t0, STEPS);
        let out = t.model.readout.outputs;
        let mut y = vec![0.0; (STEPS - t0) * BATCH * out];
        t.model
            .readout
            .forward(&t.model.params, tr.outputs(t0, STEPS), &mut y, false);
        windows[w..]
            .iter()
            .filter_map(|&(a, e)| {
                let r = (a - t0) * BATCH * out..(e - t0) * BATCH * out;
                let mut dy = vec![0.0; r.len()];
                window_loss(&b.target, &y[r], &mut dy, a, e, STEPS, BATCH)
            })
            .sum()
    }

    #[test]
    fn true_feedback_is_the_gradient_of_the_rest_of_the_sequence() {
        for cell in [CellKind::Lstm, CellKind::Tanh] {
            let mut t = trainer(cell, 3);
            let b = batch();
            let feedback = t.true_feedback(&b);
            let block = BATCH * t.model.cortex.state_size();
            for (w, &(t0, _)) in t.windows(STEPS).iter().enumerate() {
                let mut tr = t.model.cortex.trace::<f64>(BATCH, STEPS);
                t.model
                    .cortex
                    .forward(&t.model.params, &b.inputs, &mut tr, 0, t0);
                let mut s = vec![0.0; block];
                tr.read_state(t0, &mut s);
                let got = &feedback[w * block..(w + 1) * block];
                for i in 0..block {
                    let mut sp = s.clone();
                    sp[i] = s[i] + 1e-6;
                    let up = loss_from(&t, &b, w, &sp);
                    sp[i] = s[i] - 1e-6;
                    let fd = (up - loss_from(&t, &b, w, &sp)) / 2e-6;
                    assert!(
                        (got[i] - fd).abs() <= 1e-8 * fd.abs().max(1.0),
                        "{cell:?} window {w} state {i}: {} vs {fd}",
                        got[i]
                    );
                }
            }
        }
    }

    #[test]
    fn at_full_horizon_the_teaching_signal_is_the_true_feedback() {
        let mut t = trainer(CellKind::Lstm, STEPS);
        t.options.inject_at_last_window = false;
        let b = batch();
        let truth = t.true_feedback(&b);
        let before = t.model.params.clone();
        t.compute_gradients(&b);
        assert_eq!(t.model.params, before, "no parameter changes");
        let record = &t.window_records()[0];
        assert!(truth.iter().any(|&g| g != 0.0));
        for (g, want) in record.teaching_signal.iter().zip(&truth) {
            assert!(
                (g - want).abs() <= 1e-14 * want.abs().max(1.0),
                "{g} vs {want}"
            );
        }
    }
}
