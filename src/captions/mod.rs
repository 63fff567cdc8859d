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
    check_words(&annotations, refs, score::ptb_tokenize)?;
    let hyps = read_results_checked(&annotations, refs, results)?;
    let table = score::evaluate(&annotations.captions, &hyps)?.table();
    Ok(format!("{} images\n{table}", hyps.len()))
}

/// The results of `results`, every image id checked against the annotations of `refs`.
fn read_results_checked(
    annotations: &coco::Annotations,
    refs: &std::path::Path,
    results: &std::path::Path,
) -> anyhow::Result<std::collections::BTreeMap<u64, String>> {
    let hyps = score::read_results(results)?;
    if hyps.is_empty() {
        anyhow::bail!(
            "{}: the results list is empty: no captions to score",
            results.display()
        );
    }
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

/// Refuses a caption of `annotations` (read from `path`) that `tokenize` turns into no word,
/// naming the image and the caption.
pub fn check_words(
    annotations: &coco::Annotations,
    path: &std::path::Path,
    tokenize: impl Fn(&str) -> Vec<String>,
) -> anyhow::Result<()> {
    for (id, captions) in &annotations.captions {
        if let Some((k, c)) = captions
            .iter()
            .enumerate()
            .find(|(_, c)| tokenize(c).is_empty())
        {
            anyhow::bail!(
                "{}: caption {k} of image {id} ({c:?}) has no words once tokenised",
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_without_words_is_refused_by_name() {
        let mut annotations = coco::Annotations {
            images: vec![4, 9],
            captions: [
                (4, vec!["a cat.".to_string()]),
                (9, vec!["a dog".into(), " ... ".into()]),
            ]
            .into_iter()
            .collect(),
        };
        let path = std::path::Path::new("refs.json");
        let e = check_words(&annotations, path, score::ptb_tokenize)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "refs.json: caption 1 of image 9 (\" ... \") has no words once tokenised"
        );
        annotations.captions.insert(9, vec!["a dog".into()]);
        assert!(check_words(&annotations, path, tokenize::tokenize).is_ok());
    }
}
