"""CTC decoding: greedy best path, and beam search with an optional word n-gram LM.

Beam search runs flashlight-text's CTC decoder through ``torchaudio.models.decoder.ctc_decoder``:

* lexicon-free: any token sequence; no LM (our LMs are word LMs);
* with a lexicon: hypotheses are sequences of known words, each spelled with the model's own tokenizer,
  scored with a KenLM-readable ARPA model (``asr lm build``). Words outside the LM's vocabulary cannot
  be produced: that is the price of the LM's help, and what *hotwords* are for: words and phrases a
  user expects (names, terms), added to the lexicon when the LM lacks them and made more probable in a
  temporary copy of the LM that KenLM then loads (:func:`asr.arpa.boosted_arpa`; contextual biasing, as
  "word boosting" elsewhere): each hotword word wherever it ends a word, and each later word of a
  phrase after the words before it (THE of "open the door" only after OPEN).

An LM directory holds ``lm.json`` (file names and tuned ``lm_weight`` / ``word_score`` / ``beam_size``;
``adapted``: the weights tuned for the sharper output after test-time adaptation) and ``lm.arpa`` (and
``lm.bin`` when KenLM's build_binary made one).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .audio import quiet_stderr
from .errors import ASRError, ModelError, TokenizerError, check_count, check_finite
from .features import lengths_to_mask
from .arpa import BOS, EOS, UNK, arpa_unigrams, boosted_arpa
from .tokenizer import BLANK, BLANK_NAME, CharTokenizer, Tokenizer, normalize_text

__all__ = [
    "Hypothesis",
    "greedy_decode",
    "collapse_paths",
    "LMConfig",
    "load_lm_config",
    "BeamSearchDecoder",
    "SEARCH_SETTINGS",
    "HOTWORD_SCORE",
    "COMMON_LOG10",
    "hotword_list",
    "hotword_phrases",
    "read_hotwords",
]

# Bonus (in the units of the CTC log-probabilities, like ``word_score``) for each word of a hotword that a
# hypothesis completes, at most what makes the word certain for the LM; chosen on the dev sets with
# benchmarks/hotwords.py (benchmarks/RESULTS.md).
HOTWORD_SCORE = 4.0
# Hotword words at least this probable as unigrams (log10; about 1 word in 1,000 of the LM's text: the
# bundled LM's 100 commonest words) get the bonus only inside their phrase: "open the door" must not make
# THE a hotword.
COMMON_LOG10 = -3.0


@dataclass
class Hypothesis:
    tokens: list[int]  # token ids, blanks and repeats removed
    frames: list[int]  # encoder frame at which each token is emitted (first frame of its run)
    score: float = 0.0  # decoder score (0 for greedy)


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[Hypothesis]:
    """Best path per utterance: argmax per frame, merge repeats, drop blanks.

    log_probs: (B, T, V); lengths: (B,) valid frames. Frames past an utterance's length are ignored.
    """
    return collapse_paths(log_probs.argmax(dim=-1), lengths)


def collapse_paths(paths: torch.Tensor, lengths: torch.Tensor) -> list[Hypothesis]:
    """CTC paths (B, T) of a token per frame -> their tokens (repeats merged, blanks dropped), each with the
    first frame of its run. Frames past an utterance's length are ignored."""
    prev = torch.nn.functional.pad(paths[:, :-1], (1, 0), value=BLANK)
    valid = lengths_to_mask(lengths.to(paths.device), paths.shape[1])
    emit = (paths != BLANK) & (paths != prev) & valid
    hyps = []
    for b in range(paths.shape[0]):
        frames = emit[b].nonzero().squeeze(1)
        hyps.append(Hypothesis(paths[b, frames].tolist(), frames.tolist()))
    return hyps


LM_CONFIG = "lm.json"


@dataclass
class LMConfig:
    """An LM directory: the n-gram file and the decoding weights tuned for it."""

    path: Path  # the directory
    file: str = "lm.arpa"  # ARPA or KenLM binary, relative to the directory
    lm_weight: float = 0.8
    word_score: float = 0.0
    beam_size: int = 50
    info: dict = field(default_factory=dict)
    adapted: dict = field(default_factory=dict)  # lm_weight / word_score for adapted output (asr.adapt)

    @property
    def model_file(self) -> Path:
        return self.path / self.file

    @property
    def arpa_file(self) -> Path:
        """The ARPA text of the LM: the model file, or the .arpa beside a KenLM binary (its word list)."""
        return self.model_file if self.model_file.suffix != ".bin" else self.model_file.with_suffix(".arpa")

    def save(self) -> None:
        data = {
            "file": self.file,
            "lm_weight": self.lm_weight,
            "word_score": self.word_score,
            "beam_size": self.beam_size,
            "info": self.info,
        }
        if self.adapted:
            data["adapted"] = self.adapted
        (self.path / LM_CONFIG).write_text(json.dumps(data, indent=2) + "\n")


def load_lm_config(directory: str | os.PathLike) -> LMConfig:
    """Read ``directory/lm.json`` (or a bare directory holding lm.arpa / lm.bin with default weights)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such LM directory")
    path = directory / LM_CONFIG
    data: dict = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{path}: invalid JSON ({e})") from None
        if not isinstance(data, dict):
            raise ModelError(f"{path}: expected a JSON object, got {type(data).__name__}")
    elif (directory / "lm.bin").is_file():
        data = {"file": "lm.bin"}
    known = {"file", "lm_weight", "word_score", "beam_size", "info", "adapted"}
    unknown = set(data) - known
    if unknown:
        raise ModelError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    cfg = LMConfig(directory, **data)
    if not isinstance(cfg.adapted, dict) or set(cfg.adapted) - {"lm_weight", "word_score"}:
        raise ModelError(f"{path}: adapted must hold lm_weight and/or word_score, got {cfg.adapted!r}")
    if not isinstance(cfg.file, str) or not isinstance(cfg.info, dict):
        raise ModelError(f"{path}: file must be a string and info an object, got {cfg.file!r} and {cfg.info!r}")
    check_count(cfg.beam_size, f"{path}: beam_size", error=ModelError)
    for name, value in [("lm_weight", cfg.lm_weight), ("word_score", cfg.word_score), *cfg.adapted.items()]:
        check_finite(value, f"{path}: {name}", error=ModelError)
    if not cfg.model_file.is_file():
        raise ModelError(f"{cfg.model_file}: LM file is missing")
    return cfg


# the keyword settings of BeamSearchDecoder that ASRModel.transcribe / decoder pass through (beside beam_size,
# lm and the hotwords)
SEARCH_SETTINGS = ("lm_weight", "word_score", "beam_threshold", "beam_size_token")


class BeamSearchDecoder:
    """CTC beam search; with ``lm`` (an :class:`LMConfig`) a lexicon of the LM's words constrains it.

    ``lm_weight`` / ``word_score`` / ``beam_size`` default to the LM directory's tuned values.
    ``beam_threshold`` prunes hypotheses scoring that far below the best; ``beam_size_token`` limits the
    tokens tried per frame (the most likely ones).
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        lm: LMConfig | None = None,
        *,
        beam_size: int | None = None,
        lm_weight: float | None = None,
        word_score: float | None = None,
        beam_threshold: float = 25.0,
        beam_size_token: int | None = 32,
        hotwords: Sequence[str] = (),
        hotword_score: float | None = None,
    ):
        try:
            from torchaudio.models.decoder import ctc_decoder
        except ImportError as e:  # flashlight-text missing
            raise ASRError(f"beam search needs flashlight-text (pip install flashlight-text): {e}") from None
        _check_search(beam_size, lm_weight, word_score, beam_threshold, beam_size_token, hotword_score)
        self.tokenizer, self.lm = tokenizer, lm
        self.release = lambda: None  # online decoders: back to the idle ones of their ASRModel
        names = tokenizer.token_names()
        # Words end at the separator for characters; BPE pieces carry their own word starts, so the
        # blank stands in for flashlight's silence token.
        sil = "|" if isinstance(tokenizer, CharTokenizer) else BLANK_NAME
        self._sil = names.index(sil)
        self.word_separator = self._sil if sil == "|" else None  # between the words of a lexicon path
        self.beam_size = beam_size or (lm.beam_size if lm else 50)
        options = dict(
            nbest=1,
            beam_size=self.beam_size,
            beam_size_token=min(beam_size_token or len(names), len(names)),
            beam_threshold=beam_threshold,
            blank_token=BLANK_NAME,
            sil_token=sil,
        )
        self.hotwords = hotword_list(hotwords, tokenizer)
        if lm is None:
            if self.hotwords:
                raise ASRError("hotwords need beam search with an LM (the model's lm/ or an LM directory)")
            self._decoder = ctc_decoder(lexicon=None, tokens=names, lm=None, **options)
            self.lexicon_size = 0
            return
        options.update(
            lm_weight=lm.lm_weight if lm_weight is None else lm_weight,
            word_score=lm.word_score if word_score is None else word_score,
            unk_word=UNK,
        )
        self._decoder = self._lm_decoder(lm, names, sil, options, hotwords, hotword_score)

    def _lm_decoder(
        self,
        lm: LMConfig,
        names: list[str],
        sil: str,
        options: dict,
        hotwords: Sequence[str],
        hotword_score: float | None,
    ):
        """flashlight's decoder with the LM: a temporary lexicon of the LM's words (and the hotwords), and with
        hotwords a temporary ARPA copy in which they are more probable (both deleted once KenLM has read them)."""
        from torchaudio.models.decoder import ctc_decoder

        bonus = HOTWORD_SCORE if hotword_score is None else hotword_score
        if self.hotwords and options["lm_weight"] <= 0:
            raise ASRError(f"hotwords need a positive LM weight (their bonus rides on it), got {options['lm_weight']}")
        unigrams = _arpa_unigrams_of(lm)
        # words the LM already finds common (THE in "open the door") keep their score outside their phrase:
        # boosting them everywhere would make the search write them everywhere
        self.boosted = [w for w in self.hotwords if unigrams.get(w, float("-inf")) < COMMON_LOG10]
        lines = self._lexicon(list(unigrams), sil, self.hotwords)
        self.lexicon_size = len(lines)
        phrases = [p for p in hotword_phrases(hotwords) if len(p) > 1]
        temporary = []
        try:
            fd, lexicon = tempfile.mkstemp(prefix="asr-lexicon-", suffix=".txt")
            temporary.append(lexicon)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            decoder_lm = str(lm.model_file)
            if self.boosted or phrases:  # the decoder's score is lm_weight * LM + ...: the bonus is divided by it
                fd, decoder_lm = tempfile.mkstemp(prefix="asr-hotwords-", suffix=".arpa")
                os.close(fd)
                temporary.append(decoder_lm)
                boosted_arpa(lm.arpa_file, decoder_lm, self.boosted, phrases, bonus / options["lm_weight"])
            with quiet_stderr():  # KenLM draws a progress bar of stars on stderr while it reads the file
                return ctc_decoder(lexicon=lexicon, tokens=names, lm=decoder_lm, **options)
        except RuntimeError as e:
            raise ModelError(f"{lm.model_file}: cannot load the LM ({e})") from None
        finally:
            for path in temporary:
                os.unlink(path)

    def _lexicon(self, vocabulary: list[str], sil: str, extra: Sequence[str] = ()) -> list[str]:
        """``WORD piece piece ...`` for every LM word the tokenizer can spell, then the ``extra`` words the LM
        does not hold."""
        names = self.tokenizer.token_names()
        known = set(vocabulary)
        words = [w for w in vocabulary + [w for w in extra if w not in known] if w not in (BOS, EOS, UNK)]
        end = ["|"] if sil == "|" else []
        lines = [
            f"{word}\t{' '.join([names[i] for i in ids] + end)}"
            for word, ids in zip(words, self.tokenizer.encode_words(words))
            if ids  # a word the model cannot spell cannot be recognized either
        ]
        lines.append(f"{UNK}\t{names[1]}")  # flashlight needs <unk> in the word list; unk_score keeps it out
        return lines

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[Hypothesis]:
        emissions = log_probs.detach().float().cpu().contiguous()
        results = self._decoder(emissions, lengths.detach().cpu().to(torch.int32))
        return [self._from_torchaudio(nbest[0]) if nbest else Hypothesis([], []) for nbest in results]

    def _from_torchaudio(self, best) -> Hypothesis:
        return self._hypothesis(best.tokens.tolist(), best.timesteps.tolist(), best.words, best.score)

    def _hypothesis(self, tokens: list[int], frames: list[int], words: list[str], score: float) -> Hypothesis:
        """Our Hypothesis from a decoded path's tokens and their frames: silence padding off, merged pieces
        put back."""
        while tokens and tokens[0] == self._sil:  # flashlight pads the path with silence at both ends
            tokens, frames = tokens[1:], frames[1:]
        while tokens and tokens[-1] == self._sil:
            tokens, frames = tokens[:-1], frames[:-1]
        if self.lexicon_size:
            tokens, frames = respell(words, tokens, frames, self.tokenizer, self.word_separator)
        return Hypothesis(tokens, frames, float(score))

    # Online decoding (asr.streaming): one utterance at a time, frames in as they come. The search state
    # lives in this object, so a stream needs a decoder of its own (ASRModel.decoder(..., online=True)).

    def begin(self) -> None:
        """Start a new utterance."""
        if not self.lexicon_size:
            raise ASRError("online beam search needs an LM (its words tell what is final)")
        self._decoder.decode_begin()

    def step(self, log_probs: torch.Tensor) -> None:
        """Extend the search with the (T, V) log-probs of the utterance's next frames."""
        self._decoder.decode_step(log_probs.detach().float().cpu().contiguous())

    def current(self) -> tuple[Hypothesis, int]:
        """The best hypothesis so far, and how many of its first words every hypothesis in the beam shares:
        later frames only extend these hypotheses, so those words are final."""
        results = self._decoder.decoder.get_all_final_hypothesis()
        if not results:
            return Hypothesis([], []), 0
        sequences = [[w for w in r.words if w >= 0] for r in results]
        agreed = 0
        for column in zip(*sequences):
            if any(w != column[0] for w in column):
                break
            agreed += 1
        best = max(results, key=lambda r: r.score)
        path = torch.tensor(list(best.tokens), dtype=torch.long)[None]  # flashlight's path: a token per frame
        collapsed = collapse_paths(path, torch.tensor([path.shape[1]]))[0]
        words = [self._decoder.word_dict.get_entry(w) for w in best.words if w >= 0]
        return self._hypothesis(collapsed.tokens, collapsed.frames, words, best.score), agreed

    def end(self) -> Hypothesis:
        """Finish the utterance (the LM scores its end) and return the best hypothesis."""
        self._decoder.decode_end()
        results = self._decoder.get_final_hypothesis()
        return self._from_torchaudio(results[0]) if results else Hypothesis([], [])


def _check_search(
    beam_size: int | None,
    lm_weight: float | None,
    word_score: float | None,
    beam_threshold: float,
    beam_size_token: int | None,
    hotword_score: float | None,
) -> None:
    """An ASRError naming the first search setting that is not a whole number of at least 1 (beam sizes) or
    not a finite number (weights, scores; the threshold also positive)."""
    for name, value in (("beam_size", beam_size), ("beam_size_token", beam_size_token)):
        if value is not None:
            check_count(value, name)
    for name, value in (("lm_weight", lm_weight), ("word_score", word_score), ("hotword_score", hotword_score)):
        if value is not None:
            check_finite(value, name)
    if not check_finite(beam_threshold, "beam_threshold") > 0:
        raise ASRError(f"beam_threshold must be positive, got {beam_threshold!r}")


def _arpa_unigrams_of(lm: LMConfig) -> dict[str, float]:
    """The LM's words and their log10 unigram probabilities, from its ARPA file (a binary LM needs its ARPA
    beside it for the word list)."""
    arpa = lm.arpa_file
    if not arpa.is_file():
        raise ModelError(f"{arpa}: the word list for the lexicon comes from the ARPA file, which is missing")
    return dict(arpa_unigrams(arpa))


def hotword_phrases(hotwords: Sequence[str]) -> list[list[str]]:
    """Each hotword (a word or a phrase) as its words, normalized as transcripts are; empty ones dropped."""
    if isinstance(hotwords, str):
        raise ASRError("hotwords: expected a list of words or phrases, got one string")
    phrases = ([w for w in normalize_text(p).split() if w not in (BOS, EOS, UNK)] for p in hotwords)
    return [p for p in phrases if p]


def hotword_list(hotwords: Sequence[str], tokenizer: Tokenizer) -> list[str]:
    """The distinct words of ``hotwords`` (words or phrases), in order.
    A word the tokenizer cannot spell is an ASRError naming it."""
    words: dict[str, None] = {w: None for phrase in hotword_phrases(hotwords) for w in phrase}
    for word in words:
        try:
            tokenizer.encode(word)
        except TokenizerError as e:
            phrase = next(p for p in hotwords if word in normalize_text(p).split())
            raise ASRError(f"hotword {phrase!r}: {e}") from None
    return list(words)


def read_hotwords(path: str | os.PathLike) -> list[str]:
    """Hotwords from a text file: one word or phrase per line; blank lines and ``#`` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ASRError(f"{path}: cannot read hotwords ({getattr(e, 'strerror', None) or e})") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def respell(
    words: list[str], tokens: list[int], frames: list[int], tokenizer: Tokenizer, separator: int | None = None
) -> tuple[list[int], list[int]]:
    """Put back the pieces that torchaudio merged out of a lexicon-constrained path.

    torchaudio merges equal neighbouring tokens of flashlight's path after decoding, so a word whose spelling
    repeats a piece lost one (FRERE, spelled F RE RE, came out as FRE: not a word of the lexicon). The
    decoded words' spellings are walked along the path: a missing piece equal to the one before it is put
    back with that piece's frame; anything else that does not match leaves the path as it came. Tokens past
    the listed words (flashlight may not list a last word) are kept. ``separator``: the word separator token
    between words (character vocabularies).
    """
    want: list[int] = []
    try:
        for i, word in enumerate(words):
            if i and separator is not None:
                want.append(separator)
            want += tokenizer.encode(word)
    except TokenizerError:  # <unk>: keep the path as it came
        return tokens, frames
    out_tokens: list[int] = []
    out_frames: list[int] = []
    j = 0
    for i, t in enumerate(want):
        if j < len(tokens) and tokens[j] == t:
            out_tokens.append(t)
            out_frames.append(frames[j])
            j += 1
        elif i and want[i - 1] == t and out_tokens:  # merged into the piece before it
            out_tokens.append(t)
            out_frames.append(out_frames[-1])
        else:
            return tokens, frames
    return out_tokens + tokens[j:], out_frames + frames[j:]
