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
/// COCO formats, read as pycocoevalcap reads them: [`score::evaluate_files`]), as the table it
/// prints.
pub fn score_files(refs: &std::path::Path, results: &std::path::Path) -> anyhow::Result<String> {
    Ok(score::evaluate_files(refs, results)?.table())
}

/// `ccdni score --json`: the same evaluation in full precision with each image's CIDEr-D,
/// ready for `serde_json`.
pub fn score_files_json(
    refs: &std::path::Path,
    results: &std::path::Path,
) -> anyhow::Result<score::FileScores> {
    score::evaluate_files(refs, results)
}

/// What `ccdni score` prints: the table, or with `json` the full-precision JSON of
/// [`score_files_json`] (pretty, with a final newline).
pub fn score_output(
    refs: &std::path::Path,
    results: &std::path::Path,
    json: bool,
) -> anyhow::Result<String> {
    let scores = score::evaluate_files(refs, results)?;
    Ok(if json {
        serde_json::to_string_pretty(&scores)? + "\n"
    } else {
        scores.table()
    })
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
