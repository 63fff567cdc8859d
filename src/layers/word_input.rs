//! The caption model's input stage: what the cortex reads at each step of a caption. Step 0
//! reads the image, the feature vector `f` of a frozen pretrained network (the "visual
//! cortex") mapped to the embedding size by a trainable linear map; step `t ≥ 1` reads the
//! embedding of the previous word (teacher forcing). Dropout (inverted, as PyTorch's
//! `nn.Dropout` in training mode) applies to every step's vector:
//!
//! ```text
//! x_0 = m_0 ⊙ (W_img f + b_img)        x_t = m_t ⊙ E[w_{t-1}]   (t ≥ 1)
//! m = 0 with probability p, else 1 / (1 - p)
//! ```
//!
//! Legend: B = batch, F = feature size, D = embedding size (the cortex's input size).

use super::embedding::Embedding;
use super::linear::Linear;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;

/// The inputs of a batch of captions of `steps` steps.
#[derive(Clone, Debug)]
pub struct Words<T> {
    /// The image features, `B × F`.
    pub features: Vec<T>,
    /// The word read at each step after the first, time-major: `(steps - 1) · B` entries, entry
    /// `(t - 1) · B + b` read at step `t` (the caption's `<start>`, then its words).
    pub tokens: Vec<u32>,
    /// Seed of this batch's dropout mask; `None`: no dropout (evaluation).
    pub dropout_seed: Option<u64>,
}

/// Image projection and word embedding.
#[derive(Clone, Debug)]
pub struct WordInput {
    pub image: Linear,
    pub embedding: Embedding,
    /// Dropout probability p on every step's input vector.
    pub dropout: f64,
}

impl WordInput {
    /// Registers `image.weight`, `image.bias` and `embedding.weight`.
    pub fn new(
        layout: &mut Layout,
        features: usize,
        vocab: usize,
        size: usize,
        dropout: f64,
    ) -> Self {
        WordInput {
            image: Linear::new(layout, "image", features, size),
            embedding: Embedding::new(layout, "embedding", vocab, size),
            dropout,
        }
    }

    /// PyTorch's defaults: the image map as `nn.Linear`, the embedding N(0, 1).
    pub fn init<T: Real>(&self, params: &mut [T], rng: &mut Rng) {
        self.image.init(params, rng);
        self.embedding.init(params, rng);
    }

    /// The embedding size D.
    pub fn size(&self) -> usize {
        self.embedding.size
    }

    /// The dropout mask of a batch of `rows` = steps · B rows (`rows × D`): 0 with
    /// probability p, else 1 / (1 - p). Empty when the batch has no dropout seed or p = 0.
    pub fn dropout_mask<T: Real>(&self, words: &Words<T>, rows: usize, mask: &mut Vec<T>) {
        mask.clear();
        let Some(seed) = words.dropout_seed.filter(|_| self.dropout > 0.0) else {
            return;
        };
        let mut rng = Rng::stream(seed, "dropout");
        let keep = T::from_f64(1.0 / (1.0 - self.dropout));
        mask.extend((0..rows * self.size()).map(|_| {
            if rng.uniform() < self.dropout {
                T::ZERO
            } else {
                keep
            }
        }));
    }

    /// Rows of steps `t0..t1` of `x` (all steps, `steps · B × D`), from the image at step 0 and
    /// the previous words after it, times the dropout `mask` (same shape as `x`; empty: none).
    pub fn forward<T: Real>(
        &self,
        params: &[T],
        words: &Words<T>,
        mask: &[T],
        x: &mut [T],
        (t0, t1): (usize, usize),
    ) {
        let (b, d) = (words.features.len() / self.image.inputs, self.size());
        if t0 == 0 {
            self.image
                .forward(params, &words.features, &mut x[..b * d], false);
        }
        let first = t0.max(1);
        if first < t1 {
            let tokens = &words.tokens[(first - 1) * b..(t1 - 1) * b];
            self.embedding
                .forward(params, tokens, &mut x[first * b * d..t1 * b * d]);
        }
        if !mask.is_empty() {
            let rows = t0 * b * d..t1 * b * d;
            for (v, &m) in x[rows.clone()].iter_mut().zip(&mask[rows]) {
                *v *= m;
            }
        }
    }

    /// Accumulates the parameter gradients from `dx`, the gradient at the rows of steps
    /// `t0..t1` (`(t1 - t0) · B × D`, overwritten: the mask is applied in place).
    pub fn backward<T: Real>(
        &self,
        words: &Words<T>,
        mask: &[T],
        dx: &mut [T],
        (t0, t1): (usize, usize),
        grads: &mut [T],
    ) {
        let (b, d) = (words.features.len() / self.image.inputs, self.size());
        if !mask.is_empty() {
            for (g, &m) in dx.iter_mut().zip(&mask[t0 * b * d..t1 * b * d]) {
                *g *= m;
            }
        }
        let mut rest = &dx[..];
        if t0 == 0 {
            self.image
                .backward_params(&words.features, &dx[..b * d], grads);
            rest = &dx[b * d..];
        }
        let first = t0.max(1);
        if first < t1 {
            let tokens = &words.tokens[(first - 1) * b..(t1 - 1) * b];
            self.embedding.backward(tokens, rest, grads);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, values};

    /// J = <probe, x> over steps `t0..t1`, with dropout, against finite differences.
    #[test]
    fn gradients_match_finite_differences() {
        let (b, steps, f, vocab, d) = (2, 4, 3, 5, 2);
        let mut layout = Layout::default();
        let input = WordInput::new(&mut layout, f, vocab, d, 0.5);
        let params = values(layout.len(), 1, 1.0);
        let words = Words {
            features: values(b * f, 2, 1.0),
            tokens: vec![1, 1, 3, 0, 3, 4],
            dropout_seed: Some(7),
        };
        let mut mask = Vec::new();
        input.dropout_mask(&words, steps * b, &mut mask);
        assert!(mask.contains(&0.0) && mask.contains(&2.0), "{mask:?}");
        for span in [(0, steps), (0, 1), (1, 3), (2, 4)] {
            let rows = (span.1 - span.0) * b * d;
            let probe = values(rows, 3, 1.0);
            let loss = |p: &[f64]| {
                let mut x = vec![0.0; steps * b * d];
                input.forward(p, &words, &mask, &mut x, span);
                let x = &x[span.0 * b * d..span.1 * b * d];
                x.iter().zip(&probe).map(|(a, c)| a * c).sum::<f64>()
            };
            let mut grads = vec![0.0; layout.len()];
            input.backward(&words, &mask, &mut probe.clone(), span, &mut grads);
            check(&format!("word input {span:?}"), &params, &grads, loss, 1e-9);
        }
    }

    #[test]
    fn no_dropout_without_a_seed() {
        let mut layout = Layout::default();
        let input = WordInput::new(&mut layout, 3, 5, 2, 0.5);
        let words = Words::<f32> {
            features: vec![0.0; 3],
            tokens: vec![],
            dropout_seed: None,
        };
        let mut mask = vec![1.0];
        input.dropout_mask(&words, 1, &mut mask);
        assert!(mask.is_empty());
    }
}
