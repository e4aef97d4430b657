"""Strided 1-D convolutions that subsample time: the heart of the design.

A stack of Conv1d layers over the time axis, each with its own stride, turns 100 feature frames per
second into 100 / prod(strides) encoder frames per second. The encoder's self-attention cost falls with
the square of that factor, its other layers linearly.

This module owns the length formula. Everyone else (loss, masks, timestamps) calls
:meth:`StridedConvSubsampling.output_lengths`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .features import lengths_to_mask

__all__ = ["conv_output_length", "StridedConvSubsampling"]


def conv_output_length(lengths: torch.Tensor, kernel: int, stride: int, padding: int) -> torch.Tensor:
    """Frames out of one Conv1d: floor((L + 2p - k) / s) + 1, clamped at 0 (and 0 stays 0)."""
    out = torch.div(lengths + 2 * padding - kernel, stride, rounding_mode="floor") + 1
    return torch.where(lengths > 0, out.clamp_min(0), torch.zeros_like(out))


class _ConvLayer(nn.Module):
    """One strided Conv1d (or depthwise + pointwise pair) followed by GELU; (B, C, T) in and out.

    Centred (``kernel // 2`` zeros on each side) or causal (``kernel - 1`` zeros on the left only: output j
    sees inputs up to j * stride, none after). Both pad ``kernel - 1`` in all, so the lengths are the same.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, separable: bool, causal: bool = False):
        super().__init__()
        self.kernel, self.stride, self.padding, self.causal = kernel, stride, kernel // 2, causal
        pad = 0 if causal else self.padding
        if separable:
            self.conv = nn.Sequential(
                nn.Conv1d(in_ch, in_ch, kernel, stride, pad, groups=in_ch),  # depthwise, strided
                nn.Conv1d(in_ch, out_ch, 1),  # pointwise channel mix
            )
        else:
            self.conv = nn.Conv1d(in_ch, out_ch, kernel, stride, pad)
        self.act = nn.GELU()

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return conv_output_length(lengths, self.kernel, self.stride, self.padding)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.output_lengths(lengths)
        if self.causal:
            x = nn.functional.pad(x, (self.kernel - 1, 0))
        x = self.act(self.conv(x))
        # Zero the padded frames so the next layer sees the same zeros as a lone utterance's padding.
        x = x * lengths_to_mask(lengths, x.shape[-1])[:, None, :].to(x.dtype)
        return x, lengths


class StridedConvSubsampling(nn.Module):
    """Log-mel (B, T, n_mels) -> (B, T', d_model), T' = output_lengths(T) ~ T / prod(strides).

    Args:
        in_dim: feature bins per frame.
        d_model: output width (the encoder's).
        strides: stride of each layer, e.g. (2, 2) = 4x, (2, 2, 2) = 8x.
        kernel_size: odd kernel of every layer (padding = kernel_size // 2).
        channels: channels of the intermediate conv layers.
        separable: depthwise-separable convolutions (fewer parameters and MACs).
        causal: left-padded convolutions: an output frame depends on no input frame after it
            (:attr:`receptive_field` frames before it), so a stream can be subsampled piece by piece.
    """

    def __init__(
        self,
        in_dim: int,
        d_model: int,
        strides: Sequence[int],
        kernel_size: int = 3,
        channels: int = 256,
        separable: bool = False,
        causal: bool = False,
    ):
        super().__init__()
        if not strides or any(s < 1 for s in strides):
            raise ValueError(f"strides must be a non-empty list of positive integers, got {list(strides)}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.strides = tuple(int(s) for s in strides)
        dims = [in_dim] + [channels] * len(self.strides)
        self.layers = nn.ModuleList(
            _ConvLayer(dims[i], dims[i + 1], kernel_size, s, separable, causal) for i, s in enumerate(self.strides)
        )
        self.proj = nn.Linear(channels, d_model)

    @property
    def factor(self) -> int:
        return math.prod(self.strides)

    @property
    def receptive_field(self) -> int:
        """Input frames before an output frame's own (at output * factor) that it depends on, when causal."""
        field, scale = 0, 1
        for layer in self.layers:
            field += (layer.kernel - 1) * scale
            scale *= layer.stride
        return field

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frame counts for input frame counts, exactly as the convolutions compute them."""
        for layer in self.layers:
            lengths = layer.output_lengths(lengths)
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x * lengths_to_mask(lengths, x.shape[1])[:, :, None].to(x.dtype)  # whatever the padding held
        x = x.transpose(1, 2)  # (B, n_mels, T): Conv1d runs over the last axis
        for layer in self.layers:
            x, lengths = layer(x, lengths)
        return self.proj(x.transpose(1, 2)), lengths  # (B, T', d_model)
