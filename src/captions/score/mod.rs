//! The COCO caption scores BLEU-1..4 and CIDEr-D, computed exactly as the reference package
//! pycocoevalcap 1.2 (`COCOEvalCap`) computes them, checked against it by the fixtures in
//! tests/fixtures/captions_score/ (made by scripts/captions_score_fixtures.py).
//!
//! The pipeline, for the evaluated images (the image ids of the hypotheses):
//! 1. [`ptb_tokenize`] every reference and hypothesis: PTB tokens, lowercased, punctuation
//!    removed ([`ptb`] says what of the Stanford tokenizer is reproduced);
//! 2. corpus BLEU-n, n = 1..4, with the closest reference length ([`bleu`]);
//! 3. CIDEr-D per image, tf-idf document frequencies from the evaluated images' references
//!    ([`cider`]); the corpus CIDEr-D is the mean over images.
//!
//! References of images without a hypothesis take no part (they do not enter CIDEr-D's
//! document frequencies), as when COCOEvalCap's `params['image_id']` is set to the results'
//! image ids.

mod bleu;
mod cider;
mod ngrams;
mod ptb;
mod results;
#[cfg(test)]
mod tests;

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
/// captions, raw). Every hypothesis image must have at least one reference.
pub fn evaluate(refs: &BTreeMap<u64, Vec<String>>, hyps: &BTreeMap<u64, String>) -> Result<Scores> {
    if hyps.is_empty() {
        bail!("no generated captions to evaluate");
    }
    let mut images = Vec::with_capacity(hyps.len());
    for (&image_id, hypothesis) in hyps {
        let Some(references) = refs.get(&image_id) else {
            bail!("results file has image id {image_id} that is not in the references");
        };
        if references.is_empty() {
            bail!("image id {image_id} has no reference captions");
        }
        images.push(Image {
            references: references.iter().map(|r| ptb_tokenize(r)).collect(),
            hypothesis: ptb_tokenize(hypothesis),
        });
    }
    let per_image = cider::cider_d(&images);
    let cider_d = per_image.iter().sum::<f64>() / per_image.len() as f64;
    Ok(Scores {
        bleu: bleu::corpus_bleu(&images),
        cider_d,
        per_image_cider_d: hyps.keys().copied().zip(per_image).collect(),
        images: images.len(),
    })
}
