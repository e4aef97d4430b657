"""Word confidence: the probability that a recognized word is right.

Every aligned word carries ``score``, the mean log-probability of its tokens on the frames CTC aligned them to
(``asr.align``). A score ranks words well (right words score higher) but is no probability, and how it maps to
one depends on the model and on how its output was decoded. ``Calibration`` is that map, a logistic curve
``p = 1 / (1 + exp(-(slope * log(0.05 - score) + intercept)))`` fitted on a dev set's words labelled right or
wrong by the same alignment as the WER (``asr tune-confidence``); a model directory keeps one per decoding
("greedy", "lm") in its config.json's ``info.confidence``, and ``Word.confidence`` is filled from it. Most
words score within a few hundredths of 0: the logarithm spreads them out, and on the bundled model's dev sets
it fitted far better than the raw score (2-fold expected calibration error 0.013 against 0.061, greedy;
``benchmarks/word_confidence.py --choose-feature``).

Measures of how good a confidence is: ``auroc`` (how well it ranks right above wrong words, 0.5 = chance)
and ``calibration_error`` (expected calibration error: the mean gap, over confidence bins weighted by their
words, between the stated confidence and the share of words that were right).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import ModelError
from .metrics import score as score_texts

__all__ = [
    "FEATURE",
    "Calibration",
    "fit_calibration",
    "fit_logistic",
    "word_outcomes",
    "auroc",
    "calibration_error",
    "reliability",
    "with_confidence",
]

FEATURE = "log(0.05 - score)"  # what the logistic curve is a function of (stored with each calibration)


def _feature(score):
    """log(0.05 - score) of a score (a mean log-probability, at most 0) or an array of them."""
    return np.log(0.05 - np.minimum(score, 0.0))


@dataclass(frozen=True)
class Calibration:
    slope: float
    intercept: float

    def __call__(self, score: float) -> float:
        """The probability that a word with this ``score`` is right."""
        z = self.slope * float(_feature(score)) + self.intercept
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    @classmethod
    def from_info(cls, info: dict, decoding: str, source: str) -> Calibration | None:
        """The calibration for ``decoding`` in a config's ``info`` (None when it has none)."""
        table = info.get("confidence") or {}
        if not isinstance(table, dict):
            raise ModelError(f"{source}: info.confidence must be an object of curves by decoding")
        entry = table.get(decoding)
        if entry is None:
            return None
        feature = entry.get("feature") if isinstance(entry, dict) else None
        if feature != FEATURE:
            raise ModelError(f"{source}: info.confidence.{decoding} is of {feature!r}, not {FEATURE!r}")
        try:
            return cls(float(entry["slope"]), float(entry["intercept"]))
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{source}: info.confidence.{decoding} needs numbers 'slope' and 'intercept'") from None


def with_confidence(words: list, calibration: Calibration | None) -> list:
    """``words`` (``asr.align.Word``) with ``confidence`` from ``calibration`` (None: left as they are)."""
    if calibration is None:
        return words
    return [dataclasses.replace(w, confidence=round(calibration(w.score), 3)) for w in words]


def fit_calibration(scores: Sequence[float], right: Sequence[bool]) -> Calibration:
    """The logistic curve of ``FEATURE`` of the ``scores`` that best predicts ``right`` (maximum likelihood).
    Needs both right and wrong words."""
    slope, intercept = fit_logistic(_feature(np.asarray(scores, dtype=np.float64)), right)
    return Calibration(slope, intercept)


def fit_logistic(x: Sequence[float], right: Sequence[bool], iterations: int = 50) -> tuple[float, float]:
    """(slope, intercept) of the logistic regression of ``right`` on ``x``: damped Newton steps, with a tiny
    ridge on the slope so that separable data still gives a finite curve. Needs both right and wrong words."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if x.size == 0 or y.min() == y.max():
        raise ValueError(
            f"calibration needs both right and wrong words; got {int(y.sum())} right, {int(y.size - y.sum())} wrong"
        )
    features = np.stack([x, np.ones_like(x)], axis=1)
    ridge = 1e-6 * x.size

    def objective(w: np.ndarray) -> float:  # negative log-likelihood plus the ridge on the slope
        z = features @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * ridge * w[0] ** 2)

    w = np.array([0.0, math.log(y.mean() / (1 - y.mean()))])
    loss = objective(w)
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * (features @ w)))  # the logistic function, without overflow
        gradient = features.T @ (y - p) - ridge * np.array([w[0], 0.0])
        hessian = (features * (p * (1 - p))[:, None]).T @ features + ridge * np.diag([1.0, 1e-9])
        step = np.linalg.solve(hessian, gradient)
        while objective(w + step) > loss and np.abs(step).max() > 1e-12:  # damped: never a worse fit
            step /= 2
        w, previous = w + step, loss
        loss = objective(w)
        if previous - loss < 1e-10 * max(1.0, abs(loss)):
            break
    return float(w[0]), float(w[1])


def word_outcomes(transcripts: Sequence, references: Sequence[str]) -> tuple[list[float], list[bool]]:
    """Each recognized word's score and whether it is right: aligned as the WER aligns them (jiwer, after
    normalization), a word is right where the alignment matches it to the same reference word; a substituted
    or inserted word is wrong. ``transcripts`` need word timestamps (``word_timestamps=True``)."""
    ids = [str(i) for i in range(len(references))]
    report = score_texts(ids, references, [t.text for t in transcripts])
    scores, right = [], []
    for t, u in zip(transcripts, report.utterances):
        ops = [op for op, _, hyp in u.alignment if hyp]
        if len(ops) != len(t.words):  # a word the normalizer splits or drops: leave the utterance out
            continue
        scores += [w.score for w in t.words]
        right += [op == "=" for op in ops]
    return scores, right


def auroc(confidence: Sequence[float], right: Sequence[bool]) -> float:
    """Probability that a random right word is more confident than a random wrong one (ties count half)."""
    c, y = np.asarray(confidence, dtype=np.float64), np.asarray(right, dtype=bool)
    n_right, n_wrong = int(y.sum()), int((~y).sum())
    if not n_right or not n_wrong:
        return float("nan")
    order = np.argsort(c, kind="mergesort")
    ranks = np.empty(c.size)
    sorted_c = c[order]
    start = 0
    for end in range(1, c.size + 1):  # average ranks over runs of ties
        if end == c.size or sorted_c[end] != sorted_c[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    return float((ranks[y].sum() - n_right * (n_right + 1) / 2) / (n_right * n_wrong))


def reliability(confidence: Sequence[float], right: Sequence[bool], bins: int = 10) -> list[dict]:
    """Per confidence bin of width 1/``bins`` that holds words: words, mean confidence, share right."""
    c, y = np.asarray(confidence, dtype=np.float64), np.asarray(right, dtype=np.float64)
    index = np.minimum((c * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "words": int(mask.sum()),
                    "confidence": float(c[mask].mean()),
                    "right": float(y[mask].mean()),
                }
            )
    return rows


def calibration_error(confidence: Sequence[float], right: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: |mean confidence - share right| per bin, weighted by the bin's words."""
    rows = reliability(confidence, right, bins)
    total = sum(r["words"] for r in rows)
    return sum(r["words"] * abs(r["confidence"] - r["right"]) for r in rows) / total if total else float("nan")
