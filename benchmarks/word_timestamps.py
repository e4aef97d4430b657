"""Word timestamp accuracy of a model on words with known boundaries.

The construction of tests/test_timestamps.py, reported instead of bounded: the words of the first N test
sentences (tests/conftest.py) are spoken one by one by espeak-ng with random pauses of 0.2-0.7 s, so every
word's true start and end are known; the file is transcribed with word_timestamps=True and each true word
is matched to the recognized words whose centre lies in its island (half-way to its neighbours). Prints the
median and worst start/end errors, with and without the energy refinement (raw CTC alignment).

Usage: python benchmarks/word_timestamps.py [--model NAME_OR_DIR] [--sentences 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics


import asr
from asr.testaudio import SENTENCES, boundary_errors, raw_word_times, words_with_known_times


def summary(name: str, starts: list[float], ends: list[float], missed: int, total: int) -> str:
    ms = lambda xs: f"median {1000 * statistics.median(xs):.0f} ms, worst {1000 * max(xs):.0f} ms"  # noqa: E731
    return f"{name}: start {ms(starts)}; end {ms(ends)}; {missed} of {total} words unmatched"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundled model name or model folder (default: the default model)")
    parser.add_argument("--sentences", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    words = " ".join(SENTENCES[: args.sentences]).split()
    wave, truth = words_with_known_times(words, seed=args.seed)
    model = asr.load_model(args.model, device="cpu")
    transcript = model.transcribe(wave, sample_rate=16000, word_timestamps=True)
    print(f"{len(truth)} words, {wave.numel() / 16000:.1f} s; recognized: {transcript.text}")
    print(summary("refined (transcribe)", *boundary_errors(truth, transcript.words), len(truth)))
    print(summary("raw CTC alignment", *boundary_errors(truth, raw_word_times(model, wave)), len(truth)))


if __name__ == "__main__":
    main()
