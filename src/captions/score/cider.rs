//! CIDEr-D as the COCO caption evaluation computes it (pycocoevalcap's `cider_scorer.py`):
//!
//! ```text
//! df(g)   = number of images whose references contain the n-gram g (the evaluated set's)
//! v(s)_g  = count_s(g) · (ln N_images − ln max(1, df(g)))          one vector per n = 1..4
//! sim_n   = Σ_g min(v(h)_g, v(r)_g) · v(r)_g / (‖v(h)‖ ‖v(r)‖)  ·  exp(−δ² / (2 · 6²))
//! CIDEr-D(image) = 10 · mean_n mean_refs sim_n
//! ```
//!
//! with δ the difference of the hypothesis's and the reference's *bigram* counts (the
//! reference code measures length that way), a cosine of 0 where either norm is 0, and the
//! corpus score the mean over images.

use super::ngrams;
use std::collections::HashMap;

const SIGMA: f64 = 6.0;

/// A sentence's tf-idf vectors (one map per n), their norms, and its length in bigrams.
struct Vectors<'a> {
    vec: [HashMap<&'a [String], f64>; 4],
    norm: [f64; 4],
    length: usize,
}

/// Per-image CIDEr-D of tokenised hypotheses against each image's tokenised references.
pub fn cider_d(hyps: &[Vec<String>], refs: &[Vec<Vec<String>>]) -> Vec<f64> {
    let mut df: HashMap<&[String], f64> = HashMap::new();
    for image in refs {
        let mut seen: Vec<&[String]> = image.iter().flat_map(|r| ngrams(r).into_keys()).collect();
        seen.sort_unstable();
        seen.dedup();
        for g in seen {
            *df.entry(g).or_default() += 1.0;
        }
    }
    let ref_len = (refs.len() as f64).ln();
    hyps.iter()
        .zip(refs)
        .map(|(hyp, image_refs)| {
            let h = vectors(hyp, &df, ref_len);
            let mut score = [0.0; 4];
            for r in image_refs {
                let r = vectors(r, &df, ref_len);
                let delta = h.length as f64 - r.length as f64;
                let penalty = (-(delta * delta) / (2.0 * SIGMA * SIGMA)).exp();
                for (n, total) in score.iter_mut().enumerate() {
                    let mut val: f64 = h.vec[n]
                        .iter()
                        .map(|(g, &vh)| {
                            let vr = r.vec[n].get(g).copied().unwrap_or(0.0);
                            vh.min(vr) * vr
                        })
                        .sum();
                    if h.norm[n] != 0.0 && r.norm[n] != 0.0 {
                        val /= h.norm[n] * r.norm[n];
                    }
                    *total += val * penalty;
                }
            }
            let mean = score.iter().sum::<f64>() / 4.0;
            mean / image_refs.len() as f64 * 10.0
        })
        .collect()
}

/// The tf-idf vectors of a sentence, with `df` the document frequencies and `ref_len` the log
/// of the number of images.
fn vectors<'a>(s: &'a [String], df: &HashMap<&[String], f64>, ref_len: f64) -> Vectors<'a> {
    let mut v = Vectors {
        vec: Default::default(),
        norm: [0.0; 4],
        length: 0,
    };
    for (g, count) in ngrams(s) {
        let n = g.len() - 1;
        let idf = ref_len - df.get(g).copied().unwrap_or(0.0).max(1.0).ln();
        let value = count as f64 * idf;
        v.vec[n].insert(g, value);
        v.norm[n] += value * value;
        if n == 1 {
            v.length += count;
        }
    }
    v.norm = v.norm.map(f64::sqrt);
    v
}
