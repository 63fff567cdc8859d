//! The scanner JFlex generates from the rules: at each position the longest match of any rule
//! wins, a rule's trailing context counting towards its length, and of equally long matches
//! the rule first in the file; the action then makes the token (or none) and says where the
//! next match starts.
//!
//! A rule `r1/r2` matched as a whole ends its token where `r1` ends; of several such places,
//! the last one from which `r2` matches the rest (JFlex 1.5's general lookahead, with which
//! the jar's lexer was generated).

use super::rules::{Action, Spec, spec};
use std::cell::RefCell;
use std::collections::HashMap;

/// A token of the lexer, before lowercasing.
#[derive(Debug, PartialEq)]
pub(super) enum Lexeme {
    Token(String),
    Newline,
}

/// The lexemes of `text` (UTF-16 code units), each with the position it starts at.
pub(super) fn lex(text: &[u16]) -> Vec<(usize, Lexeme)> {
    let spec = spec();
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let (end, tag) = DFA.with(|dfa| {
            let mut dfa = dfa.borrow_mut();
            let dfa = dfa.get_or_insert_with(|| Dfa::new(spec));
            dfa.longest(spec, text, at)
        });
        let rule = &spec.rules[tag as usize];
        let end = match rule.split {
            Some((r1, r2)) => split(spec, text, at, end, r1, r2),
            None => end,
        };
        let (lexeme, next) = act(rule.action, &text[at..end], at);
        if let Some(lexeme) = lexeme {
            out.push((at, lexeme));
        }
        at = next;
    }
    out
}

/// Where the token of a rule `r1/r2` that matched `text[at..end]` ends.
fn split(spec: &Spec, text: &[u16], at: usize, end: usize, r1: u32, r2: u32) -> usize {
    let nfa = &spec.nfa;
    let ends = nfa.ends(r1, text, at, end);
    *ends
        .iter()
        .rev()
        .find(|&&q| nfa.ends(r2, text, q, end).last() == Some(&end))
        .expect("a trailing-context match splits")
}

/// The lexeme of an action on its text `t` (starting at `at`), and where lexing goes on.
fn act(action: Action, t: &[u16], at: usize) -> (Option<Lexeme>, usize) {
    let end = at + t.len();
    let token = |s: String| Some(Lexeme::Token(s));
    let text = || String::from_utf16_lossy(t);
    match action {
        Action::Text => (token(text()), end),
        Action::PushBack(n) => (token(String::from_utf16_lossy(&t[..t.len() - n])), end - n),
        Action::NoBreakSpaces => (token(text().replace(' ', "\u{a0}")), end),
        Action::Dash => (token("--".into()), end),
        Action::Amp => (token(normalize_amp(&text())), end),
        Action::SoftHyphens => (token(remove_soft_hyphens(&text())), end),
        Action::Quote { left } => (token(latex_quotes(&text(), left)), end),
        Action::Fractions => (token(fractions(&text())), end),
        Action::Currency => (token(currency(&text())), end),
        Action::Acronym => {
            let t = trim_spaces(t);
            if t.len() == 2 {
                (token(String::from_utf16_lossy(&t[..1])), at + 1)
            } else {
                (token(String::from_utf16_lossy(t)), at + t.len() - 1)
            }
        }
        Action::TrimSpaces => {
            let t = trim_spaces(t);
            (token(String::from_utf16_lossy(t)), at + t.len())
        }
        Action::PeriodAgain => (token(text()), end - 1),
        Action::Phone => {
            let s = text().replace(' ', "\u{a0}");
            (token(s.replace('(', "-LRB-").replace(')', "-RRB-")), end)
        }
        Action::Smiley => (
            token(text().replace('(', "-LRB-").replace(')', "-RRB-")),
            end,
        ),
        Action::Hyphens if (3..=4).contains(&t.len()) => (token("--".into()), end),
        Action::Hyphens => (token(text()), end),
        Action::Ellipsis => (token("...".into()), end),
        Action::Fixed(s) => (token(s.into()), end),
        Action::Skip => (None, end),
        Action::Newline => (Some(Lexeme::Newline), end),
    }
}

/// `t` without the trailing space, tab, line breaks (U+000A..U+000D) and U+0085 that JFlex
/// can wrongly count into a token with trailing context.
fn trim_spaces(mut t: &[u16]) -> &[u16] {
    while let Some((&last, rest)) = t.split_last() {
        if last == 0x20 || last == 0x09 || (0x0A..=0x0D).contains(&last) || last == 0x85 {
            t = rest;
        } else {
            break;
        }
    }
    t
}

/// `&amp;` (any case) -> `&`.
fn normalize_amp(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let entity = rest.get(i..i + 5);
        if entity.is_some_and(|e| e.eq_ignore_ascii_case("&amp;")) {
            out.push('&');
            rest = &rest[i + 5..];
        } else {
            out.push('&');
            rest = &rest[i + 1..];
        }
    }
    out + rest
}

/// Soft hyphens removed; a token of soft hyphens only becomes `-`.
fn remove_soft_hyphens(s: &str) -> String {
    let out: String = s.chars().filter(|&c| c != '\u{ad}').collect();
    if out.is_empty() { "-".into() } else { out }
}

/// PTBLexer's `latexQuotes`: ' " and their entities by side, then the Unicode quotes.
fn latex_quotes(s: &str, left: bool) -> String {
    let (single, double) = if left { ("`", "``") } else { ("'", "''") };
    let s = s.replace("&apos;", "'").replace("&quot;", "\"");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.push_str(match c {
            '\'' => single,
            '"' => double,
            '\u{91}' | '\u{2018}' | '\u{201B}' | '\u{2039}' => "`",
            '\u{92}' | '\u{2019}' | '\u{203A}' => "'",
            '\u{93}' | '\u{201C}' | '\u{AB}' => "``",
            '\u{94}' | '\u{201D}' | '\u{BB}' => "''",
            _ => {
                out.push(c);
                continue;
            }
        });
    }
    out
}

fn fractions(s: &str) -> String {
    s.replace('¼', "1/4")
        .replace('½', "1/2")
        .replace('¾', "3/4")
        .replace('⅓', "1/3")
        .replace('⅔', "2/3")
}

fn currency(s: &str) -> String {
    s.replace('¢', "cents")
        .replace('£', "#")
        .replace(['\u{80}', '¤', '₠', '€'], "$")
}

thread_local! {
    /// The lazily built DFA of the rules' NFA, per thread.
    static DFA: RefCell<Option<Dfa>> = const { RefCell::new(None) };
}

/// A DFA built state by state as text needs it (subset construction on demand).
struct Dfa {
    ids: HashMap<Vec<u32>, u32>,
    /// Each state's NFA states and the rule it accepts (the first one).
    states: Vec<(Vec<u32>, Option<u32>)>,
    next: HashMap<(u32, u16), u32>,
}

/// The states kept before the cache starts again (a bound on memory for odd text).
const MAX_STATES: usize = 20_000;

impl Dfa {
    fn new(spec: &Spec) -> Dfa {
        let mut dfa = Dfa {
            ids: HashMap::new(),
            states: Vec::new(),
            next: HashMap::new(),
        };
        dfa.id(spec, spec.nfa.start(spec.start));
        dfa
    }

    fn id(&mut self, spec: &Spec, set: Vec<u32>) -> u32 {
        if let Some(&id) = self.ids.get(&set) {
            return id;
        }
        let id = self.states.len() as u32;
        let accepts = spec.nfa.accepts(&set);
        self.ids.insert(set.clone(), id);
        self.states.push((set, accepts));
        id
    }

    fn step(&mut self, spec: &Spec, state: u32, unit: u16) -> u32 {
        if let Some(&next) = self.next.get(&(state, unit)) {
            return next;
        }
        let set = spec.nfa.step(&self.states[state as usize].0, unit);
        let next = self.id(spec, set);
        self.next.insert((state, unit), next);
        next
    }

    /// The end and rule of the longest match at `at` (the first rule among equals).
    fn longest(&mut self, spec: &Spec, text: &[u16], at: usize) -> (usize, u32) {
        if self.states.len() > MAX_STATES {
            *self = Dfa::new(spec);
        }
        let mut state = 0;
        let mut best = None;
        for i in at..=text.len() {
            let (set, accepts) = &self.states[state as usize];
            if set.is_empty() {
                break;
            }
            if let Some(tag) = accepts {
                best = Some((i, *tag));
            }
            if i == text.len() {
                break;
            }
            state = self.step(spec, state, text[i]);
        }
        best.expect("every code unit is matched by some rule")
    }
}
