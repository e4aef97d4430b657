"""Edits of a WORLD analysis (F0, spectral envelope, aperiodicity) that change one property of a voice:
benchmarks/world_resynthesis.py --edits measures how each moves the model's WER on re-synthesized speech."""

from __future__ import annotations

import numpy as np

__all__ = ["SMOOTH_BINS", "detail", "flatter_f0", "tilt", "EDITS"]

SMOOTH_BINS = 25  # the moving average (of 513 CheapTrick bins, ~390 Hz) that the envelope's detail is measured from


def detail(envelope: np.ndarray, gain: float) -> np.ndarray:
    """The log envelope's departure from its moving average, times ``gain``: > 1 sharper peaks, < 1 flatter."""
    log = np.log(envelope)
    kernel = np.ones(SMOOTH_BINS) / SMOOTH_BINS
    smooth = np.stack([np.convolve(np.pad(row, SMOOTH_BINS // 2, mode="edge"), kernel, "valid") for row in log])
    return np.exp(smooth + gain * (log - smooth))


def flatter_f0(f0: np.ndarray) -> np.ndarray:
    """The voiced frames' log F0 pulled to its mean: 30% of the spread kept."""
    voiced = f0 > 0
    if not voiced.any():
        return f0
    mean = np.exp(np.mean(np.log(f0[voiced])))
    out = f0.copy()
    out[voiced] = mean * (f0[voiced] / mean) ** 0.3
    return out


def tilt(envelope: np.ndarray, db_at_nyquist: float) -> np.ndarray:
    """A gain rising linearly in dB from 0 at 0 Hz to ``db_at_nyquist`` (power envelope)."""
    return envelope * 10 ** (np.linspace(0, db_at_nyquist, envelope.shape[1]) / 10)


EDITS = {
    "buzzier (aperiodicity squared)": lambda f0, env, ap: (f0, env, ap**2),
    "breathier (square root of aperiodicity)": lambda f0, env, ap: (f0, env, np.sqrt(ap)),
    "sharper envelope (detail x1.6)": lambda f0, env, ap: (f0, detail(env, 1.6), ap),
    "smoother envelope (detail x0.5)": lambda f0, env, ap: (f0, detail(env, 0.5), ap),
    "flatter intonation (30% of the F0 spread)": lambda f0, env, ap: (flatter_f0(f0), env, ap),
    "brighter (+12 dB at 8 kHz)": lambda f0, env, ap: (f0, tilt(env, 12.0), ap),
}
