"""Real-time factor of transcription on the CPU: backends (PyTorch fp32, PyTorch dynamic int8, ONNX Runtime),
1 and 2 threads, greedy and beam+LM, a 10-second and a 10-minute file; and the cold start of
`asr transcribe` (process start to first output line).

Files are built from held-out synthetic test utterances (data/synthetic/test.jsonl) like
benchmarks/long_audio.py. Each RTF = wall seconds of `model.transcribe(path)` (reading, segmenting,
network, decoding) / audio seconds, best of 3 runs after a warm-up; the model is loaded beforehand.

The cold start is measured greedy (`--no-lm`) and as `asr transcribe` runs by default (with the model's LM
when it has one: the decoder's lexicon and trie are built before the first line). `--cold-start-only` skips
the RTF table.

Usage: python benchmarks/inference_speed.py [--model NAME_OR_DIR] [--cold-start-only]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from long_audio import build

import asr
from asr.export import ONNX_FILE, export_onnx


def rtf(model, path: Path, seconds: float, lm: bool, repeats: int = 3) -> float:
    model.transcribe(path, lm=lm)  # warm-up (decoder construction, caches)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.transcribe(path, lm=lm)
        best = min(best, time.perf_counter() - start)
    return best / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--manifest", type=Path, default=Path("data/synthetic/test.jsonl"))
    parser.add_argument("--cold-start-only", action="store_true", help="only the cold start of `asr transcribe`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = tmp / "model"
        shutil.copytree(asr.load_model(args.model, device="cpu").path, model_dir)
        if not args.cold_start_only:
            export_onnx(asr.load_model(model_dir, device="cpu").model, model_dir / ONNX_FILE)
        files = {}
        for name, minutes in (("10 s", 10 / 60), ("10 min", 10)):
            path = tmp / f"{name.replace(' ', '')}.flac"
            files[name] = (path, build(args.manifest, minutes, path))
        rows = []
        for threads in () if args.cold_start_only else (1, 2):
            torch.set_num_threads(threads)
            for backend, kwargs in (
                ("torch fp32", {}),
                ("torch int8", {"quantize": True}),
                ("onnxruntime", {"backend": "onnx"}),
            ):
                model = asr.load_model(model_dir, device="cpu", **kwargs)
                for decoding, lm in (("greedy", False), ("beam+LM", True)):
                    cells = [
                        f"{rtf(model, path, seconds, lm, repeats=3 if seconds < 60 else 1):.4f}"
                        for path, seconds in files.values()
                    ]
                    rows.append(f"| {threads} | {backend} | {decoding} | " + " | ".join(cells) + " |")
                    print(rows[-1], file=sys.stderr, flush=True)
        short = files["10 s"][0]
        starts = {}
        for name, extra in (("greedy, --no-lm", ["--no-lm"]), ("the default (with the model's LM)", [])):
            starts[name] = []
            for _ in range(3):
                start = time.perf_counter()
                command = [sys.executable, "-m", "asr.cli", "transcribe", "--threads", "2", "--model", str(model_dir)]
                proc = subprocess.Popen([*command, *extra, str(short)], stdout=subprocess.PIPE, text=True)
                proc.stdout.readline()
                starts[name].append(time.perf_counter() - start)
                proc.wait()
    if rows:
        print("| threads | backend | decoding | RTF 10 s file | RTF 10 min file |")
        print("|---:|---|---|---:|---:|")
        print("\n".join(rows))
    for name, times in starts.items():
        print(
            f"\ncold start of `asr transcribe` on the 10 s file, {name} (process start to first output line, "
            f"best of 3): {min(times):.2f} s"
        )


if __name__ == "__main__":
    main()
