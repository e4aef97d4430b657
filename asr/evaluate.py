"""Score a model on a manifest: WER/CER with error counts and a per-utterance report."""

from __future__ import annotations

import time
from pathlib import Path

from .adapt import Adaptation
from .audio import load_audio_files
from .data import read_manifest
from .errors import ManifestError, ModelError, check_count
from .metrics import ScoreReport, score
from .model import CTCModel, ModelConfig
from .transcribe import ASRModel

__all__ = ["evaluate_manifest", "tune_lm_weights", "tune_hop_length", "tune_confidence"]


def evaluate_manifest(
    model: ASRModel, manifest: str | Path, batch_size: int = 16, **decoding
) -> tuple[ScoreReport, list[str], float]:
    """Transcribe every utterance of ``manifest`` and score it; ``decoding`` options (beam_size, lm,
    lm_weight, word_score) go to :meth:`ASRModel.transcribe_batch`.

    Returns (report, error messages for unreadable audio, seconds of audio decoded). Bad audio is skipped
    and reported, never fatal for the rest.
    """
    check_count(batch_size, "batch_size")
    utts = read_manifest(manifest)
    good, hyps, failures = [], [], []
    chunk = 16 * batch_size  # audio held in memory at once: enough to batch by length, bounded
    for start in range(0, len(utts), chunk):
        batch = utts[start : start + chunk]
        loaded, waves, errors = load_audio_files([u.audio for u in batch])
        good += [batch[i] for i in loaded]
        failures += [f"{manifest}:{batch[i].line}: {e}" for i, e in errors.items()]
        if waves:
            hyps += [
                t.text
                for t in model.transcribe_batch(waves, sample_rate=model.sample_rate, batch_size=batch_size, **decoding)
            ]
    report = score([u.id for u in good], [u.text for u in good], hyps)
    return report, failures, sum(u.duration for u in good)


def _dev_manifest(manifest: str | Path) -> list:
    """A tuning manifest's utterances; one whose references hold no word (non-speech clips only) cannot rank
    settings by WER, so it is refused rather than every setting tying at 0%."""
    utts = read_manifest(manifest)
    if not any(u.text.split() for u in utts):
        raise ManifestError(f"{manifest}: no reference words (every transcript is empty): nothing to tune on")
    return utts


def tune_hop_length(model: ASRModel, manifest: str | Path, hops: list[int], batch_size: int = 16) -> list[dict]:
    """Greedy WER of ``model``'s weights read at each feature hop (``model.hop_length``, samples) on a dev
    manifest. A shorter hop with the same 25 ms window cuts the same speech into more frames, much like
    slower speech: it helps a model short of frames for its labels (benchmarks/label_density.py). Returns one
    row per hop (WER, CER, errors, decode seconds), best first; on a tie the longer, cheaper hop."""
    _dev_manifest(manifest)
    rows = []
    for hop in hops:
        cfg = ModelConfig.from_dict({**model.model.cfg.to_dict(), "hop_length": hop}, source=f"hop {hop}")
        network = CTCModel(cfg).to(model.device).eval()
        network.load_state_dict(model.model.state_dict())
        reader = ASRModel(network, model.tokenizer, model.config, model.path, model.device)
        started = time.perf_counter()
        report, failures, _ = evaluate_manifest(reader, manifest, batch_size)
        if failures:
            raise ModelError(f"{manifest}: unreadable audio, fix the manifest first: {failures[0]}")
        rows.append(
            {
                "hop_length": hop,
                "frame_ms": 1000 * network.frame_seconds,
                "wer": report.wer.rate,
                "cer": report.cer.rate,
                "errors": report.wer.errors,
                "decode_seconds": time.perf_counter() - started,
            }
        )
    return sorted(rows, key=lambda r: (r["wer"], r["cer"], -r["hop_length"]))


def tune_lm_weights(
    model: ASRModel,
    lm_dir: str | Path,
    manifest: str | Path,
    lm_weights: list[float],
    word_scores: list[float],
    beam_size: int = 50,
    batch_size: int = 16,
    adapt: Adaptation | None = None,
) -> list[dict]:
    """Grid search of LM weight x word insertion score on a dev manifest: the network runs once (after
    test-time adaptation with ``adapt``), each setting re-decodes its log-probs. Returns one row per setting
    (WER, CER, decode seconds), best first."""
    from .audio import load_audio
    from .decoding import BeamSearchDecoder, load_lm_config

    check_count(batch_size, "batch_size")
    utts = _dev_manifest(manifest)
    lm = load_lm_config(lm_dir)
    emissions = []
    for start in range(0, len(utts), batch_size):
        batch = utts[start : start + batch_size]
        log_probs, lengths = model.encode([load_audio(u.audio) for u in batch], adapt=adapt)
        emissions += [(log_probs[i : i + 1, : lengths[i]].cpu(), lengths[i : i + 1].cpu()) for i in range(len(batch))]
    rows = []
    for weight in lm_weights:
        for word_score in word_scores:
            decoder = BeamSearchDecoder(
                model.tokenizer, lm, beam_size=beam_size, lm_weight=weight, word_score=word_score
            )
            started = time.perf_counter()
            hyps = [model.tokenizer.decode(decoder(lp, n)[0].tokens) for lp, n in emissions]
            elapsed = time.perf_counter() - started
            report = score([u.id for u in utts], [u.text for u in utts], hyps)
            rows.append(
                {
                    "lm_weight": weight,
                    "word_score": word_score,
                    "beam_size": beam_size,
                    "wer": report.wer.rate,
                    "cer": report.cer.rate,
                    "decode_seconds": elapsed,
                }
            )
    return sorted(rows, key=lambda r: (r["wer"], r["cer"]))


def tune_confidence(model: ASRModel, manifest: str | Path, lm: bool = False, batch_size: int = 16) -> dict:
    """Fit the word-confidence calibration (``asr.confidence``) of ``model``'s output on a dev manifest, decoded
    greedily or with the model's LM (``lm``). Returns the calibration and how well it does on these words:
    ``auroc``, ``calibration_error`` and the ``reliability`` rows."""
    from .confidence import auroc, calibration_error, fit_calibration, reliability, word_outcomes

    utts = _dev_manifest(manifest)
    transcripts = model.transcribe_batch(
        [u.audio for u in utts], batch_size=batch_size, lm=lm or None, word_timestamps=True
    )
    scores, right = word_outcomes(transcripts, [u.text for u in utts])
    try:
        calibration = fit_calibration(scores, right)
    except ValueError as e:
        raise ManifestError(f"{manifest}: {e}") from None
    confidence = [calibration(x) for x in scores]
    return {
        "decoding": "lm" if lm else "greedy",
        "calibration": calibration,
        "words": len(right),
        "right": sum(right),
        "auroc": auroc(scores, right),
        "calibration_error": calibration_error(confidence, right),
        "reliability": reliability(confidence, right),
    }
