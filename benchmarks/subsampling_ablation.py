"""Subsampling ablation, static part: the bundled model's encoder (6 Conformer blocks, d_model 144) behind
2x, 4x, 8x and depthwise-separable 8x strided-conv subsampling: parameters, multiply-accumulates per second
of audio (torch.utils.flop_counter, MACs = FLOPs / 2), model latency for 10 s and 30 s inputs on the CPU
(batch 1, best of 10 after a warm-up), throughput on a batch of 16 x 10 s (how `transcribe` batches the
segments of a long file; best of 5), the share of the batch-16 time spent before the encoder (log-mel +
subsampling: a cost every subsampling pays alike) and peak memory of a 30 s forward pass (a fresh process
per config, ru_maxrss minus the same process's RSS before the forward).

The WER half of the ablation (same training budget per config) is benchmarks/subsampling_wer.py.

Usage: python benchmarks/subsampling_ablation.py [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from asr.model import CTCModel, ModelConfig

CONFIGS = {
    "2x": dict(strides=[2]),
    "4x": dict(strides=[2, 2]),
    "8x": dict(strides=[2, 2, 2]),
    "8x separable": dict(strides=[2, 2, 2], separable=True),
}
BASE = dict(
    vocab_size=257,
    subsampling_kernel=3,
    subsampling_channels=144,
    d_model=144,
    n_layers=6,
    n_heads=4,
    ff_dim=576,
    conv_kernel=15,
    dropout=0.0,
)


def build(name: str) -> CTCModel:
    return CTCModel(ModelConfig(**BASE, **CONFIGS[name])).eval()


def measure(name: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    model = build(name)
    row = {"config": name, "params": model.num_parameters()}
    with torch.inference_mode():
        wave = torch.randn(1, 160000) * 0.1
        counter = FlopCounterMode(display=False)
        with counter:
            model(wave, torch.tensor([160000]))
        row["gmacs_per_audio_s"] = counter.get_total_flops() / 2 / 10 / 1e9
        for seconds in (10, 30):
            wave = torch.randn(1, 16000 * seconds) * 0.1
            lengths = torch.tensor([16000 * seconds])
            row[f"ms_{seconds}s"] = 1000 * _best(lambda: model(wave, lengths), 10)
        wave, lengths = torch.randn(16, 160000) * 0.1, torch.full((16,), 160000)
        row["batch16_s"] = _best(lambda: model(wave, lengths), 5)
        row["front_share"] = _best(lambda: model.subsampling(*model.frontend(wave, lengths)), 5) / row["batch16_s"]
    return row


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(name: str) -> float:
    """MiB the 30 s forward pass adds to the process's peak RSS, in a fresh process."""
    code = (
        "import resource, torch; from subsampling_ablation import build; "
        f"m = build({name!r}); w = torch.randn(1, 480000) * 0.1; torch.set_num_threads(1); "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "torch.inference_mode().__enter__(); m(w, torch.tensor([480000])); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)"
    )
    here = str(Path(__file__).resolve().parent)  # this folder, importable in the fresh process
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for name in CONFIGS:
        row = measure(name, args.threads)
        row["peak_mib_30s"] = peak_memory(name)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(
        f"| subsampling | parameters | GMACs per audio second | latency 10 s (ms) | latency 30 s (ms) | "
        f"batch 16 x 10 s (ms) | of which log-mel + subsampling | forward peak memory 30 s (MiB) |   "
        f"({args.threads} threads)"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['config']} | {r['params']:,} | {r['gmacs_per_audio_s']:.3f} | {r['ms_10s']:.1f} | "
            f"{r['ms_30s']:.1f} | {1000 * r['batch16_s']:.0f} | {100 * r['front_share']:.0f}% | "
            f"{r['peak_mib_30s']:.0f} |"
        )
    four, eight = rows[1], rows[2]
    print(
        f"\n8x vs 4x: {four['ms_10s'] / eight['ms_10s']:.2f}x faster at 10 s, {four['ms_30s'] / eight['ms_30s']:.2f}x "
        f"at 30 s, {four['batch16_s'] / eight['batch16_s']:.2f}x on a batch of 16 x 10 s; "
        f"{four['gmacs_per_audio_s'] / eight['gmacs_per_audio_s']:.2f}x fewer MACs"
    )


if __name__ == "__main__":
    main()
