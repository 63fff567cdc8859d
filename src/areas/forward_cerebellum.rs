//! The forward cerebellum (ML name: the *synthetic-input* module of decoupled neural interfaces,
//! the forward-unlocking half; in motor control, the Smith predictor of Miall et al. 1993): an
//! MLP that predicts the activity area A sends to area B at step t, `h^A_t`, from what B holds at
//! t (the delayed signal `h^A_{t-d}`, B's own state, optionally the sample's context), so that B
//! need not wait d steps for it (docs/model.md §7.3).
//!
//! ```text
//! m_t = [h^A_{t-d}; s^B_t; context]  (mossy fibres, M values)
//! F(m_t) = W_1 relu(W_0 m_t + b_0) + b_1          (M -> G granule cells -> H_A)
//! ```
//!
//! Its output layer starts at zero, so a fresh forward cerebellum predicts nothing. It learns by
//! regression onto the true activity, which arrives d steps later (its teaching signal); its
//! input is detached, so its loss trains it alone.

use crate::layers::linear::Linear;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;

/// The two layers of the forward cerebellum.
#[derive(Clone, Debug)]
pub struct ForwardCerebellum {
    /// Mossy fibres -> granule cells (ReLU).
    pub granule: Linear,
    /// Granule cells -> the predicted activity.
    pub output: Linear,
}

/// Activations of the forward cerebellum over a whole sequence (rows `t * batch + b`).
#[derive(Clone, Debug, Default)]
pub struct ForwardTrace<T> {
    /// Its inputs `m_t` (R × M).
    pub input: Vec<T>,
    /// The granule layer after its ReLU (R × G).
    pub granule: Vec<T>,
    /// The prediction `F(m_t)` (R × H_A).
    pub output: Vec<T>,
}

impl ForwardCerebellum {
    /// Registers `forward_cerebellum.0.*` (M -> G) and `forward_cerebellum.1.*` (G -> out).
    pub fn new(layout: &mut Layout, inputs: usize, granule: usize, outputs: usize) -> Self {
        ForwardCerebellum {
            granule: Linear::new(layout, "forward_cerebellum.0", inputs, granule),
            output: Linear::new(layout, "forward_cerebellum.1", granule, outputs),
        }
    }

    pub fn inputs(&self) -> usize {
        self.granule.inputs
    }

    /// PyTorch's `nn.Linear` initialisation for the granule layer; the output layer at zero.
    pub fn init<T: Real>(&self, p: &mut [T], rng: &mut Rng) {
        self.granule.init(p, rng);
        p[self.output.weight.clone()].fill(T::ZERO);
        p[self.output.bias.clone()].fill(T::ZERO);
    }

    /// The prediction for the rows `rows` of the trace, whose inputs are already in place.
    pub fn forward_rows<T: Real>(&self, p: &[T], tr: &mut ForwardTrace<T>, rows: (usize, usize)) {
        let (r0, r1) = rows;
        let (m, g, o) = (self.inputs(), self.granule.outputs, self.output.outputs);
        let granule = &mut tr.granule[r0 * g..r1 * g];
        self.granule
            .forward(p, &tr.input[r0 * m..r1 * m], granule, false);
        granule.iter_mut().for_each(|v| *v = v.max(T::ZERO));
        self.output
            .forward(p, granule, &mut tr.output[r0 * o..r1 * o], false);
    }

    /// Accumulates the parameter gradients for the gradient `d_out` at every row's prediction
    /// (R × H_A); `d_granule` is a work buffer. The input is detached.
    pub fn backward<T: Real>(
        &self,
        p: &[T],
        tr: &ForwardTrace<T>,
        d_out: &[T],
        d_granule: &mut Vec<T>,
        grads: &mut [T],
    ) {
        let rows = d_out.len() / self.output.outputs;
        let g = self.granule.outputs;
        self.output
            .backward_params(&tr.granule[..rows * g], d_out, grads);
        d_granule.resize(rows * g, T::ZERO);
        self.output.backward_input(p, d_out, d_granule);
        for (d, &a) in d_granule.iter_mut().zip(&tr.granule) {
            if a <= T::ZERO {
                *d = T::ZERO;
            }
        }
        let m = self.inputs();
        self.granule
            .backward_params(&tr.input[..rows * m], d_granule, grads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, values};

    #[test]
    fn gradients_match_finite_differences() {
        let (m, g, o, rows) = (5, 4, 3, 6);
        let mut layout = Layout::default();
        let f = ForwardCerebellum::new(&mut layout, m, g, o);
        let mut params = vec![0.0f64; layout.len()];
        f.init(&mut params, &mut Rng::new(1));
        // A non-zero output layer so that both layers' gradients are exercised.
        let out = f.output.weight.start..f.output.bias.end;
        params[out.clone()].copy_from_slice(&values(out.len(), 2, 0.5));
        let input = values(rows * m, 3, 1.0);
        let probe = values(rows * o, 4, 1.0);
        let run = |p: &[f64]| {
            let mut tr = ForwardTrace {
                input: input.clone(),
                granule: vec![0.0; rows * g],
                output: vec![0.0; rows * o],
            };
            f.forward_rows(p, &mut tr, (0, rows));
            tr
        };
        let objective = |p: &[f64]| {
            let tr = run(p);
            tr.output
                .iter()
                .zip(&probe)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let tr = run(&params);
        let mut grads = vec![0.0; layout.len()];
        f.backward(&params, &tr, &probe, &mut Vec::new(), &mut grads);
        check("forward cerebellum", &params, &grads, objective, 1e-8);
    }

    #[test]
    fn a_fresh_forward_cerebellum_predicts_nothing() {
        let mut layout = Layout::default();
        let f = ForwardCerebellum::new(&mut layout, 3, 4, 2);
        let mut p = vec![0.0f32; layout.len()];
        f.init(&mut p, &mut Rng::new(7));
        let mut tr = ForwardTrace {
            input: vec![1.0; 2 * 3],
            granule: vec![0.0; 2 * 4],
            output: vec![1.0; 2 * 2],
        };
        f.forward_rows(&p, &mut tr, (0, 2));
        assert!(tr.output.iter().all(|&v| v == 0.0));
        assert!(tr.granule.iter().any(|&v| v > 0.0));
    }
}
