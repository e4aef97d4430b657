"""Sentences for the synthetic corpus from Project Gutenberg books, normalized LibriSpeech style.

Usage:
    python recipes/synthetic/prepare_text.py --text-dir ../shared/corpus/books --out data/synthetic/text

Writes train.txt, dev.txt and test.txt (one normalized sentence per line) and lm_train.txt (every usable
sentence of the training books, for BPE and n-gram LMs). Dev and test sentences come from whole books
that never appear in train, so their text is unseen.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

from asr.numbers import spell_numbers
from asr.tokenizer import normalize_text

DEV_BOOKS = ("The-Jungle-Book_236",)
TEST_BOOKS = ("The-Time-Machine_35", "Treasure-Island_120")

_ABBREVIATIONS = {
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Dr.": "Doctor",
    "St.": "Saint",
    "Capt.": "Captain",
    "Col.": "Colonel",
    "Gen.": "General",
    "Lt.": "Lieutenant",
    "Rev.": "Reverend",
    "Prof.": "Professor",
    "Messrs.": "Messieurs",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "No.": "Number",
    "Mt.": "Mount",
    "&": " and ",
}
_HEADING = re.compile(
    r"^\s*(CHAPTER|BOOK|PART|VOLUME|STAVE|SECTION|CONTENTS|PREFACE|APPENDIX|INDEX)\b|^\s*[IVXLC]+\.?\s*$", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]*[A-Z])")
_ALLOWED = re.compile(r"^[A-Z' ]+$")


def book_body(text: str) -> str:
    """The text between Project Gutenberg's START and END markers (all of it if they are missing)."""
    start = re.search(r"^\*\*\* ?START OF.*$", text, re.M)
    end = re.search(r"^\*\*\* ?END OF.*$", text, re.M)
    return text[start.end() if start else 0 : end.start() if end else len(text)]


def paragraphs(body: str) -> list[str]:
    """Blank-line separated paragraphs, without headings, illustration notes or all-caps titles."""
    out = []
    for block in re.split(r"\n\s*\n", body):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        if not lines or _HEADING.match(lines[0]) or "[Illustration" in block or "Gutenberg" in block:
            continue
        para = " ".join(lines)
        if para.isupper() and len(para.split()) < 12:  # titles, running heads
            continue
        out.append(para)
    return out


def normalize_sentence(sentence: str) -> str | None:
    """Spell out numbers, then normalize; None if anything unspeakable remains."""
    sentence = spell_numbers(sentence.replace("_", " "))
    norm = normalize_text(sentence)
    return norm if norm and _ALLOWED.match(norm) else None


def book_sentences(path: Path, min_words: int = 3, max_words: int = 30) -> list[str]:
    sentences = []
    for para in paragraphs(book_body(path.read_text(encoding="utf-8", errors="replace"))):
        for short, long in _ABBREVIATIONS.items():  # before splitting: "Mr." does not end a sentence
            para = para.replace(short, long)
        for raw in _SENTENCE_END.split(para):
            norm = normalize_sentence(raw)
            if norm and min_words <= len(norm.split()) <= max_words:
                sentences.append(norm)
    return sentences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text-dir", required=True, help="folder of Gutenberg .txt books")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    books = sorted(Path(args.text_dir).glob("*.txt"))
    if not books:
        print(f"error: no .txt books in {args.text_dir}", file=sys.stderr)
        return 2
    splits: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for book in books:
        split = "dev" if book.stem in DEV_BOOKS else "test" if book.stem in TEST_BOOKS else "train"
        found = book_sentences(book)
        splits[split] += found
        print(f"{book.stem}: {len(found)} sentences -> {split}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lm_train.txt").write_text("".join(s + "\n" for s in splits["train"]))
    for split, sentences in splits.items():
        unique = sorted(set(sentences))
        random.Random(args.seed).shuffle(unique)
        (out / f"{split}.txt").write_text("".join(s + "\n" for s in unique))
        print(f"{split}: {len(unique)} unique sentences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
