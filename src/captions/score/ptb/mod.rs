//! The COCO caption tokenisation as pycocoevalcap 1.2 does it (`tokenizer/ptbtokenizer.py`):
//! all captions of one call are joined into one text, a caption per line (a `\n` inside a
//! caption becomes a space), the Stanford PTBTokenizer of CoreNLP 3.4.1 reads it in one Java
//! process (`PTBTokenizer -preserveLines -lowerCase`, UTF-8 whatever the locale), and each
//! output line, split at spaces, loses the tokens of its `PUNCTUATIONS` list; the scorers then
//! split the rest at (Python) whitespace.
//!
//! The Java lexer is re-implemented rather than imitated: [`rules`] holds PTBLexer.flex's
//! macros and rules verbatim, [`regex`] reads JFlex's syntax over UTF-16 code units, [`lexer`]
//! scans as JFlex does (longest match, first rule among equals, trailing context), and
//! [`unicode`] holds the jar's own letter and digit sets. So every rule of the lexer is there:
//! Unicode characters outside the Basic Multilingual Plane (emoji) are two untokenizable code
//! units and are deleted; ’ ‘ “ ” « » ‹ › are quotes (’s is the clitic 's); Unicode and entity
//! dashes are `--`; … and `. . .` are `...`; soft hyphens vanish inside words; ¼ ½ ¾ ⅓ ⅔ become
//! 1/4 ...; ¢ £ € become cents, #, $; `&amp;` is `&`; zero-width spaces and no-break spaces
//! separate; combining accents stay in their word; the clitics, 'em, 'cause, rock'n'roll,
//! U.S.-based, 5'10", 3:30pm, at&t, and the abbreviation and acronym rules; and, since the
//! lexer reads the captions of a call as one text, its look-ahead across lines: "a." loses its
//! period when the next caption opens with a capitalised sentence opener ("In", "The", ...),
//! `no.` keeps it before a caption that starts with a digit, and a smiley at the very end of
//! the text is two tokens. [`ptb_tokenize_batch`] tokenises a batch that way;
//! [`ptb_tokenize`] is a batch of one.
//!
//! Checked token for token against pycocoevalcap on tests/fixtures/captions_score/ (made by
//! scripts/captions_score_fixtures.py). Known differences, all outside the characters caption
//! files hold: [:uppercase:] is Rust's (it only decides a period that is removed anyway);
//! lowercasing is Rust's `to_lowercase` where Java's `toLowerCase(Locale.ENGLISH)` may know
//! other Unicode versions' case pairs; a token that would end inside a surrogate pair (never
//! seen) is written with U+FFFD. A caption holding a line break other than `\n` (`\r`, U+2028,
//! U+2029, U+000B, U+000C, U+0085) splits the Java output into more lines than captions, and
//! pycocoevalcap then pairs every later caption with the wrong image; here such a character
//! separates tokens like a space, and [`line_break`] finds it so that the scorer can refuse it.

mod lexer;
mod regex;
mod rules;
#[cfg(test)]
mod tests;
mod unicode;

use lexer::Lexeme;

/// The tokens pycocoevalcap's `ptbtokenizer.py` drops after PTB tokenisation (the upper-case
/// bracket tokens never match the lowercased output).
const PUNCTUATIONS: [&str; 17] = [
    "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
    "...", ";",
];

/// A caption as the COCO scorers see it when it is tokenised alone.
pub fn ptb_tokenize(caption: &str) -> Vec<String> {
    ptb_tokenize_batch(&[caption]).pop().unwrap_or_default()
}

/// The captions of one pycocoevalcap tokeniser call, in its order (a scorer makes one call for
/// all references and one for all hypotheses, images in evaluation order, each image's
/// captions in file order): for each, its words.
pub fn ptb_tokenize_batch<S: AsRef<str>>(captions: &[S]) -> Vec<Vec<String>> {
    let mut text: Vec<u16> = Vec::new();
    let mut starts = Vec::with_capacity(captions.len());
    for (i, caption) in captions.iter().enumerate() {
        if i > 0 {
            text.push(u16::from(b'\n'));
        }
        starts.push(text.len());
        text.extend(caption.as_ref().replace('\n', " ").encode_utf16());
    }
    let mut lines: Vec<Vec<String>> = vec![Vec::new(); captions.len()];
    for (at, lexeme) in lexer::lex(&text) {
        if let Lexeme::Token(token) = lexeme {
            let line = starts.partition_point(|&s| s <= at) - 1;
            lines[line].push(token.to_lowercase());
        }
    }
    lines.iter().map(|tokens| python_words(tokens)).collect()
}

/// What `ptbtokenizer.py` and the scorers make of one output line: `line.rstrip().split(' ')`
/// without `PUNCTUATIONS`, joined by spaces, then `str.split()`.
fn python_words(tokens: &[String]) -> Vec<String> {
    let line = tokens.join(" ");
    let kept: Vec<&str> = line
        .trim_end_matches(python_space)
        .split(' ')
        .filter(|piece| !PUNCTUATIONS.contains(piece))
        .collect();
    kept.join(" ")
        .split(python_space)
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Python's `str.isspace`, which `str.split()` splits at.
fn python_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}')
        || matches!(
            c,
            '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}'
        )
        || matches!(c, '\u{205f}' | '\u{3000}')
}

/// The first character of `caption` that the Java lexer takes for a line break although
/// pycocoevalcap does not replace it (all but `\n`).
pub fn line_break(caption: &str) -> Option<char> {
    caption.chars().find(|c| {
        matches!(
            c,
            '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        )
    })
}
