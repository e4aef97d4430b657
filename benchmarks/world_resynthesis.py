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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "recipes" / "synthetic"))

import asr  # noqa: E402
from asr.audio import SAMPLE_RATE, load_audio  # noqa: E402
from asr.data import read_manifest  # noqa: E402
from asr.metrics import score  # noqa: E402
from piper_voices import Shape, analyse, shaped, synthesize  # noqa: E402
from voices import voices_by_id  # noqa: E402

SHAPES = {
    "identity": Shape(1.0, 1.0, 1.0),
    "higher (F0 x1.5, formants x1.1)": Shape(1.5, 1.1, 1.0),
    "lower (F0 x0.8, formants x0.93)": Shape(0.8, 0.93, 1.0),
}
SMOOTH_BINS = 25  # the moving average (of 513 CheapTrick bins, ~390 Hz) that the envelope's detail is measured from
World = tuple[np.ndarray, np.ndarray, np.ndarray]  # F0, spectral envelope, aperiodicity


def _detail(envelope: np.ndarray, gain: float) -> np.ndarray:
    """The log envelope's departure from its moving average, times ``gain``: > 1 sharper peaks, < 1 flatter."""
    log = np.log(envelope)
    kernel = np.ones(SMOOTH_BINS) / SMOOTH_BINS
    smooth = np.stack([np.convolve(np.pad(row, SMOOTH_BINS // 2, mode="edge"), kernel, "valid") for row in log])
    return np.exp(smooth + gain * (log - smooth))


def _flatter_f0(f0: np.ndarray) -> np.ndarray:
    """The voiced frames' log F0 pulled to its mean: 30% of the spread kept."""
    voiced = f0 > 0
    if not voiced.any():
        return f0
    mean = np.exp(np.mean(np.log(f0[voiced])))
    out = f0.copy()
    out[voiced] = mean * (f0[voiced] / mean) ** 0.3
    return out


def _tilt(envelope: np.ndarray, db_at_nyquist: float) -> np.ndarray:
    """A gain rising linearly in dB from 0 at 0 Hz to ``db_at_nyquist`` (power envelope)."""
    return envelope * 10 ** (np.linspace(0, db_at_nyquist, envelope.shape[1]) / 10)


EDITS = {
    "buzzier (aperiodicity squared)": lambda f0, env, ap: (f0, env, ap**2),
    "breathier (square root of aperiodicity)": lambda f0, env, ap: (f0, env, np.sqrt(ap)),
    "sharper envelope (detail x1.6)": lambda f0, env, ap: (f0, _detail(env, 1.6), ap),
    "smoother envelope (detail x0.5)": lambda f0, env, ap: (f0, _detail(env, 0.5), ap),
    "flatter intonation (30% of the F0 spread)": lambda f0, env, ap: (_flatter_f0(f0), env, ap),
    "brighter (+12 dB at 8 kHz)": lambda f0, env, ap: (f0, _tilt(env, 12.0), ap),
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
    analyses: list[World] = [analyse(w, SAMPLE_RATE) for w in waves]  # once per wave: harvest is the slow part
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
