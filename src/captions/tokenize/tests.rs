use super::*;

/// The captions of `tests/fixtures/captions_data/tokenize.json` and NLTK's tokens for them.
fn fixture() -> Vec<(String, Vec<String>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/captions_data/tokenize.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let tokens = c["tokens"].as_array().unwrap();
            (
                c["caption"].as_str().unwrap().to_string(),
                tokens
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn agrees_with_nltk_on_every_fixture_caption() {
    let cases = fixture();
    assert!(cases.len() > 50);
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(caption, want)| &tokenize(caption) != want)
        .map(|(caption, want)| format!("{caption:?}: got {:?}, NLTK {want:?}", tokenize(caption)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn sentences_break_after_periods_but_not_abbreviations_or_numbers() {
    assert_eq!(sentences("a dog. a cat"), ["a dog.", "a cat"]);
    assert_eq!(sentences("dr. who is here. "), ["dr. who is here."]);
    assert_eq!(sentences("number 3. a bat"), ["number 3. a bat"]);
    assert_eq!(sentences("wait... what? yes"), ["wait... what?", "yes"]);
    assert!(sentences("  ").is_empty());
}

#[test]
fn odd_text_never_panics() {
    for text in [
        "'", "\"", "''", "``", ".", "..", ",", "'t", " 'tis", "é'ß.", "\u{2014}", "a'",
    ] {
        let _ = tokenize(text);
    }
}
