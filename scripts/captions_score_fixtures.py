"""Makes tests/fixtures/captions_score/{cases,ptb}.json with the COCO caption evaluation itself
(pycocoevalcap 1.2: its Java PTB tokenizer, Bleu(4) and Cider), for tests/captions_score.rs.

    python3 -m venv /tmp/pcx && /tmp/pcx/bin/pip install pycocoevalcap   # needs a Java runtime
    /tmp/pcx/bin/python scripts/captions_score_fixtures.py tests/fixtures/captions_score
"""
import json
import random
import sys

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer


def score(refs, hyps):
    """The scores COCOEvalCap computes for hyps (id -> caption) against refs (id -> captions)."""
    gts = {i: [{"caption": c} for c in refs[i]] for i in hyps}
    res = {i: [{"caption": hyps[i]}] for i in hyps}
    tok = PTBTokenizer()
    gts, res = tok.tokenize(gts), tok.tokenize(res)
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, per_image = Cider().compute_score(gts, res)
    return {
        "refs": {str(i): refs[i] for i in hyps},
        "hyps": {str(i): hyps[i] for i in hyps},
        "bleu": list(bleu),
        "cider_d": float(cider),
        "per_image_cider_d": {str(i): float(s) for i, s in zip(gts.keys(), per_image)},
    }


def random_case(seed, images, refs_per_image):
    rng = random.Random(seed)
    words = ("a man woman dog cat red blue small large ball on the of in with near "
             "sitting standing riding holding table street two three green white").split()
    def sentence():
        return " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
    refs = {100 + i: [sentence() for _ in range(refs_per_image)] for i in range(images)}
    hyps = {}
    for i in refs:
        base = rng.choice(refs[i]).split()
        base = [w if rng.random() > 0.3 else rng.choice(words) for w in base]
        hyps[i] = " ".join(base[: rng.randint(1, len(base) + 2)])
    return refs, hyps


CASES = {
    "tie between two reference lengths": (
        {1: ["a cat on a mat", "the cat is on the red mat"], 2: ["a dog runs", "a big dog runs fast now"]},
        {1: "a cat sat on mats", 2: "a dog runs fast"},
    ),
    "repeated words": (
        {1: ["a cat on a mat", "there is a cat"], 2: ["two dogs play", "dogs playing in grass"]},
        {1: "the the the the a cat", 2: "dogs dogs dogs dogs dogs"},
    ),
    "hypothesis longer than every reference": (
        {1: ["a red ball", "red ball"], 2: ["a cube", "blue cube"]},
        {1: "a red ball next to a blue cube on a wooden table in a room", 2: "a blue cube"},
    ),
    "empty hypothesis": (
        {1: ["a red ball", "a ball that is red"], 2: ["a cube", "a blue cube"], 3: ["a cup", "a mug"]},
        {1: "", 2: "a blue cube", 3: "a cup"},
    ),
    "word in no reference": (
        {1: ["a man riding a horse", "a person on a horse"], 2: ["a woman holding an umbrella"]},
        {1: "a zebra riding a horse", 2: "a woman holding an xylophone"},
    ),
    "punctuation and case": (
        {1: ["A man (in red) riding a horse.", "Two dogs' toys aren't \"new\" -- they're old..."],
         2: ["It costs $3.50, e.g. 1,000 items; wow!", "A well-known U.S. cat can't & won't go at 5:30? Yes: no."]},
        {1: "a MAN in red, riding a horse!", 2: "A cat can't go; it's well-known."},
    ),
    "one image": ({7: ["a red ball on a table", "a ball that is red"]}, {7: "a red ball"}),
    "identical to a reference": (
        {1: ["a small red ball", "a ball"], 2: ["a big blue cube", "a cube"]},
        {1: "a small red ball", 2: "a big blue cube"},
    ),
}


def main(out):
    cases = []
    for name, (refs, hyps) in CASES.items():
        cases.append({"name": name, **score(refs, hyps)})
    for seed, (n, k) in enumerate([(50, 5), (20, 1), (30, 3)]):
        refs, hyps = random_case(seed, n, k)
        cases.append({"name": f"random {n} images x {k} references (seed {seed})", **score(refs, hyps)})
    with open(f"{out}/cases.json", "w") as f:
        json.dump(cases, f, indent=1)
    texts = [
        "A man (in red) riding a horse.",
        "Two dogs' toys aren't \"new\" -- they're old...",
        "It costs $3.50, e.g. 1,000 items; wow!",
        "A well-known U.S. cat can't & won't go at 5:30? Yes: no.",
        "A dog's bowl, a cat's toy: and a bird.",
        "There is a red ball to the left of a cube.",
        "a picture of a small ball that is red and a big blue cube",
        "People are walking down the street; some carry umbrellas!",
        "The bus [number 5] stops at Main St. near the park.",
        "A 'small' boy holds a {big} kite?!",
        "Three cats sit on a sofa...and sleep.",
        "Mr. Smith's car isn't parked near Dr. Jones' house",
        "I'm sure we'll see you've been there, they'd say.",
        "A plate with 2,500 calories, 3.5 pounds of food and 12:30 lunch.",
        "well-lit, two-story house -- with a red roof",
        "",
    ]
    caps = {i: [{"caption": t}] for i, t in enumerate(texts)}
    tokens = PTBTokenizer().tokenize(caps)
    with open(f"{out}/ptb.json", "w") as f:
        json.dump([{"text": t, "tokens": tokens[i][0].split()} for i, t in enumerate(texts)], f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
