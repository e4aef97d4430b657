"""Dropout that is cheap on the CPU.

``nn.Dropout`` draws one random number per element (a Bernoulli mask); on the CPU that costs more than a
matrix product with the same tensor. At the low rates used here (0.05-0.1) the mask is
drawn from the dropped elements instead: their number is Poisson with mean ``-n ln(1 - p)``, each placed
uniformly at random (repeats allowed). By Poisson splitting, every element is then dropped independently with
probability exactly ``p``, as with Bernoulli draws, from about ``p n`` random numbers instead of ``n``. The
draws come from torch's global generator, so seeding and a resumed run's RNG state fix the masks as before.

On other devices (a GPU draws its mask in a fused kernel) and at rates above :data:`SPARSE_MAX_P`, where the
dropped elements are no longer few, it is torch's dropout. What it saves a training step on 2 cores:
benchmarks/RESULTS.md, training throughput.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Dropout", "dropout", "SPARSE_MAX_P"]

SPARSE_MAX_P = 0.3


class _SparseDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        count = x.numel()
        dropped = int(torch.poisson(torch.tensor(-math.log1p(-p) * count, dtype=torch.float64)))
        scale = torch.full(x.shape, 1.0 / (1.0 - p), dtype=x.dtype, device=x.device)
        scale.view(-1)[torch.randint(count, (dropped,), device=x.device)] = 0.0
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (scale,) = ctx.saved_tensors
        return grad * scale, None


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``nn.functional.dropout(x, p, training)``, the mask drawn sparsely on the CPU at rates up to
    :data:`SPARSE_MAX_P`."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p > SPARSE_MAX_P or x.numel() == 0:
        return nn.functional.dropout(x, p, True)
    return _SparseDropout.apply(x, p)


class Dropout(nn.Module):
    """``nn.Dropout(p)`` with the same behaviour (each element zeroed with probability ``p`` in training, the
    rest scaled by ``1 / (1 - p)``; the identity in eval mode), its mask drawn sparsely on the CPU."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
