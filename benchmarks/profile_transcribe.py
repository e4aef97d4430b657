"""Where `transcribe` spends its time, stage by stage: reading + segmenting (decode the file, cut at
pauses, trim, resample), log-mel front end, strided-conv subsampling, encoder, CTC head, decoding (greedy
or beam search + LM), and the rest (batching, text, stitching).

One `model.transcribe(path)` call runs under cProfile after a warm-up; each stage's time is the cumulative
time of the function that owns it (so the stages add up to the call's total, and "rest" is what no stage
owns). cProfile adds a little overhead per Python call; the network's work is in C++ and is not slowed.
The file is built from held-out synthetic test utterances like benchmarks/long_audio.py.

Usage: python benchmarks/profile_transcribe.py [--minutes 10] [--threads 2] [--lm]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

import torch

from long_audio import build

import asr

# stage -> (file suffix, function name) of the function whose cumulative time is the stage's
STAGES = {
    "read + segment": ("asr/transcribe.py", "_pieces"),
    "log-mel front end": ("asr/features.py", "forward"),
    "subsampling": ("asr/subsampling.py", "forward"),
    "encoder": ("asr/encoder.py", "forward"),
    "network total": ("asr/model.py", "forward"),
    "greedy decoding": ("asr/decoding.py", "greedy_decode"),
    "beam search": ("asr/decoding.py", "__call__"),
}


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of ``name`` defined in a file ending with ``suffix``; where several functions
    match (every module's ``forward``), the outermost one, whose time includes the others'."""
    found = [v[3] for (file, _, func), v in stats.stats.items() if file.endswith(suffix) and func == name]
    return max(found, default=0.0)


def profile(model, path: Path, lm: bool) -> tuple[float, dict[str, float]]:
    model.transcribe(path, lm=lm)  # warm-up: decoder construction, allocator, caches
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    model.transcribe(path, lm=lm)
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    raw = {stage: cumulative(stats, *where) for stage, where in STAGES.items()}
    out = {
        "read + segment": raw["read + segment"],
        "log-mel front end": raw["log-mel front end"],
        "subsampling": raw["subsampling"],
        "encoder": raw["encoder"],
        "CTC head + log-softmax": raw["network total"] - raw["log-mel front end"] - raw["subsampling"] - raw["encoder"],
        "decoding": raw["greedy decoding"] + raw["beam search"],
    }
    out["rest (batching, text, stitching)"] = total - sum(out.values())
    return total, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--manifest", type=Path, default=Path("data/synthetic/test.jsonl"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lm", action="store_true", help="beam search with the model's LM instead of greedy")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.flac"
        seconds = build(args.manifest, args.minutes, path)
        total, stages = profile(model, path, args.lm)
    print(
        f"| stage | seconds | share |   ({seconds / 60:.1f} min file, {args.threads} threads, "
        f"{'beam+LM' if args.lm else 'greedy'}; RTF {total / seconds:.4f})"
    )
    print("|---|---:|---:|")
    for stage, value in stages.items():
        print(f"| {stage} | {value:.3f} | {100 * value / total:.1f}% |")
    print(f"| total | {total:.3f} | 100% |")


if __name__ == "__main__":
    main()
