use super::*;
use crate::analysis::learning::Measure;

#[test]
fn series_are_mean_and_sem_over_seeds_per_epoch() {
    let rec = |seed, epoch, value| LearningRecord {
        model: "ccRNN".into(),
        seed,
        epoch,
        measures: vec![Measure {
            population: "cortex".into(),
            measure: "coding_space",
            value,
        }],
    };
    let records = [rec(0, 1, 1.0), rec(1, 1, 3.0), rec(0, 2, 5.0)];
    let s = series(&records, "ccRNN", "cortex", "coding_space");
    assert_eq!(s.x, [1.0, 2.0]);
    assert_eq!(s.mean, [2.0, 5.0]);
    assert_eq!(s.sem[0], 1.0);
    assert!(
        series(&records, "cRNN", "cortex", "coding_space")
            .x
            .is_empty()
    );
}
