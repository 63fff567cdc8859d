//! A task defined outside the crate (`examples/custom_task.rs`) trains, reports its own measure
//! and goes on from its folder like a built-in one; a configuration naming a task no program
//! registered is refused, saying how to register one.

#[allow(dead_code)]
#[path = "../examples/custom_task.rs"]
mod example;

use ccdni::config::{Config, TaskKind};

#[test]
fn the_example_task_trains_reports_and_goes_on_from_its_folder() {
    example::register();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("job");
    let spec = example::experiment(6, 2, vec![0, 1]).unwrap();
    let text = example::train(spec.clone(), &out).unwrap();
    assert!(text.contains("test recalled"), "{text}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(",train_seconds,validation_recalled,test_recalled"),
        "{header}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + 3 * 2 * 2,
        "3 variants x 2 seeds x 2 epochs"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"recalled\""), "{summary}");
    // Opened again, the finished job is loaded from its folder and reported the same.
    let again = example::train(spec, &out).unwrap();
    let table = |t: &str| {
        t.lines()
            .filter(|l| !l.contains("train s"))
            .map(|l| l.rsplit_once(' ').map_or(l, |p| p.0).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&again)[1..], table(&text)[1..]);
}

#[test]
fn a_task_no_program_registered_is_refused_naming_the_remedy() {
    let mut c = Config::defaults(TaskKind::Custom);
    c.custom.name = "nobody-registered-this".into();
    let msg = format!("{:#}", c.validate().unwrap_err());
    assert!(
        msg.contains("no task is registered under that name"),
        "{msg}"
    );
    assert!(msg.contains("register_task"), "{msg}");
}
