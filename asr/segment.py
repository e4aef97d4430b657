"""Audio of any length: stream a file in blocks and cut it at pauses into segments the model can take.

Memory stays bounded by one segment plus one block whatever the file's length: the file is read with
``soundfile.blocks`` at its own rate, cut, and only each segment is resampled to 16 kHz.

Where to cut: once the buffer holds ``max_seconds``, the cut goes at the quietest ``PAUSE`` seconds
(lowest mean energy) between ``min_seconds`` and ``max_seconds``, in the middle of that pause, so cuts
land in silences between words whenever the speech has any. Each segment is then trimmed of its
leading and trailing silence (:func:`trim_silence`); segments that are all silence are dropped, so the
offsets, not the segment lengths, carry the times. ``ASRModel.transcribe`` then puts ``SEGMENT_PAD`` seconds
of zeros before and after each segment it feeds the model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import torch

from .audio import SAMPLE_RATE, audio_info, resample
from .errors import AudioError

__all__ = ["MAX_SEGMENT_SECONDS", "SEGMENT_PAD", "iter_segments", "split_wave", "cut_point", "trim_silence", "VAD_PAD"]

MAX_SEGMENT_SECONDS = 12.0  # the bundled model was trained on sentences of 1-12 s; longer segments cost it ~1 WER point
# 2 s and EDGE 0.02 s: the bundled model (trained on one sentence per utterance) does worse on
# segments holding two sentences around a pause or opening/closing with silence. On three 10-minute files
# (benchmarks/segmentation.py) a whole file was 0.4-1.4 WER points behind its utterances one by one with
# these values, 2.7-4.4 with the earlier 5 s / 0.15 s.
MIN_SEGMENT_SECONDS = 2.0
PAUSE = 0.2  # seconds: the length of the quiet stretch a cut looks for
_BLOCK = 4.0  # seconds read per block; 1 s blocks cost more in per-call overhead (benchmarks/profile_transcribe.py)


def cut_point(wave: np.ndarray, rate: int, min_seconds: float, max_seconds: float) -> int:
    """Sample index at which to cut ``wave``: the centre of its quietest PAUSE-long stretch that lies
    between ``min_seconds`` and ``max_seconds``."""
    hop = max(int(0.01 * rate), 1)
    lo, hi = int(min_seconds * rate), min(int(max_seconds * rate), len(wave))
    if hi - lo < hop * 2:
        return hi
    region = wave[lo : hi - (hi - lo) % hop]
    energy = (region.reshape(-1, hop) ** 2).mean(axis=1)
    width = max(int(PAUSE / 0.01), 1)
    smooth = np.convolve(energy, np.ones(width) / width, mode="same") if len(energy) > width else energy
    return lo + int(np.argmin(smooth)) * hop + hop // 2


EDGE = 0.02  # seconds of silence kept at each end of a trimmed segment (see MIN_SEGMENT_SECONDS)
# SEGMENT_PAD: seconds of digital zeros that transcribe puts before and after each segment cut from a long
# input (after the trimming, so no neighbouring speech comes in; the times stay absolute). Speech trimmed
# this close costs errors; of 0.1-0.5 s of zeros, 0.2 s cost the fewest on the synthetic dev and test sets
# read as long files (benchmarks/segmentation.py --manifest --pad; recipes/synthetic/RESULTS.md, 2026-12-04).
# Keeping more of the real silence (EDGE) did not pass its checks.
SEGMENT_PAD = 0.2
_SILENCE_BELOW_PEAK_DB = 40.0  # a frame this far below the segment's loud frames counts as silence
_SILENCE_DBFS = -65.0  # ... and so does anything below this absolute level


def trim_silence(wave: np.ndarray, rate: int, edge: float = EDGE) -> tuple[int, int]:
    """[start, end) sample range of ``wave`` without its leading and trailing silence (keeping ``edge`` seconds
    of it). Models trained on sentence-long utterances do worse on segments that open or close with
    long silences, which is what cutting a recording at pauses produces."""
    hop = max(int(0.01 * rate), 1)
    n = len(wave) // hop
    if n < 3:
        return 0, len(wave)
    energy = 10 * np.log10((wave[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    threshold = max(np.percentile(energy, 95) - _SILENCE_BELOW_PEAK_DB, _SILENCE_DBFS)
    voiced = np.nonzero(energy > threshold)[0]
    if not len(voiced):
        return 0, 0
    margin = int(edge / 0.01)
    start = max(int(voiced[0]) - margin, 0) * hop
    end = min((int(voiced[-1]) + 1 + margin) * hop, len(wave))
    return start, end


def _emit(segment: np.ndarray, rate: int, consumed: int, edge: float):
    """(start seconds, 16 kHz tensor) of ``segment`` trimmed of edge silence; nothing if all silent."""
    start, end = trim_silence(segment, rate, edge)
    if end > start:
        yield (consumed + start) / rate, resample(torch.from_numpy(segment[start:end].copy()), rate, SAMPLE_RATE)


def _cut(chunks: Iterator[np.ndarray], rate: int, name: str, min_seconds: float, max_seconds: float, edge: float):
    """Cut a stream of mono float32 chunks at ``rate`` into (start seconds, 16 kHz tensor) segments."""
    buffer = np.zeros(0, dtype=np.float32)
    consumed = 0  # samples (at ``rate``) already yielded
    limit = int(max_seconds * rate)
    for chunk in chunks:
        if not np.isfinite(chunk).all():
            raise AudioError(f"{name}: contains non-finite samples (NaN or Inf) near {consumed / rate:.1f} s")
        buffer = np.concatenate([buffer, chunk])
        while len(buffer) >= limit:
            cut = cut_point(buffer, rate, min_seconds, max_seconds)
            yield from _emit(buffer[:cut], rate, consumed, edge)
            consumed += cut
            buffer = buffer[cut:]
    if len(buffer):
        yield from _emit(buffer, rate, consumed, edge)
    elif consumed == 0:
        raise AudioError(f"{name}: contains no samples")


VAD_PAD = 0.4  # seconds of audio kept before and after the speech a voice activity detector found


def _vad_cut(chunks: Iterator[np.ndarray], vad, name: str, min_seconds: float, max_seconds: float):
    """Cut a stream of 16 kHz mono chunks where ``vad`` (asr.vad.SileroVAD) hears no speech: each segment runs
    from the start of the first speech region in it to the end of the last (plus VAD_PAD), regions joined
    while they fit in ``max_seconds``; the cut goes in the longest pause between ``min_seconds`` and
    ``max_seconds`` (at the quietest stretch, as without a detector, when speech fills the whole window).
    Audio in which it hears no speech gives no segment."""
    from .vad import speech_regions

    vad.reset()
    buffer, probs = np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
    consumed, limit, frame = 0, int(max_seconds * SAMPLE_RATE), vad.frame_seconds

    def emit(audio: np.ndarray, regions: list[tuple[float, float]], start: int):
        if regions:
            lo = max(int((regions[0][0] - VAD_PAD) * SAMPLE_RATE), 0)
            hi = min(int((regions[-1][1] + VAD_PAD) * SAMPLE_RATE), len(audio))
            if hi > lo:
                yield (start + lo) / SAMPLE_RATE, torch.from_numpy(audio[lo:hi].copy())

    got_samples = False
    for chunk in chunks:
        if not np.isfinite(chunk).all():
            raise AudioError(f"{name}: contains non-finite samples (NaN or Inf) near {consumed / SAMPLE_RATE:.1f} s")
        got_samples = got_samples or len(chunk) > 0
        buffer = np.concatenate([buffer, chunk])
        probs = np.concatenate([probs, vad.probs(chunk)])
        while len(buffer) >= limit:
            regions = speech_regions(probs, frame, pad=0.0)
            gaps = [
                (b[0] - a[1], (a[1] + b[0]) / 2)
                for a, b in zip(regions, regions[1:])
                if min_seconds <= (a[1] + b[0]) / 2 <= max_seconds
            ]
            if gaps:
                cut = int(max(gaps)[1] * SAMPLE_RATE)
            elif regions and regions[0][0] >= max_seconds - min_seconds:  # silence, then speech: cut before it
                cut = int(max(regions[0][0] - VAD_PAD, min_seconds) * SAMPLE_RATE)
            elif not regions:
                cut = limit
            else:
                cut = cut_point(buffer, SAMPLE_RATE, min_seconds, max_seconds)
            cut -= cut % 512  # whole detector frames, so the probabilities stay aligned with the audio
            cut = max(cut, 512)
            seconds = cut / SAMPLE_RATE
            yield from emit(buffer[:cut], [(a, min(b, seconds)) for a, b in regions if a < seconds], consumed)
            consumed += cut
            buffer, probs = buffer[cut:], probs[cut // 512 :]
    if len(buffer):
        tail = np.zeros(-len(buffer) % 512, dtype=np.float32)
        probs = np.concatenate([probs, vad.probs(tail)])
        yield from emit(buffer, speech_regions(probs, frame, pad=0.0), consumed)
    if not got_samples:
        raise AudioError(f"{name}: contains no samples")
    vad.reset()


def iter_segments(
    path: str | os.PathLike,
    min_seconds: float = MIN_SEGMENT_SECONDS,
    max_seconds: float = MAX_SEGMENT_SECONDS,
    vad=None,
    edge: float = EDGE,
) -> Iterator[tuple[float, torch.Tensor]]:
    """Stream ``path`` as (start seconds, 16 kHz mono segment) pairs, cut at pauses (found by ``vad``, an
    asr.vad.SileroVAD, when given: then only the speech it hears comes out; else each segment trimmed of its
    edge silence but ``edge`` seconds)."""
    path = Path(path)
    info = audio_info(path)  # clear AudioError for a missing, unreadable or corrupt file
    block = max(int(_BLOCK * info.samplerate), 1)
    try:  # never more than the header declares: a broken MP3 stream can return the same block forever
        blocks = sf.blocks(str(path), blocksize=block, frames=info.frames, dtype="float32", always_2d=True)
        mono = (b[:, 0] if b.shape[1] == 1 else b.mean(axis=1) for b in blocks)  # a view when already mono
        if vad is not None:
            rate = info.samplerate
            at_16k = (resample(torch.from_numpy(np.ascontiguousarray(b)), rate, SAMPLE_RATE).numpy() for b in mono)
            yield from _vad_cut(at_16k, vad, str(path), min_seconds, max_seconds)
        else:
            yield from _cut(mono, info.samplerate, str(path), min_seconds, max_seconds, edge)
    except AudioError:
        raise
    except Exception as e:  # libsndfile errors mid-file
        raise AudioError(f"{path}: not a readable audio file ({str(e).strip()})") from None


def split_wave(
    wave: torch.Tensor,
    min_seconds: float = MIN_SEGMENT_SECONDS,
    max_seconds: float = MAX_SEGMENT_SECONDS,
    vad=None,
    edge: float = EDGE,
) -> Iterator[tuple[float, torch.Tensor]]:
    """The same cutting for a 16 kHz wave already in memory."""
    data = wave.detach().cpu().float().numpy()
    block = int(_BLOCK * SAMPLE_RATE)
    blocks = (data[i : i + block] for i in range(0, len(data), block))
    if vad is not None:
        yield from _vad_cut(blocks, vad, "audio array", min_seconds, max_seconds)
    else:
        yield from _cut(blocks, SAMPLE_RATE, "audio array", min_seconds, max_seconds, edge)
