//! Agreement of `ccdni::captions::score` with pycocoevalcap 1.2: the committed fixtures
//! (tests/fixtures/captions_score/, made by scripts/captions_score_fixtures.py) need nothing but
//! Rust; the live cross-check runs the reference package when python3 with pycocoevalcap and
//! Java are here, and says on stderr that it is skipped otherwise.

use ccdni::captions::score::{Scores, evaluate, ptb_tokenize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/captions_score")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

type Case = (BTreeMap<u64, Vec<String>>, BTreeMap<u64, String>);

fn inputs(case: &Value) -> Case {
    let mut refs = BTreeMap::new();
    let mut hyps = BTreeMap::new();
    for image in case["images"].as_array().unwrap() {
        let id = image["image_id"].as_u64().unwrap();
        let references = image["references"].as_array().unwrap();
        refs.insert(
            id,
            references
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
        );
        hyps.insert(id, image["hypothesis"].as_str().unwrap().to_string());
    }
    (refs, hyps)
}

/// Agreement to 1e-9 absolute, or relative for scores above 1 (CIDEr-D reaches ~10).
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

fn assert_agrees(name: &str, got: &Scores, want: &Value) {
    for (n, (g, w)) in got
        .bleu
        .iter()
        .zip(want["bleu"].as_array().unwrap())
        .enumerate()
    {
        let w = w.as_f64().unwrap();
        assert!(
            close(*g, w),
            "{name}: Bleu_{}: got {g}, pycocoevalcap {w}",
            n + 1
        );
    }
    let cider = want["cider_d"].as_f64().unwrap();
    assert!(
        close(got.cider_d, cider),
        "{name}: CIDEr: got {}, pycocoevalcap {cider}",
        got.cider_d
    );
    let per_image = want["per_image_cider_d"].as_array().unwrap();
    assert_eq!(got.per_image_cider_d.len(), per_image.len(), "{name}");
    for image in per_image {
        let id = image["image_id"].as_u64().unwrap();
        let (g, w) = (
            got.per_image_cider_d[&id],
            image["cider_d"].as_f64().unwrap(),
        );
        assert!(
            close(g, w),
            "{name}: image {id}: CIDEr-D got {g}, pycocoevalcap {w}"
        );
    }
}

#[test]
fn scores_agree_with_pycocoevalcap_fixtures() {
    for case in fixture("scores.json").as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (refs, hyps) = inputs(case);
        let got = evaluate(&refs, &hyps).unwrap();
        assert_eq!(got.images, hyps.len());
        assert_agrees(name, &got, case);
    }
}

#[test]
fn tokenizer_agrees_with_stanford_ptb_fixtures() {
    let mut wrong = Vec::new();
    for case in fixture("tokenizer.json").as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        let want: Vec<&str> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let got = ptb_tokenize(input);
        if got != want {
            wrong.push(format!("{input:?}: got {got:?}, Stanford PTB {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} strings tokenised differently:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The python3 to run the reference with: $CCDNI_PYCOCOEVALCAP_PYTHON, else `python3`, if it
/// imports pycocoevalcap and `java` runs; otherwise says on the real stderr (not the harness's
/// capture, so the skip is visible) that `test` is skipped.
fn reference_python(test: &str) -> Option<PathBuf> {
    let python =
        std::env::var_os("CCDNI_PYCOCOEVALCAP_PYTHON").map_or("python3".into(), PathBuf::from);
    let imports = Command::new(&python)
        .args(["-c", "import pycocoevalcap"])
        .output();
    let java = Command::new("java").arg("-version").output();
    let ready = imports.is_ok_and(|o| o.status.success()) && java.is_ok_and(|o| o.status.success());
    if !ready {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED {test}: needs {} with pycocoevalcap (pip install pycocoevalcap==1.2; or set \
             CCDNI_PYCOCOEVALCAP_PYTHON) and java on PATH",
            python.display()
        );
    }
    ready.then_some(python)
}

#[test]
fn live_cross_check_with_pycocoevalcap() {
    let Some(python) = reference_python("live_cross_check_with_pycocoevalcap") else {
        return;
    };
    // A case not in the fixtures: captions with mixed punctuation over 12 images.
    let phrases = [
        "A man's bike (red).",
        "two dogs -- playing!",
        "a cat, sleeping",
        "Isn't it \"big\"?",
    ];
    let images: Vec<Value> = (0..12u64)
        .map(|i| {
            let refs: Vec<String> = (0..3).map(|j| format!("{} {}", phrases[((i + j) % 4) as usize], phrases[(j % 4) as usize])).collect();
            serde_json::json!({"image_id": 100 + i, "references": refs, "hypothesis": phrases[(i % 4) as usize]})
        })
        .collect();
    let case = serde_json::json!({ "images": images });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.json");
    std::fs::write(&path, case.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/captions_score_fixtures.py");
    let out = Command::new(python)
        .arg(script)
        .arg("--score")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (refs, hyps) = inputs(&case);
    assert_agrees("live", &evaluate(&refs, &hyps).unwrap(), &want);
}
