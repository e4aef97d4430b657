"""Speech with known content for tests and benchmarks: espeak-ng phrases, long files of known sentences,
words at known times, and how far recognized word times are from them.

Needs espeak-ng (``apt-get install espeak-ng``); nothing here is used by the recognizer itself.
"""

from __future__ import annotations

import io
import random
import subprocess

import soundfile as sf
import torch

from .align import align_words
from .audio import resample

__all__ = [
    "SENTENCES",
    "LONG_FILE_VOICES",
    "speak",
    "known_long_file",
    "words_with_known_times",
    "boundary_errors",
    "raw_word_times",
]

SENTENCES = [
    "the captain walked slowly down to the harbour",
    "she opened the window and looked at the garden",
    "the old man told the children a long story",
    "we found a small boat on the shore of the river",
    "the doctor said that the boy would soon be well",
    "after dinner they sat by the fire and talked",
    "the horse ran across the field towards the house",
    "he wrote a letter to his mother every week",
    "the ship sailed out of the bay in the morning",
    "there was a light in the window of the cottage",
    "the king sent his soldiers to guard the bridge",
    "she could hear the wind in the trees outside",
    "the young woman smiled and shook her head",
    "they waited for the train until the evening",
    "the dog followed his master into the forest",
    "i have never seen such a beautiful place",
    "the water was cold and the sky was grey",
    "he took the key from his pocket and opened the door",
    "the birds were singing when we woke up",
    "my father worked in the city for many years",
]

LONG_FILE_VOICES = ["en-us", "en", "en-us+m3", "en+f2", "en-us+f3", "en+m5"]


def speak(text: str, voice: str = "en-us", speed: int = 160) -> torch.Tensor:
    """16 kHz speech from espeak-ng (``apt-get install espeak-ng``), trimmed of its leading/trailing silence."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], check=True, capture_output=True
    ).stdout
    data, rate = sf.read(io.BytesIO(wav), dtype="float32")
    wave = resample(torch.from_numpy(data), rate)
    loud = (wave.abs() > 0.01 * wave.abs().max()).nonzero()
    return wave[int(loud[0]) : int(loud[-1]) + 1]


def known_long_file(path, seconds=600.0, seed=0):
    """Random test sentences by random espeak-ng voices with 0.3-0.9 s pauses, written to ``path`` until it is
    ``seconds`` long: (utterances, their texts, the file's duration)."""
    rng = random.Random(seed)
    utterances, texts, pieces, total = [], [], [], 0.0
    while total < seconds:
        text = rng.choice(SENTENCES)
        wave = speak(text, voice=rng.choice(LONG_FILE_VOICES), speed=rng.choice([140, 160, 175]))
        utterances.append(wave)
        texts.append(text)
        gap = torch.zeros(int(16000 * rng.uniform(0.3, 0.9)))
        pieces += [wave, gap]
        total += (wave.numel() + gap.numel()) / 16000
    sf.write(path, torch.cat(pieces).numpy(), 16000)
    return utterances, texts, total


def words_with_known_times(words, seed=0):
    rng = random.Random(seed)
    pieces, truth, t = [torch.zeros(6400)], [], 0.4
    for word in words:
        wave = speak(word, voice=rng.choice(["en-us", "en", "en-us+m3", "en+f2"]))
        pieces.append(wave)
        truth.append((word.upper(), t, t + wave.numel() / 16000))
        t += wave.numel() / 16000
        gap = rng.uniform(0.2, 0.7)
        pieces.append(torch.zeros(int(gap * 16000)))
        t += gap
    return torch.cat(pieces), truth


def boundary_errors(truth, words):
    """For each true word, the recognized words whose centre falls in its island (half-way to the
    neighbours): |start error| of the first, |end error| of the last. Spelling mistakes do not matter here,
    boundaries do."""
    starts, ends, missed = [], [], 0
    for i, (_, start, end) in enumerate(truth):
        lo = (truth[i - 1][2] + start) / 2 if i else 0.0
        hi = (end + truth[i + 1][1]) / 2 if i + 1 < len(truth) else float("inf")
        inside = [w for w in words if lo <= (w.start + w.end) / 2 < hi]
        if not inside:
            missed += 1
            continue
        starts.append(abs(inside[0].start - start))
        ends.append(abs(inside[-1].end - end))
    return starts, ends, missed


def raw_word_times(model, wave):
    """Word times from the CTC alignment of the model's own greedy output alone (no energy refinement)."""
    log_probs, lengths = model.encode([wave])
    tokens = model.decoder()(log_probs, lengths)[0].tokens
    return align_words(log_probs[0, : lengths[0]], tokens, model.tokenizer, model.frame_seconds)
