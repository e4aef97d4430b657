"""Test-time adaptation: each segment moves the network a few steps towards confident output before decoding.

A model that learned from synthetic voices meets a human voice as a shifted input: its output over the
words spreads out. Per segment, a few Adam steps lower the entropy of the network's own output
(softened by a temperature) on the frames whose best token is not blank, updating only the LayerNorms
and the subsampling convolutions. The segment is then encoded with the adapted weights, decoded as usual,
and the adapted weights are dropped: no segment's adaptation reaches the next. No transcript is used. The
segments of a batch adapt in one batched pass per step, each with its own weights.

A network can also adapt once to a speaker (``ASRModel.adapted_to``, ``asr adapt``): one set of the same
weights tuned on many segments of that voice and recording, kept and saved as a model directory, which then
reads that speaker's other audio at plain decoding cost (and can still adapt per segment on top).

The idea is SUTA's (Lin et al., 2022, "Listen, Adapt, Better WER: Source-free Single-utterance Test-time
Adaptation for ASR"), its entropy term alone; the steps, step size and temperature were chosen on LJSpeech
dev and the synthetic dev set (recipes/synthetic/RESULTS.md). Cost: ``steps`` forward and backward passes per batch
(at 10 steps about 25-30x the time of greedy decoding on 2 CPU threads: benchmarks/adaptation.py).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from .errors import ModelError
from .features import lengths_to_mask
from .model import CTCModel

__all__ = [
    "Adaptation",
    "adaptation",
    "SpeakerAdaptation",
    "adaptable_parameters",
    "adapt_and_encode",
    "adapt_to_speaker",
]


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


def adaptation(adapt: bool | int | Adaptation | None) -> Adaptation | None:
    """``adapt`` as settings: None for None/False/0, the defaults for True, that many steps for a number."""
    if adapt is None or adapt is False or adapt == 0:
        return None
    if adapt is True:
        return Adaptation()
    if isinstance(adapt, Adaptation):
        return adapt
    return Adaptation(steps=adapt)


class NoAudioToAdapt(ModelError):
    """Speaker adaptation was given no audio it could use (none readable, or no segment in it)."""


@dataclass(frozen=True)
class SpeakerAdaptation:
    """How a network adapts once to a speaker: Adam steps at learning rate ``lr``, each on the mean output
    entropy (at ``temperature``) of a batch of ``batch_size`` of the speaker's segments, drawn in turn from the
    segments shuffled with ``seed``. ``steps`` fixes the number of steps; by default it is ``passes`` over the
    segments, at most ``max_steps``. Entropy minimization run too long for the audio it has drifts away from
    the words (a few minutes of audio and 100 steps read worse than no adaptation: benchmarks/RESULTS.md),
    so more steps are not safer."""

    steps: int | None = None
    passes: float = 8.0
    max_steps: int = 100
    lr: float = 3e-4
    batch_size: int = 16
    temperature: float = 2.5
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "max_steps", "batch_size"):
            value = getattr(self, name)
            if not (value is None and name == "steps") and not (isinstance(value, int) and value >= 1):
                raise ModelError(f"adapt: {name} must be a whole number of at least 1, got {value!r}")
        if not self.lr > 0 or not self.temperature > 0 or not self.passes > 0:
            given = f"{self.lr}, {self.temperature} and {self.passes}"
            raise ModelError(f"adapt: lr, temperature and passes must be positive, got {given}")

    @property
    def pool_size(self) -> int:
        """The most segments the steps can draw (``steps``, or ``max_steps``, times ``batch_size``): of a
        speaker with more, a uniform sample of this many is all adaptation needs to hold."""
        return (self.steps or self.max_steps) * self.batch_size

    def steps_for(self, segments: int) -> int:
        """Steps for this many segments: ``steps``, or ``passes`` over them (at least 1, at most ``max_steps``)."""
        if self.steps is not None:
            return self.steps
        return max(1, min(self.max_steps, math.ceil(self.passes * segments / self.batch_size)))


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


def _batches(lengths: Sequence[int], size: int, seed: int):
    """Endless batches of indices: each pass over all segments in a new shuffled order, cut into windows of
    4 batches sorted by length so that a batch pads little."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(lengths), generator=generator).tolist()
        for start in range(0, len(order), 4 * size):
            window = sorted(order[start : start + 4 * size], key=lambda i: lengths[i])
            for b in range(0, len(window), size):
                yield window[b : b + size]


def adapt_to_speaker(
    net: CTCModel,
    waves: Sequence[torch.Tensor],
    settings: SpeakerAdaptation,
    chunk: tuple[int, int] | None = None,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """One set of the adaptable weights (:func:`adaptable_parameters`) tuned on all of ``waves`` (1-D, on the
    network's device; the segments of one speaker) -> name: new value. The network is not modified."""
    from tqdm import tqdm

    if not waves:
        raise NoAudioToAdapt("adapt: no audio to adapt to")
    fixed = {name: p.detach() for name, p in net.named_parameters()}
    own = {name: p.detach().clone().requires_grad_(True) for name, p in adaptable_parameters(net).items()}
    optimizer = torch.optim.Adam(own.values(), lr=settings.lr)
    batches = _batches([w.shape[0] for w in waves], settings.batch_size, settings.seed)
    was_training = net.training
    try:
        net.eval()  # no dropout or masks: the segments as decoding sees them
        with torch.inference_mode(False), torch.enable_grad():
            steps = settings.steps_for(len(waves))
            for _ in tqdm(range(steps), desc="adapt", unit="step", disable=None if progress else True):
                batch = [waves[i].detach() for i in next(batches)]
                x = torch.nn.utils.rnn.pad_sequence(batch, batch_first=True)
                lengths = torch.tensor([w.shape[0] for w in batch], device=x.device)
                log_probs, frames = functional_call(net, {**fixed, **own}, (x, lengths), {"chunk": chunk})
                loss = torch.stack([_entropy(lp, n, settings.temperature) for lp, n in zip(log_probs, frames)]).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    finally:
        net.train(was_training)
    return {name: p.detach() for name, p in own.items()}
