"""Channel realism for training audio: what lies between a speaker and a recognizer's input.

Clean synthesized speech reaches a model as no recording does. ``channel(wave, rng)`` passes a 16 kHz
waveform through a random chain drawn from what real recordings go through:

- a room: reverberation by a synthetic impulse response (RT60 0.15-0.8 s);
- background: white, pink or brown noise, or mains hum with harmonics, at 0-30 dB SNR;
- a microphone: a random smooth frequency response (+-8 dB over log frequency), a high-pass at 50-300 Hz
  and often a low-pass at 3.5-7.5 kHz;
- a line: the telephone band (8 kHz and back, mu-law at 8 bits) or a lossy codec (MP3 or Ogg Vorbis at a
  random quality, through libsndfile);
- a level: -35 to 0 dB of peak level, sometimes driven into clipping; never beyond full scale.

Each stage is drawn independently (``CHANNEL_STAGES`` gives the probabilities), the draws come from the
caller's ``random.Random``, so a training item's chain is reproducible from its seed. ``room_impulse_response``
and ``coloured_noise`` are also the synthetic corpus builder's (recipes/synthetic).
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
import soundfile as sf
import torch
import torchaudio
from scipy.fft import next_fast_len
from scipy.signal import fftconvolve

from .audio import SAMPLE_RATE, resample

__all__ = ["channel", "room_impulse_response", "coloured_noise", "hum", "CHANNEL_STAGES"]

# stage -> probability that an utterance's chain includes it
CHANNEL_STAGES = {"room": 0.35, "noise": 0.5, "microphone": 0.6, "line": 0.35, "level": 0.8}


def room_impulse_response(rng: np.random.Generator, rt60: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Exponentially decaying noise with the given RT60, a direct path first, unit energy."""
    n = max(1, int(rt60 * rate))
    t = np.arange(n) / rate
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    rir[0] = 1.0
    return rir / np.sqrt(np.sum(rir**2))


def coloured_noise(rng: np.random.Generator, n: int, alpha: float | None = None) -> np.ndarray:
    """White (alpha 0), pink (1) or brown (2) noise: white noise shaped by 1/f^alpha in the frequency domain;
    alpha drawn from those three when not given."""
    alpha = float(rng.choice([0.0, 1.0, 2.0])) if alpha is None else alpha
    size = next_fast_len(max(n, 1))  # an FFT of a length with a large prime factor is many times slower
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.maximum(np.fft.rfftfreq(size), 1.0 / size)
    return np.fft.irfft(spectrum / freqs ** (alpha / 2), size)[:n]


def hum(rng: np.random.Generator, n: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mains hum: 50 or 60 Hz and a few harmonics with random amplitudes and phases."""
    base = rng.choice([50.0, 60.0])
    t = np.arange(n) / rate
    return sum(
        rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 8)
    )


def _mix(wave: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    scale = np.sqrt(np.mean(wave**2) / (np.mean(noise**2) * 10 ** (snr_db / 10) + 1e-12))
    return wave + scale * noise


def _response(n: int, rng: np.random.Generator) -> np.ndarray:
    """A microphone-like magnitude response on rfft bins of an n-sample signal."""
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    knots = np.linspace(math.log(60), math.log(SAMPLE_RATE / 2), 8)
    gains_db = rng.uniform(-8, 8, size=len(knots))
    gain = 10 ** (np.interp(np.log(np.maximum(freqs, 1.0)), knots, gains_db) / 20)
    gain /= 1 + (rng.uniform(50, 300) / np.maximum(freqs, 1.0)) ** 4  # high-pass
    if rng.random() < 0.5:
        gain /= 1 + (freqs / rng.uniform(3500, 7500)) ** 8  # low-pass
    return gain


def _microphone(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = next_fast_len(len(wave))
    return np.fft.irfft(np.fft.rfft(wave, size) * _response(size, rng), size)[: len(wave)]


def _telephone(wave: np.ndarray) -> np.ndarray:
    narrow = resample(torch.from_numpy(wave.astype(np.float32)), SAMPLE_RATE, 8000)
    peak = float(narrow.abs().max()) + 1e-9
    coded = torchaudio.functional.mu_law_encoding((narrow / peak).clamp(-1, 1), 256)
    narrow = torchaudio.functional.mu_law_decoding(coded, 256) * peak
    return resample(narrow, 8000, SAMPLE_RATE).numpy().astype(np.float64)[: len(wave)]


def _codec(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Through MP3 or Ogg Vorbis and back. The encoders are C libraries that may refuse an input (libsndfile
    raised an error training once, on an utterance not found again) or abort on NaN (LAME): such an input
    is returned as it is, so one odd utterance never stops a training run."""
    fmt, subtype = [("MP3", "MPEG_LAYER_III"), ("OGG", "VORBIS")][int(rng.integers(2))]
    level = float(rng.uniform(0.3, 1.0))
    if len(wave) < 2 or not np.isfinite(wave).all():
        return wave
    peak = np.abs(wave).max() + 1e-9
    buffer = io.BytesIO()
    try:
        sf.write(
            buffer,
            (wave / peak * 0.9).astype(np.float32),
            SAMPLE_RATE,
            format=fmt,
            subtype=subtype,
            compression_level=level,
        )
        buffer.seek(0)
        decoded, _ = sf.read(buffer, dtype="float64")
    except Exception:  # libsndfile's errors, whatever their class
        return wave
    out = np.zeros_like(wave)
    out[: min(len(wave), len(decoded))] = decoded[: len(wave)]
    return out * peak / 0.9


def channel(wave: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """``wave`` (16 kHz, 1-D) through a random room, noise, microphone, line and level; same length."""
    if wave.numel() < 2:
        return wave
    nrng = np.random.default_rng(rng.getrandbits(63))
    x = wave.double().numpy()
    if rng.random() < CHANNEL_STAGES["room"]:
        x = fftconvolve(x, room_impulse_response(nrng, rng.uniform(0.15, 0.8)))[: len(x)]
    if rng.random() < CHANNEL_STAGES["noise"]:
        noise = hum(nrng, len(x)) if rng.random() < 0.2 else coloured_noise(nrng, len(x))
        x = _mix(x, noise, rng.uniform(0, 30))
    if rng.random() < CHANNEL_STAGES["microphone"]:
        x = _microphone(x, nrng)
    if rng.random() < CHANNEL_STAGES["line"]:
        x = _telephone(x) if rng.random() < 0.5 else _codec(x, nrng)
    if rng.random() < CHANNEL_STAGES["level"]:
        peak = np.abs(x).max() + 1e-9
        drive = 10 ** (rng.uniform(0, 6) / 20) if rng.random() < 0.1 else 1.0  # into clipping, sometimes
        x = np.clip(x / peak * 10 ** (rng.uniform(-35, 0) / 20) * drive, -1.0, 1.0)
    elif np.abs(x).max() > 1.0:  # a recording never exceeds full scale: the recorder's gain was lower
        x = x / np.abs(x).max()
    if not np.isfinite(x).all():  # never hand training a NaN: the utterance as it was
        return wave
    return torch.from_numpy(x).to(wave.dtype)
