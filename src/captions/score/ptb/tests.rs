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
fn the_issues_examples_tokenise_as_in_java() {
    // One batch, as pycocoevalcap tokenises it; the expected words are the Java tokenizer's.
    let cases = [
        ("a dog on a couch 🐶", "a dog on a couch"),
        ("the dog’s toy", "the dog 's toy"),
        ("A man—on a horse.", "a man on a horse"),
        ("A «sale» sign.", "a sale sign"),
        ("A sign that says plan B...", "a sign that says plan b."),
        (
            "at 3:30pm a 1.5m at&t sign",
            "at 3:30 pm a 1.5 m at & t sign",
        ),
        (
            "cafe\u{301} co\u{ad}op zero\u{200b}width no\u{a0}break",
            "cafe\u{301} coop zero width no break",
        ),
        ("½ cup for 5¢ &amp; 'em", "1/2 cup for 5 cents & 'em"),
        (
            "'cause rock'n'roll U.S.-based 5'10\" man",
            "'cause rock 'n' roll u.s.-based 5 10 man",
        ),
        ("a small a.", "a small a"),
        ("In a room", "in a room"),
        ("happy :)", "happy -rrb-"),
    ];
    let inputs: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for ((input, expected), got) in cases.iter().zip(ptb_tokenize_batch(&inputs)) {
        assert_eq!(got, words(expected), "tokenising {input:?}");
    }
    // Alone, "a small a." keeps its period and the smiley is whole.
    assert_eq!(ptb_tokenize("a small a."), words("a small a."));
    assert_eq!(ptb_tokenize("happy :) ok"), words("happy :-rrb- ok"));
}

#[test]
fn trailing_context_ends_the_token_at_the_last_valid_place() {
    // {WORD}/{REDAUX}: "dog" then "'s"; {SWORD}/{SREDAUX}: "do" then "n't".
    assert_eq!(ptb_tokenize("dog's don't"), words("dog 's do n't"));
    // {ACRONYM} before a sentence opener (which needs a space or line break after it).
    assert_eq!(ptb_tokenize("x.\tThe cat"), words("x the cat"));
    assert_eq!(ptb_tokenize("x. The"), words("x. the"));
    assert_eq!(
        ptb_tokenize_batch(&["U.S.", "The"]),
        [words("u.s."), words("the")]
    );
}

#[test]
fn classes_are_exact_and_literals_caseless() {
    let macros = std::collections::HashMap::new();
    let spec = regex::parse("[A]b", &macros);
    let mut nfa = regex::Nfa::default();
    let start = nfa.add(&spec, 0);
    let text = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    for (s, matches) in [("Ab", true), ("AB", true), ("ab", false), ("aB", false)] {
        let t = text(s);
        assert_eq!(nfa.ends(start, &t, 0, t.len()) == [2], matches, "{s}");
    }
    // [:letter:] is the jar's: a letter of 2014 is one, a letter added since is not.
    let letter = regex::parse("[:letter:]+", &macros);
    let start = nfa.add(&letter, 1);
    let t = text("é\u{1885}\u{0860}");
    assert_eq!(nfa.ends(start, &t, 0, t.len()), [1, 2]);
}

#[test]
fn python_whitespace_splits_after_punctuation_is_removed() {
    let tokens = ["3\u{a0}1/2", "--", "x\u{1f}y"].map(String::from);
    assert_eq!(python_words(&tokens), ["3", "1/2", "x", "y"]);
    assert_eq!(python_words(&[]), Vec::<String>::new());
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
