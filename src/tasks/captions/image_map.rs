//! A pretrained image map (`captions.image_map_from`): the linear map from image features to
//! the embedding size taken from a trained caption model and kept frozen, as the authors' runs
//! use a pretrained, frozen encoder projection (docs/model.md §4.3).

use anyhow::{Context, Result, bail};
use std::path::Path;

/// The values of `image.weight` (D × F, row-major) then `image.bias` (D): the order of the
/// model's parameter layout.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageMap {
    pub values: Vec<f32>,
}

impl ImageMap {
    /// Reads the image map of the caption model saved at `path`, checking that it maps
    /// `features`-long features to `embedding` values and that every value is finite.
    pub fn load(path: &Path, features: usize, embedding: usize) -> Result<ImageMap> {
        let p = path.display();
        let (tensors, _) = crate::data::safetensors::read(path)
            .with_context(|| format!("reading the image map of captions.image_map_from = {p}"))?;
        let mut values = Vec::with_capacity(embedding * (features + 1));
        for (name, shape) in [
            ("image.weight", vec![embedding, features]),
            ("image.bias", vec![embedding]),
        ] {
            let Some(t) = tensors.iter().find(|t| t.name == name) else {
                bail!(
                    "{p} has no `{name}`: captions.image_map_from must name a caption model saved by ccdni (models/<run>.safetensors)"
                );
            };
            if t.shape != shape {
                bail!(
                    "{p}: `{name}` has shape {:?}, where this run needs {shape:?} (image features of {features}, captions.embedding = {embedding})",
                    t.shape
                );
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                bail!("{p}: `{name}` holds {} at index {i}", t.data[i]);
            }
            values.extend_from_slice(&t.data);
        }
        Ok(ImageMap { values })
    }
}
