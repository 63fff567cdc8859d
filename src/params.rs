//! Flat parameter storage. All parameters of a model live in one `Vec<T>` (and their gradients
//! in another of the same layout), so clipping and the optimizer are single loops; each layer
//! remembers where its tensors sit.

use std::ops::Range;

/// One named tensor inside the flat parameter vector (PyTorch name and row-major shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub range: Range<usize>,
}

/// The table of tensors of a model, in order.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub tensors: Vec<Tensor>,
}

impl Layout {
    /// Appends a tensor and returns the range it occupies.
    pub fn add(&mut self, name: &str, shape: &[usize]) -> Range<usize> {
        let start = self.len();
        let range = start..start + shape.iter().product::<usize>();
        self.tensors.push(Tensor {
            name: name.to_string(),
            shape: shape.to_vec(),
            range: range.clone(),
        });
        range
    }

    /// Total number of scalars.
    pub fn len(&self) -> usize {
        self.tensors.last().map_or(0, |t| t.range.end)
    }

    /// True when no tensor has been added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}
