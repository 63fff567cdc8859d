//! The tokenisation of the COCO caption evaluation: Stanford CoreNLP's PTBTokenizer (version
//! 3.4.1, `-preserveLines -lowerCase`), then pycocoevalcap's removal of the punctuation tokens
//! `'' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;`.
//!
//! This is the part of the PTB tokenizer's behaviour that captions meet, in Rust (the reference
//! runs Java in a subprocess):
//! - lower case; words split at whitespace;
//! - punctuation split off words: `, ; ! ?`, a final `.` (kept inside numbers, on acronyms
//!   `u.s.` and on common abbreviations `mr.`, `e.g.`), `...`, `--`, `:` (kept between
//!   digits: `5:30`), `,` kept between digits (`1,000`);
//! - quotes: `"` becomes `` `` `` or `''` and `'` on its own is `'`: all removed;
//! - brackets become `-lrb-`, `-rrb-`, `-lsb-`, `-rsb-`, `-lcb-`, `-rcb-`: lower case, so (a
//!   quirk of the reference) they are **not** removed;
//! - clitics split off: `'s 're 've 'll 'd 'm` and `n't` (`can't` → `ca n't`, `won't` →
//!   `wo n't`), and a possessive `'` (`dogs'` → `dogs '`);
//! - a currency sign split off a number (`$3` → `$ 3`); hyphenated words, slashes and `&`
//!   stay inside words.
//!
//! Not covered: PTB's handling of URLs, e-mail addresses, emoticons, SGML entities, Unicode
//! quotes and dashes (kept as they are), and its splitting of `am`/`pm` or units off numbers.
//! `tests/fixtures/captions_score/ptb.json` holds the Java tokenizer's output for caption-like
//! strings that this module reproduces.

/// Tokens removed after tokenisation (pycocoevalcap's list, as the lower-cased tokenizer
/// writes them: its `-LRB-` etc. never match).
const REMOVED: &[&str] = &[
    "''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";",
];

/// Abbreviations that keep their final period.
const ABBREVIATIONS: &[&str] = &[
    "mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "vs.", "etc.", "e.g.", "i.e.", "inc.", "co.",
    "ltd.", "mt.", "ave.",
];

/// The tokens of `s` after tokenisation and punctuation removal.
pub fn ptb_tokenize(s: &str) -> Vec<String> {
    let lower = s.to_lowercase();
    let mut tokens = Vec::new();
    for chunk in lower.split_whitespace() {
        split_chunk(chunk, &mut tokens);
    }
    tokens.retain(|t| !REMOVED.contains(&t.as_str()));
    tokens
}

/// Tokens of one whitespace-free chunk, in order.
fn split_chunk(chunk: &str, out: &mut Vec<String>) {
    let mut rest = chunk;
    // Leading quotes, brackets and currency signs.
    loop {
        let Some(c) = rest.chars().next() else { return };
        let token = match c {
            '"' => "``",
            '`' | '\'' if !starts_clitic(rest) => "`",
            '(' => "-lrb-",
            '[' => "-lsb-",
            '{' => "-lcb-",
            '$' | '#' => {
                out.push(c.to_string());
                rest = &rest[1..];
                continue;
            }
            _ => break,
        };
        out.push(token.to_string());
        rest = &rest[c.len_utf8()..];
    }
    // Trailing punctuation, outermost last.
    let mut tail: Vec<String> = Vec::new();
    while let Some(c) = rest.chars().last() {
        let cut = |n: usize| rest.len() - n;
        let (token, n): (&str, usize) = match c {
            '"' => ("''", 1),
            ')' => ("-rrb-", 1),
            ']' => ("-rsb-", 1),
            '}' => ("-rcb-", 1),
            '!' | '?' => {
                // A run of them is one token (`?!`), which the removal keeps unless single.
                let run = rest
                    .chars()
                    .rev()
                    .take_while(|c| matches!(c, '!' | '?'))
                    .count();
                (&rest[cut(run)..], run)
            }
            ',' | ';' | ':' => (&rest[cut(1)..], 1),
            '.' if rest.ends_with("...") => ("...", 3),
            '.' if keeps_period(rest) => break,
            '.' => (".", 1),
            '\'' if rest.ends_with("''") => ("''", 2),
            '\'' => ("'", 1),
            '-' if rest.ends_with("--") => ("--", 2),
            _ => break,
        };
        tail.push(token.to_string());
        rest = &rest[..cut(n)];
    }
    if !rest.is_empty() {
        split_word(rest, out);
    }
    out.extend(tail.into_iter().rev());
}

/// Whether `s` (a word ending in a period) keeps its period: a number, an acronym (`u.s.`), a
/// known abbreviation, or a single letter.
fn keeps_period(s: &str) -> bool {
    let body = &s[..s.len() - 1];
    if body.is_empty() {
        return false;
    }
    let acronym = body
        .split('.')
        .all(|part| part.chars().count() == 1 && part.chars().all(char::is_alphabetic))
        && body.contains('.');
    ABBREVIATIONS.contains(&s) || acronym
}

/// Whether `s` starts with a clitic (`'s`, `'re`, ...), which is not an opening quote.
fn starts_clitic(s: &str) -> bool {
    ["'s", "'re", "'ve", "'ll", "'d", "'m"].contains(&s)
}

/// Splits a word without leading or trailing punctuation: inner `,` `;` `!` `?` `:` and `--`
/// (commas and colons between digits stay), then clitics off its end.
fn split_word(word: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = word.chars().collect();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let digit = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_ascii_digit())
        };
        let between_digits = digit(i.checked_sub(1)) && digit(Some(i + 1));
        let ellipsis = c == '.' && chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.');
        let width = match c {
            ',' | ':' if !between_digits => 1,
            ';' | '!' | '?' => 1,
            '-' if chars.get(i + 1) == Some(&'-') => 2,
            '.' if ellipsis => 3,
            _ => 0,
        };
        if width > 0 {
            flush_word(&mut current, out);
            out.push(chars[i..i + width].iter().collect());
            i += width;
            continue;
        }
        current.push(c);
        i += 1;
    }
    flush_word(&mut current, out);
}

/// Emits a word with its clitic split off.
fn flush_word(word: &mut String, out: &mut Vec<String>) {
    if word.is_empty() {
        return;
    }
    let w = std::mem::take(word);
    for clitic in ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"] {
        if w.len() > clitic.len() && w.ends_with(clitic) {
            let head = &w[..w.len() - clitic.len()];
            out.push(head.to_string());
            out.push(clitic.to_string());
            return;
        }
    }
    out.push(w);
}

#[cfg(test)]
mod tests {
    use super::ptb_tokenize;

    fn t(s: &str) -> String {
        ptb_tokenize(s).join(" ")
    }

    /// Every string of the fixture made by the Java tokenizer through pycocoevalcap.
    #[test]
    fn agrees_with_the_reference_tokenizer_on_its_fixture() {
        let text = include_str!("../../../tests/fixtures/captions_score/ptb.json");
        let cases: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        for case in cases {
            let input = case["text"].as_str().unwrap();
            let want: Vec<&str> = case["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert_eq!(ptb_tokenize(input), want, "{input:?}");
        }
    }

    #[test]
    fn what_the_java_tokenizer_gives_for_caption_like_text() {
        // The Java tokenizer's output, after the punctuation removal.
        assert_eq!(
            t("A man (in red) riding a horse."),
            "a man -lrb- in red -rrb- riding a horse"
        );
        assert_eq!(
            t("Two dogs' toys aren't \"new\" -- they're old..."),
            "two dogs toys are n't new they 're old"
        );
        assert_eq!(
            t("It costs $3.50, e.g. 1,000 items; wow!"),
            "it costs $ 3.50 e.g. 1,000 items wow"
        );
        assert_eq!(
            t("A well-known U.S. cat can't & won't go at 5:30? Yes: no."),
            "a well-known u.s. cat ca n't & wo n't go at 5:30 yes no"
        );
        assert_eq!(t("   "), "");
        assert_eq!(t("..."), "");
    }
}
