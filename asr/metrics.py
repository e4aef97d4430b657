"""Word and character error rates (jiwer's Levenshtein alignment) with substitution / deletion /
insertion counts, 95% bootstrap confidence intervals, the most frequent confusions, a per-utterance
table sorted worst first and an sclite-style aligned report.

Both sides are normalized with :func:`asr.tokenizer.normalize_text` (case, punctuation, apostrophes,
hyphens, numbers spelled out): the one normalizer training and the LM use too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import jiwer
import numpy as np

from .tokenizer import normalize_text

__all__ = [
    "ErrorCounts",
    "UtteranceScore",
    "ScoreReport",
    "score",
    "write_utterance_report",
    "write_alignments",
    "bootstrap_interval",
]


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
        if not self.reference_length:  # non-speech only: no rate to give, only what was inserted
            unit = "words" if name == "WER" else "characters"
            return f"{name} n/a [no reference {unit}, {self.insertions} inserted]"
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
    alignment: list[tuple[str, str, str]] = field(default_factory=list)  # (op, ref word, hyp word); op in =SDI


def bootstrap_interval(
    errors: Sequence[int], lengths: Sequence[int], samples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Confidence interval of the corpus error rate sum(errors) / sum(lengths) by resampling utterances
    with replacement (Bisani & Ney, 2004); percentile method, fixed seed so reports are reproducible."""
    if not len(errors):
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    e, n = np.asarray(errors, dtype=np.float64), np.asarray(lengths, dtype=np.float64)
    picks = rng.integers(0, len(e), size=(samples, len(e)))
    rates = e[picks].sum(axis=1) / np.maximum(n[picks].sum(axis=1), 1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(rates, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class ScoreReport:
    wer: ErrorCounts = field(default_factory=ErrorCounts)
    cer: ErrorCounts = field(default_factory=ErrorCounts)
    utterances: list[UtteranceScore] = field(default_factory=list)

    def interval(self, unit: str = "word") -> tuple[float, float]:
        """95% bootstrap confidence interval of the WER (``unit="word"``) or CER (``"char"``)."""
        counts = [u.words if unit == "word" else u.chars for u in self.utterances]
        return bootstrap_interval([c.errors for c in counts], [c.reference_length for c in counts])

    @property
    def nonspeech(self) -> tuple[int, int]:
        """(utterances with an empty reference, how many of them got an empty hypothesis): non-speech clips
        that stayed silent."""
        empty_refs = [u for u in self.utterances if not u.ref]
        return len(empty_refs), sum(not u.hyp for u in empty_refs)

    def confusions(self, top: int = 10) -> dict[str, list[tuple[str, int]]]:
        """Most frequent substitutions (``REF -> HYP``), deletions and insertions, with counts."""
        found: dict[str, Counter] = {"substitutions": Counter(), "deletions": Counter(), "insertions": Counter()}
        for u in self.utterances:
            for op, ref, hyp in u.alignment:
                if op == "S":
                    found["substitutions"][f"{ref} -> {hyp}"] += 1
                elif op == "D":
                    found["deletions"][ref] += 1
                elif op == "I":
                    found["insertions"][hyp] += 1
        return {k: v.most_common(top) for k, v in found.items()}

    def summary(self, intervals: bool = True) -> str:
        lines = []
        for name, counts, unit in (("WER", self.wer, "word"), ("CER", self.cer, "char")):
            line = counts.describe(name)
            if intervals and self.utterances and counts.reference_length:
                low, high = self.interval(unit)
                line += f" 95% CI [{100 * low:.2f}, {100 * high:.2f}]"
            lines.append(line)
        lines.append(f"utterances {len(self.utterances)}")
        clips, empty = self.nonspeech
        if clips:
            lines.append(
                f"non-speech (empty reference) {clips}: {empty} transcribed empty ({100 * empty / clips:.1f}%)"
            )
        return "\n".join(lines)

    def confusion_summary(self, top: int = 10) -> str:
        parts = []
        for kind, items in self.confusions(top).items():
            if items:
                parts.append(f"most frequent {kind}: " + ", ".join(f"{k} ({n})" for k, n in items))
        return "\n".join(parts)

    def to_dict(self) -> dict:
        wer_ci, cer_ci = self.interval("word"), self.interval("char")
        return {
            "wer": self.wer.rate,
            "wer_ci95": list(wer_ci),
            "cer": self.cer.rate,
            "cer_ci95": list(cer_ci),
            "words": vars(self.wer) | {"errors": self.wer.errors},
            "chars": vars(self.cer) | {"errors": self.cer.errors},
            "utterances": len(self.utterances),
            "confusions": self.confusions(),
            "nonspeech": dict(zip(("clips", "empty"), self.nonspeech)),
        }


def _counts(out, ref: str, unit: str) -> ErrorCounts:
    length = len(ref.split()) if unit == "word" else len(ref)
    return ErrorCounts(out.substitutions, out.deletions, out.insertions, length)


_OPS = {"equal": "=", "substitute": "S", "delete": "D", "insert": "I"}


def _alignment(out, ref: str, hyp: str) -> list[tuple[str, str, str]]:
    r, h = ref.split(), hyp.split()
    pairs = []
    for chunk in out.alignments[0] if out.alignments else []:
        op = _OPS[chunk.type]
        rs = r[chunk.ref_start_idx : chunk.ref_end_idx]
        hs = h[chunk.hyp_start_idx : chunk.hyp_end_idx]
        for i in range(max(len(rs), len(hs))):
            pairs.append((op, rs[i] if i < len(rs) else "", hs[i] if i < len(hs) else ""))
    return pairs


def score(ids: Sequence[str], refs: Sequence[str], hyps: Sequence[str]) -> ScoreReport:
    """Score hypotheses against references (normalized first); corpus rates sum the utterances' counts."""
    if not (len(ids) == len(refs) == len(hyps)):
        raise ValueError("ids, refs and hyps must have the same length")
    report = ScoreReport()
    for uid, ref, hyp in zip(ids, refs, hyps):
        ref, hyp = normalize_text(ref), normalize_text(hyp)
        out = jiwer.process_words(ref, hyp)
        words = _counts(out, ref, "word")
        chars = _counts(jiwer.process_characters(ref, hyp), ref, "char")
        report.utterances.append(UtteranceScore(uid, ref, hyp, words, chars, _alignment(out, ref, hyp)))
        report.wer += words
        report.cer += chars
    return report


def write_utterance_report(report: ScoreReport, path: str | Path) -> None:
    """Tab-separated id, word errors, reference words, WER, ref, hyp; worst utterances first."""
    rows = sorted(report.utterances, key=lambda u: (-u.words.errors, -u.words.rate, u.id))
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\terrors\tref_words\twer\tref\thyp\n")
        for u in rows:
            f.write(
                f"{u.id}\t{u.words.errors}\t{u.words.reference_length}\t{100 * u.words.rate:.1f}\t{u.ref}\t{u.hyp}\n"
            )


def write_alignments(report: ScoreReport, path: str | Path) -> None:
    """sclite-style aligned report: per utterance REF/HYP lines, correct words in lower case, errors in
    upper case, ``***`` for the missing side, and an EVAL line marking S/D/I under each error."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(report.summary() + "\n")
        confusions = report.confusion_summary()
        if confusions:
            f.write(confusions + "\n")
        for u in report.utterances:
            ref_cells, hyp_cells, eval_cells = [], [], []
            for op, ref, hyp in u.alignment:
                ref_cell = ref.lower() if op == "=" else (ref or "***")
                hyp_cell = hyp.lower() if op == "=" else (hyp or "***")
                width = max(len(ref_cell), len(hyp_cell))
                ref_cells.append(ref_cell.ljust(width))
                hyp_cells.append(hyp_cell.ljust(width))
                eval_cells.append(("" if op == "=" else op).ljust(width))
            f.write(f"\nid: {u.id}\n")
            f.write(
                f"Scores: (#C #S #D #I) {len(u.alignment) - u.words.errors} {u.words.substitutions} "
                f"{u.words.deletions} {u.words.insertions}\n"
            )
            f.write("REF:  " + " ".join(ref_cells).rstrip() + "\n")
            f.write("HYP:  " + " ".join(hyp_cells).rstrip() + "\n")
            f.write("Eval: " + " ".join(eval_cells).rstrip() + "\n")
