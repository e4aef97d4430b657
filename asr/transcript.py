"""What transcription returns: a Transcript of Segments, each with its Words (asr.align) and times in seconds."""

from __future__ import annotations

from dataclasses import dataclass, field

from .align import Word

__all__ = ["Word", "Segment", "Transcript"]


@dataclass
class Segment:
    start: float  # seconds
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcript:
    text: str
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    duration: float = 0.0  # seconds of audio

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "duration": round(self.duration, 3),
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in self.segments],
            "words": [vars(w) for w in self.words],
        }
