"""How the long-file cutting settings cost accuracy: a file transcribed whole vs its utterances one by one.

Two kinds of long file:
- by seed (default): the construction of tests/test_long_audio.py (the test suite's 20 sentences, random
  espeak-ng voices, 0.3-0.9 s pauses, N minutes; one file per seed);
- ``--manifest M``: one file per voice of a corpus manifest (its ``voice`` field), that voice's utterances in
  manifest order with 0.3-0.9 s of silence between them (until N minutes), like a chapter read aloud; on
  the synthetic dev or test set: unseen voices reading unseen books, thousands of distinct sentences.

For each (MIN_SEGMENT_SECONDS, EDGE, SEGMENT_PAD) setting of asr/segment.py each file goes whole through
`model.transcribe` and its WER is compared with `transcribe_batch` on the separate utterances (greedy); the
test suite bounds that difference at 2 points for the shipped settings. ``--trimmed`` adds the utterances one
by one each trimmed as a segment is (asr/segment.py's trim_silence at that EDGE), which tells the cost of the
trimming from that of the cutting. Ends with the WER pooled over all the files per setting (errors over
reference words).

Usage: python benchmarks/segmentation.py [--minutes 10] [--seeds 0 1 2] [--manifest M] [--min 2 5]
       [--edge 0.02 0.05 0.15] [--pad 0.2] [--trimmed] [--model DIR]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
from pathlib import Path
from typing import Iterator

import soundfile as sf
import torch


import asr
import asr.segment
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.metrics import ErrorCounts, score
from asr.testaudio import known_long_file
from voices import voices_by_id

LongFile = tuple[str, Path, list[torch.Tensor], list[str]]  # (name, path, utterances, their texts)


def sentence_errors(texts: list[str], transcripts) -> ErrorCounts:
    """Word errors of one transcript per sentence."""
    return score([str(i) for i in range(len(texts))], texts, [t.text for t in transcripts]).wer


def seed_files(folder: Path, minutes: float, seeds: list[int]) -> Iterator[LongFile]:
    for seed in seeds:
        path = folder / f"long-{seed}.flac"
        utterances, texts, _ = known_long_file(path, minutes * 60, seed)
        yield f"seed {seed}", path, utterances, texts


def manifest_files(folder: Path, manifest: str, minutes: float, seed: int = 0) -> Iterator[LongFile]:
    """One file per voice of ``manifest``: its utterances in order, 0.3-0.9 s of silence after each."""
    voice_of = voices_by_id(Path(manifest))
    by_voice: dict[str, list] = {}
    for item in read_manifest(manifest):
        by_voice.setdefault(voice_of[item.id], []).append(item)
    rng = random.Random(seed)
    for index, (voice, voice_items) in enumerate(by_voice.items()):
        utterances, texts, pieces, total = [], [], [], 0.0
        for item in voice_items:
            if total >= minutes * 60:
                break
            wave = load_audio(item.audio)
            gap = torch.zeros(int(SAMPLE_RATE * rng.uniform(0.3, 0.9)))
            utterances.append(wave)
            texts.append(item.text)
            pieces += [wave, gap]
            total += (wave.numel() + gap.numel()) / SAMPLE_RATE
        path = folder / f"voice-{index}.flac"
        sf.write(path, torch.cat(pieces).numpy(), SAMPLE_RATE)
        yield voice, path, utterances, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        help="length of each file (--manifest: a voice's file ends with the utterance that reaches it)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--manifest", default=None, help="one file per voice of this manifest instead of seeds")
    parser.add_argument("--min", type=float, nargs="+", default=[2.0, 5.0], help="MIN_SEGMENT_SECONDS values")
    parser.add_argument("--edge", type=float, nargs="+", default=[0.02, 0.05, 0.15], help="EDGE values")
    parser.add_argument("--pad", type=float, nargs="+", default=[asr.segment.SEGMENT_PAD], help="SEGMENT_PAD values")
    parser.add_argument("--trimmed", action="store_true", help="also the utterances one by one, each trimmed")
    args = parser.parse_args()
    model = asr.load_model(args.model, device="cpu")
    model.segmenter = "energy"  # the settings measured here are the energy cutter's
    trimmed_head = (" one by one, trimmed |", "---:|") if args.trimmed else ("", "")
    print(
        "| file | min s | edge s | pad s | segments | WER whole file | WER one by one | difference (points) |"
        + trimmed_head[0]
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|" + trimmed_head[1])
    whole_counts: dict[tuple[float, float, float], ErrorCounts] = {}
    trimmed_counts: dict[float, ErrorCounts] = {}
    separate_counts = ErrorCounts()
    with tempfile.TemporaryDirectory() as tmp:
        files = (
            manifest_files(Path(tmp), args.manifest, args.minutes)
            if args.manifest
            else seed_files(Path(tmp), args.minutes, args.seeds)
        )
        for name, path, utterances, texts in files:
            separate = sentence_errors(texts, model.transcribe_batch(utterances, sample_rate=SAMPLE_RATE))
            separate_counts += separate
            trimmed_cells = {}
            for edge in args.edge if args.trimmed else ():
                spans = [asr.segment.trim_silence(u.numpy(), SAMPLE_RATE, edge) for u in utterances]
                trimmed = sentence_errors(
                    texts,
                    model.transcribe_batch([u[a:b] for u, (a, b) in zip(utterances, spans)], sample_rate=SAMPLE_RATE),
                )
                trimmed_counts[edge] = trimmed_counts.get(edge, ErrorCounts()) + trimmed
                trimmed_cells[edge] = f" {100 * trimmed.rate:.2f}% |"
            for setting in itertools.product(args.min, args.edge, args.pad):
                model.min_segment_seconds, model.segment_edge, model.segment_pad = setting
                whole = model.transcribe(path)
                joined = score(["all"], [" ".join(texts)], [whole.text]).wer
                whole_counts[setting] = whole_counts.get(setting, ErrorCounts()) + joined
                cells = " | ".join(f"{x:g}" for x in setting)
                print(
                    f"| {name} | {cells} | {len(whole.segments)} | {100 * joined.rate:.2f}% | "
                    f"{100 * separate.rate:.2f}% | {100 * (joined.rate - separate.rate):+.2f} |"
                    + trimmed_cells.get(setting[1], ""),
                    flush=True,
                )
    print(
        f"\nPooled over the files ({separate_counts.reference_length} words): one by one "
        f"{100 * separate_counts.rate:.2f}% [{separate_counts.errors}]\n"
    )
    print("| min s | edge s | pad s | WER whole files | errors |")
    print("|---:|---:|---:|---:|---:|")
    for setting, counts in whole_counts.items():
        cells = " | ".join(f"{x:g}" for x in setting)
        print(f"| {cells} | {100 * counts.rate:.2f}% | {counts.errors} |")
    for edge, counts in trimmed_counts.items():
        print(f"\nOne by one, each trimmed at edge {edge:g} s: {100 * counts.rate:.2f}% [{counts.errors}]")


if __name__ == "__main__":
    main()
