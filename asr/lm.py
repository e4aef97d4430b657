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
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import ASRError
from .tokenizer import normalize_text

__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "NgramCounts",
    "estimate_kneser_ney",
    "write_arpa",
    "read_arpa",
    "ArpaLM",
    "read_sentences",
    "build_lm",
    "read_vocabulary",
    "arpa_words",
    "arpa_unigrams",
]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
_LOG10_ZERO = -99.0  # ARPA convention for log10(0), used for P(<s>)


def read_sentences(paths: Iterable[str | Path]) -> Iterator[list[str]]:
    """Normalized word lists, one per non-empty line of each text file (UTF-8)."""
    for path in paths:
        path = Path(path)
        try:
            with path.open(encoding="utf-8", errors="replace") as f:
                for line in f:
                    words = normalize_text(line).split()
                    if words:
                        yield words
        except OSError as e:
            raise ASRError(f"{path}: cannot read ({e.strerror})") from None


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
    return math.log10(p) if p > 0 else _LOG10_ZERO


def write_arpa(tables: list[dict], path: str | Path) -> Path:
    """Write ARPA tables (as from :func:`estimate_kneser_ney`) to ``path``."""
    path = Path(path)
    order = len(tables) - 1
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write("\n\\data\\\n")
        for n in range(1, order + 1):
            f.write(f"ngram {n}={len(tables[n])}\n")
        for n in range(1, order + 1):
            f.write(f"\n\\{n}-grams:\n")
            for gram in sorted(tables[n]):
                p, b = tables[n][gram]
                words = " ".join(gram)
                f.write(f"{p:.6f}\t{words}\t{b:.6f}\n" if n < order else f"{p:.6f}\t{words}\n")
        f.write("\n\\end\\\n")
    tmp.replace(path)
    return path


def read_arpa(path: str | Path) -> "ArpaLM":
    """Load an ARPA file (for scoring and tests; decoding hands the file to KenLM)."""
    path = Path(path)
    tables: list[dict] = [{}]
    section = 0
    try:
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("ngram ") or line in ("\\data\\", "\\end\\"):
                    continue
                if line.startswith("\\") and line.endswith("-grams:"):
                    section = int(line[1:-7])
                    tables.append({})
                    continue
                if section == 0:
                    raise ASRError(f"{path}:{lineno}: not an ARPA file (n-gram before any \\N-grams: header)")
                fields = line.split()
                try:
                    p = float(fields[0])
                    gram = tuple(fields[1 : 1 + section])
                    b = float(fields[1 + section]) if len(fields) > 1 + section else 0.0
                except (ValueError, IndexError):
                    raise ASRError(f"{path}:{lineno}: malformed {section}-gram line") from None
                tables[section][gram] = (p, b)
    except OSError as e:
        raise ASRError(f"{path}: cannot read ({e.strerror})") from None
    if len(tables) < 2:
        raise ASRError(f"{path}: no n-grams found (not an ARPA file)")
    return ArpaLM(tables, len(tables) - 1)


def arpa_unigrams(path: str | Path) -> list[tuple[str, float]]:
    """The unigrams of an ARPA file with their log10 probabilities, in file order (read without loading
    the higher orders)."""
    unigrams, inside = [], False
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line == "\\1-grams:":
                inside = True
            elif inside and line.startswith("\\"):
                break
            elif inside and line:
                fields = line.split()
                unigrams.append((fields[1], float(fields[0])))
    if not unigrams:
        raise ASRError(f"{path}: no unigrams found (not an ARPA file)")
    return unigrams


def arpa_words(path: str | Path) -> list[str]:
    """The unigram vocabulary of an ARPA file."""
    return [word for word, _ in arpa_unigrams(path)]


def boosted_arpa(
    src: str | Path,
    dst: str | Path,
    words: Iterable[str],
    phrases: Iterable[Sequence[str]],
    boost: float,
) -> Path:
    """Write a copy of the ARPA file ``src`` to ``dst`` in which some words are more probable (hotwords).

    Raised by ``boost`` (log10) and capped at 0, certainty (KenLM clamps positive log probabilities too):

    * every n-gram ending in one of ``words``: the word is favoured after any history;
    * for each phrase of ``phrases``, every n-gram ending in one of its later words *after the words before
      it in the phrase* (as many as the LM's order holds): THE of "open the door" only after OPEN. Where
      the LM has no such n-gram it is added at the probability the back-off rule gave it, and so are its
      missing contexts (with back-off weight 0, which leaves every other word's probability as it was).

    Words the LM lacks join it as unigrams at <unk>'s probability (the lowest unigram's, without <unk>).
    Every other line is copied as it stands: one pass, no sorting, since decoders build one per list.
    """
    lines = Path(src).read_text(encoding="utf-8").split("\n")
    counts: dict[int, int] = {}  # order -> n-gram count, from the \data\ header
    count_line: dict[int, int] = {}  # order -> index of its "ngram N=count" line
    for i, line in enumerate(lines):
        line = line.strip()
        if line.startswith("ngram ") and "=" in line:
            n, _, count = line[6:].partition("=")
            counts[int(n)], count_line[int(n)] = int(count), i
        elif line.startswith("\\") and line.endswith("-grams:"):
            break
    if not counts or sorted(counts) != list(range(1, len(counts) + 1)):
        raise ASRError(f"{src}: not an ARPA file (no \\data\\ header with n-gram counts)")
    order = max(counts)
    words = set(words)
    targets: set[tuple[str, ...]] = set()  # phrase n-grams: a later word with the phrase's words before it
    for phrase in phrases:
        for i in range(1, len(phrase)):
            targets.add(tuple(phrase[max(0, i - order + 1) : i + 1]))
    vocabulary = words | {w for gram in targets for w in gram}
    # the entries the back-off rule reads to price a missing phrase n-gram or one of its contexts
    needed = {gram[i:j] for gram in targets for i in range(len(gram)) for j in range(i + 1, len(gram) + 1)}
    needed |= {(w,) for w in vocabulary} | {(UNK,)}
    found: dict[tuple[str, ...], tuple[float, float]] = {}
    ends = {gram[-1] for gram in targets} | words
    lengths = sorted({len(gram) for gram in targets})
    last_line: dict[int, int] = {}  # order -> index of its header, then of its last n-gram line
    lowest, section = 0.0, 0
    for i, line in enumerate(lines):
        if line.startswith("\\"):
            if line.strip().endswith("-grams:"):
                section = int(line.strip()[1:-7])
                last_line[section] = i
            continue
        if not section or not line.strip():
            continue
        fields = line.split()
        gram = tuple(fields[1 : 1 + section])
        try:
            p = float(fields[0])
            b = float(fields[1 + section]) if len(fields) > 1 + section else 0.0
        except (ValueError, IndexError):
            raise ASRError(f"{src}:{i + 1}: malformed {section}-gram line") from None
        last_line[section] = i
        if section == 1 and gram[0] != BOS:
            lowest = min(lowest, p)
        if gram in needed:
            found[gram] = (p, b)
        if gram[-1] in ends and (gram[-1] in words or any(gram[-n:] in targets for n in lengths if n <= section)):
            lines[i] = "\t".join([f"{min(p + boost, 0.0):.6f}", " ".join(gram), *fields[1 + section :]])

    unk = found.get((UNK,), (lowest, 0.0))[0]
    added: dict[int, list[str]] = defaultdict(list)

    def add(gram: tuple[str, ...], p: float, boosted: bool) -> None:
        found[gram] = (p, 0.0)
        p = min(p + boost, 0.0) if boosted else p
        tail = ["0.000000"] if len(gram) < order else []
        added[len(gram)].append("\t".join([f"{p:.6f}", " ".join(gram), *tail]))

    def price(gram: tuple[str, ...]) -> float:  # log10 P(last word | the others), by back-off
        backoff = 0.0
        while gram not in found:
            backoff += found.get(gram[:-1], (0.0, 0.0))[1]
            gram = gram[1:]
        return found[gram][0] + backoff

    for w in sorted(vocabulary):
        if (w,) not in found:
            add((w,), unk, w in words)
    for gram in sorted(targets, key=len):
        for k in range(2, len(gram) + 1):
            if gram[:k] not in found:
                add(gram[:k], price(gram[:k]), gram[:k] in targets or gram[k - 1] in words)

    for n in sorted(added, reverse=True):  # bottom up, so earlier indices stay put
        if n not in last_line:
            raise ASRError(f"{src}: no \\{n}-grams: section")
        at = last_line[n] + 1
        lines[at:at] = added[n]
    for n, i in count_line.items():  # the header is above every insertion
        lines[i] = f"ngram {n}={counts[n] + len(added.get(n, ()))}"
    Path(dst).write_text("\n".join(lines), encoding="utf-8")
    return Path(dst)


class ArpaLM:
    """Back-off n-gram model: ``tables[n][gram] = (log10 p, log10 bow)``."""

    def __init__(self, tables: list[dict], order: int):
        self.tables, self.order = tables, order

    def logprob(self, word: str, context: tuple[str, ...] = ()) -> float:
        """log10 P(word | context) by the ARPA back-off rule (unknown words score as <unk>)."""
        if (word,) not in self.tables[1]:
            word = UNK
        context = tuple(context)[-(self.order - 1) :] if self.order > 1 else ()
        backoff = 0.0
        while True:
            gram = context + (word,)
            entry = self.tables[len(gram)].get(gram)
            if entry is not None:
                return entry[0] + backoff
            if not context:
                return _LOG10_ZERO
            ctx = self.tables[len(context)].get(context)
            backoff += ctx[1] if ctx else 0.0
            context = context[1:]

    def sentence_logprob(self, words: list[str]) -> float:
        """log10 P(words </s> | <s>)."""
        history, total = (BOS,), 0.0
        for w in [*words, EOS]:
            total += self.logprob(w, history)
            history = (*history, w)
        return total

    def perplexity(self, sentences: Iterable[list[str]]) -> float:
        logp, n = 0.0, 0
        for words in sentences:
            logp += self.sentence_logprob(words)
            n += len(words) + 1
        return 10 ** (-logp / max(n, 1))


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
