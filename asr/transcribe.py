"""Python inference API: load a model directory and turn audio into a Transcript.

``transcribe`` is a pipeline of named steps: load audio -> batch -> encode -> decode -> format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .audio import SAMPLE_RATE, AudioInput, load_audio
from .checkpoint import load_model_dir
from .decoding import Hypothesis, greedy_decode
from .errors import ModelError
from .model import CTCModel
from .tokenizer import Tokenizer

__all__ = ["Word", "Segment", "Transcript", "ASRModel", "load_model", "available_models", "pretrained_dir"]


@dataclass
class Word:
    word: str
    start: float  # seconds
    end: float


@dataclass
class Segment:
    start: float  # seconds
    end: float
    text: str


@dataclass
class Transcript:
    text: str
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    duration: float = 0.0  # seconds of audio

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "duration": round(self.duration, 3),
            "segments": [vars(s) for s in self.segments],
            "words": [vars(w) for w in self.words],
        }


class ASRModel:
    """A loaded model directory: network, tokenizer and the device they run on."""

    def __init__(self, model: CTCModel, tokenizer: Tokenizer, config: dict, path: Path, device: torch.device):
        self.model, self.tokenizer, self.config, self.path, self.device = model, tokenizer, config, path, device

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def frame_seconds(self) -> float:
        return self.model.frame_seconds

    def transcribe(self, audio: AudioInput, *, sample_rate: int | None = None) -> Transcript:
        """Transcribe one file path, or an array of samples with its ``sample_rate``."""
        return self.transcribe_batch([audio], sample_rate=sample_rate)[0]

    def transcribe_batch(
        self, audios: Sequence[AudioInput], *, sample_rate: int | None = None, batch_size: int = 16
    ) -> list[Transcript]:
        """Transcribe many inputs, batched by similar length for speed; results keep the input order.

        Raises AudioError on the first unreadable input (the CLI loads files one by one instead, to skip
        and report bad ones).
        """
        waves = [load_audio(a, sample_rate) for a in audios]
        order = sorted(range(len(waves)), key=lambda i: waves[i].numel())
        results: list[Transcript | None] = [None] * len(waves)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for i, transcript in zip(chunk, self._transcribe_waves([waves[i] for i in chunk])):
                results[i] = transcript
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def encode(self, waves: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """16 kHz mono waves -> CTC log-probs (B, T', V) and frame counts."""
        lengths = torch.tensor([w.numel() for w in waves], dtype=torch.long)
        batch = torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True)
        return self.model(batch.to(self.device), lengths.to(self.device))

    def _transcribe_waves(self, waves: Sequence[torch.Tensor]) -> list[Transcript]:
        log_probs, lengths = self.encode(waves)
        hyps = greedy_decode(log_probs, lengths)
        return [self._format(h, w.numel() / SAMPLE_RATE) for h, w in zip(hyps, waves)]

    def _format(self, hyp: Hypothesis, duration: float) -> Transcript:
        text = self.tokenizer.decode(hyp.tokens)
        segments = [Segment(0.0, round(duration, 3), text)] if text else []
        return Transcript(text=text, segments=segments, duration=duration)


def pretrained_dir() -> Path:
    """Where bundled models live: $ASR_PRETRAINED_DIR, else ``pretrained/`` beside the package."""
    env = os.environ.get("ASR_PRETRAINED_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "pretrained"


def available_models() -> list[str]:
    """Names of the model directories under :func:`pretrained_dir`."""
    root = pretrained_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def _default_model() -> Path:
    root = pretrained_dir()
    names = available_models()
    if not names:
        raise ModelError(
            f"no pretrained model is installed in {root}; pass a model directory, "
            "e.g. asr.load_model('exp/model') or `asr transcribe --model exp/model FILE`"
        )
    marker = root / "DEFAULT"
    name = marker.read_text().strip() if marker.is_file() else names[0]
    return root / name


def load_model(name_or_path: str | os.PathLike | None = None, device: str | torch.device | None = None) -> ASRModel:
    """Load a bundled model by name, a model directory by path, or (None) the default bundled model."""
    if name_or_path is None:
        path = _default_model()
    elif str(name_or_path) in available_models():
        path = pretrained_dir() / str(name_or_path)
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise ModelError(f"{path}: no such model directory (bundled models: {', '.join(available_models()) or 'none'})")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, tokenizer, config = load_model_dir(path, device)
    return ASRModel(model, tokenizer, config, path, device)
