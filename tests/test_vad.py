"""Silero VAD (asr.vad): speech regions, silence and noise, streaming in pieces, endpointing."""

import random

import numpy as np
import pytest
import torch

import asr
from asr.vad import SileroVAD, VadEndpoint, speech_regions
from conftest import TINY


@pytest.fixture(scope="module")
def vad():
    return SileroVAD()


def _padded_utterance(before: float = 1.0, after: float = 1.0) -> tuple[np.ndarray, float]:
    speech = asr.audio.load_audio(TINY / "tiny-02.flac").numpy()
    return np.concatenate(
        [np.zeros(int(before * 16000), np.float32), speech, np.zeros(int(after * 16000), np.float32)]
    ), len(speech) / 16000


def test_speech_regions_of_an_utterance_between_silences(vad):
    wave, seconds = _padded_utterance()
    regions = vad.regions(wave)
    assert len(regions) == 1
    start, end = regions[0]
    assert 0.8 <= start <= 1.1 and 1.0 + seconds - 0.25 <= end <= 1.0 + seconds + 0.2


def test_silence_noise_and_hum_hold_no_speech(vad):
    rng = np.random.default_rng(0)
    t = np.arange(48000) / 16000
    clips = [
        np.zeros(48000),
        rng.standard_normal(48000) * 0.01,
        rng.standard_normal(48000) * 0.1,
        0.1 * np.sin(2 * np.pi * 50 * t),
        0.05 * np.sin(2 * np.pi * 1000 * t),
    ]
    for clip in clips:
        assert vad.regions(clip.astype(np.float32)) == []


def test_probabilities_do_not_depend_on_how_the_stream_is_cut(vad):
    wave, _ = _padded_utterance(0.3, 0.3)
    vad.reset()
    whole = vad.probs(wave)
    vad.reset()
    rng, pos, parts = random.Random(0), 0, []
    while pos < len(wave):
        step = rng.choice([1, 100, 512, 700, 3000])
        parts.append(vad.probs(wave[pos : pos + step]))
        pos += step
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    assert whole.max() > 0.8 and whole[:5].max() < 0.2


def test_speech_regions_hysteresis_minimum_and_padding():
    probs = np.array([0.1, 0.9, 0.9, 0.4, 0.9, 0.1, 0.1, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1])
    # 0.4 is above threshold - 0.15: the first region goes on; the lone 0.6 frame is shorter than min_speech
    regions = speech_regions(probs, 0.1, min_speech=0.2, min_silence=0.2, pad=0.05)
    assert regions == [(0.05, 0.55)]


def test_vad_endpoint_ends_after_speech_and_not_in_silence(vad):
    endpoint = VadEndpoint(after_speech=0.5, vad=vad)
    endpoint.feed(np.zeros(32000, np.float32))
    assert not endpoint.reached() and not endpoint.heard_speech  # silence alone ends nothing
    wave, _ = _padded_utterance(0.0, 0.0)
    endpoint.feed(wave)
    assert endpoint.heard_speech and not endpoint.reached()
    endpoint.feed(np.zeros(4000, np.float32))
    assert not endpoint.reached()
    endpoint.feed(np.zeros(8000, np.float32))
    assert endpoint.reached()


def test_vad_segmentation_keeps_the_speech_and_drops_the_rest(vad):
    """Long audio cut by the detector: segments of at most 12 s that together hold every utterance, none in
    the 4 s of noise at the end; noise alone gives no segment."""
    from asr.segment import split_wave

    utts = [asr.audio.load_audio(p).numpy() for p in sorted(TINY.glob("*.flac"))]
    gap = np.zeros(9600, np.float32)
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(64000) * 0.02).astype(np.float32)
    parts, spans, pos = [], [], 0
    for _ in range(3):
        for u in utts:
            parts += [u, gap]
            spans.append((pos / 16000, (pos + len(u)) / 16000))
            pos += len(u) + len(gap)
    wave = np.concatenate(parts + [noise])
    segments = [(start, len(seg) / 16000) for start, seg in split_wave(torch.from_numpy(wave), 2.0, 12.0, vad=vad)]
    assert len(segments) >= 3 and all(seconds <= 12.0 for _, seconds in segments)
    for a, b in spans:  # every utterance inside one segment
        assert any(start - 0.05 <= a and b <= start + seconds + 0.05 for start, seconds in segments), (a, b)
    assert segments[-1][0] + segments[-1][1] <= spans[-1][1] + 0.5  # not into the noise
    assert list(split_wave(torch.from_numpy(noise), 2.0, 12.0, vad=vad)) == []


def test_long_inputs_cut_by_vad_give_no_words_for_noise(model_dir):
    """Inputs over 12 s are cut where Silero VAD hears speech (the default): 20 s of noise give no words, and
    an utterance inside 20 s of silence comes out as one segment where it is spoken."""
    model = asr.load_model(model_dir, device="cpu")
    assert model.segmenter == "silero"
    rng = np.random.default_rng(2)
    assert model.transcribe(rng.standard_normal(320000).astype(np.float32) * 0.05, sample_rate=16000).text == ""
    speech = asr.audio.load_audio(TINY / "tiny-00.flac").numpy()
    padded = np.concatenate([np.zeros(160000, np.float32), speech, np.zeros(160000, np.float32)])
    result = model.transcribe(padded, sample_rate=16000)  # (the tiny model, trained on unpadded speech,
    assert len(result.segments) == 1 and result.text  # reads it imperfectly: only where the segment is)
    start, end = result.segments[0].start, result.segments[0].end
    assert 9.5 <= start <= 10.15 and 10.0 + len(speech) / 16000 <= end <= 10.6 + len(speech) / 16000
    model.segmenter = "energy"
    assert model.transcribe(padded, sample_rate=16000).segments  # the energy cutter finds it too
