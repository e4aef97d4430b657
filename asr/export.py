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
from .features import LOG_FLOOR, N_FFT, WIN_LENGTH, LogMel, normalize_per_utterance, num_frames
from .model import CTCModel

__all__ = ["ConvLogMel", "ExportableCTC", "export_onnx", "OnnxCTC"]

ONNX_FILE = "model.onnx"


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
        self.bins, self.hop_length = bins, logmel.hop_length

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = num_frames(lengths, self.hop_length)
        x = nn.functional.pad(wave[:, None, :], (N_FFT // 2, N_FFT // 2))  # centred frames, zero padding
        spec = nn.functional.conv1d(x, self.basis, stride=self.hop_length)  # (B, 2 * bins, T)
        power = spec[:, : self.bins] ** 2 + spec[:, self.bins :] ** 2
        feats = torch.matmul(power.transpose(1, 2), self.fb).clamp_min(LOG_FLOOR).log()  # (B, T, n_mels)
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
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and constant-folding notices
            torch.onnx.export(
                net,
                (wave, lengths),
                str(path),
                input_names=["wave", "lengths"],
                output_names=["log_probs", "out_lengths"],
                dynamic_axes={
                    "wave": {0: "batch", 1: "samples"},
                    "lengths": {0: "batch"},
                    "log_probs": {0: "batch", 1: "frames"},
                    "out_lengths": {0: "batch"},
                },
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
