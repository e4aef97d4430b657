"""Word n-gram language models: estimation (interpolated modified Kneser-Ney) and ARPA files.

No n-gram estimation tool installs here from PyPI or Debian (KenLM's ``lmplz`` is not in Debian and
PyPI's ``kenlm`` builds only the query module), so the estimator is our own, after Chen & Goodman (1998),
"An empirical study of smoothing techniques for language modeling", section 3.4 (interpolated modified
Kneser-Ney with three discounts per order), using the same count adjustments as KenLM's ``lmplz``:

* the highest order uses raw counts; lower orders use continuation counts N1+(. w1..wn) (how many
  different words precede the n-gram), except n-grams starting with <s>, which keep raw counts;
* each order has discounts D1, D2, D3+ from its counts-of-counts (KenLM's fallback 0.5/1/1.5 where the
  counts-of-counts cannot give them: tiny or very regular text);
* unigrams interpolate with the uniform distribution over the vocabulary (<unk> included, <s> excluded).

A vocabulary beyond the text (``extra_words``; ``build_lm`` reads them from word lists, one word per line)
adds words with zero counts: each gets the uniform share of the unigram mass (what <unk> gets) and becomes a
word the lexicon-constrained beam search can output. Text alone leaves every word it lacks unreachable: proper
names, inflections and number words a book corpus happens not to contain.

Pruning (``prune``) drops n-grams whose count is at or below a threshold per order; the dropped
probability mass goes to the back-off weights, which are recomputed so that every context's
distribution still sums to one exactly as the ARPA back-off rule reads it. The result is written as an
ARPA file, which the CTC beam-search decoder (flashlight-text's KenLM) loads directly; when KenLM's
``build_binary`` is on PATH a binary copy is made too.

Text goes through :func:`asr.tokenizer.normalize_text`, the normalizer the acoustic model's transcripts
use, one sentence per line.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Iterator

from .arpa import BOS, EOS, LOG10_ZERO, UNK, ArpaLM, write_arpa
from .errors import ASRError
from .tokenizer import normalize_text

__all__ = ["TextWarning", "NgramCounts", "estimate_kneser_ney", "read_sentences", "build_lm", "read_vocabulary"]


class TextWarning(UserWarning):
    """Lines of a text file that could not be read were skipped."""


def read_sentences(paths: Iterable[str | Path]) -> Iterator[list[str]]:
    """Normalized word lists, one per non-empty line of each text file (UTF-8).

    A file with a NUL byte is not text: an ASRError naming it and the line. Lines that are not valid UTF-8
    are skipped, and each file with any gets one warning that counts them and names the first.
    """
    for path in paths:
        path = Path(path)
        bad, first_bad = 0, 0
        try:
            with path.open("rb") as f:
                for number, raw in enumerate(f, 1):
                    if b"\0" in raw:
                        raise ASRError(f"{path}:{number}: a NUL byte: not a text file")
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        bad, first_bad = bad + 1, first_bad or number
                        continue
                    words = normalize_text(line).split()
                    if words:
                        yield words
        except OSError as e:
            raise ASRError(f"{path}: cannot read ({e.strerror})") from None
        if bad:
            warnings.warn(
                f"{path}: skipped {bad} line(s) that are not UTF-8 text, the first at line {first_bad} "
                "(convert the file, e.g. iconv -f latin1 -t utf-8)",
                TextWarning,
            )


class NgramCounts:
    """Raw n-gram counts of every order up to ``order`` over sentences padded with <s> ... </s>."""

    def __init__(self, order: int):
        if order < 1:
            raise ASRError(f"n-gram order must be at least 1, got {order}")
        self.order = order
        self.counts: list[Counter] = [Counter() for _ in range(order + 1)]  # index = n-gram length
        self.sentences = 0

    def add(self, words: list[str]) -> None:
        tokens = [BOS, *words, EOS]
        self.sentences += 1
        for n in range(1, self.order + 1):
            table = self.counts[n]
            for i in range(len(tokens) - n + 1):
                table[tuple(tokens[i : i + n])] += 1


FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # what KenLM's lmplz --discount_fallback uses


def _discounts(counts: Iterable[int]) -> tuple[tuple[float, float, float], bool]:
    """Modified Kneser-Ney discounts (D1, D2, D3+) from counts-of-counts, and whether they were estimable.
    Small or very regular text (no n-gram seen exactly 1..4 times at some order) gets the fallback."""
    of = Counter(c for c in counts if c <= 4)
    n1, n2, n3, n4 = (of[i] for i in (1, 2, 3, 4))
    if n1 and n2 and n3 and n4:
        y = n1 / (n1 + 2 * n2)
        d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        if all(0 < x < i + 1 for i, x in enumerate(d)):
            return d, True
    return FALLBACK_DISCOUNTS, False


def _adjusted_counts(raw: list[Counter], order: int) -> list[dict]:
    """Counts the estimate uses: raw at the top order and for <s>-initial n-grams, else continuation counts."""
    adjusted: list[dict] = [{} for _ in range(order + 1)]
    adjusted[order] = dict(raw[order])
    for n in range(order - 1, 0, -1):
        cont: dict = defaultdict(int)
        for gram in raw[n + 1]:
            cont[gram[1:]] += 1
        table = {}
        for gram, count in raw[n].items():
            table[gram] = count if gram[0] == BOS else cont.get(gram, 0)
        adjusted[n] = {g: c for g, c in table.items() if c > 0}
    return adjusted


def estimate_kneser_ney(
    counts: NgramCounts,
    prune: tuple[int, ...] = (),
    fallback: list | None = None,
    extra_words: Iterable[str] = (),
) -> list[dict]:
    """ARPA tables ``[{}, {unigram: (log10 p, log10 bow)}, {bigram: ...}, ...]`` of the interpolated
    modified Kneser-Ney model. ``prune[n-1]`` = drop n-grams (n >= 2) with an adjusted count at or below it.
    ``extra_words``: words to include beyond the counted ones (zero counts: the uniform share of the unigram mass).
    The orders whose discounts fell back to :data:`FALLBACK_DISCOUNTS` are appended to ``fallback``."""
    order = counts.order
    adj = _adjusted_counts(counts.counts, order)
    prune = tuple(prune) + (0,) * order
    adj[1].pop((BOS,), None)  # <s> is never predicted: it has no unigram probability
    vocab = sorted({g[0] for g in adj[1]} | {UNK, EOS} | (set(extra_words) - {BOS}))

    # Interpolated probabilities of every observed n-gram, order by order.
    prob: list[dict] = [{} for _ in range(order + 1)]
    for n in range(1, order + 1):
        d, estimated = _discounts(adj[n].values())
        if not estimated and fallback is not None:
            fallback.append(n)
        totals: dict = defaultdict(int)
        classes: dict = defaultdict(lambda: [0, 0, 0])
        for gram, c in adj[n].items():
            totals[gram[:-1]] += c
            classes[gram[:-1]][min(c, 3) - 1] += 1
        gamma = {h: (d[0] * k[0] + d[1] * k[1] + d[2] * k[2]) / totals[h] for h, k in classes.items()}
        table = prob[n]
        if n == 1:
            total, g0 = totals[()], gamma[()]
            for w in vocab:
                c = adj[1].get((w,), 0)
                table[(w,)] = (c - d[min(c, 3) - 1]) / total + g0 / len(vocab) if c else g0 / len(vocab)
            table[(BOS,)] = 0.0
            continue
        lower = prob[n - 1]
        for gram, c in adj[n].items():
            h = gram[:-1]
            table[gram] = (c - d[min(c, 3) - 1]) / totals[h] + gamma[h] * lower[gram[1:]]

    # Which n-grams the file keeps: above the threshold, closed under prefixes and suffixes.
    kept: list[set] = [set() for _ in range(order + 1)]
    kept[1] = set(prob[1])
    for n in range(order, 1, -1):
        kept[n] |= {g for g, c in adj[n].items() if c > prune[n - 1]}
        for g in kept[n]:
            if n > 2:
                kept[n - 1].add(g[:-1])
                kept[n - 1].add(g[1:])

    # Back-off weights that renormalize each context over what is kept (lower orders first, since each
    # order's weights need the lower orders' ARPA probabilities).
    lm = ArpaLM([{}] + [{g: (_log10(prob[n][g]), 0.0) for g in kept[n]} for n in range(1, order + 1)], order)
    for n in range(1, order):
        kept_mass: dict = defaultdict(float)
        lower_mass: dict = defaultdict(float)
        for gram in kept[n + 1]:
            h = gram[:-1]
            kept_mass[h] += prob[n + 1][gram]
            lower_mass[h] += 10 ** lm.logprob(gram[-1], gram[1:-1])
        for h, mass in kept_mass.items():
            bow = max(1.0 - mass, 1e-12) / max(1.0 - lower_mass[h], 1e-12)
            lm.tables[n][h] = (lm.tables[n][h][0], math.log10(bow))
    return lm.tables


def _log10(p: float) -> float:
    return math.log10(p) if p > 0 else LOG10_ZERO


def read_vocabulary(paths: Iterable[str | Path]) -> set[str]:
    """Words of word-list files, one per line, normalized as text is (a line that normalizes to several
    words, "e.g." or "1st", gives each; blank lines are skipped)."""
    return {w for words in read_sentences(paths) for w in words}


def build_lm(
    texts: Iterable[str | Path],
    order: int,
    out_dir: str | Path,
    prune: tuple[int, ...] = (),
    vocab_files: Iterable[str | Path] = (),
) -> dict:
    """Count, estimate and write ``out_dir/lm.arpa`` (+ ``lm.bin`` when KenLM's build_binary is on PATH),
    with the words of ``vocab_files`` added to the text's (see :func:`estimate_kneser_ney`).
    Returns a summary: sentences, words, n-gram counts per order, added words, files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = NgramCounts(order)
    words = 0
    for sentence in read_sentences(texts):
        counts.add(sentence)
        words += len(sentence)
    if not counts.sentences:
        raise ASRError("no text: the given files hold no sentences after normalization")
    vocab_files = [Path(p) for p in vocab_files]
    extra = read_vocabulary(vocab_files)
    if vocab_files and not extra:
        raise ASRError(f"{', '.join(map(str, vocab_files))}: no words after normalization")
    fallback: list[int] = []
    tables = estimate_kneser_ney(counts, prune, fallback, extra_words=extra)
    arpa = write_arpa(tables, out / "lm.arpa")
    summary = {
        "order": order,
        "sentences": counts.sentences,
        "words": words,
        "prune": list(prune),
        "vocab_files": [p.name for p in vocab_files],
        "vocab_added": len(extra - {g[0] for g in counts.counts[1]}),
        "ngrams": [len(t) for t in tables[1:]],
        "fallback_discount_orders": fallback,
        "arpa": arpa.name,
    }
    tool = shutil.which("build_binary")
    if tool:
        subprocess.run([tool, str(arpa), str(out / "lm.bin")], check=True, capture_output=True)
        summary["binary"] = "lm.bin"
    return summary
