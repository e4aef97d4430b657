"""ARPA back-off n-gram files: write and read them, score with them (:class:`ArpaLM`, for tests and
perplexity; decoding hands the file to KenLM), list their words, and copy one with hotwords made more probable.
Estimation is asr.lm's."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .errors import ASRError

__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "LOG10_ZERO",
    "write_arpa",
    "read_arpa",
    "ArpaLM",
    "arpa_words",
    "arpa_unigrams",
    "boosted_arpa",
]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
LOG10_ZERO = -99.0  # ARPA convention for log10(0), used for P(<s>)


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
    Every other line is copied as it stands. The file is streamed twice (what to add, then the copy), so
    memory does not grow with it: a LibriSpeech 4-gram of gigabytes is read like the bundled LM.
    """
    words = set(words)
    found, sections, lowest = _scan(src, words, phrases)
    counts = sections[0]
    order = max(counts)
    targets: set[tuple[str, ...]] = set()  # phrase n-grams: a later word with the phrase's words before it
    for phrase in phrases:
        for i in range(1, len(phrase)):
            targets.add(tuple(phrase[max(0, i - order + 1) : i + 1]))
    added = _missing_ngrams(found, lowest, words, targets, order, boost)
    for n in added:
        if n not in sections[1]:
            raise ASRError(f"{src}: no \\{n}-grams: section")
    ends = {gram[-1] for gram in targets} | words
    lengths = sorted({len(gram) for gram in targets})

    def boosted(gram: tuple[str, ...], section: int) -> bool:
        return gram[-1] in ends and (gram[-1] in words or any(gram[-n:] in targets for n in lengths if n <= section))

    _copy_boosted(src, dst, counts, added, ends, boosted, boost)
    return Path(dst)


def _ngram_line(line: str, section: int, src: str | Path, lineno: int) -> tuple[float, tuple[str, ...], list[str]]:
    """(log10 p, the n-gram, the fields after it: the back-off weight, if any) of one n-gram line."""
    fields = line.split()
    try:
        p = float(fields[0])
        if len(fields) > 1 + section:
            float(fields[1 + section])
        if len(fields) < 1 + section:
            raise IndexError
    except (ValueError, IndexError):
        raise ASRError(f"{src}:{lineno}: malformed {section}-gram line") from None
    return p, tuple(fields[1 : 1 + section]), fields[1 + section :]


def _sections(src: str | Path) -> Iterator[tuple[int, int, str]]:
    """(line number, section, line without its newline) of every line of an ARPA file; section 0 is the
    header (and the end marker's line is reported in the last section). Raises ASRError if it cannot be read."""
    section = 0
    try:
        with Path(src).open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\n")
                stripped = line.strip()
                if stripped.startswith("\\") and stripped.endswith("-grams:"):
                    section = int(stripped[1:-7])
                yield lineno, section, line
    except OSError as e:
        raise ASRError(f"{src}: cannot read ({e.strerror})") from None


def _scan(
    src: str | Path, words: set[str], phrases: Iterable[Sequence[str]]
) -> tuple[dict[tuple[str, ...], tuple[float, float]], tuple[dict[int, int], set[int]], float]:
    """First pass: the entries the back-off rule reads to price the phrase n-grams and words the file lacks
    (log10 p, log10 back-off: every n-gram made of consecutive phrase words, each word, <unk>), the header's
    counts (order -> count) with the orders that have a section, and the lowest unigram log10 p but <s>'s."""
    needed = {tuple(p[i:j]) for p in phrases for i in range(len(p)) for j in range(i + 1, len(p) + 1)}
    needed |= {(w,) for w in words} | {(UNK,)}
    found: dict[tuple[str, ...], tuple[float, float]] = {}
    counts: dict[int, int] = {}
    present: set[int] = set()
    lowest = 0.0
    for lineno, section, line in _sections(src):
        stripped = line.strip()
        if section == 0:
            if stripped.startswith("ngram ") and "=" in stripped:
                n, _, count = stripped[6:].partition("=")
                counts[int(n)] = int(count)
            continue
        if stripped.startswith("\\"):
            present.add(section)
            continue
        if not stripped:
            continue
        p, gram, rest = _ngram_line(line, section, src, lineno)
        if section == 1 and gram[0] != BOS:
            lowest = min(lowest, p)
        if gram in needed:
            found[gram] = (p, float(rest[0]) if rest else 0.0)
    if not counts or sorted(counts) != list(range(1, len(counts) + 1)):
        raise ASRError(f"{src}: not an ARPA file (no \\data\\ header with n-gram counts)")
    return found, (counts, present), lowest


def _copy_boosted(
    src: str | Path,
    dst: str | Path,
    counts: dict[int, int],
    added: dict[int, list[str]],
    ends: set[str],
    boosted: Callable[[tuple[str, ...], int], bool],
    boost: float,
) -> None:
    """Second pass: ``src`` to ``dst`` with the header's counts grown by ``added``, the ``boosted`` n-gram lines
    (which end in a word of ``ends``) raised by ``boost``, and each order's added lines right after its last
    n-gram line (blank lines between a section and the next header stay after them, as the format wants)."""
    held: list[str] = []  # blank lines, written once it is clear whether the section goes on
    section = 0
    may_end = re.compile("|".join(re.escape(e) for e in sorted(ends))).search if ends else lambda line: None
    with Path(dst).open("w", encoding="utf-8") as out:
        for lineno, now, line in _sections(src):
            stripped = line.strip()
            if section == 0 and stripped.startswith("ngram ") and "=" in stripped:
                n = int(stripped[6:].partition("=")[0])
                line = f"ngram {n}={counts[n] + len(added.get(n, ()))}"
            elif stripped.startswith("\\") and section:  # the next section, or the end: this one is over
                held = [*added.pop(section, ()), *held]
            elif now and stripped and not stripped.startswith("\\") and may_end(line):
                p, gram, rest = _ngram_line(line, now, src, lineno)  # (the first pass checked every line)
                if boosted(gram, now):
                    line = "\t".join([f"{min(p + boost, 0.0):.6f}", " ".join(gram), *rest])
            if not stripped:
                held.append(line)
                continue
            for kept in held:
                out.write(kept + "\n")
            held = []
            section = now
            out.write(line + "\n")
        for kept in [*added.pop(section, ()), *held]:  # a file cut off before its end marker
            out.write(kept + "\n")


def _missing_ngrams(
    found: dict[tuple[str, ...], tuple[float, float]],
    lowest: float,
    words: set[str],
    targets: set[tuple[str, ...]],
    order: int,
    boost: float,
) -> dict[int, list[str]]:
    """ARPA lines, per order, for the words and phrase n-grams (and their contexts) the file lacks: each at the
    probability the back-off rule gave it (new words at <unk>'s), boosted where it is a target; contexts get
    back-off weight 0. ``found`` gains the new entries."""
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

    for w in sorted(words | {w for gram in targets for w in gram}):
        if (w,) not in found:
            add((w,), unk, w in words)
    for gram in sorted(targets, key=lambda g: (len(g), g)):  # one order whatever the set's
        for k in range(2, len(gram) + 1):
            if gram[:k] not in found:
                add(gram[:k], price(gram[:k]), gram[:k] in targets or gram[k - 1] in words)
    return added


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
                return LOG10_ZERO
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
