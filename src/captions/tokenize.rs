//! Captions to tokens, as the papers' pipeline does it: `nltk.tokenize.word_tokenize(caption.lower())`
//! (the build_vocab.py of yunjey's pytorch-tutorial image_captioning, which the authors used).
//!
//! `word_tokenize` is Punkt sentence splitting followed by NLTK's improved Treebank tokenizer
//! (`NLTKWordTokenizer`, NLTK 3.10) on each sentence. [`word_tokenize`] ports both:
//!
//! - **Treebank** ([`treebank`]): every regular-expression rule of `NLTKWordTokenizer.tokenize`,
//!   in its order (starting quotes, punctuation, brackets, double dashes, ending quotes and
//!   clitics, MacIntyre's contractions), each written as a scan over the characters, then a split
//!   on whitespace. Parentheses are kept as they are (`convert_parentheses=False`).
//! - **Sentences** ([`sentences`]): Punkt's decision without its trained English model. A
//!   candidate break is the last `.`, `?` or `!` of a whitespace-delimited chunk that is followed
//!   by another chunk or by one of Punkt's NonWord characters; it is a break after `?` or `!`,
//!   and after a period unless the word before is an ellipsis (`..`), an abbreviation of
//!   [`ABBREVIATIONS`], or a number or single-letter initial followed by a lower-case word or
//!   punctuation (Punkt's orthographic heuristic with no orthographic data, which is what it
//!   decides for lower-cased text). Closing quotes and brackets that open the next sentence move
//!   back to the previous one, as Punkt's boundary realignment does. The trained model knows
//!   more abbreviations (and some collocations), which rarely matter in caption text.
//!
//! `tests/fixtures/captions_data/tokenize.json` holds captions and the tokens NLTK 3.10 gives them
//! (`PunktSentenceTokenizer` with these abbreviations, then `NLTKWordTokenizer`); the tests
//! require exact agreement.

/// Abbreviations after which a period does not end a sentence (lower case, without the final
/// period), a subset of Punkt's English model.
pub const ABBREVIATIONS: &[&str] = &[
    "dr", "mr", "mrs", "ms", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "u.s", "a.m", "p.m",
];

/// The tokens of a caption for training and scoring: `word_tokenize(caption.lower())`.
pub fn tokenize(caption: &str) -> Vec<String> {
    word_tokenize(&caption.to_lowercase())
}

/// NLTK's `word_tokenize`: sentences, then the Treebank tokens of each.
pub fn word_tokenize(text: &str) -> Vec<String> {
    sentences(text).into_iter().flat_map(treebank).collect()
}

/// Punkt's `NonWord` characters: a sentence-ending character followed by one of these is a
/// candidate break even without whitespace.
const NON_WORD: &str = ")\";}]*:@'({[!?";

/// The sentences of `text` as Punkt splits lower-case text (see the module doc); the last one
/// without trailing whitespace; empty text has none.
pub fn sentences(text: &str) -> Vec<&str> {
    let text = text.trim_end();
    let chunks = chunks(text);
    // Break positions: (end of a sentence, start of the next).
    let mut breaks = Vec::new();
    for (k, &(s, e)) in chunks.iter().enumerate() {
        let next = chunks.get(k + 1).map(|&(n, ne)| &text[n..ne]);
        let chunk = &text[s..e];
        // Punkt's period context: the last `[.?!]` of the chunk followed by a NonWord
        // character, or ending the chunk when another chunk follows.
        let candidate = chunk.char_indices().rev().find_map(|(i, c)| {
            let after = chunk[i + c.len_utf8()..].chars().next();
            let followed = match after {
                Some(a) => NON_WORD.contains(a).then(|| a.to_string()),
                None => next.map(str::to_string),
            };
            (".?!".contains(c))
                .then_some(followed)
                .flatten()
                .map(|f| (i + 1, f))
        });
        if let Some((end, following)) = candidate
            && ends_sentence(&chunk[..end], &following)
        {
            let resume = if end == chunk.len() {
                chunks[k + 1].0
            } else {
                s + end
            };
            breaks.push((s + end, resume));
        }
    }
    let mut out = Vec::new();
    let mut from = 0;
    for (mut end, mut next) in breaks {
        // Punkt moves closing quotes and brackets that open the next sentence back to this one.
        let rest = &text[next..];
        let closers = rest.len() - rest.trim_start_matches(['"', '\'', ')', ']', '}']).len();
        let after = &rest[closers..];
        if closers > 0
            && (after.is_empty()
                || after.starts_with(char::is_whitespace)
                || after.starts_with("--"))
        {
            end = next + closers;
            next = end + (after.len() - after.trim_start().len());
        }
        if from < end {
            out.push(&text[from..end]);
        }
        from = next;
    }
    if from < text.len() {
        out.push(&text[from..]);
    }
    out
}

/// The byte ranges of the whitespace-separated chunks of `text`.
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                chunks.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        chunks.push((s, text.len()));
    }
    chunks
}

/// Whether Punkt breaks after `text` (a chunk up to a `.`, `?` or `!`) when `next` follows.
fn ends_sentence(text: &str, next: &str) -> bool {
    // `?` and `!` are tokens of their own, and always end a sentence.
    if text.contains(['?', '!']) {
        return true;
    }
    if text.ends_with("..") {
        return false;
    }
    // Punkt's word token: it starts after the last NonWord character (at it, for an
    // apostrophe), and characters that cannot start a word are tokens of their own.
    let token = match text.rfind(|c: char| NON_WORD.contains(c)) {
        Some(i) if text[i..].starts_with('\'') => &text[i..],
        Some(i) => &text[i + 1..],
        None => text,
    }
    .trim_start_matches(|c: char| "(\"`{[:;&#*@)}]-,".contains(c));
    let Some(stem) = token.strip_suffix('.') else {
        return true;
    };
    let stem = stem.to_lowercase();
    let last_part = stem.rsplit('-').next().unwrap_or("");
    if ABBREVIATIONS.contains(&stem.as_str()) || ABBREVIATIONS.contains(&last_part) {
        return false;
    }
    let mut stem_chars = stem.chars();
    let initial = matches!((stem_chars.next(), stem_chars.next()),
        (Some(c), None) if (c.is_alphabetic() || c == '_'));
    let digits = stem.strip_prefix('.').unwrap_or(&stem);
    let number = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ",.-".contains(c));
    let lower_next =
        next.starts_with(|c: char| c.is_lowercase() || ";:,!?".contains(c)) || next == ".";
    !((initial || number) && lower_next)
}

/// NLTK's `NLTKWordTokenizer().tokenize(sentence)`.
pub fn treebank(sentence: &str) -> Vec<String> {
    let mut t: Vec<char> = sentence.chars().collect();
    // Starting quotes.
    t = pad_runs(&t, |c| "«“‘„".contains(c), |c| c == '`');
    if t.first() == Some(&'"') {
        t.splice(0..1, ['`', '`']);
    }
    t = replace_all(&t, "``", " `` ");
    t = opening_double_quotes(&t);
    t = opening_single_quotes(&t);
    // Punctuation.
    t = final_period(&t, true);
    t = commas_and_colons(&t);
    if let Some(&c @ (':' | ',')) = t.last() {
        t.pop();
        t.extend([' ', c, ' ']);
    }
    t = pad_runs(&t, |_| false, |c| c == '.');
    t = pad_runs(
        &t,
        |c| ";@#$%&".contains(c) || ('\u{2012}'..='\u{2015}').contains(&c),
        |_| false,
    );
    t = final_period(&t, false);
    t = pad_runs(&t, |c| c == '?' || c == '!', |_| false);
    t = quote_before_space(&t);
    t = pad_runs(&t, |c| c == '*', |_| false);
    // Brackets and double dashes.
    t = pad_runs(&t, |c| "[](){}<>".contains(c), |_| false);
    t = replace_all(&t, "--", " -- ");
    // Ending quotes and clitics.
    t.insert(0, ' ');
    t.push(' ');
    t = pad_runs(&t, |c| "»”’".contains(c), |_| false);
    t = replace_all(&t, "''", " '' ");
    t = replace_all(&t, "\"", " '' ");
    t = squeeze_whitespace(&t);
    t = clitics(&t);
    // MacIntyre's contractions.
    for (a, b) in [
        ("can", "not"),
        ("d", "'ye"),
        ("gim", "me"),
        ("gon", "na"),
        ("got", "ta"),
        ("lem", "me"),
        ("more", "'n"),
        ("wan", "na"),
    ] {
        t = contraction(&t, a, b);
    }
    for (a, b) in [("'t", "is"), ("'t", "was")] {
        t = contraction(&t, a, b);
    }
    t.into_iter()
        .collect::<String>()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Python's `\w`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Surrounds each character with `single(c)` by spaces, and each run of two or more characters
/// (one or more for backticks) with `run(c)`: `re.sub("[...]", r" \g<0> ")`.
fn pad_runs(t: &[char], single: impl Fn(char) -> bool, run: impl Fn(char) -> bool) -> Vec<char> {
    let mut out = Vec::with_capacity(t.len() + 8);
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        if single(c) {
            out.extend([' ', c, ' ']);
            i += 1;
        } else if run(c) {
            let n = t[i..].iter().take_while(|&&d| d == c).count();
            // Backtick runs split from one character on (`[`]+`), period runs from two (`\.{2,}`).
            if n >= 2 || c == '`' {
                out.push(' ');
                out.extend(&t[i..i + n]);
                out.push(' ');
            } else {
                out.push(c);
            }
            i += n;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `str.replace(from, to)`: non-overlapping, left to right.
fn replace_all(t: &[char], from: &str, to: &str) -> Vec<char> {
    let from: Vec<char> = from.chars().collect();
    let mut out = Vec::with_capacity(t.len() + 8);
    let mut i = 0;
    while i < t.len() {
        if t[i..].starts_with(&from) {
            out.extend(to.chars());
            i += from.len();
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    out
}

/// `([ \(\[{<])(\"|\'{2})` → `\1 `` `.
fn opening_double_quotes(t: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(t.len() + 8);
    let mut i = 0;
    while i < t.len() {
        out.push(t[i]);
        if " ([{<".contains(t[i]) {
            let quote = match (t.get(i + 1), t.get(i + 2)) {
                (Some('"'), _) => 1,
                (Some('\''), Some('\'')) => 2,
                _ => 0,
            };
            if quote > 0 {
                out.extend([' ', '`', '`', ' ']);
                i += quote;
            }
        }
        i += 1;
    }
    out
}

/// `(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)` → `' `.
fn opening_single_quotes(t: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(t.len() + 8);
    for (i, &c) in t.iter().enumerate() {
        out.push(c);
        let after_word = i > 0 && is_word(t[i - 1]);
        if c != '\'' || after_word || !t.get(i + 1).is_some_and(|&d| is_word(d)) {
            continue;
        }
        let clitic = ["re", "ve", "ll", "m", "t", "s", "d", "n"].iter().any(|k| {
            let n = k.chars().count();
            t.len() > i + n
                && t[i + 1..=i + n]
                    .iter()
                    .zip(k.chars())
                    .all(|(a, b)| a.to_lowercase().eq(std::iter::once(b)))
                && !t.get(i + 1 + n).is_some_and(|&d| is_word(d))
        });
        if !clitic {
            out.push(' ');
        }
    }
    out
}

/// The final period: `([^\.])(\.)(C*)\s*$` → `\1 \2 \3 ` where C is `[\]\)}>"\'»”’ ]` taken
/// possessively (`wide`), or `\1 \2\3 ` where C is `[\]\)}>"\']` (not `wide`).
fn final_period(t: &[char], wide: bool) -> Vec<char> {
    let closer = |c: char| "])}>\"'".contains(c) || (wide && "»”’ ".contains(c));
    let Some(p) = t.iter().rposition(|&c| c == '.') else {
        return t.to_vec();
    };
    if p == 0 || t[p - 1] == '.' {
        return t.to_vec();
    }
    let closers = t[p + 1..].iter().take_while(|&&c| closer(c)).count();
    if !t[p + 1 + closers..].iter().all(|c| c.is_whitespace()) {
        return t.to_vec();
    }
    let mut out = t[..p].to_vec();
    out.extend(if wide { " . " } else { " ." }.chars());
    out.extend(&t[p + 1..p + 1 + closers]);
    out.push(' ');
    out
}

/// `([:,])([^\d])` → ` \1 \2`.
fn commas_and_colons(t: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(t.len() + 8);
    let mut i = 0;
    while i < t.len() {
        match (t[i], t.get(i + 1)) {
            (c @ (':' | ','), Some(&d)) if !d.is_numeric() => {
                out.extend([' ', c, ' ', d]);
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `([^'])' ` → `\1 ' `.
fn quote_before_space(t: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(t.len() + 8);
    let mut i = 0;
    while i < t.len() {
        if t[i] != '\'' && t.get(i + 1) == Some(&'\'') && t.get(i + 2) == Some(&' ') {
            out.extend([t[i], ' ', '\'', ' ']);
            i += 3;
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    out
}

/// `\s+` → ` `.
fn squeeze_whitespace(t: &[char]) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(t.len());
    for &c in t {
        if !c.is_whitespace() {
            out.push(c);
        } else if out.last() != Some(&' ') {
            out.push(' ');
        }
    }
    out
}

/// `([^' ])('[sS]|'[mM]|'[dD]|') ` → `\1 \2 `, then
/// `([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ` → `\1 \2 `.
fn clitics(t: &[char]) -> Vec<char> {
    let split = |t: &[char], forms: &[&str]| {
        let mut out = Vec::with_capacity(t.len() + 8);
        let mut i = 0;
        while i < t.len() {
            let c = t[i];
            let form = (c != '\'' && c != ' ')
                .then(|| {
                    forms.iter().find(|f| {
                        let f: Vec<char> = f.chars().collect();
                        t[i + 1..].starts_with(&f) && t.get(i + 1 + f.len()) == Some(&' ')
                    })
                })
                .flatten();
            if let Some(f) = form {
                out.extend([c, ' ']);
                out.extend(f.chars());
                out.push(' ');
                i += f.chars().count() + 2;
            } else {
                out.push(c);
                i += 1;
            }
        }
        out
    };
    let t = split(t, &["'s", "'S", "'m", "'M", "'d", "'D", "'"]);
    split(
        &t,
        &["'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"],
    )
}

/// MacIntyre's contractions, case-insensitive: `\b(a)(b)\b` → ` \1 \2 `; `wan|na` must be
/// followed by whitespace, and `'t|is`, `'t|was` preceded by a space.
fn contraction(t: &[char], a: &str, b: &str) -> Vec<char> {
    let whole: Vec<char> = format!("{a}{b}").chars().collect();
    let split_at = a.chars().count();
    let matches_at = |i: usize| {
        let end = i + whole.len();
        let same = end <= t.len()
            && t[i..end]
                .iter()
                .zip(&whole)
                .all(|(x, y)| x.to_lowercase().eq(y.to_lowercase()));
        let start_ok = if a == "'t" {
            i > 0 && t[i - 1] == ' '
        } else {
            i == 0 || !is_word(t[i - 1])
        };
        let end_ok = if b == "na" && a == "wan" {
            t.get(end).is_some_and(|c| c.is_whitespace())
        } else {
            !t.get(end).is_some_and(|&c| is_word(c))
        };
        same && start_ok && end_ok
    };
    let mut out = Vec::with_capacity(t.len() + 8);
    let mut i = 0;
    while i < t.len() {
        if matches_at(i) {
            out.push(' ');
            out.extend(&t[i..i + split_at]);
            out.push(' ');
            out.extend(&t[i + split_at..i + whole.len()]);
            out.push(' ');
            i += whole.len();
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
