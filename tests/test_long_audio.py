"""Audio of any length: streamed, cut at pauses, stitched back with absolute times."""

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import asr
from asr.errors import AudioError
from asr.metrics import score
from asr.segment import cut_point, iter_segments, split_wave
from asr.testaudio import known_long_file


def test_cut_point_finds_the_pause():
    rate = 8000
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(rate * 20).astype(np.float32)
    wave[int(13.0 * rate) : int(13.5 * rate)] = 0.0  # the only pause
    cut = cut_point(wave, rate, 8.0, 20.0)
    assert 13.0 * rate < cut < 13.5 * rate


def test_segments_cover_the_speech_in_bounded_pieces(tmp_path):
    rate = 22050  # not 16 kHz: segments are resampled one by one
    rng = np.random.default_rng(1)
    pieces, speech, t = [], [], 0.0
    for _ in range(30):
        n = int(rate * rng.uniform(2, 6))
        pieces += [rng.standard_normal(n).astype(np.float32) * 0.1, np.zeros(int(rate * 0.4), dtype=np.float32)]
        speech.append((t, t + n / rate))
        t += n / rate + 0.4
    data = np.concatenate(pieces)
    path = tmp_path / "long.flac"
    sf.write(path, np.stack([data, data], axis=1), rate)  # stereo, mixed to mono while streaming
    segments = [(o, o + w.numel() / 16000) for o, w in iter_segments(path, min_seconds=8, max_seconds=20)]
    assert all(end - start <= 20.01 for start, end in segments)
    assert all(a[1] <= b[0] + 1e-6 for a, b in zip(segments, segments[1:]))  # ordered, no overlap
    assert segments[0][0] == 0.0 and segments[-1][1] <= len(data) / rate + 1e-6
    for start, end in speech:  # every stretch of "speech" lies inside the segments (cuts only in pauses)
        inside = sum(max(0.0, min(end, b) - max(start, a)) for a, b in segments)
        assert inside == pytest.approx(end - start, abs=0.02), (start, end)
    dropped = len(data) / rate - sum(b - a for a, b in segments)
    assert dropped > 0  # edge silences were trimmed
    # the same cuts for the same audio in memory
    mono = asr.audio.load_audio(path)
    in_memory = [o for o, _ in split_wave(mono, min_seconds=8, max_seconds=20)]
    assert in_memory == pytest.approx([a for a, _ in segments], abs=0.02)
    with pytest.raises(AudioError, match="nothing.flac: no such file"):
        list(iter_segments(tmp_path / "nothing.flac"))
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000 * 30, dtype=np.float32), 16000)
    assert list(iter_segments(silent)) == []
    assert asr.load_model(device="cpu").transcribe(silent).text == ""


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (.ci/run installs it)")
def test_ten_minute_file_matches_utterance_by_utterance(tmp_path):
    path = tmp_path / "ten-minutes.flac"
    utterances, texts, seconds = known_long_file(path)
    model = asr.load_model(device="cpu")
    one_by_one = model.transcribe_batch(utterances, sample_rate=16000)
    reference = score([str(i) for i in range(len(texts))], texts, [t.text for t in one_by_one])
    long = model.transcribe(path, word_timestamps=True)
    joined = score(["all"], [" ".join(texts)], [long.text])
    # measured: 3.15% whole against 3.21% one by one; at most 1 point worse allowed
    assert joined.wer.rate <= reference.wer.rate + 0.01, (joined.wer.rate, reference.wer.rate)
    assert long.duration == pytest.approx(seconds, abs=0.01)
    assert len(long.segments) >= 30 and all(s.end - s.start <= model.max_segment_seconds + 0.01 for s in long.segments)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(long.segments, long.segments[1:]))
    assert long.words[-1].end > 550  # word times are absolute, not per segment


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (.ci/run installs it)")
def test_cut_segments_reach_the_model_padded_with_zeros_and_keep_their_times(tmp_path):
    path = tmp_path / "half-minute.flac"
    known_long_file(path, seconds=30.0, seed=1)
    model = asr.load_model(device="cpu")
    spans = {(round(o, 3), round(o + w.numel() / 16000, 3)) for o, w in iter_segments(path, vad=model.vad())}
    seen = []
    encode = model.encode
    model.encode = lambda waves, *args: seen.extend(waves) or encode(waves, *args)
    model.segment_pad = 0.2
    transcript = model.transcribe(path, word_timestamps=True)
    assert len(seen) == len(spans) >= 3
    assert all(w[:3200].abs().max() == 0 and w[-3200:].abs().max() == 0 for w in seen)  # 0.2 s of zeros each side
    assert {(s.start, s.end) for s in transcript.segments} <= spans  # the segments' own times, without the zeros
    for segment in transcript.segments:  # word times are absolute: inside their segment, not in the zeros
        assert all(segment.start <= w.start < w.end <= segment.end for w in segment.words)
    seen.clear()
    model.transcribe(torch.zeros(16000 * 5), sample_rate=16000)
    assert len(seen) == 1 and seen[0].numel() == 16000 * 5  # inputs up to 12 s go in as they are
