//! The layers of the model, each with its forward pass, its hand-written backward pass and a
//! finite-difference gradient check side by side. Activations are flat row-major buffers; a
//! sequence is stored time-major (row `t * batch + b`).

pub mod cerebellum;
pub mod embedding;
pub mod linear;
pub mod lstm;
pub mod recurrent;
pub mod rnn;
pub mod trace;
pub mod word_input;

#[cfg(test)]
pub(crate) mod gradcheck;

use crate::real::Real;

/// Adds the vector `v` (length `cols`) to every row of the row-major matrix `m`.
pub(crate) fn add_to_rows<T: Real>(m: &mut [T], v: &[T]) {
    crate::simd::vectorize(|| {
        for row in m.chunks_exact_mut(v.len()) {
            for (x, &b) in row.iter_mut().zip(v) {
                *x += b;
            }
        }
    });
}

/// `acc += column sums of m` (the gradient of a bias added to every row).
pub(crate) fn add_column_sums<T: Real>(acc: &mut [T], m: &[T]) {
    crate::simd::vectorize(|| {
        for row in m.chunks_exact(acc.len()) {
            for (a, &x) in acc.iter_mut().zip(row) {
                *a += x;
            }
        }
    });
}

/// Fills `w` with U(-bound, bound), PyTorch's default for linear and recurrent layers
/// (bound = 1/sqrt(fan_in) for `nn.Linear`, 1/sqrt(hidden) for `nn.LSTM` / `nn.RNN`).
pub(crate) fn init_uniform<T: Real>(w: &mut [T], bound: f64, rng: &mut crate::rng::Rng) {
    for x in w {
        *x = T::from_f64(rng.uniform_in(-bound, bound));
    }
}
