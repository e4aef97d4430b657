"""Speaker adaptation (``ASRModel.adapted_to``, ``asr adapt``) against the model it starts from, held out.

Each speaker's utterances are split in two halves (alternate utterances, in manifest order). The model
adapted to one half's audio decodes the other half, and the other way round: no utterance is decoded by a
model that heard it, as a user's new recordings are not the ones the model adapted to. The WER is over all
utterances of speakers with at least --min-utts of them, for each decoding: greedy, ``adapt`` (test-time
adaptation per segment on top), ``lm`` (beam search with the model's LM), ``lm_adapt``. The first row is
the unadapted model on the same utterances.

A set is one speaker, or ``NAME=MANIFEST:FIELD`` groups its utterances by a manifest field (e.g. voice).
--seconds caps the audio each half adapts on (its first utterances up to that many seconds; 0: all).

Usage:
    python benchmarks/speaker_adaptation.py --set real_dev=data/synthetic/real_dev.jsonl \
        --set kokoro_dev=data/synthetic/kokoro_dev.jsonl:voice [--model DIR] [--steps 50 100] [--lr 3e-4] \
        [--seconds 0 120] [--decodings greedy adapt lm lm_adapt] [--threads 2] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from _tables import emit

import asr
from asr.adapt import SpeakerAdaptation
from asr.data import read_manifest, write_manifest
from asr.evaluate import evaluate_manifest
from asr.streaming import chunk_frames

DECODINGS = {
    "greedy": {},
    "adapt": {"adapt": True},
    "lm": {"lm": True},
    "lm_adapt": {"lm": True, "adapt": True},
}


def halves(manifest: str, field: str, min_utts: int) -> list[tuple[list, list]]:
    """Per speaker, (even, odd) utterances; speakers with fewer than ``min_utts`` are left out."""
    utts = read_manifest(manifest)
    speakers: dict[str, list] = defaultdict(list)
    with open(manifest, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for utt, line in zip(utts, lines):
        speakers[str(line.get(field, "")) if field else ""].append(utt)
    return [(group[0::2], group[1::2]) for group in speakers.values() if len(group) >= min_utts]


def first_seconds(utts: list, seconds: float) -> list:
    if not seconds:
        return utts
    kept, total = [], 0.0
    for utt in utts:
        if total >= seconds:
            break
        kept.append(utt)
        total += utt.duration
    return kept


def run(model, folds, setting, decodings, seconds, scratch: Path) -> dict:
    """Errors and words per decoding over every held-out half; adaptation and decoding seconds."""
    counts = {d: [0, 0] for d in decodings}
    adapt_s = audio_s = 0.0
    models, steps = 0, []
    decode_s = {d: 0.0 for d in decodings}
    for k, (a, b) in enumerate(folds):
        for heard, held in ((a, b), (b, a)):
            reader = model
            if setting is not None:
                pool = first_seconds(heard, seconds)
                started = time.perf_counter()
                reader = model.adapted_to([u.audio for u in pool], settings=setting)
                adapt_s += time.perf_counter() - started
                steps.append(reader.config["info"]["speaker_adaptation"]["steps"])
                models += 1
                audio_s += sum(u.duration for u in pool)
            manifest = scratch / f"held{k}.jsonl"
            write_manifest(manifest, held, relative=False)
            for name in decodings:
                started = time.perf_counter()
                report, failures, _ = evaluate_manifest(reader, manifest, **DECODINGS[name])
                decode_s[name] += time.perf_counter() - started
                for message in failures:
                    print(f"skipped {message}")
                counts[name][0] += report.wer.errors
                counts[name][1] += report.wer.reference_length
    return {
        "counts": counts,
        "models": models,
        "steps": steps,
        "adapt_seconds": adapt_s,
        "adapted_on_seconds": audio_s,
        "decode_seconds": decode_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, metavar="NAME=MANIFEST[:FIELD]")
    parser.add_argument("--model", default=None, help="model directory or bundled name (default: the bundled one)")
    parser.add_argument("--steps", type=int, nargs="+", default=[None], help="default: SpeakerAdaptation's passes")
    parser.add_argument("--lr", type=float, nargs="+", default=[SpeakerAdaptation.lr])
    parser.add_argument("--seconds", type=float, nargs="+", default=[0.0], help="audio cap per half (0: all)")
    parser.add_argument("--decodings", nargs="+", choices=list(DECODINGS), default=["greedy"])
    parser.add_argument("--min-utts", type=int, default=4, help="speakers with fewer utterances are left out")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unadapted row")
    parser.add_argument(
        "--chunk-ms", type=float, help="a streaming model adapted and read as `asr stream` runs it, in chunks of this"
    )
    parser.add_argument("--left-ms", type=float, default=3600, help="with --chunk-ms: attention context")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the table (markdown) and a .json here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    if args.chunk_ms:
        model.chunk = chunk_frames(model.model, args.chunk_ms, args.left_ms)
    sets = {}
    for item in args.set:
        name, _, rest = item.partition("=")
        manifest, _, field = rest.partition(":")
        sets[name] = halves(manifest, field, args.min_utts)
    settings = [] if args.no_baseline else [(None, 0.0)]
    settings += [
        (SpeakerAdaptation(steps=s, lr=lr), sec) for s, lr, sec in itertools.product(args.steps, args.lr, args.seconds)
    ]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for setting, seconds in settings:
            label = "none"
            if setting is not None:
                auto = f"{setting.passes:g} passes, <= {setting.max_steps} steps"
                label = f"{setting.steps} steps" if setting.steps else auto
                label += f", lr {setting.lr:g}"
                label += f", {seconds:g} s per half" if seconds else ", all of the half"
            row = {"adaptation": label, "sets": {}}
            for name, folds in sets.items():
                result = run(model, folds, setting, args.decodings, seconds, Path(scratch))
                row["sets"][name] = result
                wers = ", ".join(f"{d} {100 * e / max(n, 1):.2f}% ({e}/{n})" for d, (e, n) in result["counts"].items())
                print(
                    f"{label} on {name} ({len(folds)} speaker(s)): {wers}; adapt {result['adapt_seconds']:.0f} s, "
                    f"steps {result['steps']}"
                )
            rows.append(row)
    columns = [(n, d) for n in sets for d in args.decodings]
    lines = [
        f"model: {model.path}; {args.threads} threads, CPU; each half decoded by the model adapted to the other"
        + (f"; in chunks of {args.chunk_ms:g} ms" if args.chunk_ms else ""),
        "",
        "| adaptation | "
        + " | ".join(f"{n} {d}" for n, d in columns)
        + " | models | steps | audio per model | adapt s per model |",
        "|---|" + "---:|" * (len(columns) + 4),
    ]
    for row in rows:
        cells = []
        for n, d in columns:
            e, w = row["sets"][n]["counts"][d]
            cells.append(f"{100 * e / max(w, 1):.2f}% ({e}/{w})")
        models = sum(r["models"] for r in row["sets"].values())
        heard = sum(r["adapted_on_seconds"] for r in row["sets"].values()) / max(models, 1)
        cost = sum(r["adapt_seconds"] for r in row["sets"].values()) / max(models, 1)
        tail = "0 | - | - | -"
        if models:
            used = sorted({n for r in row["sets"].values() for n in r["steps"]})
            steps = f"{used[0]}-{used[-1]}" if len(used) > 1 else str(used[0])
            tail = f"{models} | {steps} | {heard / 60:.1f} min | {cost:.0f}"
        lines.append(f"| {row['adaptation']} | " + " | ".join(cells) + f" | {tail} |")
    emit("\n".join(lines), rows, args.out)


if __name__ == "__main__":
    main()
