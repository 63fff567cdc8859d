//! Reading and checking a file task's arrays, before any run trains: every set's inputs
//! (N × L × I floats), targets (N × L × O floats, or N × L integer labels, -1 for none) and mask
//! (N × L or N × L × O, zeros and ones), each array against the others. Every refusal names the
//! file (and the array in an archive) and what is wrong: a shape, a dtype or a kind of target
//! that differs between files, N or L that differ, a NaN or an infinity (with its place), a label
//! out of range, a mask with no value set, a header that lies about the file's size.

use super::FileConfig;
use crate::data::arrays::{self, Array, Values};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// A set's arrays, checked (sample-major: sequence n, step t).
#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    /// Sequences N.
    pub n: usize,
    /// `N × L × I`.
    pub inputs: Vec<f32>,
    pub targets: Targets,
}

/// A set's targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Regression: `N × L × O` values and where they are scored (the mask, or every value).
    Values { values: Vec<f32>, mask: Vec<bool> },
    /// Classification: `N × L` labels, -1 where there is none (or where the mask is 0).
    Labels(Vec<i32>),
}

/// Every set of a file task, checked against one another.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// Steps L, inputs I, and outputs O (classification: the classes).
    pub steps: usize,
    pub inputs: usize,
    pub outputs: usize,
    pub train: Set,
    /// Given in their own files (else split from the training set by the run seed).
    pub validation: Option<Set>,
    pub test: Option<Set>,
}

/// One set's arrays, as read (from files, or handed over in memory by the Python package).
pub struct Sources {
    pub inputs: Option<Array>,
    pub targets: Option<Array>,
    pub mask: Option<Array>,
}

/// Reads and checks every array `config` names.
pub fn load(config: &FileConfig) -> Result<Loaded> {
    check(read_sources(config)?, config.classes)
}

/// Checks the training, validation and test sets' arrays against one another (`classes`: as
/// `file.classes`); every refusal names the array by its `source`.
pub fn check(sets: [Sources; 3], classes: Option<usize>) -> Result<Loaded> {
    let [train, validation, test] = sets;
    let (Some(inputs), Some(targets)) = (train.inputs, train.targets) else {
        bail!(
            "the file task needs its training inputs and targets: `file.inputs` and `file.targets` (--inputs, --targets), or `file.data`, an .npz or safetensors file holding arrays `inputs` and `targets`"
        );
    };
    let shape = Shape::of(&inputs, &targets)?;
    let train = shape.set(inputs, targets, train.mask)?;
    let mut sets = vec![train];
    for (name, s) in [("validation", validation), ("test", test)] {
        match (s.inputs, s.targets) {
            (Some(i), Some(t)) => sets.push(shape.set(i, t, s.mask)?),
            (None, None) if s.mask.is_none() => sets.push(empty()),
            (i, t) => bail!(
                "the {name} set needs both `file.{name}_inputs` and `file.{name}_targets` (given: {})",
                [("inputs", i.is_some()), ("targets", t.is_some())]
                    .iter()
                    .filter(|(_, g)| *g)
                    .map(|(k, _)| *k)
                    .chain(s.mask.is_some().then_some("mask"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    let outputs = shape.outputs(&sets, classes)?;
    let mut sets = sets.into_iter();
    let train = sets.next().expect("the training set");
    let some = |s: Set| (s.n > 0).then_some(s);
    Ok(Loaded {
        steps: shape.steps,
        inputs: shape.inputs,
        outputs,
        train,
        validation: sets.next().and_then(some),
        test: sets.next().and_then(some),
    })
}

fn empty() -> Set {
    Set {
        n: 0,
        inputs: Vec::new(),
        targets: Targets::Labels(Vec::new()),
    }
}

/// The arrays of the training, validation and test sets, from their own files or from the one
/// archive `file.data`.
fn read_sources(config: &FileConfig) -> Result<[Sources; 3]> {
    let keys = FileConfig::ARRAYS;
    let files = config.array_paths();
    if let Some(data) = &config.data {
        if let Some((key, _)) = keys.iter().zip(&files).find(|(_, p)| p.is_some()) {
            bail!(
                "`file.data` holds every array, so `file.{key}` cannot be given too; give one or the other"
            );
        }
        let found = arrays::read_archive(data, &keys)?;
        if found.iter().all(Option::is_none) {
            bail!(
                "{} holds none of the arrays {} (it holds: {})",
                data.display(),
                keys.join(", "),
                arrays::archive_names(data)?.join(", ")
            );
        }
        let mut it = found.into_iter();
        return Ok([(); 3].map(|()| Sources {
            inputs: it.next().flatten(),
            targets: it.next().flatten(),
            mask: it.next().flatten(),
        }));
    }
    let read = |p: &Option<PathBuf>| p.as_deref().map(read_one).transpose();
    let mut arrays = files
        .into_iter()
        .map(read)
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    Ok([(); 3].map(|()| Sources {
        inputs: arrays.next().flatten(),
        targets: arrays.next().flatten(),
        mask: arrays.next().flatten(),
    }))
}

/// The array of one file: a `.npy` file, or the archive's only array.
fn read_one(path: &Path) -> Result<Array> {
    if arrays::Holder::of(path)? == arrays::Holder::Npy {
        return arrays::read_npy(path);
    }
    let names = arrays::archive_names(path)?;
    let [name] = names.as_slice() else {
        bail!(
            "{} holds {} arrays ({}); give a file of one array here, or the archive as `file.data` with arrays named as the keys",
            path.display(),
            names.len(),
            names.join(", ")
        );
    };
    let mut found = arrays::read_archive(path, &[name.as_str()])?;
    Ok(found.remove(0).expect("the archive's one array"))
}

/// The sizes the training set fixes for every set: steps, inputs, outputs, and the kind of
/// target.
struct Shape {
    steps: usize,
    inputs: usize,
    /// Regression: the outputs per step; classification: `None`.
    values: Option<usize>,
    /// The training targets' file, for errors.
    targets_source: String,
}

impl Shape {
    /// The shape of the training inputs and targets.
    fn of(inputs: &Array, targets: &Array) -> Result<Shape> {
        let [_, steps, width] = dims::<3>(inputs, "N × L × I (sequences × steps × inputs)")?;
        if !inputs.is_float() {
            bail!(
                "{}: the inputs are {} integers; they must be floating point (float32 or float64)",
                inputs.source,
                inputs.dtype
            );
        }
        let values = match (&targets.values, targets.shape.len()) {
            (Values::Float(_), 3) => Some(targets.shape[2]),
            (Values::Int(_), 2) => None,
            _ => bail!(
                "{}: targets of shape {:?} and dtype {}: expected N × L × O floats (regression) or N × L integer labels (classification, -1 for none)",
                targets.source,
                targets.shape,
                targets.dtype
            ),
        };
        if values == Some(0) || width == 0 || steps == 0 {
            bail!(
                "{} and {}: a size of 0 (inputs {:?}, targets {:?})",
                inputs.source,
                targets.source,
                inputs.shape,
                targets.shape
            );
        }
        Ok(Shape {
            steps,
            inputs: width,
            values,
            targets_source: targets.source.clone(),
        })
    }

    /// One set, checked against this shape (and the training set's kind of target).
    fn set(&self, inputs: Array, targets: Array, mask: Option<Array>) -> Result<Set> {
        let [n, steps, width] = dims::<3>(&inputs, "N × L × I (sequences × steps × inputs)")?;
        if (steps, width) != (self.steps, self.inputs) || !inputs.is_float() {
            bail!(
                "{}: inputs of shape {:?} ({}), where the training inputs are {} steps × {} inputs of floats",
                inputs.source,
                inputs.shape,
                inputs.dtype,
                self.steps,
                self.inputs
            );
        }
        if n == 0 {
            bail!("{}: no sequences (N = 0)", inputs.source);
        }
        let x = finite(&inputs)?;
        let source = targets.source.clone();
        let targets = match self.values {
            Some(o) => self.regression(&inputs, &targets, mask.as_ref(), n, o)?,
            None => self.classification(&inputs, &targets, mask.as_ref(), n)?,
        };
        let scored = match &targets {
            Targets::Values { mask, .. } => mask.iter().any(|&m| m),
            Targets::Labels(l) => l.iter().any(|&l| l >= 0),
        };
        if !scored {
            let what = mask.as_ref().map_or(&source, |m| &m.source);
            bail!(
                "{what}: no value is scored (the mask is all zeros, or no label is >= 0): nothing to learn or measure"
            );
        }
        Ok(Set {
            n,
            inputs: x,
            targets,
        })
    }

    /// Regression targets `N × L × O` and their mask.
    fn regression(
        &self,
        inputs: &Array,
        targets: &Array,
        mask: Option<&Array>,
        n: usize,
        o: usize,
    ) -> Result<Targets> {
        if !targets.is_float() {
            bail!(
                "{}: integer labels ({}), but the training targets {} are float values (regression); every set's targets must be of one kind",
                targets.source,
                targets.dtype,
                self.targets_source
            );
        }
        same_n_l(inputs, targets)?;
        if targets.shape.len() != 3 || targets.shape[2] != o {
            bail!(
                "{}: targets of shape {:?}, where the training targets have {o} outputs per step",
                targets.source,
                targets.shape
            );
        }
        let values = finite(targets)?;
        let mask = match mask {
            None => vec![true; values.len()],
            Some(m) => {
                same_n_l(inputs, m)?;
                let bits = zeros_and_ones(m)?;
                match m.shape.len() {
                    2 => bits
                        .iter()
                        .flat_map(|&b| std::iter::repeat_n(b, o))
                        .collect(),
                    3 if m.shape[2] == o => bits,
                    _ => bail!(
                        "{}: a mask of shape {:?}; it must be N × L or N × L × O ({n} × {} × {o})",
                        m.source,
                        m.shape,
                        self.steps
                    ),
                }
            }
        };
        Ok(Targets::Values { values, mask })
    }

    /// Classification labels `N × L` (-1: none), the mask (if any) taking labels away.
    fn classification(
        &self,
        inputs: &Array,
        targets: &Array,
        mask: Option<&Array>,
        n: usize,
    ) -> Result<Targets> {
        let Values::Int(labels) = &targets.values else {
            bail!(
                "{}: float values ({}), but the training targets {} are integer labels (classification); every set's targets must be of one kind",
                targets.source,
                targets.dtype,
                self.targets_source
            );
        };
        same_n_l(inputs, targets)?;
        if targets.shape.len() != 2 {
            bail!(
                "{}: labels of shape {:?}; they must be N × L",
                targets.source,
                targets.shape
            );
        }
        let mut out = Vec::with_capacity(labels.len());
        for (i, &l) in labels.iter().enumerate() {
            if !(-1..=i64::from(i32::MAX)).contains(&l) {
                let (s, t) = (i / self.steps, i % self.steps);
                bail!(
                    "{}: label {l} at sequence {s}, step {t} is out of range (labels are classes >= 0, or -1 for none)",
                    targets.source
                );
            }
            out.push(l as i32);
        }
        if let Some(m) = mask {
            same_n_l(inputs, m)?;
            if m.shape.len() != 2 {
                bail!(
                    "{}: a mask of shape {:?}; with labels it must be N × L ({n} × {})",
                    m.source,
                    m.shape,
                    self.steps
                );
            }
            for (l, keep) in out.iter_mut().zip(zeros_and_ones(m)?) {
                if !keep {
                    *l = -1;
                }
            }
        }
        Ok(Targets::Labels(out))
    }

    /// The readout's size: the regression outputs, or the classes (`classes`, or the largest
    /// label + 1), every label checked against it.
    fn outputs(&self, sets: &[Set], classes: Option<usize>) -> Result<usize> {
        if let Some(o) = self.values {
            return Ok(o);
        }
        let labels = |s: &Set| match &s.targets {
            Targets::Labels(l) => l.iter().copied().max().unwrap_or(-1),
            Targets::Values { .. } => -1,
        };
        let largest = sets.iter().map(labels).max().unwrap_or(-1);
        match classes {
            None => Ok((largest + 1).max(1) as usize),
            Some(c) if (largest as i64) < c as i64 => Ok(c),
            Some(c) => bail!(
                "a label is {largest}, out of range for `file.classes` = {c} (labels 0 to {})",
                c.saturating_sub(1)
            ),
        }
    }
}

/// The array's dimensions, when it has `R` of them.
fn dims<const R: usize>(a: &Array, what: &str) -> Result<[usize; R]> {
    a.shape
        .as_slice()
        .try_into()
        .ok()
        .with_context(|| format!("{}: shape {:?}; it must be {what}", a.source, a.shape))
}

/// Refuses `b` unless its N and L are `a`'s, naming both.
fn same_n_l(a: &Array, b: &Array) -> Result<()> {
    if b.shape.len() < 2 || b.shape[..2] != a.shape[..2] {
        bail!(
            "{} has shape {:?} but {} has shape {:?}: their sequences N and steps L must agree",
            b.source,
            b.shape,
            a.source,
            a.shape
        );
    }
    Ok(())
}

/// A float array's values, refusing NaN and infinity (naming the first, and its place).
fn finite(a: &Array) -> Result<Vec<f32>> {
    let Values::Float(v) = &a.values else {
        bail!(
            "{}: {} integers where floats are expected",
            a.source,
            a.dtype
        );
    };
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        let inner: usize = a.shape[1..].iter().product();
        let (s, rest) = (i / inner.max(1), i % inner.max(1));
        let per_step: usize = a.shape[2..].iter().product();
        bail!(
            "{}: {} at sequence {s}, step {}, unit {} (value {i}); every value must be finite",
            a.source,
            v[i],
            rest / per_step.max(1),
            rest % per_step.max(1)
        );
    }
    Ok(v.clone())
}

/// A mask's values as booleans, refusing anything but 0 and 1.
fn zeros_and_ones(m: &Array) -> Result<Vec<bool>> {
    let bad = |i: usize, v: String| {
        anyhow::anyhow!(
            "{}: the mask holds {v} (value {i}); a mask holds only 0 and 1",
            m.source
        )
    };
    match &m.values {
        Values::Float(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| match x {
                0.0 => Ok(false),
                1.0 => Ok(true),
                _ => Err(bad(i, x.to_string())),
            })
            .collect(),
        Values::Int(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| match x {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(bad(i, x.to_string())),
            })
            .collect(),
    }
}
