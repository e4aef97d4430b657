import numpy as np
import pytest
import soundfile as sf
import torch

from asr.audio import SAMPLE_RATE, load_audio
from asr.errors import AudioError


def _tone(rate: int, seconds: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


@pytest.mark.parametrize("ext,fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_reads_common_formats_to_16k_mono(tmp_path, ext, fmt):
    path = tmp_path / f"a.{ext}"
    sf.write(path, _tone(44100, channels=2), 44100, format=fmt)
    wave = load_audio(path)
    assert wave.dtype == torch.float32 and wave.dim() == 1
    assert abs(wave.numel() - SAMPLE_RATE * 0.5) < 0.02 * SAMPLE_RATE  # mp3 adds codec padding
    assert 0.1 < wave.abs().max() < 0.5


def test_array_input_resampled_and_mixed():
    stereo = _tone(8000, seconds=1.0, channels=2)
    wave = load_audio(stereo, sample_rate=8000)
    assert wave.numel() == SAMPLE_RATE
    assert torch.equal(load_audio(torch.from_numpy(stereo[:, 0]), sample_rate=16000), torch.from_numpy(stereo[:, 0]))


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="nope.wav: no such file"):
        load_audio(tmp_path / "nope.wav")


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio")
    with pytest.raises(AudioError, match="notes.wav: not a readable audio file"):
        load_audio(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: contains no samples"):
        load_audio(path)


def test_non_finite_samples(tmp_path):
    path = tmp_path / "nan.wav"
    data = _tone(16000)
    data[100] = np.nan
    sf.write(path, data, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: contains non-finite"):
        load_audio(path)
    with pytest.raises(AudioError, match="non-finite"):
        load_audio(np.array([0.0, np.inf], dtype=np.float32), sample_rate=16000)


def test_array_needs_sample_rate():
    with pytest.raises(AudioError, match="sample_rate"):
        load_audio(np.zeros(100, dtype=np.float32))
    assert issubclass(AudioError, ValueError)
