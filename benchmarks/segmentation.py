"""How the long-file cutting settings cost accuracy: a file transcribed whole vs its utterances one by one.

The construction of tests/test_long_audio.py (random test sentences, random espeak-ng voices, 0.3-0.9 s
pauses, N minutes; one file per seed). For each (MIN_SEGMENT_SECONDS, EDGE) setting of asr/segment.py the
whole file goes through `model.transcribe` and its WER is compared with `transcribe_batch` on the separate
utterances; the test bounds that difference at 2 points for the shipped settings.

Usage: python benchmarks/segmentation.py [--minutes 10] [--seeds 0 1 2] [--min 2 5] [--edge 0.02 0.05 0.15]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import asr  # noqa: E402
import asr.segment  # noqa: E402
from asr.metrics import score  # noqa: E402
from test_long_audio import known_long_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--min", type=float, nargs="+", default=[2.0, 5.0], help="MIN_SEGMENT_SECONDS values")
    parser.add_argument("--edge", type=float, nargs="+", default=[0.02, 0.05, 0.15], help="EDGE values")
    args = parser.parse_args()
    model = asr.load_model(args.model, device="cpu")
    print("| seed | min s | edge s | segments | WER whole file | WER one by one | difference (points) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            path = Path(tmp) / f"long-{seed}.flac"
            utterances, texts, _ = known_long_file(path, args.minutes * 60, seed)
            one = model.transcribe_batch(utterances, sample_rate=16000)
            separate = score([str(i) for i in range(len(texts))], texts, [t.text for t in one]).wer.rate
            for min_seconds in args.min:
                for edge in args.edge:
                    model.min_segment_seconds, asr.segment.EDGE = min_seconds, edge
                    whole = model.transcribe(path)
                    joined = score(["all"], [" ".join(texts)], [whole.text]).wer.rate
                    print(f"| {seed} | {min_seconds:g} | {edge:g} | {len(whole.segments)} | {100 * joined:.2f}% | "
                          f"{100 * separate:.2f}% | {100 * (joined - separate):+.2f} |", flush=True)


if __name__ == "__main__":
    main()
