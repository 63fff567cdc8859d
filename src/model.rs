//! A cortico-cerebellar model: cortex (LSTM or tanh RNN), linear readout and, for a ccRNN, a
//! cerebellum. All parameters live in one flat vector: cortex and readout first, then the
//! cerebellum, so "the cortical parameters" and "the cerebellar parameters" are two ranges.

use crate::batch::Batch;
use crate::cortex::{CellKind, Cortex, Trace};
use crate::data::safetensors::{Dtype, StoredTensor};
use crate::layers::cerebellum::Cerebellum;
use crate::layers::linear::Linear;
use crate::layers::word_input::WordInput;
use crate::loss::{EvalMetrics, EvalSums};
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// Shape of the cerebellum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CerebellumSpec {
    /// Granule cells per granule layer.
    pub granule: usize,
    /// Number of granule layers (1: state -> G -> state; 2: state -> G -> G -> state).
    pub layers: usize,
    /// Sparse mossy-fibre connectivity: inputs kept per first-layer granule cell (None: dense).
    pub sparse_k: Option<usize>,
    /// Size of the optional context input (cDNI); 0 for none.
    #[serde(default)]
    pub context: usize,
}

/// Shape of the caption model's input stage ([`WordInput`]); its embedding size is the
/// cortex's input size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordSpec {
    /// Size of an image's feature vector.
    pub features: usize,
    /// Words in the vocabulary (the readout's size too).
    pub vocab: usize,
    /// Dropout probability on every step's input vector while training.
    pub dropout: f64,
}

/// Shape of a whole model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub cell: CellKind,
    pub input: usize,
    pub hidden: usize,
    pub output: usize,
    /// `None`: a cRNN (cortex alone); `Some`: a ccRNN.
    pub cerebellum: Option<CerebellumSpec>,
    /// The caption task's input stage (image projection, word embedding); `None`: the task's
    /// inputs go to the cortex as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<WordSpec>,
}

impl ModelSpec {
    /// The number of parameters of a model of this shape, in floating point so that absurd
    /// sizes (from a corrupt file) give an absurd figure instead of overflowing.
    pub fn parameter_count(&self) -> f64 {
        let f = |v: usize| v as f64;
        let (input, hidden, output) = (f(self.input), f(self.hidden), f(self.output));
        let (gates, state) = match self.cell {
            CellKind::Lstm => (4.0 * hidden, 2.0 * hidden),
            CellKind::Tanh => (hidden, hidden),
        };
        let linear = |i: f64, o: f64| o * (i + 1.0);
        let words = self
            .words
            .as_ref()
            .map_or(0.0, |w| linear(f(w.features), input) + f(w.vocab) * input);
        let cortex = gates * (input + hidden + 2.0) + linear(hidden, output) + words;
        let cerebellum = self.cerebellum.as_ref().map_or(0.0, |c| {
            let (g, layers) = (f(c.granule), f(c.layers));
            linear(state, g)
                + (layers - 1.0) * linear(g, g)
                + linear(g, state)
                + if c.context > 0 {
                    linear(f(c.context), g)
                } else {
                    0.0
                }
        });
        cortex + cerebellum
    }
}

/// Layers and parameters of a model.
#[derive(Clone, Debug)]
pub struct Model<T> {
    pub cortex: Cortex,
    pub readout: Linear,
    /// The caption task's input stage, in front of the cortex.
    pub words: Option<WordInput>,
    pub cerebellum: Option<Cerebellum>,
    pub layout: Layout,
    pub params: Vec<T>,
}

impl<T: Real> Model<T> {
    /// A model initialised as PyTorch would (cortex U(±1/√H), readout, image map and granule
    /// layers U(±1/√fan_in), word embedding N(0, 1), cerebellar output layer zero), from the
    /// run's "init" stream; the sparse mask from its "mask" stream. The layout: cortex,
    /// readout, input stage, cerebellum.
    pub fn new(spec: &ModelSpec, seed: u64) -> Self {
        let mut layout = Layout::default();
        let cortex = Cortex::new(&mut layout, spec.cell, spec.input, spec.hidden);
        let readout = Linear::new(&mut layout, "readout", spec.hidden, spec.output);
        let words = spec
            .words
            .as_ref()
            .map(|w| WordInput::new(&mut layout, w.features, w.vocab, spec.input, w.dropout));
        let state = cortex.state_size();
        let mut cerebellum = spec
            .cerebellum
            .as_ref()
            .map(|c| Cerebellum::new(&mut layout, state, c.granule, c.layers, c.context));
        let mut params = vec![T::ZERO; layout.len()];
        let mut rng = Rng::stream(seed, "init");
        cortex.init(&mut params, &mut rng);
        readout.init(&mut params, &mut rng);
        if let Some(w) = &words {
            w.init(&mut params, &mut rng);
        }
        if let (Some(cb), Some(c)) = (&mut cerebellum, &spec.cerebellum) {
            cb.init(
                &mut params,
                c.sparse_k,
                &mut rng,
                &mut Rng::stream(seed, "mask"),
            );
        }
        Model {
            cortex,
            readout,
            words,
            cerebellum,
            layout,
            params,
        }
    }

    /// Multiplies the cortex's weights and biases (input and recurrent) by `b`: the cortical
    /// correlation scaling of `cortex.init_scale` (docs/model.md §1.1), applied after
    /// initialisation.
    pub fn scale_cortex(&mut self, b: f64) {
        let b = T::from_f64(b);
        self.params[..self.readout.weight.start]
            .iter_mut()
            .for_each(|w| *w *= b);
    }

    /// Parameters of the cortex, the readout and the input stage.
    pub fn cortical_range(&self) -> Range<usize> {
        0..self.cortical_end()
    }

    /// Parameters of the cerebellum (empty for a cRNN).
    pub fn cerebellar_range(&self) -> Range<usize> {
        self.cortical_end()..self.layout.len()
    }

    /// Parameters of the caption model's image map (`image.weight` then `image.bias`); `None`
    /// without an input stage.
    pub fn image_map_range(&self) -> Option<Range<usize>> {
        self.words
            .as_ref()
            .map(|w| w.image.weight.start..w.image.bias.end)
    }

    fn cortical_end(&self) -> usize {
        self.words
            .as_ref()
            .map_or(self.readout.bias.end, |w| w.embedding.weight.end)
    }

    /// The cortex's input of every step of `batch` (`steps · batch × input`): the batch's own
    /// inputs, or those of the input stage when the batch holds words (evaluation: no dropout).
    pub fn inputs<'a>(&self, batch: &'a Batch<T>, x: &'a mut Vec<T>) -> &'a [T] {
        match (&self.words, &batch.words) {
            (Some(input), Some(words)) => {
                x.resize(batch.steps * batch.batch * input.size(), T::ZERO);
                input.forward(&self.params, words, &[], x, (0, batch.steps));
                x
            }
            _ => &batch.inputs,
        }
    }

    /// Readout of every step for a whole sequence from a zero state: no truncation, no cerebellum
    /// (how every model is evaluated). `x` is time-major `steps · batch × input`; the result is
    /// `steps · batch × output`.
    pub fn predict(&self, x: &[T], steps: usize, batch: usize) -> Vec<T> {
        let mut y = Vec::new();
        self.predict_into(x, steps, batch, &mut None, &mut y);
        y
    }

    /// [`Self::predict`] into `y`, reusing the activation buffers in `trace` across calls.
    pub fn predict_into(
        &self,
        x: &[T],
        steps: usize,
        batch: usize,
        trace: &mut Option<Trace<T>>,
        y: &mut Vec<T>,
    ) {
        let tr = self.cortex.start_sequence(trace, batch, steps);
        self.cortex.forward(&self.params, x, tr, 0, steps);
        y.resize(steps * batch * self.readout.outputs, T::ZERO);
        self.readout
            .forward(&self.params, tr.outputs(0, steps), y, false);
    }

    /// The evaluation measures on a set of batches (whole sequences from a zero state, no
    /// truncation, no cerebellum: docs/model.md §5).
    pub fn evaluate(&self, batches: &[Batch<T>]) -> EvalMetrics {
        self.evaluate_with(batches, |_, _| {})
    }

    /// [`Self::evaluate`], showing each batch's readout (time-major, `steps · batch × outputs`)
    /// to `look` as well: a task's own measures are taken from it.
    pub fn evaluate_with(
        &self,
        batches: &[Batch<T>],
        mut look: impl FnMut(&Batch<T>, &[T]),
    ) -> EvalMetrics {
        let mut sums = EvalSums::default();
        let (mut trace, mut x, mut y) = (None, Vec::new(), Vec::new());
        for b in batches {
            let inputs = self.inputs(b, &mut x);
            self.predict_into(inputs, b.steps, b.batch, &mut trace, &mut y);
            sums.add(&b.target, &y, b.steps, b.batch);
            look(b, &y);
        }
        sums.finish()
    }
}

impl crate::network::Network for Model<f32> {
    fn evaluate_with(
        &self,
        batches: &[Batch<f32>],
        look: &mut dyn FnMut(&Batch<f32>, &[f32]),
    ) -> EvalMetrics {
        Model::evaluate_with(self, batches, look)
    }
}

impl Model<f32> {
    /// Writes the parameters to `path` as safetensors, one tensor per PyTorch-style name
    /// (`cortex.weight_ih`, `readout.weight`, `cerebellum.0.weight`, ...); a sparse cerebellum's
    /// fixed mask goes alongside as `cerebellum.0.weight_mask` (1 = connection kept), as
    /// PyTorch's pruning names it.
    pub fn save(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<()> {
        self.save_with(path, metadata, &[])
    }

    /// [`Self::save`], with `extra` tensors (name, shape, values) after the model's.
    pub fn save_with(
        &self,
        path: &Path,
        metadata: &BTreeMap<String, String>,
        extra: &[(&str, &[usize], &[f32])],
    ) -> Result<()> {
        let mask: Option<Vec<f32>> = self
            .cerebellum
            .as_ref()
            .and_then(|c| c.mask.as_ref())
            .map(|m| m.iter().map(|&k| f32::from(u8::from(k))).collect());
        let mut tensors: Vec<(&str, &[usize], &[f32])> = self
            .layout
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), &t.shape[..], &self.params[t.range.clone()]))
            .collect();
        let first = self.cerebellum.as_ref().and_then(|c| c.layers.first());
        let mask_shape = first.map(|l| [l.outputs, l.inputs]);
        if let (Some(m), Some(shape)) = (&mask, &mask_shape) {
            tensors.push((MASK, shape, m));
        }
        tensors.extend_from_slice(extra);
        crate::data::safetensors::write(path, &tensors, metadata)
    }

    /// Sets the parameters, and a sparse cerebellum's mask, from the tensors of a file written by
    /// [`Self::save`] (`path` names it in the errors). Every tensor of this model's layout must
    /// be there as F32 with its shape and finite values, and nothing else may be. A sparse
    /// cerebellum's mask (`cerebellum.0.weight_mask`) must hold only 0 and 1, keep as many
    /// inputs per granule cell as this model's, and the weights it removes must be zero.
    /// Everything is checked before anything changes: on an error the model is as it was.
    pub fn set_params_from(&mut self, tensors: &[StoredTensor], path: &Path) -> Result<()> {
        let p = path.display();
        let architecture = self.architecture();
        let different = || {
            format!(
                "the file was saved with a different architecture than this model's ({architecture})"
            )
        };
        let find = |name: &str| tensors.iter().find(|t| t.name == name);
        let first_layer = self
            .cerebellum
            .as_ref()
            .filter(|c| c.mask.is_some())
            .map(|c| &c.layers[0]);
        let mut expected: Vec<(&str, &[usize])> = self
            .layout
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), &t.shape[..]))
            .collect();
        let mask_shape = first_layer.map(|l| [l.outputs, l.inputs]);
        if let Some(shape) = &mask_shape {
            expected.push((MASK, shape));
        }
        for &(name, shape) in &expected {
            let Some(t) = find(name) else {
                bail!("{p} has no tensor {name}: {}", different());
            };
            if t.shape != shape {
                bail!(
                    "{p}: tensor {name} has shape {:?} where {shape:?} is expected: {}",
                    t.shape,
                    different()
                );
            }
            if t.dtype != Dtype::F32 {
                bail!(
                    "{p}: tensor {name} is {}, but a ccdni model's tensors are F32",
                    t.dtype
                );
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                bail!(
                    "{p}: tensor {name} holds the non-finite value {} at index {i}",
                    t.data[i]
                );
            }
        }
        let unexpected: Vec<&str> = tensors
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| !expected.iter().any(|(e, _)| e == n))
            .collect();
        if !unexpected.is_empty() {
            bail!(
                "{p} holds tensors this model does not have ({}): {}",
                unexpected.join(", "),
                different()
            );
        }
        let mask = match (first_layer, find(MASK)) {
            (Some(layer), Some(stored)) => {
                let weights = find("cerebellum.0.weight").map_or(&[][..], |t| &t.data);
                let own = self.cerebellum.as_ref().and_then(|c| c.mask.as_ref());
                let k = own.map_or(0, |m| m.iter().take(layer.inputs).filter(|&&b| b).count());
                Some(
                    check_mask(&stored.data, weights, layer.inputs, k)
                        .with_context(|| format!("{p}: tensor {MASK}"))?,
                )
            }
            _ => None,
        };
        for t in &self.layout.tensors {
            let stored = find(&t.name).expect("checked above");
            self.params[t.range.clone()].copy_from_slice(&stored.data);
        }
        if let (Some(c), Some(m)) = (&mut self.cerebellum, mask) {
            c.mask = Some(m);
        }
        Ok(())
    }

    /// The model's shape in words, for error messages.
    fn architecture(&self) -> String {
        let w = self.cortex.weights();
        let cell = match self.cortex.kind() {
            CellKind::Lstm => "LSTM",
            CellKind::Tanh => "tanh RNN",
        };
        let mut s = format!(
            "{cell} cortex of {} hidden units (input size {}, output size {})",
            w.hidden, w.input, self.readout.outputs
        );
        match &self.cerebellum {
            None => s.push_str(", no cerebellum"),
            Some(c) => {
                s.push_str(&format!(
                    ", cerebellum of {} × {} granule cells",
                    c.layers.len() - 1,
                    c.layers[0].outputs
                ));
                if let Some(m) = &c.mask {
                    let k = m.iter().take(c.layers[0].inputs).filter(|&&b| b).count();
                    s.push_str(&format!(", sparse k = {k}"));
                }
                if let Some(ctx) = &c.context {
                    s.push_str(&format!(", context of {}", ctx.inputs));
                }
            }
        }
        s
    }
}

/// The name of a sparse cerebellum's mask in a model file (PyTorch's pruning name).
pub const MASK: &str = "cerebellum.0.weight_mask";

/// The mask as connections, checking that it holds only 0 and 1, keeps `k` of the `inputs` of
/// every granule cell, and that the first-layer `weights` it removes are zero.
fn check_mask(stored: &[f32], weights: &[f32], inputs: usize, k: usize) -> Result<Vec<bool>> {
    if let Some(i) = stored.iter().position(|&v| v != 0.0 && v != 1.0) {
        bail!(
            "holds {} at index {i}; a mask holds only 0 and 1",
            stored[i]
        );
    }
    for (cell, row) in stored.chunks_exact(inputs.max(1)).enumerate() {
        let kept = row.iter().filter(|&&v| v == 1.0).count();
        if kept != k {
            bail!(
                "granule cell {cell} keeps {kept} inputs where the model's `cerebellum.sparse_k` is {k}"
            );
        }
    }
    if let Some(i) =
        (0..stored.len()).find(|&i| stored[i] == 0.0 && weights.get(i).is_some_and(|&w| w != 0.0))
    {
        bail!(
            "removes connection {i} of cerebellum.0.weight, but that weight is {} (not 0)",
            weights[i]
        );
    }
    Ok(stored.iter().map(|&v| v == 1.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cortical_scaling_multiplies_the_cortex_only() {
        let spec = ModelSpec {
            cell: CellKind::Lstm,
            input: 2,
            hidden: 3,
            output: 2,
            cerebellum: Some(crate::model::CerebellumSpec {
                granule: 4,
                layers: 1,
                sparse_k: None,
                context: 0,
            }),
            words: None,
        };
        let base = Model::<f64>::new(&spec, 5);
        let mut scaled = base.clone();
        scaled.scale_cortex(2.0);
        let cortex = 0..base.readout.weight.start;
        // W_ih (12×2), W_hh (12×3), b_ih and b_hh (12 each).
        assert_eq!(cortex.len(), 12 * 2 + 12 * 3 + 24);
        for (i, (a, b)) in base.params.iter().zip(&scaled.params).enumerate() {
            let want = if cortex.contains(&i) { 2.0 * a } else { *a };
            assert_eq!(*b, want, "parameter {i}");
        }
        let mut same = base.clone();
        same.scale_cortex(1.0);
        assert_eq!(same.params, base.params);
    }
}
