//! Agreement of `ccdni::captions::score` with pycocoevalcap 1.2: the committed fixtures
//! (tests/fixtures/captions_score/, made by scripts/captions_score_fixtures.py) need nothing but
//! Rust; the live cross-check runs the reference package when python3 with pycocoevalcap and
//! Java are here, and says on stderr that it is skipped otherwise.

use ccdni::captions::score::{Scores, evaluate, line_break, ptb_tokenize_batch};
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

/// The differences between `got` and pycocoevalcap's words `want` (space-joined) of `captions`,
/// one line each.
fn token_differences(captions: &[String], got: &[Vec<String>], want: &[String]) -> Vec<String> {
    assert_eq!(got.len(), want.len());
    captions
        .iter()
        .zip(got.iter().zip(want))
        .filter(|(_, (g, w))| g.join(" ") != **w)
        .map(|(c, (g, w))| format!("{c:?}: got {g:?}, Stanford PTB {w:?}"))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn assert_no_differences(what: &str, wrong: &[String]) {
    assert!(
        wrong.is_empty(),
        "{what}: {} captions tokenised differently:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn tokenizer_agrees_with_stanford_ptb_fixtures() {
    // tokenizer.json was tokenised as one batch, as a scorer tokenises all its captions.
    let cases = fixture("tokenizer.json");
    let cases = cases.as_array().unwrap();
    let inputs: Vec<String> = cases
        .iter()
        .map(|c| c["input"].as_str().unwrap().into())
        .collect();
    let want: Vec<String> = cases
        .iter()
        .map(|c| strings(&c["tokens"]).join(" "))
        .collect();
    let wrong = token_differences(&inputs, &ptb_tokenize_batch(&inputs), &want);
    assert_no_differences("tokenizer.json", &wrong);

    let fuzz = fixture("tokenizer_fuzz.json");
    let (captions, want) = (strings(&fuzz["captions"]), strings(&fuzz["tokens"]));
    assert!(captions.len() >= 1000);
    let wrong = token_differences(&captions, &ptb_tokenize_batch(&captions), &want);
    assert_no_differences("tokenizer_fuzz.json", &wrong);
}

/// tests/fixtures/captions_score/categories.json.gz: a corpus per category of characters.
fn categories() -> Value {
    use std::io::Read;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/captions_score/categories.json.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_category_of_characters_tokenises_and_scores_as_pycocoevalcap() {
    let corpora = categories();
    let mut images_seen = 0;
    for category in corpora["categories"].as_array().unwrap() {
        let name = category["name"].as_str().unwrap();
        let images = category["images"].as_array().unwrap();
        assert!(images.len() >= 200, "{name}");
        // The references are one batch, image after image; the hypotheses another.
        let refs: Vec<String> = images
            .iter()
            .flat_map(|i| strings(&i["references"]))
            .collect();
        let ref_words: Vec<String> = images
            .iter()
            .flat_map(|i| strings(&i["reference_tokens"]))
            .collect();
        let wrong = token_differences(&refs, &ptb_tokenize_batch(&refs), &ref_words);
        assert_no_differences(&format!("{name} references"), &wrong);
        let hyps: Vec<String> = images
            .iter()
            .map(|i| i["hypothesis"].as_str().unwrap().into())
            .collect();
        let hyp_words: Vec<String> = images
            .iter()
            .map(|i| i["hypothesis_tokens"].as_str().unwrap().into())
            .collect();
        let wrong = token_differences(&hyps, &ptb_tokenize_batch(&hyps), &hyp_words);
        assert_no_differences(&format!("{name} hypotheses"), &wrong);

        let (refs, hyps) = inputs(category);
        let got = evaluate(&refs, &hyps).unwrap();
        let per_image: Vec<Value> = hyps
            .keys()
            .zip(category["per_image_cider_d"].as_array().unwrap())
            .map(|(id, c)| serde_json::json!({"image_id": id, "cider_d": c}))
            .collect();
        let want = serde_json::json!({
            "bleu": category["bleu"], "cider_d": category["cider_d"], "per_image_cider_d": per_image
        });
        assert_agrees(name, &got, &want);
        images_seen += images.len();
    }
    assert!(images_seen >= 3000, "{images_seen}");
}

#[test]
fn a_line_break_inside_a_caption_is_the_one_known_difference() {
    // pycocoevalcap's Java tokenizer starts a new output line at \r or U+2028, so every later
    // caption of the batch gets its predecessor's line; ccdni keeps each caption on its own
    // line, and `ccdni score` refuses such captions (tests/captions_score_cli.rs).
    let record = &fixture("tokenizer_fuzz.json")["line_breaks"];
    let (captions, java) = (strings(&record["captions"]), strings(&record["tokens"]));
    assert_eq!(
        java,
        ["a dog", "on a couch", "a red bus", "two cats", "sleeping"]
    );
    let ours: Vec<String> = ptb_tokenize_batch(&captions)
        .iter()
        .map(|words| words.join(" "))
        .collect();
    assert_eq!(
        ours,
        [
            "a dog on a couch",
            "a red bus",
            "two cats sleeping",
            "a man",
            "a horse"
        ]
    );
    assert_eq!(line_break(&captions[0]), Some('\r'));
    assert_eq!(line_break(&captions[2]), Some('\u{2028}'));
    assert_eq!(line_break("a dog\non a couch"), None);
}

/// Java's option that keeps it from writing `/tmp/hsperfdata_<user>` (tests leave nothing in /tmp).
const NO_PERF_DATA: &str = "-XX:-UsePerfData";

/// The python3 to run the reference with: $CCDNI_PYCOCOEVALCAP_PYTHON, else `python3`, if it
/// imports pycocoevalcap and `java` runs; otherwise says on the real stderr (not the harness's
/// capture, so the skip is visible) that `test` is skipped.
fn reference_python(test: &str) -> Option<PathBuf> {
    let python =
        std::env::var_os("CCDNI_PYCOCOEVALCAP_PYTHON").map_or("python3".into(), PathBuf::from);
    let imports = Command::new(&python)
        .args(["-c", "import pycocoevalcap"])
        .output();
    let java = Command::new("java")
        .arg("-version")
        .env("JAVA_TOOL_OPTIONS", NO_PERF_DATA)
        .output();
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
        "the dog’s toy 🐶 — «sale» on plan B...",
        "a café\u{301} at 3:30pm, ½ off at&amp;t",
        "small a.",
        "In the U.S.-based co\u{ad}op 5'10\" 'em",
    ];
    let images: Vec<Value> = (0..12u64)
        .map(|i| {
            let refs: Vec<String> = (0..3).map(|j| format!("{} {}", phrases[((i + j) % 8) as usize], phrases[(j % 8) as usize])).collect();
            serde_json::json!({"image_id": 100 + i, "references": refs, "hypothesis": phrases[(i % 8) as usize]})
        })
        .collect();
    let case = serde_json::json!({ "images": images });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.json");
    std::fs::write(&path, case.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/captions_score_fixtures.py");
    let out = Command::new(python)
        .env("JAVA_TOOL_OPTIONS", NO_PERF_DATA)
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

    // And the phrases as one tokeniser batch, each also cut in two at every space.
    let mut batch: Vec<String> = phrases.iter().map(|p| p.to_string()).collect();
    for p in phrases {
        for (k, _) in p.match_indices(' ') {
            batch.extend([p[..k].to_string(), p[k + 1..].to_string()]);
        }
    }
    std::fs::write(&path, serde_json::to_string(&batch).unwrap()).unwrap();
    let out = Command::new(reference_python("live").unwrap())
        .env("JAVA_TOOL_OPTIONS", NO_PERF_DATA)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/captions_score_fixtures.py"))
        .arg("--tokenize")
        .arg(&path)
        .output()
        .unwrap();
    let want: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let want: Vec<String> = want.iter().map(|w| w.join(" ")).collect();
    let wrong = token_differences(&batch, &ptb_tokenize_batch(&batch), &want);
    assert_no_differences("live", &wrong);
}

#[test]
fn files_score_as_coco_eval_cap_scores_them() {
    // files/: a reference file with integer, float and string ids in no sorted order, an image
    // without captions and references without words; files/expected.json is what
    // COCOEvalCap.evaluate (Bleu and Cider) made of them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/captions_score/files");
    let got = ccdni::captions::score_files_json(&dir.join("refs.json"), &dir.join("results.json"))
        .unwrap();
    let want = fixture("files/expected.json");
    let pairs = [
        (got.bleu_1, "Bleu_1"),
        (got.bleu_2, "Bleu_2"),
        (got.bleu_3, "Bleu_3"),
        (got.bleu_4, "Bleu_4"),
        (got.cider, "CIDEr"),
    ];
    for (g, name) in pairs {
        let w = want[name].as_f64().unwrap();
        assert!(close(g, w), "{name}: got {g}, pycocoevalcap {w}");
    }
    let per_image = want["per_image"].as_array().unwrap();
    assert!(per_image.len() >= 200);
    assert_eq!(got.images, per_image.len());
    for (g, w) in got.per_image.iter().zip(per_image) {
        let id = ccdni::captions::coco::ImageId::from_json(&w["image_id"]).unwrap();
        assert_eq!(g.image_id, id, "evaluation order");
        let c = w["CIDEr"].as_f64().unwrap();
        assert!(
            close(g.cider, c),
            "image {id}: got {}, pycocoevalcap {c}",
            g.cider
        );
    }
}
