"""ONNX export: ONE graph from 16 kHz waveform (+ lengths) to CTC log-probs (+ frame counts), front end
included, so an ONNX user feeds audio, not features, and cannot get the features subtly wrong.

``torch.stft`` works on complex numbers, which the ONNX exporter does not take, so the exported front end
computes the same short-time Fourier transform as a strided Conv1d whose kernels are the Hann-windowed
cosine and sine rows of the DFT (identical frames, window and padding as ``LogMel``). Everything after the
power spectrum is the model's own code. The exported model runs with onnxruntime on the CPU; tests check
it against PyTorch on speech of several lengths.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .errors import ASRError
from .encoder import _BlockCache
from .features import LOG_FLOOR, N_FFT, WIN_LENGTH, LogMel, normalize_causal, normalize_per_utterance, num_frames
from .model import CTCModel

__all__ = [
    "ConvLogMel",
    "ExportableCTC",
    "export_onnx",
    "OnnxCTC",
    "StreamStep",
    "export_stream_onnx",
    "OnnxStreamStep",
]

ONNX_FILE = "model.onnx"
STREAM_ONNX_FILE = "model-stream.onnx"  # a streaming model's encoder step, caches in and out


class ConvLogMel(nn.Module):
    """``LogMel`` with the STFT as a Conv1d over DFT basis functions (real arithmetic only)."""

    def __init__(self, logmel: LogMel):
        super().__init__()
        bins = N_FFT // 2 + 1
        window = torch.hann_window(WIN_LENGTH, periodic=True, dtype=torch.float64)
        left = (N_FFT - WIN_LENGTH) // 2  # torch.stft centres a shorter window inside n_fft
        window = nn.functional.pad(window, (left, N_FFT - WIN_LENGTH - left))
        k = torch.arange(bins, dtype=torch.float64)[:, None]
        n = torch.arange(N_FFT, dtype=torch.float64)[None, :]
        angle = 2 * math.pi * k * n / N_FFT
        basis = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])  # (2 * bins, n_fft)
        self.register_buffer("basis", basis.float()[:, None, :])
        self.register_buffer("fb", logmel.mel.mel_scale.fb.detach().clone().float())  # (bins, n_mels)
        self.bins, self.hop_length, self.causal = bins, logmel.hop_length, logmel.causal
        if logmel.causal:
            self.register_buffer("prior_mean", logmel.prior_mean.detach().clone())
            self.register_buffer("prior_var", logmel.prior_var.detach().clone())
            self.prior_frames = logmel.prior_frames

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = num_frames(lengths, self.hop_length)
        x = nn.functional.pad(wave[:, None, :], (N_FFT // 2, N_FFT // 2))  # centred frames, zero padding
        spec = nn.functional.conv1d(x, self.basis, stride=self.hop_length)  # (B, 2 * bins, T)
        power = spec[:, : self.bins] ** 2 + spec[:, self.bins :] ** 2
        feats = torch.matmul(power.transpose(1, 2), self.fb).clamp_min(LOG_FLOOR).log()  # (B, T, n_mels)
        if self.causal:
            return normalize_causal(feats, frames, self.prior_mean, self.prior_var, self.prior_frames), frames
        return normalize_per_utterance(feats, frames), frames


class ExportableCTC(nn.Module):
    """A CTCModel (inference path) with the exportable front end."""

    def __init__(self, model: CTCModel):
        super().__init__()
        self.frontend = ConvLogMel(model.frontend)
        self.subsampling, self.encoder, self.head = model.subsampling, model.encoder, model.head

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.frontend(wave, lengths)
        x, lengths = self.subsampling(x, lengths)
        x, lengths = self.encoder(x, lengths)
        return self.head(x).log_softmax(dim=-1), lengths


def export_onnx(model: CTCModel, path: str | os.PathLike, opset: int = 17) -> Path:
    """Write ``model`` as one ONNX graph: inputs wave (B, S) float32 and lengths (B,) int64; outputs
    log_probs (B, T', V) and out_lengths (B,). Batch and length axes are dynamic."""
    net = ExportableCTC(model.cpu().eval()).eval()
    wave = torch.randn(2, 16000) * 0.1
    lengths = torch.tensor([16000, 12000])
    axes = {
        "wave": {0: "batch", 1: "samples"},
        "lengths": {0: "batch"},
        "log_probs": {0: "batch", 1: "frames"},
        "out_lengths": {0: "batch"},
    }
    return _export(net, (wave, lengths), path, ["wave", "lengths"], ["log_probs", "out_lengths"], axes, opset)


def _export(
    net: nn.Module, example: tuple, path, inputs: list[str], outputs: list[str], axes: dict, opset: int
) -> Path:
    """torch.onnx.export with the TorchScript exporter, its notices silenced; a missing onnx is an ASRError."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and constant-folding notices
            torch.onnx.export(
                net,
                example,
                str(path),
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
            )
    except ImportError as e:
        raise ASRError(f"ONNX export needs the onnx package (pip install 'asr[onnx]'): {e}") from None
    return path


class OnnxCTC:
    """An exported graph run with onnxruntime; called like the PyTorch model."""

    def __init__(self, path: str | os.PathLike, threads: int = 0):
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ASRError(f"the onnx backend needs onnxruntime (pip install 'asr[onnx]'): {e}") from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_probs, out_lengths = self.session.run(
            None, {"wave": wave.detach().cpu().float().numpy(), "lengths": lengths.detach().cpu().long().numpy()}
        )
        return torch.from_numpy(log_probs), torch.from_numpy(out_lengths)


class StreamStep(nn.Module):
    """A streaming model's encoder and CTC head for one chunk, caches as tensors: the part of a stream that
    costs (the front end and subsampling of a chunk are a few frames of convolution).

    Inputs: x (1, C, d_model) subsampled frames of the chunk; keys, values (layers, 1, heads, P, head_dim) of the
    P frames before it (P from 0 up to the left context); convs (layers, 1, kernel // 2, d_model), the
    convolutions' last inputs. Outputs: log_probs (1, C, V), keys and values of the P + C frames (the caller
    keeps the last ones it wants), convs.
    """

    def __init__(self, model: CTCModel):
        super().__init__()
        self.encoder, self.head = model.encoder, model.head

    def forward(self, x, keys, values, convs):
        keep = torch.ones(x.shape[0], x.shape[1], dtype=torch.bool)
        new_keys, new_values, new_convs = [], [], []
        for i, block in enumerate(self.encoder.blocks):
            x, state = block(x, keep, None, x.shape[1], _BlockCache((keys[i], values[i]), convs[i]))
            new_keys.append(state.kv[0])
            new_values.append(state.kv[1])
            new_convs.append(state.conv)
        log_probs = self.head(self.encoder.final_norm(x)).log_softmax(dim=-1)
        return log_probs, torch.stack(new_keys), torch.stack(new_values), torch.stack(new_convs)


def stream_cache_shapes(model: CTCModel, past: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of (keys or values, convs) for ``past`` cached frames."""
    block = model.encoder.blocks[0]
    heads, dim = block.attn.attn.n_heads, block.attn.attn.head_dim
    layers = len(model.encoder.blocks)
    return (layers, 1, heads, past, dim), (layers, 1, block.conv.half, model.cfg.d_model)


def export_stream_onnx(model: CTCModel, path: str | os.PathLike, opset: int = 17) -> Path:
    """Write a streaming model's :class:`StreamStep` as an ONNX graph (chunk and cache lengths dynamic)."""
    if not model.cfg.streaming or model.cfg.encoder != "conformer":
        raise ASRError("only a streaming Conformer model has a stream step to export")
    net = StreamStep(model.cpu().eval()).eval()
    kv_shape, conv_shape = stream_cache_shapes(model, 3)
    example = (
        torch.randn(1, 4, model.cfg.d_model),
        torch.randn(kv_shape),
        torch.randn(kv_shape),
        torch.randn(conv_shape),
    )
    axes = {
        "x": {1: "chunk"},
        "keys": {3: "past"},
        "values": {3: "past"},
        "log_probs": {1: "chunk"},
        "new_keys": {3: "all"},
        "new_values": {3: "all"},
    }
    return _export(
        net,
        example,
        path,
        ["x", "keys", "values", "convs"],
        ["log_probs", "new_keys", "new_values", "new_convs"],
        axes,
        opset,
    )


class OnnxStreamStep:
    """An exported :class:`StreamStep` run with onnxruntime; ``Stream`` calls it chunk by chunk."""

    def __init__(self, path: str | os.PathLike, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, convs: torch.Tensor):
        feed = {"x": x, "keys": keys, "values": values, "convs": convs}
        outputs = self.session.run(None, {k: v.detach().cpu().float().numpy() for k, v in feed.items()})
        return tuple(torch.from_numpy(o) for o in outputs)
