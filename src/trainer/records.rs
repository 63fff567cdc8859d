//! What a training step reports, built from the step's buffers after it ran, never threaded
//! through the algorithm: the figures of a batch ([`BatchStats`]) and, for tests and analyses,
//! everything about each window ([`WindowRecord`]).

use super::{CerebellumMode, Trainer};
use crate::batch::Batch;
use crate::loss::Target;
use crate::real::Real;

/// Figures of one training batch.
#[derive(Clone, Debug, Default)]
pub struct BatchStats {
    /// Sum of the window task losses (the differentiated objective).
    pub task_loss: f64,
    /// Squared error (summed over outputs) at the feedback steps, and the number of rows in it.
    pub feedback_sq_err: f64,
    pub feedback_rows: usize,
    /// Sum over windows of the cerebellum's squared error (when its gradient is computed).
    pub cerebellum_loss: f64,
    /// Mean cosine between the cerebellar prediction and its teaching signal at the window
    /// boundaries (windows after the first), per sample; `None` when not measured.
    pub cosine: Option<f64>,
    /// Global gradient norm before clipping, and the clip scale (of the last update).
    pub grad_norm: f64,
    pub clip_scale: f64,
    cosine_sum: Option<(f64, usize)>,
}

/// Everything about one window.
#[derive(Clone, Debug, Default)]
pub struct WindowRecord {
    pub t0: usize,
    pub t1: usize,
    pub task_loss: Option<f64>,
    pub s_start: Vec<f64>,
    pub s_end: Vec<f64>,
    /// C(s_start) (empty without an active cerebellum), the teaching signal g,
    /// ||C(s_start) - g||^2 (0 when the cerebellum's gradient is not computed) and the
    /// injected lambda C(s_end) (zero where nothing is injected).
    pub prediction: Vec<f64>,
    pub teaching_signal: Vec<f64>,
    pub cerebellum_loss: f64,
    pub injected: Vec<f64>,
}

impl<T: Real> Trainer<T> {
    /// Adds the figures of the last run of windows to `stats`.
    pub(super) fn gather_stats(&self, batch: &Batch<T>, stats: &mut BatchStats) {
        let ws = &self.ws;
        let out = self.model.readout.outputs;
        for (&(t0, t1), loss) in ws.windows.iter().zip(&ws.losses) {
            let Some(l) = *loss else { continue };
            stats.task_loss += l;
            match &batch.target {
                Target::Trajectory { feedback, .. } => {
                    let n_fb = feedback[t0..t1].iter().filter(|&&f| f).count();
                    stats.feedback_sq_err += l * (n_fb * batch.batch * out) as f64;
                    stats.feedback_rows += n_fb * batch.batch;
                }
                // The masked values' rows, whole when every output of a row is masked.
                Target::Masked { mask, .. } => {
                    let rows = t0 * batch.batch * out..t1 * batch.batch * out;
                    let n = mask[rows].iter().filter(|&&m| m).count();
                    stats.feedback_sq_err += l * n as f64;
                    stats.feedback_rows += n.div_ceil(out);
                }
                _ => {}
            }
        }
        if !self.cerebellum_active() {
            return;
        }
        let s = self.model.cortex.state_size();
        for (w, _) in ws.windows.iter().enumerate().filter(|(_, t)| t.0 > 0) {
            let b = ws.boundary(w);
            stats.add_cosine(&ws.cerebellum.output[b.clone()], &ws.teaching[b], s);
        }
        if self.teaches_cerebellum() {
            stats.cerebellum_loss += (0..ws.windows.len())
                .map(|w| self.cerebellum_error(w))
                .sum::<f64>();
        }
    }

    /// What each window of the last run of windows did.
    pub fn window_records(&self) -> Vec<WindowRecord> {
        let ws = &self.ws;
        let tr = ws.trace.as_ref().expect("a step ran");
        let f = |v: &[T]| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
        let state = |t: usize| {
            let mut s = vec![T::ZERO; ws.block];
            tr.read_state(t, &mut s);
            f(&s)
        };
        ws.windows
            .iter()
            .enumerate()
            .map(|(w, &(t0, t1))| {
                let b = ws.boundary(w);
                WindowRecord {
                    t0,
                    t1,
                    task_loss: ws.losses[w],
                    s_start: state(t0),
                    s_end: state(t1),
                    prediction: if self.cerebellum_active() {
                        f(&ws.cerebellum.output[b.clone()])
                    } else {
                        Vec::new()
                    },
                    teaching_signal: f(&ws.teaching[b.clone()]),
                    cerebellum_loss: if self.teaches_cerebellum() {
                        self.cerebellum_error(w)
                    } else {
                        0.0
                    },
                    injected: f(&ws.injected[b]),
                }
            })
            .collect()
    }

    fn cerebellum_active(&self) -> bool {
        self.model.cerebellum.is_some() && self.mode != CerebellumMode::Off
    }

    /// ||C(s_start) - g||^2 of window `w` of the last run, in f64.
    fn cerebellum_error(&self, w: usize) -> f64 {
        let b = self.ws.boundary(w);
        self.ws.cerebellum.output[b.clone()]
            .iter()
            .zip(&self.ws.teaching[b])
            .map(|(c, g)| (c.to_f64() - g.to_f64()).powi(2))
            .sum()
    }
}

impl BatchStats {
    fn add_cosine<T: Real>(&mut self, a: &[T], b: &[T], s: usize) {
        let mut sum = 0.0;
        let mut n = 0usize;
        for (x, y) in a.chunks_exact(s).zip(b.chunks_exact(s)) {
            let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
            for (u, v) in x.iter().zip(y) {
                let (u, v) = (u.to_f64(), v.to_f64());
                xy += u * v;
                xx += u * u;
                yy += v * v;
            }
            if xx > 0.0 && yy > 0.0 {
                sum += xy / (xx * yy).sqrt();
                n += 1;
            }
        }
        if n > 0 {
            let (acc, count) = self.cosine_sum.get_or_insert((0.0, 0));
            *acc += sum / n as f64;
            *count += 1;
        }
    }

    pub(super) fn finish(&mut self) {
        self.cosine = self.cosine_sum.map(|(s, n)| s / n as f64);
    }
}
