//! COCO caption results files: a JSON array `[{"image_id": <id>, "caption": "<str>"}, ...]`,
//! the format `COCO.loadRes` reads. An id is an integer, a float with an integer value (1.0 is
//! image 1, as Python compares them) or a string ([`ImageId`]). Other keys in an entry (e.g.
//! "id", "score") are ignored.
//!
//! A repeated image id is an error: pycocoevalcap scores exactly one caption per image (its
//! `Bleu` asserts `len(hypo) == 1`), so a file with two captions for one image cannot be scored
//! as the reference would, and silently keeping either would hide the mistake.

use crate::captions::coco::ImageId;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::Path;

/// One entry of a results file, in the key order COCO tools write.
#[derive(Serialize)]
struct ResultEntry<'a> {
    image_id: u64,
    caption: &'a str,
}

/// Reads a COCO results file: image id → its one generated caption.
pub fn read_results(path: &Path) -> Result<BTreeMap<ImageId, String>> {
    let bytes = crate::data::read_capped(path, crate::data::JSON_CAP)
        .with_context(|| format!("cannot read results file {}", path.display()))?;
    let json: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("results file {} is not valid JSON", path.display()))?;
    parse_results(&json).with_context(|| format!("in results file {}", path.display()))
}

/// The captions of a parsed results file; errors name the entry index.
fn parse_results(json: &Value) -> Result<BTreeMap<ImageId, String>> {
    let Some(entries) = json.as_array() else {
        bail!("expected a JSON array of {{\"image_id\": ..., \"caption\": ...}} entries");
    };
    let mut captions = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let (image_id, caption) = parse_entry(entry).with_context(|| format!("entry {index}"))?;
        match captions.entry(image_id.clone()) {
            Entry::Occupied(_) => bail!(
                "entry {index}: image id {image_id} already has a caption (one caption per image)"
            ),
            Entry::Vacant(slot) => slot.insert(caption),
        };
    }
    Ok(captions)
}

fn parse_entry(entry: &Value) -> Result<(ImageId, String)> {
    let Some(object) = entry.as_object() else {
        bail!("expected an object with \"image_id\" and \"caption\", found {entry}");
    };
    let image_id = object.get("image_id").context("missing key \"image_id\"")?;
    let Some(image_id) = ImageId::from_json(image_id) else {
        bail!("\"image_id\" must be an integer or a string, found {image_id}");
    };
    let caption = object.get("caption").context("missing key \"caption\"")?;
    let Some(caption) = caption.as_str() else {
        bail!("\"caption\" must be a string, found {caption}");
    };
    Ok((image_id, caption.to_string()))
}

/// Writes `captions` as a COCO results file (atomically), in image id order.
pub fn write_results(path: &Path, captions: &BTreeMap<u64, String>) -> Result<()> {
    let entries: Vec<ResultEntry> = captions
        .iter()
        .map(|(&image_id, caption)| ResultEntry { image_id, caption })
        .collect();
    let mut bytes = serde_json::to_vec(&entries).context("cannot encode captions as JSON")?;
    bytes.push(b'\n');
    crate::data::write_atomically(path, &bytes)
        .with_context(|| format!("cannot write results file {}", path.display()))
}
