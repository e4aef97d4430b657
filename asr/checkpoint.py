"""Model directories (config.json + model.safetensors + tokenizer) and training checkpoints.

A model directory describes itself: loading it rebuilds the network and tokenizer with nothing
re-declared, and never unpickles. Training checkpoints are torch files written atomically and read with
``weights_only=True``.
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .errors import ASRError, ConfigError, ModelError
from .model import LEGACY_MODEL_FIELDS, CTCModel, ModelConfig
from .warmstart import grow
from .tokenizer import Tokenizer, load_tokenizer

__all__ = [
    "FORMAT_VERSION",
    "save_model_dir",
    "load_model_dir",
    "atomic_save",
    "save_checkpoint",
    "load_checkpoint",
    "list_checkpoints",
    "average_checkpoints",
    "rng_state",
    "set_rng_state",
    "usable_device",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_CKPT = re.compile(r"^ckpt-(\d+)\.pt$")


def _fsync(path: str | os.PathLike, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, write) -> None:
    """Write through a temp file in the same folder, fsync it, rename it, fsync the folder: neither a kill
    nor a power loss leaves half a file (or an empty one) under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        # mkstemp makes 0600, and so does safetensors' save_file, whatever the file had: after writing, the
        # result is made readable like any file the user creates
        os.chmod(tmp, 0o666 & ~umask)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent, directory=True)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_model_dir(
    directory: str | os.PathLike,
    cfg: ModelConfig,
    state: dict,
    tokenizer: Tokenizer,
    info: dict | None = None,
    half: bool = False,
) -> Path:
    """Write config.json, model.safetensors and the tokenizer's files; returns the directory. A folder that
    holds other files but no config.json is refused (``--out .`` by mistake); a model directory is overwritten.

    ``half`` stores the network's parameters as float16, halving the file; buffers (the mel filterbank,
    the window) stay float32. Loading copies them into the float32 model, so inference runs in float32
    either way; only the rounding of the weights differs.
    """
    directory = Path(directory)
    if directory.is_dir() and not (directory / CONFIG_FILE).is_file() and any(directory.iterdir()):
        raise ModelError(
            f"{directory}: holds other files and is not a model directory; write the model to a new or empty folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(directory)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    if half:
        parameters = {name for name, _ in CTCModel(cfg).named_parameters()}
        tensors = {k: v.half() if k in parameters else v for k, v in tensors.items()}
        info = {**(info or {}), "weights_dtype": "float16"}
    _write_atomic(directory / WEIGHTS_FILE, lambda p: save_file(tensors, p))
    config = {"format_version": FORMAT_VERSION, "model": cfg.to_dict(), "tokenizer": tokenizer.to_dict()}
    config["info"] = info or {}
    _write_config(directory, config)
    return directory


def _write_config(directory: Path, config: dict) -> None:
    text = json.dumps(config, indent=2) + "\n"
    _write_atomic(directory / CONFIG_FILE, lambda p: Path(p).write_text(text))


def read_model_config(directory: str | os.PathLike) -> dict:
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{directory}: not a model directory (no {CONFIG_FILE})")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: invalid JSON ({e})") from None
    if not isinstance(config, dict):
        raise ModelError(f"{path}: expected a JSON object, got {type(config).__name__}")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION})")
    for key in ("model", "tokenizer"):
        if not isinstance(config.get(key), dict):
            raise ModelError(f"{path}: missing field {key!r}")
    return config


def set_hop_length(directory: str | os.PathLike, hop_length: int) -> None:
    """Set ``model.hop_length`` in a model directory's config.json (checked first; the rest is kept)."""
    config = read_model_config(directory)
    source = str(Path(directory) / CONFIG_FILE)
    config["model"] = ModelConfig.from_dict({**config["model"], "hop_length": hop_length}, source=source).to_dict()
    _write_config(Path(directory), config)


def set_info(directory: str | os.PathLike, key: str, value) -> None:
    """Set ``info[key]`` in a model directory's config.json (the rest is kept)."""
    config = read_model_config(directory)
    config["info"] = {**config.get("info", {}), key: value}
    _write_config(Path(directory), config)


def load_model_dir(
    directory: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[CTCModel, Tokenizer, dict]:
    """Rebuild (model in eval mode, tokenizer, config dict) from a model directory."""
    directory = Path(directory)
    config = read_model_config(directory)
    cfg = ModelConfig.from_dict(config["model"], source=str(directory / CONFIG_FILE))
    tokenizer = load_tokenizer(config["tokenizer"], directory)
    if tokenizer.vocab_size != cfg.vocab_size:
        raise ModelError(f"{directory}: tokenizer has {tokenizer.vocab_size} ids, model expects {cfg.vocab_size}")
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{directory}: {WEIGHTS_FILE} is missing")
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors' own error type for a truncated, empty or foreign file
        raise ModelError(f"{weights}: unreadable weights ({first_line(e)})") from None
    model = CTCModel(cfg)
    try:
        model.load_state_dict(state)
    except (RuntimeError, OSError) as e:
        raise ModelError(f"{weights}: weights do not match config.json ({first_line(e)})") from None
    return model.to(device).eval(), tokenizer, config


def atomic_save(obj: dict, path: str | os.PathLike) -> None:
    """torch.save through a temp file and rename."""
    _write_atomic(Path(path), lambda p: torch.save(obj, p))


def checkpoint_path(directory: str | os.PathLike, step: int) -> Path:
    return Path(directory) / f"ckpt-{step:08d}.pt"


def list_checkpoints(directory: str | os.PathLike) -> list[Path]:
    """Complete checkpoints in step order (temp files from an interrupted write are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _CKPT.match(p.name))]
    return [p for _, p in sorted(found)]


def remove_stale_temp_files(directory: str | os.PathLike) -> list[Path]:
    """Delete the temp files (``.ckpt-*.tmp``) that a write killed midway left behind; returns them."""
    directory = Path(directory)
    stale = sorted(directory.glob(".ckpt-*.tmp")) if directory.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def save_checkpoint(state: dict, directory: str | os.PathLike, step: int, keep: int) -> Path:
    """Write ckpt-STEP.pt atomically, then delete all but the newest ``keep`` checkpoints (and any temp file
    an earlier, killed write left)."""
    path = checkpoint_path(directory, step)
    remove_stale_temp_files(directory)
    atomic_save(state, path)
    if keep > 0:
        for old in list_checkpoints(directory)[:-keep]:
            old.unlink()
    return path


def _network(model: dict) -> dict:
    """A config.json model section as the network it builds: fields older directories lack take their
    defaults, the regularization fields they carry are left out. What averaging needs to agree on."""
    return {**ModelConfig().to_dict(), **{k: v for k, v in model.items() if k not in LEGACY_MODEL_FIELDS}}


def first_line(error: Exception) -> str:
    """An exception's first message line, or its type's name when it has no message."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise ModelError(f"{path}: unreadable checkpoint ({first_line(e)})") from None


def _mean_state(states: Iterable[dict], weights: list[float] | None = None) -> dict:
    """Element-wise mean of state dicts, read one at a time, accumulated in float64 and returned in float32;
    integer buffers are taken from the last. ``weights`` (one per state, any positive scale) make it a
    weighted mean."""
    total: dict[str, torch.Tensor] = {}
    count = 0.0
    for i, state in enumerate(states):
        weight = 1.0 if weights is None else float(weights[i])
        count += weight
        for key, value in state.items():
            total[key] = total.get(key, 0) + weight * value.double() if value.is_floating_point() else value
    return {k: (v / count).float() if v.is_floating_point() else v for k, v in total.items()}


def _grown_weights(shallow: Path, deep: Path) -> dict:
    """The weights of model directory ``shallow`` grown to the depth of ``deep`` (``warmstart.grow``), its
    identity blocks taking their inner weights from ``deep``'s blocks at those positions: the result computes
    what ``shallow`` computes, and in a soup with ``deep`` the new blocks keep ``deep``'s inner weights and
    half of its residual outputs."""
    model, _, _ = load_model_dir(deep)
    try:
        grow(model, load_model_dir(shallow)[0])
    except ConfigError as e:
        raise ModelError(f"{shallow}: {e}") from None
    return model.state_dict()


def _read_weights(path: Path) -> dict:
    try:
        return load_file(str(path))
    except (OSError, RuntimeError) as e:
        raise ModelError(f"{path}: unreadable weights ({str(e).splitlines()[0]})") from None


def _made_streaming(model: dict, streaming: dict) -> bool:
    """Whether ``model`` is the full-context network of the streaming network ``streaming`` (warmstart's
    to_streaming keeps every weight and adds only the front end's stored statistics)."""
    return (
        bool(streaming.get("streaming"))
        and not model.get("streaming")
        and _network({**model, "streaming": True}) == _network(streaming)
    )


def _priors(directory: Path) -> dict:
    """A streaming model directory's stored normalization statistics (the front end's prior buffers)."""
    return {k: v for k, v in _read_weights(directory / WEIGHTS_FILE).items() if k.startswith("frontend.prior_")}


def average_model_dirs(
    directories: list[Path], weights: list[float] | None = None
) -> tuple[ModelConfig, dict, Tokenizer]:
    """Element-wise mean of the weights of model directories of one architecture and tokenizer (a "model
    soup", e.g. the averages of two training runs from the same start); float16-stored weights are averaged
    in float64 like checkpoints. ``weights`` (one per directory, positive; normalized to sum to one) make it
    a weighted mean: a fine-tuned model and the one it started from at 0.75/0.25 keep more of the fine-tune
    than the even soup (a point on the line between the two networks). A directory with fewer encoder
    blocks than the first (the model a grown run started from) enters as its identity-grown self
    (``_grown_weights``), and a full-context model after a streaming first one (the model a streaming
    fine-tune started from) with the first's normalization statistics. Returns (config, state, tokenizer)
    of the first directory."""
    if len(directories) < 2:
        raise ModelError("give at least two model directories to average")
    if weights is not None and (len(weights) != len(directories) or min(weights) <= 0):
        raise ModelError(f"give one positive weight per model directory ({len(directories)}), got {weights}")
    first = read_model_config(directories[0])

    def weights_of_each():
        keys = None
        for directory in directories:
            config = read_model_config(directory)
            if config["tokenizer"] != first["tokenizer"]:
                raise ModelError(f"{directory}: its 'tokenizer' in {CONFIG_FILE} differs from {directories[0]}'s")
            weights = Path(directory) / WEIGHTS_FILE
            if config["model"].get("n_layers", 0) < first["model"].get("n_layers", 0):
                state = _grown_weights(Path(directory), Path(directories[0]))
            elif _made_streaming(config["model"], first["model"]):  # the full-context model a streaming one
                state = {**_read_weights(weights), **_priors(Path(directories[0]))}  # started from (to_streaming)
            elif _network(config["model"]) != _network(first["model"]):
                raise ModelError(f"{directory}: its 'model' in {CONFIG_FILE} differs from {directories[0]}'s")
            else:
                state = _read_weights(weights)
            if keys is not None and state.keys() != keys:
                raise ModelError(f"{weights}: holds other tensors than {directories[0]}'s weights")
            keys = state.keys()
            yield state

    state = _mean_state(weights_of_each(), weights)
    cfg = ModelConfig.from_dict(first["model"], source=str(Path(directories[0]) / CONFIG_FILE))
    return cfg, state, load_tokenizer(first["tokenizer"], directories[0])


def average_checkpoints(paths: list[Path]) -> dict:
    """Element-wise mean of the checkpoints' model weights (integer buffers taken from the last)."""
    if not paths:
        raise ModelError("no checkpoints to average")
    return _mean_state(load_checkpoint(path)["model"] for path in paths)


def rng_state() -> dict:
    """The RNG states a checkpoint holds (torch, Python, CUDA when present), for an exact resume."""
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def usable_device(name: str | torch.device, error: type[ASRError] = ModelError) -> torch.device:
    """``name`` as a torch.device that works on this machine, else ``error``: an unknown name, or a GPU that is
    not there (CUDA without a driver, cuda:3 on a machine with one GPU)."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise error(f"device {str(name)!r}: not a device name (cpu, cuda, cuda:N, mps, ...)") from None
    try:
        torch.empty(1, device=device)  # torch only finds out when something is put there
    except (RuntimeError, AssertionError) as e:  # AssertionError: torch built without CUDA
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise error(f"device {str(name)!r} is not usable here ({reason})") from None
    return device
