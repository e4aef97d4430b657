"""Collect the wer-SET.json files that `asr evaluate` writes into a Markdown results table.

Usage: python recipes/common/wer_table.py EVAL_DIR [--out FILE]
EVAL_DIR holds one sub-directory per decoding method (e.g. greedy/, beam/, lm/), each with wer-SET.json
files; rows come out ordered by set, then method. The numbers are copied from the JSON files, never typed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def collect(eval_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(eval_dir.glob("*/wer-*.json")):
        data = json.loads(path.read_text())
        rows.append({"set": path.stem[len("wer-") :], "method": path.parent.name, **data})
    if not rows:
        raise SystemExit(f"{eval_dir}: no */wer-*.json files (run `asr evaluate --output-dir {eval_dir}/METHOD`)")
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| set | decoding | WER % | 95% CI | CER % | sub | del | ins | ref words | utts | RTF |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["set"], r["method"])):
        low, high = r["wer_ci95"]
        w = r["words"]
        clips = r.get("nonspeech", {}).get("clips", 0)
        if not w["reference_length"]:  # non-speech only: the share of clips transcribed empty
            empty = 100 * r["nonspeech"]["empty"] / max(clips, 1)
            lines.append(
                f"| {r['set']} | {r['method']} | {empty:.1f}% empty | - | - | - | - | {w['insertions']} | 0 | "
                f"{r['utterances']} | {r['rtf']:.4f} |"
            )
            continue
        lines.append(
            f"| {r['set']} | {r['method']} | {100 * r['wer']:.2f} | {100 * low:.2f}-{100 * high:.2f} | "
            f"{100 * r['cer']:.2f} | {w['substitutions']} | {w['deletions']} | {w['insertions']} | "
            f"{w['reference_length']} | {r['utterances']} | {r['rtf']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def summary(rows: list[dict]) -> str:
    """icefall-style wer-summary.txt: one line per set and method, best first within a set."""
    lines = ["set\tmethod\tWER\tCER"]
    for r in sorted(rows, key=lambda r: (r["set"], r["wer"])):
        if not r["words"]["reference_length"]:
            continue
        lines.append(f"{r['set']}\t{r['method']}\t{100 * r['wer']:.2f}\t{100 * r['cer']:.2f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_dir", type=Path)
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument("--summary", type=Path, help="also write a plain wer-summary.txt here")
    args = parser.parse_args()
    rows = collect(args.eval_dir)
    table = markdown(rows)
    print(table, end="")
    if args.out:
        args.out.write_text(table)
    if args.summary:
        args.summary.write_text(summary(rows))


if __name__ == "__main__":
    main()
