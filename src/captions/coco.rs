//! COCO caption annotations (`captions_train2014.json`): a JSON object whose `images` list holds
//! `{"id": <integer>, "file_name": ..., ...}` and whose `annotations` list holds
//! `{"id": ..., "image_id": <integer>, "caption": <string>}`; other keys are ignored.
//!
//! The reader checks the file as a whole: image ids are unique, every annotation names a listed
//! image and has a string caption, and every image has at least one caption (an image without
//! one is an error, like a feature row without captions, since neither can be trained or
//! scored). Errors name the file and the entry (`annotations[17]`, `images[3]`).
//!
//! [`read_references`] reads the same format for scoring, as leniently as pycocoevalcap: an id
//! may be any integer, a float with an integer value (1.0 is image 1, as in Python) or a
//! string (matched only by the same string), and an image may have no caption (it can then
//! not be scored, but the file is read).
//!
//! The writer emits the same format (`images` as `{"id", "file_name"}` with a placeholder name
//! `<id>.jpg`, annotations numbered from 0 in image order), so pycocotools / pycocoevalcap and
//! the caption scorer read the built-in synthetic set like COCO itself.

use anyhow::{Context, Result, bail};
use serde::Serialize;
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
    let json = read_json(path)?;
    parse(&json).with_context(|| format!("{} is not a COCO caption file", path.display()))
}

/// An image id of a file being scored: an integer (JSON integers, and floats with an integer
/// value) or a string. A string never equals a number, as in Python.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum ImageId {
    Number(i64),
    Text(String),
}

impl ImageId {
    /// The id a JSON value stands for, if it is one.
    pub fn from_json(value: &Value) -> Option<ImageId> {
        match value {
            Value::String(s) => Some(ImageId::Text(s.clone())),
            Value::Number(n) => n.as_i64().map(ImageId::Number).or_else(|| {
                let f = n.as_f64()?;
                let integral = f.fract() == 0.0 && f.abs() < 9.0e15;
                integral.then_some(ImageId::Number(f as i64))
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ImageId::Number(n) => write!(f, "{n}"),
            ImageId::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// The images of a caption file being scored, in file order, each with its captions (in file
/// order, possibly none).
#[derive(Clone, Debug, PartialEq)]
pub struct References {
    pub images: Vec<(ImageId, Vec<String>)>,
}

/// Reads a COCO caption file for scoring (see the module doc).
pub fn read_references(path: &Path) -> Result<References> {
    let json = read_json(path)?;
    let (images, mut captions) = parse_with(&json, ImageId::from_json, "integer or string")
        .with_context(|| format!("{} is not a COCO caption file", path.display()))?;
    let images = images
        .into_iter()
        .map(|id| {
            let list = captions.remove(&id).unwrap_or_default();
            (id, list)
        })
        .collect();
    Ok(References { images })
}

fn read_json(path: &Path) -> Result<Value> {
    let text = crate::data::read_text_capped(path, crate::data::JSON_CAP)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn parse(json: &Value) -> Result<Annotations> {
    let (images, captions) = parse_with(json, Value::as_u64, "non-negative integer")?;
    if let Some((i, id)) = images
        .iter()
        .enumerate()
        .find(|(_, id)| captions[id].is_empty())
    {
        bail!("images[{i}] (id {id}) has no caption");
    }
    Ok(Annotations { images, captions })
}

/// Image ids in file order, and each image's captions.
type Parsed<K> = (Vec<K>, BTreeMap<K, Vec<String>>);

/// The image ids in file order and each image's captions; `id` reads an id, which is
/// described as `what` when it fails.
fn parse_with<K: Ord + Clone + std::fmt::Display>(
    json: &Value,
    id: impl Fn(&Value) -> Option<K>,
    what: &str,
) -> Result<Parsed<K>> {
    let list = |key: &str| {
        json.get(key)
            .with_context(|| format!("no '{key}' list"))?
            .as_array()
            .with_context(|| format!("'{key}' is not a list"))
    };
    let (images_json, annotations_json) = (list("images")?, list("annotations")?);
    let mut images = Vec::with_capacity(images_json.len());
    let mut captions: BTreeMap<K, Vec<String>> = BTreeMap::new();
    for (i, image) in images_json.iter().enumerate() {
        let id = image
            .get("id")
            .and_then(&id)
            .with_context(|| format!("images[{i}] has no {what} 'id'"))?;
        if captions.insert(id.clone(), Vec::new()).is_some() {
            bail!("images[{i}] has id {id}, which an earlier image already has");
        }
        images.push(id);
    }
    for (i, annotation) in annotations_json.iter().enumerate() {
        let id = annotation
            .get("image_id")
            .and_then(&id)
            .with_context(|| format!("annotations[{i}] has no {what} 'image_id'"))?;
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
    Ok((images, captions))
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
