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

/// Adds the vectors `vs` (each of length `cols`), one after the other, to every row of the
/// row-major matrix `m` (each element gets `vs[0]`, then `vs[1]`, …, as in one pass per
/// vector, but with each row read once); a large `m` in pieces of rows on the run's threads
/// ([`crate::pool::piece`]).
pub(crate) fn add_to_rows<T: Real>(m: &mut [T], vs: &[&[T]]) {
    let cols = vs.first().map_or(1, |v| v.len().max(1));
    let rows = crate::pool::piece(m.len() / cols, m.len(), crate::pool::LOOP_MIN, 1);
    crate::pool::each(m.chunks_mut(rows * cols).collect(), |m: &mut [T]| {
        crate::simd::vectorize(|| {
            for row in m.chunks_exact_mut(cols) {
                for v in vs {
                    for (x, &b) in row.iter_mut().zip(*v) {
                        *x += b;
                    }
                }
            }
        })
    });
}

/// `acc += column sums of m` for each of `accs` (the gradient of a bias added to every row;
/// each accumulator gets the rows in order, as in one pass per accumulator, but with each row
/// read once); a large `m` in pieces of columns on the run's threads, each column summed over
/// the rows in order as in one pass.
pub(crate) fn add_column_sums<T: Real>(accs: Vec<&mut [T]>, m: &[T]) {
    let cols = accs.first().map_or(1, |a| a.len().max(1));
    let piece = crate::pool::piece(cols, m.len(), crate::pool::LOOP_MIN, 16);
    let mut columns: Vec<_> = accs.into_iter().map(|a| a.chunks_mut(piece)).collect();
    let pieces: Vec<(usize, Vec<&mut [T]>)> = (0..cols.div_ceil(piece))
        .map(|i| (i, columns.iter_mut().filter_map(Iterator::next).collect()))
        .collect();
    crate::pool::each(pieces, |(i, mut accs): (usize, Vec<&mut [T]>)| {
        let columns = i * piece..(i * piece + piece).min(cols);
        crate::simd::vectorize(|| {
            for row in m.chunks_exact(cols) {
                let row = &row[columns.clone()];
                for acc in accs.iter_mut() {
                    for (a, &x) in acc.iter_mut().zip(row) {
                        *a += x;
                    }
                }
            }
        })
    });
}

/// Fills `w` with U(-bound, bound), PyTorch's default for linear and recurrent layers
/// (bound = 1/sqrt(fan_in) for `nn.Linear`, 1/sqrt(hidden) for `nn.LSTM` / `nn.RNN`).
pub(crate) fn init_uniform<T: Real>(w: &mut [T], bound: f64, rng: &mut crate::rng::Rng) {
    for x in w {
        *x = T::from_f64(rng.uniform_in(-bound, bound));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Pool, install};

    #[test]
    fn bias_loops_give_the_same_bits_on_every_thread_count() {
        let (rows, cols) = (300, 1001);
        let m: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let v: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.11).cos()).collect();
        let run = || {
            let mut y = m.clone();
            add_to_rows(&mut y, &[&v, &v[..]]);
            let (mut sums, mut twice) = (v.clone(), v.clone());
            add_column_sums(vec![&mut sums, &mut twice], &y);
            (y, sums, twice)
        };
        let one = run();
        for threads in [2, 3] {
            assert!(install(Pool::new(threads), run) == one, "{threads} threads");
        }
        assert_eq!(one.0[cols + 2], m[cols + 2] + v[2] + v[2]);
        assert_eq!(one.1, one.2);
        let column: f32 = (0..rows).fold(v[7], |a, r| a + one.0[r * cols + 7]);
        assert_eq!(one.1[7], column);
    }
}
