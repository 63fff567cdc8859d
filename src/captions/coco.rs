//! COCO caption annotations (`captions_train2014.json`): a JSON object whose `images` list holds
//! `{"id": <integer>, "file_name": ..., ...}` and whose `annotations` list holds
//! `{"id": ..., "image_id": <integer>, "caption": <string>}`; other keys are ignored.
//!
//! The reader checks the file as a whole: image ids are unique, every annotation names a listed
//! image and has a string caption, and every image has at least one caption (an image without
//! one is an error, like a feature row without captions, since neither can be trained or
//! scored). Errors name the file and the entry (`annotations[17]`, `images[3]`).
//!
//! The writer emits the same format (`images` as `{"id", "file_name"}` with a placeholder name
//! `<id>.jpg`, annotations numbered from 0 in image order), so pycocotools / pycocoevalcap and
//! the caption scorer read the built-in synthetic set like COCO itself.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The images of a caption file and their captions.
#[derive(Clone, Debug, PartialEq)]
pub struct Annotations {
    /// Image ids in file order.
    pub images: Vec<u64>,
    /// Image id → its raw captions, in file order.
    pub captions: BTreeMap<u64, Vec<String>>,
}

/// Reads a COCO caption file (see the module doc).
pub fn read_annotations(path: &Path) -> Result<Annotations> {
    let text = crate::data::read_text_capped(path, crate::data::JSON_CAP)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    parse(&json).with_context(|| format!("{} is not a COCO caption file", path.display()))
}

fn parse(json: &Value) -> Result<Annotations> {
    let list = |key: &str| {
        json.get(key)
            .with_context(|| format!("no '{key}' list"))?
            .as_array()
            .with_context(|| format!("'{key}' is not a list"))
    };
    let (images_json, annotations_json) = (list("images")?, list("annotations")?);
    let mut images = Vec::with_capacity(images_json.len());
    let mut captions: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (i, image) in images_json.iter().enumerate() {
        let id = image
            .get("id")
            .and_then(Value::as_u64)
            .with_context(|| format!("images[{i}] has no non-negative integer 'id'"))?;
        if captions.insert(id, Vec::new()).is_some() {
            bail!("images[{i}] has id {id}, which an earlier image already has");
        }
        images.push(id);
    }
    for (i, annotation) in annotations_json.iter().enumerate() {
        let id = annotation
            .get("image_id")
            .and_then(Value::as_u64)
            .with_context(|| format!("annotations[{i}] has no non-negative integer 'image_id'"))?;
        let caption = annotation
            .get("caption")
            .with_context(|| format!("annotations[{i}] has no 'caption'"))?
            .as_str()
            .with_context(|| format!("annotations[{i}] has a caption that is not a string"))?;
        let Some(list) = captions.get_mut(&id) else {
            bail!("annotations[{i}] has image_id {id}, which is not in images");
        };
        list.push(caption.to_string());
    }
    if let Some((i, id)) = images
        .iter()
        .enumerate()
        .find(|(_, id)| captions[id].is_empty())
    {
        bail!("images[{i}] (id {id}) has no caption");
    }
    Ok(Annotations { images, captions })
}

/// Writes `annotations` to `path` in COCO's caption format (see the module doc), atomically.
pub fn write_annotations(path: &Path, annotations: &Annotations) -> Result<()> {
    let listed: BTreeSet<u64> = annotations.images.iter().copied().collect();
    if listed.len() != annotations.images.len() {
        bail!(
            "cannot write {}: an image id is listed twice",
            path.display()
        );
    }
    if let Some(id) = annotations.captions.keys().find(|id| !listed.contains(id)) {
        bail!(
            "cannot write {}: image {id} has captions but is not listed",
            path.display()
        );
    }
    let images: Vec<Value> = annotations
        .images
        .iter()
        .map(|id| json!({"id": id, "file_name": format!("{id}.jpg")}))
        .collect();
    let mut entries = Vec::new();
    for id in &annotations.images {
        for caption in annotations.captions.get(id).into_iter().flatten() {
            entries.push(json!({"id": entries.len(), "image_id": id, "caption": caption}));
        }
    }
    let json = json!({
        "info": {"description": "written by ccdni"},
        "images": images,
        "annotations": entries,
    });
    crate::data::write_atomically(path, &serde_json::to_vec(&json)?)
}

#[cfg(test)]
mod tests;
