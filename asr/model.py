"""CTCModel = log-mel front end -> strided-conv subsampling -> encoder -> linear CTC head."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from .errors import ConfigError
from .audio import SAMPLE_RATE
from .features import HOP_LENGTH, N_MELS, WIN_LENGTH, LogMel, SpecAugment, num_frames
from .encoder import Encoder
from .subsampling import StridedConvSubsampling
from .tokenizer import BLANK

__all__ = ["ModelConfig", "Regularization", "CTCModel", "ctc_loss", "min_ctc_frames"]

# Field -> (smallest, largest) accepted value: sane bounds far beyond any useful model, so a damaged config
# (d_model 10**6) is refused before gigabytes are allocated.
MODEL_LIMITS = {
    "vocab_size": (2, 100_000),
    "n_mels": (1, 512),
    "hop_length": (1, WIN_LENGTH),
    "strides": (1, 8),
    "subsampling_kernel": (1, 63),
    "subsampling_channels": (1, 4096),
    "d_model": (1, 4096),
    "n_layers": (1, 128),
    "n_heads": (1, 64),
    "ff_dim": (1, 16384),
    "conv_kernel": (1, 255),
    "conv_future": (-1, 127),
}
REGULARIZATION_LIMITS = {
    "dropout": (0.0, 0.95),
    "freq_masks": (0, 64),
    "freq_mask_width": (0, 512),
    "time_masks": (0, 256),
    "time_mask_width": (0, 10_000),
    "time_mask_ratio": (0.0, 1.0),
    "vtlp": (0.0, 0.5),
}
# Model directories and checkpoints written before the regularization settings left the network's config
# carry them in config.json's model section: read, they are ignored.
LEGACY_MODEL_FIELDS = tuple(REGULARIZATION_LIMITS)


def _check_limits(cfg, limits: dict, source: str) -> None:
    """ConfigError naming the first field of ``cfg`` whose type (its default's) or range is wrong."""
    defaults = type(cfg)()
    for name, (low, high) in limits.items():
        value, kind = getattr(cfg, name), type(getattr(defaults, name))
        values = value if isinstance(value, list) else [value]
        if name == "strides" and not (isinstance(value, list) and 1 <= len(value) <= 8):
            raise ConfigError(f"{source}: strides must be a list of 1 to 8 whole numbers, got {value!r}")
        kind = int if name == "strides" else kind
        for v in values:
            ok_type = (
                isinstance(v, (int, float)) and not isinstance(v, bool)
                if kind is float
                else isinstance(v, kind) and not (kind is int and isinstance(v, bool))
            )
            if not ok_type or not low <= v <= high:
                what = "a whole number" if kind is int else "a number"
                raise ConfigError(f"{source}: {name} must be {what} from {low} to {high}, got {value!r}")


@dataclass
class Regularization:
    """Training-only settings of a network: dropout, SpecAugment and VTLP. They change how a model learns,
    not what it computes at inference, so they live in the training config (``regularization:``) and are
    not stored in a model directory."""

    dropout: float = 0.1
    freq_masks: int = 2  # SpecAugment
    freq_mask_width: int = 27  # mel bins
    time_masks: int = 5
    time_mask_width: int = 40  # feature frames
    time_mask_ratio: float = 0.05  # cap of each time mask as a fraction of the utterance
    vtlp: float = 0.0  # per-utterance VTLP warp factor uniform in [1 - vtlp, 1 + vtlp]; 0 = off

    @classmethod
    def none(cls) -> "Regularization":
        """No dropout, masks or warps: what a network built for inference carries."""
        return cls(dropout=0.0, freq_masks=0, time_masks=0, vtlp=0.0)

    def check(self, source: str = "regularization") -> None:
        _check_limits(self, REGULARIZATION_LIMITS, source)


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; stored in a model directory's config.json."""

    vocab_size: int = 29  # tokenizer ids + the blank; set from the tokenizer at training time
    n_mels: int = N_MELS
    # Feature hop in samples (160 = 10 ms). A trained model may read at a shorter hop than it was trained with:
    # more frames for the same speech, which helps a model short of frames for its labels
    # (`asr tune-hop` measures this per hop on a dev set and can save the best).
    hop_length: int = HOP_LENGTH
    strides: list[int] = field(default_factory=lambda: [2, 2, 2])  # prod = time subsampling factor
    subsampling_kernel: int = 3
    subsampling_channels: int = 256
    separable: bool = False  # depthwise-separable subsampling convolutions
    encoder: str = "conformer"  # or "transformer"
    d_model: int = 144
    n_layers: int = 8
    n_heads: int = 4
    ff_dim: int = 576
    conv_kernel: int = 15  # Conformer depthwise kernel, in encoder frames
    # Taps of that kernel after the frame: -1 = all (conv_kernel // 2, centred); 0 = causal. A streaming network
    # with a causal convolution computes it the same with and without chunks, which streams with less loss.
    conv_future: int = -1
    # Streaming network: causal feature normalization and left-padded subsampling convolutions, so that trained
    # with chunk masks (TrainConfig.chunk_prob) it decodes chunk by chunk as well as whole files (asr.streaming).
    streaming: bool = False

    @classmethod
    def from_dict(cls, data: dict, source: str = "model config") -> "ModelConfig":
        """Build and check a config: every field's type and range (before any weight is allocated), so a
        damaged or hand-edited config.json gets one message naming the field."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the model section must be a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k not in LEGACY_MODEL_FIELDS}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown model field(s) {', '.join(unknown)}")
        cfg = cls(**data)
        cfg.check(source)
        return cfg

    def check(self, source: str = "model config") -> None:
        """ConfigError naming the first field whose type or range is wrong (MODEL_LIMITS)."""
        _check_limits(self, MODEL_LIMITS, source)
        for name in ("separable", "streaming"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{source}: {name} must be true or false, got {getattr(self, name)!r}")
        if self.streaming and self.encoder != "conformer":
            raise ConfigError(f"{source}: streaming needs encoder: conformer, got {self.encoder!r}")
        if self.encoder not in ("conformer", "transformer"):
            raise ConfigError(f"{source}: encoder must be 'conformer' or 'transformer', got {self.encoder!r}")
        if self.d_model % self.n_heads:
            raise ConfigError(f"{source}: d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if self.encoder == "conformer" and self.conv_kernel % 2 == 0:
            raise ConfigError(f"{source}: conv_kernel must be odd for the Conformer, got {self.conv_kernel}")
        if self.conv_future > self.conv_kernel // 2:
            raise ConfigError(
                f"{source}: conv_future must be -1 or at most conv_kernel // 2 ({self.conv_kernel // 2}), "
                f"got {self.conv_future}"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class CTCModel(nn.Module):
    """Waveforms (B, S) + sample counts -> CTC log-probabilities (B, T', vocab_size) + frame counts."""

    def __init__(self, cfg: ModelConfig, regularization: Regularization | None = None):
        super().__init__()
        self.cfg = cfg
        reg = self.regularization = regularization or Regularization.none()
        self.frontend = LogMel(cfg.n_mels, cfg.hop_length, cfg.streaming)
        self.specaugment = SpecAugment(
            reg.freq_masks, reg.freq_mask_width, reg.time_masks, reg.time_mask_width, reg.time_mask_ratio
        )
        self.subsampling = StridedConvSubsampling(
            cfg.n_mels,
            cfg.d_model,
            cfg.strides,
            cfg.subsampling_kernel,
            cfg.subsampling_channels,
            cfg.separable,
            cfg.streaming,
        )
        self.encoder = Encoder(
            cfg.encoder,
            cfg.d_model,
            cfg.n_layers,
            cfg.n_heads,
            cfg.ff_dim,
            cfg.conv_kernel,
            reg.dropout,
            cfg.conv_future,
        )
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)

    @property
    def frame_seconds(self) -> float:
        """Duration of one encoder output frame: feature hop times the subsampling factor."""
        return self.cfg.hop_length / SAMPLE_RATE * self.subsampling.factor

    def output_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Encoder frames for a number of input samples."""
        return self.subsampling.output_lengths(num_frames(num_samples, self.cfg.hop_length))

    def forward(
        self,
        wave: torch.Tensor,
        lengths: torch.Tensor,
        warp: torch.Tensor | None = None,
        chunk: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``warp`` (B,): bin each utterance's spectrum through a VTLP-warped filterbank with this factor
        (test-time VTLN); in training with ``regularization.vtlp`` > 0 a random factor is drawn per utterance instead.
        ``chunk`` (size, left): encoder frames attend within chunks (``Encoder.forward``), as when streaming."""
        if self.training and self.regularization.vtlp > 0:  # a new simulated vocal tract length per utterance
            warp = 1 + self.regularization.vtlp * (2 * torch.rand(wave.shape[0], device=wave.device) - 1)
        x, lengths = self.frontend(wave, lengths, warp)  # (B, T, n_mels)
        x, lengths = self.specaugment(x, lengths)
        x, lengths = self.subsampling(x, lengths)  # (B, T', d_model)
        x, lengths = self.encoder(x, lengths, chunk)
        logits = self.head(x)  # (B, T', vocab)
        return logits.float().log_softmax(dim=-1), lengths

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def min_ctc_frames(targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Fewest frames CTC needs per utterance: one per label plus one blank between each repeated pair."""
    if targets.shape[1] < 2:  # no pairs (a batch of non-speech clips has no labels at all)
        return target_lengths.clone()
    same = targets[:, 1:] == targets[:, :-1]  # (B, U-1)
    valid = torch.arange(1, targets.shape[1], device=targets.device)[None, :] < target_lengths[:, None]
    return target_lengths + (same & valid).sum(dim=1)


def ctc_loss(
    log_probs: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Token-averaged CTC loss over the utterances whose labels fit their frames.

    Infeasible utterances (too few frames) would get an infinite loss that ``zero_infinity`` silently turns
    into 0; they are dropped here and counted instead. Returns (loss, number of infeasible utterances).
    """
    feasible = lengths >= min_ctc_frames(targets, target_lengths)
    per_utt = nn.functional.ctc_loss(
        log_probs.transpose(0, 1),  # (T', B, V) as ctc_loss wants
        targets,
        lengths,
        target_lengths,
        blank=BLANK,
        reduction="none",
        zero_infinity=True,
    )
    tokens = (target_lengths * feasible).sum().clamp_min(1)
    loss = (per_utt * feasible).sum() / tokens
    return loss, int((~feasible).sum())
