//! `ccdni score`: a COCO results file scored against a COCO caption file, as pycocoevalcap's
//! `COCOEvalCap` scores it with `params['image_id'] = cocoRes.getImgIds()` (the usual call).
//!
//! What pycocoevalcap accepts is accepted, and scored alike: ids that are integers, floats
//! with an integer value (1.0 is image 1) or strings; images of the reference file without
//! captions (left out, as they have no result); reference captions that tokenise to no word
//! (they still count as references of length 0). The images are evaluated in the reference
//! file's image order, which is the order pycocoevalcap tokenises them in (it matters across
//! captions: see [`super::ptb`]).
//!
//! Refused, with the reason, where pycocoevalcap fails or silently scores something else: an
//! empty results list, a result for an image that is not in the references (or whose id is a
//! string where the references have a number, or the other way round), a result for an image
//! without reference captions (pycocoevalcap stops at an assertion), two results for one
//! image (see [`super::results`]), and a caption with a line break other than `\n` (the Java
//! tokenizer would start a new line there and pycocoevalcap would pair every later caption
//! with the wrong image).

use super::{OrderedScores, evaluate_in_order, line_break, read_results};
use crate::captions::coco::{ImageId, read_references};
use anyhow::{Result, bail};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// The scores of a results file, in full precision, under pycocoevalcap's metric names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileScores {
    /// The number of evaluated images (those of the results file).
    pub images: usize,
    #[serde(rename = "Bleu_1")]
    pub bleu_1: f64,
    #[serde(rename = "Bleu_2")]
    pub bleu_2: f64,
    #[serde(rename = "Bleu_3")]
    pub bleu_3: f64,
    #[serde(rename = "Bleu_4")]
    pub bleu_4: f64,
    /// CIDEr-D (COCO's "CIDEr").
    #[serde(rename = "CIDEr")]
    pub cider: f64,
    /// CIDEr-D of each image, in evaluation order (the reference file's image order).
    pub per_image: Vec<ImageScore>,
}

/// One image's CIDEr-D.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageScore {
    pub image_id: ImageId,
    #[serde(rename = "CIDEr")]
    pub cider: f64,
}

impl FileScores {
    /// "N images" and the lines COCOEvalCap prints ("Bleu_1: 0.706", ..., "CIDEr: 0.912").
    pub fn table(&self) -> String {
        let bleu = [self.bleu_1, self.bleu_2, self.bleu_3, self.bleu_4];
        let mut lines = format!("{} images\n", self.images);
        for (n, b) in bleu.iter().enumerate() {
            lines += &format!("Bleu_{}: {b:.3}\n", n + 1);
        }
        lines + &format!("CIDEr: {:.3}\n", self.cider)
    }
}

/// Scores the results file `results` against the caption file `refs` (see the module doc).
pub fn evaluate_files(refs: &Path, results: &Path) -> Result<FileScores> {
    let references = read_references(refs)?;
    let hyps = read_results(results)?;
    if hyps.is_empty() {
        bail!(
            "{}: the results list is empty: no captions to score",
            results.display()
        );
    }
    let index: HashMap<&ImageId, usize> = references
        .images
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id, i))
        .collect();
    let mut order = Vec::with_capacity(hyps.len());
    for (id, hypothesis) in &hyps {
        let Some(&i) = index.get(id) else {
            bail!(
                "{}: image_id {id} is not an image of the references {}{}",
                results.display(),
                refs.display(),
                other_type_hint(id, &index)
            );
        };
        if references.images[i].1.is_empty() {
            bail!(
                "{}: image_id {id} has no reference caption in {}: pycocoevalcap cannot score \
                 it either (it stops at an assertion); leave it out of the results",
                results.display(),
                refs.display()
            );
        }
        check_line_breaks(results, id, "its caption", hypothesis)?;
        for (k, caption) in references.images[i].1.iter().enumerate() {
            check_line_breaks(refs, id, &format!("caption {k}"), caption)?;
        }
        order.push((i, hypothesis.as_str()));
    }
    order.sort_unstable_by_key(|&(i, _)| i);
    let images: Vec<(&ImageId, &[String], &str)> = order
        .iter()
        .map(|&(i, hyp)| {
            (
                &references.images[i].0,
                references.images[i].1.as_slice(),
                hyp,
            )
        })
        .collect();
    let OrderedScores {
        bleu,
        cider_d,
        per_image_cider_d,
    } = evaluate_in_order(&images)?;
    Ok(FileScores {
        images: images.len(),
        bleu_1: bleu[0],
        bleu_2: bleu[1],
        bleu_3: bleu[2],
        bleu_4: bleu[3],
        cider: cider_d,
        per_image: images
            .iter()
            .zip(per_image_cider_d)
            .map(|((id, _, _), cider)| ImageScore {
                image_id: (*id).clone(),
                cider,
            })
            .collect(),
    })
}

/// Where an unknown id is a string that the references have as a number, or the other way
/// round: a sentence that says so.
fn other_type_hint(id: &ImageId, index: &HashMap<&ImageId, usize>) -> String {
    let other = match id {
        ImageId::Text(s) => s.trim().parse().ok().map(ImageId::Number),
        ImageId::Number(n) => Some(ImageId::Text(n.to_string())),
    };
    match other.filter(|o| index.contains_key(o)) {
        Some(o) => format!(
            " (they have the image {o}: a string id never equals a number id, in pycocoevalcap \
             either)"
        ),
        None => String::new(),
    }
}

/// Refuses `caption` (of image `id` in `path`) if it holds a line break other than `\n`.
fn check_line_breaks(path: &Path, id: &ImageId, which: &str, caption: &str) -> Result<()> {
    if let Some(c) = line_break(caption) {
        bail!(
            "{}: {which} of image {id} ({caption:?}) holds the line break {c:?}: pycocoevalcap's \
             Java tokenizer would start a new line there and pair every later caption with the \
             wrong image; replace it with a space",
            path.display()
        );
    }
    Ok(())
}
