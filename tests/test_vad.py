"""Silero VAD (asr.vad): speech regions, silence and noise, streaming in pieces, endpointing."""

import random

import numpy as np
import pytest

import asr
from asr.vad import SileroVAD, VadEndpoint, speech_regions
from conftest import TINY

pytest.importorskip("silero_vad", reason="pip install 'asr[vad]'")


@pytest.fixture(scope="module")
def vad():
    return SileroVAD()


def _padded_utterance(before: float = 1.0, after: float = 1.0) -> tuple[np.ndarray, float]:
    speech = asr.audio.load_audio(TINY / "tiny-02.flac").numpy()
    return np.concatenate([np.zeros(int(before * 16000), np.float32), speech,
                           np.zeros(int(after * 16000), np.float32)]), len(speech) / 16000


def test_speech_regions_of_an_utterance_between_silences(vad):
    wave, seconds = _padded_utterance()
    regions = vad.regions(wave)
    assert len(regions) == 1
    start, end = regions[0]
    assert 0.8 <= start <= 1.1 and 1.0 + seconds - 0.25 <= end <= 1.0 + seconds + 0.2


def test_silence_noise_and_hum_hold_no_speech(vad):
    rng = np.random.default_rng(0)
    t = np.arange(48000) / 16000
    clips = [np.zeros(48000), rng.standard_normal(48000) * 0.01, rng.standard_normal(48000) * 0.1,
             0.1 * np.sin(2 * np.pi * 50 * t), 0.05 * np.sin(2 * np.pi * 1000 * t)]
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
