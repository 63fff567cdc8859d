//! Regular expressions in the JFlex syntax of PTBLexer.flex, over UTF-16 code units (Java's
//! `char`, which is what the lexer reads: a character outside the Basic Multilingual Plane is
//! two surrogate code units, in no class but the negated ones).
//!
//! The syntax: `a|b`, `ab`, `(a)`, `a*`, `a+`, `a?`, `a{n}`, `a{n,m}`, `{MACRO}`, `.` (any code
//! unit but `\n`), classes `[a-z\u00AD[:letter:][:digit:][:uppercase:]]` and `[^...]` (`[^]`:
//! any code unit), escapes `\uXXXX \xXX \t \n \r \f \0` and `\c` for a literal `c`. The spec is
//! `%caseless`: a literal letter outside a class also matches its other case; a class matches
//! exactly what it lists (`[A]` only `A`). [:letter:] and [:digit:] are the jar's own sets
//! ([`super::unicode`]); [:uppercase:] is Rust's `char::is_uppercase`, which only decides
//! whether the lexer returns a period that pycocoevalcap removes anyway (`SENTEND`).
//!
//! An expression compiles into a Thompson NFA ([`Nfa`]); [`Nfa::ends`] lists where a match
//! that starts at a position can end.

use super::unicode::{DIGIT, LETTER};
use std::collections::HashMap;

/// A set of UTF-16 code units.
#[derive(Clone, Debug, Default)]
pub(super) struct CharSet {
    negated: bool,
    ranges: Vec<(u16, u16)>,
    letter: bool,
    digit: bool,
    upper: bool,
}

impl CharSet {
    fn of(units: &[u16]) -> CharSet {
        CharSet {
            ranges: units.iter().map(|&u| (u, u)).collect(),
            ..CharSet::default()
        }
    }

    pub(super) fn contains(&self, c: u16) -> bool {
        let inside = self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
            || (self.letter && in_table(&LETTER, c))
            || (self.digit && in_table(&DIGIT, c))
            || (self.upper && char::from_u32(c.into()).is_some_and(char::is_uppercase));
        inside != self.negated
    }
}

fn in_table(table: &[(u16, u16)], c: u16) -> bool {
    let i = table.partition_point(|&(_, hi)| hi < c);
    table.get(i).is_some_and(|&(lo, _)| lo <= c)
}

/// A parsed expression.
#[derive(Clone, Debug)]
pub(super) enum Ast {
    Set(CharSet),
    Concat(Vec<Ast>),
    Alt(Vec<Ast>),
    Repeat(Box<Ast>, u32, Option<u32>),
}

/// Parses `src`; `{NAME}` refers to `macros`. Panics on a syntax error (the spec is fixed and
/// the tests parse all of it).
pub(super) fn parse(src: &str, macros: &HashMap<&str, Ast>) -> Ast {
    let mut p = Parser {
        src: src.chars().collect(),
        at: 0,
        macros,
    };
    let ast = p.alt();
    assert!(p.at == p.src.len(), "unexpected {:?} in {src}", p.peek());
    ast
}

struct Parser<'a> {
    src: Vec<char>,
    at: usize,
    macros: &'a HashMap<&'a str, Ast>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src.get(self.at).copied()
    }

    fn next(&mut self) -> char {
        let c = self.src[self.at];
        self.at += 1;
        c
    }

    fn alt(&mut self) -> Ast {
        let mut branches = vec![self.concat()];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concat());
        }
        if branches.len() == 1 {
            branches.pop().unwrap()
        } else {
            Ast::Alt(branches)
        }
    }

    fn concat(&mut self) -> Ast {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom();
            items.push(self.repeats(atom));
        }
        Ast::Concat(items)
    }

    fn repeats(&mut self, mut atom: Ast) -> Ast {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') if self.src.get(self.at + 1).is_some_and(char::is_ascii_digit) => {
                    self.at += 1;
                    let min = self.number();
                    let max = if self.peek() == Some(',') {
                        self.at += 1;
                        self.number()
                    } else {
                        min
                    };
                    assert_eq!(self.next(), '}');
                    atom = Ast::Repeat(Box::new(atom), min, Some(max));
                    continue;
                }
                _ => return atom,
            };
            self.at += 1;
            atom = Ast::Repeat(Box::new(atom), min, max);
        }
    }

    fn number(&mut self) -> u32 {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        self.src[start..self.at]
            .iter()
            .collect::<String>()
            .parse()
            .unwrap()
    }

    fn atom(&mut self) -> Ast {
        match self.next() {
            '(' => {
                let inner = self.alt();
                assert_eq!(self.next(), ')');
                inner
            }
            '[' => Ast::Set(self.class()),
            '{' => {
                let start = self.at;
                while self.peek() != Some('}') {
                    self.at += 1;
                }
                let name: String = self.src[start..self.at].iter().collect();
                self.at += 1;
                self.macros
                    .get(name.as_str())
                    .unwrap_or_else(|| panic!("no macro {name}"))
                    .clone()
            }
            '.' => Ast::Set(CharSet {
                negated: true,
                ..CharSet::of(&[u16::from(b'\n')])
            }),
            '\\' => Ast::Set(caseless(self.escape())),
            c => Ast::Set(caseless(c as u16)),
        }
    }

    /// The code unit of an escape, after its backslash.
    fn escape(&mut self) -> u16 {
        let hex = |p: &mut Parser, n: usize| {
            let digits: String = p.src[p.at..p.at + n].iter().collect();
            p.at += n;
            u16::from_str_radix(&digits, 16).unwrap()
        };
        match self.next() {
            'u' => hex(self, 4),
            'x' => hex(self, 2),
            't' => 9,
            'n' => 10,
            'f' => 12,
            'r' => 13,
            '0' => 0,
            c => c as u16,
        }
    }

    /// A class, after its `[`: `[:letter:]`, `[:digit:]`, `[:uppercase:]` or a list.
    fn class(&mut self) -> CharSet {
        let mut set = CharSet::default();
        for (name, flag) in [("letter", 0), ("digit", 1), ("uppercase", 2)] {
            let predefined: Vec<char> = format!(":{name}:]").chars().collect();
            if self.src[self.at..].starts_with(&predefined) {
                self.at += predefined.len();
                *[&mut set.letter, &mut set.digit, &mut set.upper][flag] = true;
                return set;
            }
        }
        if self.peek() == Some('^') {
            self.at += 1;
            set.negated = true;
        }
        while self.peek() != Some(']') {
            let lo = self.class_char();
            let hi = if self.peek() == Some('-') && self.src.get(self.at + 1) != Some(&']') {
                self.at += 1;
                self.class_char()
            } else {
                lo
            };
            set.ranges.push((lo, hi));
        }
        self.at += 1;
        set
    }

    fn class_char(&mut self) -> u16 {
        match self.next() {
            '\\' => self.escape(),
            c => c as u16,
        }
    }
}

/// A literal code unit under `%caseless`: itself and its other cases (JFlex takes
/// `Character.toUpperCase`, `toLowerCase` and `toTitleCase`).
fn caseless(unit: u16) -> CharSet {
    let mut units = vec![unit];
    if let Some(c) = char::from_u32(unit.into()) {
        let cases: [Vec<char>; 2] = [c.to_lowercase().collect(), c.to_uppercase().collect()];
        for case in cases {
            if let [other] = case[..]
                && let Ok(u) = u16::try_from(u32::from(other))
            {
                units.push(u);
            }
        }
    }
    CharSet::of(&units)
}

/// One NFA state.
#[derive(Clone, Debug)]
enum State {
    /// Consume a code unit of set `.0`, go to `.1`.
    Unit(u32, u32),
    /// Go to any of these without consuming.
    Fork(Vec<u32>),
    /// A match of the expression tagged `.0` ends here.
    Accept(u32),
}

/// Thompson NFAs of many expressions in one state table.
#[derive(Default)]
pub(super) struct Nfa {
    states: Vec<State>,
    sets: Vec<CharSet>,
}

impl Nfa {
    /// Adds `ast`, accepting with `tag`; returns its start state.
    pub(super) fn add(&mut self, ast: &Ast, tag: u32) -> u32 {
        let accept = self.push(State::Accept(tag));
        self.compile(ast, accept)
    }

    /// Adds the expressions `starts` lead to behind one start state; returns it.
    pub(super) fn add_fork(&mut self, starts: Vec<u32>) -> u32 {
        self.push(State::Fork(starts))
    }

    fn push(&mut self, state: State) -> u32 {
        self.states.push(state);
        (self.states.len() - 1) as u32
    }

    fn compile(&mut self, ast: &Ast, next: u32) -> u32 {
        match ast {
            Ast::Set(set) => {
                self.sets.push(set.clone());
                self.push(State::Unit((self.sets.len() - 1) as u32, next))
            }
            Ast::Concat(items) => items.iter().rev().fold(next, |n, a| self.compile(a, n)),
            Ast::Alt(branches) => {
                let starts = branches.iter().map(|b| self.compile(b, next)).collect();
                self.push(State::Fork(starts))
            }
            Ast::Repeat(inner, min, max) => {
                let mut tail = match max {
                    None => {
                        let fork = self.push(State::Fork(vec![next]));
                        let body = self.compile(inner, fork);
                        let State::Fork(targets) = &mut self.states[fork as usize] else {
                            unreachable!()
                        };
                        targets.push(body);
                        fork
                    }
                    Some(max) => {
                        let mut tail = next;
                        for _ in *min..*max {
                            let body = self.compile(inner, tail);
                            tail = self.push(State::Fork(vec![body, next]));
                        }
                        tail
                    }
                };
                for _ in 0..*min {
                    tail = self.compile(inner, tail);
                }
                tail
            }
        }
    }

    /// Adds the closure of `state` to `out` (states that consume or accept), marking `seen`.
    fn close(&self, state: u32, seen: &mut [bool], out: &mut Vec<u32>) {
        let mut stack = vec![state];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s as usize], true) {
                continue;
            }
            match &self.states[s as usize] {
                State::Fork(targets) => stack.extend(targets.iter().rev()),
                _ => out.push(s),
            }
        }
    }

    /// The closed state set after consuming `unit` from `from` (sorted, without duplicates).
    pub(super) fn step(&self, from: &[u32], unit: u16) -> Vec<u32> {
        let mut seen = vec![false; self.states.len()];
        let mut out = Vec::new();
        for &s in from {
            if let State::Unit(set, next) = self.states[s as usize]
                && self.sets[set as usize].contains(unit)
            {
                self.close(next, &mut seen, &mut out);
            }
        }
        out.sort_unstable();
        out
    }

    /// The closed start set of `start`.
    pub(super) fn start(&self, start: u32) -> Vec<u32> {
        let mut seen = vec![false; self.states.len()];
        let mut out = Vec::new();
        self.close(start, &mut seen, &mut out);
        out.sort_unstable();
        out
    }

    /// The smallest tag accepted in `set`.
    pub(super) fn accepts(&self, set: &[u32]) -> Option<u32> {
        set.iter()
            .filter_map(|&s| match self.states[s as usize] {
                State::Accept(tag) => Some(tag),
                _ => None,
            })
            .min()
    }

    /// The ends `e <= limit` such that the expression at `start` matches `text[from..e]`.
    pub(super) fn ends(&self, start: u32, text: &[u16], from: usize, limit: usize) -> Vec<usize> {
        let mut set = self.start(start);
        let mut ends = Vec::new();
        let mut at = from;
        loop {
            if self.accepts(&set).is_some() {
                ends.push(at);
            }
            if at == limit || set.is_empty() {
                break;
            }
            set = self.step(&set, text[at]);
            at += 1;
        }
        ends
    }
}
