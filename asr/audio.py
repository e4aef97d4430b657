"""Audio input: read any file libsndfile reads, mix to mono, resample, validate.

The model's sample rate lives here, once; every other module imports it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import torch
import torchaudio

from .errors import AudioError

__all__ = ["SAMPLE_RATE", "AudioInput", "load_audio", "load_audio_files", "audio_duration", "resample"]

SAMPLE_RATE = 16000  # Hz; every model in this package consumes 16 kHz mono

AudioInput = Union[str, os.PathLike, np.ndarray, torch.Tensor]


@functools.lru_cache(maxsize=16)
def _resampler(orig_freq: int, new_freq: int) -> torchaudio.transforms.Resample:
    # Building the windowed-sinc kernel costs more than applying it to a short clip: build once per rate pair.
    return torchaudio.transforms.Resample(orig_freq, new_freq)


def resample(wave: torch.Tensor, orig_freq: int, new_freq: int = SAMPLE_RATE) -> torch.Tensor:
    """Resample a 1-D float waveform; a no-op when the rates already match."""
    if orig_freq == new_freq:
        return wave
    with torch.no_grad():
        return _resampler(int(orig_freq), int(new_freq))(wave)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    _check_path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # libsndfile raises several types for unreadable input
        raise AudioError(f"{path}: not a readable audio file ({str(e).strip()})") from None
    return data, rate


def load_audio(
    audio: AudioInput, sample_rate: int | None = None, target_rate: int = SAMPLE_RATE
) -> torch.Tensor:
    """Return float32 mono audio at ``target_rate`` as a 1-D tensor.

    ``audio`` is a path (wav, flac, ogg, mp3: anything libsndfile reads) or an array of samples,
    shaped (samples,) or (samples, channels), in which case ``sample_rate`` is required.
    Raises :class:`AudioError` naming the file for missing, unreadable, empty or non-finite audio.
    """
    if isinstance(audio, (str, os.PathLike)):
        name = str(audio)
        data, rate = _read_file(Path(audio))
        wave = torch.from_numpy(data).mean(dim=1)  # (samples,) mono
    else:
        name = "audio array"
        if sample_rate is None:
            raise AudioError("an audio array needs its sample_rate")
        wave = torch.as_tensor(np.asarray(audio) if not isinstance(audio, torch.Tensor) else audio)
        wave = wave.detach().to("cpu", torch.float32)
        if wave.dim() == 2:
            # (samples, channels) as soundfile gives it; a (channels, samples) array is taken as such too.
            wave = wave.mean(dim=1) if wave.shape[0] >= wave.shape[1] else wave.mean(dim=0)
        elif wave.dim() != 1:
            raise AudioError(f"{name}: expected shape (samples,) or (samples, channels), got {tuple(wave.shape)}")
        rate = int(sample_rate)
    if wave.numel() == 0:
        raise AudioError(f"{name}: contains no samples")
    if not bool(torch.isfinite(wave).all()):
        raise AudioError(f"{name}: contains non-finite samples (NaN or Inf)")
    return resample(wave, rate, target_rate).contiguous()


def load_audio_files(paths: list) -> tuple[list[int], list[torch.Tensor], dict[int, AudioError]]:
    """Load many files, skipping bad ones: (indices loaded, their waves, {index: error} for the rest)."""
    loaded, waves, errors = [], [], {}
    for i, path in enumerate(paths):
        try:
            waves.append(load_audio(path))
            loaded.append(i)
        except AudioError as e:
            errors[i] = e
    return loaded, waves, errors


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds from the file header (no decoding)."""
    _check_path(Path(path))
    try:
        info = sf.info(str(path))
    except Exception as e:
        raise AudioError(f"{path}: not a readable audio file ({str(e).strip()})") from None
    return info.frames / info.samplerate
