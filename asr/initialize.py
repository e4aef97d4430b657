"""Where a training run starts: its tokenizer (the experiment's own on a resume, ``init_from``'s, or a new one),
a trained model's weights (``init_from``: fine-tuning, continuing with a new schedule, or a warm start into a
deeper, re-vocabularied or streaming network, asr.warmstart) and, for a streaming network, the feature
statistics its causal normalization starts from."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Callable

import torch

from .audio import load_audio
from .checkpoint import load_model_dir, read_model_config
from .config import TrainConfig
from .errors import AudioError, ConfigError
from .model import CTCModel
from .tokenizer import CharTokenizer, Tokenizer, load_tokenizer, train_bpe
from .warmstart import grow, to_streaming, with_vocabulary

__all__ = ["load_exp_tokenizer", "prepare_tokenizer", "init_from", "has_feature_prior", "set_feature_prior"]


def load_exp_tokenizer(out_dir: Path) -> Tokenizer:
    """The tokenizer an experiment folder holds (``OUT_DIR/tokenizer``, written by :func:`prepare_tokenizer`)."""
    folder = Path(out_dir) / "tokenizer"
    return load_tokenizer(json.loads((folder / "tokenizer.json").read_text()), folder)


def prepare_tokenizer(cfg: TrainConfig, out: Path, texts: list[str]) -> Tokenizer:
    """Load the experiment's tokenizer if it exists (resume), else take ``init_from``'s (unless
    ``new_vocabulary``), else build one; a new one is saved under ``out/tokenizer``."""
    folder = out / "tokenizer"
    if (folder / "tokenizer.json").is_file():
        return load_exp_tokenizer(out)
    if cfg.init_from and not cfg.new_vocabulary:
        tokenizer = load_tokenizer(read_model_config(cfg.init_from)["tokenizer"], Path(cfg.init_from))
    elif cfg.tokenizer == "char":
        tokenizer = CharTokenizer()
    else:
        tokenizer = train_bpe(texts, cfg.bpe_vocab_size)
        if tokenizer.vocab_size - 1 < cfg.bpe_vocab_size:
            warnings.warn(
                f"bpe_vocab_size {cfg.bpe_vocab_size}: the training transcripts yield only "
                f"{tokenizer.vocab_size - 1} BPE pieces, so the tokenizer has that many",
                stacklevel=2,
            )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(folder)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer.to_dict(), indent=2) + "\n")
    return tokenizer


def init_from(
    model: CTCModel, directory: str, tokenizer: Tokenizer, new_vocabulary: bool, say: Callable[[str], None]
) -> None:
    """Fill ``model`` with the weights of the model directory ``directory`` (its optimizer and schedule are not
    carried): directly when the networks match, through asr.warmstart when ``model`` is deeper, streaming where
    the other is not, or (``new_vocabulary``) reads ``tokenizer``'s pieces. ``say`` reports what was done."""
    other, other_tokenizer, _ = load_model_dir(directory)
    if new_vocabulary:
        other = with_vocabulary(other, other_tokenizer.token_names(), tokenizer.token_names())
        say(
            f"new vocabulary: {tokenizer.vocab_size} ids instead of {other_tokenizer.vocab_size}; the output "
            "layer's rows start from the old rows of each new token's pieces"
        )
    if model.cfg.streaming and not other.cfg.streaming:
        other = to_streaming(other)
        say(f"made {directory} a streaming network: causal normalization and subsampling")
    if other.cfg.n_layers < model.cfg.n_layers:  # a deeper model, warm-started by depth growth
        try:
            positions = grow(model, other)
        except ConfigError as e:
            raise ConfigError(f"init_from {directory}: {e}") from None
        say(
            f"initialized the weights from {directory}, grown from {other.cfg.n_layers} to "
            f"{model.cfg.n_layers} encoder blocks (its blocks at {positions}, identity blocks between)"
        )
        return
    try:  # regularization or the convolution's future taps may differ; the shapes may not
        model.load_state_dict(other.state_dict())
    except RuntimeError as e:
        lines = str(e).splitlines()
        raise ConfigError(
            f"init_from {directory}: its network differs from this config's model section "
            f"({lines[1].strip() if len(lines) > 1 else e})"
        ) from None
    say(f"initialized the weights from {directory}")


def has_feature_prior(model: CTCModel) -> bool:
    """Whether the causal normalization's stored statistics were set (they start as zero mean, unit variance)."""
    front = model.frontend
    return not (bool((front.prior_mean == 0).all()) and bool((front.prior_var == 1).all()))


@torch.no_grad()
def set_feature_prior(
    model: CTCModel, utts: list, seed: int, manifest: str, say: Callable[[str], None], count: int = 200
) -> None:
    """Causal normalization's stored statistics: the log-mel mean and variance of up to ``count`` of the
    training utterances ``utts`` (of ``manifest``), drawn with ``seed``; unreadable ones are left out."""
    device = model.frontend.prior_mean.device
    feats = []
    for utt in random.Random(seed).sample(utts, min(count, len(utts))):
        try:
            wave = load_audio(utt.audio).to(device)
        except AudioError:
            continue
        if wave.numel():
            feats.append(model.frontend.log_mel(wave[None])[0])
    if not feats:
        raise ConfigError(f"{manifest}: no readable audio to set the feature statistics from")
    frames = torch.cat(feats)
    model.frontend.set_prior(frames[None], torch.tensor([frames.shape[0]], device=device))
    say(f"feature statistics for causal normalization from {len(feats)} training utterances")
