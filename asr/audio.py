"""Audio input: read any file libsndfile reads (and, when ffmpeg is installed, what ffmpeg reads: m4a, mp4,
webm, ...), mix to mono, resample, validate.

The model's sample rate lives here, once; every other module imports it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import BinaryIO, Callable, Union

import numpy as np
import soundfile as sf
import torch
import torchaudio

from .errors import AudioError, is_real

__all__ = [
    "SAMPLE_RATE",
    "AUDIO_EXTENSIONS",
    "AudioInput",
    "AudioWarning",
    "load_audio",
    "as_samples",
    "load_audio_files",
    "audio_duration",
    "audio_info",
    "resample",
    "check_sample_rate",
    "quiet_stderr",
]

SAMPLE_RATE = 16000  # Hz; every model in this package consumes 16 kHz mono
# What a header may declare: rates outside these (a corrupt field: 1 Hz makes a 126 KB WAV 17 hours long,
# 2.1 GHz makes the resampler ask for 18 GB) are errors, not audio.
MIN_RATE, MAX_RATE, MAX_CHANNELS = 1000, 384000, 32
_HEAD_BYTES = 65536  # how much of a WAV file is searched for its data chunk's size
# Containers libsndfile does not read and ffmpeg does (phone and meeting recordings, video soundtracks): named in
# the error for such a file when ffmpeg is not installed.
FFMPEG_FORMATS = {".m4a", ".mp4", ".aac", ".mov", ".webm", ".mkv", ".wma", ".amr", ".3gp", ".avi", ".opus", ".ac3"}
# What a directory given to `asr transcribe` is searched for: libsndfile's common formats and ffmpeg's above.
AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64"} | FFMPEG_FORMATS
# A compressed stream cannot hold more than this many seconds per byte of file (128 bit/s: below any real
# codec's rate; FLAC of digital silence, the most compressible, needs ~60 bytes per second): a header that
# declares more (a flipped byte made a 24 KB MP3 declare 112 days) is corrupt.
MAX_SECONDS_PER_BYTE = 1 / 16
# containers that store samples as they are (FLAC, Ogg and MP3 compress, whatever their subtype says)
_UNCOMPRESSED = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "RAW", "CAF", "IRCAM", "NIST", "VOC"}
# uncompressed sample formats and their bytes per sample: their data size follows from the header
_PCM_BYTES = {
    "PCM_S8": 1,
    "PCM_U8": 1,
    "PCM_16": 2,
    "PCM_24": 3,
    "PCM_32": 4,
    "FLOAT": 4,
    "DOUBLE": 8,
    "ULAW": 1,
    "ALAW": 1,
}


class AudioWarning(UserWarning):
    """Audio that can be read but not as its header promises (a truncated file); the message names the file."""


AudioInput = Union[str, os.PathLike, bytes, BinaryIO, np.ndarray, torch.Tensor]


@functools.lru_cache(maxsize=16)
def _resampler(orig_freq: int, new_freq: int) -> torchaudio.transforms.Resample:
    # Building the windowed-sinc kernel costs more than applying it to a short clip: build once per rate pair.
    return torchaudio.transforms.Resample(orig_freq, new_freq)


# torchaudio's polyphase kernel has orig/gcd x new/gcd phases: fine for 44.1k or 22.05k -> 16k (441 x 160),
# seconds and gigabytes for an odd rate such as 39,854 Hz (19,927 x 8,000). Beyond this many phases, soxr.
MAX_POLYPHASE = 2000


def resample(wave: torch.Tensor, orig_freq: int, new_freq: int = SAMPLE_RATE) -> torch.Tensor:
    """Resample a 1-D float waveform; a no-op when the rates already match."""
    if orig_freq == new_freq:
        return wave
    step = math.gcd(int(orig_freq), int(new_freq))
    if max(orig_freq, new_freq) // step > MAX_POLYPHASE:
        import soxr  # librosa's resampler, installed with it

        out = soxr.resample(wave.detach().cpu().numpy().astype(np.float32), orig_freq, new_freq)
        return torch.from_numpy(np.ascontiguousarray(out)).to(wave.dtype)
    with torch.no_grad():
        return _resampler(int(orig_freq), int(new_freq))(wave)


def check_sample_rate(rate, name: str = "audio array") -> int:
    """``rate`` as an int (16000.0 is 16000), or AudioError when it is not a whole number of Hz in
    MIN_RATE..MAX_RATE."""
    if not is_real(rate) or not math.isfinite(rate) or rate % 1:
        raise AudioError(f"{name}: sample rate must be a whole number of Hz, got {rate!r}")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{name}: sample rate {rate!r} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
    return int(rate)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: permission denied")


@contextlib.contextmanager
def quiet_stderr():
    """Silence what C libraries print on file descriptor 2 for the duration (libmpg123's "Note: ..." lines on
    bad MP3s, KenLM's loading chatter)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some embedders): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _NotRecognized(AudioError):
    """libsndfile does not know the file's format (ffmpeg may)."""


def _unreadable(path: Path | str, error: Exception) -> AudioError:
    message = str(error).strip()
    if "does not exist or is not a regular file" in message or "Format not recognised" in message:
        # libsndfile's words for bytes it cannot parse
        return _NotRecognized(f"{path}: not a readable audio file (format not recognized)")
    return AudioError(f"{path}: not a readable audio file ({message})")


def audio_info(path: str | os.PathLike):
    """The file's header (soundfile's info), checked: a sample rate in MIN_RATE..MAX_RATE, 1..MAX_CHANNELS
    channels, and a length the file can hold. Raises AudioError naming the file; warns (AudioWarning) when an
    uncompressed file is shorter than its header says (only what it holds will be read)."""
    path = Path(path)
    _check_path(path)
    try:
        with quiet_stderr():
            info = sf.info(str(path))
    except Exception as e:  # libsndfile raises several types for unreadable input
        raise _unreadable(path, e) from None

    def head() -> bytes:
        with open(path, "rb") as f:
            return f.read(_HEAD_BYTES)

    _check_header(info, str(path), path.stat().st_size, head)
    return info


def _check_header(info, name: str, size: int, head: Callable[[], bytes]) -> None:
    """audio_info's checks of a header ``info`` of ``size`` bytes of audio named ``name``; ``head`` gives the
    first bytes (read only for a WAV file, whose data chunk's size is compared with what it holds)."""
    check_sample_rate(info.samplerate, f"{name}: header")
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioError(f"{name}: header declares {info.channels} channels (1..{MAX_CHANNELS} can be read)")
    seconds = info.frames / info.samplerate
    width = _PCM_BYTES.get(info.subtype) if info.format in _UNCOMPRESSED else None
    if width is None and seconds > size * MAX_SECONDS_PER_BYTE:
        raise AudioError(
            f"{name}: header declares {seconds:.0f} s, more than a {size}-byte {info.format} file "
            "can hold (a corrupt header)"
        )
    declared = _wav_data_bytes(head()) if info.format in ("WAV", "WAVEX") else None
    if width is not None and declared is not None and declared > info.frames * info.channels * width + width:
        declared_seconds = declared / (info.channels * width * info.samplerate)
        warnings.warn(
            f"{name}: truncated: the header declares {declared_seconds:.2f} s, the file holds "
            f"{seconds:.2f} s; reading what it holds",
            AudioWarning,
        )


def _wav_data_bytes(head: bytes) -> int | None:
    """The size a RIFF/WAVE file's ``data`` chunk declares, from the file's first bytes (None when not found)."""
    if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None
    order = "little" if head[:4] == b"RIFF" else "big"
    at = 12
    while at + 8 <= len(head):
        size = int.from_bytes(head[at + 4 : at + 8], order)
        if head[at : at + 4] == b"data":
            return None if size == 0xFFFFFFFF else size  # streamed WAVs leave the size unknown
        at += 8 + size + (size & 1)
    return None


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    try:
        info = audio_info(path)
    except _NotRecognized as e:
        return _read_with_ffmpeg(path, e)
    try:
        with quiet_stderr():  # at most what the header declares: a broken stream cannot run on
            data, rate = sf.read(str(path), frames=max(info.frames, 0), dtype="float32", always_2d=True)
    except Exception as e:
        raise _unreadable(path, e) from None
    return data, rate


def _read_with_ffmpeg(path: Path, error: AudioError) -> tuple[np.ndarray, int]:
    """A file whose format libsndfile does not know, decoded by ffmpeg when it is on PATH: mono float32 at
    SAMPLE_RATE, (samples, 1). Without ffmpeg, ``error`` (with a hint for the containers ffmpeg reads)."""
    tool = shutil.which("ffmpeg")
    if tool is None:
        if path.suffix.lower() in FFMPEG_FORMATS:
            raise AudioError(f"{error} (to read {path.suffix} files, install ffmpeg: apt-get install ffmpeg)") from None
        raise error
    source = f"file:{path}"  # a file's name, whatever it looks like ("pipe:1.m4a" is not ffmpeg's pipe protocol)
    command = [tool, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", source]
    command += ["-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    try:
        done = subprocess.run(command, capture_output=True, check=False)
    except OSError as e:
        raise AudioError(f"{error} (ffmpeg could not run: {e.strerror})") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        why = lines[-1].removeprefix(f"{source}: ") if lines else f"exit status {done.returncode}"
        if "does not contain any stream" in why:  # what ffmpeg says of a video without sound
            why = "no audio stream"
        raise AudioError(f"{path}: not a readable audio file (format not recognized; ffmpeg: {why})")
    samples = np.frombuffer(done.stdout, dtype="<f4", count=len(done.stdout) // 4).astype(np.float32)
    return samples[:, None], SAMPLE_RATE


def _read_encoded(data: bytes, name: str) -> tuple[np.ndarray, int]:
    """An audio file's bytes (read from a file object or received whole), checked and decoded as a file is."""
    if not data:
        raise AudioError(f"{name}: no bytes (an empty file)")
    try:
        with quiet_stderr():
            info = sf.info(io.BytesIO(data))
    except Exception as e:
        error = _unreadable(name, e)
        if not isinstance(error, _NotRecognized) or shutil.which("ffmpeg") is None:
            raise error from None
        with tempfile.TemporaryDirectory() as folder:  # ffmpeg seeks (an MP4's index may come last): a file
            (Path(folder) / "audio").write_bytes(data)
            try:
                return _read_with_ffmpeg(Path(folder) / "audio", error)
            except AudioError as failed:
                raise AudioError(str(failed).replace(str(Path(folder) / "audio"), name)) from None
    _check_header(info, name, len(data), lambda: data[:_HEAD_BYTES])
    try:
        with quiet_stderr():
            return sf.read(io.BytesIO(data), frames=max(info.frames, 0), dtype="float32", always_2d=True)
    except Exception as e:
        raise _unreadable(name, e) from None


def as_samples(audio, name: str = "audio array") -> torch.Tensor:
    """An array of samples as a float32 tensor; integer PCM (int8, int16, int32, uint8) is scaled to [-1, 1) by
    its type's range, as a file's samples would be. Raises AudioError for anything else that is not floats."""
    if isinstance(audio, torch.Tensor):
        array = audio.detach().cpu()
        if array.dtype == torch.bfloat16:
            array = array.float()
        array = array.numpy()
    else:
        try:
            array = np.asarray(audio)
        except (TypeError, ValueError):
            array = np.asarray(None)
    if array.dtype.kind not in "fiu":
        what = f"an array of {array.dtype}" if array.dtype.kind != "O" else type(audio).__name__
        raise AudioError(
            "audio: expected a path, an audio file's bytes, a binary file object or an array of real-valued "
            f"samples (with sample_rate), got {what}"
        )
    if array.dtype == np.uint8:  # 8-bit PCM (as in WAV) is unsigned, centred on 128
        return torch.from_numpy((array.astype(np.float32) - 128) / 128)
    if array.dtype in (np.int8, np.int16, np.int32):
        return torch.from_numpy(array.astype(np.float64) / -float(np.iinfo(array.dtype).min)).float()
    if array.dtype.kind in "iu":
        raise AudioError(
            f"{name}: integer samples must be PCM of type int8, int16, int32 or uint8, got {array.dtype}; "
            "pass floats in [-1, 1] instead"
        )
    return torch.from_numpy(np.ascontiguousarray(array)).float()


def load_audio(audio: AudioInput, sample_rate: int | None = None, target_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Return float32 mono audio at ``target_rate`` as a 1-D tensor.

    ``audio`` is a path (wav, flac, ogg, mp3: anything libsndfile reads), the bytes of such a file, a file object
    opened in binary mode, or an array of samples (NumPy, PyTorch, a list), shaped (samples,) or (samples,
    channels), in which case ``sample_rate`` is required; integer PCM samples are scaled by their type's range.
    Raises :class:`AudioError` naming the file for missing, unreadable, empty or non-finite audio.
    """
    if isinstance(audio, (str, os.PathLike)):
        name = str(audio)
        data, rate = _read_file(Path(audio))
        wave = torch.from_numpy(data).mean(dim=1)  # (samples,) mono
    elif isinstance(audio, (bytes, bytearray, memoryview)) or hasattr(audio, "read"):
        name = str(getattr(audio, "name", "") or ("audio file object" if hasattr(audio, "read") else "audio bytes"))
        content = audio.read() if hasattr(audio, "read") else bytes(audio)
        if not isinstance(content, bytes):
            raise AudioError(f"{name}: a file object must be opened in binary mode ('rb')")
        data, rate = _read_encoded(content, name)
        wave = torch.from_numpy(data).mean(dim=1)
    else:
        name = "audio array"
        wave = as_samples(audio, name)
        if sample_rate is None:
            raise AudioError("an audio array needs its sample_rate")
        if wave.dim() == 2:
            # (samples, channels) as soundfile gives it; a (channels, samples) array is taken as such too.
            wave = wave.mean(dim=1) if wave.shape[0] >= wave.shape[1] else wave.mean(dim=0)
        elif wave.dim() != 1:
            raise AudioError(f"{name}: expected shape (samples,) or (samples, channels), got {tuple(wave.shape)}")
        rate = check_sample_rate(sample_rate)
    if wave.numel() == 0:
        raise AudioError(f"{name}: contains no samples")
    if not bool(torch.isfinite(wave).all()):
        raise AudioError(f"{name}: contains non-finite samples (NaN or Inf)")
    try:
        return resample(wave, rate, target_rate).contiguous()
    except RuntimeError as e:  # e.g. memory for an absurd length or rate pair
        raise AudioError(f"{name}: cannot resample {rate} Hz to {target_rate} Hz ({str(e).splitlines()[0]})") from None


def load_audio_files(paths: list) -> tuple[list[int], list[torch.Tensor], dict[int, AudioError]]:
    """Load many files, skipping bad ones: (indices loaded, their waves, {index: error} for the rest)."""
    loaded, waves, errors = [], [], {}
    for i, path in enumerate(paths):
        try:
            waves.append(load_audio(path))
            loaded.append(i)
        except AudioError as e:
            errors[i] = e
    return loaded, waves, errors


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds from the file header (no decoding), the header checked by audio_info."""
    info = audio_info(path)
    return info.frames / info.samplerate
