"""Python inference API: load a model directory and turn audio into a Transcript.

``transcribe`` is a pipeline of named steps: read audio (long files streamed and cut at pauses into
segments of at most 12 s, asr.segment) -> batch segments -> encode -> decode (greedy, beam search, or beam search
with the model's n-gram LM) -> word times (optional) -> stitch segments back with absolute times.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import random
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import torch
from tqdm import tqdm

from .adapt import Adaptation, SpeakerAdaptation, adapt_and_encode, adapt_to_speaker, adaptation
from .align import Word, align_words
from .confidence import Calibration, with_confidence
from .audio import SAMPLE_RATE, AudioInput, audio_duration, load_audio
from .checkpoint import save_model_dir
from .decoding import (
    BeamSearchDecoder,
    Hypothesis,
    SEARCH_SETTINGS,
    LMConfig,
    greedy_decode,
    hotword_list,
    hotword_phrases,
    load_lm_config,
)
from .errors import ASRError, AudioError, ModelError, check_count
from .model import CTCModel
from .segment import EDGE, MAX_SEGMENT_SECONDS, MIN_SEGMENT_SECONDS, SEGMENT_PAD, iter_segments, split_wave
from .tokenizer import Tokenizer
from .transcript import Segment, Transcript
from .vtln import vtln_encode, vtln_factors

if TYPE_CHECKING:
    from .streaming import Stream

__all__ = ["Word", "Segment", "Transcript", "ASRModel"]

# Speaker adaptation on less of a speaker's audio than this (seconds) warns: on LJSpeech, greedy, 1 and 3 minutes
# gained 1.5 and 1.7 points of WER, 10 minutes 4.3 and 21 minutes 6.9 (benchmarks/RESULTS.md).
SHORT_SPEAKER_AUDIO = 300.0


@dataclass
class _Piece:
    """One segment of one input, waiting for (or back from) the model."""

    index: int  # which input
    offset: float  # seconds from the start of the input to the segment's first sample
    wave: torch.Tensor  # the segment, with ``pad`` seconds of zeros before and after it
    pad: float = 0.0


def _streamable_seconds(audio: AudioInput) -> float:
    """The duration of a file that can be read a block at a time (libsndfile's formats; asr.segment), else 0:
    arrays, bytes, and files only ffmpeg decodes are read whole (load_audio, which also says why a file cannot
    be read at all)."""
    if not isinstance(audio, (str, os.PathLike)):
        return 0.0
    try:
        return audio_duration(audio)
    except AudioError:
        return 0.0


class ASRModel:
    """A loaded model directory: network, tokenizer and the device they run on.

    If the directory holds ``lm/`` (an n-gram LM from ``asr lm build`` with tuned weights), ``lm=True``
    decodes with it.
    """

    def __init__(
        self,
        model: CTCModel,
        tokenizer: Tokenizer,
        config: dict,
        path: Path,
        device: torch.device,
        backend: str = "torch",
    ):
        self.model, self.tokenizer, self.config, self.path, self.device = model, tokenizer, config, path, device
        self.backend = backend
        self._onnx = None
        if backend == "onnx":
            from .export import ONNX_FILE, OnnxCTC

            if not (path / ONNX_FILE).is_file():
                raise ModelError(f"{path / ONNX_FILE}: missing; create it with `asr export --model {path}`")
            self._onnx = OnnxCTC(path / ONNX_FILE, threads=torch.get_num_threads())
        elif backend != "torch":
            raise ModelError(f"unknown backend {backend!r}; use 'torch' or 'onnx'")
        self._decoders: dict = {}
        self._online_decoders: dict = {}  # options -> idle decoders for streams (each holds one search)
        self.max_segment_seconds = MAX_SEGMENT_SECONDS  # long inputs are cut at pauses into segments of
        self.min_segment_seconds = MIN_SEGMENT_SECONDS  # min..max seconds (asr/segment.py), each
        self.segment_pad = SEGMENT_PAD  # trimmed of its edge silence, then given this many seconds of zeros
        self.segment_edge = EDGE  # (energy cutting) seconds of a segment's own edge silence kept when trimming
        # How inputs longer than max_segment_seconds are cut: "silero" (Silero VAD finds the speech; stretches
        # without it give no segment) or "energy" (pauses in loudness). Shorter inputs go in whole either way.
        self.segmenter = "silero"
        self._vad = None
        # (size, left) in encoder frames: a streaming model's chunk mask, so whole files give what a stream
        # of those chunks gives (asr.streaming.chunk_frames); None = full context.
        self.chunk: tuple[int, int] | None = None

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def frame_seconds(self) -> float:
        return self.model.frame_seconds

    @property
    def has_lm(self) -> bool:
        return (self.path / "lm").is_dir()

    def decoder(
        self,
        beam_size: int | None = None,
        lm: bool | str | os.PathLike | None = None,
        adapted: bool = False,
        hotwords: Sequence[str] | None = None,
        hotword_score: float | None = None,
        online: bool = False,
        **weights,
    ):
        """The decode function for these options (built once, then cached): greedy when ``beam_size``
        is None and no LM; beam search otherwise. ``online``: a beam search decoder for one stream at a time
        (asr.streaming), not shared while in use: an idle one of these options, or a new one; ``release()``
        gives it back. ``lm`` is True (the model's ``lm/``) or an LM directory;
        ``adapted``: the LM's weights for output after test-time adaptation, when it has them; ``weights``
        may override ``lm_weight`` / ``word_score``; ``hotwords`` (with an LM): words and phrases to favour,
        each word earning ``hotword_score`` (default :data:`~asr.decoding.HOTWORD_SCORE`)."""
        unknown = set(weights) - set(SEARCH_SETTINGS)
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {', '.join(sorted(unknown))}; the search takes {SEARCH_SETTINGS}"
            )
        if beam_size is not None:  # 0 is not "greedy": None is
            check_count(beam_size, "beam_size")
        lm_cfg: LMConfig | None = None
        if lm is True:
            if not self.has_lm:
                raise ModelError(f"{self.path}: this model has no lm/ directory; pass an LM directory instead")
            lm_cfg = load_lm_config(self.path / "lm")
        elif lm:
            lm_cfg = load_lm_config(lm)
        if hotwords and lm_cfg is None:
            raise ASRError("hotwords need beam search with an LM: pass lm=True (the model's lm/) or an LM directory")
        if hotword_score is not None and not hotwords:
            raise ASRError("hotword_score: only with hotwords")
        needs_lm = sorted(k for k in weights if k in ("lm_weight", "word_score"))
        if needs_lm and lm_cfg is None:
            raise ASRError(f"{', '.join(needs_lm)}: only with an LM (lm=True or an LM directory)")
        if weights and lm_cfg is None and not beam_size:
            raise ASRError(f"{', '.join(sorted(weights))}: only with beam search (beam_size= or lm=)")
        if lm_cfg is None and not beam_size:
            return greedy_decode
        if adapted and lm_cfg is not None:
            weights = {**lm_cfg.adapted, **weights}
        if hotwords:  # checked and normalized here, so that lists that differ only in case share a decoder
            hotword_list(hotwords, self.tokenizer)
            phrases = tuple(" ".join(p) for p in hotword_phrases(hotwords))
            weights.update(hotwords=tuple(dict.fromkeys(phrases)), hotword_score=hotword_score)
        key = (beam_size, str(lm_cfg.path) if lm_cfg else None, tuple(sorted(weights.items())))
        if online:
            idle = self._online_decoders.setdefault(key, [])
            decoder = idle.pop() if idle else BeamSearchDecoder(self.tokenizer, lm_cfg, beam_size=beam_size, **weights)
            decoder.release = lambda: idle.append(decoder)
            return decoder
        if key not in self._decoders:
            self._decoders[key] = BeamSearchDecoder(self.tokenizer, lm_cfg, beam_size=beam_size, **weights)
        return self._decoders[key]

    def transcribe(
        self,
        audio: AudioInput,
        *,
        sample_rate: int | None = None,
        beam_size: int | None = None,
        lm: bool | str | os.PathLike | None = None,
        word_timestamps: bool = False,
        vtln: bool | Sequence[float] | None = None,
        adapt: bool | int | Adaptation | None = None,
        hotwords: Sequence[str] | None = None,
        progress: bool = False,
        **weights,
    ) -> Transcript:
        """Transcribe one file path (any length), an audio file's bytes or binary file object, or an array of
        samples with its ``sample_rate`` (integer PCM scaled by its type's range; asr.audio.load_audio).

        ``beam_size``: beam search instead of greedy; ``lm``: beam search with the model's LM (True) or
        an LM directory; ``lm_weight=`` / ``word_score=`` override the LM's tuned weights; ``hotwords``
        (with ``lm``): words and phrases to favour (names, terms), each word the LM lacks added to its
        lexicon, each word of them a hypothesis completes earning ``hotword_score=`` (default
        :data:`asr.decoding.HOTWORD_SCORE`);
        ``word_timestamps``: fill ``Transcript.words`` with start/end seconds; ``vtln``: test-time vocal
        tract length normalization, True or a list of warp factors (see :meth:`encode`; one network pass
        per factor); ``adapt``: test-time adaptation of each segment (asr.adapt), True for 10 steps, a
        number of steps, or an :class:`~asr.adapt.Adaptation`.
        """
        return self.transcribe_batch(
            [audio],
            sample_rate=sample_rate,
            beam_size=beam_size,
            lm=lm,
            word_timestamps=word_timestamps,
            vtln=vtln,
            adapt=adapt,
            hotwords=hotwords,
            progress=progress,
            **weights,
        )[0]

    def transcribe_batch(
        self,
        audios: Sequence[AudioInput],
        *,
        sample_rate: int | None = None,
        batch_size: int = 16,
        beam_size: int | None = None,
        lm: bool | str | os.PathLike | None = None,
        word_timestamps: bool = False,
        vtln: bool | Sequence[float] | None = None,
        adapt: bool | int | Adaptation | None = None,
        hotwords: Sequence[str] | None = None,
        progress: bool = False,
        **weights,
    ) -> list[Transcript]:
        """Transcribe many inputs; segments are batched by similar length; results keep the input order.

        Raises AudioError on the first unreadable input (the CLI goes file by file instead, to skip and
        report bad ones).
        """
        check_count(batch_size, "batch_size")
        factors, settings = vtln_factors(vtln), adaptation(adapt)
        decode = self.decoder(beam_size, lm, adapted=settings is not None, hotwords=hotwords, **weights)
        calibration = None if settings is not None else self.calibration("lm" if lm else "greedy")
        parts: list[list[tuple[float, float, str, list[Word]]]] = [[] for _ in audios]
        durations = [0.0] * len(audios)
        bar = tqdm(total=None, unit="audio s", desc="segments", disable=None if progress else True, leave=False)
        window: list[_Piece] = []
        for piece in self._pieces(audios, sample_rate, durations):
            window.append(piece)
            if len(window) >= 4 * batch_size:  # sort a bounded window by length: little padding, bounded memory
                self._run(window, batch_size, (decode, calibration), word_timestamps, (factors, settings), parts, bar)
                window = []
        self._run(window, batch_size, (decode, calibration), word_timestamps, (factors, settings), parts, bar)
        bar.close()
        return [self._stitch(p, d) for p, d in zip(parts, durations)]

    def _pieces(
        self, audios: Sequence[AudioInput], sample_rate: int | None, durations: list[float]
    ) -> Iterator[_Piece]:
        """Segments of every input in order; fills ``durations`` (seconds per input) on the way."""
        limit, shortest = self.max_segment_seconds, min(self.min_segment_seconds, self.max_segment_seconds / 2)
        zeros = torch.zeros(int(round(self.segment_pad * SAMPLE_RATE)))
        for index, audio in enumerate(audios):
            seconds = _streamable_seconds(audio)
            if seconds > limit:
                durations[index] = seconds
                segments = iter_segments(
                    audio, max_seconds=limit, min_seconds=shortest, vad=self.vad(), edge=self.segment_edge
                )
            else:
                wave = load_audio(audio, sample_rate)
                durations[index] = wave.numel() / SAMPLE_RATE
                if wave.numel() <= limit * SAMPLE_RATE:  # not cut, not trimmed: as it is
                    yield _Piece(index, 0.0, wave)
                    continue
                segments = split_wave(
                    wave, max_seconds=limit, min_seconds=shortest, vad=self.vad(), edge=self.segment_edge
                )
            for offset, wave in segments:
                yield _Piece(index, offset, torch.cat([zeros, wave, zeros]), zeros.numel() / SAMPLE_RATE)

    def adapted_to(
        self,
        audios: Sequence[AudioInput],
        *,
        sample_rate: int | None = None,
        settings: SpeakerAdaptation | None = None,
        on_error: Callable[[AudioError], None] | None = None,
        progress: bool = False,
    ) -> "ASRModel":
        """A copy of this model adapted to the voice and recording of ``audios`` (one speaker's files or
        arrays, any length; no transcripts): its LayerNorms and subsampling convolutions tuned to lower the
        entropy of its output on their segments (asr.adapt.adapt_to_speaker). It reads that speaker's
        other audio at the cost of plain decoding; :meth:`save` writes it as a model directory.

        A bad input raises AudioError; with ``on_error``, the error is passed to it and the input skipped (the
        segments of a long file read before a failure part-way stay). Of more segments than the steps can
        draw (:attr:`SpeakerAdaptation.pool_size`, 1600 by default: about 3-5 hours), a uniform sample of
        that many is held, so memory stays bounded.
        """
        self._check_float_network("adapt")
        settings = settings or SpeakerAdaptation()
        waves, seconds, segments = self._speaker_segments(audios, sample_rate, settings, on_error)
        if waves and 0 < seconds < SHORT_SPEAKER_AUDIO:
            warnings.warn(
                f"adapt: {seconds / 60:.1f} minutes of the speaker's audio; adaptation gains little below about "
                f"{SHORT_SPEAKER_AUDIO / 60:.0f} minutes (benchmarks/RESULTS.md, speaker adaptation)",
                stacklevel=2,
            )
        steps = settings.steps_for(segments)  # of all the segments, not just those held
        weights = adapt_to_speaker(self.model, waves, dataclasses.replace(settings, steps=steps), self.chunk, progress)
        adapted = copy.copy(self)
        adapted.model = copy.deepcopy(self.model)
        adapted.model.load_state_dict(weights, strict=False)
        adapted._decoders = {}
        record = {
            "from": str(self.path),
            "seconds": round(seconds, 2),
            "segments": segments,
            "segments_used": len(waves),
            "steps": steps,
        }
        info = {k: v for k, v in self.config.get("info", {}).items() if k != "confidence"}  # fitted to other weights
        info["speaker_adaptation"] = {**dataclasses.asdict(settings), **record}
        adapted.config = {**self.config, "info": info}
        return adapted

    def _speaker_segments(
        self,
        audios: Sequence[AudioInput],
        sample_rate: int | None,
        settings: SpeakerAdaptation,
        on_error: Callable[[AudioError], None] | None,
    ) -> tuple[list[torch.Tensor], float, int]:
        """The segments of ``audios`` speaker adaptation draws from: at most ``settings.pool_size`` of them, a
        uniform sample (reservoir sampling: memory bounded however long the audio), with the seconds of audio
        read and the number of segments in all. A bad input raises AudioError, or with ``on_error`` is
        passed to it and skipped."""
        waves, seconds, segments = [], 0.0, 0
        sampler = random.Random(settings.seed)
        for audio in audios:
            duration = [0.0]
            try:
                for piece in self._pieces([audio], sample_rate, duration):
                    segments += 1
                    if len(waves) < settings.pool_size:
                        waves.append(piece.wave.to(self.device))
                    elif (slot := sampler.randrange(segments)) < settings.pool_size:
                        waves[slot] = piece.wave.to(self.device)
            except AudioError as e:
                if on_error is None:
                    raise
                on_error(e)
                continue
            seconds += duration[0]
        return waves, seconds, segments

    def calibration(self, decoding: str) -> Calibration | None:
        """The word-confidence calibration of this model for ``decoding`` ("greedy" or "lm") from its config's
        ``info.confidence`` (``asr tune-confidence``), or None."""
        return Calibration.from_info(self.config.get("info", {}), decoding, str(self.path / "config.json"))

    def save(self, directory: str | os.PathLike) -> Path:
        """Write this model as a model directory that :func:`~asr.load_model` reads: config.json (with its
        ``info``), model.safetensors (float32), the tokenizer, and the LM (``lm/``) of the directory it was
        loaded from. Returns the directory."""
        self._check_float_network("save")
        directory = Path(directory)
        if directory.exists() and directory.resolve() == self.path.resolve():
            raise ModelError(f"{directory}: the directory this model was loaded from; save to another one")
        info = {k: v for k, v in self.config.get("info", {}).items() if k != "weights_dtype"}
        save_model_dir(directory, self.model.cfg, self.model.state_dict(), self.tokenizer, info=info)
        if (self.path / "lm").is_dir():
            shutil.copytree(self.path / "lm", directory / "lm", dirs_exist_ok=True)
        return directory

    def vad(self):
        """The voice activity detector that cuts long inputs (None with the energy segmenter), made once."""
        if self.segmenter not in ("silero", "energy"):
            raise ModelError(f"segmenter must be 'silero' or 'energy', got {self.segmenter!r}")
        if self.segmenter == "silero" and self._vad is None:
            from .vad import SileroVAD

            self._vad = SileroVAD()
        return self._vad if self.segmenter == "silero" else None

    def _run(self, window: list[_Piece], batch_size: int, decoding, word_timestamps: bool, encoding, parts, bar):
        decode, calibration = decoding  # the decode function and the word-confidence calibration (or None)
        window.sort(key=lambda p: p.wave.numel())
        for start in range(0, len(window), batch_size):
            chunk = window[start : start + batch_size]
            log_probs, lengths = self.encode([p.wave for p in chunk], *encoding)
            hyps: list[Hypothesis] = decode(log_probs, lengths)
            for b, (piece, hyp) in enumerate(zip(chunk, hyps)):
                text = self.tokenizer.decode(hyp.tokens)
                seconds = piece.wave.numel() / SAMPLE_RATE - 2 * piece.pad
                words = []
                if word_timestamps and hyp.tokens:  # times from the padded wave's start, which is pad before offset
                    aligned = align_words(
                        log_probs[b, : lengths[b]].cpu(),
                        hyp.tokens,
                        self.tokenizer,
                        self.frame_seconds,
                        piece.wave,
                        piece.offset - piece.pad,
                    )
                    lo, hi = piece.offset, piece.offset + seconds  # never in the zeros, never before 0
                    words = [
                        Word(w.word, start := min(max(w.start, lo), hi), max(min(w.end, hi), start), w.score)
                        for w in aligned
                    ]
                    words = with_confidence(words, calibration)
                parts[piece.index].append((piece.offset, piece.offset + seconds, text, words))
                bar.update(round(seconds, 2))

    @staticmethod
    def _stitch(parts: list[tuple[float, float, str, list[Word]]], duration: float) -> Transcript:
        parts.sort(key=lambda p: p[0])
        segments = [Segment(round(s, 3), round(e, 3), text, words) for s, e, text, words in parts if text]
        return Transcript(
            text=" ".join(s.text for s in segments),
            segments=segments,
            words=[w for s in segments for w in s.words],
            duration=duration,
        )

    def stream_step(self):
        """The ONNX encoder step of a streaming model with backend="onnx" (made once), else None."""
        if self.backend != "onnx" or not self.model.cfg.streaming:
            return None
        if getattr(self, "_stream_step", None) is None:
            from .export import STREAM_ONNX_FILE, OnnxStreamStep

            if not (self.path / STREAM_ONNX_FILE).is_file():
                missing = self.path / STREAM_ONNX_FILE
                raise ModelError(f"{missing}: missing; create it with `asr export --model {self.path}`")
            self._stream_step = OnnxStreamStep(self.path / STREAM_ONNX_FILE, threads=torch.get_num_threads())
        return self._stream_step

    def stream(
        self,
        chunk_ms: float = 320,
        left_ms: float = 3600,
        lm: bool | str | os.PathLike | None = None,
        hotwords: Sequence[str] | None = None,
        commit_pause: float | None = None,
        **weights,
    ) -> "Stream":
        """A live stream through this (streaming) model: ``accept(samples)`` returns words as they are
        completed, ``finish()`` the Transcript (asr.streaming). ``lm``: beam search with an n-gram LM (True:
        the model's ``lm/``; or an LM directory), with ``hotwords``; greedy without. ``commit_pause``: with
        the LM, seconds of greedy silence that end the search and make its words final (default 0.2; 0:
        never). ``weights``: ``hotword_score``, ``lm_weight``, ``word_score`` (as for ``transcribe``)."""
        from .streaming import Stream

        return Stream(self, chunk_ms, left_ms, lm=lm, hotwords=hotwords, commit_pause=commit_pause, **weights)

    @torch.inference_mode()
    def encode(
        self, waves: Sequence[torch.Tensor], vtln: Sequence[float] = (), adapt: Adaptation | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """16 kHz mono waves -> CTC log-probs (B, T', V) and frame counts.

        ``vtln`` (warp factors): test-time vocal tract length normalization, each wave read with the factor
        whose output is most confident (asr.vtln).

        ``adapt``: each wave is encoded after a few steps of test-time adaptation of its own (asr.adapt).
        """
        if adapt is not None:
            return self._adapt_and_encode(waves, vtln, adapt)
        lengths = torch.tensor([w.numel() for w in waves], dtype=torch.long)
        batch = torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True)
        if self._onnx is not None:
            if vtln:
                raise ModelError("vtln needs the PyTorch backend (the ONNX graph has a fixed filterbank)")
            return self._onnx(batch, lengths)
        batch, lengths = batch.to(self.device), lengths.to(self.device)
        if not vtln:
            return self.model(batch, lengths, chunk=self.chunk)
        return vtln_encode(self.model, batch, lengths, vtln, self.chunk)

    def _check_float_network(self, what: str) -> None:
        quantized = any("quantized" in type(m).__module__ for m in self.model.modules())
        if self._onnx is not None or quantized:
            raise ModelError(f"{what} needs the PyTorch backend's float network (no onnx, no quantize)")

    def _adapt_and_encode(self, waves, vtln, adapt: Adaptation) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_float_network("adapt")
        if vtln:
            raise ModelError("adapt and vtln both move the network towards a voice: use one of them")
        return adapt_and_encode(self.model, [w.to(self.device) for w in waves], adapt, self.chunk)
