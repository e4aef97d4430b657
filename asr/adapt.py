"""Test-time adaptation: each segment moves the network a few steps towards confident output before decoding.

A model that learned from synthetic voices meets a human voice as a shifted input: its output over the
words spreads out. Per segment, a few Adam steps lower the entropy of the network's own output
(softened by a temperature) on the frames whose best token is not blank, updating only the LayerNorms
and the subsampling convolutions. The segment is then encoded with the adapted weights, decoded as usual,
and the weights are put back: no segment's adaptation reaches the next. No transcript is used.

The idea is SUTA's (Lin et al., 2022, "Listen, Adapt, Better WER: Source-free Single-utterance Test-time
Adaptation for ASR"), its entropy term alone; the steps, step size and temperature were chosen on LJSpeech
dev and the synthetic dev set (recipes/synthetic/RESULTS.md). Cost: ``steps`` forward and backward passes per segment
(at 10 steps about 40x the time of greedy decoding: benchmarks/adaptation.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .errors import ModelError
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


def adaptable_parameters(net: CTCModel) -> list[nn.Parameter]:
    """What adaptation updates: every LayerNorm's scale and shift, and the subsampling convolutions."""
    norms = [p for m in net.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()]
    return list(net.subsampling.parameters()) + norms


def _entropy(log_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean entropy per frame of one segment's (T, V) output softened by ``temperature``, over the frames
    whose best token is not blank (all frames when every one is blank)."""
    speech = log_probs.argmax(dim=-1) != 0
    if not speech.any():
        speech = torch.ones_like(speech)
    soft = (log_probs[speech] / temperature).log_softmax(dim=-1)
    return -(soft.exp() * soft).sum(dim=-1).mean()


def adapt_and_encode(
    net: CTCModel,
    waves: list[torch.Tensor],
    adaptation: Adaptation,
    chunk: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each wave (1-D, on the network's device) encoded after its own adaptation -> log-probs (B, T', V),
    zero past each wave's frames, and frame counts. The network's weights are the same afterwards."""
    with torch.inference_mode(False), torch.enable_grad():  # callers may run in inference mode
        outputs, frames = _adapt_each(net, waves, adaptation, chunk)
    return torch.nn.utils.rnn.pad_sequence(outputs, batch_first=True), torch.stack(frames)


def _adapt_each(net: CTCModel, waves: list[torch.Tensor], adaptation: Adaptation, chunk) -> tuple[list, list]:
    params = adaptable_parameters(net)
    saved = [p.detach().clone() for p in params]
    trainable = {p: p.requires_grad for p in net.parameters()}
    was_training = net.training
    outputs, frames = [], []
    try:
        net.eval()  # no dropout or masks: the segment as decoding sees it
        chosen = {id(p) for p in params}
        for p in net.parameters():
            p.requires_grad_(id(p) in chosen)
        for wave in waves:
            x = wave.detach().clone()[None]
            length = torch.tensor([x.shape[1]], device=x.device)
            optimizer = torch.optim.Adam(params, lr=adaptation.lr)
            for _ in range(adaptation.steps):
                log_probs, count = net(x, length, chunk=chunk)
                loss = _entropy(log_probs[0, : int(count[0])], adaptation.temperature)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                log_probs, count = net(x, length, chunk=chunk)
                outputs.append(log_probs[0])
                frames.append(count[0])
            _restore(params, saved)  # the next wave starts from the model as loaded
    finally:
        _restore(params, saved)
        for p, flag in trainable.items():
            p.requires_grad_(flag)
        net.train(was_training)
    return outputs, frames


@torch.no_grad()
def _restore(params: list[nn.Parameter], saved: list[torch.Tensor]) -> None:
    for p, original in zip(params, saved):
        p.copy_(original)
