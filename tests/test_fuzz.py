"""Seeded fuzzing: damaged versions of the bundled examples end in a transcript or an AudioError, quickly.

benchmarks/fuzz_audio.py runs the same generator for thousands of cases, each in its own process.
"""

import signal
import warnings

import pytest
import soundfile as sf

import asr
from asr.errors import AudioError
from asr.fuzzing import KINDS, cases
from asr.loading import pretrained_dir

EXAMPLES = pretrained_dir() / "conformer-ctc-synthetic" / "examples"
CASES = 250
SECONDS_PER_CASE = 10


class _TooSlow(Exception):
    pass


def _alarm(signum, frame):
    raise _TooSlow()


def test_damaged_audio_ends_in_a_transcript_or_an_audio_error(tmp_path):
    model = asr.load_model(device="cpu")
    seeds = [sf.read(EXAMPLES / f"example-{i}.flac", dtype="float32") for i in (1, 2, 3)]
    outcomes = {"transcript": 0, "AudioError": 0}
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for name, data in cases(seeds, CASES, seed=2026):
            path = tmp_path / name
            path.write_bytes(data)
            signal.alarm(SECONDS_PER_CASE)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # truncated files warn; that is not a failure
                    model.transcribe(path)
                outcomes["transcript"] += 1
            except AudioError as e:
                assert str(e).startswith(str(path)), e  # the message names the file
                outcomes["AudioError"] += 1
            except _TooSlow:
                pytest.fail(f"{name}: still running after {SECONDS_PER_CASE} s")
            finally:
                signal.alarm(0)
            path.unlink()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert sum(outcomes.values()) == CASES
    # both outcomes occur: the damage is real, and much of it is still readable audio
    assert outcomes["transcript"] > CASES // 5 and outcomes["AudioError"] > CASES // 5, outcomes
    assert len(KINDS) == 5
