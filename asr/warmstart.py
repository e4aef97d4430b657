"""Warm starts: a trained model's weights carried into a changed network (deeper, another vocabulary, streaming).

Each function returns or fills a model that computes what the trained one computes, or as near to it as the
change allows, so fine-tuning starts from what was learned instead of from scratch.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .errors import ConfigError
from .model import CTCModel, ModelConfig
from .tokenizer import BLANK

__all__ = ["grow", "with_vocabulary", "to_streaming"]


def grow(model: CTCModel, other: CTCModel) -> list[int]:
    """Give ``model`` the weights of ``other``, a shallower model with otherwise the same network, and fill the extra
    encoder blocks with identity blocks, so the deeper ``model`` starts out computing exactly what ``other``
    computes (depth growth for warm-starting a larger model from a trained one).

    ``other``'s blocks keep their order, spread evenly through the deeper stack (6 into 12: positions 0,
    2, ..., 10); each new block gets fresh weights with the last layer of every residual branch zeroed
    (the blocks are pre-norm with no LayerNorm after the sum, so such a block passes its input through
    unchanged, while its gradients are not zero). ``model`` may read features at another hop: no weight
    depends on it, so a grown model can also be re-taught at a new frame rate. Returns the positions of
    ``other``'s blocks.
    """

    def shapes(cfg: ModelConfig) -> dict:  # the network's fields other than its depth and its feature hop
        return {k: v for k, v in cfg.to_dict().items() if k not in ("n_layers", "hop_length")}

    mine, theirs = shapes(model.cfg), shapes(other.cfg)
    old, new = other.cfg.n_layers, model.cfg.n_layers
    if mine != theirs or old > new:
        diff = sorted(k for k in mine if mine[k] != theirs.get(k))
        raise ConfigError(
            f"cannot grow a {old}-block model into a {new}-block one"
            + (f" with a different {', '.join(diff)}" if diff else "")
        )
    positions = [i * new // old for i in range(old)]
    state = {}
    for key, value in other.state_dict().items():
        if key.startswith("encoder.blocks."):
            _, _, index, rest = key.split(".", 3)
            key = f"encoder.blocks.{positions[int(index)]}.{rest}"
        state[key] = value
    for index, block in enumerate(model.encoder.blocks):
        if index not in positions:
            for layer in block.residual_outputs():
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            state.update({f"encoder.blocks.{index}.{k}": v for k, v in block.state_dict().items()})
    model.load_state_dict(state)
    return positions


def with_vocabulary(model: CTCModel, old_names: list[str], new_names: list[str]) -> CTCModel:
    """A copy of ``model`` for another vocabulary (token names as ``Tokenizer.token_names()`` gives them,
    the model's first): the same encoder, an output layer of ``len(new_names)`` rows.

    Each new row (weight and bias) starts as the mean of the old rows of the old tokens that spell it,
    matched longest first (BPE "\u2581THE" from "\u2581TH" + "E"; a word-start mark and a character
    tokenizer's "|" both stand for a space), the blank's row as the old blank's: a warm start, so the
    frames that emitted a token's pieces lean towards the token from the first step. A name no old
    tokens spell starts from the mean of all old rows.
    """
    if len(old_names) != model.cfg.vocab_size:
        raise ConfigError(
            f"the model has {model.cfg.vocab_size} output rows, the old vocabulary {len(old_names)} names"
        )
    surface = [n if i == BLANK else _surface(n) for i, n in enumerate(old_names)]
    index = {name: i for i, name in enumerate(surface)}
    longest = max(len(n) for n in surface)
    weight, bias = model.head.weight.detach(), model.head.bias.detach()
    new = CTCModel(dataclasses.replace(model.cfg, vocab_size=len(new_names)))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    rows, biases = [], []
    for i, name in enumerate(new_names):
        parts = [BLANK] if i == BLANK else _spell(_surface(name), index, longest)
        parts = parts or list(range(1, len(old_names)))
        rows.append(weight[parts].mean(dim=0))
        biases.append(bias[parts].mean())
    state["head.weight"], state["head.bias"] = torch.stack(rows), torch.stack(biases)
    new.load_state_dict(state)
    return new.train(model.training)


def to_streaming(model: CTCModel) -> CTCModel:
    """A streaming copy of a trained full-context model, to be fine-tuned with chunk masks.

    The weights stay as they are. Left-padded, each subsampling layer computes what it computed one or two
    input frames later, a small constant delay; the encoder is unchanged (chunks limit it only when asked).
    The front end's stored normalization statistics start at zero mean and unit variance: set them from
    training audio (``LogMel.set_prior``) before fine-tuning.
    """
    if model.cfg.streaming:
        return model
    new = CTCModel(dataclasses.replace(model.cfg, streaming=True))
    state = {**model.state_dict(), **{k: v for k, v in new.state_dict().items() if k.startswith("frontend.prior_")}}
    new.load_state_dict(state)
    return new.train(model.training)


def _surface(name: str) -> str:
    """A token name as the text it stands for: BPE's word-start mark and a character tokenizer's "|" are spaces."""
    return name.replace("\u2581", " ").replace("|", " ")


def _spell(text: str, index: dict[str, int], longest: int) -> list[int]:
    """``text`` as the ids of names in ``index``, longest match first; [] where some part has no name."""
    ids, start = [], 0
    while start < len(text):
        for end in range(min(len(text), start + longest), start, -1):
            if text[start:end] in index and index[text[start:end]] != BLANK:
                ids.append(index[text[start:end]])
                start = end
                break
        else:
            return []
    return ids
