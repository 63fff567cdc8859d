//! BLEU-1..4 as the COCO caption evaluation computes it (pycocoevalcap's `bleu_scorer.py`,
//! option `closest`): corpus-level over the images, from each image's clipped n-gram matches
//! and its closest reference length.
//!
//! ```text
//! for each image:  testlen = words of the hypothesis
//!                  reflen  = the reference length closest to testlen (the shorter on a tie)
//!                  guess_n = max(0, testlen - n + 1),  correct_n = Σ_g min(count_hyp(g), max_ref count(g))
//! BLEU-N = (Π_{n ≤ N} (Σ correct_n + 1e-15) / (Σ guess_n + 1e-9))^(1/N)
//!          × exp(1 - 1/ratio) if ratio < 1,   ratio = (Σ testlen + 1e-15) / (Σ reflen + 1e-9)
//! ```
//!
//! No smoothing: a corpus without a matching 4-gram scores (almost) zero BLEU-4.

use super::ngrams;
use std::collections::HashMap;

/// The corpus BLEU-1..4 of tokenised hypotheses, one per image, against each image's
/// tokenised references (same order).
pub fn bleu(hyps: &[Vec<String>], refs: &[Vec<Vec<String>>]) -> [f64; 4] {
    let (small, tiny) = (1e-9, 1e-15);
    let (mut testlen, mut reflen) = (0usize, 0usize);
    let (mut guess, mut correct) = ([0usize; 4], [0usize; 4]);
    for (hyp, refs) in hyps.iter().zip(refs) {
        let mut max_ref: HashMap<&[String], usize> = HashMap::new();
        for r in refs {
            for (g, c) in ngrams(r) {
                let m = max_ref.entry(g).or_default();
                *m = (*m).max(c);
            }
        }
        let n = hyp.len();
        testlen += n;
        reflen += refs
            .iter()
            .map(|r| r.len())
            .min_by_key(|&l| (l.abs_diff(n), l))
            .unwrap_or(0);
        for k in 1..=4 {
            guess[k - 1] += (n + 1).saturating_sub(k);
        }
        for (g, c) in ngrams(hyp) {
            correct[g.len() - 1] += c.min(max_ref.get(g).copied().unwrap_or(0));
        }
    }
    let mut scores = [0.0; 4];
    let mut product = 1.0;
    for k in 0..4 {
        product *= (correct[k] as f64 + tiny) / (guess[k] as f64 + small);
        scores[k] = product.powf(1.0 / (k + 1) as f64);
    }
    let ratio = (testlen as f64 + tiny) / (reflen as f64 + small);
    if ratio < 1.0 {
        for s in &mut scores {
            *s *= (1.0 - 1.0 / ratio).exp();
        }
    }
    scores
}
