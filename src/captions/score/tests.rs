//! Agreement with pycocoevalcap on the cases of `tests/fixtures/captions_score/cases.json`
//! (made by `scripts/captions_score_fixtures.py` with the reference package itself).

use super::*;
use serde_json::Value;

fn map<T>(v: &Value, f: impl Fn(&Value) -> T) -> BTreeMap<u64, T> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), f(v)))
        .collect()
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: {got} vs pycocoevalcap's {want}"
    );
}

#[test]
fn scores_agree_with_pycocoevalcap() {
    let text = include_str!("../../../tests/fixtures/captions_score/cases.json");
    let cases: Vec<Value> = serde_json::from_str(text).unwrap();
    assert!(cases.len() >= 10);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let refs = map(&case["refs"], |v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        });
        let hyps = map(&case["hyps"], |v| v.as_str().unwrap().to_string());
        let s = evaluate(&refs, &hyps).unwrap();
        for n in 0..4 {
            let want = case["bleu"][n].as_f64().unwrap();
            close(&format!("{name}: BLEU-{}", n + 1), s.bleu[n], want);
        }
        close(
            &format!("{name}: CIDEr-D"),
            s.cider_d,
            case["cider_d"].as_f64().unwrap(),
        );
        let per_image = map(&case["per_image_cider_d"], |v| v.as_f64().unwrap());
        for (id, want) in per_image {
            close(
                &format!("{name}: CIDEr-D of image {id}"),
                s.per_image_cider_d[&id],
                want,
            );
        }
    }
}

#[test]
fn an_image_without_references_is_an_error() {
    let refs = BTreeMap::from([(1, vec!["a cat".to_string()])]);
    let hyps = BTreeMap::from([(2, "a cat".to_string())]);
    let e = evaluate(&refs, &hyps).unwrap_err().to_string();
    assert!(e.contains("image id 2"), "{e}");
    assert!(evaluate(&refs, &BTreeMap::new()).is_err());
}

#[test]
fn results_files_round_trip_and_bad_ones_name_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    let captions = BTreeMap::from([(3, "a red ball".to_string()), (9, "".to_string())]);
    write_results(&path, &captions).unwrap();
    assert_eq!(read_results(&path).unwrap(), captions);
    let bad = [
        ("{", "not valid JSON"),
        ("{}", "JSON list"),
        (r#"[{"caption": "x"}]"#, "entry 0 has no integer `image_id`"),
        (
            r#"[{"image_id": -1, "caption": "x"}]"#,
            "entry 0 has no integer `image_id`",
        ),
        (
            r#"[{"image_id": 4, "caption": 5}]"#,
            "entry 0 (image_id 4) has no string `caption`",
        ),
        (
            r#"[{"image_id": 4, "caption": "a"}, {"image_id": 4, "caption": "b"}]"#,
            "entry 1 gives image_id 4 a second caption",
        ),
    ];
    for (text, want) in bad {
        std::fs::write(&path, text).unwrap();
        let e = read_results(&path).unwrap_err().to_string();
        assert!(
            e.contains(want) && e.contains("results.json"),
            "{text}: {e}"
        );
    }
}
