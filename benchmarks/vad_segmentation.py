"""Long recordings with background noise: the energy cutter against Silero VAD (``transcribe --vad``), which
cut inputs over 12 s into segments.

Each file: utterances of a manifest in order, 0.3-1.5 s of pause between them, and every fourth pause
replaced by 3 s without speech (noise only), the whole file under continuous background noise at --snr dB
(white noise shaped by a random microphone-like tilt, per file). For each cutter: the file is transcribed
whole (greedy) and scored against the utterances' texts joined; the cut points are checked against the
utterances' spans (a cut inside an utterance splits words); and the words output inside the noise-only
stretches are counted (insertions from non-speech).

Usage: python benchmarks/vad_segmentation.py --manifest ../shared/corpus/real/ljspeech-dev/dev.jsonl
       [--files 4] [--minutes 3] [--snr 30 15 5] [--model DIR] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import torch

import asr
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.metrics import score


def build(utts, seconds: float, snr: float, seed: int):
    """(wave, reference text, speech spans, noise-only spans) of one long file."""
    rng = random.Random(seed)
    parts, spans, quiet, pos, texts = [], [], [], 0, []
    for i, utt in enumerate(utts):
        if pos / SAMPLE_RATE >= seconds:
            break
        wave = load_audio(utt.audio).numpy()
        parts.append(wave)
        spans.append((pos / SAMPLE_RATE, (pos + len(wave)) / SAMPLE_RATE))
        texts.append(utt.text)
        pos += len(wave)
        gap = 3.0 if i % 4 == 3 else rng.uniform(0.3, 1.5)
        if gap == 3.0:
            quiet.append((pos / SAMPLE_RATE + 0.3, (pos / SAMPLE_RATE) + 2.7))
        parts.append(np.zeros(int(gap * SAMPLE_RATE), np.float32))
        pos += int(gap * SAMPLE_RATE)
    wave = np.concatenate(parts)
    speech_power = np.mean(np.concatenate([w for w in parts if w.any()]) ** 2)
    noise = np.random.default_rng(seed).standard_normal(len(wave))
    tilt = rng.uniform(-0.9, 0.9)  # first-order colouring: a brighter or duller noise
    noise = np.append(noise[:1], noise[1:] + tilt * noise[:-1])
    noise *= np.sqrt(speech_power / 10 ** (snr / 10) / np.mean(noise**2))
    return (wave + noise).astype(np.float32), " ".join(texts), spans, quiet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--snr", type=float, nargs="+", default=[30.0, 15.0, 5.0])
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    utts = read_manifest(args.manifest)
    per_file = max(1, len(utts) // args.files)
    rows = [
        "| SNR | cutter | WER % | cuts inside speech | words in noise-only stretches | segments | seconds |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for snr in args.snr:
        totals = {
            name: [0, 0, 0, 0, 0, 0.0, 0] for name in ("energy", "silero")
        }  # errs, words, cuts, inside, noise words, s, segs
        for f in range(args.files):
            wave, ref, spans, quiet = build(utts[f * per_file : (f + 1) * per_file], args.minutes * 60, snr, f)
            for name in totals:
                model.segmenter = name
                began = time.perf_counter()
                result = model.transcribe(wave, sample_rate=SAMPLE_RATE, word_timestamps=True)
                spent = time.perf_counter() - began
                report = score(["file"], [ref], [result.text])
                t = totals[name]
                t[0] += report.wer.errors
                t[1] += report.wer.reference_length
                cuts = [s.end for s in result.segments[:-1]]
                t[2] += len(cuts)
                t[3] += sum(any(a + 0.05 < c < b - 0.05 for a, b in spans) for c in cuts)
                t[4] += sum(any(a <= (w.start + w.end) / 2 <= b for a, b in quiet) for w in result.words)
                t[5] += spent
                t[6] += len(result.segments)
        for name, t in totals.items():
            rows.append(
                f"| {snr:.0f} dB | {name} | {100 * t[0] / max(t[1], 1):.2f} | {t[3]} of {t[2]} | {t[4]} | "
                f"{t[6]} | {t[5]:.1f} |"
            )
            print(rows[-1], flush=True)
    header = (
        f"{args.files} files x {args.minutes:.0f} min from {args.manifest}, model {model.path}, greedy, "
        f"{args.threads} threads, {time.strftime('%Y-%m-%d')}.\n\n"
    )
    text = header + "\n".join(rows) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
