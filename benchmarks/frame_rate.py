"""Greedy WER of one trained model read at several feature hops (model.hop_length): more frames per second.

A model short of frames for its labels (benchmarks/label_density.py) may read better when the same audio is
cut into more frames: a shorter hop with the same 25 ms window samples the sounds more densely, much like
slower speech. Each row loads the model's weights into its network with another ``hop_length`` (nothing
else changes) and decodes the manifest greedily. Choose the hop on a dev set, then measure test once.

Usage: python benchmarks/frame_rate.py --manifest data/synthetic/dev.jsonl [--model DIR]
       [--hops 160 144 136 128 120] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

import asr
from asr.evaluate import evaluate_manifest
from asr.model import CTCModel
from asr.transcribe import ASRModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    parser.add_argument("--hops", type=int, nargs="+", default=[160, 144, 136, 128, 120])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = asr.load_model(args.model, device="cpu")
    print(f"{base.path} (trained hop {base.model.cfg.hop_length} in its config) on {args.manifest}, greedy\n")
    print("| hop (samples) | frames per second | encoder frame | WER | errors | seconds |")
    print("|---:|---:|---:|---:|---:|---:|")
    for hop in args.hops:
        network = CTCModel(dataclasses.replace(base.model.cfg, hop_length=hop)).eval()
        network.load_state_dict(base.model.state_dict())
        model = ASRModel(network, base.tokenizer, base.config, base.path, base.device)
        start = time.perf_counter()
        report, failures, _ = evaluate_manifest(model, args.manifest)
        for failure in failures:
            print(f"skipped: {failure}")
        print(f"| {hop} | {16000 / hop:.1f} | {1000 * network.frame_seconds:.0f} ms | {100 * report.wer.rate:.2f}% "
              f"| {report.wer.errors} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
