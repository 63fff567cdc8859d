use ccdni::cortex::CellKind;
use ccdni::model::{CerebellumSpec, Model, ModelSpec};
use ccdni::tasks::{
    Task,
    reach::{Reach, ReachConfig},
};
use ccdni::trainer::{TrainOptions, Trainer};
fn main() {
    let cb = std::env::args().nth(1).is_some();
    let spec = ModelSpec {
        cell: CellKind::Lstm,
        input: 1,
        hidden: 50,
        output: 2,
        cerebellum: cb.then_some(CerebellumSpec {
            granule: 400,
            layers: 2,
            sparse_k: None,
            context: 0,
        }),
    };
    let task = Reach::new(ReachConfig::default(), 0, 50);
    let batches: Vec<_> = (0..16).map(|i| task.train_batch(0, i, 50)).collect();
    let mut tr = Trainer::new(Model::<f32>::new(&spec, 0), TrainOptions::default());
    let t = std::time::Instant::now();
    for i in 0..3000 {
        tr.train_batch(&batches[i % 16]);
    }
    println!("{:?} per batch", t.elapsed() / 3000);
}
