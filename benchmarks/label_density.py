"""Labels per subsampled frame, and what dense labelling costs: is a CTC model short of frames for its labels?

CTC emits at most one label per frame (and needs a blank between two equal labels), so an utterance whose
labels fill most of its frames leaves the model little room. For a model and a manifest this prints:

1. labels per frame (the model's tokenizer; percentiles over the utterances), and the same for BPE
   vocabularies of other sizes trained on ``--text`` (what a change of vocabulary would buy);
2. with ``--errs`` (the errs-*.tsv `asr evaluate` writes for this manifest and model): greedy WER by
   labels-per-frame bin, and per voice (manifest field ``voice``) the WER of its sparser and denser half, so
   that the speaking rate of a voice does not hide the effect.

``--frame-ms`` counts frames of another length instead of the model's (80: 8x subsampling at a 10 ms hop),
to ask what vocabulary a network of that frame rate would have room for.

Usage: python benchmarks/label_density.py --manifest data/synthetic/test.jsonl [--model DIR]
       [--errs exp/.../errs-test.tsv] [--text data/synthetic/text/train.txt --vocab 256 512 1024 2048]
       [--frame-ms 80] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict

import numpy as np

import asr
from asr.tokenizer import train_bpe

BINS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 10.0)


def densities(tokenizer, rows: list[dict], frame_seconds: float) -> np.ndarray:
    return np.array([len(tokenizer.encode(r["text"])) / (r["duration"] / frame_seconds) for r in rows])


def describe(name: str, density: np.ndarray) -> str:
    p50, p95, p99 = np.percentile(density, [50, 95, 99])
    return (
        f"| {name} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {100 * (density > 0.7).mean():.1f}% "
        f"| {100 * (density > 1.0).mean():.1f}% |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    parser.add_argument("--errs", default=None, help="errs-*.tsv of `asr evaluate` on this manifest")
    parser.add_argument("--text", default=None, help="text file (one sentence a line) for --vocab's BPE models")
    parser.add_argument("--vocab", type=int, nargs="*", default=[])
    parser.add_argument("--frame-ms", type=float, default=None, help="frame length to count (default: the model's)")
    parser.add_argument("--out", default=None, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    lines: list[str] = []

    def emit(line: str = "") -> None:
        print(line)
        lines.append(line)

    model = asr.load_model(args.model, device="cpu")
    frame = args.frame_ms / 1000 if args.frame_ms else model.frame_seconds
    rows = [json.loads(line) for line in open(args.manifest, encoding="utf-8") if line.strip()]
    mine = densities(model.tokenizer, rows, frame)
    emit(f"{len(rows)} utterances of {args.manifest}; frames of {frame * 1000:.0f} ms\n")
    emit("| labels | per frame, median | 95th pct | 99th pct | above 0.7 | above 1.0 |")
    emit("|---|---:|---:|---:|---:|---:|")
    emit(describe(f"the model's ({model.tokenizer.vocab_size} ids)", mine))
    if args.vocab:
        texts = [line.strip() for line in open(args.text, encoding="utf-8") if line.strip()]
        for size in args.vocab:
            bpe = train_bpe(texts, size)
            emit(describe(f"BPE {bpe.vocab_size - 1} pieces on {args.text}", densities(bpe, rows, frame)))
    if args.errs:
        errors_by_density(args.errs, rows, mine, emit)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


def errors_by_density(path: str, rows: list[dict], mine: np.ndarray, emit) -> None:
    """Greedy WER by labels-per-frame bin, and per voice for its sparser and denser half."""
    with open(path, encoding="utf-8") as f:
        errs = {r["id"]: (int(r["errors"]), int(r["ref_words"])) for r in csv.DictReader(f, delimiter="\t")}
    counts = np.array([errs[r["id"]] for r in rows], dtype=float)
    emit("\n| labels per frame | utterances | greedy WER |\n|---|---:|---:|")
    for low, high in zip(BINS, BINS[1:]):
        inside = (mine >= low) & (mine < high)
        if inside.any():
            wer = counts[inside, 0].sum() / max(counts[inside, 1].sum(), 1)
            emit(f"| {low:.1f}-{high:.1f} | {int(inside.sum())} | {100 * wer:.1f}% |")
    by_voice = defaultdict(list)
    for i, r in enumerate(rows):
        by_voice[r.get("voice", "?")].append(i)
    totals = np.zeros((2, 2))
    emit("\n| voice | median labels per frame | WER, sparser half | WER, denser half |\n|---|---:|---:|---:|")
    for voice, index in sorted(by_voice.items()):
        index = np.array(index)
        median = np.median(mine[index])
        halves = [index[mine[index] <= median], index[mine[index] > median]]
        sums = np.array([counts[h].sum(axis=0) for h in halves])
        totals += sums
        emit(
            f"| {voice} | {median:.2f} | {100 * sums[0, 0] / max(sums[0, 1], 1):.1f}% "
            f"| {100 * sums[1, 0] / max(sums[1, 1], 1):.1f}% |"
        )
    emit(f"| all voices | | {100 * totals[0, 0] / totals[0, 1]:.1f}% | {100 * totals[1, 0] / totals[1, 1]:.1f}% |")


if __name__ == "__main__":
    main()
