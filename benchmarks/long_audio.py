"""Transcribing one long file: wall time, real-time factor and peak memory (RSS) for a file of N minutes.

The file is made by joining held-out synthetic test utterances (recipes/synthetic, data/synthetic/test.jsonl)
with 0.3-0.9 s pauses until it is N minutes long, written as 16 kHz FLAC. Each measurement runs
`asr transcribe` in a fresh process and reads that process's peak resident memory from the kernel
(ru_maxrss of the child), so the model, torch and everything else are included.

Usage: python benchmarks/long_audio.py --minutes 10 60 [--manifest data/synthetic/test.jsonl] [--threads 2]
       [--lm] [--adapt] [--adapt-speaker]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.audio import load_audio
from asr.data import read_manifest


def build(manifest: Path, minutes: float, out: Path, seed: int = 0) -> float:
    utts = read_manifest(manifest)
    rng = random.Random(seed)
    seconds = 0.0
    with sf.SoundFile(out, "w", samplerate=16000, channels=1, format="FLAC") as f:  # written as it grows
        while seconds < minutes * 60:
            wave = load_audio(rng.choice(utts).audio).numpy()
            gap = np.zeros(int(16000 * rng.uniform(0.3, 0.9)), dtype=np.float32)
            f.write(np.concatenate([wave, gap]))
            seconds += (len(wave) + len(gap)) / 16000
    return seconds


def _child(argv: list[str]) -> None:
    """Run one command and print its peak RSS (KiB): a fresh parent per measurement, since ru_maxrss of
    RUSAGE_CHILDREN is a running maximum over all children a process has waited for."""
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def run(path: Path, threads: int, extra: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of `asr transcribe PATH` in a fresh process."""
    command = [sys.executable, "-m", "asr.cli", "transcribe", "--threads", str(threads), *extra, str(path)]
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", *command], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    return wall, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return _child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60])
    parser.add_argument("--manifest", type=Path, default=Path("data/synthetic/test.jsonl"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lm", action="store_true", help="also decode with the model's LM")
    parser.add_argument("--adapt", action="store_true", help="also decode after test-time adaptation (--adapt)")
    parser.add_argument(
        "--adapt-speaker", action="store_true", help="also decode after adapting to the whole file (--adapt-speaker)"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in sorted(args.minutes):
            path = Path(tmp) / f"long-{minutes:g}min.flac"
            seconds = build(args.manifest, minutes, path)
            methods = [("greedy", ["--no-lm"])] + ([("beam+LM", ["--lm"])] if args.lm else [])
            methods += [("adapted greedy", ["--adapt", "--no-lm"])] if args.adapt else []
            methods += [("speaker-adapted greedy", ["--adapt-speaker", "--no-lm"])] if args.adapt_speaker else []
            for name, extra in methods:
                wall, peak = run(path, args.threads, extra)
                rows.append(
                    {
                        "minutes": minutes,
                        "audio_s": round(seconds, 1),
                        "decoding": name,
                        "wall_s": round(wall, 1),
                        "rtf": round(wall / seconds, 4),
                        "peak_rss_mib": round(peak),
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"| file | decoding | wall s (process start to exit, {args.threads} threads) | RTF | peak RSS MiB |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['minutes']:g} min ({r['audio_s']} s) | {r['decoding']} | {r['wall_s']} | {r['rtf']} | "
            f"{r['peak_rss_mib']} |"
        )


if __name__ == "__main__":
    main()
