//! The COCO caption scores BLEU-1..4 and CIDEr-D, computed exactly as the reference package
//! pycocoevalcap 1.2 (`COCOEvalCap`) computes them, checked against it by the fixtures in
//! tests/fixtures/captions_score/ (made by scripts/captions_score_fixtures.py).
//!
//! The pipeline, for the evaluated images (the image ids of the hypotheses):
//! 1. [`ptb_tokenize_batch`] the references (one batch, image after image) and the hypotheses
//!    (another): PTB tokens, lowercased, punctuation removed ([`ptb`]: the Stanford lexer,
//!    re-implemented, which reads a batch as one text);
//! 2. corpus BLEU-n, n = 1..4, with the closest reference length ([`bleu`]);
//! 3. CIDEr-D per image, tf-idf document frequencies from the evaluated images' references
//!    ([`cider`]); the corpus CIDEr-D is the mean over images.
//!
//! References of images without a hypothesis take no part (they do not enter CIDEr-D's
//! document frequencies), as when COCOEvalCap's `params['image_id']` is set to the results'
//! image ids.

mod bleu;
mod cider;
mod files;
mod ngrams;
mod ptb;
mod results;
#[cfg(test)]
mod tests;

pub use files::{FileScores, ImageScore, evaluate_files};
pub use ptb::{line_break, ptb_tokenize, ptb_tokenize_batch};
pub use results::{read_results, write_results};

use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// The scores of a set of generated captions.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Corpus BLEU-1, BLEU-2, BLEU-3, BLEU-4 (COCO's Bleu_1 .. Bleu_4), in [0, 1].
    pub bleu: [f64; 4],
    /// Corpus CIDEr-D (COCO's "CIDEr"): the mean of `per_image_cider_d`.
    pub cider_d: f64,
    /// CIDEr-D of each evaluated image.
    pub per_image_cider_d: BTreeMap<u64, f64>,
    /// The number of evaluated images.
    pub images: usize,
}

impl Scores {
    /// The lines COCOEvalCap prints for these metrics ("Bleu_1: 0.706", ..., "CIDEr: 0.912"),
    /// one per line.
    pub fn table(&self) -> String {
        let mut lines = String::new();
        for (n, bleu) in self.bleu.iter().enumerate() {
            lines += &format!("Bleu_{}: {bleu:.3}\n", n + 1);
        }
        lines += &format!("CIDEr: {:.3}\n", self.cider_d);
        lines
    }
}

/// One evaluated image, tokenised.
struct Image {
    references: Vec<Vec<String>>,
    hypothesis: Vec<String>,
}

/// Scores `hyps` (image id → one generated caption, raw) against `refs` (image id → reference
/// captions, raw), images in ascending id order. Every hypothesis image must have at least one
/// reference.
pub fn evaluate(refs: &BTreeMap<u64, Vec<String>>, hyps: &BTreeMap<u64, String>) -> Result<Scores> {
    let mut images = Vec::with_capacity(hyps.len());
    for (&image_id, hypothesis) in hyps {
        let Some(references) = refs.get(&image_id) else {
            bail!("results file has image id {image_id} that is not in the references");
        };
        images.push((image_id, references.as_slice(), hypothesis.as_str()));
    }
    let scores = evaluate_in_order(&images)?;
    Ok(Scores {
        bleu: scores.bleu,
        cider_d: scores.cider_d,
        per_image_cider_d: hyps.keys().copied().zip(scores.per_image_cider_d).collect(),
        images: images.len(),
    })
}

/// The scores of images in evaluation order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderedScores {
    /// Corpus BLEU-1..4.
    pub bleu: [f64; 4],
    /// Corpus CIDEr-D: the mean of `per_image_cider_d`.
    pub cider_d: f64,
    /// CIDEr-D of each image, in the order given.
    pub per_image_cider_d: Vec<f64>,
}

/// BLEU-1..4 and CIDEr-D of `images` (id, raw references, raw hypothesis),
/// tokenised as pycocoevalcap does in this order: one batch of all references, image after
/// image, and one of the hypotheses. Every image must have at least one reference.
pub fn evaluate_in_order<Id: std::fmt::Display>(
    images: &[(Id, &[String], &str)],
) -> Result<OrderedScores> {
    if images.is_empty() {
        bail!("no generated captions to evaluate");
    }
    if let Some((id, _, _)) = images.iter().find(|(_, refs, _)| refs.is_empty()) {
        bail!("image id {id} has no reference captions");
    }
    let references: Vec<&str> = images
        .iter()
        .flat_map(|(_, refs, _)| refs.iter().map(String::as_str))
        .collect();
    let mut reference_words = ptb_tokenize_batch(&references).into_iter();
    let hypothesis_words = ptb_tokenize_batch(&images.iter().map(|i| i.2).collect::<Vec<_>>());
    let tokenised: Vec<Image> = images
        .iter()
        .zip(hypothesis_words)
        .map(|((_, refs, _), hypothesis)| Image {
            references: reference_words.by_ref().take(refs.len()).collect(),
            hypothesis,
        })
        .collect();
    let per_image = cider::cider_d(&tokenised);
    Ok(OrderedScores {
        bleu: bleu::corpus_bleu(&tokenised),
        cider_d: per_image.iter().sum::<f64>() / per_image.len() as f64,
        per_image_cider_d: per_image,
    })
}
