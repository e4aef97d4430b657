"""Non-speech clips with empty transcripts: silence, noise, hum, clicks and music-like tones.

Usage:
    python recipes/synthetic/nonspeech.py --out data/synthetic --split train --count 3000 [--seed 0]

A recognizer trained only on speech says words for anything it hears (a model of this recipe trained without
these clips said "I" for 3 s of digital silence and 95 words for 2 minutes of white noise). Training on these
clips with an empty transcript teaches it to emit blanks. Kinds (drawn uniformly): digital silence or faint
dither, coloured noise, mains hum, clicks (random impulses and short bursts, like a keyboard or a handled
microphone), tones (notes with harmonics, chords, a melody: music-like), and mixtures of two of these. Each
clip is 0.3-10 s long at a random level. Writes ``OUT/nonspeech_SPLIT/*.flac`` and
``OUT/nonspeech_SPLIT.jsonl`` (text ""); splits draw from different seeds, so dev and test clips are never
training clips.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.audio import SAMPLE_RATE
from asr.augment import coloured_noise, hum

KINDS = ["silence", "noise", "hum", "clicks", "tones", "mixture"]
SPLIT_SEEDS = {"train": 0, "dev": 1_000_003, "test": 2_000_029}


def clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random impulses and short decaying bursts."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, max(2, n // 1600)))):
        at, length = int(rng.integers(0, n)), int(rng.integers(1, 400))
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / max(1, length / 4))
        out[at : at + length] += rng.uniform(0.2, 1.0) * burst[: n - at]
    return out


def tones(rng: np.random.Generator, n: int) -> np.ndarray:
    """A sequence of notes or chords (equal-tempered, a few harmonics, attack-decay envelopes)."""
    out, t0 = np.zeros(n), 0
    while t0 < n:
        length = min(n - t0, int(rng.uniform(0.1, 1.2) * SAMPLE_RATE))
        t = np.arange(length) / SAMPLE_RATE
        note = np.zeros(length)
        for _ in range(int(rng.integers(1, 4))):  # a chord of 1-3 notes
            f0 = 110.0 * 2 ** (int(rng.integers(0, 40)) / 12)
            note += sum(
                rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 5) if f0 * k < 7800
            )
        out[t0 : t0 + length] = note * np.exp(-t * rng.uniform(0.5, 6.0)) * np.minimum(1.0, t / 0.01)
        t0 += length
    return out


def clip(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "silence":
        return rng.standard_normal(n) * 10 ** (rng.uniform(-90, -60) / 20) if rng.random() < 0.5 else np.zeros(n)
    if kind == "noise":
        return coloured_noise(rng, n)
    if kind == "hum":
        return hum(rng, n)
    if kind == "clicks":
        return clicks(rng, n)
    if kind == "tones":
        return tones(rng, n)
    a, b = rng.choice(KINDS[1:5], size=2, replace=False)
    x, y = clip(str(a), rng, n), clip(str(b), rng, n)
    return x / (np.abs(x).max() + 1e-9) + rng.uniform(0.1, 1.0) * y / (np.abs(y).max() + 1e-9)


def make(out: Path, split: str, count: int, seed: int) -> list[dict]:
    name = f"nonspeech_{split}"
    records = []
    for i in range(count):
        rng = np.random.default_rng([seed, SPLIT_SEEDS[split], i])
        kind = KINDS[int(rng.integers(len(KINDS)))]
        n = int(rng.uniform(0.3, 10.0) * SAMPLE_RATE)
        x = clip(kind, rng, n)
        peak = np.abs(x).max()
        if peak > 0:
            x = x / peak * 10 ** (rng.uniform(-50, -1) / 20)
        path = out / name / f"{name}-{i:05d}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, x.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        records.append(
            {
                "id": path.stem,
                "audio": str(path.relative_to(out)),
                "duration": round(n / SAMPLE_RATE, 4),
                "text": "",
                "voice": f"nonspeech:{kind}",
            }
        )
    with open(out / f"{name}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", choices=list(SPLIT_SEEDS), required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count: at least 1")
    records = make(Path(args.out), args.split, args.count, args.seed)
    hours = sum(r["duration"] for r in records) / 3600
    print(f"nonspeech_{args.split}: {len(records)} clips, {hours:.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
