//! `ccdni._ccdni`: the Python package's bindings to the ccdni crate. Thin: each function turns
//! Python values into the library's (settings, arrays, paths), calls it, and turns what it
//! returns, or its error, back. The Python face (`ccdni/__init__.py`) wraps these.
//!
//! | module | what |
//! |---|---|
//! | [`settings`] | Python values as settings (`key = value`), resolved and checked |
//! | [`drive`] | a job run off the Python thread: the GIL released, progress, Ctrl-C |
//! | [`jobs`] | train, resume, run an experiment; the runs of a job folder |
//! | [`arrays`] | NumPy arrays as the file task's arrays, checked by the library |
//! | [`model`] | a saved model: forward, feedback, evaluation |
//!
//! Errors: the library's error, all its context in one message, becomes an `OSError` when a
//! file could not be read or written (an I/O error in its chain; `FileNotFoundError` and the
//! like by its errno), else a `ValueError` (bad settings, bad arrays, a folder of another job).

mod arrays;
mod drive;
mod jobs;
mod model;
mod settings;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

/// The library's error as a Python exception: `OSError` for a file that could not be read or
/// written, else `ValueError`; the message is ccdni's, with its context.
pub(crate) fn to_py(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    let io = e.chain().find_map(|c| c.downcast_ref::<std::io::Error>());
    match io {
        Some(io) => match io.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, message)),
            None => PyOSError::new_err(message),
        },
        None => PyValueError::new_err(message),
    }
}

/// The COCO caption scores (BLEU-1..4, CIDEr-D, ...) of `results` against the references
/// `refs`, as JSON (the output of `ccdni score --json`).
#[pyfunction]
fn score_json(py: Python<'_>, refs: PathBuf, results: PathBuf) -> PyResult<String> {
    jobs::missing(&refs, "references file")?;
    jobs::missing(&results, "results file")?;
    py.detach(|| ccdni::captions::score_output(&refs, &results, true))
        .map_err(to_py)
}

#[pymodule]
fn _ccdni(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(score_json, m)?)?;
    settings::register(m)?;
    jobs::register(m)?;
    model::register(m)?;
    Ok(())
}
