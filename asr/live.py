"""``asr stream``: live audio in (stdin, a file, a microphone), segments of words out as they are spoken.

Sources give mono float32 pieces at their own rate; ``run`` feeds them to a :class:`asr.streaming.Stream`,
prints the words still being decided to stderr (or as ``partial`` lines with ``--format jsonl``) and one
final line per segment to stdout, with its times. A segment ends at a pause, found by Silero VAD when it is
installed (:class:`asr.vad.VadEndpoint`) or else by the recognizer's own silence (:class:`asr.streaming.Endpoint`);
then a fresh stream starts where it stopped.

stdin carries raw 16-bit little-endian PCM (``--rate``, ``--channels``) unless it starts with ``RIFF``: a WAV
stream, whose header gives the format (16/24/32-bit PCM or 32-bit float; the data size may be unknown).
"""

from __future__ import annotations

import json
import struct
import sys
import time
from typing import BinaryIO, Iterator

import numpy as np
import torch

from .audio import SAMPLE_RATE, check_sample_rate, load_audio, resample
from .errors import AudioError, ASRError
from .streaming import Endpoint
from .vad import VadEndpoint

__all__ = ["pcm_pieces", "file_pieces", "mic_pieces", "run"]

PIECE_SECONDS = 0.1  # audio read per step: what a microphone callback typically delivers


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        more = f.read(n - len(data))
        if not more:
            break
        data += more
    return data


def _decode(raw: bytes, bits: int, floating: bool, channels: int) -> np.ndarray:
    if floating:
        x = np.frombuffer(raw, "<f4")
    elif bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 8388608.0
    else:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x


def _wav_format(f: BinaryIO, name: str) -> tuple[int, int, int, bool]:
    """Read a WAV stream's header up to its data: (rate, channels, bits, floating)."""
    head = _read_exact(f, 8)  # the RIFF size (often unknown in a stream), then "WAVE"
    if head[4:8] != b"WAVE":
        raise AudioError(f"{name}: starts with RIFF but is not a WAV stream")
    fmt = None
    while True:
        header = _read_exact(f, 8)
        if len(header) < 8:
            raise AudioError(f"{name}: WAV stream ended before its data chunk")
        kind, size = header[:4], struct.unpack("<I", header[4:])[0]
        if kind == b"data":
            break
        if size > 1 << 20:
            raise AudioError(f"{name}: WAV header chunk {kind!r} of {size} bytes is not plausible")
        body = _read_exact(f, size + (size & 1))
        if kind == b"fmt ":
            if len(body) < 16:
                raise AudioError(f"{name}: WAV fmt chunk too short")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real tag leads the sub-format
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
    if fmt is None:
        raise AudioError(f"{name}: WAV stream has no fmt chunk before its data")
    tag, channels, rate, bits = fmt
    floating = tag == 3
    if not (tag == 1 and bits in (16, 24, 32) or floating and bits == 32):
        raise AudioError(
            f"{name}: WAV format tag {tag} with {bits} bits is not supported (16/24/32-bit PCM or 32-bit float)"
        )
    if not 1 <= channels <= 32:
        raise AudioError(f"{name}: WAV stream declares {channels} channels")
    return check_sample_rate(rate, name), channels, bits, floating


def pcm_pieces(
    f: BinaryIO, rate: int = SAMPLE_RATE, channels: int = 1, name: str = "stdin"
) -> Iterator[tuple[np.ndarray, int]]:
    """(mono float32 piece, sample rate) from a byte stream: a WAV stream when it starts with RIFF, else raw
    16-bit little-endian PCM at ``rate`` with ``channels`` interleaved channels."""
    start = _read_exact(f, 4)
    bits, floating = 16, False
    if start == b"RIFF":
        rate, channels, bits, floating = _wav_format(f, name)
        start = b""
    check_sample_rate(rate, name)
    frame = channels * bits // 8
    size = max(int(rate * PIECE_SECONDS), 1) * frame
    pending = start
    while True:
        data = f.read(size - len(pending))
        if not data:
            break
        pending += data
        usable = len(pending) // frame * frame
        if usable:
            yield _decode(pending[:usable], bits, floating, channels), rate
            pending = pending[usable:]
    if len(pending) >= frame:
        yield _decode(pending[: len(pending) // frame * frame], bits, floating, channels), rate


def file_pieces(path: str, realtime: bool = False) -> Iterator[tuple[np.ndarray, int]]:
    """A file (any format ``asr transcribe`` reads) as 100 ms pieces at 16 kHz; ``realtime`` waits so that
    pieces come no faster than they would from a microphone."""
    wave = load_audio(path).numpy()
    step = int(SAMPLE_RATE * PIECE_SECONDS)
    began = time.perf_counter()
    for start in range(0, len(wave), step):
        if realtime:
            delay = began + start / SAMPLE_RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield wave[start : start + step], SAMPLE_RATE


def mic_pieces(rate: int = SAMPLE_RATE) -> Iterator[tuple[np.ndarray, int]]:
    """The default microphone through sounddevice (``pip install 'asr[mic]'``)."""
    try:
        import sounddevice
    except (ImportError, OSError) as e:
        raise ASRError(f"--mic needs the sounddevice package and PortAudio: pip install 'asr[mic]' ({e})") from None
    try:
        sounddevice.query_devices(kind="input")
        stream = sounddevice.InputStream(
            samplerate=rate, channels=1, dtype="float32", blocksize=int(rate * PIECE_SECONDS)
        )
    except Exception as e:  # PortAudioError, ValueError: no device, or none that takes this format
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ASRError(f"--mic: no usable input device ({reason})") from None
    with stream:
        while True:
            data, _ = stream.read(int(rate * PIECE_SECONDS))
            yield data[:, 0].copy(), rate


class _Printer:
    """Final segments to stdout; partials to stderr (overwritten in place on a terminal) or as jsonl lines."""

    def __init__(self, fmt: str, show_partials: bool):
        self.fmt, self.show = fmt, show_partials
        self.tty = sys.stderr.isatty()
        self.shown = ""

    def partial(self, text: str, start: float) -> None:
        if not self.show or text == self.shown:
            return
        self.shown = text
        if self.fmt == "jsonl":
            print(json.dumps({"type": "partial", "start": round(start, 3), "text": text}), flush=True)
        elif self.tty:
            print("\r\033[K" + text, end="", file=sys.stderr, flush=True)
        elif text:
            print(f"... {text}", file=sys.stderr, flush=True)

    def final(self, start: float, end: float, transcript) -> None:
        if self.tty and self.fmt != "jsonl" and self.show:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        self.shown = ""
        if self.fmt == "jsonl":
            words = [
                {
                    "word": w.word,
                    "start": round(w.start + start, 3),
                    "end": round(w.end + start, 3),
                    "score": w.score,
                    "confidence": w.confidence,
                }
                for w in transcript.words
            ]
            print(
                json.dumps(
                    {
                        "type": "final",
                        "start": round(start, 3),
                        "end": round(end, 3),
                        "text": transcript.text,
                        "words": words,
                    }
                ),
                flush=True,
            )
        else:
            print(f"{start:.2f}\t{end:.2f}\t{transcript.text}", flush=True)


def run(
    model,
    pieces: Iterator[tuple[np.ndarray, int]],
    chunk_ms: float,
    left_ms: float,
    fmt: str = "text",
    partials: bool = True,
    endpoint: "Endpoint | VadEndpoint | None" = None,
    decoding: dict | None = None,
) -> int:
    """Stream ``pieces`` through ``model``; returns the number of segments printed. ``endpoint``: the CTC
    rule (:class:`asr.streaming.Endpoint`, the default) or a voice activity detector (:class:`asr.vad.VadEndpoint`:
    a segment in which it heard no speech prints nothing). ``decoding``: keyword options of ``ASRModel.stream``
    (``lm``, ``hotwords``, ``hotword_score``, ``commit_pause``)."""
    endpoint = endpoint or Endpoint()
    vad = endpoint if isinstance(endpoint, VadEndpoint) else None
    printer = _Printer(fmt, partials)

    def new_stream():
        return model.stream(chunk_ms, left_ms, **(decoding or {}))

    stream, offset, segments, words = new_stream(), 0.0, 0, []

    def close() -> None:
        nonlocal stream, offset, segments, words
        transcript = stream.finish()
        if transcript.text and (vad is None or vad.heard_speech):
            first = transcript.words[0].start if transcript.words else 0.0
            last = transcript.words[-1].end if transcript.words else transcript.duration
            printer.final(offset + first, offset + last, transcript)
            segments += 1
        offset += stream.seconds
        stream, words = new_stream(), []
        if vad is not None:
            vad.new_segment()

    for piece, rate in pieces:
        if rate != SAMPLE_RATE:  # once here, so that the recognizer and the detector hear the same samples
            piece, rate = resample(torch.from_numpy(np.ascontiguousarray(piece)), rate).numpy(), SAMPLE_RATE
        update = stream.accept(piece, sample_rate=rate)
        if vad is not None:
            vad.feed(piece)
        words += [w.word for w in update.words]
        printer.partial(" ".join(words + ([update.partial] if update.partial else [])), offset)
        if endpoint.reached(stream):
            close()
    close()
    return segments
