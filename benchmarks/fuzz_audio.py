"""Fuzz `asr transcribe` with damaged audio: thousands of cases, each with a time limit, crashes caught.

Cases come from asr.fuzzing (random bytes, corrupted headers, truncations, byte flips, repeated or dropped
blocks over WAV/FLAC/Ogg/MP3 encodings of the bundled examples). A worker process loads the model once and
transcribes case after case; the parent watches it: a case still running after --limit seconds is a hang
(the worker is killed and a new one goes on from the next case), a worker that dies is a crash, and any
exception other than AudioError is a traceback. Ends with a summary table (outcome x kind).

Usage:
    python benchmarks/fuzz_audio.py [--cases 10000] [--seed 0] [--limit 10] [--out FILE.md] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import soundfile as sf

from asr.fuzzing import KINDS, cases
from asr.loading import pretrained_dir

WORKER = r"""
import json, sys, warnings
import asr
from asr.errors import AudioError
warnings.simplefilter("ignore")
model = asr.load_model(device="cpu")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    path = line.strip()
    try:
        model.transcribe(path)
        outcome = "transcript"
    except AudioError:
        outcome = "AudioError"
    except BaseException as e:
        outcome = "traceback: " + type(e).__name__ + ": " + str(e).splitlines()[0][:200] if str(e) else type(e).__name__
    print(json.dumps({"path": path, "outcome": outcome}), flush=True)
"""


class Worker:
    def __init__(self, threads: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)},
        )
        assert json.loads(self.proc.stdout.readline())["ready"]

    def run(self, path: str, limit: float) -> str:
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=limit):
            self.proc.kill()
            self.proc.wait()
            return "hang"
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            return f"crash (exit {self.proc.returncode})"
        return json.loads(line)["outcome"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.alive():
            self.proc.stdin.close()
            self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=10.0, help="seconds a case may take")
    parser.add_argument("--out", type=Path, default=None, help="also write the summary here (markdown)")
    parser.add_argument("--keep", type=Path, default=None, help="copy every case that hung, crashed or raised here")
    args = parser.parse_args()
    examples = pretrained_dir() / "conformer-ctc-synthetic" / "examples"
    seeds = [sf.read(p, dtype="float32") for p in sorted(examples.glob("example-*.flac"))[:3]]
    table: Counter = Counter()
    bad: list[str] = []
    started = time.perf_counter()
    worker = Worker(threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, data) in enumerate(cases(seeds, args.cases, args.seed)):
            path = Path(tmp) / name
            path.write_bytes(data)
            outcome = worker.run(str(path), args.limit)
            kind = name.split("-")[1].split(".")[0]
            table[
                (outcome if outcome in ("transcript", "AudioError") else outcome.split(":")[0].split(" ")[0], kind)
            ] += 1
            if outcome not in ("transcript", "AudioError"):
                bad.append(f"{name}: {outcome}")
                if args.keep:  # the damaged file itself, to reproduce
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / name).write_bytes(data)
            if not worker.alive():
                worker = Worker(threads=1)
            path.unlink()
            if (i + 1) % 500 == 0:
                print(f"{i + 1} cases, {time.perf_counter() - started:.0f} s, {len(bad)} bad", flush=True)
    worker.close()
    outcomes = sorted({o for o, _ in table})
    lines = [
        f"{args.cases} cases (seed {args.seed}), {args.limit:.0f} s limit each, "
        f"{time.perf_counter() - started:.0f} s in all",
        "",
        "| outcome | " + " | ".join(KINDS) + " | all |",
        "|---|" + "---:|" * (len(KINDS) + 1),
    ]
    for o in outcomes:
        counts = [table[(o, k)] for k in KINDS]
        lines.append(f"| {o} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    report = "\n".join(lines) + "\n" + "".join(f"\n- {b}" for b in bad[:50])
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
