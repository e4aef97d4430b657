"""Short utterances for the synthetic corpus: words, digits, numbers, commands, letters, names, answers.

Usage:
    python recipes/synthetic/short_text.py --text data/synthetic/text --out data/synthetic/short [--count 20000]

Book sentences have at least 3 words; people also say one word ("nine", "stop", "yes"), read digit strings
("oh four two"), spell ("B R X") and give names. This writes ``train.tsv``, ``dev.tsv`` and ``test.tsv``: one
utterance per line as ``SPOKEN<TAB>TRANSCRIPT``, where SPOKEN is what the synthesizer is given (case and
punctuation shape its prosody; letters are written as capitals so they are named, not sounded) and TRANSCRIPT
is its normalized text. Isolated words come from the split's own book sentences (``--text``, prepare_text.py's
output), so test's words are those of the held-out books; the closed sets (commands, answers, names) are
shared by all splits, as a user's would be. Each split draws with its own seed.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

from asr.numbers import number_to_words
from asr.tokenizer import normalize_text

DIGITS = "zero one two three four five six seven eight nine".split()
COMMANDS = [
    "stop",
    "go",
    "start",
    "pause",
    "resume",
    "cancel",
    "next",
    "back",
    "previous",
    "repeat",
    "help",
    "again",
    "turn left",
    "turn right",
    "go forward",
    "go back",
    "move up",
    "move down",
    "open the door",
    "close the door",
    "lights on",
    "lights off",
    "turn on the lights",
    "turn off the lights",
    "volume up",
    "volume down",
    "mute",
    "play music",
    "stop the music",
    "skip this song",
    "call home",
    "send a message",
    "read my messages",
    "what time is it",
    "set an alarm",
    "wake me up at {n}",
    "go forward {n} meters",
    "turn {n} degrees",
    "set a timer for {n} minutes",
    "wait {n} seconds",
    "call {name}",
    "open the window",
    "save the file",
    "undo that",
    "scroll down",
    "scroll up",
    "zoom in",
    "zoom out",
    "show me the map",
    "take a picture",
]
ANSWERS = [
    "yes",
    "no",
    "yeah",
    "nope",
    "okay",
    "sure",
    "maybe",
    "right",
    "correct",
    "wrong",
    "of course",
    "not really",
    "I don't know",
    "I think so",
    "absolutely",
    "never",
    "please",
    "thank you",
    "thanks",
    "no thanks",
    "yes please",
    "hello",
    "hi there",
    "goodbye",
    "good morning",
    "good night",
    "sorry",
    "excuse me",
    "all right",
    "that's right",
    "not yet",
    "hold on",
    "just a moment",
    "I agree",
    "fine",
]
FIRST_NAMES = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Margaret",
    "Steven",
    "Sandra",
    "Paul",
    "Ashley",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "George",
    "Amanda",
    "Edward",
    "Melissa",
    "Ronald",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Jason",
    "Rebecca",
    "Ryan",
    "Laura",
    "Jacob",
    "Helen",
    "Gary",
    "Sharon",
    "Nicholas",
    "Cynthia",
    "Eric",
    "Kathleen",
    "Peter",
    "Anna",
    "Henry",
    "Emma",
    "Oliver",
    "Sophia",
]
SURNAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
]
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
# kind -> share of the utterances drawn
KINDS = {"word": 0.30, "digits": 0.15, "number": 0.12, "command": 0.15, "letters": 0.08, "name": 0.08, "answer": 0.12}


def common_words(sentences: list[str], limit: int = 4000) -> list[str]:
    """The ``limit`` most frequent words of (normalized) sentences, of 2 letters or more, and I and A."""
    counts = Counter(w for s in sentences for w in s.split())
    return [w for w, _ in counts.most_common() if len(w) > 1 or w in ("I", "A")][:limit]


def _digits(rng: random.Random) -> str:
    """1-3 digits most of the time, else a 4-7 digit string; zero said as 'oh' half the time."""
    n = rng.choice([1, 1, 2, 3, 3]) if rng.random() < 0.7 else rng.randint(4, 7)
    oh = rng.random() < 0.5
    return " ".join("oh" if d == "zero" and oh else d for d in (rng.choice(DIGITS) for _ in range(n)))


def _number(rng: random.Random) -> str:
    n = rng.choice([rng.randint(0, 20), rng.randint(21, 99), rng.randint(100, 999), rng.randint(1000, 9999)])
    return number_to_words(n).lower()


def _fill(template: str, rng: random.Random) -> str:
    return template.format(n=number_to_words(rng.randint(2, 60)).lower(), name=rng.choice(FIRST_NAMES))


def draw(kind: str, rng: random.Random, words: list[str]) -> str:
    """One utterance of a kind, as the synthesizer should read it."""
    if kind == "word":
        return words[min(int(rng.expovariate(1 / 600)), len(words) - 1)].lower().capitalize()
    if kind == "digits":
        return _digits(rng)
    if kind == "number":
        return _number(rng)
    if kind == "command":
        return _fill(rng.choice(COMMANDS), rng)
    if kind == "letters":
        return ", ".join(rng.choice(LETTERS) for _ in range(rng.choice([1, 1, 2, 3, 3, 4, 5])))
    if kind == "name":
        return rng.choice(FIRST_NAMES) + (f" {rng.choice(SURNAMES)}" if rng.random() < 0.6 else "")
    return rng.choice(ANSWERS)


def spoken_form(text: str, rng: random.Random) -> str:
    """Capitalized, ending in a period, a question mark or an exclamation mark, so it is said as a whole."""
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "!", "?"])


def utterances(count: int, words: list[str], seed: int) -> list[tuple[str, str]]:
    """``count`` (spoken, transcript) pairs, kinds drawn by their KINDS share."""
    rng = random.Random(seed)
    kinds, weights = list(KINDS), list(KINDS.values())
    out = []
    for _ in range(count):
        spoken = spoken_form(draw(rng.choices(kinds, weights)[0], rng, words), rng)
        out.append((spoken, normalize_text(spoken)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", required=True, help="folder with train.txt, dev.txt, test.txt (prepare_text.py)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=20000, help="training utterances (dev and test: a tenth each)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, split in enumerate(["train", "dev", "test"]):
        source = Path(args.text) / f"{split}.txt"
        if not source.is_file():
            print(f"error: {source}: no such file (prepare_text.py writes it)", file=sys.stderr)
            return 2
        words = common_words(source.read_text().split("\n"))
        pairs = utterances(args.count if split == "train" else max(1, args.count // 10), words, args.seed * 3 + i)
        (out / f"{split}.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs))
        short = sum(len(t.split()) <= 3 for _, t in pairs) / len(pairs)
        print(f"{split}: {len(pairs)} utterances, {short:.0%} of 1-3 words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
