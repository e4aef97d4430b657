"""How much of an evaluation set's text the training transcripts cover, and what the uncovered words cost.

A CTC model with a small BPE vocabulary can spell a word it never heard, but a word whose spelling it has
never been trained on is harder than one it has. For training manifests (or plain text files, one sentence a
line) and an evaluation manifest this prints:

1. per training source and all together: sentences (distinct), distinct words, and the evaluation words (running
   words) that none of the sources' sentences holds ("unseen");
2. with ``--errs`` (the errs-SET.tsv `asr evaluate` wrote for this evaluation set): for the reference words
   that were seen and those that were not, how many the hypothesis got wrong (substituted or deleted, from the
   word alignment; insertions belong to no reference word and are counted apart).

Usage: python benchmarks/text_coverage.py --train data/synthetic/train_lite7.jsonl [data/synthetic/text/train.txt]
       --eval data/synthetic/test.jsonl [--errs exp/synthetic-voices/eval/greedy/errs-test.tsv]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path


from asr.metrics import score
from asr.tokenizer import normalize_text


def texts(path: Path) -> list[str]:
    """The normalized sentences of a manifest (.jsonl: its "text" fields) or a text file, in order; ValueError
    naming the file and line for a manifest line that is not a JSON object with a "text" string."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            try:
                line = json.loads(line)["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                line = None
            if not isinstance(line, str):
                raise ValueError(f'{path}:{number}: not a JSON object with a "text" string')
        out.append(normalize_text(line))
    return out


def words_of(texts: set[str]) -> set[str]:
    return {word for text in texts for word in text.split()}


def error_split(errs: Path, seen: set[str]) -> Counter:
    """Counts of reference words "seen" / "unseen" (in ``seen`` or not), of them substituted or deleted
    ("seen wrong" / "unseen wrong"), and of "insertions"."""
    with open(errs, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if not {"id", "ref", "hyp"} <= set(reader.fieldnames or []):
            raise ValueError(f"{errs}:1: not an errs-SET.tsv of `asr evaluate` (no id, ref and hyp columns)")
        rows = list(reader)
    report = score([r["id"] for r in rows], [r["ref"] for r in rows], [r["hyp"] or "" for r in rows])
    counts: Counter = Counter()
    for utterance in report.utterances:
        for op, ref, _ in utterance.alignment:
            if op == "I":
                counts["insertions"] += 1
                continue
            kind = "seen" if ref in seen else "unseen"
            counts[kind] += 1
            counts[f"{kind} wrong"] += op != "="
    return counts


def report(args: argparse.Namespace) -> None:
    evaluation = [word for text in texts(args.eval) for word in text.split()]
    if not evaluation:
        raise ValueError(f"{args.eval}: no words to evaluate")
    print(f"{len(evaluation)} words in {args.eval}\n")
    print("| training text | sentences | distinct words | unseen evaluation words |")
    print("|---|---:|---:|---:|")
    everything: set[str] = set()
    for path in args.train:
        known = set(texts(path))
        everything |= known
        vocabulary = words_of(known)
        unseen = sum(w not in vocabulary for w in evaluation)
        print(f"| {path} | {len(known)} | {len(vocabulary)} | {unseen} ({100 * unseen / len(evaluation):.2f}%) |")
    vocabulary = words_of(everything)
    if len(args.train) > 1:
        unseen = sum(w not in vocabulary for w in evaluation)
        print(
            f"| all together | {len(everything)} | {len(vocabulary)} | {unseen} "
            f"({100 * unseen / len(evaluation):.2f}%) |"
        )
    if args.errs:
        split = error_split(args.errs, vocabulary)
        print(f"\n{args.errs}: reference words the training text given holds (seen) and does not (unseen):\n")
        print("| reference words | words | substituted or deleted |")
        print("|---|---:|---:|")
        for name in ("seen", "unseen"):
            words, wrong = split[name], split[f"{name} wrong"]
            print(f"| {name} | {words} | {wrong} ({100 * wrong / max(words, 1):.1f}%) |")
        print(f"\n{split['insertions']} insertions besides")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, nargs="+", required=True, help="training manifests or text files")
    parser.add_argument("--eval", type=Path, required=True, help="the evaluation manifest")
    parser.add_argument("--errs", type=Path, default=None, help="errs-SET.tsv of `asr evaluate` on --eval")
    args = parser.parse_args()
    for path in [*args.train, args.eval, *([args.errs] if args.errs else [])]:
        if not path.is_file():
            parser.error(f"no such file: {path}")
    try:
        report(args)
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
