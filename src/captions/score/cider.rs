//! CIDEr-D exactly as pycocoevalcap's `Cider().compute_score` (cider/cider_scorer.py: the
//! scorer COCOEvalCap reports as "CIDEr" is CIDEr-D, with clipping and a length penalty).
//!
//! Over the N evaluated images, the document frequency df(g) of an n-gram g is the number of
//! images whose references (any of them) contain g. A caption c becomes, for each n = 1..4, the
//! tf-idf vector
//!
//!   v_n(c)[g] = count_c(g) · (ln N − ln max(1, df(g)))   for the n-grams g of c,
//!
//! (an n-gram in no reference gets weight ln N). For hypothesis h and reference r:
//!
//!   sim_n(h, r) = Σ_{g ∈ h} min(v_n(h)[g], v_n(r)[g]) · v_n(r)[g] / (‖v_n(h)‖ ‖v_n(r)‖)
//!                 · exp(−δ² / (2σ²)),   σ = 6,
//!
//! where the division is skipped when either norm is 0 (the sum is then 0), and δ is the
//! difference of the captions' lengths *as the reference code counts them*: the number of
//! bigrams (its `length` adds up the term frequencies of n-gram index 1), i.e. max(0, words − 1).
//! The image's score is 10 · mean_n(Σ_j sim_n(h, r_j)) / m over its m references; the corpus
//! score is the mean over images.
//!
//! With a single image ln N = 0, so every weight is 0 and CIDEr-D is 0 whatever the captions.

use super::Image;
use super::ngrams::{MAX_N, Ngram, ngram_counts};
use std::collections::{HashMap, HashSet};

/// The standard deviation of the Gaussian length penalty.
const SIGMA: f64 = 6.0;

/// A caption's tf-idf vectors for n = 1..4 (one map: an n-gram's length gives its n).
struct TfIdf<'a> {
    /// (n-gram, weight) in the caption's first-occurrence order.
    weights: Vec<(Ngram<'a>, f64)>,
    lookup: HashMap<Ngram<'a>, f64>,
    norms: [f64; MAX_N],
    /// The reference code's caption "length": its number of bigrams.
    bigrams: usize,
}

/// Per-image CIDEr-D of `images` (in order); the corpus score is their mean.
pub(super) fn cider_d(images: &[Image]) -> Vec<f64> {
    let df = document_frequencies(images);
    let log_images = (images.len() as f64).ln();
    images
        .iter()
        .map(|image| image_score(image, &df, log_images))
        .collect()
}

/// For each n-gram, the number of images with a reference containing it.
fn document_frequencies<'a>(images: &'a [Image]) -> HashMap<Ngram<'a>, usize> {
    let mut df = HashMap::new();
    for image in images {
        let in_image: HashSet<Ngram<'a>> = image
            .references
            .iter()
            .flat_map(|r| ngram_counts(r).into_iter().map(|(g, _)| g))
            .collect();
        for ngram in in_image {
            *df.entry(ngram).or_insert(0) += 1;
        }
    }
    df
}

fn image_score(image: &Image, df: &HashMap<Ngram<'_>, usize>, log_images: f64) -> f64 {
    let hyp = tf_idf(&image.hypothesis, df, log_images);
    let mut sums = [0.0; MAX_N];
    for reference in &image.references {
        let sims = similarity(&hyp, &tf_idf(reference, df, log_images));
        sums.iter_mut().zip(sims).for_each(|(sum, sim)| *sum += sim);
    }
    let mean_over_n = sums.iter().sum::<f64>() / MAX_N as f64;
    mean_over_n / image.references.len() as f64 * 10.0
}

fn tf_idf<'a>(words: &'a [String], df: &HashMap<Ngram<'_>, usize>, log_images: f64) -> TfIdf<'a> {
    let mut weights = Vec::new();
    let mut norms = [0.0; MAX_N];
    let mut bigrams = 0;
    for (ngram, count) in ngram_counts(words) {
        let doc_freq = df.get(ngram).copied().unwrap_or(0).max(1) as f64;
        let weight = count as f64 * (log_images - doc_freq.ln());
        norms[ngram.len() - 1] += weight * weight;
        if ngram.len() == 2 {
            bigrams += count;
        }
        weights.push((ngram, weight));
    }
    norms.iter_mut().for_each(|norm| *norm = norm.sqrt());
    let lookup = weights.iter().copied().collect();
    TfIdf {
        weights,
        lookup,
        norms,
        bigrams,
    }
}

/// sim_n(h, r) for n = 1..4, length penalty included.
fn similarity(hyp: &TfIdf, reference: &TfIdf) -> [f64; MAX_N] {
    let delta = hyp.bigrams as f64 - reference.bigrams as f64;
    let penalty = std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
    let mut sims = [0.0; MAX_N];
    for &(ngram, weight) in &hyp.weights {
        let ref_weight = reference.lookup.get(ngram).copied().unwrap_or(0.0);
        sims[ngram.len() - 1] += weight.min(ref_weight) * ref_weight;
    }
    for (n, sim) in sims.iter_mut().enumerate() {
        if hyp.norms[n] != 0.0 && reference.norms[n] != 0.0 {
            *sim /= hyp.norms[n] * reference.norms[n];
        }
        *sim *= penalty;
    }
    sims
}
