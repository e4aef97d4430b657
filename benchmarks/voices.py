"""Word error rate per voice, and the model on test text spoken by voices it was trained on.

Part 1 joins an `asr evaluate` report (errs-SET.tsv, one row per utterance) with the manifest's "voice"
field: WER of each held-out voice. Part 2 (--probe VOICE ...) speaks the first N test sentences, without
augmentation, with each given voice (recipes/synthetic/synthesize.py) and scores the model on them: a
training voice reading unseen text separates "the voice is new" from "the text is new".

Usage:
    python benchmarks/voices.py --errs exp/synthetic/eval/greedy/errs-test.tsv \
        --manifest data/synthetic/test.jsonl [--model DIR] [--probe flite:slt espeak:+f3 ...] [--n 40]

--without VOICE ... adds a row for all the other voices together: dev without flite's awb, say, when a
training set speaks with it (``synthesize.py --voices flite:awb``; dev's other twelve voices stay unseen).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path


import asr
from asr.metrics import score


def voices_by_id(manifest: Path) -> dict[str, str]:
    """Each utterance's "voice" field ("?" where it has none), by id."""
    records = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    return {r["id"]: r.get("voice", "?") for r in records}


def per_voice(errs: Path, manifest: Path) -> list[tuple[str, int, int, int]]:
    """(voice, errors, reference words, utterances), worst first."""
    voice_of = voices_by_id(manifest)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    with open(errs, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            t = totals[voice_of[row["id"]]]
            t[0] += int(row["errors"])
            t[1] += int(row["ref_words"])
            t[2] += 1
    return sorted(((v, *t) for v, t in totals.items()), key=lambda r: -r[1] / max(r[2], 1))


def probe(
    model_name: str | None, manifest: Path, voices: list[str], n: int, workers: int = 2, espeak_path: str = ""
) -> list[tuple[str, float, int]]:
    """(voice, WER, reference words) of the model on the first n sentences of the manifest, spoken by each voice
    (espeak-ng variants from the data folder ``espeak_path`` where given)."""
    try:  # the synthetic recipe's own synthesizer: run with PYTHONPATH=recipes/synthetic
        from synthesize import plan, run_jobs
    except ImportError as e:
        raise SystemExit(f"{e}: run --probe with PYTHONPATH=recipes/synthetic (it speaks with the recipe's voices)")

    sentences = [json.loads(line)["text"] for line in manifest.read_text().splitlines()[:n]]
    with tempfile.TemporaryDirectory() as tmp:
        # the corpus builder's own plan, one voice at a time: every voice gets the same rates and pitches
        jobs = [
            job
            for k, voice in enumerate(voices)
            for job in plan(
                sentences,
                [voice],
                "probe",
                float("inf"),
                Path(tmp),
                False,
                0,
                name=f"probe{k}",
                espeak_path=espeak_path,
            )
        ]
        # all speech first: worker processes forked after torch has started its threads can hang
        records, errors = run_jobs(jobs, workers, "probe")
        if errors:
            print("\n".join(errors), file=sys.stderr)
        model = asr.load_model(model_name, device="cpu")
        rows = []
        for voice in voices:
            mine = [r for r in records if r["voice"] == voice]
            report = score(
                [r["id"] for r in mine], [r["text"] for r in mine], [model.transcribe(r["audio"]).text for r in mine]
            )
            rows.append((voice, report.wer.rate, report.wer.reference_length))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errs", type=Path, required=True, help="errs-SET.tsv written by `asr evaluate`")
    parser.add_argument("--manifest", type=Path, required=True, help="the manifest that was evaluated")
    parser.add_argument("--model", default=None, help="model for --probe (default: the bundled default)")
    parser.add_argument("--probe", nargs="*", default=[], help="voices (as in voices.json) to speak test text")
    parser.add_argument("--n", type=int, default=40, help="test sentences per probe voice")
    parser.add_argument("--without", nargs="*", default=[], help="also a row for all voices but these together")
    args = parser.parse_args()

    print("| voice | WER | words | utterances |\n|---|---:|---:|---:|")
    rows = per_voice(args.errs, args.manifest)
    for voice, errors, words, utts in rows:
        print(f"| {voice} | {100 * errors / max(words, 1):.1f}% | {words} | {utts} |")
    if args.without:
        errors, words, utts = (sum(r[k] for r in rows if r[0] not in args.without) for k in (1, 2, 3))
        print(
            f"| all but {', '.join(args.without)} | {100 * errors / max(words, 1):.2f}% ({errors} errors) | {words} "
            f"| {utts} |"
        )
    if args.probe:
        print(f"\nfirst {args.n} sentences of {args.manifest}, unaugmented, spoken by:\n")
        print("| voice | WER | words |\n|---|---:|---:|")
        for voice, wer, words in probe(args.model, args.manifest, args.probe, args.n):
            print(f"| {voice} | {100 * wer:.1f}% | {words} |")


if __name__ == "__main__":
    main()
