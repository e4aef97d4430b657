"""A streaming model's front end and subsampling run on audio as it arrives (asr.streaming's first steps).

Each feature frame is computed once the samples under its window have arrived, exactly as the offline front
end's centred frames (zeros outside the audio), and normalized causally with running sums
(``features.CausalStats``). The subsampling's left-padded convolutions then run over the new feature frames
and the few before them that their receptive field reaches back to. Only the samples and frames a later
frame still needs are kept, so memory stays bounded however long the stream.
"""

from __future__ import annotations

import math

import torch

from .features import N_FFT, CausalStats, normalize_causal
from .model import CTCModel

__all__ = ["StreamFrontEnd"]


class StreamFrontEnd:
    """Audio in pieces (``add``) -> the encoder input frames (1, n, d_model) it completes (``take``)."""

    def __init__(self, model: CTCModel, device: torch.device):
        self.model, self.device = model, device
        self.hop = model.cfg.hop_length
        self.factor = model.subsampling.factor
        # Feature frames kept before the next subsampled frame's own: its receptive field, whole output frames.
        self.history = math.ceil(model.subsampling.receptive_field / self.factor)
        self.received = 0  # samples added so far
        self._samples = torch.zeros(0)  # audio not yet fully used by the front end ...
        self._samples_start = 0  # ... starting at this sample of the stream
        self._feat_done = 0  # feature frames computed so far
        self._stats = CausalStats.empty(1, model.cfg.n_mels, device)
        self._feats = torch.zeros(1, 0, model.cfg.n_mels, device=device)  # normalized, from _feats_start
        self._feats_start = 0
        self._sub_done = 0  # encoder input frames computed so far

    def add(self, wave: torch.Tensor) -> None:
        """Append checked 16 kHz samples (nothing is computed yet)."""
        self.received += len(wave)
        self._samples = torch.cat([self._samples, wave])

    def ready(self) -> int:
        """Encoder input frames the audio so far completes that ``take`` has not returned yet."""
        count = int(self.model.subsampling.output_lengths(torch.tensor([self._feature_count(final=False)]))[0])
        return count - self._sub_done

    def take(self, final: bool = False) -> torch.Tensor:
        """The new encoder input frames (1, n, d_model): those the audio completes, or with ``final`` (the end of
        the audio) all of them."""
        self._features(final)
        return self._subsample()

    def _feature_count(self, final: bool) -> int:
        """Feature frames the audio so far gives: all of them at the end, else those whose window is complete."""
        half = N_FFT // 2
        if final:
            return self.received // self.hop + 1
        return (self.received - half) // self.hop + 1 if self.received >= half else 0

    def _features(self, final: bool) -> None:
        """New feature frames: frame t covers samples [t * hop - N_FFT/2, t * hop + N_FFT/2), zeros outside
        the audio, as the offline front end's centred frames."""
        half = N_FFT // 2
        count = self._feature_count(final)
        if count <= self._feat_done:
            return
        begin, end = self._feat_done * self.hop - half, (count - 1) * self.hop + half
        lo, hi = begin - self._samples_start, end - self._samples_start
        window = self._samples[max(lo, 0) : max(min(hi, len(self._samples)), 0)]
        window = torch.nn.functional.pad(window, (max(-lo, 0), max(hi - len(self._samples), 0)))
        front = self.model.frontend
        raw = front.log_mel(window[None].to(self.device), center=False)  # (1, new frames, n_mels)
        frames = torch.tensor([raw.shape[1]], device=self.device)
        feats = normalize_causal(raw, frames, front.prior_mean, front.prior_var, front.prior_frames, self._stats)
        self._stats = self._stats.add(raw)
        self._feat_done = count
        self._feats = torch.cat([self._feats, feats], dim=1)
        keep_from = count * self.hop - half - self._samples_start  # the next frame's first sample
        if keep_from > 0:
            self._samples = self._samples[keep_from:]
            self._samples_start += keep_from

    def _subsample(self) -> torch.Tensor:
        """New encoder input frames from the features: the convolutions run from ``history`` output frames
        back, and the outputs that saw the window's edge instead of real frames are dropped."""
        sub = self.model.subsampling
        count = int(sub.output_lengths(torch.tensor([self._feat_done]))[0])
        if count <= self._sub_done:
            return torch.zeros(1, 0, self.model.cfg.d_model, device=self.device)
        first = max(self._sub_done - self.history, 0)  # first output frame the window computes
        offset = first * self.factor - self._feats_start
        window = self._feats[:, offset:]
        out, _ = sub(window, torch.tensor([window.shape[1]], device=self.device))
        new = out[:, self._sub_done - first : count - first]
        self._sub_done = count
        drop = max(count - self.history, 0) * self.factor - self._feats_start
        if drop > 0:
            self._feats = self._feats[:, drop:]
            self._feats_start += drop
        return new
