"""TrainConfig: one dataclass; YAML files map 1:1 onto its fields; ``key=value`` overrides on top."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from .errors import ConfigError
from .model import LEGACY_MODEL_FIELDS, ModelConfig, Regularization

__all__ = ["TrainConfig", "load_train_config", "apply_overrides"]


@dataclass
class TrainConfig:
    train_manifest: str = ""
    valid_manifest: str = ""  # empty: no validation
    out_dir: str = "exp"
    tokenizer: str = "char"  # "char" or "bpe" (trained on the training transcripts)
    bpe_vocab_size: int = 256
    init_from: str = ""  # model directory whose weights (and tokenizer) start a new run: fine-tuning
    # With init_from: build a new tokenizer (``tokenizer``, ``bpe_vocab_size``, from the training transcripts)
    # instead of taking the model's, and re-initialize the output layer for it (encoder kept): a change of
    # vocabulary, e.g. larger BPE units when the subsampled frames are too few for the labels.
    new_vocabulary: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)  # the network (stored in the model directory)
    regularization: Regularization = field(default_factory=Regularization)  # dropout, SpecAugment, VTLP
    epochs: int = 10
    max_steps: int = 0  # stop after this many optimizer steps; 0 = run all epochs
    # Stop after this much training wall time (a resumed run counts the time before the kill); the cosine
    # decay then follows the spent fraction of the budget instead of the steps. 0 = no limit.
    time_budget_minutes: float = 0.0
    batch_seconds: float = 60.0  # padded audio seconds per batch (per process)
    num_buckets: int = 10
    sortagrad: bool = False  # first epoch shortest batches first
    accum_steps: int = 1  # micro-batches per optimizer step
    lr: float = 1e-3  # peak learning rate
    warmup_steps: int = 1000
    lr_schedule: str = "cosine"  # "cosine", "inverse_sqrt" or "constant" after linear warm-up
    min_lr_ratio: float = 0.05  # cosine floor as a fraction of the peak
    weight_decay: float = 1e-3
    grad_clip: float = 5.0
    amp: bool = True  # mixed precision; only ever on CUDA
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    threads: int = 0  # torch CPU threads; 0 = leave torch's default
    seed: int = 0
    speed_perturb: bool = False
    # Probability of prepending 0..lead_silence_seconds of silence (digital zeros or faint noise) to a training
    # utterance: synthesizer output starts at once, and a model trained only on it reads speech after a pause
    # badly (benchmarks/edge_silence.py). 0 = off.
    lead_silence: float = 0.0
    lead_silence_seconds: float = 0.5
    # The same after the speech (synthesizer output also stops at once: benchmarks/edge_silence.py's "after" rows).
    trail_silence: float = 0.0
    trail_silence_seconds: float = 0.5
    # Probability of passing a training utterance through a random recording channel (room, noise, microphone,
    # telephone or codec, level: asr.augment.channel). 0 = off.
    channel_augment: float = 0.0
    # Streaming (model.streaming): probability that a batch is trained with a chunk mask (Encoder.forward) of a
    # random size from 1 to chunk_max_frames encoder frames and a random left context of up to
    # chunk_left_frames frames; the other batches see the whole utterance. 0 = always the whole utterance.
    chunk_prob: float = 0.0
    chunk_max_frames: int = 16
    chunk_left_frames: int = 64
    num_workers: int = 0  # DataLoader worker processes
    log_every: int = 10  # steps between progress-bar / TensorBoard updates
    checkpoint_every: int = 500  # steps between checkpoints (and one at every epoch end)
    keep_checkpoints: int = 5

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def check(self, where: str = "config") -> None:
        """ConfigError naming the first numeric setting out of its range (TRAIN_LIMITS), then the model's."""
        for name, (low, high, strict) in TRAIN_LIMITS.items():
            value = getattr(self, name)
            if not (low < value if strict else low <= value) or (high is not None and value > high):
                bound = f"> {low}" if strict else f">= {low}"
                raise ConfigError(
                    f"{where}: {name} must be {bound}"
                    + (f" and <= {high}" if high is not None else "")
                    + f", got {value!r}"
                )
        self.model.check(f"{where}: model")
        self.regularization.check(f"{where}: regularization")
        if self.chunk_prob > 0 and not self.model.streaming:
            raise ConfigError(f"{where}: chunk_prob needs a streaming network (model.streaming: true)")


# Field -> (lower bound, upper bound or None, lower bound excluded?)
TRAIN_LIMITS = {
    "bpe_vocab_size": (2, None, False),
    "epochs": (1, None, False),
    "max_steps": (0, None, False),
    "time_budget_minutes": (0, None, False),
    "batch_seconds": (0, None, True),
    "num_buckets": (1, None, False),
    "accum_steps": (1, None, False),
    "lr": (0, None, True),
    "warmup_steps": (0, None, False),
    "min_lr_ratio": (0, 1, False),
    "weight_decay": (0, None, False),
    "grad_clip": (0, None, False),
    "threads": (0, None, False),
    "num_workers": (0, None, False),
    "log_every": (1, None, False),
    "checkpoint_every": (1, None, False),
    "keep_checkpoints": (0, None, False),
    "channel_augment": (0, 1, False),
    "chunk_prob": (0, 1, False),
    "chunk_max_frames": (1, 10_000, False),
    "chunk_left_frames": (0, None, False),
}


def _coerce(where: str, value: Any, default: Any) -> Any:
    """Check a value against the type of the field's default (ints are accepted for floats)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")
    return value


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    defaults = cls()
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    values = {}
    for key, value in data.items():
        default = getattr(defaults, key)
        if dataclasses.is_dataclass(default):
            values[key] = _build(type(default), value, f"{where}: {key}")
        else:
            values[key] = _coerce(f"{where}: {key}", value, default)
    return cls(**values)


def apply_overrides(data: dict, overrides: Sequence[str]) -> dict:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: value is not valid YAML") from None
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
        node[parts[-1]] = value
    return data


def _network_of(directory: str, model: Any, where: str) -> Any:
    """The model section of a run that starts from ``directory``: the network written in the model
    directory's config.json, with the config's own ``model`` fields (training settings, a change such as
    ``streaming`` or a deeper ``n_layers``) on top, so a fine-tuning config need not restate the network."""
    from .checkpoint import read_model_config  # here: checkpoint imports this module's dependencies
    from .errors import ModelError

    try:
        saved = read_model_config(directory).get("model", {})
    except (ModelError, OSError) as e:
        raise ConfigError(f"{where}: init_from {directory}: {e}") from None
    saved = {k: v for k, v in saved.items() if k not in LEGACY_MODEL_FIELDS}
    if model is None:
        return dict(saved)
    return {**saved, **model} if isinstance(model, dict) else model


def load_train_config(path: str | Path | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML TrainConfig (or start from defaults when ``path`` is None) and apply overrides.

    Relative manifest and output paths in the file are taken relative to the current directory. With
    ``init_from``, the network comes from that model directory; the file's ``model`` fields override it.
    """
    data: dict = {}
    where = "config"
    if path is not None:
        where = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except OSError as e:
            raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
        except UnicodeDecodeError as e:
            line = e.object[: e.start].count(b"\n") + 1
            raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte {e.object[e.start]:#04x})") from None
        except yaml.YAMLError as e:  # one line: the problem and where, not PyYAML's multi-line excerpt
            mark = getattr(e, "problem_mark", None)
            where_in = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise ConfigError(f"{path}: invalid YAML ({where_in}{getattr(e, 'problem', None) or e})") from None
    data = apply_overrides(data, overrides)
    section = data.get("model") if isinstance(data, dict) else None
    misplaced = sorted(set(section) & set(LEGACY_MODEL_FIELDS)) if isinstance(section, dict) else []
    if misplaced:
        raise ConfigError(
            f"{where}: model: {', '.join(misplaced)} only affect training: set them under regularization:, "
            "not model: (the model section is the network a model directory stores)"
        )
    if isinstance(data, dict) and data.get("init_from"):
        data["model"] = _network_of(str(data["init_from"]), data.get("model"), where)
    cfg = _build(TrainConfig, data, where)
    if cfg.tokenizer not in ("char", "bpe"):
        raise ConfigError(f"{where}: tokenizer must be 'char' or 'bpe', got {cfg.tokenizer!r}")
    if cfg.lr_schedule not in ("cosine", "inverse_sqrt", "constant"):
        raise ConfigError(f"{where}: lr_schedule must be cosine, inverse_sqrt or constant")
    for edge in ("lead", "trail"):
        if not 0.0 <= getattr(cfg, f"{edge}_silence") <= 1.0 or getattr(cfg, f"{edge}_silence_seconds") < 0:
            raise ConfigError(
                f"{where}: {edge}_silence must be a probability in [0, 1] and {edge}_silence_seconds >= 0"
            )
    cfg.check(where)
    if not cfg.train_manifest:
        raise ConfigError(f"{where}: train_manifest is required")
    return cfg
