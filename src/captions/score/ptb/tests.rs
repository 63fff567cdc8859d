//! The lexer's pieces; agreement with the Java tokenizer is in tests/captions_score.rs.

use super::*;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn every_rule_and_macro_compiles() {
    let spec = rules::spec();
    assert_eq!(spec.rules.len(), rules::RULE_COUNT);
}

#[test]
fn tokenises_like_the_stanford_lexer() {
    let cases = [
        ("The dog's ball isn't red.", "the dog 's ball is n't red"),
        ("can't won't cannot gonna", "ca n't wo n't can not gon na"),
        ("A (small) cat", "a -lrb- small -rrb- cat"),
    ];
    for (input, expected) in cases {
        assert_eq!(ptb_tokenize(input), words(expected), "tokenising {input:?}");
    }
}
