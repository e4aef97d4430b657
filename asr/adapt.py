"""Test-time adaptation: each segment moves the network a few steps towards confident output before decoding.

A model that learned from synthetic voices meets a human voice as a shifted input: its output over the
words spreads out. Per segment, a few Adam steps lower the entropy of the network's own output
(softened by a temperature) on the frames whose best token is not blank, updating only the LayerNorms
and the subsampling convolutions. The segment is then encoded with the adapted weights, decoded as usual,
and the adapted weights are dropped: no segment's adaptation reaches the next. No transcript is used. The
segments of a batch adapt in one batched pass per step, each with its own weights.

The idea is SUTA's (Lin et al., 2022, "Listen, Adapt, Better WER: Source-free Single-utterance Test-time
Adaptation for ASR"), its entropy term alone; the steps, step size and temperature were chosen on LJSpeech
dev and the synthetic dev set (recipes/synthetic/RESULTS.md). Cost: ``steps`` forward and backward passes per batch
(at 10 steps about 25-30x the time of greedy decoding on 2 CPU threads: benchmarks/adaptation.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, vmap

from .errors import ModelError
from .features import lengths_to_mask
from .model import CTCModel

__all__ = ["Adaptation", "adaptable_parameters", "adapt_and_encode"]


@dataclass(frozen=True)
class Adaptation:
    """How each segment adapts: Adam ``steps`` at learning rate ``lr`` on the entropy of the output at
    ``temperature``."""

    steps: int = 10
    lr: float = 1e-3
    temperature: float = 2.5

    def __post_init__(self):
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ModelError(f"adapt: steps must be a whole number of at least 1, got {self.steps!r}")
        if not self.lr > 0 or not self.temperature > 0:
            raise ModelError(f"adapt: lr and temperature must be positive, got {self.lr} and {self.temperature}")


def adaptable_parameters(net: CTCModel) -> dict[str, nn.Parameter]:
    """What adaptation updates, by name: every LayerNorm's scale and shift, and the subsampling convolutions."""
    norms = {id(p) for m in net.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    return {name: p for name, p in net.named_parameters() if name.startswith("subsampling.") or id(p) in norms}


def _entropy(log_probs: torch.Tensor, frames: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean entropy per frame of one segment's (T, V) output softened by ``temperature``, over its first
    ``frames`` frames whose best token is not blank (all of them when every one is blank; 0 for none)."""
    valid = torch.arange(log_probs.shape[0], device=log_probs.device) < frames
    speech = valid & (log_probs.argmax(dim=-1) != 0)
    weight = torch.where(speech.any(), speech, valid).to(log_probs.dtype)  # no boolean indexing: vmap runs it
    soft = (log_probs / temperature).log_softmax(dim=-1)
    per_frame = -(soft.exp() * soft).sum(dim=-1)
    return (per_frame * weight).sum() / weight.sum().clamp_min(1)


def adapt_and_encode(
    net: CTCModel,
    waves: list[torch.Tensor],
    adaptation: Adaptation,
    chunk: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each wave (1-D, on the network's device) encoded after its own adaptation -> log-probs (B, T', V),
    zero past each wave's frames, and frame counts. The network's weights are not touched.

    The waves adapt together but apart: each has its own copy of the adapted weights (torch.func.vmap over
    them), and as the loss is the sum of the waves' losses and Adam works element by element, each copy
    moves exactly as it would alone. One batched pass per step instead of one per wave."""
    was_training = net.training
    try:
        net.eval()  # no dropout or masks: the segment as decoding sees it
        with torch.inference_mode(False), torch.enable_grad(), warnings.catch_warnings():
            # vmap runs the few operators it has no batching rule for (stft, CPU attention) wave by wave
            warnings.filterwarnings("ignore", message="There is a performance drop because we have not yet")
            return _adapt_batch(net, waves, adaptation, chunk)
    finally:
        net.train(was_training)


def _adapt_batch(net: CTCModel, waves: list[torch.Tensor], adaptation: Adaptation, chunk) -> tuple:
    x = torch.nn.utils.rnn.pad_sequence([w.detach() for w in waves], batch_first=True)
    lengths = torch.tensor([w.shape[0] for w in waves], device=x.device)
    fixed = {name: p.detach() for name, p in net.named_parameters()}  # no gradient reaches the module's own
    own = {  # per wave, a leaf copy of each adapted weight
        name: p.detach().expand(len(waves), *p.shape).clone().requires_grad_(True)
        for name, p in adaptable_parameters(net).items()
    }

    def encode_one(weights: dict, wave: torch.Tensor, length: torch.Tensor):
        log_probs, frames = functional_call(net, {**fixed, **weights}, (wave[None], length[None]), {"chunk": chunk})
        return log_probs[0], frames[0]

    def loss_one(weights: dict, wave: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        return _entropy(*encode_one(weights, wave, length), adaptation.temperature)

    optimizer = torch.optim.Adam(own.values(), lr=adaptation.lr)
    for _ in range(adaptation.steps):
        loss = vmap(loss_one)(own, x, lengths).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        log_probs, frames = vmap(encode_one)(own, x, lengths)
    keep = lengths_to_mask(frames, log_probs.shape[1])[:, :, None]
    return log_probs * keep.to(log_probs.dtype), frames
