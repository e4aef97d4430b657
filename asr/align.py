"""Word timestamps from CTC alignment.

The model's own best transcript is force-aligned to its log-probs (``torchaudio.functional.forced_align``,
Viterbi over the CTC topology); each word spans its tokens' frames, converted to seconds with the
model's frame duration (10 ms hop x the subsampling factor, from the config, never hard-coded).

CTC emits a token as a spike, often one frame, near where the token's sound begins, so a word's last
frame says little about where its sound stops. When the waveform is given, each word boundary is then
moved to where the sound actually starts and stops: the edge grows outward over frames whose energy is
above a silence level (set from the file's own quiet and loud frames), never past the neighbouring words'.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio.functional as AF

from .audio import SAMPLE_RATE
from .tokenizer import BLANK, Tokenizer

__all__ = ["Word", "align_words", "frame_energy_db"]

ENERGY_HOP = 0.01  # seconds per energy frame for boundary refinement


@dataclass
class Word:
    """A recognized word and its time in the audio (``Transcript.words``)."""

    word: str
    start: float  # seconds
    end: float
    score: float = 0.0  # mean token log-probability on the aligned frames (higher = more confident)
    confidence: float | None = None  # probability that the word is right (asr.confidence); None: not calibrated


def _token_spans(log_probs: torch.Tensor, tokens: list[int]) -> list[tuple[int, int, float]]:
    """(first frame, last frame + 1, mean log-prob) per token of ``tokens`` on (T, V) ``log_probs``."""
    emissions = log_probs.detach().float().cpu()[None]
    targets = torch.tensor([tokens], dtype=torch.int32)
    labels, scores = AF.forced_align(emissions, targets, blank=BLANK)
    spans = AF.merge_tokens(labels[0], scores[0])  # a span's score: mean of its frames' log-probs
    return [(s.start, s.end, float(s.score)) for s in spans]


def frame_energy_db(wave: torch.Tensor, hop: float = ENERGY_HOP) -> torch.Tensor:
    """Energy of each ``hop``-second frame of a 16 kHz wave in dB (floor -100)."""
    n = int(hop * SAMPLE_RATE)
    frames = wave[: wave.numel() // n * n].reshape(-1, n) if wave.numel() >= n else wave.reshape(1, -1)
    return 10 * torch.log10(frames.float().pow(2).mean(dim=1).clamp_min(1e-10))


def _refine(words: list[Word], wave: torch.Tensor) -> list[Word]:
    energy = frame_energy_db(wave)
    if energy.numel() < 10:
        return words
    quiet, loud = torch.quantile(energy, 0.1), torch.quantile(energy, 0.9)
    voiced = (energy > quiet + 0.25 * (loud - quiet)).tolist()  # a quarter of the way from quiet to loud
    n = len(voiced)
    out = []
    for i, w in enumerate(words):
        lo = int(round(out[-1].end / ENERGY_HOP)) if out else 0
        hi = int(round(words[i + 1].start / ENERGY_HOP)) if i + 1 < len(words) else n
        start = min(max(int(w.start / ENERGY_HOP), lo), n - 1)
        end = min(max(int(round(w.end / ENERGY_HOP)), start + 1), n)
        while start > lo and voiced[start - 1]:
            start -= 1
        while start < end - 1 and not voiced[start]:  # CTC may mark the word from a frame of silence
            start += 1
        while end < hi and voiced[end]:
            end += 1
        while end > start + 1 and not voiced[end - 1]:
            end -= 1
        out.append(Word(w.word, start * ENERGY_HOP, end * ENERGY_HOP, w.score))
    return out


def align_words(
    log_probs: torch.Tensor,
    tokens: list[int],
    tokenizer: Tokenizer,
    frame_seconds: float,
    wave: torch.Tensor | None = None,
    offset: float = 0.0,
) -> list[Word]:
    """Words of ``tokens`` with start/end seconds (plus ``offset``) from (T, V) ``log_probs`` of one
    utterance; boundaries refined on ``wave`` (16 kHz) when given."""
    if not tokens:
        return []
    spans = _token_spans(log_probs, tokens)
    words = []
    for begin, end in tokenizer.word_spans(tokens):
        text = tokenizer.decode(tokens[begin:end])
        if not text:
            continue
        first, last = spans[begin], spans[end - 1]
        score = sum(s[2] for s in spans[begin:end]) / (end - begin)
        words.append(Word(text, first[0] * frame_seconds, last[1] * frame_seconds, score))
    if wave is not None:
        words = _refine(words, wave)
    return [Word(w.word, round(w.start + offset, 3), round(w.end + offset, 3), round(w.score, 3)) for w in words]
