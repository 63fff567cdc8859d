//! A caption set: images, each with its feature vector and its reference captions. It is what
//! the caption task trains on, whether joined from COCO files ([`join`]) or generated
//! ([`super::synthetic::generate`]).

use super::coco::Annotations;
use super::features::Features;
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// Images with their features and captions.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptionSet {
    /// Length of every image's feature vector.
    pub feature_size: usize,
    /// The images, in the annotations' order.
    pub images: Vec<CaptionImage>,
}

/// One image: its id, its feature vector and its reference captions (raw text).
#[derive(Clone, Debug, PartialEq)]
pub struct CaptionImage {
    pub id: u64,
    pub feature: Vec<f32>,
    pub captions: Vec<String>,
}

impl CaptionSet {
    /// The set's captions in COCO's form, for [`super::coco::write_annotations`].
    pub fn annotations(&self) -> Annotations {
        Annotations {
            images: self.images.iter().map(|im| im.id).collect(),
            captions: self
                .images
                .iter()
                .map(|im| (im.id, im.captions.clone()))
                .collect(),
        }
    }
}

/// Joins annotations and features by image id: every annotated image needs a feature row and
/// every feature row needs captions. Errors name the id and both files.
pub fn join(
    ann: &Annotations,
    ann_path: &Path,
    feats: &Features,
    feats_path: &Path,
) -> Result<CaptionSet> {
    let rows: HashMap<u64, usize> = feats
        .ids
        .iter()
        .enumerate()
        .map(|(r, &id)| (id, r))
        .collect();
    if let Some((r, id)) = feats
        .ids
        .iter()
        .enumerate()
        .find(|(_, id)| !ann.captions.contains_key(id))
    {
        bail!(
            "{} row {r} is image {id}, which has no captions in {}",
            feats_path.display(),
            ann_path.display()
        );
    }
    let mut images = Vec::with_capacity(ann.images.len());
    for &id in &ann.images {
        let Some(&r) = rows.get(&id) else {
            bail!(
                "image {id} of {} has no feature row in {}",
                ann_path.display(),
                feats_path.display()
            );
        };
        images.push(CaptionImage {
            id,
            feature: feats.row(r).to_vec(),
            captions: ann.captions.get(&id).cloned().unwrap_or_default(),
        });
    }
    Ok(CaptionSet {
        feature_size: feats.size,
        images,
    })
}
