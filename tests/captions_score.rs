//! The caption scores against the COCO caption evaluation itself: runs
//! `scripts/captions_score_fixtures.py` (pycocoevalcap, whose tokenizer needs Java) into a
//! temporary folder and checks that ccdni's BLEU and CIDEr-D agree with what it computes there,
//! to 1e-6, and that the committed fixtures are what it computes. Needs a Python
//! (`$CCDNI_PYTHON`, else `python3`) with pycocoevalcap, and `java`; without them the test says
//! so on stderr and passes (the committed fixtures are checked by the unit tests regardless).

use ccdni::captions::score::evaluate;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn python() -> String {
    std::env::var("CCDNI_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn reference_ready() -> bool {
    let ready = Command::new(python())
        .args([
            "-c",
            "import pycocoevalcap.bleu.bleu, pycocoevalcap.cider.cider",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("java")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED captions_score: no {} with pycocoevalcap, or no java (pip install pycocoevalcap; a Java runtime)",
            python()
        );
    }
    ready
}

fn read(path: &Path) -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn scores_agree_with_the_coco_caption_evaluation_run_now() {
    if !reference_ready() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(python())
        .arg(root.join("scripts/captions_score_fixtures.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = read(&dir.path().join("cases.json"));
    let committed = read(&root.join("tests/fixtures/captions_score/cases.json"));
    assert_eq!(fresh.len(), committed.len());
    for (case, old) in fresh.iter().zip(&committed) {
        let name = case["name"].as_str().unwrap();
        assert_eq!(case["refs"], old["refs"], "{name}");
        let ids = |v: &Value| -> BTreeMap<u64, Value> {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), v.clone()))
                .collect()
        };
        let refs = ids(&case["refs"])
            .into_iter()
            .map(|(k, v)| {
                let caps = v.as_array().unwrap().iter();
                (k, caps.map(|c| c.as_str().unwrap().to_string()).collect())
            })
            .collect();
        let hyps = ids(&case["hyps"])
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
            .collect();
        let s = evaluate(&refs, &hyps).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
        for n in 0..4 {
            let want = case["bleu"][n].as_f64().unwrap();
            assert!(
                close(s.bleu[n], want),
                "{name}: BLEU-{} {} vs {want}",
                n + 1,
                s.bleu[n]
            );
            let before = old["bleu"][n].as_f64().unwrap();
            assert!(
                close(before, want),
                "{name}: the committed BLEU-{} is stale",
                n + 1
            );
        }
        let want = case["cider_d"].as_f64().unwrap();
        assert!(
            close(s.cider_d, want),
            "{name}: CIDEr-D {} vs {want}",
            s.cider_d
        );
        assert!(
            close(old["cider_d"].as_f64().unwrap(), want),
            "{name}: stale CIDEr-D"
        );
    }
}
