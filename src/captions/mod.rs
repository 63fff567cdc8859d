//! The caption-generation task's language side: COCO-format data, image features, the
//! vocabulary, a built-in synthetic caption set, and the COCO caption scores (BLEU, CIDEr-D).
//! The task that trains on it is [`crate::tasks::captions`].

pub mod coco;
pub mod features;
pub mod score;
pub mod set;
pub mod synthetic;
pub mod tokenize;
pub mod vocab;

pub use set::{CaptionImage, CaptionSet, join};

/// `ccdni score`: the COCO evaluation of a results file against reference annotations (both
/// COCO formats), as the table it prints.
pub fn score_files(refs: &std::path::Path, results: &std::path::Path) -> anyhow::Result<String> {
    let annotations = coco::read_annotations(refs)?;
    let hyps = read_results_checked(&annotations, refs, results)?;
    Ok(score::evaluate(&annotations.captions, &hyps)?.table())
}

/// The results of `results`, every image id checked against the annotations of `refs`.
fn read_results_checked(
    annotations: &coco::Annotations,
    refs: &std::path::Path,
    results: &std::path::Path,
) -> anyhow::Result<std::collections::BTreeMap<u64, String>> {
    let hyps = score::read_results(results)?;
    if let Some(id) = hyps
        .keys()
        .find(|id| !annotations.captions.contains_key(id))
    {
        anyhow::bail!(
            "{}: image_id {id} is not an image of the references {}",
            results.display(),
            refs.display()
        );
    }
    Ok(hyps)
}
