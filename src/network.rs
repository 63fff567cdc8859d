//! A trained network as a task measures it: a one-area cortex ([`crate::model::Model`]) or a
//! cortex of two areas in a chain ([`crate::areas::ChainAt`]). A task sees only what the network
//! reads out for each of its batches, so its measures (the conditioned responses of eyeblink,
//! the produced intervals, the drawn trajectories) are taken the same way from either.

use crate::batch::Batch;
use crate::loss::EvalMetrics;

/// A network that runs whole sequences from the zero state, without truncation and without
/// the backward cerebellum (which only teaches), and reads out every step.
pub trait Network {
    /// The measures of the targets of `batches` (docs/model.md §5), showing each batch's
    /// readout (time-major, `steps · batch × outputs`) to `look` as well: a task's own measures
    /// are taken from it.
    fn evaluate_with(
        &self,
        batches: &[Batch<f32>],
        look: &mut dyn FnMut(&Batch<f32>, &[f32]),
    ) -> EvalMetrics;

    /// The readout of one batch (`steps · batch × outputs`).
    fn read_out(&self, batch: &Batch<f32>) -> Vec<f32> {
        let mut y = Vec::new();
        self.evaluate_with(std::slice::from_ref(batch), &mut |_, out| y = out.to_vec());
        y
    }
}
