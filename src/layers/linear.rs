//! Linear layer `y = x W^T + b` (PyTorch layout: `W` is `outputs × inputs`). Used for the
//! cortical readout and for every layer of the cerebellum.

use super::{add_column_sums, add_to_rows, init_uniform};
use crate::gemm::{Op, gemm};
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use std::ops::Range;

/// A dense affine map from `inputs` to `outputs` features.
#[derive(Clone, Debug)]
pub struct Linear {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: Range<usize>,
    pub bias: Range<usize>,
}

impl Linear {
    /// Registers `name.weight` and `name.bias` in the layout.
    pub fn new(layout: &mut Layout, name: &str, inputs: usize, outputs: usize) -> Self {
        let weight = layout.add(&format!("{name}.weight"), &[outputs, inputs]);
        let bias = layout.add(&format!("{name}.bias"), &[outputs]);
        Linear {
            inputs,
            outputs,
            weight,
            bias,
        }
    }

    /// PyTorch's default initialisation: weight and bias U(-1/sqrt(inputs), 1/sqrt(inputs)).
    pub fn init<T: Real>(&self, params: &mut [T], rng: &mut Rng) {
        let bound = 1.0 / (self.inputs as f64).sqrt();
        init_uniform(&mut params[self.weight.clone()], bound, rng);
        init_uniform(&mut params[self.bias.clone()], bound, rng);
    }

    /// `y = x W^T + b` for `rows` rows; `accumulate` adds to `y` instead of overwriting it.
    pub fn forward<T: Real>(&self, params: &[T], x: &[T], y: &mut [T], accumulate: bool) {
        let rows = x.len() / self.inputs;
        let w = &params[self.weight.clone()];
        let (o, i) = (self.outputs, self.inputs);
        gemm(y, x, Op::N, w, Op::T, rows, o, i, accumulate);
        add_to_rows(y, &[&params[self.bias.clone()]]);
    }

    /// Accumulates the weight and bias gradients for upstream gradient `dy`.
    pub fn backward_params<T: Real>(&self, x: &[T], dy: &[T], grads: &mut [T]) {
        let rows = x.len() / self.inputs;
        let (o, i) = (self.outputs, self.inputs);
        gemm(
            &mut grads[self.weight.clone()],
            dy,
            Op::T,
            x,
            Op::N,
            o,
            i,
            rows,
            true,
        );
        add_column_sums(vec![&mut grads[self.bias.clone()]], dy);
    }

    /// `dx = dy W` (overwrites `dx`).
    pub fn backward_input<T: Real>(&self, params: &[T], dy: &[T], dx: &mut [T]) {
        let rows = dy.len() / self.outputs;
        let w = &params[self.weight.clone()];
        gemm(
            dx,
            dy,
            Op::N,
            w,
            Op::N,
            rows,
            self.inputs,
            self.outputs,
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, values};

    #[test]
    fn gradients_match_finite_differences() {
        let mut layout = Layout::default();
        let lin = Linear::new(&mut layout, "readout", 3, 2);
        let rows = 4;
        let params = values(layout.len(), 1, 0.5);
        let x = values(rows * 3, 2, 1.0);
        let probe = values(rows * 2, 3, 1.0);
        let loss = |p: &[f64], x: &[f64]| {
            let mut y = vec![0.0; rows * 2];
            lin.forward(p, x, &mut y, false);
            y.iter().zip(&probe).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut grads = vec![0.0; layout.len()];
        lin.backward_params(&x, &probe, &mut grads);
        let mut dx = vec![0.0; rows * 3];
        lin.backward_input(&params, &probe, &mut dx);
        check("linear params", &params, &grads, |p| loss(p, &x), 1e-9);
        check("linear input", &x, &dx, |x| loss(&params, x), 1e-9);
    }
}
