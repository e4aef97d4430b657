"""Word and character error rates (jiwer) with substitution/deletion/insertion counts and a
per-utterance report sorted worst first. Both sides are normalized with :func:`normalize_text`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import jiwer

from .tokenizer import normalize_text

__all__ = ["ErrorCounts", "UtteranceScore", "ScoreReport", "score", "write_utterance_report"]


@dataclass
class ErrorCounts:
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_length: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference unit; an empty reference counts each inserted unit as one error."""
        return self.errors / max(self.reference_length, 1)

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_length + other.reference_length,
        )

    def describe(self, name: str) -> str:
        return (
            f"{name} {100 * self.rate:.2f}% [{self.errors} / {self.reference_length}, "
            f"{self.substitutions} sub, {self.deletions} del, {self.insertions} ins]"
        )


@dataclass
class UtteranceScore:
    id: str
    ref: str
    hyp: str
    words: ErrorCounts
    chars: ErrorCounts


@dataclass
class ScoreReport:
    wer: ErrorCounts = field(default_factory=ErrorCounts)
    cer: ErrorCounts = field(default_factory=ErrorCounts)
    utterances: list[UtteranceScore] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.wer.describe('WER')}\n{self.cer.describe('CER')}\nutterances {len(self.utterances)}"


def _counts(out, ref: str, unit: str) -> ErrorCounts:
    length = len(ref.split()) if unit == "word" else len(ref)
    return ErrorCounts(out.substitutions, out.deletions, out.insertions, length)


def score(ids: Sequence[str], refs: Sequence[str], hyps: Sequence[str]) -> ScoreReport:
    """Score hypotheses against references (normalized first); corpus rates sum the utterances' counts."""
    if not (len(ids) == len(refs) == len(hyps)):
        raise ValueError("ids, refs and hyps must have the same length")
    report = ScoreReport()
    for uid, ref, hyp in zip(ids, refs, hyps):
        ref, hyp = normalize_text(ref), normalize_text(hyp)
        words = _counts(jiwer.process_words(ref, hyp), ref, "word")
        chars = _counts(jiwer.process_characters(ref, hyp), ref, "char")
        report.utterances.append(UtteranceScore(uid, ref, hyp, words, chars))
        report.wer += words
        report.cer += chars
    return report


def write_utterance_report(report: ScoreReport, path: str | Path) -> None:
    """Tab-separated id, word errors, reference words, WER, ref, hyp; worst utterances first."""
    rows = sorted(report.utterances, key=lambda u: (-u.words.errors, -u.words.rate, u.id))
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\terrors\tref_words\twer\tref\thyp\n")
        for u in rows:
            f.write(f"{u.id}\t{u.words.errors}\t{u.words.reference_length}\t{100 * u.words.rate:.1f}\t{u.ref}\t{u.hyp}\n")
