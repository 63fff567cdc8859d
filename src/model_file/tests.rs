//! Unit tests of loading saved models.

use super::*;
use crate::config::ModelKind;
use crate::data::safetensors::{Dtype, StoredTensor};
use std::path::PathBuf;

/// A small reach configuration: LSTM of 5 hidden units, a sparse 2 × 12 cerebellum.
fn small_config(model: ModelKind) -> Config {
    let mut c = Config::defaults(TaskKind::Reach);
    c.model = model;
    c.seed = 3;
    c.cortex.hidden = 5;
    c.cerebellum.granule = 12;
    c.cerebellum.sparse_k = Some(4);
    c
}

fn model_of(c: &Config) -> Model<f32> {
    let s = c.task_sizes();
    Model::new(&c.model_spec(s.input, s.output, s.context), c.seed)
}

/// Saves `model` with `config` in its metadata into `dir/name`.
fn save(dir: &Path, name: &str, model: &Model<f32>, config: &Config) -> PathBuf {
    let path = dir.join(name);
    model
        .save(&path, &metadata("ccRNN", config.seed, config))
        .unwrap();
    path
}

fn err_text(r: Result<SavedModel>) -> String {
    format!("{:#}", r.unwrap_err())
}

#[test]
fn a_saved_model_loads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [ModelKind::CRnn, ModelKind::CcRnn] {
        let config = small_config(kind);
        let mut model = model_of(&config);
        // Trained-looking values: none left at their initial ones.
        for (i, v) in model.params.iter_mut().enumerate() {
            *v += (i as f32 * 0.37).sin() * 0.1;
        }
        if let Some(c) = &model.cerebellum {
            c.apply_mask(&mut model.params);
        }
        let path = save(
            dir.path(),
            &format!("{kind:?}.safetensors"),
            &model,
            &config,
        );
        let saved = load(&path).unwrap();
        assert_eq!(saved.config, config);
        assert_eq!(saved.label, "ccRNN");
        assert_eq!(saved.metadata["format"], FORMAT);
        assert_eq!(saved.model.params, model.params);
        let mask = |m: &Model<f32>| m.cerebellum.as_ref().and_then(|c| c.mask.clone());
        assert_eq!(mask(&saved.model), mask(&model));
        assert_eq!(saved.model.cerebellum.is_some(), kind == ModelKind::CcRnn);
    }
}

#[test]
fn a_file_of_another_architecture_is_refused_naming_tensor_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(ModelKind::CcRnn);
    let mut wider = config.clone();
    wider.cortex.hidden = 8;
    // Hidden 8 tensors under a config that says hidden 5.
    let path = save(dir.path(), "m.safetensors", &model_of(&wider), &config);
    let msg = err_text(load(&path));
    assert!(
        msg.contains("m.safetensors: tensor cortex.weight_ih"),
        "{msg}"
    );
    assert!(
        msg.contains("has shape [32, 1] where [20, 1] is expected"),
        "{msg}"
    );
    assert!(
        msg.contains(
            "saved with a different architecture than this model's (LSTM cortex of 5 hidden units"
        ),
        "{msg}"
    );
    // A cRNN's tensors under a ccRNN's config: the cerebellum is missing.
    let crnn = small_config(ModelKind::CRnn);
    let path = save(dir.path(), "c.safetensors", &model_of(&crnn), &config);
    let msg = err_text(load(&path));
    assert!(
        msg.contains("c.safetensors has no tensor cerebellum.0.weight"),
        "{msg}"
    );
    // A ccRNN's tensors under a cRNN's config: tensors it does not have.
    let path = save(dir.path(), "cc.safetensors", &model_of(&config), &crnn);
    let msg = err_text(load(&path));
    assert!(
        msg.contains("holds tensors this model does not have (cerebellum.0.weight"),
        "{msg}"
    );
    // A config describing an absurdly large model is refused before the model is built.
    let mut huge = config.clone();
    huge.cortex.hidden = 1 << 40;
    huge.cerebellum.sparse_k = None;
    let path = save(dir.path(), "h.safetensors", &model_of(&config), &huge);
    let msg = err_text(load(&path));
    assert!(msg.contains("describes a model of"), "{msg}");
    assert!(msg.contains("different architecture"), "{msg}");
}

#[test]
fn foreign_or_unknown_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(ModelKind::CRnn);
    let model = model_of(&config);
    let cases: [(&str, Option<&str>, &str); 2] = [
        ("none", None, "its metadata has no `format`"),
        (
            "other",
            Some("ccdni checkpoint"),
            "its metadata says format = \"ccdni checkpoint\"",
        ),
    ];
    for (name, format, needle) in cases {
        let mut meta = metadata("cRNN", 3, &config);
        match format {
            Some(f) => meta.insert("format".into(), f.into()),
            None => meta.remove("format"),
        };
        let path = dir.path().join(name);
        model.save(&path, &meta).unwrap();
        let msg = err_text(load(&path));
        assert!(
            msg.contains(&format!("{} is not a ccdni model", path.display())),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg}");
    }
    let mut meta = metadata("cRNN", 3, &config);
    meta.insert("config".into(), "cortex = 1".into());
    let path = dir.path().join("bad-config");
    model.save(&path, &meta).unwrap();
    let msg = err_text(load(&path));
    assert!(
        msg.contains("bad-config: the config stored in the model"),
        "{msg}"
    );
    meta.remove("config");
    model.save(&path, &meta).unwrap();
    assert!(err_text(load(&path)).contains("has no `config` in its metadata"));
}

/// The stored tensors of a model, as `read` returns them.
fn stored(model: &Model<f32>) -> Vec<StoredTensor> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    model.save(&path, &BTreeMap::new()).unwrap();
    crate::data::safetensors::read(&path).unwrap().0
}

#[test]
fn set_params_from_checks_dtype_values_and_mask_and_changes_nothing_on_error() {
    let config = small_config(ModelKind::CcRnn);
    let source = model_of(&Config {
        seed: 9,
        ..config.clone()
    });
    let good = stored(&source);
    let mut target = model_of(&config);
    let before = target.params.clone();
    let path = Path::new("x.safetensors");
    let tamper = |name: &str, f: &dyn Fn(&mut StoredTensor)| {
        let mut t = good.clone();
        f(t.iter_mut().find(|t| t.name == name).unwrap());
        t
    };
    let cases: Vec<(Vec<StoredTensor>, &str)> = vec![
        (
            tamper("readout.bias", &|t| t.dtype = Dtype::F64),
            "tensor readout.bias is F64, but a ccdni model's tensors are F32",
        ),
        (
            tamper("readout.weight", &|t| t.data[3] = f32::NAN),
            "tensor readout.weight holds the non-finite value NaN at index 3",
        ),
        (
            tamper(crate::model::MASK, &|t| t.data[0] = 0.5),
            "holds 0.5 at index 0; a mask holds only 0 and 1",
        ),
        (
            tamper(crate::model::MASK, &|t| {
                let i = t.data.iter().position(|&v| v == 0.0).unwrap();
                t.data[i] = 1.0;
            }),
            "keeps 5 inputs where the model's `cerebellum.sparse_k` is 4",
        ),
        (
            tamper("cerebellum.0.weight", &|t| t.data.fill(0.25)),
            "but that weight is 0.25 (not 0)",
        ),
        (
            good.iter()
                .filter(|t| t.name != crate::model::MASK)
                .cloned()
                .collect(),
            "has no tensor cerebellum.0.weight_mask",
        ),
    ];
    for (tensors, needle) in cases {
        let msg = format!("{:#}", target.set_params_from(&tensors, path).unwrap_err());
        assert!(msg.contains("x.safetensors"), "{msg}");
        assert!(msg.contains(needle), "{needle}: {msg}");
        assert_eq!(target.params, before, "nothing changes on an error");
    }
    target.set_params_from(&good, path).unwrap();
    assert_eq!(target.params, source.params);
    let mask = |m: &Model<f32>| m.cerebellum.as_ref().and_then(|c| c.mask.clone());
    assert_eq!(
        mask(&target),
        mask(&source),
        "the stored mask replaces the drawn one"
    );
}

#[test]
fn parameter_count_is_the_layouts_length() {
    for kind in [ModelKind::CRnn, ModelKind::CcRnn] {
        for cell in [crate::cortex::CellKind::Lstm, crate::cortex::CellKind::Tanh] {
            for (layers, context) in [(1, false), (2, true)] {
                let mut c = small_config(kind);
                c.cortex.cell = cell;
                c.cerebellum.layers = layers;
                c.cerebellum.context = context;
                let s = c.task_sizes();
                let spec = c.model_spec(s.input, s.output, s.context);
                let model = Model::<f32>::new(&spec, 0);
                assert_eq!(spec.parameter_count(), model.layout.len() as f64);
            }
        }
    }
}
