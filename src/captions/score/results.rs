//! Generated captions in the COCO results format: a JSON list of
//! `{"image_id": <integer>, "caption": "<text>"}`, one entry per image (other keys ignored).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads a results file: image id -> caption. Errors name the file and the entry: malformed
/// JSON (with its line and column), an entry without an integer `image_id` or a string
/// `caption`, and an image id given twice (the COCO evaluation scores one caption per image).
pub fn read_results(path: &Path) -> Result<BTreeMap<u64, String>> {
    let p = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {p}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{p} is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    let Value::Array(entries) = value else {
        bail!("{p}: a results file is a JSON list of {{\"image_id\", \"caption\"}} entries");
    };
    let mut out = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let id = entry
            .get("image_id")
            .and_then(Value::as_u64)
            .with_context(|| format!("{p}: entry {i} has no integer `image_id` (≥ 0)"))?;
        let caption = entry
            .get("caption")
            .and_then(Value::as_str)
            .with_context(|| format!("{p}: entry {i} (image_id {id}) has no string `caption`"))?;
        if out.insert(id, caption.to_string()).is_some() {
            bail!(
                "{p}: entry {i} gives image_id {id} a second caption; the COCO evaluation scores one per image"
            );
        }
    }
    Ok(out)
}

/// Writes captions in the COCO results format, atomically, in image-id order.
pub fn write_results(path: &Path, captions: &BTreeMap<u64, String>) -> Result<()> {
    let entries: Vec<Value> = captions
        .iter()
        .map(|(id, c)| serde_json::json!({"image_id": id, "caption": c}))
        .collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::data::write_atomically(path, serde_json::to_string_pretty(&entries)?.as_bytes())
}
