//! The COCO caption tokenisation: Stanford PTBTokenizer (CoreNLP 3.4.1, run by pycocoevalcap as
//! `PTBTokenizer -preserveLines -lowerCase`), then removal of the tokens in pycocoevalcap's
//! `PUNCTUATIONS` list (tokenizer/ptbtokenizer.py). This is a re-implementation of the part of
//! the PTB lexer that caption text exercises, checked token for token against the Java tokenizer
//! on the strings in tests/fixtures/captions_score/tokenizer.json.
//!
//! Covered:
//! - whitespace separates tokens; everything is lowercased;
//! - words and numbers keep internal `-` (well-known, 2-year-old, but `--` splits), `.` followed
//!   by a letter or digit (u.s, 3.50, www.example.com), `,` and `:` between digits (1,000, 3:30),
//!   `/` (12/25/2010), `&` (at&t), `@` (me@example.com) and `'` (o'clock, ma'am); a leading
//!   `-` or `.` before a digit (-5, .5); `@` or `#` before a letter (@user, #tag);
//! - a final `.` stays on acronyms (u.s., a.m.), single letters ("small a." → a.) and common
//!   abbreviations (mr., dr., etc.),
//!   otherwise it is its own token; runs of two dots are two `.` tokens, three or more are `...`;
//! - clitics split off the end of a word: n't, 's, 're, 've, 'll, 'd, 'm (can't → ca n't,
//!   i'd've → i 'd 've, 90's → 90 's); cannot, gonna, gotta, wanna, gimme, lemme split in two;
//!   'tis / 'twas → 't is / 't was; '90s and 'n' are single tokens;
//! - runs of `!` and `?` are one token (?!, !!!), which is not in `PUNCTUATIONS` and so stays;
//! - `(` `)` `[` `]` `{` `}` become -lrb- -rrb- -lsb- -rsb- -lcb- -rcb-: lowercased, they no
//!   longer match `PUNCTUATIONS`' upper-case entries, so the reference keeps them, and so do we;
//! - `"` and lone `'` (quotes) and `…`, `“ ” ‘ ’` become quote / ellipsis tokens, all removed;
//!   £ → #, € → $ (the lexer's currency normalisation); other symbols are single tokens.
//!
//! Not covered: the lexer's sentence-boundary rule for a single letter with a period: "a."
//! loses its period when whitespace and a capitalised sentence starter follow (In, The, We, A,
//! ... but not e.g. Big), *even across lines*, so in pycocoevalcap it depends on the next caption
//! of the batch ("small a." then "In a room" gives `a`). We always keep "a.", which is what the
//! reference gives at the end of a batch or before other words. Also not covered (none seen in
//! caption data): URLs with `://`, the
//! fraction rule that glues "3 1/2" with a no-break space, the full PTB abbreviation list
//! (months, states, titles beyond the common ones; "no." keeps its period only before a
//! number), ne'er-do-well (PTB: ne'er do-well), y'all (PTB: y' all), SGML, and non-ASCII
//! apostrophes inside words.

/// The tokens pycocoevalcap's `ptbtokenizer.py` drops after PTB tokenisation.
const PUNCTUATIONS: [&str; 17] = [
    "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
    "...", ";",
];

/// Abbreviations that keep their final period (lowercase, without the period).
const ABBREVIATIONS: [&str; 24] = [
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "etc", "vs", "inc", "ltd", "co", "corp",
    "mt", "ft", "ave", "blvd", "rd", "gen", "gov", "sen", "rep", "capt",
];

/// Words the lexer splits in two, as (word, first part).
const SPLIT_WORDS: [(&str, usize); 6] = [
    ("cannot", 3),
    ("gonna", 3),
    ("gotta", 3),
    ("wanna", 3),
    ("gimme", 3),
    ("lemme", 3),
];

/// Clitics split off the end of a word (n't is handled on its own).
const CLITICS: [&str; 6] = ["'s", "'re", "'ve", "'ll", "'d", "'m"];

/// A caption as the COCO scorers see it: PTB tokens, lowercased, punctuation removed.
pub fn ptb_tokenize(caption: &str) -> Vec<String> {
    let lower = caption.to_lowercase();
    let mut tokens = Vec::new();
    for chunk in lower.split_whitespace() {
        let chars: Vec<char> = chunk.chars().collect();
        lex_chunk(&chars, &mut tokens);
    }
    tokens.retain(|t| !PUNCTUATIONS.contains(&t.as_str()));
    tokens
}

/// PTB tokens of one whitespace-free chunk, appended to `out`.
fn lex_chunk(chars: &[char], out: &mut Vec<String>) {
    let mut at = 0;
    while at < chars.len() {
        at = lex_one(chars, at, out);
    }
}

/// Lexes the token(s) starting at `at`; returns where the next one starts.
fn lex_one(chars: &[char], at: usize, out: &mut Vec<String>) -> usize {
    let c = chars[at];
    let next = chars.get(at + 1).copied();
    let starts_word = c.is_alphanumeric()
        || (matches!(c, '-' | '.') && next.is_some_and(|n| n.is_ascii_digit()))
        || (matches!(c, '@' | '#') && next.is_some_and(char::is_alphabetic));
    if starts_word {
        return lex_word(chars, at, out);
    }
    if c == '\'' {
        return lex_apostrophe(chars, at, out);
    }
    let run = |p: fn(char) -> bool| at + chars[at..].iter().take_while(|&&x| p(x)).count();
    let (end, token) = match c {
        '.' => {
            let end = run(|x| x == '.');
            match end - at {
                1 => (end, "."),
                2 => {
                    out.push(".".into());
                    (end, ".")
                }
                _ => (end, "..."),
            }
        }
        '-' => {
            let end = run(|x| x == '-');
            (end, if end - at == 1 { "-" } else { "--" })
        }
        '!' | '?' => {
            let end = run(|x| matches!(x, '!' | '?'));
            out.push(chars[at..end].iter().collect());
            return end;
        }
        _ => (at + 1, symbol(c)),
    };
    if token.is_empty() {
        out.push(c.to_string());
    } else {
        out.push(token.into());
    }
    end
}

/// The PTB token for a one-character symbol, or "" when it is the character itself.
fn symbol(c: char) -> &'static str {
    match c {
        '(' => "-lrb-",
        ')' => "-rrb-",
        '[' => "-lsb-",
        ']' => "-rsb-",
        '{' => "-lcb-",
        '}' => "-rcb-",
        '"' | '“' | '”' => "''",
        '‘' | '’' | '`' => "'",
        '…' => "...",
        '£' => "#",
        '€' => "$",
        _ => "",
    }
}

/// A word or number: its first character, then characters, with joiners that the next
/// character continues; a final abbreviation period; then clitics split off.
fn lex_word(chars: &[char], start: usize, out: &mut Vec<String>) -> usize {
    let mut end = start + 1;
    while end < chars.len() {
        let c = chars[end];
        if c.is_alphanumeric() {
            end += 1;
        } else if joins(chars, end) {
            end += 2;
        } else {
            break;
        }
    }
    if chars.get(end) == Some(&'.')
        && chars.get(end + 1) != Some(&'.')
        && keeps_period(&chars[start..end])
    {
        end += 1;
    }
    let word: String = chars[start..end].iter().collect();
    push_with_clitics(word, out);
    end
}

/// Whether the non-alphanumeric `chars[at]` joins the word before it to the character after.
fn joins(chars: &[char], at: usize) -> bool {
    let (Some(&before), Some(&after)) = (chars.get(at.wrapping_sub(1)), chars.get(at + 1)) else {
        return false;
    };
    if !after.is_alphanumeric() {
        return false;
    }
    match chars[at] {
        '-' | '.' | '/' | '@' | '\'' => true,
        ',' | ':' => before.is_ascii_digit() && after.is_ascii_digit(),
        '&' => before.is_alphabetic() && after.is_alphabetic(),
        _ => false,
    }
}

/// Whether `word` (without its final period) is an acronym (u.s, a.m), a single letter (an
/// initial: "vitamin c.", even "a." at the end of a caption) or a known abbreviation.
fn keeps_period(word: &[char]) -> bool {
    let text: String = word.iter().collect();
    let acronym = text.contains('.')
        && text
            .split('.')
            .all(|part| part.chars().count() == 1 && part.chars().all(char::is_alphabetic));
    let initial = word.len() == 1 && word[0].is_alphabetic();
    acronym || initial || ABBREVIATIONS.contains(&text.as_str())
}

/// Pushes `word`, split as the lexer splits contractions.
fn push_with_clitics(word: String, out: &mut Vec<String>) {
    if let Some(&(_, first)) = SPLIT_WORDS.iter().find(|(w, _)| *w == word) {
        out.push(word[..first].into());
        out.push(word[first..].into());
        return;
    }
    let mut stem = word.as_str();
    let mut clitics = Vec::new();
    loop {
        let clitic = CLITICS
            .iter()
            .chain(&["n't"])
            .find(|c| stem.len() > c.len() && stem.ends_with(*c));
        match clitic {
            Some(clitic) => {
                clitics.push(&stem[stem.len() - clitic.len()..]);
                stem = &stem[..stem.len() - clitic.len()];
            }
            None => break,
        }
    }
    out.push(stem.into());
    out.extend(clitics.into_iter().rev().map(String::from));
}

/// An apostrophe not inside a word: a clitic ('s), 't of 'tis / 'twas, a decade ('90s), 'n',
/// or else a single quote.
fn lex_apostrophe(chars: &[char], at: usize, out: &mut Vec<String>) -> usize {
    let letters = chars[at + 1..]
        .iter()
        .take_while(|c| c.is_alphanumeric())
        .count();
    let end = at + 1 + letters;
    let rest: String = chars[at + 1..end].iter().collect();
    let token = format!("'{rest}");
    let decade = rest.len() >= 2
        && rest.chars().take(2).all(|c| c.is_ascii_digit())
        && matches!(&rest[2..], "" | "s");
    if CLITICS.contains(&token.as_str()) || decade {
        out.push(token);
        return end;
    }
    if rest == "tis" || rest == "twas" {
        out.push("'t".into());
        out.push(rest[1..].into());
        return end;
    }
    if rest == "n" && chars.get(end) == Some(&'\'') {
        out.push("'n'".into());
        return end + 1;
    }
    out.push("'".into());
    at + 1
}
