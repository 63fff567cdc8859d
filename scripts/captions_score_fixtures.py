#!/usr/bin/env python3
"""Expected COCO caption scores for ccdni's `captions::score`, from the reference package.

Runs the real pycocoevalcap 1.2 pipeline (Stanford PTBTokenizer via Java, punctuation removal,
Bleu(4), Cider()) and writes tests/fixtures/captions_score/:
- tokenizer.json: hand-picked strings, tokenised as one batch;
- tokenizer_fuzz.json: short strings of the characters the lexer's rules turn on (one batch),
  and a record of the one known difference (line breaks other than \\n inside a caption);
- scores.json: small score cases;
- categories.json.gz: per category of characters (captions_score_categories.py: emoji, curly
  apostrophes, dashes, quotes, ...), images with pycocoevalcap's words and scores;
- files/: a reference file and a results file with float, string and unsorted ids, scored by
  COCOEvalCap as users call it.
Java reads and writes UTF-8 whatever the locale (PTBTokenizer's -encoding default), and so
does ptbtokenizer.py: the fixtures are the same under LC_ALL=C and a UTF-8 locale.

    python3 -m venv /tmp/pce && /tmp/pce/bin/pip install pycocoevalcap==1.2
    /tmp/pce/bin/python scripts/captions_score_fixtures.py [out_dir]

Also usable as a one-off scorer (the integration test's live cross-check):

    python scripts/captions_score_fixtures.py --score case.json   # prints {bleu, cider_d, ...}
    python scripts/captions_score_fixtures.py --tokenize strings.json   # prints token lists
"""
import gzip
import json
import os
import random
import sys

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
from pycocotools.coco import COCO

import captions_score_categories as categories

TOKENIZER_STRINGS = [
    "A man riding a horse.",
    "The dog's ball isn't red; it's blue!",
    "\"Quoted\" words and 'single quotes' here",
    "A (small) cat [on] a {mat}",
    "well-known state-of-the-art x-ray",
    "1,000 people paid $3.50 each, 10.5% more...",
    "Wait... what?! No -- yes - maybe",
    "They're we'll I've I'm he'd can't won't don't",
    "U.S. Dr. Mr. St. etc. a.m. p.m.",
    "",
    "   ",
    "cannot gonna gimme wanna gotta lemme",
    "3:30 pm 12/25/2010 and 1/2 a cup",
    "Two men & a woman. I love NY's pizza",
    "A DOG IS RUNNING",
    "tab\tseparated\twords",
    "A man in the U.S.",
    "A man in the U.S. and a dog.",
    "He is Mr. Smith. She is tall.",
    "a dog etc. is here",
    "Hello!!! Really?? Yes!?",
    "Is it a cat...? No.. it is.",
    "A---B and A--B, a - b, -5 degrees",
    "AT&T and Q&A and R&B",
    "I'd've said O'Neil's dog wasn't ' there '",
    "Let's go, Ma'am",
    "The cats' toys and James' hat",
    "a 4x4 truck, 2-year-old child, 1990s",
    "He said \"hi\" to her. \"Yes,\" she said.",
    "A SIGN SAYS \"STOP\".",
    "it's 5 o'clock",
    ".",
    "...",
    "!",
    "a man , riding a bike .",
    "A group of people standing around a kitchen.",
    "Two giraffes standing next to each other in a field.",
    "A close-up of a pizza with pepperoni, cheese, and olives.",
    "A little girl holding a teddy bear; she's smiling.",
    "A man (wearing a hat) walks his dog.",
    "There's a cat on the bed:  it's sleeping.",
    "A plate of food -- rice, beans and chicken.",
    "a bus parked on the side of a street",
    "Someone's laptop sits on a desk next to a mug.",
    "The kids aren't playing; they're eating.",
    "What a beautiful day!",
    "Is this a zebra?",
    "Zebras, giraffes, and elephants at the zoo.",
    "A 10-year-old boy plays baseball.",
    "He scored 3.5 points in 2.5 minutes.",
    "The train's doors are open",
    "A man with a surf-board.",
    "A vase of flowers on a table, next to a window.",
    "An old-fashioned clock tower",
    "people walking on a sidewalk .",
    "A dog.A cat.",
    "a dog , a cat",
    "a dog,a cat",
    "A cat; a dog: a bird",
    "Birds fly over the ocean at sunset!",
    "  leading and trailing spaces  ",
    "double  spaces  between  words",
    "A man's and a woman's bikes",
    "The bears' den",
    "You'll see it, won't you?",
    "We'd like 2 pizzas",
    "I'M HERE AND YOU'RE THERE",
    "It Is A Mixed Case Sentence",
    "A red-and-white stop sign.",
    "A 1950's car.",
    "a man holding a cell phone up to his ear .",
    "A woman is cutting a cake, and smiling",
    "A bowl of fruit: apples, bananas, oranges.",
    "Two people (a man and a woman) ride bikes.",
    "The man is 6ft tall",
    "A cat sits by the door...",
    "a sign that says 'no parking'",
    "a sign that says \"no parking\" on it",
    "The number 42 bus",
    "A clock reads 10:45.",
    "a person on skis going down a snowy slope",
    "An x-ray of someone's hand",
    "A man-made lake",
    "mom's kitchen isn't clean",
    "A dog -- brown -- runs",
    "A #1 fan",
    "50% off sale",
    "A $5 bill",
    "email me@example.com",
    "see www.example.com",
    "a b c d e f g",
    "A",
    "a a a a a",
    "Dr. Who is on TV.",
    "one, two, three, four.",
    "plan a. then b",
    "vitamin C. is good",
    "A. man is here",
    "the letter x. here",
    "Near people cat standing train small a.",
    "a.b.c. done",
    "it is 5. ok",
    "abc. def",
]

# The category corpora (captions_score_categories.py): images per category, references per image.
CATEGORY_SEED, CATEGORY_IMAGES, CATEGORY_REFS, FUZZ_STRINGS = 22, 200, 2, 1500
# The reference and results files scored as COCOEvalCap scores them: images.
FILE_IMAGES = 200

WORDS = ("a man woman dog cat horse bus train plate pizza table street field kitchen people "
         "sitting standing riding walking holding eating next to on of in with the large small "
         "red white black two three group young old near top front room water grass").split()


def tokenize(strings):
    """Token lists (as the scorers see them: split on whitespace) for each string."""
    cases = {i: [{"caption": s}] for i, s in enumerate(strings)}
    out = PTBTokenizer().tokenize(cases)
    assert sorted(out) == list(range(len(strings))), "tokenizer lost lines"
    return [out[i][0].split() for i in range(len(strings))]


def score(refs, hyps, tokens=False):
    """pycocoevalcap's Bleu(4) and Cider() on raw captions; image ids in ascending order. With
    `tokens`, also the words each caption became (space-joined), as the scorers saw them."""
    ids = sorted(refs)
    gts = PTBTokenizer().tokenize({i: [{"caption": c} for c in refs[i]] for i in ids})
    res = PTBTokenizer().tokenize({i: [{"caption": hyps[i]}] for i in ids})
    assert list(gts) == ids and list(res) == ids, "tokenizer lost lines"
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, per_image = Cider().compute_score(gts, res)
    out = {
        "bleu": [float(b) for b in bleu],
        "cider_d": float(cider),
        "per_image_cider_d": [{"image_id": i, "cider_d": float(s)} for i, s in zip(ids, per_image)],
    }
    if tokens:  # the words as the scorers split them (str.split), joined by single spaces
        out["reference_tokens"] = [[" ".join(c.split()) for c in gts[i]] for i in ids]
        out["hypothesis_tokens"] = [" ".join(res[i][0].split()) for i in ids]
    return out


def category_case(name, what, images):
    """A category's images, each with the words pycocoevalcap made of its captions
    (space-joined), and the scores; per-image CIDEr-D as a list in image order."""
    refs = {i: r for i, r, _ in images}
    hyps = {i: h for i, _, h in images}
    expected = score(refs, hyps, tokens=True)
    per_image = [p["cider_d"] for p in expected.pop("per_image_cider_d")]
    ref_tokens, hyp_tokens = expected.pop("reference_tokens"), expected.pop("hypothesis_tokens")
    return {
        "name": name,
        "what": what,
        "images": [{"image_id": i, "references": r, "hypothesis": h, "reference_tokens": rt,
                    "hypothesis_tokens": ht}
                   for (i, r, h), rt, ht in zip(images, ref_tokens, hyp_tokens)],
        **expected,
        "per_image_cider_d": per_image,
    }


def category_cases(seed, n_images, n_refs):
    out = [category_case(name, what, categories.images(name, moves, seed, n_images, n_refs))
           for name, what, moves in categories.CATEGORIES]
    out.append(category_case(
        "sentence_boundary", "the lexer's look-ahead across captions of one batch: a. before "
        "In/The/A..., no. before a digit, a smiley at the end of the batch",
        categories.sentence_boundary(seed, n_images, n_refs)))
    return out


def case(name, what, images):
    """images: list of (image_id, [references], hypothesis)."""
    refs = {i: r for i, r, _ in images}
    hyps = {i: h for i, _, h in images}
    expected = score(refs, hyps)
    return {
        "name": name,
        "what": what,
        "images": [{"image_id": i, "references": r, "hypothesis": h} for i, r, h in images],
        **expected,
    }


def random_sentence(rng, lo, hi):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    # A caption ending "... a." meets the one PTB rule ccdni does not reproduce (see ptb.rs):
    # whether "a." keeps its period depends on the next caption's first word.
    if words[-1] == "a":
        words.append("dog")
    return " ".join(words)


def mutate(rng, sentence):
    words = sentence.split()
    for _ in range(rng.randint(0, 3)):
        op = rng.random()
        if op < 0.4 and words:
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        elif op < 0.7:
            words.insert(rng.randint(0, len(words)), rng.choice(WORDS))
        elif words:
            del words[rng.randrange(len(words))]
    if words and words[-1] == "a":
        words.append("cat")
    s = " ".join(words)
    if rng.random() < 0.3:
        s = s.capitalize() + "."
    if rng.random() < 0.1:
        s = s.replace(" ", ", ", 1)
    return s


def realistic(seed, n_images, n_refs):
    rng = random.Random(seed)
    images = []
    for k in range(n_images):
        refs = [random_sentence(rng, 6, 14) for _ in range(n_refs)]
        refs = [r.capitalize() + "." if rng.random() < 0.5 else r for r in refs]
        hyp = mutate(rng, rng.choice(refs)) if rng.random() < 0.8 else random_sentence(rng, 4, 12)
        images.append((1000 + 7 * k, refs, hyp))
    return images


def cases():
    ride = ["a man riding a horse on a beach", "a person rides a brown horse",
            "a man on a horse near the ocean"]
    return [
        case("one_image", "a single image: log(1 images) = 0 makes every CIDEr-D tf-idf weight 0",
             [(1, ride, "a man riding a horse")]),
        case("two_images", "two images, punctuation and case variation in refs and hypotheses",
             [(1, ["A man riding a horse.", "A person, riding a HORSE!", "man on a horse"],
               "A Man Riding A Horse."),
              (2, ["Two dogs play in the grass.", "two dogs playing on grass",
                   "Dogs (two) in a field"], "two dogs in the grass")]),
        case("closest_tie", "hypothesis length 5 is equidistant from reference lengths 4 and 6 "
             "(closest takes the shorter); 3 images",
             [(3, ["a dog on a bed", "a dog sleeps on the big bed"], "a dog on the bed"),
              (5, ["a cat", "the cat is on a mat"], "a cat on a mat"),
              (9, ["a red bus on a street", "bus"], "a red bus")]),
        case("repeated_words", "repeated words: clipped BLEU counts and CIDEr-D min(tf-idf)",
             [(1, ["a dog and a cat", "the dog is near the cat"], "the the the the dog dog"),
              (2, ["a bird on a tree", "two birds sit in a tree"], "a a a a a a a"),
              (4, ["a plate of food", "food on a white plate"], "plate plate food")]),
        case("long_hypothesis", "a hypothesis longer than every reference (no brevity penalty; "
             "Gaussian length penalty)",
             [(1, ["a train", "a train at a station"],
               "a long red and white passenger train waiting at a busy station in the city"),
              (2, ["a boat on water", "boats in a harbor"], "a boat on the water")]),
        case("empty_hypothesis", "a hypothesis that tokenises to nothing (punctuation only) and "
             "an empty one",
             [(1, ["a man on a bench", "a person sitting on a bench"], "..."),
              (2, ["a kitchen with a stove", "a small kitchen"], ""),
              (3, ["a cat on a couch", "a cat sleeping on a sofa"], "a cat on a couch")]),
        case("unseen_word", "hypothesis words that are in no reference (df = 0 -> log(max(1, 0)))",
             [(1, ["a dog runs in the park", "a brown dog running"], "a purple elephant flies"),
              (2, ["a clock on a tower", "a tall clock tower"], "a clock tower at night"),
              (3, ["people at a market", "a busy market"], "a busy market")]),
        case("punctuation_case", "quotes, brackets (-lrb- survives punctuation removal), "
             "clitics, hyphens and numbers",
             [(1, ["A man's hat (red) isn't on.", "The man's red hat, off!",
                   "\"A red hat\" -- on a man"], "a man's red hat isn't on"),
              (2, ["A 2-year-old girl eats 1,000 grapes.", "a girl eating grapes; she's 2"],
               "A 2-year-old girl eating grapes..."),
              (3, ["Birds fly at 5:30 p.m. over the U.S.", "birds flying at dusk"],
               "BIRDS FLYING OVER THE U.S. AT DUSK")]),
        case("empty_reference", "reference captions that tokenise to no word (punctuation only, "
             "empty, an emoji) still count as references of length 0",
             [(1, ["a man on a bench", "...", ""], "a man on a bench"),
              (2, ["a kitchen with a stove", "\U0001F373"], "a small kitchen"),
              (3, ["!!", "a cat on a couch"], "a cat on a couch")]),
        case("realistic", "50 images x 5 references, random caption-like sentences (seed 7)",
             realistic(7, 50, 5)),
    ]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--score":
        with open(sys.argv[2]) as f:
            c = json.load(f)
        refs = {im["image_id"]: im["references"] for im in c["images"]}
        hyps = {im["image_id"]: im["hypothesis"] for im in c["images"]}
        print(json.dumps(score(refs, hyps)))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--tokenize":
        with open(sys.argv[2]) as f:
            print(json.dumps(tokenize(json.load(f))))
        return
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/captions_score"
    os.makedirs(out_dir, exist_ok=True)
    tokens = tokenize(TOKENIZER_STRINGS)
    tok = [{"input": s, "tokens": t} for s, t in zip(TOKENIZER_STRINGS, tokens)]
    write_json(os.path.join(out_dir, "tokenizer.json"), tok, indent=1)
    write_json(os.path.join(out_dir, "scores.json"), cases(), indent=1)
    fuzz = categories.fuzz(CATEGORY_SEED, FUZZ_STRINGS)
    write_json(os.path.join(out_dir, "tokenizer_fuzz.json"),
               {"line_breaks": line_breaks(),
                "what": f"{FUZZ_STRINGS} short strings of the characters the lexer's rules turn "
                        "on, tokenised in one batch "
                        f"(seed {CATEGORY_SEED})",
                "captions": fuzz, "tokens": [" ".join(t) for t in tokenize(fuzz)]})
    file_case(out_dir, CATEGORY_SEED, FILE_IMAGES)
    corpora = {
        "what": f"{CATEGORY_IMAGES} images per category, {CATEGORY_REFS} references each "
                f"(seed {CATEGORY_SEED}): scripts/captions_score_categories.py",
        "categories": category_cases(CATEGORY_SEED, CATEGORY_IMAGES, CATEGORY_REFS),
    }
    text = json.dumps(corpora, separators=(",", ":"), ensure_ascii=False) + "\n"
    with open(os.path.join(out_dir, "categories.json.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as z:
            z.write(text.encode())


def coco_eval(refs_path, results_path):
    """COCOEvalCap.evaluate as users call it (params['image_id'] = the results' images), its
    scorers cut to Bleu(4) and Cider() (METEOR and SPICE need more Java and are not ccdni's)."""
    coco = COCO(refs_path)
    res = coco.loadRes(results_path)
    image_ids = res.getImgIds()
    gts = PTBTokenizer().tokenize({i: coco.imgToAnns[i] for i in image_ids})
    hyp = PTBTokenizer().tokenize({i: res.imgToAnns[i] for i in image_ids})
    bleu, _ = Bleu(4).compute_score(gts, hyp, verbose=0)
    cider, per_image = Cider().compute_score(gts, hyp)
    return {"Bleu_1": bleu[0], "Bleu_2": bleu[1], "Bleu_3": bleu[2], "Bleu_4": bleu[3],
            "CIDEr": float(cider),
            "per_image": [{"image_id": i, "CIDEr": float(c)} for i, c in zip(gts, per_image)]}


def file_case(out_dir, seed, n_images):
    """A reference file and a results file as pycocoevalcap takes them: ids that are integers,
    floats (1.0) and strings, images in no sorted order (the order captions are tokenised in),
    an image without captions, references without words, and every category's characters."""
    rng = random.Random(f"{seed}:files")
    moves = [m for _, _, ms in categories.CATEGORIES for m in ms]
    ids = rng.sample(range(1, 10 * n_images), n_images)
    ids = [f"img{i}" if k % 7 == 3 else (float(i) if k % 5 == 2 else i) for k, i in enumerate(ids)]
    images, annotations, results = [], [], []
    boundary = categories.sentence_boundary(seed, n_images, 3)
    for k, image_id in enumerate(ids):
        images.append({"id": image_id, "file_name": f"{k}.jpg"})
        refs = boundary[k][1] if k % 2 else [categories.caption(rng, moves) for _ in range(3)]
        if k % 50 == 7:
            refs[1] = rng.choice(["...", "", "\U0001F436", "!!"])
        for r in refs:
            annotations.append({"id": len(annotations), "image_id": image_id, "caption": r})
        hyp = boundary[k][2] if k % 2 else categories.hypothesis(rng, refs[0], moves)
        results.append({"image_id": image_id, "caption": hyp})
    images.append({"id": 10 * n_images + 1, "file_name": "uncaptioned.jpg"})
    rng.shuffle(results)
    folder = os.path.join(out_dir, "files")
    os.makedirs(folder, exist_ok=True)
    refs_path, results_path = (os.path.join(folder, f) for f in ("refs.json", "results.json"))
    write_json(refs_path, {"info": {"description": f"seed {seed}: {file_case.__doc__.split(':')[0]}"},
                           "images": images, "annotations": annotations})
    write_json(results_path, results)
    write_json(os.path.join(folder, "expected.json"), coco_eval(refs_path, results_path), indent=1)


def line_breaks():
    """A known difference, kept as a record: a caption with a line break other than \\n makes
    the Java tokenizer write more lines than captions, and ptbtokenizer.py pairs each later
    caption with the line before it (ccdni refuses such captions)."""
    batch = ["a dog\ron a couch", "a red bus", "two cats\u2028sleeping", "a man", "a horse"]
    what = ("a line break other than \\n inside a caption: Java writes more lines than "
            "captions and each later caption gets the line before it (ccdni refuses these)")
    return {"what": what, "captions": batch,
            "tokens": [" ".join(t) for t in tokenize(batch)]}


def write_json(path, value, indent=None):
    with open(path, "w") as f:
        json.dump(value, f, indent=indent, ensure_ascii=False)
        f.write("\n")

if __name__ == "__main__":
    main()
