//! The COCO caption evaluation's scores, computed as pycocoevalcap computes them: captions
//! tokenised as its PTB tokenizer does ([`ptb`]), then corpus BLEU-1..4 ([`bleu`]) and CIDEr-D
//! ([`cider`]) of the generated captions against the references of their images. As in
//! `COCOEvalCap`, the evaluated images are those of the results; each must have references.
//! Agreement with pycocoevalcap itself: `tests/captions_score.rs` (fixtures it computed).

pub mod bleu;
pub mod cider;
pub mod ptb;
mod results;

pub use ptb::ptb_tokenize;
pub use results::{read_results, write_results};

use anyhow::{Result, bail};
use std::collections::{BTreeMap, HashMap};

/// The scores of a set of generated captions.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Corpus BLEU-1..4.
    pub bleu: [f64; 4],
    /// Mean CIDEr-D over the images (the COCO evaluation's "CIDEr").
    pub cider_d: f64,
    /// CIDEr-D of each image.
    pub per_image_cider_d: BTreeMap<u64, f64>,
    /// Images evaluated.
    pub images: usize,
}

impl Scores {
    /// The lines the COCO evaluation prints for these metrics (`Bleu_1: 0.712`, ..., `CIDEr:
    /// 0.845`, three decimals), after the number of images.
    pub fn table(&self) -> String {
        let mut s = format!("{} images\n", self.images);
        for (n, b) in self.bleu.iter().enumerate() {
            s.push_str(&format!("Bleu_{}: {b:.3}\n", n + 1));
        }
        s.push_str(&format!("CIDEr: {:.3}\n", self.cider_d));
        s
    }
}

/// Scores one generated caption per image (`hyps`, raw text) against the images' reference
/// captions (`refs`, raw text). Every image of `hyps` must have references; images with
/// references only are not evaluated (the COCO evaluation scores the images of the results).
pub fn evaluate(refs: &BTreeMap<u64, Vec<String>>, hyps: &BTreeMap<u64, String>) -> Result<Scores> {
    if hyps.is_empty() {
        bail!("there are no captions to score");
    }
    let mut tokenised_refs = Vec::with_capacity(hyps.len());
    let mut tokenised_hyps = Vec::with_capacity(hyps.len());
    for (id, hyp) in hyps {
        let Some(r) = refs.get(id).filter(|r| !r.is_empty()) else {
            bail!("image id {id} has a generated caption but no reference captions");
        };
        tokenised_refs.push(r.iter().map(|c| ptb_tokenize(c)).collect::<Vec<_>>());
        tokenised_hyps.push(ptb_tokenize(hyp));
    }
    let per_image = cider::cider_d(&tokenised_hyps, &tokenised_refs);
    Ok(Scores {
        bleu: bleu::bleu(&tokenised_hyps, &tokenised_refs),
        cider_d: per_image.iter().sum::<f64>() / per_image.len() as f64,
        per_image_cider_d: hyps.keys().copied().zip(per_image).collect(),
        images: hyps.len(),
    })
}

/// The n-grams (n = 1..4) of a sentence with their counts.
fn ngrams(words: &[String]) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for n in 1..=4 {
        for g in words.windows(n) {
            *counts.entry(g).or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests;
