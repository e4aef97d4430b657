"""Damaged audio files for robustness checks: what a fuzzer (or a bad disk) makes of good recordings.

``cases(seeds, count, seed)`` yields (name, bytes) pairs, reproducibly: random bytes, corrupted header fields,
truncations, byte flips and repeated or dropped blocks, over WAV, FLAC, Ogg and MP3 encodings of the seed
recordings. The test suite runs a few hundred of them; ``benchmarks/fuzz_audio.py`` runs thousands, each in
a separate process with a time limit.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import numpy as np
import soundfile as sf

__all__ = ["encodings", "mutate", "cases", "KINDS"]

KINDS = ("random", "header", "truncate", "flip", "blocks")
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}


def encodings(wave: np.ndarray, rate: int) -> dict[str, bytes]:
    """One recording as the bytes of a WAV, FLAC, Ogg Vorbis and MP3 file, by extension."""
    out = {}
    for ext, (fmt, subtype) in FORMATS.items():
        buffer = io.BytesIO()
        sf.write(buffer, wave, rate, format=fmt, subtype=subtype)
        out[ext] = buffer.getvalue()
    return out


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """``data`` damaged one way (a KINDS entry)."""
    b = bytearray(data)
    if kind == "random":
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 4, 44, 200, rng.randrange(20000)])))
    if kind == "header":  # a few bytes of the first 64 (where rates, sizes and counts live) set at random
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(min(64, len(b)))
            b[at : at + 4] = bytes(rng.choice([0, 1, 2, 0x7F, 0x80, 0xFF, rng.getrandbits(8)]) for _ in range(4))
        return bytes(b[: len(data)])
    if kind == "truncate":
        return bytes(b[: rng.randrange(len(b))])
    if kind == "flip":
        for _ in range(rng.choice([1, 2, 8, 64])):
            at = rng.randrange(len(b))
            b[at] ^= 1 << rng.randrange(8)
        return bytes(b)
    # blocks: a stretch repeated or dropped
    start = rng.randrange(len(b))
    length = rng.randint(1, max(1, min(4096, len(b) - start)))
    piece = b[start : start + length]
    return bytes(b[:start] + (piece * rng.randint(2, 4) if rng.random() < 0.5 else b"") + b[start + length :])


def cases(seeds: list[tuple[np.ndarray, int]], count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``count`` damaged files made from the seed recordings (wave, rate): (name with extension, bytes)."""
    rng = random.Random(seed)
    encoded = [encodings(wave, rate) for wave, rate in seeds]
    for i in range(count):
        ext = rng.choice(sorted(FORMATS))
        kind = KINDS[i % len(KINDS)]
        yield f"case{i:05d}-{kind}.{ext}", mutate(rng.choice(encoded)[ext], kind, rng)
