"""CTC decoding: greedy best path (beam search and LM decoding build on the same Hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .tokenizer import BLANK

__all__ = ["Hypothesis", "greedy_decode"]


@dataclass
class Hypothesis:
    tokens: list[int]  # token ids, blanks and repeats removed
    frames: list[int]  # encoder frame at which each token is emitted (first frame of its run)


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[Hypothesis]:
    """Best path per utterance: argmax per frame, merge repeats, drop blanks.

    log_probs: (B, T, V); lengths: (B,) valid frames. Frames past an utterance's length are ignored.
    """
    best = log_probs.argmax(dim=-1)  # (B, T)
    prev = torch.nn.functional.pad(best[:, :-1], (1, 0), value=BLANK)
    valid = torch.arange(best.shape[1], device=best.device)[None, :] < lengths[:, None]
    emit = (best != BLANK) & (best != prev) & valid
    hyps = []
    for b in range(best.shape[0]):
        frames = emit[b].nonzero().squeeze(1)
        hyps.append(Hypothesis(best[b, frames].tolist(), frames.tolist()))
    return hyps
