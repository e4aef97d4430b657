"""Log-mel front end, per-utterance normalization and SpecAugment.

Front-end constants are named here once; the duration of a feature frame (and of an encoder frame)
is derived from them, never hard-coded elsewhere.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from .audio import SAMPLE_RATE

__all__ = [
    "N_MELS",
    "WIN_LENGTH",
    "HOP_LENGTH",
    "N_FFT",
    "LOG_FLOOR",
    "PRIOR_SECONDS",
    "num_frames",
    "lengths_to_mask",
    "normalize_per_utterance",
    "normalize_causal",
    "vtlp_filterbank",
    "LogMel",
    "SpecAugment",
]

N_MELS = 80
WIN_LENGTH = SAMPLE_RATE * 25 // 1000  # 25 ms window = 400 samples
HOP_LENGTH = SAMPLE_RATE * 10 // 1000  # 10 ms hop = 160 samples
N_FFT = 512
LOG_FLOOR = 1e-6
PRIOR_SECONDS = 1.0  # causal normalization: weight of the stored statistics, in seconds of speech
VTLP_BOUNDARY_HZ = 4800.0  # VTLP warps linearly below this frequency (scaled by the factor), then bends to Nyquist


def num_frames(num_samples: torch.Tensor, hop_length: int = HOP_LENGTH) -> torch.Tensor:
    """Feature frames for a number of samples: centred frames, one per hop, plus one."""
    return torch.div(num_samples, hop_length, rounding_mode="floor") + 1


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True on real frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def vtlp_filterbank(fb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Mel filterbank (n_freqs, n_mels) -> one warped copy per factor in ``alpha`` (B,): (B, n_freqs, n_mels).

    Vocal tract length perturbation (Jaitly & Hinton, 2013): the energy at frequency f is binned as if it
    were at f' = alpha * f below a boundary, with a second linear piece above it that keeps 0 and Nyquist in
    place, so alpha > 1 moves formants up (a shorter vocal tract) and alpha < 1 down. Each row of the
    result is the original filterbank read at the warped frequency, interpolated between FFT bins.
    """
    n_freqs = fb.shape[0]
    nyquist = SAMPLE_RATE / 2
    freqs = torch.linspace(0.0, nyquist, n_freqs, device=fb.device, dtype=fb.dtype)[None, :]  # (1, F)
    alpha = alpha.to(fb.dtype)[:, None]  # (B, 1)
    edge = VTLP_BOUNDARY_HZ * alpha.clamp(max=1.0)  # where the slope changes, after warping
    boundary = edge / alpha  # ... and before
    upper = nyquist - (nyquist - edge) / (nyquist - boundary) * (nyquist - freqs)
    warped = torch.where(freqs <= boundary, alpha * freqs, upper)  # (B, F), monotone, 0 -> 0, Nyquist -> Nyquist
    position = (warped / nyquist * (n_freqs - 1)).clamp(0, n_freqs - 1)
    low = position.floor().long().clamp(max=n_freqs - 2)
    frac = (position - low.to(fb.dtype))[..., None]  # (B, F, 1)
    return fb[low] * (1 - frac) + fb[low + 1] * frac


class LogMel(nn.Module):
    """Waveform (B, S) + sample counts -> normalized log-mel (B, T, n_mels) + frame counts.

    Frames are centred with zero padding, so a frame near the end of a short utterance sees the same
    zeros whether the utterance is alone or padded in a batch. ``warp`` (B,), when given, bins each
    utterance's spectrum through its own VTLP-warped filterbank (training augmentation). ``hop_length``
    (samples) sets the frame rate; the 25 ms window stays, so a shorter hop than the 10 ms default samples
    the same sounds more densely, as if the speech were slower.

    Normalization, per mel bin: by default zero mean and unit variance over each utterance's own real
    frames (padded frames set to 0). With ``causal``, each frame is normalized by the statistics of the
    frames up to it, mixed with stored ones (``prior_mean``, ``prior_var``: the training data's, worth
    :data:`PRIOR_SECONDS` of frames): nothing after a frame changes it, so the same features come out
    whether the audio arrives at once or piece by piece (streaming).
    """

    def __init__(self, n_mels: int = N_MELS, hop_length: int = HOP_LENGTH, causal: bool = False):
        super().__init__()
        self.hop_length, self.causal = hop_length, causal
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE,
            n_fft=N_FFT,
            win_length=WIN_LENGTH,
            hop_length=hop_length,
            n_mels=n_mels,
            center=True,
            pad_mode="constant",
            power=2.0,
        )
        if causal:
            self.register_buffer("prior_mean", torch.zeros(n_mels))
            self.register_buffer("prior_var", torch.ones(n_mels))

    @property
    def prior_frames(self) -> float:
        return PRIOR_SECONDS * SAMPLE_RATE / self.hop_length

    def log_mel(self, wave: torch.Tensor, warp: torch.Tensor | None = None, center: bool = True) -> torch.Tensor:
        """Unnormalized log-mel (B, T, n_mels). ``center=False``: frame t covers samples
        [t * hop, t * hop + N_FFT) of ``wave`` (streaming computes centred frames from such windows)."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            # torchaudio's MelSpectrogram holds the window and filterbank (and names them in model files);
            # the power spectrum is taken here as re^2 + im^2 rather than |X| then squared (a square root
            # and a power per bin; see benchmarks/profile_transcribe.py).
            spec = torch.stft(
                wave.float(),
                N_FFT,
                self.hop_length,
                WIN_LENGTH,
                self.mel.spectrogram.window,
                center=center,
                pad_mode="constant",
                return_complex=True,
            )  # (B, bins, T)
            power = spec.real.square() + spec.imag.square()
            fb = self.mel.mel_scale.fb if warp is None else vtlp_filterbank(self.mel.mel_scale.fb, warp)
            return torch.matmul(power.transpose(1, 2), fb).clamp_min(LOG_FLOOR).log()  # (B, T, n_mels)

    def normalize(self, feats: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        if self.causal:
            return normalize_causal(feats, frames, self.prior_mean, self.prior_var, self.prior_frames)
        return normalize_per_utterance(feats, frames)

    @torch.no_grad()
    def set_prior(self, feats: torch.Tensor, frames: torch.Tensor) -> None:
        """Store the mean and variance per mel bin of unnormalized log-mel frames (causal normalization)."""
        mask = lengths_to_mask(frames, feats.shape[1])
        real = feats[mask].double()  # (N, n_mels)
        self.prior_mean.copy_(real.mean(dim=0))
        self.prior_var.copy_(real.var(dim=0, unbiased=False))

    def forward(
        self, wave: torch.Tensor, lengths: torch.Tensor, warp: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        frames = num_frames(lengths, self.hop_length)
        return self.normalize(self.log_mel(wave, warp), frames), frames


def normalize_per_utterance(feats: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per mel bin over each utterance's ``frames`` real frames; padding set to 0."""
    mask = lengths_to_mask(frames, feats.shape[1]).unsqueeze(-1)  # (B, T, 1)
    count = frames.clamp_min(1).to(feats.dtype)[:, None, None]
    mean = (feats * mask).sum(dim=1, keepdim=True) / count
    var = (((feats - mean) * mask) ** 2).sum(dim=1, keepdim=True) / count
    feats = (feats - mean) / (var + 1e-5).sqrt()
    return feats.masked_fill(~mask, 0.0)


def normalize_causal(
    feats: torch.Tensor,
    frames: torch.Tensor,
    prior_mean: torch.Tensor,
    prior_var: torch.Tensor,
    prior_frames: float,
    start: "CausalStats | None" = None,
) -> torch.Tensor:
    """Each frame normalized by the mean and variance per mel bin of the frames up to it and ``prior_frames``
    frames of the prior statistics; padding set to 0. Sums run in float64, so the result does not depend on
    how a stream was cut into pieces; ``start`` carries the sums of earlier frames (a stream's state)."""
    x = feats.double()
    count = torch.arange(1, x.shape[1] + 1, device=x.device, dtype=x.dtype)[None, :, None]
    total, square = x.cumsum(dim=1), x.square().cumsum(dim=1)
    if start is not None:
        count = count + start.count[:, None, None]
        total, square = total + start.total[:, None, :], square + start.square[:, None, :]
    mean_p, var_p = prior_mean.double(), prior_var.double()
    weight = prior_frames + count
    mean = (prior_frames * mean_p + total) / weight
    var = ((prior_frames * (var_p + mean_p.square()) + square) / weight - mean.square()).clamp_min(0)
    out = ((x - mean) / (var + 1e-5).sqrt()).to(feats.dtype)
    return out.masked_fill(~lengths_to_mask(frames, feats.shape[1]).unsqueeze(-1), 0.0)


class CausalStats:
    """Running sums of a stream's log-mel frames per mel bin (count, sum, sum of squares), float64."""

    def __init__(self, count: torch.Tensor, total: torch.Tensor, square: torch.Tensor):
        self.count, self.total, self.square = count, total, square

    @classmethod
    def empty(cls, batch: int, n_mels: int, device: torch.device) -> "CausalStats":
        zeros = torch.zeros(batch, n_mels, dtype=torch.float64, device=device)
        return cls(torch.zeros(batch, dtype=torch.float64, device=device), zeros, zeros.clone())

    def add(self, feats: torch.Tensor) -> "CausalStats":
        """The sums after ``feats`` (B, T, n_mels), all real frames."""
        x = feats.double()
        return CausalStats(self.count + x.shape[1], self.total + x.sum(dim=1), self.square + x.square().sum(dim=1))


class SpecAugment(nn.Module):
    """Frequency and time masks (Park et al., 2019), drawn per utterance, within its real frames.

    Active only in training mode. Time-mask width is capped by ``time_mask_ratio`` of each utterance's
    length so short utterances are not wiped out. Randomness comes from torch's global generator, whose
    state training checkpoints save.
    """

    def __init__(self, freq_masks: int, freq_width: int, time_masks: int, time_width: int, time_ratio: float):
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width, self.time_ratio = time_masks, time_width, time_ratio

    @staticmethod
    def _band_mask(n_masks: int, max_width: torch.Tensor, extent: torch.Tensor, size: int) -> torch.Tensor:
        """(B, size) bool: union of ``n_masks`` random bands of width < max_width inside [0, extent)."""
        batch = extent.shape[0]
        device = extent.device
        pos = torch.arange(size, device=device)[None, None, :]
        width = (torch.rand(batch, n_masks, device=device) * (max_width[:, None] + 1)).floor()
        start = (torch.rand(batch, n_masks, device=device) * (extent[:, None] - width).clamp_min(1)).floor()
        bands = (pos >= start[..., None]) & (pos < (start + width)[..., None])
        return bands.any(dim=1)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return feats, lengths
        batch, time, mels = feats.shape
        if self.freq_masks > 0 and self.freq_width > 0:
            width = torch.full((batch,), float(self.freq_width), device=feats.device)
            extent = torch.full((batch,), float(mels), device=feats.device)
            feats = feats.masked_fill(self._band_mask(self.freq_masks, width, extent, mels)[:, None, :], 0.0)
        if self.time_masks > 0 and self.time_width > 0:
            extent = lengths.to(feats.dtype)
            width = torch.minimum(extent * self.time_ratio, torch.full_like(extent, float(self.time_width)))
            feats = feats.masked_fill(self._band_mask(self.time_masks, width, extent, time)[:, :, None], 0.0)
        return feats, lengths
