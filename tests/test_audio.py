import io
import json
import re
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.audio import SAMPLE_RATE, AudioWarning, load_audio
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


def _wav_bytes(tmp_path, seconds: float = 1.0) -> bytearray:
    sf.write(tmp_path / "src.wav", _tone(SAMPLE_RATE, seconds), SAMPLE_RATE, subtype="PCM_16")
    return bytearray((tmp_path / "src.wav").read_bytes())


@pytest.mark.parametrize("rate,shown", [(0x7F003E80, "2130722432"), (2, "2"), (999, "999")])
def test_a_corrupt_sample_rate_field_is_an_error_not_an_allocation(tmp_path, rate, shown):
    data = _wav_bytes(tmp_path)
    data[24:28] = rate.to_bytes(4, "little")  # the WAV header's sample rate field
    path = tmp_path / "bad.wav"
    path.write_bytes(data)
    with pytest.raises(AudioError, match=f"bad.wav: header: sample rate {shown} Hz is outside 1000..384000 Hz"):
        load_audio(path)


def test_a_header_declaring_more_than_the_file_can_hold_is_an_error(tmp_path):
    sf.write(tmp_path / "ok.flac", _tone(SAMPLE_RATE, 1.0), SAMPLE_RATE)
    data = bytearray((tmp_path / "ok.flac").read_bytes())
    data[21] |= 0x0F  # STREAMINFO's 36-bit total sample count, all ones: 49 days at 16 kHz
    data[22:26] = b"\xff\xff\xff\xff"
    (tmp_path / "huge.flac").write_bytes(data)
    with pytest.raises(AudioError, match=r"huge.flac: header declares 4294967 s, more than a \d+-byte FLAC file"):
        load_audio(tmp_path / "huge.flac")


def test_a_truncated_wav_is_read_with_a_warning_naming_it(tmp_path):
    data = _wav_bytes(tmp_path)
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.warns(AudioWarning, match=r"cut.wav: truncated: the header declares 1.00 s, the file holds 0.50 s"):
        wave = load_audio(tmp_path / "cut.wav")
    assert abs(wave.numel() - SAMPLE_RATE // 2) < 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an intact file warns about nothing
        load_audio(tmp_path / "src.wav")


def test_random_bytes_named_mp3_get_one_plain_message(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # libsndfile's verdict alone: no ffmpeg to try after it
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert str(e.value) == f"{path}: not a readable audio file (format not recognized)"
    assert "Note:" not in capfd.readouterr().err  # libmpg123's chatter is silenced


@pytest.mark.parametrize(
    "rate,shown",
    [
        (0, "0 Hz is outside 1000..384000 Hz"),
        (-1, "-1 Hz is outside"),
        (10**9, "1000000000 Hz is outside"),
        (44100.5, "must be a whole number of Hz, got 44100.5"),
        (float("nan"), "must be a whole number of Hz, got nan"),
        (True, "must be a whole number of Hz, got True"),
        ("16000", "must be a whole number of Hz, got '16000'"),
    ],
)
def test_array_sample_rates_out_of_range_are_audio_errors(rate, shown):
    with pytest.raises(AudioError, match=f"audio array: sample rate {re.escape(shown)}"):
        load_audio(np.zeros(1600, np.float32), sample_rate=rate)


def test_a_whole_sample_rate_given_as_a_float_is_that_rate():
    wave = np.sin(np.arange(8000) / 10).astype(np.float32)
    assert torch.equal(load_audio(wave, sample_rate=8000.0), load_audio(wave, sample_rate=8000))


def test_an_odd_sample_rate_is_resampled_quickly(tmp_path):
    """39,854 Hz (a rate a fuzzed header declared) would make torchaudio build a 19,927 x 8,000-phase kernel;
    such pairs go through soxr: the right length, in well under a second."""
    import time

    sf.write(tmp_path / "odd.wav", _tone(39854, seconds=1.0), 39854)
    started = time.perf_counter()
    wave = load_audio(tmp_path / "odd.wav")
    assert time.perf_counter() - started < 1.0
    assert abs(wave.numel() - SAMPLE_RATE) <= 2 and 0.2 < float(wave.abs().max()) < 0.4


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "MP3"])
def test_an_audio_files_bytes_and_binary_file_objects_read_as_the_file(tmp_path, fmt):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, _tone(22050, channels=2), 22050, format=fmt)
    expected = load_audio(path)
    assert torch.equal(load_audio(path.read_bytes()), expected)
    assert torch.equal(load_audio(bytearray(path.read_bytes())), expected)
    assert torch.equal(load_audio(io.BytesIO(path.read_bytes())), expected)
    with open(path, "rb") as f:
        assert torch.equal(load_audio(f), expected)


def test_bad_audio_bytes_and_text_mode_files_are_audio_errors_naming_them(tmp_path):
    with pytest.raises(AudioError, match=r"^audio bytes: not a readable audio file \(format not recognized"):
        load_audio(b"RIFF but not really a wave file")
    with pytest.raises(AudioError, match=r"^audio bytes: no bytes"):
        load_audio(b"")
    sf.write(tmp_path / "a.wav", _tone(SAMPLE_RATE), SAMPLE_RATE)
    with (
        open(tmp_path / "a.wav", errors="ignore") as f,
        pytest.raises(AudioError, match=r"a.wav: .*binary mode \('rb'\)"),
    ):
        load_audio(f)
    data = _wav_bytes(tmp_path)  # the header's checks hold for bytes as for files
    with pytest.warns(AudioWarning, match=r"^audio bytes: truncated: the header declares 1.00 s"):
        load_audio(data[: len(data) // 2])


def test_integer_pcm_arrays_are_scaled_as_a_files_samples_would_be():
    wave = _tone(SAMPLE_RATE)
    pcm16 = np.round(wave * 32767).astype(np.int16)
    assert torch.allclose(load_audio(pcm16, sample_rate=SAMPLE_RATE), torch.from_numpy(wave), atol=1e-4)
    assert torch.allclose(
        load_audio(pcm16.astype(np.int32) << 16, sample_rate=SAMPLE_RATE), torch.from_numpy(wave), atol=1e-4
    )
    pcm8 = (np.round(wave * 127) + 128).astype(np.uint8)
    assert torch.allclose(load_audio(pcm8, sample_rate=SAMPLE_RATE), torch.from_numpy(wave), atol=1e-2)
    with pytest.raises(AudioError, match="integer samples must be PCM of type int8, int16, int32 or uint8, got int64"):
        load_audio(pcm16.astype(np.int64), sample_rate=SAMPLE_RATE)


@pytest.mark.parametrize(
    "audio,shown",
    [
        ({"samples": [0.0]}, "got dict"),
        (None, "got NoneType"),
        (["a", "b"], "got an array of <U1"),
        (np.zeros(100, dtype=complex), "got an array of complex128"),
        (np.zeros(100, dtype=bool), "got an array of bool"),
        ([[0.0, 0.1], [0.0]], "got list"),
    ],
)
def test_what_is_not_audio_is_an_audio_error_not_a_type_error(audio, shown):
    with pytest.raises(AudioError, match=rf"^audio: expected a path, an audio file's bytes, .*{shown}"):
        load_audio(audio, sample_rate=SAMPLE_RATE)


def _fake_ffmpeg(bin_dir, samples: np.ndarray | None, error: str = "") -> None:
    """An ``ffmpeg`` on PATH that writes ``samples`` as float32 to stdout for any input (or fails with ``error``)
    and records its arguments: what asr.audio asks of ffmpeg, tested without it."""
    bin_dir.mkdir(exist_ok=True)
    np.save(bin_dir / "samples.npy", samples if samples is not None else np.zeros(0, np.float32))
    script = bin_dir / "ffmpeg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, numpy as np\n"
        f"open({str(bin_dir / 'args.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"error = {error!r}\n"
        "if error:\n"
        "    sys.stderr.write(sys.argv[sys.argv.index('-i') + 1] + ': ' + error + '\\n'); sys.exit(1)\n"
        f"sys.stdout.buffer.write(np.load({str(bin_dir / 'samples.npy')!r}).astype('<f4').tobytes())\n"
    )
    script.chmod(0o755)


def test_formats_libsndfile_lacks_are_decoded_by_ffmpeg_when_installed(tmp_path, monkeypatch):
    memo = tmp_path / "memo.m4a"
    memo.write_bytes(b"\x00\x00\x00\x20ftypM4A not something libsndfile knows")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(
        AudioError,
        match=r"memo.m4a: not a readable audio file \(format not recognized\) \(to read "
        r"\.m4a files, install ffmpeg",
    ):
        load_audio(memo)
    wave = _tone(SAMPLE_RATE)
    _fake_ffmpeg(tmp_path / "bin", wave)
    assert torch.equal(load_audio(memo), torch.from_numpy(wave))
    args = json.loads((tmp_path / "bin" / "args.json").read_text())
    assert (
        args[args.index("-i") + 1] == f"file:{memo}" and ["-ac", "1"] == args[args.index("-ac") : args.index("-ac") + 2]
    )
    assert args[args.index("-ar") + 1] == str(SAMPLE_RATE) and args[args.index("-f") + 1] == "f32le"
    assert torch.equal(load_audio(memo.read_bytes()), torch.from_numpy(wave))  # bytes too, through a file
    protocol_like = tmp_path / "pipe:1.m4a"  # a file's name, not ffmpeg's pipe protocol
    protocol_like.write_bytes(memo.read_bytes())
    assert torch.equal(load_audio(protocol_like), torch.from_numpy(wave))
    assert json.loads((tmp_path / "bin" / "args.json").read_text())[args.index("-i") + 1] == f"file:{protocol_like}"
    _fake_ffmpeg(tmp_path / "bin", None, error="Invalid data found when processing input")
    with pytest.raises(AudioError, match=r"^audio bytes: not a readable audio file \(format not recognized; ffmpeg"):
        load_audio(memo.read_bytes())
    with pytest.raises(
        AudioError,
        match=r"^\S*memo.m4a: not a readable audio file \(format not recognized; ffmpeg: "
        r"Invalid data found when processing input\)$",
    ):
        load_audio(memo)
    (tmp_path / "notes.wav").write_text("text, not audio")  # a broken file libsndfile knows is not ffmpeg's
    sf.write(tmp_path / "ok.wav", wave, SAMPLE_RATE)
    data = bytearray((tmp_path / "ok.wav").read_bytes())
    data[24:28] = (2).to_bytes(4, "little")
    (tmp_path / "bad-rate.wav").write_bytes(data)
    with pytest.raises(AudioError, match=r"bad-rate.wav: header: sample rate 2 Hz"):
        load_audio(tmp_path / "bad-rate.wav")


def test_a_long_file_only_ffmpeg_reads_is_cut_and_transcribed_whole(tmp_path, monkeypatch):
    """Files libsndfile cannot stream are read whole and cut in memory (ASRModel._pieces)."""
    import asr

    model = asr.load_model()
    wave = load_audio(model.path / "examples" / "example-1.flac").numpy()
    silence = np.zeros(SAMPLE_RATE // 2, np.float32)
    _fake_ffmpeg(tmp_path / "bin", np.concatenate([wave, silence] * 4))  # about 16 s: over the 12 s segments
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "talk.mp4").write_bytes(b"not read by libsndfile")
    model.segmenter = "energy"  # Silero VAD would be loaded for this one test
    transcript = model.transcribe(tmp_path / "talk.mp4")
    assert len(transcript.segments) >= 2 and transcript.duration == pytest.approx(
        4 * (len(wave) + len(silence)) / SAMPLE_RATE
    )
    alone = model.transcribe(wave, sample_rate=SAMPLE_RATE).text
    assert transcript.text.split().count(alone.split()[1]) >= 3, (transcript.text, alone)
