"""Conformer (Gulati et al., 2020) and Transformer encoders over subsampled frames.

Why not ``torchaudio.models.Conformer``: its convolution module runs the depthwise convolution over
padded frames without masking them, so the last frames of a short utterance in a padded batch differ from
the same utterance alone. Here the padding mask is built once at entry and applied before every
time convolution, so a padded batch gives the same outputs as one utterance at a time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .dropout import Dropout, dropout
from .features import lengths_to_mask

__all__ = ["ConformerBlock", "TransformerBlock", "Encoder", "chunk_mask", "EncoderCache"]


class _FeedForward(nn.Module):
    def __init__(self, d_model: int, ff_dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, ff_dim),
            nn.SiLU(),
            Dropout(dropout),
            nn.Linear(ff_dim, d_model),
            Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultiHeadSelfAttention(nn.Module):
    """Scaled dot-product self-attention with a key padding mask.

    The same parameters (names and layout) as ``nn.MultiheadAttention(batch_first=True)``, so weights
    trained with either load into the other; written out because nn.MultiheadAttention's Python path
    turns sequence lengths into constants when traced for ONNX export, and this one keeps them dynamic.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads, self.head_dim, self.dropout = n_heads, d_model // n_heads, dropout
        # training on the CPU: attention written out, its weights dropped by asr.dropout (False: by
        # scaled_dot_product_attention, as on other devices)
        self.explicit_dropout = True
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(
        self, x: torch.Tensor, allowed: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x (B, T, d); ``allowed`` (bool, broadcast to (B, heads, T, keys)) True where a frame may attend.
        ``past``: keys and values (B, heads, P, head_dim) of earlier frames, placed before this input's (a
        stream's cache). Returns the output and the keys and values of past + input."""
        batch = x.shape[0]
        q, k, v = nn.functional.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, -1, self.n_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        if self.training and self.dropout > 0 and self.explicit_dropout and x.device.type == "cpu":
            # scaled_dot_product_attention drops weights with a Bernoulli draw per weight, slow on the CPU: the
            # same computation written out, with asr.dropout's mask, is faster (benchmarks/RESULTS.md).
            scores = (q @ k.transpose(-2, -1)) * self.head_dim**-0.5
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            y = dropout(scores.softmax(dim=-1), self.dropout) @ v
        else:
            y = nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0
            )
        return self.out_proj(y.transpose(1, 2).reshape(batch, -1, self.n_heads * self.head_dim)), (k, v)


class _SelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.attn = MultiHeadSelfAttention(d_model, n_heads, dropout)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor | None, past=None):
        y, kv = self.attn(self.norm(x), allowed, past)
        return self.dropout(y), kv


class _ConvModule(nn.Module):
    """Pointwise conv + GLU, masked depthwise conv, LayerNorm, SiLU, pointwise conv.

    LayerNorm over channels stands where the paper has BatchNorm: per-frame statistics cannot be
    polluted by padding or depend on which utterances share a batch.

    With chunks (streaming), the centred depthwise convolution sees the frames before a frame as always,
    and the frames after it only up to the end of its chunk (zeros beyond, as if the chunk were the end of
    the audio): no future beyond the chunk, the full kernel inside it. ``future`` < kernel_size // 2 uses
    only that many taps after each frame (the others' weights are ignored; 0: causal), so the convolution
    computes the same with and without chunks when ``future`` is 0.
    """

    def __init__(self, d_model: int, kernel_size: int, dropout: float, future: int = -1):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"conv_kernel must be odd, got {kernel_size}")
        self.half = kernel_size // 2
        self.future = self.half if future < 0 else min(future, self.half)
        taps = torch.arange(-self.half, self.half + 1) <= self.future
        self.register_buffer("taps", taps.float()[None, None, :], persistent=False)  # (1, 1, K)
        self.norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel_size, padding=self.half, groups=d_model)
        self.conv_norm = nn.LayerNorm(d_model)
        self.pointwise_out = nn.Conv1d(d_model, d_model, 1)
        self.dropout = Dropout(dropout)

    def kernel(self) -> torch.Tensor:
        """The depthwise weights (D, 1, K) with the taps after ``future`` zeroed."""
        weight = self.depthwise.weight
        return weight if self.future == self.half else weight * self.taps

    def _chunked(self, x: torch.Tensor, chunk: int) -> torch.Tensor:
        """Depthwise convolution of (B, T, D) with each frame's later taps cut at the end of its chunk."""
        time, half = x.shape[1], self.half
        windows = nn.functional.pad(x, (0, 0, half, half)).unfold(1, 2 * half + 1, 1)  # (B, T, D, K)
        frame = torch.arange(time, device=x.device)[:, None]
        tap = frame + torch.arange(-half, half + 1, device=x.device)[None, :]  # (T, K): the frame each tap reads
        same = (tap <= frame) | (tap // chunk == frame // chunk)
        weight = self.kernel()[:, 0, :]  # (D, K)
        return torch.einsum("btdk,tk,dk->btd", windows, same.to(x.dtype), weight) + self.depthwise.bias

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor, chunk: int | None = None, past: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``chunk``: chunk size in frames (None: the whole utterance). ``past``: a stream's depthwise input
        of the ``kernel_size // 2`` frames before ``x``, which is then one whole chunk. Returns the output and
        the last ``kernel_size // 2`` frames of depthwise input (the next chunk's ``past``)."""
        # The pointwise convolutions run as matrix products on (B, T, D), their kernels seen as (out, in):
        # the same parameters as Conv1d(kernel 1), without two of the three transposes.
        x = nn.functional.linear(self.norm(x), self.pointwise_in.weight.squeeze(-1), self.pointwise_in.bias)
        x = nn.functional.glu(x, dim=-1)
        x = x * keep[:, :, None].to(x.dtype)  # padded frames must not leak into real ones
        if past is not None:  # a stream: the chunk after its cached past, zeros after the chunk
            x = torch.cat([past, x], dim=1)
            tail = x[:, x.shape[1] - self.half :]
            x = nn.functional.pad(x, (0, 0, 0, self.half)).transpose(1, 2)
            x = nn.functional.conv1d(x, self.kernel(), self.depthwise.bias, groups=x.shape[1]).transpose(1, 2)
        else:
            tail = x[:, max(x.shape[1] - self.half, 0) :]
            if chunk is None:
                x = nn.functional.conv1d(
                    x.transpose(1, 2), self.kernel(), self.depthwise.bias, padding=self.half, groups=x.shape[2]
                ).transpose(1, 2)  # (B, T, D)
            else:
                x = self._chunked(x, chunk)
        x = nn.functional.silu(self.conv_norm(x))
        y = nn.functional.linear(x, self.pointwise_out.weight.squeeze(-1), self.pointwise_out.bias)
        return self.dropout(y), tail


class ConformerBlock(nn.Module):
    """Half FFN, self-attention, convolution, half FFN; (B, T, D) in and out.

    Pre-norm only: the paper's LayerNorm at the end of every block is left out (one LayerNorm closes the
    encoder instead). Measured here: with a per-block final LayerNorm a 6-layer, d_model 144 model stayed at
    the CTC plateau (unigram loss) for 160+ steps on 400 synthetic utterances, where this pre-norm
    version broke out after ~150 steps, as the pre-norm Transformer did after ~100.
    """

    def __init__(
        self, d_model: int, n_heads: int, ff_dim: int, conv_kernel: int, dropout: float, conv_future: int = -1
    ):
        super().__init__()
        self.ff1 = _FeedForward(d_model, ff_dim, dropout)
        self.attn = _SelfAttention(d_model, n_heads, dropout)
        self.conv = _ConvModule(d_model, conv_kernel, dropout, conv_future)
        self.ff2 = _FeedForward(d_model, ff_dim, dropout)

    def residual_outputs(self) -> list[nn.Module]:
        """The last layer of each residual branch: zeroed, the block computes the identity."""
        return [self.ff1.net[-2], self.attn.attn.out_proj, self.conv.pointwise_out, self.ff2.net[-2]]

    def forward(
        self,
        x: torch.Tensor,
        keep: torch.Tensor,
        allowed: torch.Tensor | None,
        chunk: int | None = None,
        past: "_BlockCache | None" = None,
    ):
        """Returns the output and what a stream keeps for the next chunk (keys/values, convolution input)."""
        x = x + 0.5 * self.ff1(x)
        y, kv = self.attn(x, allowed, past and past.kv)
        x = x + y
        y, conv = self.conv(x, keep, chunk, past and past.conv)
        x = x + y
        return x + 0.5 * self.ff2(x), _BlockCache(kv, conv)


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + feed-forward; (B, T, D) in and out."""

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.attn = _SelfAttention(d_model, n_heads, dropout)
        self.ff = _FeedForward(d_model, ff_dim, dropout)

    def residual_outputs(self) -> list[nn.Module]:
        """The last layer of each residual branch: zeroed, the block computes the identity."""
        return [self.attn.attn.out_proj, self.ff.net[-2]]

    def forward(
        self,
        x: torch.Tensor,
        keep: torch.Tensor,
        allowed: torch.Tensor | None,
        chunk: int | None = None,
        past: "_BlockCache | None" = None,
    ):
        y, kv = self.attn(x, allowed, past and past.kv)
        x = x + y
        return x + self.ff(x), _BlockCache(kv, None)


def _sinusoids(length: int, dim: int, device: torch.device) -> torch.Tensor:
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)
    return table


def chunk_mask(length: int, chunk: int, left: int, device: torch.device | None = None) -> torch.Tensor:
    """(T, T) bool, True where frame i may attend to frame j: j's chunk (of ``chunk`` frames, counted from
    frame 0) is i's own or one of the ``left`` before it (all before it when ``left`` < 0)."""
    index = torch.arange(length, device=device) // chunk
    allowed = index[None, :] <= index[:, None]
    if left >= 0:
        allowed &= index[None, :] >= index[:, None] - left
    return allowed


class _BlockCache:
    """What one block keeps between a stream's chunks: attention keys/values and convolution input."""

    def __init__(self, kv: tuple[torch.Tensor, torch.Tensor], conv: torch.Tensor | None):
        self.kv, self.conv = kv, conv


class EncoderCache:
    """A stream's encoder state: per block, the keys/values of at most ``left`` frames and the
    convolution's last input frames; ``frames``: how many frames the stream has passed through."""

    def __init__(self, blocks: list[_BlockCache] | None = None, frames: int = 0):
        self.blocks, self.frames = blocks, frames


class Encoder(nn.Module):
    """A stack of Conformer or Transformer blocks: (B, T, D) + lengths -> (B, T, D) + lengths.

    The Conformer takes no positional encoding (its depthwise convolutions carry relative position, as
    in torchaudio's Conformer); the Transformer adds sinusoidal positions at entry. Both blocks are
    pre-norm, and one LayerNorm closes the stack.

    Streaming (Conformer): ``forward(..., chunk=(size, left))`` lets each frame attend only to its own chunk
    of ``size`` frames and the ``left`` chunks before it (all before it when ``left`` < 0), its convolutions
    see no frame after its chunk; :meth:`step` computes the same outputs one chunk at a time from an
    :class:`EncoderCache`.
    """

    def __init__(
        self,
        kind: str,
        d_model: int,
        n_layers: int,
        n_heads: int,
        ff_dim: int,
        conv_kernel: int,
        dropout: float,
        conv_future: int = -1,
    ):
        super().__init__()
        if kind not in ("conformer", "transformer"):
            raise ValueError(f"encoder must be 'conformer' or 'transformer', got {kind!r}")
        if d_model % n_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.kind = kind
        if kind == "conformer":
            blocks = [
                ConformerBlock(d_model, n_heads, ff_dim, conv_kernel, dropout, conv_future) for _ in range(n_layers)
            ]
        else:
            blocks = [TransformerBlock(d_model, n_heads, ff_dim, dropout) for _ in range(n_layers)]
        self.blocks = nn.ModuleList(blocks)
        self.dropout = Dropout(dropout)
        self.final_norm = nn.LayerNorm(d_model)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor, chunk: tuple[int, int] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keep = lengths_to_mask(lengths, x.shape[1])  # (B, T), built once for every block
        allowed = keep[:, None, None, :]  # (B, 1, 1, T): attend to real frames only
        if chunk is not None:  # padded frames attend to everything: no row may be empty (NaN)
            allowed = allowed & chunk_mask(x.shape[1], chunk[0], chunk[1], x.device)[None, None]
            allowed = allowed | ~keep[:, None, :, None]
        if self.kind == "transformer":
            x = x + _sinusoids(x.shape[1], x.shape[2], x.device).to(x.dtype)
        x = self.dropout(x)
        for block in self.blocks:
            x, _ = block(x, keep, allowed, chunk and chunk[0])
        return self.final_norm(x), lengths

    def step(
        self, x: torch.Tensor, caches: list[EncoderCache], left_frames: int
    ) -> tuple[torch.Tensor, list[EncoderCache]]:
        """One chunk of each of B streams, (B, C, D) with one cache per stream -> the outputs (B, C, D) and each
        stream's state for its next chunk, which keeps the keys/values of its last ``left_frames`` frames.
        Chunks of ``size`` frames with ``left_frames`` = ``left * size`` give what ``forward(chunk=(size, left))``
        gives for each whole stream. Streams further along than others in the batch have more cached frames:
        the shorter caches are padded in front and the padding masked, so each row is computed as alone."""
        if self.kind != "conformer":
            raise ValueError("only a conformer encoder runs chunk by chunk")
        if len(caches) != x.shape[0]:
            raise ValueError(f"{x.shape[0]} chunks but {len(caches)} stream caches")
        batch, size = x.shape[:2]
        keep = torch.ones(batch, size, dtype=torch.bool, device=x.device)
        pasts = [cache.blocks[0].kv[0].shape[2] if cache.blocks else 0 for cache in caches]
        longest = max(pasts)
        allowed = None  # a chunk sees itself and its cache, all of it
        if min(pasts) < longest:
            columns = torch.arange(longest + size, device=x.device)[None, :]
            allowed = (columns >= longest - torch.tensor(pasts, device=x.device)[:, None])[:, None, None, :]
        states = []
        for i, block in enumerate(self.blocks):
            x, state = block(x, keep, allowed, size, self._batched_past(caches, i, longest, x))
            states.append(state)
        out = []
        for row, (cache, past) in enumerate(zip(caches, pasts)):
            blocks = []
            for state in states:
                k, v = (t[row : row + 1, :, longest - past :] for t in state.kv)
                start = max(k.shape[2] - left_frames, 0)
                blocks.append(_BlockCache((k[:, :, start:], v[:, :, start:]), state.conv[row : row + 1]))
            out.append(EncoderCache(blocks, cache.frames + size))
        return self.final_norm(x), out

    def _batched_past(self, caches: list[EncoderCache], i: int, longest: int, x: torch.Tensor) -> _BlockCache:
        """Block ``i``'s cached keys/values (front-padded to ``longest`` frames) and convolution input of every
        stream, stacked; a stream's first chunk has no keys and zeros before its convolution."""
        if len(caches) == 1 and caches[0].blocks:  # one stream: its own cache as it is, nothing to stack
            return caches[0].blocks[i]
        half = self.blocks[i].conv.half
        convs = [c.blocks[i].conv if c.blocks else x.new_zeros(1, half, x.shape[2]) for c in caches]
        if longest == 0:
            return _BlockCache(None, torch.cat(convs))
        heads, dim = self.blocks[i].attn.attn.n_heads, self.blocks[i].attn.attn.head_dim
        keys, values = [], []
        for cache in caches:
            k, v = cache.blocks[i].kv if cache.blocks else (x.new_zeros(1, heads, 0, dim),) * 2
            pad = (0, 0, longest - k.shape[2], 0)
            keys.append(nn.functional.pad(k, pad))
            values.append(nn.functional.pad(v, pad))
        return _BlockCache((torch.cat(keys), torch.cat(values)), torch.cat(convs))
