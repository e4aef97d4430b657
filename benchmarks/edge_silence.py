"""How silence before or after the speech costs accuracy: test utterances padded, decoded greedy.

Short inputs (up to the 12 s segment limit) reach the model as they are, without trimming: this measures
what a recording that starts or ends with a pause costs. Each row pads the first N utterances of a manifest
with SECONDS of silence (exact zeros, or Gaussian noise of the given RMS) before the speech, after it, or
both, and scores greedy WER over all of them.

Usage: python benchmarks/edge_silence.py [--manifest data/synthetic/test.jsonl] [--n 60] [--model DIR]
       [--seconds 0.1 0.15 0.2 0.3 0.5] [--noise 0 0.001]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import asr
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.metrics import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default="data/synthetic/test.jsonl")
    parser.add_argument("--n", type=int, default=60, help="the first N utterances")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seconds", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.3, 0.5])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0], help="RMS of the padding (0: zeros)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = asr.load_model(args.model, device="cpu")
    items = read_manifest(args.manifest)[: args.n]
    waves = [load_audio(item.audio).numpy() for item in items]
    ids, refs = [item.id for item in items], [item.text for item in items]
    rng = np.random.default_rng(0)

    def wer(batch: list[np.ndarray]) -> str:
        hyps = model.transcribe_batch([torch.from_numpy(w) for w in batch], sample_rate=SAMPLE_RATE)
        counts = score(ids, refs, [h.text for h in hyps]).wer
        return f"{100 * counts.rate:.2f}% [{counts.errors}]"

    def pad(seconds: float, rms: float) -> np.ndarray:
        n = int(round(seconds * SAMPLE_RATE))
        return (rng.normal(0.0, rms, n) if rms else np.zeros(n)).astype(np.float32)

    print(f"{len(items)} utterances of {args.manifest}, greedy; as they are: {wer(waves)} WER [errors]\n")
    print("| padding | seconds | before | after | both |")
    print("|---|---:|---:|---:|---:|")
    for rms in args.noise:
        kind = "zeros" if not rms else f"noise, RMS {rms:g}"
        for seconds in args.seconds:
            before = wer([np.concatenate([pad(seconds, rms), w]) for w in waves])
            after = wer([np.concatenate([w, pad(seconds, rms)]) for w in waves])
            both = wer([np.concatenate([pad(seconds, rms), w, pad(seconds, rms)]) for w in waves])
            print(f"| {kind} | {seconds:g} | {before} | {after} | {both} |", flush=True)


if __name__ == "__main__":
    main()
