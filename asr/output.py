"""Transcript file formats: text, json (segments + words + times), jsonl (one line per file), srt, vtt.

Subtitle cues are built from word times when the transcript has them (lines of at most ``MAX_CUE_CHARS``
characters and ``MAX_CUE_SECONDS`` seconds, broken at pauses longer than ``CUE_GAP``), else from the
segments.
"""

from __future__ import annotations

import json

from .transcript import Transcript

__all__ = ["FORMATS", "SUFFIXES", "format_transcript", "subtitle_cues", "timestamp"]

FORMATS = ("text", "json", "jsonl", "srt", "vtt")
SUFFIXES = {"text": ".txt", "json": ".json", "jsonl": ".jsonl", "srt": ".srt", "vtt": ".vtt"}
MAX_CUE_CHARS = 42  # a common subtitle line limit
MAX_CUE_SECONDS = 5.0
CUE_GAP = 0.8  # seconds of silence that end a cue


def timestamp(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT; ``sep="."`` for WebVTT)."""
    ms = max(int(round(seconds * 1000)), 0)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def subtitle_cues(transcript: Transcript) -> list[tuple[float, float, str]]:
    """(start, end, text) subtitle cues."""
    if not transcript.words:
        return [(s.start, s.end, s.text) for s in transcript.segments if s.text]
    cues: list[tuple[float, float, str]] = []
    words: list = []
    for w in transcript.words:
        if words:
            text = " ".join(x.word for x in words + [w])
            if (
                len(text) > MAX_CUE_CHARS
                or w.end - words[0].start > MAX_CUE_SECONDS
                or w.start - words[-1].end > CUE_GAP
            ):
                cues.append((words[0].start, words[-1].end, " ".join(x.word for x in words)))
                words = []
        words.append(w)
    if words:
        cues.append((words[0].start, words[-1].end, " ".join(x.word for x in words)))
    return cues


def format_transcript(transcript: Transcript, fmt: str, path: str = "") -> str:
    """The file text of ``transcript`` in ``fmt`` (one of :data:`FORMATS`), ending with a newline."""
    if fmt == "text":
        return transcript.text + "\n"
    if fmt == "json":
        return json.dumps({"path": path, **transcript.to_dict()}, indent=2) + "\n"
    if fmt == "jsonl":
        return json.dumps({"path": path, **transcript.to_dict()}) + "\n"
    cues = subtitle_cues(transcript)
    if fmt == "srt":
        return "".join(f"{i}\n{timestamp(s)} --> {timestamp(e)}\n{t}\n\n" for i, (s, e, t) in enumerate(cues, 1))
    if fmt == "vtt":
        return "WEBVTT\n\n" + "".join(f"{timestamp(s, '.')} --> {timestamp(e, '.')}\n{t}\n\n" for s, e, t in cues)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
