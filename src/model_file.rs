//! A saved model read back: the safetensors file a run writes to `models/<label>-seed<k>.safetensors`
//! ([`crate::model::Model::save`]), its parameters under PyTorch's names and its metadata:
//! `format = "ccdni model"`, `ccdni_version`, the run's `label` and `seed`, and its resolved
//! `config` as TOML.
//!
//! [`load`] rebuilds the model from the stored config: the config gives the architecture, the
//! task named in it gives the input, output and context sizes ([`Config::task_sizes`], without
//! reading any data set). The tensors must then fit that layout exactly
//! ([`crate::model::Model::set_params_from`]). Every error names the file.

use crate::config::{Config, TaskKind};
use crate::model::Model;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` every ccdni model file states in its metadata.
pub const FORMAT: &str = "ccdni model";

/// Parameters a model described by a file's config may have before it is built, if the file
/// holds fewer values (a larger one is refused unbuilt).
const BUILT_UNCHECKED: f64 = 1e7;

/// A model read from a file, with the configuration it was trained with.
#[derive(Clone, Debug)]
pub struct SavedModel {
    pub model: Model<f32>,
    /// The run's resolved configuration (its task, seed and settings).
    pub config: Config,
    /// The run's label (`cRNN`, `ccRNN`, ...), or the file's stem if the metadata has none.
    pub label: String,
    /// Every metadata entry of the file.
    pub metadata: BTreeMap<String, String>,
}

/// The metadata of a model file: the format, this ccdni's version, the run's label and seed, and
/// its resolved configuration (`ccdni train --config` repeats the run from it).
pub fn metadata(label: &str, seed: u64, config: &Config) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("format".to_string(), FORMAT.to_string()),
        (
            "ccdni_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("label".to_string(), label.to_string()),
        ("seed".to_string(), seed.to_string()),
        ("config".to_string(), config.to_toml()),
    ])
}

/// Reads and checks a model file (see the module documentation).
pub fn load(path: &Path) -> Result<SavedModel> {
    let p = path.display();
    let (tensors, metadata) = crate::data::safetensors::read(path)?;
    match metadata.get("format") {
        Some(f) if f == FORMAT => {}
        Some(f) => bail!(
            "{p} is not a ccdni model: its metadata says format = {f:?}, where ccdni writes {FORMAT:?}"
        ),
        None => bail!(
            "{p} is not a ccdni model: its metadata has no `format` (ccdni writes format = {FORMAT:?}); \
             a safetensors file from another program cannot be loaded"
        ),
    }
    let version = metadata.get("ccdni_version").map_or("?", String::as_str);
    let saved_by = || {
        format!(
            "{p}: the config stored in the model (saved by ccdni {version}; this is ccdni {})",
            env!("CARGO_PKG_VERSION")
        )
    };
    let text = metadata
        .get("config")
        .with_context(|| format!("{p} has no `config` in its metadata"))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{}: is not valid TOML", saved_by()))?;
    let config = Config::resolve(TaskKind::Reach, &table).with_context(saved_by)?;
    config.validate().with_context(saved_by)?;
    if config.areas.is_some() {
        bail!(
            "{p} holds a cortex of two areas (`[areas]`, docs/model.md §7); a saved model is loaded as one area (the two-area runs' measures are in their metrics.csv)"
        );
    }
    let sizes = config.task_sizes();
    let mut spec = config.model_spec(sizes.input, sizes.output, sizes.context);
    if config.task == TaskKind::Captions {
        // The vocabulary and the feature size come with the data: read them off the tensors.
        let shape = |name: &str| {
            tensors
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.shape.clone())
                .with_context(|| format!("{p} is a caption model without the tensor {name}"))
        };
        let (image, embedding) = (shape("image.weight")?, shape("embedding.weight")?);
        let (&[_, features], &[vocab, _]) = (&image[..], &embedding[..]) else {
            bail!(
                "{p}: image.weight and embedding.weight must be matrices (shapes {image:?}, {embedding:?})"
            );
        };
        spec.output = vocab;
        spec.words = Some(crate::model::WordSpec {
            features,
            vocab,
            dropout: config.captions.dropout,
        });
    }
    // The stored config could describe a model of any size: refuse a large one that the file
    // cannot fill before building it (a small one is built, and its tensors compared one by one).
    let stored: f64 = tensors.iter().map(|t| t.data.len() as f64).sum();
    if spec.parameter_count() > stored.max(BUILT_UNCHECKED) {
        bail!(
            "{p}: its config describes a model of {} parameters (`cortex.hidden` = {}, `cerebellum.granule` = {}), \
             but the file holds only {stored} values: the tensors were saved with a different architecture",
            spec.parameter_count(),
            config.cortex.hidden,
            config.cerebellum.granule
        );
    }
    let mut model = Model::<f32>::new(&spec, config.seed);
    config.configure_cerebellum(&mut model);
    // The model is the one the stored config describes: a mismatch is a file whose config and
    // tensors disagree.
    model.set_params_from(&tensors, path)?;
    let label = match metadata.get("label") {
        Some(l) => l.clone(),
        None => path
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned()),
    };
    Ok(SavedModel {
        model,
        config,
        label,
        metadata,
    })
}

#[cfg(test)]
mod tests;
