//! A cortico-cerebellar model: cortex (LSTM or tanh RNN), linear readout and, for a ccRNN, a
//! cerebellum. All parameters live in one flat vector: cortex and readout first, then the
//! cerebellum, so "the cortical parameters" and "the cerebellar parameters" are two ranges.

use crate::cortex::{CellKind, Cortex, Trace};
use crate::layers::cerebellum::Cerebellum;
use crate::layers::linear::Linear;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

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

/// Shape of a whole model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub cell: CellKind,
    pub input: usize,
    pub hidden: usize,
    pub output: usize,
    /// `None`: a cRNN (cortex alone); `Some`: a ccRNN.
    pub cerebellum: Option<CerebellumSpec>,
}

/// Layers and parameters of a model.
#[derive(Clone, Debug)]
pub struct Model<T> {
    pub cortex: Cortex,
    pub readout: Linear,
    pub cerebellum: Option<Cerebellum>,
    pub layout: Layout,
    pub params: Vec<T>,
}

impl<T: Real> Model<T> {
    /// A model initialised as PyTorch would (cortex U(±1/√H), readout and granule layers U(±1/√fan_in),
    /// cerebellar output layer zero), from the run's "init" stream; the sparse mask from its
    /// "mask" stream.
    pub fn new(spec: &ModelSpec, seed: u64) -> Self {
        let mut layout = Layout::default();
        let cortex = Cortex::new(&mut layout, spec.cell, spec.input, spec.hidden);
        let readout = Linear::new(&mut layout, "readout", spec.hidden, spec.output);
        let state = cortex.state_size();
        let mut cerebellum = spec
            .cerebellum
            .as_ref()
            .map(|c| Cerebellum::new(&mut layout, state, c.granule, c.layers, c.context));
        let mut params = vec![T::ZERO; layout.len()];
        let mut rng = Rng::stream(seed, "init");
        cortex.init(&mut params, &mut rng);
        readout.init(&mut params, &mut rng);
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

    /// Parameters of the cortex and the readout.
    pub fn cortical_range(&self) -> Range<usize> {
        0..self.readout.bias.end
    }

    /// Parameters of the cerebellum (empty for a cRNN).
    pub fn cerebellar_range(&self) -> Range<usize> {
        self.readout.bias.end..self.layout.len()
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
}

impl Model<f32> {
    /// Writes the parameters to `path` as safetensors, one tensor per PyTorch-style name
    /// (`cortex.weight_ih`, `readout.weight`, `cerebellum.0.weight`, ...); a sparse cerebellum's
    /// fixed mask goes alongside as `cerebellum.0.weight_mask` (1 = connection kept), as
    /// PyTorch's pruning names it.
    pub fn save(&self, path: &std::path::Path, metadata: &BTreeMap<String, String>) -> Result<()> {
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
            tensors.push(("cerebellum.0.weight_mask", shape, m));
        }
        crate::data::safetensors::write(path, &tensors, metadata)
    }
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
