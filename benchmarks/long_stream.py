"""One long live stream: compute per stretch of audio, and how many words were final before ``finish``.

A stream of the bundled streaming model (or --model) with its LM is fed --seconds of a manifest's utterances
joined back to back, in 100 ms pieces, on one thread (--threads), with no endpoint: the way a program that
never cuts its audio uses ``Stream``. For each --commit-pause: the compute of every --every seconds of audio
(an LM search that is never ended does more work per chunk the longer it runs), the real-time factor, the
slowest ``accept``, and the words returned as final before ``finish`` out of all the words of the transcript.

Usage: python benchmarks/long_stream.py --manifest data/synthetic/real_dev.jsonl [--seconds 600] [--every 150]
       [--commit-pause 0 0.2] [--model DIR] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

import asr
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from _tables import emit

PIECE = 1600  # samples per accept: 100 ms, as from a microphone


def joined(manifest: str, seconds: float) -> np.ndarray:
    """The manifest's utterances back to back, cut at ``seconds``."""
    waves, total, want = [], 0, int(seconds * SAMPLE_RATE)
    for utt in read_manifest(manifest):
        waves.append(load_audio(utt.audio).numpy())
        total += len(waves[-1])
        if total >= want:
            return np.concatenate(waves)[:want]
    raise SystemExit(f"{manifest}: only {total / SAMPLE_RATE:.0f} s of audio, fewer than --seconds {seconds:g}")


def run(model, wave: np.ndarray, pause: float, every: float) -> tuple[list[float], float, float, int, int]:
    """(compute seconds per ``every`` seconds of audio, total compute, slowest accept, words final before
    finish, words in all)."""
    stream = model.stream(320, lm=True, commit_pause=pause)
    stretch, stretches, total, slowest, final = int(every * SAMPLE_RATE), [], 0.0, 0.0, 0
    spent_in_stretch = 0.0
    for start in range(0, len(wave), PIECE):
        began = time.perf_counter()
        final += len(stream.accept(wave[start : start + PIECE]).words)
        spent = time.perf_counter() - began
        total, slowest, spent_in_stretch = total + spent, max(slowest, spent), spent_in_stretch + spent
        if (start + PIECE) % stretch == 0:
            stretches.append(spent_in_stretch)
            spent_in_stretch = 0.0
    began = time.perf_counter()
    words = len(stream.finish().text.split())
    total += time.perf_counter() - began
    return stretches, total, slowest, final, words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--model", help="a streaming model with an lm/ (default: the bundled streaming model)")
    parser.add_argument("--seconds", type=float, default=600.0, help="audio fed to the stream (default 600)")
    parser.add_argument("--every", type=float, default=150.0, help="stretch of audio per compute figure (s)")
    parser.add_argument("--commit-pause", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args()
    if (args.every * SAMPLE_RATE) % PIECE:
        parser.error(f"--every must be a multiple of {PIECE / SAMPLE_RATE} s")
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu", streaming=True)
    wave = joined(args.manifest, args.seconds)
    stretches = int(args.seconds // args.every)
    lines = [
        f"Model {model.path}, one LM stream of {args.seconds:.0f} s of {args.manifest} fed in 100 ms pieces, 320 ms "
        f"chunks, {args.threads} thread(s), {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| commit_pause | "
        + " | ".join(f"compute, {i * args.every:.0f}-{(i + 1) * args.every:.0f} s" for i in range(stretches))
        + " | compute in all | RTF | slowest accept | words final before finish |",
        "|---|" + "---:|" * (stretches + 4),
    ]
    rows = []
    for pause in args.commit_pause:
        parts, total, slowest, final, words = run(model, wave, pause, args.every)
        rows.append(dict(commit_pause=pause, stretches=parts, compute=total, slowest=slowest, final=final, words=words))
        lines.append(
            f"| {pause:g} s | "
            + " | ".join(f"{p:.1f} s" for p in parts)
            + f" | {total:.1f} s | {total / args.seconds:.4f} | {1000 * slowest:.0f} ms | {final} of {words} |"
        )
        print(lines[-1], flush=True)
    emit("\n".join(lines) + "\n", rows, Path(args.out) if args.out else None)


if __name__ == "__main__":
    main()
