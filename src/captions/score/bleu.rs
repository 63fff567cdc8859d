//! Corpus BLEU-1..4 exactly as pycocoevalcap's `Bleu(4).compute_score` (bleu/bleu_scorer.py,
//! `option='closest'`).
//!
//! For each image with hypothesis h (length |h|) and references r_1..r_m:
//! - guess_n = max(0, |h| - n + 1), the number of hypothesis n-grams;
//! - correct_n = Σ_{g ∈ n-grams(h)} min(count_h(g), max_j count_{r_j}(g)) (clipped counts);
//! - reflen = the reference length closest to |h|; on a tie the shorter one
//!   (Python's `min((abs(l - |h|), l))`).
//!
//! Summing these over images (T = Σ|h|, R = Σ reflen, G_n, C_n), with small = 1e-9 and
//! tiny = 1e-15 as in the reference:
//!
//!   BLEU_n = (Π_{k ≤ n} (C_k + tiny) / (G_k + small))^(1/n) · BP,
//!   BP = exp(1 - 1/ρ) if ρ = (T + tiny) / (R + small) < 1, else 1.
//!
//! No smoothing: a corpus with no matching 4-gram scores BLEU-4 ≈ 0 (tiny/G₄, not exactly 0).

use super::Image;
use super::ngrams::{MAX_N, Ngram, ngram_counts};
use std::collections::HashMap;

const SMALL: f64 = 1e-9;
const TINY: f64 = 1e-15;

/// The per-corpus sums BLEU is computed from.
#[derive(Default)]
struct Totals {
    hyp_len: usize,
    ref_len: usize,
    guess: [usize; MAX_N],
    correct: [usize; MAX_N],
}

/// BLEU-1..4 of the corpus `images`.
pub(super) fn corpus_bleu(images: &[Image]) -> [f64; MAX_N] {
    let mut totals = Totals::default();
    for image in images {
        add_image(&mut totals, image);
    }
    let mut bleu = [0.0; MAX_N];
    let mut product = 1.0;
    for (k, score) in bleu.iter_mut().enumerate() {
        product *= (totals.correct[k] as f64 + TINY) / (totals.guess[k] as f64 + SMALL);
        *score = product.powf(1.0 / (k + 1) as f64);
    }
    let ratio = (totals.hyp_len as f64 + TINY) / (totals.ref_len as f64 + SMALL);
    if ratio < 1.0 {
        let brevity = (1.0 - 1.0 / ratio).exp();
        bleu.iter_mut().for_each(|score| *score *= brevity);
    }
    bleu
}

fn add_image(totals: &mut Totals, image: &Image) {
    let hyp_len = image.hypothesis.len();
    totals.hyp_len += hyp_len;
    totals.ref_len += closest_reference_length(&image.references, hyp_len);
    let max_ref_counts = max_reference_counts(&image.references);
    for k in 0..MAX_N {
        totals.guess[k] += hyp_len.saturating_sub(k);
    }
    for (ngram, count) in ngram_counts(&image.hypothesis) {
        let clip = max_ref_counts.get(ngram).copied().unwrap_or(0);
        totals.correct[ngram.len() - 1] += count.min(clip);
    }
}

/// The reference length nearest `hyp_len`; of two equally near, the shorter.
fn closest_reference_length(references: &[Vec<String>], hyp_len: usize) -> usize {
    references
        .iter()
        .map(|r| (r.len().abs_diff(hyp_len), r.len()))
        .min()
        .map_or(0, |(_, len)| len)
}

/// For each n-gram, its largest count in any one reference.
fn max_reference_counts(references: &[Vec<String>]) -> HashMap<Ngram<'_>, usize> {
    let mut max_counts = HashMap::new();
    for reference in references {
        for (ngram, count) in ngram_counts(reference) {
            let max = max_counts.entry(ngram).or_insert(0);
            *max = count.max(*max);
        }
    }
    max_counts
}
