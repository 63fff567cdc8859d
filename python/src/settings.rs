//! Settings from Python: each `(key, value)` pair a single setting (`train.horizon = 1`), laid
//! over a config file and the task's defaults by [`ccdni::config::Overrides`], as the command
//! line's flags are. Values: bool, int, float, str, os.PathLike (a path), list and dict (TOML
//! arrays and tables).

use crate::to_py;
use ccdni::config::{Config, Overrides, TaskKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::path::PathBuf;
use toml::Value;

/// A setting's value as TOML, or a `ValueError` naming the key.
fn toml_value(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    let bad = |what: String| PyValueError::new_err(format!("setting `{key}`: {what}"));
    if v.is_instance_of::<PyBool>() {
        return Ok(Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        let i: i64 = v
            .extract()
            .map_err(|_| bad(format!("the integer {v} is out of range")))?;
        return Ok(Value::Integer(i));
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(Value::Float(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(Value::String(v.extract()?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items = v.try_iter()?.map(|x| toml_value(key, &x?));
        return Ok(Value::Array(items.collect::<PyResult<_>>()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut table = toml::Table::new();
        for (k, x) in d.iter() {
            let k: String = k
                .extract()
                .map_err(|_| bad("table keys must be strings".into()))?;
            let value = toml_value(&format!("{key}.{k}"), &x)?;
            table.insert(k, value);
        }
        return Ok(Value::Table(table));
    }
    if let Ok(path) = v.extract::<PathBuf>() {
        return Ok(Value::String(path.display().to_string()));
    }
    let kind = v.get_type().name()?;
    Err(bad(format!(
        "a {kind} is not a setting value (bool, int, float, str, path, list or dict)"
    )))
}

/// The settings `(key, value)` over the config file `file`, as the library takes them.
pub fn overrides(
    settings: &[(String, Bound<'_, PyAny>)],
    file: Option<PathBuf>,
) -> PyResult<Overrides> {
    let mut o = Overrides {
        file,
        settings: Vec::new(),
    };
    for (key, value) in settings {
        o.set(key, toml_value(key, value)?);
    }
    Ok(o)
}

/// Every setting of `task` with its default, as TOML (`ccdni config TASK`).
#[pyfunction]
fn defaults(task: &str) -> PyResult<String> {
    let task = TaskKind::parse(task).map_err(to_py)?;
    Ok(Config::defaults(task).to_toml())
}

/// The configuration the settings give (over `file` and the defaults of their task, reach
/// unless they name another), checked, as TOML.
#[pyfunction]
#[pyo3(signature = (settings, file=None))]
fn resolve(settings: Vec<(String, Bound<'_, PyAny>)>, file: Option<PathBuf>) -> PyResult<String> {
    let o = overrides(&settings, file)?;
    let config = o
        .resolve(TaskKind::Reach, &toml::Table::new())
        .map_err(to_py)?;
    Ok(config.to_toml())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    Ok(())
}
