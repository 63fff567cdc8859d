//! The rules of PTBLexer.flex (CoreNLP 3.4.1, the lexer in pycocoevalcap's jar) in their file
//! order, with the macros they use, copied verbatim; the options pycocoevalcap runs with
//! (PTB3 escaping, `tokenizeNLs` from `-preserveLines`, not strictly Treebank 3, untokenizable
//! characters deleted) pick each rule's action. Rules of the strict-Treebank-3 state and the
//! macros only they use are left out.

use super::regex::{Ast, Nfa, parse};
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a rule does with its text (JFlex's `yytext()`, the match without trailing context).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Action {
    /// The text is the token.
    Text,
    /// Only the first `len - n` units are the token; the last `n` are lexed again
    /// (cannot -> can not, gonna -> gon na).
    PushBack(usize),
    /// Spaces inside the token become no-break spaces (SGML tags, "3 1/2").
    NoBreakSpaces,
    /// `--` (Unicode and entity dashes).
    Dash,
    /// `&amp;` becomes `&`.
    Amp,
    /// Soft hyphens (U+00AD) are removed.
    SoftHyphens,
    /// Quotes become LaTeX quotes, `left` for an opening one.
    Quote { left: bool },
    /// ¼ ½ ¾ ⅓ ⅔ become 1/4 1/2 3/4 1/3 2/3.
    Fractions,
    /// ¢ -> cents, £ -> #, € ¤ ₠ -> $.
    Currency,
    /// An acronym before a sentence opener: a single letter loses its period; a longer one
    /// keeps it and the period is lexed again.
    Acronym,
    /// Trailing whitespace that JFlex wrongly includes is given back (ca. before a number).
    TrimSpaces,
    /// An abbreviation that may end the sentence: the token keeps its period, and the period
    /// is lexed again.
    PeriodAgain,
    /// Spaces -> no-break spaces, ( ) -> -LRB- -RRB- (phone numbers).
    Phone,
    /// Smileys: ( ) -> -LRB- -RRB-.
    Smiley,
    /// Runs of 3 or 4 hyphens are `--`.
    Hyphens,
    /// `...` for any ellipsis.
    Ellipsis,
    /// A fixed token.
    Fixed(&'static str),
    /// No token (spaces, deleted characters).
    Skip,
    /// A line break: with `-preserveLines`, the end of a line of output.
    Newline,
}

/// The macros of PTBLexer.flex (the strict-Treebank-3 FRACSTB3 left out).
const MACROS: [(&str, &str); 76] = [
    (
        "SGML",
        r#"\<([!\?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:\.\-]*([ ]+([A-Za-z][A-Za-z0-9_:\.\-]*|[A-Za-z][A-Za-z0-9_:\.\-]*[ ]*=[ ]*('[^']*'|\"[^\"]*\")))*[ ]*\/?|\/[A-Za-z][A-Za-z0-9_:\.\-]*)[ ]*\>"#,
    ),
    (
        "SPMDASH",
        r#"&(MD|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015]"#,
    ),
    ("SPAMP", r#"&amp;"#),
    ("SPPUNC", r#"&(HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);"#),
    ("SPLET", r#"&[aeiouAEIOU](acute|grave|uml);"#),
    ("SPACE", r#"[ \t\u00A0\u2000-\u200A\u3000]"#),
    ("SPACES", r#"{SPACE}+"#),
    ("NEWLINE", r#"\r|\r?\n|\u2028|\u2029|\u000B|\u000C|\u0085"#),
    ("SPACENL", r#"({SPACE}|{NEWLINE})"#),
    ("SPACENLS", r#"{SPACENL}+"#),
    ("SENTEND", r#"{SPACENL}({SPACENL}|[:uppercase:]|{SGML})"#),
    ("DIGIT", r#"[:digit:]|[\u07C0-\u07C9]"#),
    (
        "DATE",
        r#"{DIGIT}{1,2}[\-\/]{DIGIT}{1,2}[\-\/]{DIGIT}{2,4}"#,
    ),
    (
        "NUM",
        r#"{DIGIT}+|{DIGIT}*([.:,\u00AD\u066B\u066C]{DIGIT}+)+"#,
    ),
    ("NUMBER", r#"[\-+]?{NUM}"#),
    (
        "SUBSUPNUM",
        r#"[\u207A\u207B\u208A\u208B]?([\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+)"#,
    ),
    (
        "FRAC",
        r#"({DIGIT}{1,4}[- \u00A0])?{DIGIT}{1,4}(\\?\/|\u2044){DIGIT}{1,4}"#,
    ),
    ("FRAC2", r#"[\u00BC\u00BD\u00BE\u2153-\u215E]"#),
    ("DOLSIGN", r#"([A-Z]*\$|#)"#),
    (
        "DOLSIGN2",
        r#"[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6]"#,
    ),
    (
        "LETTER",
        r#"([:letter:]|{SPLET}|[\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF\u0300-\u036F\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF\u0483-\u0487\u04CF\u04F6-\u04FF\u0510-\u0525\u055A-\u055F\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0615-\u061A\u063B-\u063F\u064B-\u065E\u0670\u06D6-\u06EF\u06FA-\u06FF\u070F\u0711\u0730-\u074F\u0750-\u077F\u07A6-\u07B1\u07CA-\u07F5\u07FA\u0900-\u0903\u093C\u093E-\u094E\u0951-\u0955\u0962-\u0963\u0981-\u0983\u09BC-\u09C4\u09C7\u09C8\u09CB-\u09CD\u09D7\u09E2\u09E3\u0A01-\u0A03\u0A3C\u0A3E-\u0A4F\u0A81-\u0A83\u0ABC-\u0ACF\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8\u0BCA-\u0BCD\u0C01-\u0C03\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A\u0E47-\u0E4E\u0EB1-\u0EBC\u0EC8-\u0ECD])"#,
    ),
    (
        "WORD",
        r#"{LETTER}({LETTER}|{DIGIT})*([.!?]{LETTER}({LETTER}|{DIGIT})*)*"#,
    ),
    (
        "FILENAME_EXT",
        r#"bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip"#,
    ),
    (
        "FILENAME",
        r#"({LETTER}|{DIGIT})+([.]({LETTER}|{DIGIT})+)*([.]{FILENAME_EXT})"#,
    ),
    (
        "THING",
        r#"([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+({HYPHEN}([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+)*"#,
    ),
    ("THINGA", r#"[A-Z]+(([+&]|{SPAMP})[A-Z]+)+"#),
    (
        "THING3",
        r#"[A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?\/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2}"#,
    ),
    ("APOS", r#"['\u0092\u2019]|&apos;"#),
    ("APOSETCETERA", r#"{APOS}|[`\u0091\u2018\u201B]"#),
    (
        "HTHING",
        r#"[A-Za-z0-9][A-Za-z0-9.,\u00AD]*(-([A-Za-z0-9\u00AD]+|{ACRO2}\.))+"#,
    ),
    ("REDAUX", r#"{APOS}([msdMSD]|re|ve|ll)"#),
    ("SWORD", r#"[A-Za-z\u00AD]*[A-MO-Za-mo-z](\u00AD)*"#),
    ("SREDAUX", r#"n{APOSETCETERA}t"#),
    (
        "APOWORD",
        r#"{APOS}n{APOS}?|[lLdDjJ]{APOS}|Dunkin{APOS}|somethin{APOS}|ol{APOS}|{APOS}em|[A-HJ-XZn]{APOSETCETERA}[:letter:]{2}[:letter:]*|{APOS}[2-9]0s|{APOS}till?|[:letter:][:letter:]*[aeiouyAEIOUY]{APOSETCETERA}[aeiouA-Z][:letter:]*|{APOS}cause|cont'd\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l|O{APOSETCETERA}o"#,
    ),
    ("APOWORD2", r#"y{APOS}"#),
    (
        "FULLURL",
        r#"https?:\/\/[^ \t\n\f\r\"<>|(){}]+[^ \t\n\f\r\"<>|.!?(){},-]"#,
    ),
    (
        "LIKELYURL",
        r#"((www\.([^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|(([^ \t\n\f\r\"`'<>|.!?(){},-_$]+\.)+(com|net|org|edu)))(\/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|.!?(){},-])?"#,
    ),
    (
        "EMAIL",
        r#"(&lt;|<)?[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00A0{}]*@([^ \t\n\f\r\"<>|(){}.\u00A0]+\.)*([^ \t\n\f\r\"<>|(){}.\u00A0]+)(&gt;|>)?"#,
    ),
    ("TWITTER_NAME", r#"@[a-zA-Z_][a-zA-Z_0-9]*"#),
    ("TWITTER_CATEGORY", r#"#{LETTER}+"#),
    ("TWITTER", r#"{TWITTER_NAME}|{TWITTER_CATEGORY}"#),
    (
        "ABMONTH",
        r#"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"#,
    ),
    ("ABDAYS", r#"Mon|Tue|Tues|Wed|Thu|Thurs|Fri"#),
    (
        "ABSTATE",
        r#"Ala|Ariz|[A]z|[A]rk|Calif|Colo|Conn|Ct|Dak|[D]el|Fla|Ga|[I]ll|Ind|Kans?|Ky|[L]a|[M]ass|Md|Mich|Minn|[M]iss|Mo|Mont|Neb|Nev|Okla|[O]re|[P]a|Penn|Tenn|[T]ex|Va|Vt|[W]ash|Wisc?|Wyo"#,
    ),
    (
        "ABCOMP",
        r#"Inc|Cos?|Corp|Pp?t[ye]s?|Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys"#,
    ),
    ("ABNUM", r#"tel|est|ext|sq"#),
    ("ABPTIT", r#"Jr|Sr|Bros|(Ed|Ph)\.D|Blvd|Rd|Esq"#),
    (
        "ABBREV1",
        r#"({ABMONTH}|{ABDAYS}|{ABSTATE}|{ABCOMP}|{ABNUM}|{ABPTIT}|etc|al|seq|Bldg)\."#,
    ),
    (
        "ACRO",
        r#"[A-Za-z](\.[A-Za-z])*|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R)"#,
    ),
    (
        "ACRO2",
        r#"[A-Za-z](\.[A-Za-z])+|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R)"#,
    ),
    (
        "ABTITLE",
        r#"Mr|Mrs|Ms|[M]iss|Drs?|Profs?|Sens?|Reps?|Attys?|Lt|Col|Gen|Messrs|Govs?|Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt|Ste?|Ave|Pres|Lieut|Hon|Brig|Co?mdr|Pfc|Spc|Supts?|Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc"#,
    ),
    ("ABCOMP2", r#"Invt|Elec|Natl|M[ft]g|Dept"#),
    (
        "ABBREV4",
        r#"{ABTITLE}|vs|Alex|Wm|Jos|Cie|a\.k\.a|cf|TREAS|Ph|{ACRO}|{ABCOMP2}"#,
    ),
    ("ABBREV2", r#"{ABBREV4}\."#),
    ("ACRONYM", r#"({ACRO})\."#),
    ("ABBREV3", r#"(ca|figs?|prop|nos?|art|bldg|prop|pp|op)\."#),
    (
        "PHONE",
        r#"(\([0-9]{2,3}\)[ \u00A0]?|(\+\+?)?([0-9]{2,4}[\- \u00A0])?[0-9]{2,4}[\- \u00A0])[0-9]{3,4}[\- \u00A0]?[0-9]{3,5}|((\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}"#,
    ),
    ("FAKEDUCKFEET", r#"<<|>>"#),
    ("LESSTHAN", r#"<|&lt;"#),
    ("GREATERTHAN", r#">|&gt;"#),
    ("HYPHEN", r#"[-_\u058A\u2010\u2011]"#),
    ("HYPHENS", r#"\-+"#),
    ("LDOTS", r#"\.{3,5}|(\.[ \u00A0]){2,4}\.|[\u0085\u2026]"#),
    ("ATS", r#"@+"#),
    ("UNDS", r#"_+"#),
    ("ASTS", r#"\*+|(\\\*){1,3}"#),
    ("HASHES", r#"#+"#),
    ("FNMARKS", r#"{ATS}|{HASHES}|{UNDS}"#),
    ("INSENTP", r#"[,;:\u3001]"#),
    (
        "QUOTES",
        r#"{APOS}|''|[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094\u201E\u201F\u2039\u203A\u00AB\u00BB]{1,2}"#,
    ),
    ("DBLQUOT", r#"\"|&quot;"#),
    (
        "TBSPEC",
        r#"-(RRB|LRB|RCB|LCB|RSB|LSB)-|C\.D\.s|pro-|anti-|S(&|&amp;)P-500|S(&|&amp;)Ls|Cap{APOS}n|c{APOS}est"#,
    ),
    ("TBSPEC2", r#"{APOS}[0-9][0-9]"#),
    ("SMILEY", r#"[<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]]"#),
    (
        "ASIANSMILEY",
        r#"[\^x=~<>]\.\[\^x=~<>]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)|\([\^x=~<>']-[\^x=~<>'`]\)"#,
    ),
    (
        "MISCSYMBOL",
        r#"[+%&~\^|\\¦\u00A7¨\u00A9\u00AC\u00AE¯\u00B0-\u00B3\u00B4-\u00BA\u00D7\u00F7\u0387\u05BE\u05C0\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E\u066A\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65\uFF65]"#,
    ),
];

/// The sentence openers after which the lexer takes a one-letter acronym's period as the
/// sentence's end (case-sensitive first letters, as in the spec).
const OPENERS: &str = r#"({SPACENLS})([A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|[H]e|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\.|[M]s\.|[N]ow|[O]nce|[O]ne|[O]ther|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|[T]hat|[T]he|[T]heir|[T]hen|[T]here|[T]hese|[T]hey|[T]his|[W]e|[W]hen|[W]hile|[W]hat|[Y]et|[Y]ou|{SGML}){SPACENL}"#;

use Action::*;

/// The rules in file order: expression, trailing context (JFlex's `r1/r2`), action.
const RULES: [(&str, Option<&str>, Action); 81] = [
    (r"c[+][+]", None, Text),
    (r"(c|f)#", None, Text),
    (r"cannot", None, PushBack(3)),
    (r"'twas", None, PushBack(3)),
    (r"'tis", None, PushBack(2)),
    (r"gonna|gotta|lemme|gimme|wanna", None, PushBack(2)),
    (r"{SGML}", None, NoBreakSpaces),
    (r"{SPMDASH}", None, Dash),
    (r"{SPAMP}", None, Amp),
    (r"{SPPUNC}", None, Text),
    (r"{WORD}", Some(r"{REDAUX}"), SoftHyphens),
    (r"{SWORD}", Some(r"{SREDAUX}"), SoftHyphens),
    (r"{WORD}", None, SoftHyphens),
    (r"{APOWORD}", None, Text),
    (r"{APOWORD2}", Some(r"[:letter:]"), Text),
    (r"{FULLURL}", None, Text),
    (r"{LIKELYURL}", None, Text),
    (r"{EMAIL}", None, Text),
    (r"{TWITTER}", None, Text),
    (r"{REDAUX}", Some(r"[^A-Za-z]"), Quote { left: false }),
    (r"{SREDAUX}", Some(r"[^A-Za-z]"), Quote { left: false }),
    (r"{DATE}", None, Text),
    (r"{NUMBER}", None, SoftHyphens),
    (r"{SUBSUPNUM}", None, Text),
    (r"{FRAC}", None, NoBreakSpaces),
    (r"{FRAC2}", None, Fractions),
    (r"{TBSPEC}", None, Amp),
    (r"{THING3}", None, Text),
    (r"{DOLSIGN}", None, Text),
    (r"{DOLSIGN2}", None, Currency),
    (r"{ACRONYM}", Some(OPENERS), Acronym),
    (r"{ABBREV3}", Some(r"{SPACENL}?[:digit:]"), TrimSpaces),
    (r"(pt[eyEY]|co)\.", Some(r"{SPACE}(ltd|lim)"), Text),
    (r"{ABBREV1}", Some(r"{SENTEND}"), PeriodAgain),
    (r"{ABBREV1}", Some(r"[^][^]"), Text),
    (r"{ABBREV1}", None, PeriodAgain),
    (r"{ABBREV2}", None, Text),
    (r"{ABBREV4}", Some(r"{SPACE}"), Text),
    (r"{ACRO}", Some(r"{SPACENL}"), Text),
    (r"{TBSPEC2}", Some(r"{SPACENL}"), Text),
    (r"{FILENAME}", Some(r"({SPACENL}|[.?!,])"), Text),
    (r"{WORD}\.", Some(r"{INSENTP}"), SoftHyphens),
    (r"{PHONE}", None, Phone),
    (r"{DBLQUOT}", Some(r"[A-Za-z0-9$]"), Quote { left: true }),
    (r"{DBLQUOT}", None, Quote { left: false }),
    (r"\x7f", None, Skip),
    (r"{LESSTHAN}", None, Fixed("<")),
    (r"{GREATERTHAN}", None, Fixed(">")),
    (r"{SMILEY}", Some(r"[^A-Za-z0-9]"), Smiley),
    (r"{ASIANSMILEY}", None, Smiley),
    (r"\{", None, Fixed("-LCB-")),
    (r"\}", None, Fixed("-RCB-")),
    (r"\[", None, Fixed("-LSB-")),
    (r"\]", None, Fixed("-RSB-")),
    (r"\(", None, Fixed("-LRB-")),
    (r"\)", None, Fixed("-RRB-")),
    (r"{HYPHENS}", None, Hyphens),
    (r"{LDOTS}", None, Ellipsis),
    (r"{FNMARKS}", None, Text),
    (r"{ASTS}", None, Text),
    (r"{INSENTP}", None, Text),
    (r"[?!]+", None, Text),
    (
        r"[.¡¿\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]",
        None,
        Text,
    ),
    (r"=", None, Text),
    (r"\/", None, Text),
    (r"{HTHING}\.", Some(r"{INSENTP}"), SoftHyphens),
    (r"{HTHING}", None, SoftHyphens),
    (r"{THING}\.", Some(r"{INSENTP}"), Text),
    (r"{THING}", None, Text),
    (r"{THINGA}\.", Some(r"{INSENTP}"), Amp),
    (r"{THINGA}", None, Amp),
    (
        r"'",
        Some(r"[A-Za-z][^ \t\n\r\u00A0]"),
        Quote { left: true },
    ),
    (r"{REDAUX}", None, Quote { left: false }),
    (r"{SREDAUX}", None, Quote { left: false }),
    (r"{QUOTES}", None, Quote { left: false }),
    (r"{FAKEDUCKFEET}", None, Text),
    (r"{MISCSYMBOL}", None, Text),
    (r"\0|{SPACES}|[\u200B\u200E-\u200F\uFEFF]", None, Skip),
    (r"{NEWLINE}", None, Newline),
    (r"&nbsp;", None, Skip),
    (r".", None, Skip),
];

/// One rule, compiled.
pub(super) struct Rule {
    pub action: Action,
    /// For a rule with trailing context: the start states of its expression and its context
    /// alone, to find where the token ends inside the match.
    pub split: Option<(u32, u32)>,
}

/// All rules in one NFA: a match of rule `i` (with its trailing context) accepts with tag `i`.
pub(super) struct Spec {
    pub nfa: Nfa,
    pub start: u32,
    pub rules: Vec<Rule>,
}

/// The compiled rules (built once).
pub(super) fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(build)
}

fn build() -> Spec {
    let macros = macros();
    let mut nfa = Nfa::default();
    let mut starts = Vec::new();
    let mut rules = Vec::new();
    for (tag, &(expr, context, action)) in RULES.iter().enumerate() {
        let r1 = parse(expr, &macros);
        let split = context.map(|c| {
            let r2 = parse(c, &macros);
            let whole = Ast::Concat(vec![r1.clone(), r2.clone()]);
            starts.push(nfa.add(&whole, tag as u32));
            (nfa.add(&r1, tag as u32), nfa.add(&r2, tag as u32))
        });
        if split.is_none() {
            starts.push(nfa.add(&r1, tag as u32));
        }
        rules.push(Rule { action, split });
    }
    let start = nfa.add_fork(starts);
    Spec { nfa, start, rules }
}

/// The macros, parsed; a macro may use macros defined after it, as in JFlex.
fn macros() -> HashMap<&'static str, Ast> {
    let mut done: HashMap<&str, Ast> = HashMap::new();
    while done.len() < MACROS.len() {
        let before = done.len();
        for &(name, src) in &MACROS {
            if !done.contains_key(name) && uses(src).iter().all(|m| done.contains_key(m)) {
                let ast = parse(src, &done);
                done.insert(name, ast);
            }
        }
        assert!(done.len() > before, "macros refer to each other in a cycle");
    }
    done
}

/// The macro names `{NAME}` in `src`.
fn uses(src: &str) -> Vec<&str> {
    src.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| name.starts_with(|c: char| c.is_ascii_uppercase()))
        .collect()
}

/// The number of rules.
#[cfg(test)]
pub(super) const RULE_COUNT: usize = RULES.len();
