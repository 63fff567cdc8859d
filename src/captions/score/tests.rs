//! Unit tests of each piece; agreement with pycocoevalcap is in tests/captions_score.rs.

use super::*;
use crate::captions::coco::ImageId;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn image(references: &[&str], hypothesis: &str) -> Image {
    Image {
        references: references.iter().map(|r| words(r)).collect(),
        hypothesis: words(hypothesis),
    }
}

#[test]
fn ptb_splits_clitics_punctuation_and_keeps_compounds() {
    let cases = [
        ("The dog's ball isn't red.", "the dog 's ball is n't red"),
        ("I'd've said O'Neil's", "i 'd 've said o'neil 's"),
        ("can't won't cannot gonna", "ca n't wo n't can not gon na"),
        ("A (small) cat", "a -lrb- small -rrb- cat"),
        (
            "well-known 1,000 3.50 3:30 -5",
            "well-known 1,000 3.50 3:30 -5",
        ),
        ("\"Hi,\" she said... what?!", "hi she said what ?!"),
        (
            "In the U.S. with Dr. Who etc.",
            "in the u.s. with dr. who etc.",
        ),
        ("James' hat, '90s 'tis", "james hat '90s 't is"),
        ("A---B --", "a b"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(ptb_tokenize(input), words(expected), "tokenising {input:?}");
    }
}

#[test]
fn bleu_of_an_exact_match_is_one_up_to_the_epsilons() {
    let bleu = bleu::corpus_bleu(&[image(&["a cat on a mat"], "a cat on a mat")]);
    for b in bleu {
        assert!((b - 1.0).abs() < 1e-9, "{bleu:?}");
    }
}

#[test]
fn bleu_clips_counts_and_breaks_length_ties_towards_the_shorter_reference() {
    // Unigrams: "the" x3 clipped to 1, "cat" 1 -> 2 correct of 4; hyp length 4 is equidistant
    // from 3 and 5, the shorter (3) is taken, so no brevity penalty.
    let bleu = bleu::corpus_bleu(&[image(
        &["the cat sat", "a big cat is here"],
        "the the the cat",
    )]);
    let expected = (2.0 + 1e-15) / (4.0 + 1e-9);
    assert_eq!(bleu[0], expected);
    // The same hypothesis against only the longer reference pays the brevity penalty.
    let longer = bleu::corpus_bleu(&[image(&["a big cat is here"], "the the the cat")]);
    let ratio: f64 = (4.0 + 1e-15) / (5.0 + 1e-9);
    assert!((longer[0] - ((1.0 + 1e-15) / (4.0 + 1e-9)) * (1.0 - 1.0 / ratio).exp()).abs() < 1e-12);
}

#[test]
fn cider_d_is_zero_for_one_image_and_for_an_empty_hypothesis() {
    assert_eq!(cider::cider_d(&[image(&["a cat"], "a cat")]), vec![0.0]);
    let scores = cider::cider_d(&[image(&["a cat on a mat"], ""), image(&["a dog"], "a dog")]);
    assert_eq!(scores[0], 0.0);
    assert!(scores[1] > 0.0);
}

#[test]
fn cider_d_length_penalty_counts_bigrams() {
    // Hypotheses of one word and of no words both have 0 bigrams: the reference code's
    // "length", so δ = 0 - 1 for reference "red bus" either way; the unigram score of "red"
    // alone is then exp(-1/72) times the un-penalised cosine.
    let images = [image(&["red bus"], "red"), image(&["a dog"], "a dog")];
    let ln2 = 2f64.ln();
    let cosine = ln2 * ln2 / (ln2 * (2.0 * ln2 * ln2).sqrt());
    let expected = 10.0 * cosine * (-1.0f64 / 72.0).exp() / 4.0;
    assert!((cider::cider_d(&images)[0] - expected).abs() < 1e-12);
}

#[test]
fn evaluate_names_an_image_without_references() {
    let refs = BTreeMap::from([(1, vec!["a cat".to_string()]), (2, vec![])]);
    let unknown = BTreeMap::from([(7, "a cat".to_string())]);
    let err = evaluate(&refs, &unknown).unwrap_err().to_string();
    assert_eq!(
        err,
        "results file has image id 7 that is not in the references"
    );
    let empty = BTreeMap::from([(2, "a cat".to_string())]);
    assert!(
        evaluate(&refs, &empty)
            .unwrap_err()
            .to_string()
            .contains("image id 2")
    );
    assert!(evaluate(&refs, &BTreeMap::new()).is_err());
}

#[test]
fn table_prints_the_coco_metric_lines() {
    let scores = Scores {
        bleu: [0.70612, 0.5, 0.25, 0.125],
        cider_d: 0.9124,
        per_image_cider_d: BTreeMap::new(),
        images: 0,
    };
    let expected = "Bleu_1: 0.706\nBleu_2: 0.500\nBleu_3: 0.250\nBleu_4: 0.125\nCIDEr: 0.912\n";
    assert_eq!(scores.table(), expected);
}

#[test]
fn results_round_trip_and_bad_files_name_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    let captions = BTreeMap::from([(3, "a \"quoted\" cat".to_string()), (1, "a dog".into())]);
    write_results(&path, &captions).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("[{\"image_id\":1,\"caption\":\"a dog\"}"),
        "{text}"
    );
    let read = read_results(&path).unwrap();
    let numbered = |(id, c): (&u64, &String)| (ImageId::Number(*id as i64), c.clone());
    assert_eq!(read, captions.iter().map(numbered).collect());

    let bad = [
        ("{\"image_id\": 1}", "expected a JSON array"),
        (
            "[{\"image_id\": 1, \"caption\": \"a\"}, {\"caption\": \"b\"}]",
            "entry 1",
        ),
        (
            "[{\"image_id\": 1.5, \"caption\": \"a\"}]",
            "\"image_id\" must be an integer or a string, found 1.5",
        ),
        (
            "[{\"image_id\": true, \"caption\": \"a\"}]",
            "must be an integer or a string, found true",
        ),
        (
            "[{\"image_id\": 1, \"caption\": \"a\"}, {\"image_id\": 1.0, \"caption\": \"b\"}]",
            "entry 1: image id 1 already has a caption",
        ),
        ("[{\"image_id\": 1, \"caption\": 5}]", "must be a string"),
        (
            "[{\"image_id\": 1, \"caption\": \"a\"}, {\"image_id\": 1, \"caption\": \"b\"}]",
            "entry 1: image id 1 already has a caption",
        ),
        ("[{\"image_id\": 1, ", "not valid JSON"),
    ];
    for (contents, message) in bad {
        std::fs::write(&path, contents).unwrap();
        let err = format!("{:#}", read_results(&path).unwrap_err());
        assert!(
            err.contains(message) && err.contains("results.json"),
            "{contents}: {err}"
        );
    }
    let missing = dir.path().join("missing.json");
    assert!(format!("{:#}", read_results(&missing).unwrap_err()).contains("missing.json"));
}

#[test]
fn results_ids_are_integers_integral_floats_or_strings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    let text = r#"[{"image_id": 1.0, "caption": "a"}, {"image_id": -4, "caption": "b"},
                   {"image_id": "1", "caption": "c"}, {"image_id": 2e0, "caption": "d"}]"#;
    std::fs::write(&path, text).unwrap();
    let read = read_results(&path).unwrap();
    let ids: Vec<&ImageId> = read.keys().collect();
    assert_eq!(
        ids,
        [
            &ImageId::Number(-4),
            &ImageId::Number(1),
            &ImageId::Number(2),
            &ImageId::Text("1".into())
        ]
    );
}

#[test]
fn evaluation_order_decides_the_sentence_boundary_across_references() {
    // "small a." keeps its period unless the next reference of the batch opens a sentence
    // with "In" ...: the references are one batch, image after image.
    let refs = [
        "a sign with a small a.".to_string(),
        "In a room".to_string(),
    ];
    let (first, second) = (&refs[..1], &refs[1..]);
    let hyp = "a sign with a small a";
    let forward = evaluate_in_order(&[(1, first, hyp), (2, second, "in a room")]).unwrap();
    let backward = evaluate_in_order(&[(2, second, "in a room"), (1, first, hyp)]).unwrap();
    // In forward order "a." loses its period, so the hypothesis matches exactly.
    assert!((forward.bleu[3] - 1.0).abs() < 1e-9, "{forward:?}");
    assert!(backward.bleu[3] < 0.9, "{backward:?}");
}

#[test]
fn a_reference_without_words_still_counts() {
    let refs = BTreeMap::from([
        (1, vec!["a cat on a mat".to_string(), "...".into()]),
        (2, vec!["a dog".to_string()]),
    ]);
    let hyps = BTreeMap::from([(1, "a cat on a mat".to_string()), (2, "a dog".into())]);
    let scores = evaluate(&refs, &hyps).unwrap();
    // The empty reference halves image 1's CIDEr-D (its similarity is 0) ...
    let alone = evaluate(
        &BTreeMap::from([
            (1, vec!["a cat on a mat".to_string()]),
            (2, vec!["a dog".into()]),
        ]),
        &hyps,
    )
    .unwrap();
    let (with, without) = (scores.per_image_cider_d[&1], alone.per_image_cider_d[&1]);
    assert!((with - without / 2.0).abs() < 1e-12, "{with} {without}");
    // ... and BLEU's closest reference length is still the matching one.
    assert!((scores.bleu[0] - 1.0).abs() < 1e-9);
}
