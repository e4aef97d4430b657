"""Channel augmentation, non-speech (empty transcripts) in training and scoring."""

import random

import numpy as np
import pytest
import torch

from asr.audio import SAMPLE_RATE
from asr.augment import CHANNEL_STAGES, _codec, _telephone, channel
from asr.data import Utterance, encode_targets
from asr.errors import TokenizerError
from asr.metrics import score
from asr.model import ctc_loss
from asr.tokenizer import CharTokenizer


def _speechlike(seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return 0.3 * torch.sin(2 * np.pi * 220 * t) * (1 + torch.sin(2 * np.pi * 3 * t)) + 0.1 * torch.sin(
        2 * np.pi * 6000 * t
    )


def _band_energy(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def test_channel_is_reproducible_finite_and_keeps_length():
    wave = _speechlike()
    outs = [channel(wave, random.Random(seed)) for seed in range(40)]
    assert all(o.shape == wave.shape and o.dtype == wave.dtype and torch.isfinite(o).all() for o in outs)
    assert torch.equal(channel(wave, random.Random(3)), outs[3])
    assert sum(not torch.allclose(o, wave) for o in outs) >= 35  # nearly every chain changes something
    assert all(o.abs().max() <= 1.0 + 1e-6 for o in outs)
    assert set(CHANNEL_STAGES) == {"room", "noise", "microphone", "line", "level"}


def test_telephone_band_removes_high_frequencies():
    x = _speechlike().double().numpy()
    y = _telephone(x)
    assert len(y) == len(x)
    # the 6 kHz component is gone (above 4 kHz, the 8 kHz channel's Nyquist), the 220 Hz carrier stays
    assert _band_energy(y, 5000, 7000) < 1e-3 * _band_energy(x, 5000, 7000)
    assert _band_energy(y, 100, 1000) > 0.5 * _band_energy(x, 100, 1000)


def test_codec_round_trip_keeps_length_and_level():
    x = _speechlike().double().numpy()
    for seed in range(4):  # both MP3 and Ogg Vorbis are drawn among these
        y = _codec(x, np.random.default_rng(seed))
        assert len(y) == len(x)
        assert 0.5 < np.abs(y).max() / np.abs(x).max() < 1.5


def test_empty_transcripts_are_nonspeech_and_tokenless_text_is_an_error():
    tok = CharTokenizer()
    utts = [
        Utterance("a", "a.flac", 1.0, "HELLO"),
        Utterance("b", "b.flac", 1.0, ""),
        Utterance("c", "c.flac", 1.0, " "),
    ]
    assert [len(t) for t in encode_targets(utts, tok, "m.jsonl")] == [5, 0, 0]
    with pytest.raises(TokenizerError, match="m.jsonl:7"):
        encode_targets([Utterance("d", "d.flac", 1.0, "HÉ", line=7)], tok, "m.jsonl")


def test_ctc_loss_of_an_empty_target_trains_towards_blank():
    torch.manual_seed(0)
    logits = torch.randn(2, 20, 5, requires_grad=True)
    targets = torch.tensor([[1, 2, 3], [0, 0, 0]])
    loss, infeasible = ctc_loss(logits.log_softmax(-1), torch.tensor([20, 20]), targets, torch.tensor([3, 0]))
    assert infeasible == 0 and torch.isfinite(loss)
    loss.backward()
    # for the empty target every frame's gradient lowers the loss by raising blank (id 0)
    assert (logits.grad[1, :, 0] < 0).all() and (logits.grad[1, :, 1:] > 0).all()


def test_score_counts_nonspeech_clips_left_empty():
    report = score(["s", "n1", "n2", "n3"], ["A B", "", "", ""], ["A B", "", "THE", ""])
    assert report.nonspeech == (3, 2)
    assert report.wer.insertions == 1 and report.wer.reference_length == 2
    assert report.to_dict()["nonspeech"] == {"clips": 3, "empty": 2}
    assert "non-speech (empty reference) 3: 2 transcribed empty (66.7%)" in report.summary()


def test_a_set_of_only_nonspeech_has_no_rate_to_report():
    report = score(["n1", "n2"], ["", ""], ["THE", ""])
    lines = report.summary().splitlines()
    assert lines[0] == "WER n/a [no reference words, 1 inserted]"
    assert lines[1] == "CER n/a [no reference characters, 3 inserted]"


def test_codec_leaves_an_input_its_encoder_cannot_take_as_it_is(monkeypatch):
    """LAME aborts the whole process on NaN, and libsndfile raised an error on one training utterance (the run
    died at step 853): the codec stage hands such an input back unchanged."""
    import soundfile

    nan = np.full(1600, np.nan)
    assert _codec(nan, np.random.default_rng(0)) is nan  # never reaches the encoder

    def refuse(*args, **kwargs):
        raise soundfile.LibsndfileError(1, "refused")

    monkeypatch.setattr(soundfile, "write", refuse)
    wave = np.random.default_rng(1).standard_normal(16000) * 0.1
    assert _codec(wave, np.random.default_rng(0)) is wave
    assert channel(torch.full((16000,), float("nan")), random.Random(0)).shape == (16000,)  # no abort
