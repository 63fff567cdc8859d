//! A saved model from Python (`ccdni.load_model`): its forward pass on NumPy inputs (as every
//! model is evaluated: whole sequences from a zero state, no truncation, no cerebellum), the
//! feedback at its window boundaries (a recording: docs/model.md §5), and its evaluation as
//! `ccdni eval` does it.

use crate::arrays::Arrays;
use crate::to_py;
use ccdni::layers::cerebellum::{Cerebellum, CerebellumTrace};
use ccdni::layers::trace::Trace;
use ccdni::model::Model;
use ccdni::model_file::SavedModel;
use ccdni::tasks::file::batch_of;
use ccdni::trainer::Trainer;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// A model read from a model file (`model.safetensors` of a run folder), with the settings it
/// was trained with.
#[pyclass(name = "Model", module = "ccdni._ccdni", frozen)]
struct PyModel {
    saved: SavedModel,
    path: PathBuf,
}

/// `values` (`n` rows of `w`, the rows time-major `t · batch + b`) as an `(N, L, w)` array.
fn sample_major<'py>(
    py: Python<'py>,
    values: &[f32],
    (n, l, w): (usize, usize, usize),
) -> PyResult<Bound<'py, PyAny>> {
    let mut out = vec![0f32; n * l * w];
    for t in 0..l {
        for b in 0..n {
            let row = &values[(t * n + b) * w..(t * n + b + 1) * w];
            out[(b * l + t) * w..(b * l + t + 1) * w].copy_from_slice(row);
        }
    }
    Ok(PyArray1::from_vec(py, out).reshape([n, l, w])?.into_any())
}

/// What the cerebellum of `m` makes of the cortical state after every step of the sequences in
/// `tr` (as it reads a window boundary there: `[h; c]` for an LSTM, rearranged for a shuffled
/// input): each granule layer's activity (`granule_<l>`) and the prediction (`prediction`), rows
/// time-major, with their widths. None for a cerebellum that reads a context, which the inputs
/// alone do not give.
fn cerebellum_at_every_step(
    m: &Model<f32>,
    cb: &Cerebellum,
    tr: &Trace<f32>,
) -> Option<Vec<(String, Vec<f32>, usize)>> {
    if cb.context.is_some() {
        return None;
    }
    let (n, l, size) = (tr.batch, tr.steps, cb.input_size());
    let mut states = vec![0f32; l * n * size];
    for (t, block) in states.chunks_exact_mut(n * size).enumerate() {
        tr.read_state(t + 1, block);
    }
    cb.arrange_input(&mut states, n);
    let mut out = CerebellumTrace::default();
    cb.forward(&m.params, &states, None, &mut out);
    let rows = l * n;
    let granule = out.acts[1..]
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_empty());
    let mut arrays: Vec<_> = granule
        .map(|(k, a)| (format!("granule_{k}"), a.clone(), a.len() / rows))
        .collect();
    let width = out.output.len() / rows;
    arrays.push(("prediction".to_string(), out.output, width));
    Some(arrays)
}

#[pymethods]
impl PyModel {
    /// Reads the model file `path`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
        crate::jobs::missing(&path, "model file")?;
        let saved = py
            .detach(|| ccdni::model_file::load(&path))
            .map_err(to_py)?;
        Ok(PyModel { saved, path })
    }

    /// The run's label (`cRNN`, `ccRNN`, ...).
    #[getter]
    fn label(&self) -> &str {
        &self.saved.label
    }

    /// The seed of the run that trained it.
    #[getter]
    fn seed(&self) -> u64 {
        self.saved.config.seed
    }

    /// The settings it was trained with, as TOML.
    #[getter]
    fn config_toml(&self) -> String {
        self.saved.config.to_toml()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Inputs I, hidden units H, outputs O.
    #[getter]
    fn sizes(&self) -> (usize, usize, usize) {
        let m = &self.saved.model;
        (m.cortex.input(), m.cortex.hidden(), m.readout.outputs)
    }

    /// The readout (`outputs`, N × L × O) and the cortical hidden state (`states`, N × L × H)
    /// at every step of the inputs (N × L × I float32, C-contiguous, finite); for a ccRNN also
    /// what its cerebellum makes of the state after every step (`granule_<l>`, `prediction`;
    /// not for a cerebellum that reads the task's context).
    fn forward<'py>(
        &self,
        py: Python<'py>,
        inputs: PyReadonlyArray3<'py, f32>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let [n, l, i] = <[usize; 3]>::try_from(inputs.shape()).expect("3 dimensions");
        let x = inputs.as_slice().map_err(|_| {
            PyValueError::new_err(
                "inputs: the array is not C-contiguous; pass np.ascontiguousarray(inputs)",
            )
        })?;
        let m = &self.saved.model;
        if i != m.cortex.input() || n == 0 || l == 0 {
            return Err(PyValueError::new_err(format!(
                "inputs: shape ({n}, {l}, {i}); it must be N × L × {} (sequences × steps × the model's inputs), N and L at least 1",
                m.cortex.input()
            )));
        }
        if let Some(k) = x.iter().position(|v| !v.is_finite()) {
            let (s, t, j) = (k / (l * i), k / i % l, k % i);
            return Err(PyValueError::new_err(format!(
                "inputs: {} at [{s}, {t}, {j}]; the inputs must be finite",
                x[k]
            )));
        }
        let (h, o) = (m.cortex.hidden(), m.readout.outputs);
        let (y, states, cerebellum) = py.detach(|| {
            let mut xt = vec![0f32; n * l * i];
            for b in 0..n {
                for t in 0..l {
                    let row = &x[(b * l + t) * i..(b * l + t + 1) * i];
                    xt[(t * n + b) * i..(t * n + b + 1) * i].copy_from_slice(row);
                }
            }
            let mut trace = None;
            let tr = m.cortex.start_sequence(&mut trace, n, l);
            m.cortex.forward(&m.params, &xt, tr, 0, l);
            let mut y = vec![0f32; l * n * o];
            m.readout
                .forward(&m.params, tr.outputs(0, l), &mut y, false);
            let cerebellum = m
                .cerebellum
                .as_ref()
                .and_then(|cb| cerebellum_at_every_step(m, cb, tr));
            (y, tr.outputs(0, l).to_vec(), cerebellum)
        });
        let d = PyDict::new(py);
        d.set_item("outputs", sample_major(py, &y, (n, l, o))?)?;
        d.set_item("states", sample_major(py, &states, (n, l, h))?)?;
        for (name, values, width) in cerebellum.into_iter().flatten() {
            d.set_item(name, sample_major(py, &values, (n, l, width))?)?;
        }
        Ok(d)
    }

    /// What the network holds at each window boundary of the sequences (the file task's
    /// arrays, checked as it checks them) when trained with horizon `horizon` (default its
    /// own): `state`, `granule_<l>` and `prediction` (a ccRNN), `teaching_signal` and
    /// `true_feedback`, each W × N × units (float64), with one line on each in
    /// `descriptions`.
    #[pyo3(signature = (arrays, horizon=None))]
    fn feedback<'py>(
        &self,
        py: Python<'py>,
        arrays: Vec<crate::arrays::FromPython<'py>>,
        horizon: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let config = &self.saved.config;
        let given = crate::arrays::given(arrays);
        let (_, loaded) = Arrays::check(given, None).map_err(to_py)?;
        let (i, o) = (
            self.saved.model.cortex.input(),
            self.saved.model.readout.outputs,
        );
        if (loaded.inputs, loaded.outputs) != (i, o) {
            return Err(PyValueError::new_err(format!(
                "the arrays have {} inputs and {} outputs, the model {i} and {o}",
                loaded.inputs, loaded.outputs
            )));
        }
        let mut options = config.train.clone();
        options.horizon = horizon.unwrap_or(options.horizon);
        if options.horizon == 0 {
            return Err(PyValueError::new_err("horizon must be at least 1"));
        }
        let recording = py.detach(|| {
            let ids: Vec<usize> = (0..loaded.train.n).collect();
            let batch = batch_of(&loaded, &loaded.train, &ids);
            let mut trainer = Trainer::new(self.saved.model.clone(), options);
            trainer.set_mode(config.cerebellum_mode(config.epochs));
            trainer.record_batch(&batch)
        });
        let d = PyDict::new(py);
        let about = PyDict::new(py);
        for a in recording.arrays {
            let array = PyArray1::from_vec(py, a.values).reshape(a.shape)?;
            d.set_item(&a.name, array)?;
            about.set_item(&a.name, a.description)?;
        }
        d.set_item("descriptions", about)?;
        Ok(d)
    }

    /// Evaluates the model on its task's test set as `ccdni eval` does, with `settings` of the
    /// task laid over its own, into the new or empty folder `out`; returns the evaluation as
    /// JSON (as the folder's metrics.json) and the folder.
    #[pyo3(signature = (settings, out=None))]
    fn evaluate_json(
        &self,
        py: Python<'_>,
        settings: Vec<(String, Bound<'_, PyAny>)>,
        out: Option<PathBuf>,
    ) -> PyResult<(String, PathBuf)> {
        let o = crate::settings::overrides(&settings, None)?;
        let (saved, path) = (&self.saved, &self.path);
        py.detach(|| {
            let config = ccdni::job::eval::config_for(saved, path, &o.settings)?;
            let (e, dir) = ccdni::job::eval::evaluate(saved, path, &config, out.as_deref())?;
            Ok((serde_json::to_string(&e)?, dir))
        })
        .map_err(to_py)
    }

    fn __repr__(&self) -> String {
        let (i, h, o) = self.sizes();
        format!(
            "Model({} seed {}, {} inputs, {h} hidden, {o} outputs, from {})",
            self.saved.label,
            self.saved.config.seed,
            i,
            self.path.display()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()
}
