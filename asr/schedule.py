"""Learning-rate schedules: linear warm-up, then cosine, inverse square root or constant (TrainConfig.lr_schedule),
by optimizer step or, with a time budget, by the fraction of it spent."""

from __future__ import annotations

import math

from .config import TrainConfig

__all__ = ["lr_at"]


def lr_at(step: int, cfg: TrainConfig, total_steps: int, budget_spent: float | None = None) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warm-up, then the chosen decay.

    With ``budget_spent`` (the fraction of ``time_budget_minutes`` used so far) the cosine decays over the
    time budget instead: the warm-up ramp times the cosine of the spent fraction, so that the rate reaches
    its floor as the time runs out whatever the speed of the machine.
    """
    warmup = max(cfg.warmup_steps, 1)
    ramp = min(1.0, (step + 1) / warmup)
    if budget_spent is not None and cfg.lr_schedule == "cosine":
        return cfg.lr * ramp * _cosine(min(1.0, budget_spent), cfg.min_lr_ratio)
    if step < warmup:
        return cfg.lr * ramp
    if cfg.lr_schedule == "inverse_sqrt":
        return cfg.lr * math.sqrt(warmup / (step + 1))
    if cfg.lr_schedule == "cosine":
        return cfg.lr * _cosine(min(1.0, (step - warmup) / max(1, total_steps - warmup)), cfg.min_lr_ratio)
    return cfg.lr


def _cosine(progress: float, floor: float) -> float:
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
