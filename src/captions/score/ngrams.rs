//! The 1- to 4-gram counts of a tokenised caption, kept in first-occurrence order (n = 1 first,
//! then n = 2, ...), the order in which pycocoevalcap's `precook` fills its dict, so that sums
//! over a caption's n-grams add in the reference's order.

use std::collections::HashMap;

/// Longest n-gram counted: BLEU-4 and CIDEr-D both use n = 1..=4.
pub(super) const MAX_N: usize = 4;

/// An n-gram: a run of 1..=[`MAX_N`] consecutive tokens of one caption.
pub(super) type Ngram<'a> = &'a [String];

/// How often each n-gram of `words` occurs, as (n-gram, count) in first-occurrence order.
pub(super) fn ngram_counts(words: &[String]) -> Vec<(Ngram<'_>, usize)> {
    let mut counts: Vec<(Ngram, usize)> = Vec::new();
    let mut index: HashMap<Ngram, usize> = HashMap::new();
    for n in 1..=MAX_N {
        for ngram in words.windows(n) {
            match index.get(ngram) {
                Some(&at) => counts[at].1 += 1,
                None => {
                    index.insert(ngram, counts.len());
                    counts.push((ngram, 1));
                }
            }
        }
    }
    counts
}
