//! Word embedding: a lookup table `E` (`vocab × size`, PyTorch's `nn.Embedding`) whose row
//! `E[w]` is the input vector of word `w`. Forward copies rows; backward adds each output
//! gradient to the row it came from (`dE[w] += dx` for every position holding `w`).

use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use std::ops::Range;

/// A table of `vocab` vectors of `size` values.
#[derive(Clone, Debug)]
pub struct Embedding {
    pub vocab: usize,
    pub size: usize,
    pub weight: Range<usize>,
}

impl Embedding {
    /// Registers `name.weight` (`vocab × size`).
    pub fn new(layout: &mut Layout, name: &str, vocab: usize, size: usize) -> Self {
        let weight = layout.add(&format!("{name}.weight"), &[vocab, size]);
        Embedding {
            vocab,
            size,
            weight,
        }
    }

    /// PyTorch's default initialisation: every entry N(0, 1).
    pub fn init<T: Real>(&self, params: &mut [T], rng: &mut Rng) {
        for w in &mut params[self.weight.clone()] {
            *w = T::from_f64(rng.normal());
        }
    }

    /// Row `r` of `x` (`words.len() × size`) = `E[words[r]]`.
    pub fn forward<T: Real>(&self, params: &[T], words: &[u32], x: &mut [T]) {
        let table = &params[self.weight.clone()];
        for (row, &w) in x.chunks_exact_mut(self.size).zip(words) {
            let w = w as usize * self.size;
            row.copy_from_slice(&table[w..w + self.size]);
        }
    }

    /// `dE[words[r]] += dx[r]` for every row `r`.
    pub fn backward<T: Real>(&self, words: &[u32], dx: &[T], grads: &mut [T]) {
        let table = &mut grads[self.weight.clone()];
        for (row, &w) in dx.chunks_exact(self.size).zip(words) {
            let w = w as usize * self.size;
            for (g, &d) in table[w..w + self.size].iter_mut().zip(row) {
                *g += d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, values};

    #[test]
    fn gradients_match_finite_differences() {
        let mut layout = Layout::default();
        let emb = Embedding::new(&mut layout, "embedding", 5, 3);
        // Word 2 appears twice (its gradient rows add up), word 4 never.
        let words = [2u32, 0, 2, 1, 3];
        let params = values(layout.len(), 1, 1.0);
        let probe = values(words.len() * 3, 2, 1.0);
        let loss = |p: &[f64]| {
            let mut x = vec![0.0; words.len() * 3];
            emb.forward(p, &words, &mut x);
            x.iter().zip(&probe).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut grads = vec![0.0; layout.len()];
        emb.backward(&words, &probe, &mut grads);
        check("embedding", &params, &grads, loss, 1e-9);
        assert!(grads[12..15].iter().all(|&g| g == 0.0), "an unused word");
    }
}
