"""Transcript output formats."""

import json

from asr.output import format_transcript, subtitle_cues, timestamp
from asr.transcript import Segment, Transcript, Word


def transcript():
    words = [Word("HELLO", 0.5, 0.9), Word("THERE", 1.0, 1.4), Word("GENERAL", 3.0, 3.6), Word("KENOBI", 3.7, 4.3)]
    return Transcript(
        "HELLO THERE GENERAL KENOBI", [Segment(0.5, 4.3, "HELLO THERE GENERAL KENOBI", words)], words, 5.0
    )


def test_timestamps():
    assert timestamp(3723.456) == "01:02:03,456" and timestamp(0.0016, ".") == "00:00:00.002"


def test_cues_break_at_pauses_and_length():
    assert subtitle_cues(transcript()) == [(0.5, 1.4, "HELLO THERE"), (3.0, 4.3, "GENERAL KENOBI")]
    many = [Word("WORD", i * 0.5, i * 0.5 + 0.4) for i in range(30)]
    cues = subtitle_cues(Transcript("", [], many, 15.0))
    assert all(len(text) <= 42 and end - start <= 5.0 for start, end, text in cues)
    assert " ".join(text for _, _, text in cues).split() == ["WORD"] * 30
    no_words = Transcript("A B", [Segment(0.0, 2.0, "A B")], [], 2.0)
    assert subtitle_cues(no_words) == [(0.0, 2.0, "A B")]


def test_formats():
    t = transcript()
    assert format_transcript(t, "text") == "HELLO THERE GENERAL KENOBI\n"
    srt = format_transcript(t, "srt")
    assert srt.startswith("1\n00:00:00,500 --> 00:00:01,400\nHELLO THERE\n\n2\n00:00:03,000 --> 00:00:04,300\n")
    vtt = format_transcript(t, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:01.400\nHELLO THERE\n")
    data = json.loads(format_transcript(t, "json", "a.wav"))
    assert data["path"] == "a.wav" and data["words"][2] == {
        "word": "GENERAL",
        "start": 3.0,
        "end": 3.6,
        "score": 0.0,
        "confidence": None,  # a model without a calibration states none
    }
    assert data["segments"] == [{"start": 0.5, "end": 4.3, "text": "HELLO THERE GENERAL KENOBI"}]
    assert "\n" not in format_transcript(t, "jsonl").rstrip("\n")
