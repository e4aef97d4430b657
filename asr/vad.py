"""Voice activity detection with Silero VAD (MIT; the ONNX weights ship inside the ``silero-vad`` package).

Nothing is downloaded. The network reads 16 kHz audio in frames of 512 samples (32 ms), each with the 64
samples before it, and carries a recurrent state (h, c) from frame to frame; it returns the probability
that the frame holds speech. The package's "sequence" export takes all the frames of a piece in one call
(one call per 32 ms frame cost more than the recognizer itself on long files). :class:`SileroVAD` runs it
on a stream of pieces of any size; :func:`speech_regions` turns the probabilities into speech regions with
hysteresis (speech starts above ``threshold``, ends after ``min_silence`` seconds below ``threshold - 0.15``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .errors import ASRError

__all__ = ["SileroVAD", "speech_regions", "VAD_FRAME", "VadEndpoint"]

VAD_FRAME = 512  # samples per probability at 16 kHz (32 ms)
_CONTEXT = 64  # samples of the previous frame the network sees with each frame
_MODEL_FILE = "silero_vad_16k_sequence.onnx"  # the 16 kHz network taking many frames per call


def _model_path() -> Path:
    spec = importlib.util.find_spec("silero_vad")  # located, not imported: only its data file is used
    if spec is None or not spec.submodule_search_locations:
        raise ASRError("the silero-vad package is missing (a dependency of asr): pip install silero-vad")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / _MODEL_FILE
        if path.is_file():
            return path
    raise ASRError(f"the silero-vad package has no data/{_MODEL_FILE}; reinstall it (pip install silero-vad)")


class SileroVAD:
    """Speech probability per 32 ms frame of a 16 kHz stream; ``probs(piece)`` takes pieces of any size."""

    frame_seconds = VAD_FRAME / SAMPLE_RATE

    def __init__(self, threads: int = 1):
        try:
            import onnxruntime
        except ImportError:
            raise ASRError("onnxruntime is missing (a dependency of asr): pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(_model_path()), options, providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def probs(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities of the whole frames completed by ``samples`` (16 kHz mono float)."""
        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        count = len(self._pending) // VAD_FRAME
        if not count:
            return np.zeros(0, dtype=np.float32)
        frames = self._pending[: count * VAD_FRAME].reshape(count, VAD_FRAME)
        context = np.concatenate([self._context[None], frames[:-1, -_CONTEXT:]])
        out, self._h, self._c = self.session.run(
            None, {"input": np.concatenate([context, frames], axis=1), "h": self._h, "c": self._c}
        )
        self._context = frames[-1, -_CONTEXT:].copy()
        self._pending = self._pending[count * VAD_FRAME :]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def regions(self, wave: np.ndarray, **rules) -> list[tuple[float, float]]:
        """Speech regions (start, end seconds) of a whole 16 kHz wave; ``rules`` as :func:`speech_regions`."""
        self.reset()
        probs = self.probs(np.concatenate([wave, np.zeros(-len(wave) % VAD_FRAME, dtype=np.float32)]))
        self.reset()
        return speech_regions(probs, self.frame_seconds, **rules)


def speech_regions(
    probs: np.ndarray,
    frame_seconds: float,
    threshold: float = 0.5,
    min_speech: float = 0.25,
    min_silence: float = 0.3,
    pad: float = 0.05,
) -> list[tuple[float, float]]:
    """(start, end) seconds of speech: a region starts at a frame above ``threshold`` and ends once
    ``min_silence`` seconds stayed below ``threshold - 0.15``; regions shorter than ``min_speech`` are
    dropped, the rest widened by ``pad`` on each side (clipped to the audio and to each other)."""
    low = threshold - 0.15
    regions, start, quiet = [], None, 0
    need_quiet = max(1, round(min_silence / frame_seconds))
    for i, p in enumerate(probs):
        if start is None:
            if p >= threshold:
                start, quiet = i, 0
        elif p < low:
            quiet += 1
            if quiet >= need_quiet:
                regions.append((start, i - quiet + 1))
                start = None
        else:
            quiet = 0
    if start is not None:
        regions.append((start, len(probs) - quiet))
    total = len(probs) * frame_seconds
    out: list[tuple[float, float]] = []
    for a, b in regions:
        if (b - a) * frame_seconds < min_speech:
            continue
        lo, hi = max(a * frame_seconds - pad, out[-1][1] if out else 0.0), min(b * frame_seconds + pad, total)
        out.append((round(lo, 3), round(hi, 3)))
    return out


class VadEndpoint:
    """Endpointing on a trained detector: a segment ends ``after_speech`` seconds after the detector last
    heard speech (``max_segment`` seconds at most); a segment in which it heard no speech gives no words."""

    def __init__(
        self, after_speech: float = 0.5, max_segment: float = 20.0, threshold: float = 0.5, vad: SileroVAD | None = None
    ):
        self.after_speech, self.max_segment, self.threshold = after_speech, max_segment, threshold
        self.vad = vad or SileroVAD()
        self.new_segment()

    def new_segment(self) -> None:
        self.speech_frames = 0  # frames above the threshold in this segment
        self.quiet_frames = 0  # frames below threshold - 0.15 since the last speech
        self.frames = 0

    @property
    def heard_speech(self) -> bool:
        return self.speech_frames * self.vad.frame_seconds >= 0.1

    def feed(self, samples: np.ndarray) -> None:
        for p in self.vad.probs(samples):
            self.frames += 1
            if p >= self.threshold:
                self.speech_frames += 1
                self.quiet_frames = 0
            elif p < self.threshold - 0.15:
                self.quiet_frames += 1

    def reached(self, stream=None) -> bool:
        seconds = self.frames * self.vad.frame_seconds
        quiet = self.quiet_frames * self.vad.frame_seconds
        return seconds >= self.max_segment or (self.heard_speech and quiet >= self.after_speech)
