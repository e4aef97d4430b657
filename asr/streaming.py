"""Streaming recognition: audio in pieces of any size, words out chunk by chunk.

A streaming model (``streaming: true`` in its config, trained with chunk masks) runs the same chain as
``transcribe``, one step behind the audio:

* front end: each feature frame is computed once the samples under its window have arrived; causal
  normalization carries running sums (``features.CausalStats``);
* subsampling: its left-padded convolutions are run over the new frames and the few before them that
  their receptive field reaches back to;
* encoder: a chunk of ``chunk`` encoder frames at a time, each block keeping the keys/values of
  ``left`` chunks and its convolution's last input frames (``Encoder.step``);
* greedy CTC over each chunk's log-probs: what a chunk emits never changes later, so words are final as
  soon as the next word begins;
* or, with an LM (``lm=``, and ``hotwords=``), beam search constrained to its words, fed chunk by chunk
  (flashlight's online decoding): a word is final once every hypothesis in the beam holds it, since
  later frames only extend them; the rest of the best hypothesis is the partial text. Hypotheses that
  read an earlier word differently never merge in flashlight's search, so the beam often keeps them for
  seconds; at a pause (``commit_pause``, 0.2 s of greedy silence after a token) the search ends, its best
  words become final, and a new search starts. Endpoints and pauses follow the greedy path, which is
  computed either way (benchmarks/RESULTS.md, streaming).

A stream keeps its log-probs (and, with an LM, its search) until ``finish``: live audio of unbounded length
goes through endpoints, one stream per segment, as ``asr stream`` does.

Many streams at once: ``accept_many`` feeds each its piece and runs the chunks that are ready together
through the encoder as one batch.

The log-probs are those of the whole utterance run offline through ``CTCModel.forward(chunk=(chunk,
left))`` (within float rounding), however the audio was cut into pieces: tests/test_streaming.py holds that.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .align import Word, align_words
from .confidence import with_confidence
from .audio import SAMPLE_RATE, as_samples, check_sample_rate, resample
from .encoder import EncoderCache
from .errors import ASRError, AudioError, ModelError
from .stream_frontend import StreamFrontEnd
from .tokenizer import BLANK
from .transcript import Segment, Transcript

__all__ = ["Stream", "Update", "Endpoint", "accept_many", "chunk_frames", "DEFAULT_CHUNK_MS", "DEFAULT_LEFT_MS"]

DEFAULT_CHUNK_MS = 320
DEFAULT_LEFT_MS = 3600  # attention context before the chunk (keys/values kept per block)
DEFAULT_COMMIT_PAUSE = 0.2  # with an LM: seconds of greedy silence that end the search (benchmarks/RESULTS.md)


def chunk_frames(model, chunk_ms: float = DEFAULT_CHUNK_MS, left_ms: float = DEFAULT_LEFT_MS) -> tuple[int, int]:
    """(chunk size in encoder frames, left context in chunks) for a CTCModel: ``chunk_ms`` rounded to whole
    frames (at least one), ``left_ms`` up to whole chunks."""
    if not chunk_ms > 0 or not left_ms >= 0:
        raise ModelError(f"chunk_ms must be > 0 and left_ms >= 0, got {chunk_ms} and {left_ms}")
    size = max(1, round(chunk_ms / 1000 / model.frame_seconds))
    return size, math.ceil(left_ms / 1000 / model.frame_seconds / size)


@dataclass
class Endpoint:
    """When a live stream's segment ends (the rules of sherpa-onnx's endpointing, on greedy CTC output):
    ``after_speech`` seconds without a new token once a word came out; ``no_speech`` seconds with no
    token at all (the segment is dropped: nothing was said); or ``max_segment`` seconds in all."""

    after_speech: float = 0.8
    no_speech: float = 4.0
    max_segment: float = 20.0

    def reached(self, stream: "Stream") -> bool:
        spoken = stream.frames_done * stream.frame_seconds
        return (
            stream.trailing_silence >= (self.after_speech if stream.has_speech else self.no_speech)
            or spoken >= self.max_segment
        )


@dataclass
class Update:
    """What one ``Stream.accept`` call produced: the words completed since the last call (final: later audio
    never changes them) and the text after them, which may still change: the word being spoken (greedy),
    or the words the beam does not yet agree on (with an LM); "" when none."""

    words: list[Word] = field(default_factory=list)
    partial: str = ""


class Stream:
    """One live utterance through a streaming model: ``accept`` pieces of audio, then ``finish``.

    ``chunk_ms``: audio per encoder step (rounded to whole encoder frames): smaller chunks emit sooner and
    cost more per second of audio. ``left_ms``: attention context kept before each chunk. ``lm``: beam
    search with an n-gram LM (True: the model's ``lm/``; or an LM directory) instead of greedy output, with
    ``hotwords`` and ``weights`` (``hotword_score``, ``lm_weight``, ``word_score``) as ``ASRModel.transcribe``.
    ``commit_pause`` (with an LM): seconds of silence on the greedy path after which the search ends and its
    words are final (default 0.2; 0: only at ``finish``); the new search's LM starts as at a sentence start.
    """

    def __init__(
        self,
        asr_model,
        chunk_ms: float = DEFAULT_CHUNK_MS,
        left_ms: float = DEFAULT_LEFT_MS,
        lm: bool | str | os.PathLike | None = None,
        hotwords: Sequence[str] | None = None,
        commit_pause: float | None = None,
        **weights,
    ):
        model = asr_model.model
        if not model.cfg.streaming:
            raise ModelError(
                f"{asr_model.path}: not a streaming model (its config has streaming: false); "
                "load the bundled streaming one (asr.load_model(streaming=True)) or train one with "
                "model.streaming: true and chunk_prob > 0"
            )
        self.chunk, self.left = chunk_frames(model, chunk_ms, left_ms)  # encoder frames; chunks of context
        self.asr, self.model, self.tokenizer = asr_model, model, asr_model.tokenizer
        self.device = asr_model.device
        self.frame_seconds = model.frame_seconds
        self._front = StreamFrontEnd(model, self.device)  # audio -> encoder input frames
        self._pending = torch.zeros(1, 0, model.cfg.d_model, device=self.device)  # encoder input not yet run
        self._cache = EncoderCache()
        self._onnx = asr_model.stream_step()  # the encoder step in onnxruntime (backend="onnx"), else None
        if self._onnx is not None:
            from .export import stream_cache_shapes

            kv_shape, conv_shape = stream_cache_shapes(model, 0)
            self._keys, self._values = torch.zeros(kv_shape), torch.zeros(kv_shape)
            self._convs = torch.zeros(conv_shape)
        self._log_probs = torch.zeros(0, model.cfg.vocab_size)  # (T, V) of every frame run: a buffer that ...
        self._frames_run = 0  # ... doubles when full, so each chunk adds its frames without copying the rest
        self._last = BLANK  # best token of the last frame run (greedy merges repeats across chunks)
        self._tokens: list[int] = []  # the greedy path (endpoints follow it)
        self._output: list[int] = []  # the tokens of the finished stream: greedy, or the LM's best
        self._frames: list[int] = []
        self._runs: list[list[float]] = []  # per token: [sum of its log-prob, frames] over its run of frames
        self._calibration = asr_model.calibration("lm" if lm else "greedy")  # word confidence, or None
        self._words_out = 0  # words already returned by accept
        self._search = None  # the online beam search, with an LM
        if weights and not lm:
            raise ASRError(f"stream: {', '.join(sorted(weights))} only apply with lm= (beam search with an LM)")
        if lm or hotwords:
            self._search = asr_model.decoder(lm=lm, hotwords=hotwords, online=True, **weights)
            self._search.begin()
        if commit_pause is not None and (self._search is None or not commit_pause >= 0):
            raise ASRError(f"commit_pause needs lm= and a number of seconds >= 0 (0: never), got {commit_pause}")
        if commit_pause is None:
            commit_pause = DEFAULT_COMMIT_PAUSE if self._search is not None else 0.0
        self.commit_pause = commit_pause
        self._final_frame = 0  # with an LM: the encoder frame where the words returned so far end
        self._search_start = 0  # ... the encoder frame where the current search began (commit_pause)
        self._committed: list[int] = []  # ... the tokens of the searches ended at pauses
        self.finished = False

    @property
    def chunk_seconds(self) -> float:
        return self.chunk * self.frame_seconds

    @property
    def frames_done(self) -> int:
        """Encoder frames decoded so far."""
        return self._cache.frames

    @property
    def has_speech(self) -> bool:
        """Whether any token came out yet."""
        return bool(self._tokens)

    @property
    def trailing_silence(self) -> float:
        """Seconds of decoded frames since the last token (all of them when none came out)."""
        last = self._frames[-1] + 1 if self._frames else 0
        return (self.frames_done - last) * self.frame_seconds

    @property
    def seconds(self) -> float:
        """Seconds of audio accepted so far."""
        return self._front.received / SAMPLE_RATE

    def accept(self, samples, sample_rate: int = SAMPLE_RATE) -> Update:
        """Feed the next piece of audio, mono: float samples in [-1, 1], or integer PCM (int16, int32, int8,
        uint8) scaled by its range; returns the words completed by it and the current partial word. Pieces at
        another ``sample_rate`` are resampled one by one."""
        return accept_many([self], [samples], sample_rate)[0]

    def _audio(self, samples, sample_rate: int) -> torch.Tensor:
        """A piece of audio checked and resampled to 16 kHz float; raises before any state changes."""
        if self.finished:
            raise ModelError("this stream is finished; start a new one with model.stream()")
        wave = as_samples(samples, "stream audio")
        if wave.dim() != 1:
            raise AudioError(f"stream audio must be mono (one dimension), got shape {tuple(wave.shape)}")
        check_sample_rate(sample_rate, "stream audio")
        if not torch.isfinite(wave).all():
            raise AudioError("stream audio holds NaN or infinite samples")
        return resample(wave, sample_rate, SAMPLE_RATE)

    def _take(self, wave: torch.Tensor) -> None:
        """Append checked 16 kHz audio; once it completes a chunk, compute its features and subsampled frames
        (not the encoder). Waiting for a whole chunk changes no output and spares small front-end calls."""
        self._front.add(wave)
        if self._pending.shape[1] + self._front.ready() >= self.chunk:
            self._pending = torch.cat([self._pending, self._front.take()], dim=1)

    @torch.inference_mode()
    def finish(self):
        """End of the audio: run what is left and return the ``Transcript`` (words with times)."""
        if not self.finished:
            self._advance(final=True)
            self.finished = True
            self._output = self._tokens
            if self._search is not None:
                self._output = self._after_committed(self._search.end().tokens)
                self._search.release()
                self._search = None
        text = self.tokenizer.decode(self._output)
        duration = self._front.received / SAMPLE_RATE
        words: list[Word] = []
        if self._output:
            words = align_words(self.log_probs, self._output, self.tokenizer, self.frame_seconds)
            words = with_confidence(words, self._calibration)
        segments = [Segment(0.0, round(duration, 3), text, words)] if text else []
        return Transcript(text, segments, words, duration)

    @property
    def log_probs(self) -> torch.Tensor:
        """(T, V) log-probs of every encoder frame run so far."""
        return self._log_probs[: self._frames_run]

    def _update(self) -> Update:
        if self._search is not None:
            return self._beam_update()
        spans = self.tokenizer.word_spans(self._tokens)
        done = spans[:-1]  # the last word may still grow
        words = [self._word(b, e) for b, e in done[self._words_out :]]
        self._words_out = max(self._words_out, len(done))
        partial = self.tokenizer.decode(self._tokens[spans[-1][0] :]) if spans else ""
        return Update([w for w in words if w.word], partial)

    def _beam_update(self) -> Update:
        """The words every hypothesis of the beam now holds (not yet returned), each aligned on the frames
        between the last returned word and the first frame of the words still in doubt. With
        ``commit_pause``, once the greedy path has been silent that long after a token, the search ends there:
        all its words are final, and a new search (the LM back at a sentence start) takes the next frames."""
        pause = (
            self.commit_pause > 0
            and self.trailing_silence >= self.commit_pause
            and bool(self._frames)
            and self._frames[-1] >= self._search_start  # a token since this search began
        )
        hyp, agreed = (self._search.end(), None) if pause else self._search.current()
        frames = [f + self._search_start for f in hyp.frames]  # the search counts from its first frame
        spans = self.tokenizer.word_spans(hyp.tokens)
        agreed = len(spans) if agreed is None else min(agreed, len(spans))
        words: list[Word] = []
        if agreed > self._words_out:
            first, last = spans[self._words_out][0], spans[agreed - 1][1]
            tokens = hyp.tokens[first:last]
            begin = min(self._final_frame, frames[first])
            end = frames[spans[agreed][0]] if agreed < len(spans) else self.frames_done
            needed = len(tokens) + sum(a == b for a, b in zip(tokens, tokens[1:]))  # CTC: a blank between twins
            if end - begin < needed:  # pieces put back on one frame (respell): align over every frame there is
                end = self.frames_done
            if end - begin >= needed:
                window = self.log_probs[begin:end]
                words = align_words(
                    window, tokens, self.tokenizer, self.frame_seconds, offset=begin * self.frame_seconds
                )
                words = with_confidence(words, self._calibration)
                self._final_frame, self._words_out = frames[last - 1] + 1, agreed
        if pause:
            self._committed = self._after_committed(hyp.tokens)
            self._search.begin()
            self._search_start, self._final_frame, self._words_out = self.frames_done, self.frames_done, 0
            return Update(words, "")
        done = self._words_out
        partial = self.tokenizer.decode(hyp.tokens[spans[done][0] :]) if done < len(spans) else ""
        return Update(words, partial)

    def _after_committed(self, tokens: list[int]) -> list[int]:
        """The tokens of the searches ended at pauses, then ``tokens`` (characters: a word separator between)."""
        separator = self._search.word_separator  # BPE pieces carry their word starts: none
        between = [separator] if separator is not None and self._committed and tokens else []
        return self._committed + between + tokens

    def _word(self, begin: int, end: int) -> Word:
        """A completed word: its tokens' time, and its score as asr.align scores the greedy path (the mean
        over its tokens of the mean log-prob of each token's run of frames), with confidence when calibrated."""
        start = self._frames[begin] * self.frame_seconds
        stop = (self._frames[end - 1] + 1) * self.frame_seconds
        score = sum(total / frames for total, frames in self._runs[begin:end]) / (end - begin)
        word = Word(self.tokenizer.decode(self._tokens[begin:end]), round(start, 3), round(stop, 3), round(score, 3))
        return with_confidence([word], self._calibration)[0]

    def _advance(self, final: bool) -> None:
        self._pending = torch.cat([self._pending, self._front.take(final)], dim=1)
        self._run_chunks(final)

    def _run_chunks(self, final: bool) -> None:
        """Run every chunk of pending encoder input through the encoder, one at a time."""
        while (x := self._next_chunk(final)) is not None:
            self._encode(x)

    def _next_chunk(self, final: bool) -> torch.Tensor | None:
        """The next whole chunk of encoder input (with ``final``, also a shorter last one), or None."""
        if self._pending.shape[1] >= self.chunk or (final and self._pending.shape[1] > 0):
            x, self._pending = self._pending[:, : self.chunk], self._pending[:, self.chunk :]
            return x
        return None

    def _encode(self, x: torch.Tensor) -> None:
        if self._onnx is not None:
            log_probs, keys, values, self._convs = self._onnx(x, self._keys, self._values, self._convs)
            first = max(keys.shape[3] - self.left * self.chunk, 0)
            self._keys, self._values = keys[:, :, :, first:], values[:, :, :, first:]
            self._cache.frames += x.shape[1]
            self._emit(log_probs[0])
        else:
            _encode_together([self], [x])

    def _emit(self, log_probs: torch.Tensor) -> None:
        """Greedy CTC over one chunk's (C, V) log-probs, whose frames end at ``frames_done``."""
        start = self._cache.frames - log_probs.shape[0]
        end = self._frames_run + log_probs.shape[0]
        if end > self._log_probs.shape[0]:
            grown = torch.zeros(max(2 * self._log_probs.shape[0], end, 64), log_probs.shape[1])
            grown[: self._frames_run] = self.log_probs
            self._log_probs = grown
        self._log_probs[self._frames_run : end] = log_probs.cpu()
        self._frames_run = end
        values, best = log_probs.max(dim=-1)
        for i, (token, value) in enumerate(zip(best.tolist(), values.tolist())):
            if token != BLANK and token != self._last:
                self._tokens.append(token)
                self._frames.append(start + i)
                self._runs.append([value, 1])
            elif token != BLANK:  # the run of the last token goes on
                self._runs[-1][0] += value
                self._runs[-1][1] += 1
            self._last = token
        if self._search is not None:
            self._search.step(log_probs)


@torch.inference_mode()
def accept_many(streams: Sequence[Stream], pieces: Sequence, sample_rate: int = SAMPLE_RATE) -> list[Update]:
    """Feed each stream its next piece of audio (as ``Stream.accept``) and run their chunks through the encoder
    in batches: the streams of one model and chunk setting that have a chunk ready at the same time form one
    batch, so many live streams share each matrix product (a server's loop: collect what each connection
    sent, call this, send back the updates). Each stream's output is what it gives alone. A bad piece
    raises before any stream changes. Streams on ``backend="onnx"`` run one by one."""
    if len(streams) != len(pieces):
        raise ValueError(f"{len(streams)} streams but {len(pieces)} pieces of audio")
    if len({id(s) for s in streams}) != len(streams):
        raise ModelError("a stream appears twice in one accept_many call")
    waves = [stream._audio(piece, sample_rate) for stream, piece in zip(streams, pieces)]
    groups: dict[tuple, list[Stream]] = {}
    for stream, wave in zip(streams, waves):
        stream._take(wave)
        if stream._onnx is not None:
            stream._run_chunks(final=False)
        else:
            groups.setdefault((id(stream.model), stream.chunk, stream.left), []).append(stream)
    for group in groups.values():
        while ready := [s for s in group if s._pending.shape[1] >= s.chunk]:
            _encode_together(ready, [s._next_chunk(final=False) for s in ready])
    return [stream._update() for stream in streams]


def _encode_together(streams: Sequence[Stream], chunks: list[torch.Tensor]) -> None:
    """One encoder step for a chunk of each stream (one model and chunk setting), as one batch."""
    first = streams[0]
    model = first.model
    y, caches = model.encoder.step(torch.cat(chunks), [s._cache for s in streams], first.left * first.chunk)
    for stream, cache, log_probs in zip(streams, caches, model.head(y).float().log_softmax(dim=-1)):
        stream._cache = cache
        stream._emit(log_probs)
