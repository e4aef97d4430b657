"""Score a model on a manifest: WER/CER with error counts and a per-utterance report."""

from __future__ import annotations

from pathlib import Path

from .audio import load_audio_files
from .data import read_manifest
from .metrics import ScoreReport, score
from .transcribe import ASRModel

__all__ = ["evaluate_manifest"]


def evaluate_manifest(
    model: ASRModel, manifest: str | Path, batch_size: int = 16, **decoding
) -> tuple[ScoreReport, list[str], float]:
    """Transcribe every utterance of ``manifest`` and score it; ``decoding`` options (beam_size, lm,
    lm_weight, word_score) go to :meth:`ASRModel.transcribe_batch`.

    Returns (report, error messages for unreadable audio, seconds of audio decoded). Bad audio is skipped
    and reported, never fatal for the rest.
    """
    utts = read_manifest(manifest)
    good, hyps, failures = [], [], []
    chunk = 16 * batch_size  # audio held in memory at once: enough to batch by length, bounded
    for start in range(0, len(utts), chunk):
        batch = utts[start : start + chunk]
        loaded, waves, errors = load_audio_files([u.audio for u in batch])
        good += [batch[i] for i in loaded]
        failures += [f"{manifest}:{batch[i].line}: {e}" for i, e in errors.items()]
        if waves:
            hyps += [t.text for t in model.transcribe_batch(
                waves, sample_rate=model.sample_rate, batch_size=batch_size, **decoding
            )]
    report = score([u.id for u in good], [u.text for u in good], hyps)
    return report, failures, sum(u.duration for u in good)
