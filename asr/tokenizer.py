"""Text normalization and the two tokenizers: characters and SentencePiece BPE.

Token id 0 is always the CTC blank; a tokenizer's own ids start at 1. Both tokenizers describe
themselves with ``to_dict()`` (stored in a model's config.json) and write their files with ``save()``.
"""

from __future__ import annotations

import io
import re
import string
from pathlib import Path
from typing import Iterable, Protocol

import sentencepiece as spm

from .numbers import spell_numbers
from .errors import ModelError, TokenizerError

__all__ = ["BLANK", "normalize_text", "Tokenizer", "CharTokenizer", "BPETokenizer", "train_bpe", "load_tokenizer"]

BLANK = 0
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})
_NOT_WORD = re.compile(r"[^\w']+")
_EDGE_QUOTES = re.compile(r"(?<!\w)'+|'+(?!\w)")
_NORMAL_WORD = re.compile(r"[A-Z]+(?:'[A-Z]+)*")  # a word normalize_text leaves as it is


def normalize_text(text: str) -> str:
    """The one normalizer used for training targets, LM text and every score.

    Numbers are spelled out LibriSpeech style (``1845`` -> ``EIGHTEEN FORTY FIVE``, ``3rd`` -> ``THIRD``,
    see :mod:`asr.numbers`); upper case; typographic apostrophes become ``'``; punctuation, hyphens and
    underscores become word breaks; quotes at word edges are dropped (``'TIS`` -> ``TIS``), apostrophes
    inside words kept (``DON'T``); whitespace collapsed. Non-English letters are kept, so a character
    tokenizer can report them as outside its vocabulary rather than silently dropping them.
    """
    text = spell_numbers(text.translate(_APOSTROPHES)).upper().replace("_", " ")
    text = _NOT_WORD.sub(" ", text)
    text = _EDGE_QUOTES.sub("", text)
    return " ".join(text.split())


class Tokenizer(Protocol):
    vocab_size: int  # including the blank

    def encode(self, text: str) -> list[int]: ...
    def encode_words(self, words: list[str]) -> list[list[int] | None]: ...  # None: cannot be spelled
    def decode(self, ids: Iterable[int]) -> str: ...
    def to_dict(self) -> dict: ...
    def save(self, directory: Path) -> None: ...
    def token_names(self) -> list[str]: ...  # one unique name per id, "<blank>" for id 0
    def word_spans(self, ids: list[int]) -> list[tuple[int, int]]: ...  # [start, end) positions of each word


BLANK_NAME = "<blank>"


def _spans(starts: list[bool], separators: list[bool]) -> list[tuple[int, int]]:
    """Group token positions into words: a word begins at a start flag or after a separator; separators
    belong to no word."""
    spans: list[tuple[int, int]] = []
    begin = None
    for i, (start, sep) in enumerate(zip(starts, separators)):
        if sep or (start and begin is not None):
            if begin is not None:
                spans.append((begin, i))
            begin = None
        if not sep and begin is None:
            begin = i
    if begin is not None:
        spans.append((begin, len(starts)))
    return spans


def _normalize_words(words: list[str]) -> list[str]:
    """normalize_text of each word; the many that are already normal (an LM's word list) pass as they are."""
    return [w if _NORMAL_WORD.fullmatch(w) else normalize_text(w) for w in words]


def _raise_oov(text: str, bad: Iterable[str]) -> None:
    chars = " ".join(repr(c) for c in sorted(set(bad)))
    raise TokenizerError(f"characters outside the vocabulary: {chars} in {text!r}")


class CharTokenizer:
    """Letters, apostrophe and the word separator (a space): 29 ids with the blank."""

    def __init__(self, symbols: list[str] | None = None):
        self.symbols = symbols if symbols is not None else [" ", "'"] + list(string.ascii_uppercase)
        self._ids = {s: i + 1 for i, s in enumerate(self.symbols)}
        self.vocab_size = len(self.symbols) + 1

    def encode(self, text: str) -> list[int]:
        norm = normalize_text(text)
        bad = [c for c in norm if c not in self._ids]
        if bad:
            _raise_oov(text, bad)
        return [self._ids[c] for c in norm]

    def encode_words(self, words: list[str]) -> list[list[int] | None]:
        """Each word's ids, as ``encode`` gives them, or None where it has characters outside the vocabulary."""
        ids = self._ids
        return [None if any(c not in ids for c in n) else [ids[c] for c in n] for n in _normalize_words(words)]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join("".join(self.symbols[i - 1] for i in ids if i != BLANK).split())

    def token_names(self) -> list[str]:
        return [BLANK_NAME] + ["|" if s == " " else s for s in self.symbols]

    def word_spans(self, ids: list[int]) -> list[tuple[int, int]]:
        return _spans([False] * len(ids), [self.symbols[i - 1] == " " for i in ids])

    def to_dict(self) -> dict:
        return {"type": "char", "symbols": self.symbols}

    def save(self, directory: Path) -> None:
        """Nothing to write: the symbols live in config.json."""


class BPETokenizer:
    """SentencePiece BPE; model ids are SentencePiece ids + 1 (0 is the blank)."""

    FILE = "tokenizer.model"

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.vocab_size = self.sp.get_piece_size() + 1

    @classmethod
    def from_file(cls, path: Path) -> "BPETokenizer":
        return cls(Path(path).read_bytes())

    def encode(self, text: str) -> list[int]:
        norm = normalize_text(text)
        ids = self.sp.encode(norm)
        if self.sp.unk_id() in ids:
            _raise_oov(text, [c for c in norm if c != " " and self.sp.piece_to_id(c) == self.sp.unk_id()] or ["?"])
        return [i + 1 for i in ids]

    def encode_words(self, words: list[str]) -> list[list[int] | None]:
        """Each word's ids, as ``encode`` gives them, or None where it has characters outside the vocabulary:
        one SentencePiece call for the whole list (a lexicon of 100,000 words)."""
        unk = self.sp.unk_id()
        pieces = self.sp.encode(_normalize_words(words))
        return [None if unk in ids else [i + 1 for i in ids] for ids in pieces]

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([i - 1 for i in ids if i != BLANK])

    def token_names(self) -> list[str]:
        return [BLANK_NAME] + [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]

    def word_spans(self, ids: list[int]) -> list[tuple[int, int]]:
        pieces = [self.sp.id_to_piece(i - 1) for i in ids]
        return _spans([p.startswith("\u2581") for p in pieces], [False] * len(pieces))

    def to_dict(self) -> dict:
        return {"type": "bpe", "file": self.FILE}

    def save(self, directory: Path) -> None:
        (Path(directory) / self.FILE).write_bytes(self.model_proto)


def train_bpe(texts: Iterable[str], vocab_size: int) -> BPETokenizer:
    """Train a BPE model on normalized ``texts``; the vocabulary shrinks if the text is too small."""
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=(normalize_text(t) for t in texts),
        model_writer=out,
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=1.0,
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return BPETokenizer(out.getvalue())


def load_tokenizer(spec: dict, directory: Path) -> Tokenizer:
    """Rebuild a tokenizer from its ``to_dict()`` and the directory holding its files."""
    kind = spec.get("type")
    if kind == "char":
        symbols = spec.get("symbols")
        if not (isinstance(symbols, list) and all(isinstance(x, str) and len(x) == 1 for x in symbols)):
            raise ModelError(f"{directory}: a char tokenizer needs 'symbols', a list of single characters")
        return CharTokenizer(list(symbols))
    if kind == "bpe":
        name = spec.get("file", BPETokenizer.FILE)
        path = Path(directory) / name if isinstance(name, str) else None
        if path is None or path.resolve().parent != Path(directory).resolve():
            raise ModelError(f"{directory}: tokenizer file {name!r} must name a file inside the model directory")
        if not path.is_file():
            raise ModelError(f"{path}: BPE tokenizer file is missing")
        return BPETokenizer.from_file(path)
    raise ModelError(f"{directory}: unknown tokenizer type {kind!r}")
