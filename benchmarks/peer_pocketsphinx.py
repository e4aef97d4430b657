"""Against a peer on the same audio and machine: PocketSphinx (PyPI `pocketsphinx`, its bundled US English
acoustic model, 3-gram LM and dictionary) vs this package's bundled model, greedy and beam+LM.

Same utterances (the first N of data/synthetic/test.jsonl: held-out voices reading held-out books), same
scorer (asr.metrics.score, one normalizer), one process, 1 thread each; RTF = decoding wall time (audio
already in memory) / audio seconds. Not part of the package's dependencies: `pip install pocketsphinx`.

Usage: python benchmarks/peer_pocketsphinx.py [--n 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import asr
from asr.audio import load_audio
from asr.data import read_manifest
from asr.metrics import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=Path("data/synthetic/test.jsonl"))
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    from pocketsphinx import Decoder

    torch.set_num_threads(1)
    utts = read_manifest(args.manifest)[: args.n]
    waves = [load_audio(u.audio) for u in utts]
    seconds = sum(w.numel() for w in waves) / 16000
    ids, refs = [u.id for u in utts], [u.text for u in utts]
    rows = []

    decoder = Decoder(samprate=16000)
    start = time.perf_counter()
    hyps = []
    for wave in waves:
        pcm = (np.clip(wave.numpy(), -1, 1) * 32767).astype(np.int16).tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        hyps.append(hyp.hypstr if hyp is not None else "")
    rows.append(("PocketSphinx 5 (en-us, 3-gram LM)", score(ids, refs, hyps), time.perf_counter() - start))

    model = asr.load_model(device="cpu")
    for name, lm in (("asr conformer-ctc-synthetic, greedy", False), ("asr conformer-ctc-synthetic, beam+LM", True)):
        model.transcribe(waves[0], sample_rate=16000, lm=lm)  # warm-up
        start = time.perf_counter()
        hyps = [t.text for t in model.transcribe_batch(waves, sample_rate=16000, lm=lm)]
        rows.append((name, score(ids, refs, hyps), time.perf_counter() - start))

    print(f"{len(utts)} utterances, {seconds:.1f} s of audio, 1 thread\n")
    print("| recognizer | WER | CER | RTF |")
    print("|---|---:|---:|---:|")
    for name, report, wall in rows:
        print(f"| {name} | {100 * report.wer.rate:.2f}% | {100 * report.cer.rate:.2f}% | {wall / seconds:.4f} |")


if __name__ == "__main__":
    main()
