"""Does WORLD re-synthesis (the neural engine's speaker shapes) keep speech intelligible?

Takes the first N utterances of a manifest, re-synthesizes each with the WORLD vocoder exactly as
``recipes/synthetic/piper_voices.py`` shapes Piper's voice (harvest F0, CheapTrick envelope, D4C
aperiodicity), once per shape, and prints the model's greedy WER on each version beside the original's. A
model that reads the identity shape (nothing changed) about as well as the original says the vocoder keeps
the words; the other shapes say what moving pitch and formants costs a model that never heard such speech.

``--edits`` adds versions that change one other property of the voice in WORLD's analysis: the
aperiodicity (a buzzier or a breathier excitation), the detail of the spectral envelope (sharper or more
smoothed formant peaks), the spread of the F0 contour (flatter intonation) and the spectral tilt. On a voice
the model reads badly (``--voice flite:awb`` on dev), a version read much better points at the property
that makes the voice hard, and so at an augmentation worth training with; none read much better says the
difficulty lies in how the voice realizes the sounds, which no such edit reaches.

Usage:
    python benchmarks/world_resynthesis.py --manifest data/synthetic/test.jsonl [--model DIR] [--n 80]
    python benchmarks/world_resynthesis.py --manifest data/synthetic/dev.jsonl --voice flite:awb --edits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


import asr
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.metrics import score

try:  # the synthetic recipe's own modules: run with PYTHONPATH=recipes/synthetic
    from piper_voices import Shape, analyse, shaped, synthesize
    from world_edits import EDITS
except ImportError as e:
    raise SystemExit(f"{e}: run this benchmark with PYTHONPATH=recipes/synthetic (it uses the recipe's voices)")
from voices import voices_by_id

SHAPES = {
    "identity": Shape(1.0, 1.0, 1.0),
    "higher (F0 x1.5, formants x1.1)": Shape(1.5, 1.1, 1.0),
    "lower (F0 x0.8, formants x0.93)": Shape(0.8, 0.93, 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--model", default=None, help="model directory (default: the bundled default)")
    parser.add_argument("--n", type=int, default=80, help="utterances, from the first")
    parser.add_argument("--voice", default=None, help="only this voice's utterances (the manifest's voice field)")
    parser.add_argument("--edits", action="store_true", help="also the versions of EDITS (aperiodicity, envelope, ...)")
    args = parser.parse_args()
    utts = read_manifest(args.manifest)
    if args.voice:
        voice_of = voices_by_id(args.manifest)
        utts = [u for u in utts if voice_of.get(u.id) == args.voice]
        if not utts:
            sys.exit(f"{args.manifest}: no utterance by voice {args.voice!r}")
    utts = utts[: args.n]
    model = asr.load_model(args.model, device="cpu")
    waves = [load_audio(u.audio).numpy().astype(np.float64) for u in utts]
    analyses = [analyse(w, SAMPLE_RATE) for w in waves]  # (F0, envelope, aperiodicity) once per wave: harvest is slow
    versions = {"original": waves}
    versions.update(
        {
            name: [synthesize(*shaped(*a, shape), SAMPLE_RATE, shape.rate) for a in analyses]
            for name, shape in SHAPES.items()
        }
    )
    if args.edits:
        versions.update({name: [synthesize(*edit(*a), SAMPLE_RATE) for a in analyses] for name, edit in EDITS.items()})
    by = f" by {args.voice}" if args.voice else ""
    print(f"first {len(utts)} utterances{by} of {args.manifest}, greedy\n")
    print("| version | WER | errors | words |\n|---|---:|---:|---:|")
    for name, audio in versions.items():
        hyps = [model.transcribe(w.astype(np.float32), sample_rate=SAMPLE_RATE).text for w in audio]
        report = score([u.id for u in utts], [u.text for u in utts], hyps)
        print(f"| {name} | {100 * report.wer.rate:.2f}% | {report.wer.errors} | {report.wer.reference_length} |")


if __name__ == "__main__":
    main()
