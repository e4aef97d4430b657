"""Word confidence (asr.confidence) measured: does a word's stated confidence match how often such words are right?

For each set, and each decoding the model has a calibration for (greedy; beam + the model's LM with --lm),
every recognized word is labelled right or wrong by the alignment the WER uses, then: AUROC (how well the
confidence ranks right words above wrong ones; 0.5 is chance), expected calibration error (ECE: the mean gap
between stated confidence and the share right, over 10 confidence bins weighted by their words), and what a
0.5 threshold does (the share of the wrong words under it, and of the right words under it). A second table
gives, per set, each confidence bin's words and the share of them that were right.

With --choose-feature DEV.jsonl instead, the input of the curve is compared: for each candidate function of
the word score, a logistic curve fitted on half of DEV's utterances (alternate ones) is measured (ECE) on the
other half and the other way round; the mean of the two is the table's figure. asr.confidence.FEATURE is the
one chosen so.

Usage:
    python benchmarks/word_confidence.py --set test=data/synthetic/test.jsonl \
        --set real_dev=data/synthetic/real_dev.jsonl [--model DIR] [--lm] [--threads 2] [--out FILE.md]
    python benchmarks/word_confidence.py --choose-feature DEV.jsonl [--model DIR] [--lm] [--out FILE.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from _tables import emit

import asr
from asr.confidence import auroc, calibration_error, fit_logistic, reliability, word_outcomes
from asr.data import read_manifest
from asr.streaming import chunk_frames


def measure(model, manifest: str, lm: bool) -> dict:
    utts = read_manifest(manifest)
    transcripts = model.transcribe_batch([u.audio for u in utts], lm=lm or None, word_timestamps=True)
    scores, right = word_outcomes(transcripts, [u.text for u in utts])
    calibration = model.calibration("lm" if lm else "greedy")
    confidence = np.array([calibration(s) for s in scores])
    right = np.array(right, dtype=bool)
    low = confidence < 0.5
    return {
        "words": int(right.size),
        "right": float(right.mean()),
        "auroc": auroc(confidence, right),
        "ece": calibration_error(confidence, right),
        "wrong_flagged": float(low[~right].mean()) if (~right).any() else float("nan"),
        "right_flagged": float(low[right].mean()) if right.any() else float("nan"),
        "bins": reliability(confidence, right),
    }


CANDIDATES = {
    "score": lambda s: s,
    "sqrt(-score)": lambda s: np.sqrt(-s),
    **{f"log({c} - score)": (lambda c: lambda s: np.log(c - s))(c) for c in (0.02, 0.05, 0.1, 0.2)},
}


def choose_feature(model, manifest: str, lm: bool) -> dict[str, float]:
    """2-fold (alternate utterances) expected calibration error of a logistic curve of each candidate."""
    utts = read_manifest(manifest)
    transcripts = model.transcribe_batch([u.audio for u in utts], lm=lm or None, word_timestamps=True)
    folds: list[tuple[list, list]] = [([], []), ([], [])]
    for i, (t, u) in enumerate(zip(transcripts, utts)):
        scores, right = word_outcomes([t], [u.text])
        folds[i % 2][0].extend(scores)
        folds[i % 2][1].extend(right)
    errors = {}
    for name, feature in CANDIDATES.items():
        ece = []
        for k in (0, 1):
            x_fit, y_fit = feature(np.minimum(np.array(folds[1 - k][0]), 0.0)), folds[1 - k][1]
            slope, intercept = fit_logistic(x_fit, y_fit)
            x = feature(np.minimum(np.array(folds[k][0]), 0.0))
            ece.append(calibration_error(1 / (1 + np.exp(-(slope * x + intercept))), folds[k][1]))
        errors[name] = float(np.mean(ece))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=MANIFEST")
    parser.add_argument("--model", default=None, help="model directory or bundled name (default: the bundled one)")
    parser.add_argument("--lm", action="store_true", help="also beam search with the model's LM")
    parser.add_argument("--choose-feature", metavar="DEV", help="compare inputs of the curve on this dev manifest")
    parser.add_argument("--chunk-ms", type=float, help="a streaming model read in chunks as `asr stream` reads")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables (markdown) and a .json here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    if args.chunk_ms:
        model.chunk = chunk_frames(model.model, args.chunk_ms)
    decodings = ["greedy"] + (["lm"] if args.lm else [])
    if args.choose_feature:
        errors = {d: choose_feature(model, args.choose_feature, d == "lm") for d in decodings}
        lines = [
            f"{model.path} on {args.choose_feature}: 2-fold expected calibration error of a logistic curve of",
            "",
            "| input | " + " | ".join(decodings) + " |",
            "|---|" + "---:|" * len(decodings),
        ]
        for name in CANDIDATES:
            lines.append(f"| {name} | " + " | ".join(f"{errors[d][name]:.4f}" for d in decodings) + " |")
        emit("\n".join(lines) + "\n", errors, args.out)
        return
    if not args.set:
        parser.error("--set NAME=MANIFEST (one or more), or --choose-feature DEV")
    for decoding in decodings:
        if model.calibration(decoding) is None:
            parser.error(f"{model.path} has no {decoding} calibration: run `asr tune-confidence` first")
    rows = []
    for item in args.set:
        name, _, manifest = item.partition("=")
        for decoding in decodings:
            rows.append({"set": name, "decoding": decoding, **measure(model, manifest, decoding == "lm")})
            print(f"{name} {decoding}: done", flush=True)
    info = model.config.get("info", {}).get("confidence", {})
    lines = [
        f"{model.path}, calibrated on " + ", ".join(f"{d}: {info[d].get('tuned_on', '?')}" for d in decodings),
        "",
        "| set | decoding | words | right | AUROC | ECE | wrong words < 0.5 | right words < 0.5 |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['decoding']} | {r['words']} | {100 * r['right']:.1f}% | {r['auroc']:.3f} | "
            f"{r['ece']:.3f} | {100 * r['wrong_flagged']:.1f}% | {100 * r['right_flagged']:.1f}% |"
        )
    lines += ["", "Share right per confidence bin (words in brackets):", ""]
    heads = [f"{r['set']} {r['decoding']}" for r in rows]
    lines += ["| confidence | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(rows)]
    for b in range(10):
        cells = []
        for r in rows:
            hit = [x for x in r["bins"] if round(10 * x["low"]) == b]
            cells.append(f"{100 * hit[0]['right']:.0f}% ({hit[0]['words']})" if hit else "-")
        lines.append(f"| {b / 10:.1f}-{(b + 1) / 10:.1f} | " + " | ".join(cells) + " |")
    emit("\n".join(lines) + "\n", rows, args.out)


if __name__ == "__main__":
    main()
