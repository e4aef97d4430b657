"""Test-time vocal tract length normalization: the network runs once per warp factor of its filterbank (warped
as VTLP warps it in training, asr.features.vtlp_filterbank), and each wave keeps the log-probs of the factor
whose greedy path is most confident (highest mean best log-prob per frame), so that a voice unlike the training
voices is moved towards them. Frame counts do not depend on the factor. Cost: one network pass per factor.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch

from .errors import ModelError, is_real
from .features import lengths_to_mask
from .model import CTCModel

__all__ = ["VTLN_FACTORS", "vtln_factors", "vtln_encode"]

# Warp factors ``vtln=True`` tries: 1.0 (no warp) first, so that it wins ties. The range is VTLP's in training
# (model.vtlp) and a bit beyond.
VTLN_FACTORS = (1.0, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2)


def vtln_factors(vtln: bool | Sequence[float] | None) -> tuple[float, ...]:
    """``vtln`` as the factors to try: () for None/False, :data:`VTLN_FACTORS` for True, else the given ones."""
    if vtln is None or vtln is False:
        return ()
    if vtln is True:
        return VTLN_FACTORS
    if isinstance(vtln, (str, bytes)) or not isinstance(vtln, Iterable):
        raise ModelError(f"vtln: expected True or a list of warp factors, got {vtln!r}")
    factors = tuple(vtln)
    if not factors or not all(is_real(f) and 0.5 <= f <= 2.0 for f in factors):
        raise ModelError(f"vtln: warp factors must be between 0.5 and 2.0, got {list(vtln)}")
    return tuple(float(f) for f in factors)


def vtln_encode(
    model: CTCModel,
    batch: torch.Tensor,
    lengths: torch.Tensor,
    factors: Sequence[float],
    chunk: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded waves (B, S) + sample counts -> the most confident factor's CTC log-probs (B, T', V) per wave
    and frame counts. ``chunk``: a streaming model's chunk mask, as for the model itself."""
    best, best_confidence = None, None
    for factor in factors:
        warp = None if factor == 1.0 else torch.full((batch.shape[0],), factor, device=batch.device)
        log_probs, frames = model(batch, lengths, warp, chunk=chunk)
        valid = lengths_to_mask(frames, log_probs.shape[1])
        confidence = (log_probs.max(dim=-1).values * valid).sum(dim=1) / frames.clamp_min(1)  # (B,)
        if best is None:
            best, best_confidence = log_probs, confidence
        else:
            better = confidence > best_confidence
            best = torch.where(better[:, None, None], log_probs, best)
            best_confidence = torch.maximum(best_confidence, confidence)
    return best, frames
