"""Caption corpora with the characters real caption files hold, one per category, generated
from a seed: caption-like sentences with the category's characters mixed in, so that the
references and the hypothesis of an image often write the same word two ways ("dog's" and
"dog’s", "café" precomposed and decomposed). Used by captions_score_fixtures.py.
"""
import random
import unicodedata

WORDS = ("a man woman dog cat horse bus train plate pizza table street field kitchen people "
         "sitting standing riding walking holding eating next to on of in with the large small "
         "red white black two three group young old near top front room water grass").split()

OPENERS = ["In", "The", "A", "An", "It", "This", "There", "He", "She", "We", "At", "As", "But",
           "Some", "Two", "Big", "Many", "One"]


def nfd(s):
    return unicodedata.normalize("NFD", s)


def emoji(rng):
    return rng.choice(["🐶", "😀", "👍🏽", "🍕", "🚌", "❤️", "🐱", "🏖", "😂😂", "🇺🇸", "𝐀", "☺", "★",
                       "❤", "☀", "✓", "♥", "🐕‍🦺", "⚽"])


def quote(rng, w):
    left, right = rng.choice([("«", "»"), ("“", "”"), ("„", "“"), ("‹", "›"), ("‘", "’"),
                              ("‚", "‘"), ("\"", "\""), ("'", "'"), ("`", "'"), ("``", "''"),
                              ("« ", " »"), ("»", "«")])
    return left + w + right


# Each category: (name, what it covers, list of replacements: fn(rng, word) -> text).
CATEGORIES = [
    ("emoji", "emoji and other symbols: outside the BMP (dropped by Java), BMP symbols (kept)",
     [lambda r, w: w + " " + emoji(r), lambda r, w: w + emoji(r), lambda r, w: emoji(r) + w,
      lambda r, w: w + " " + emoji(r) + emoji(r)]),
    ("curly_apostrophes", "’ and ‘ in clitics, possessives and quotes (dog’s -> dog 's)",
     [lambda r, w: w + r.choice(["’s", "’", "’re", "’ll", "’ve", "’d", "'s"]),
      lambda r, w: r.choice(["isn’t", "don’t", "it’s", "they’re", "can’t", "I’m", "won’t",
                             "o’clock", "’90s", "rock’n’roll", "ma’am"]) + " " + w,
      lambda r, w: "‘" + w + "’", lambda r, w: w + "’s’"]),
    ("dashes", "em, en, figure, horizontal-bar, minus and Unicode hyphens, -- and ---",
     [lambda r, w: w + r.choice(["—", " — ", "–", " – ", "―", "‒", " - ", "--", "---", "‐",
                                  "‑", "−", "-"]) + r.choice(["on", "by", "2", "10", "x"]),
      lambda r, w: r.choice(["2010–2012", "well‐known", "non‑stop", "−5", "5–10", "A—B",
                             "&mdash;", "&ndash;", "x-ray"]) + " " + w]),
    ("quotes", "guillemets, curly, low-9 and ASCII quotes, &quot;", [
        lambda r, w: quote(r, w), lambda r, w: quote(r, w + " " + r.choice(WORDS)),
        lambda r, w: "&quot;" + w + "&quot;", lambda r, w: w + r.choice(["”", "»", "\"", "'"])]),
    ("ellipsis", "… ... . . . .... and a single letter before an ellipsis (plan B...)", [
        lambda r, w: w + r.choice(["…", "...", " ...", ". . .", "....", "..", "…."]),
        lambda r, w: r.choice(["plan B...", "vitamin C...", "grade A...", "X...", "a...",
                               "plan b…", "Plan B . . ."]) + " " + w]),
    ("soft_hyphens", "soft hyphens (U+00AD) inside words and numbers, and alone", [
        lambda r, w: w[:len(w) // 2] + "\u00ad" + w[len(w) // 2:],
        lambda r, w: w + " \u00ad ", lambda r, w: "12\u00ad34 " + w, lambda r, w: w + "\u00ad"]),
    ("invisible", "zero-width space, joiner, non-joiner, BOM, direction marks, DEL, tab", [
        lambda r, w: w + r.choice(["\u200b", "\u200c", "\u200d", "\ufeff", "\u200e", "\u200f",
                                   "\x7f", "\t"]) + r.choice(WORDS),
        lambda r, w: "\u200b" + w, lambda r, w: w + "\u2060"]),
    ("spaces", "no-break, thin, narrow, ideographic, en and em spaces, and \\n in a caption", [
        lambda r, w: w + r.choice(["\u00a0", "\u2009", "\u202f", "\u3000", "\u2002", "\u2003",
                                   "\u205f", "\u1680", "\n", "  "]) + r.choice(WORDS),
        lambda r, w: "3\u00a01/2 " + w, lambda r, w: "&nbsp;" + w]),
    ("accents", "accented words precomposed and decomposed (combining marks), and other scripts",
     [lambda r, w: r.choice(["café", "naïve", "jalapeño", "crème brûlée", "Zürich", "résumé",
                             "piñata", "Ångström", "façade"]),
      lambda r, w: nfd(r.choice(["café", "naïve", "jalapeño", "crème brûlée", "Zürich",
                                 "résumé", "piñata", "Ångström", "façade"])),
      lambda r, w: w + "\u0301", lambda r, w: r.choice(["Ελλάδα", "Москва", "東京", "ß", "ﬁsh",
                                                        "İstanbul", "١٢٣", "０１２", "ǅ"])]),
    ("fractions", "vulgar fractions, fraction slash, 3 1/2 and 3½", [
        lambda r, w: r.choice(["½", "¼", "¾", "⅓", "⅔", "⅛", "⅜"]) + " " + w,
        lambda r, w: r.choice(["3½", "1½", "3 1/2", "1/2", "1⁄2", "2 3/4", "10-1/2"]) + " " + w]),
    ("currency", "¢ £ € ¥ ¤ ₹ $ and US$ prices", [
        lambda r, w: r.choice(["5¢", "£10", "€5", "¥100", "¤3", "₹50", "$5", "US$5", "5 €",
                               "£", "¢", "C$10", "#5"]) + " " + w]),
    ("entities", "&amp; &quot; &apos; &lt; &gt; &nbsp; &#39; &eacute; and AT&amp;T", [
        lambda r, w: w + " " + r.choice(["&amp;", "&AMP;", "&lt;", "&gt;", "&#39;", "&eacute;",
                                         "&apos;s", "&quot;", "&HT;", "&mdash;"]),
        lambda r, w: r.choice(["AT&amp;T", "R&amp;B", "b&amp;w", "cafe&eacute;", "dog&apos;s",
                               "Q&amp;A"]) + " " + w]),
    ("contractions", "'em, 'cause, rock'n'roll, y'all, 'til, 'tis, 5'10\", U.S.-based, gonna",
     [lambda r, w: r.choice(["'em", "'cause", "rock'n'roll", "rock 'n' roll", "y'all", "'til",
                             "'till", "'tis", "'twas", "ma'am", "o'clock", "c'mon", "ne'er",
                             "cont'd", "he'd've", "cannot", "gonna", "wanna", "gimme", "'90s",
                             "'90", "1990's", "O'Neil", "d'Artagnan", "l'amour", "Y'know"])
      + " " + w,
      lambda r, w: r.choice(["5'10\"", "6'2\"", "U.S.-based", "U.S.-made", "5'", "10\"",
                             "non-U.S.", "e-mail"]) + " " + w]),
    ("times_units", "3:30pm, 10am, 1.5m, 5km/h, 100%, 4x4, 1,000, dates, at&t, R&B, 24/7", [
        lambda r, w: r.choice(["3:30pm", "3:30 p.m.", "10am", "10 a.m.", "1.5m", "2.5kg",
                               "5km/h", "100%", "4x4", "1,000", "12/25/2010", "3-4-2010",
                               "24/7", "1990s", "2nd", "6ft", "-5", "+3", ".5", "1.5-inch",
                               "555-1234", "(555) 123-4567"]) + " " + w,
        lambda r, w: r.choice(["at&t", "AT&T", "R&B", "Q&A", "S&P-500", "B&W", "rock&roll",
                               "A&P", "and/or", "km/h"]) + " " + w]),
    ("abbreviations", "abbreviations and acronyms: Mr. Dr. St. etc. vs. Inc. Jan. a.m. No. 5",
     [lambda r, w: r.choice(["Mr.", "Dr.", "St.", "Mt.", "etc.", "vs.", "Inc.", "Co.", "Ltd.",
                             "Jan.", "Calif.", "a.m.", "p.m.", "No.", "no.", "Fig.", "ca.",
                             "U.S.", "U.K.", "e.g.", "i.e.", "Ph.D.", "Jr.", "Pty. Ltd.",
                             "co. ltd"]) + " " + w,
      lambda r, w: w + r.choice([" No. 5", " no. 7", " fig. 2", " ca. 1900", " etc.",
                                 " U.S.", " a.m."])]),
    ("web", "URLs, e-mail addresses, @handles, #tags, file names, smileys", [
        lambda r, w: r.choice(["www.example.com", "http://x.org/a?b=1", "https://t.co/xyz",
                               "foo.com", "me@example.com", "@user", "#tag", "photo.jpg",
                               "file.txt", "C++", "C#", "3.x"]) + " " + w,
        lambda r, w: w + " " + r.choice([":)", ":-)", ";)", ":D", ":(", ":-P", "^_^", "<3",
                                         ":/", "(-_-)", "=)"])]),
    ("brackets_tags", "brackets and SGML/HTML tags", [
        lambda r, w: r.choice(["(" + w + ")", "[" + w + "]", "{" + w + "}", "<b>" + w + "</b>",
                               "<br/>" + w, "<i>" + w, w + " <3", "<" + w + ">",
                               "<!-- c -->" + w, "<<" + w + ">>"])]),
]


def sentence(rng, lo, hi):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    if rng.random() < 0.4:
        words[0] = words[0].capitalize()
    return words


def inject(rng, words, moves, rate):
    out = []
    for w in words:
        out.append(rng.choice(moves)(rng, w) if rng.random() < rate else w)
    return out


def finish(rng, words):
    s = " ".join(words)
    return s + rng.choice(["", "", ".", ".", " .", "!", "?"])


def caption(rng, moves):
    return finish(rng, inject(rng, sentence(rng, 3, 9), moves, 0.3))


def hypothesis(rng, reference, moves):
    """A variant of a reference: words changed, dropped, and the category's characters."""
    words = reference.split(" ")
    for _ in range(rng.randint(0, 2)):
        if words and rng.random() < 0.5:
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        elif words:
            del words[rng.randrange(len(words))]
    return finish(rng, inject(rng, words, moves, 0.2))


def images(name, moves, seed, n_images, n_refs):
    """(image_id, references, hypothesis) for one category."""
    rng = random.Random(f"{seed}:{name}")
    out = []
    for k in range(n_images):
        refs = [caption(rng, moves) for _ in range(n_refs)]
        hyp = hypothesis(rng, rng.choice(refs), moves) if rng.random() < 0.85 else caption(rng, moves)
        out.append((10 + 3 * k, refs, hyp))
    return out


def sentence_boundary(seed, n_images, n_refs):
    """The "a." rule across captions: references that end in a single letter, an acronym or an
    abbreviation with a period, followed (in the batch) by captions that open with a
    capitalised sentence opener, a digit or a tag."""
    rng = random.Random(f"{seed}:sentence_boundary")
    ends = ["a.", "A.", "b.", "I.", "x.", "U.S.", "etc.", "no.", "No.", "ca.", "fig.", "Mr.",
            "co.", "a", "B", "Dr", ":)", "'90", "photo.jpg", "it's"]
    starts = OPENERS + ["2 dogs", "5", "<b>", "Ltd", "ltd", "lim", "IN", "about", "Mr. Smith",
                        "Ms. Jones", "It's", "ONE"]
    out = []
    for k in range(n_images):
        refs = []
        for _ in range(n_refs):
            body = " ".join(sentence(rng, 2, 8))
            if rng.random() < 0.6:
                body = rng.choice(starts) + " " + body
            if rng.random() < 0.6:
                body += " " + rng.choice(ends)
            refs.append(body)
        hyp = " ".join(sentence(rng, 2, 8))
        if rng.random() < 0.5:
            hyp = rng.choice(starts) + " " + hyp
        if rng.random() < 0.5:
            hyp += " " + rng.choice(ends)
        out.append((5 + 2 * k, refs, hyp))
    return out


FUZZ_ALPHABET = list("aAbBiInNtTsSmMoOlLyYcCxX0123459.,:;'\"`-/&@#$%()[]{}<>!?*_=+^~|\\ ") + [
    "\u00a0", "’", "‘", "“", "”", "…", "—", "–", "\u00ad", "½", "¢", "£", "€", "amp;", "apos;",
    "quot;", "nbsp;", "lt;", "🐶", "\u0301", "\u200b", "\t", "www.", ".com", "http://", "n't",
    "'s", "'re", "U.S.", "Mr.", "etc.", "No.", "ca.", " In ", " The ", "é", "«", "»", "‹", "›",
    "¼", "⁄", "²", "⁰", "₀", "\n"]


def fuzz(seed, n):
    """Short strings of characters and pieces the lexer's rules turn on."""
    rng = random.Random(f"{seed}:fuzz")
    return ["".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(0, 14)))
            for _ in range(n)]
