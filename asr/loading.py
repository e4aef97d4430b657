"""Where models live and how they load: bundled models under ``pretrained/`` (``DEFAULT`` and
``DEFAULT-STREAMING`` name the defaults) or any model directory, into an :class:`~asr.transcribe.ASRModel`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from .checkpoint import load_model_dir, usable_device
from .errors import ModelError
from .transcribe import ASRModel

__all__ = ["load_model", "available_models", "pretrained_dir"]


def pretrained_dir() -> Path:
    """Where bundled models live: $ASR_PRETRAINED_DIR, else ``pretrained/`` beside the package."""
    env = os.environ.get("ASR_PRETRAINED_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "pretrained"


def available_models() -> list[str]:
    """Names of the model directories under :func:`pretrained_dir`."""
    root = pretrained_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def _default_model(streaming: bool = False) -> Path:
    """``pretrained/DEFAULT`` names the default model, ``pretrained/DEFAULT-STREAMING`` the one for live audio."""
    root = pretrained_dir()
    names = available_models()
    if not names:
        raise ModelError(
            f"no pretrained model is installed in {root}; pass a model directory, "
            "e.g. asr.load_model('exp/model') or `asr transcribe --model exp/model FILE`"
        )
    marker = root / ("DEFAULT-STREAMING" if streaming else "DEFAULT")
    if marker.is_file():
        name = marker.read_text().strip()
    elif streaming:
        raise ModelError(f"{root}: no bundled streaming model ({marker.name} is missing); pass --model")
    else:
        name = names[0]
    if name not in names:
        raise ModelError(f"{marker}: names {name!r}, which is not installed in {root}")
    return root / name


def load_model(
    name_or_path: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    backend: str = "torch",
    quantize: bool = False,
    streaming: bool = False,
) -> ASRModel:
    """Load a bundled model by name, a model directory by path, or (None) the default bundled model
    (``streaming=True``: the default bundled streaming model, for :meth:`ASRModel.stream`).
    ``backend="onnx"`` runs the network with onnxruntime from the directory's model.onnx (``asr export``);
    ``quantize=True`` converts the linear layers to dynamic int8 (CPU, PyTorch backend)."""
    if name_or_path is None:
        path = _default_model(streaming)
    elif str(name_or_path) in available_models():
        path = pretrained_dir() / str(name_or_path)
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise ModelError(
                f"{path}: no such model directory (bundled models: {', '.join(available_models()) or 'none'})"
            )
    device = (
        usable_device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    model, tokenizer, config = load_model_dir(path, device)
    if quantize:
        if device.type != "cpu" or backend != "torch":
            raise ModelError("quantize=True is for the PyTorch backend on the CPU")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's API is deprecated but still the one that ships
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return ASRModel(model, tokenizer, config, path, device, backend)
