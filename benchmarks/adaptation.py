"""Test-time adaptation (asr.adapt) against plain decoding: WER and RTF per setting on each set.

Every combination of --steps, --lr and --temperature is run on every set (greedy, or beam + the model's LM
with --lm), after the model without adaptation; the settings and sets are chosen here on dev data
(LJSpeech dev and the first 400 synthetic dev utterances for the bundled model's defaults).

Usage:
    python benchmarks/adaptation.py --set real_dev=data/synthetic/real_dev.jsonl \
        --set dev400=data/synthetic/dev400.jsonl [--model DIR] [--steps 5 10] [--lr 1e-3 2e-3] \
        [--temperature 2.5] [--lm] [--limit N] [--threads 2] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
from _tables import emit

import asr
from asr.adapt import Adaptation
from asr.data import read_manifest, write_manifest
from asr.evaluate import evaluate_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, metavar="NAME=MANIFEST")
    parser.add_argument("--model", default=None, help="model directory or bundled name (default: the bundled one)")
    parser.add_argument("--steps", type=int, nargs="+", default=[Adaptation.steps])
    parser.add_argument("--lr", type=float, nargs="+", default=[Adaptation.lr])
    parser.add_argument("--temperature", type=float, nargs="+", default=[Adaptation.temperature])
    parser.add_argument("--lm", action="store_true", help="beam search with the model's LM instead of greedy")
    parser.add_argument("--limit", type=int, default=0, help="first N utterances of each set (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the table (markdown) and a .json here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    sets = {}
    for item in args.set:
        name, _, path = item.partition("=")
        if args.limit:  # the first N utterances, as a manifest beside the output (paths made absolute)
            subset = Path(args.out or "adaptation").with_suffix(f".{name}.jsonl")
            write_manifest(subset, read_manifest(path)[: args.limit], relative=False)
            path = subset
        sets[name] = path
    settings = [None] + [
        Adaptation(steps=s, lr=lr, temperature=t)
        for s, lr, t in itertools.product(args.steps, args.lr, args.temperature)
    ]
    rows = []
    for setting in settings:
        label = "none" if setting is None else f"{setting.steps} steps, lr {setting.lr:g}, T {setting.temperature:g}"
        row = {"adaptation": label, "sets": {}}
        for name, manifest in sets.items():
            started = time.perf_counter()
            report, failures, seconds = evaluate_manifest(model, manifest, adapt=setting, lm=args.lm or None)
            wall = time.perf_counter() - started
            for message in failures:
                print(f"skipped {message}")
            row["sets"][name] = {
                "wer": report.wer.rate,
                "errors": report.wer.errors,
                "words": report.wer.reference_length,
                "rtf": wall / max(seconds, 1e-9),
            }
            print(
                f"{label} on {name}: WER {100 * report.wer.rate:.2f}% ({report.wer.errors} / "
                f"{report.wer.reference_length}), RTF {wall / max(seconds, 1e-9):.4f}",
                flush=True,
            )
        rows.append(row)
    decoding = "beam + LM" if args.lm else "greedy"
    header = f"| adaptation ({decoding}) | " + " | ".join(f"{n} WER | {n} RTF" for n in sets) + " |"
    lines = [
        f"model: {model.path}; {args.threads} threads, CPU"
        + (f"; first {args.limit} of each set" if args.limit else ""),
        "",
        header,
        "|---|" + "---:|---:|" * len(sets),
    ]
    for row in rows:
        cells = [f"{100 * r['wer']:.2f}% ({r['errors']}/{r['words']}) | {r['rtf']:.4f}" for r in row["sets"].values()]
        lines.append(f"| {row['adaptation']} | " + " | ".join(cells) + " |")
    emit("\n".join(lines), rows, args.out)


if __name__ == "__main__":
    main()
