"""The bundled streaming model: the default of `asr stream`, streams its examples accurately and exactly."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import asr
from asr.metrics import score
from asr.transcribe import pretrained_dir

NAME = "conformer-ctc-streaming"
# Measured on the examples it ships with (v29's: three espeak-ng sentences, a Kokoro sentence and a short
# utterance by held-out voices, 43 words): fed in 100 ms pieces through 320 ms chunks 9 / 43 (CAREFUL
# EXAMINATION -> APEREFUL A EXAMBLATION, GROUND -> DRND, LAWN -> LWN, PALL MALL GAZETTE -> POLE MALLGASET, LEFT ->
# WAFTD); whole files 7 / 43, with the LM 5 / 43. Each bound allows one word more than measured.
EXAMPLES_STREAM_MAX_WER = 10 / 43
EXAMPLES_FULL_MAX_WER = 8 / 43
EXAMPLES_FULL_MAX_WER_LM = 6 / 43
MODEL = pretrained_dir() / NAME
EXAMPLES = MODEL / "examples"
ALL_REFS = [json.loads(line) for line in (EXAMPLES / "references.jsonl").read_text().splitlines()]
REFS = [r for r in ALL_REFS if r["text"]]


@pytest.fixture(autouse=True)
def _bundled_models(monkeypatch):
    monkeypatch.delenv("ASR_PRETRAINED_DIR", raising=False)


@pytest.fixture(scope="module")
def model():
    return asr.load_model(device="cpu", streaming=True)


def _stream(model, wave, rate, piece=1600):
    stream = model.stream(chunk_ms=320)
    for start in range(0, len(wave), piece):
        stream.accept(wave[start : start + piece], sample_rate=rate)
    return stream.finish().text


def test_streaming_model_is_the_stream_default_causal_and_small(model):
    assert (pretrained_dir() / "DEFAULT-STREAMING").read_text().strip() == NAME
    assert model.path == MODEL and NAME in asr.available_models()
    assert model.config["model"]["streaming"] and model.config["model"]["conv_future"] == 0
    assert model.config["model"]["strides"] == [2, 2, 2]
    assert sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file()) < 50 * 2**20


def test_streaming_model_streams_its_examples(model):
    """Audio in 100 ms pieces through 320 ms chunks, and the same files whole, greedy and with the LM."""
    waves = [sf.read(EXAMPLES / r["audio"], dtype="float32") for r in REFS]
    ids, refs = [r["id"] for r in REFS], [r["text"] for r in REFS]
    streamed = [_stream(model, *w) for w in waves]
    report = score(ids, refs, streamed)
    assert report.wer.rate <= EXAMPLES_STREAM_MAX_WER, report.summary() + "\n" + "\n".join(streamed)
    whole = [model.transcribe(EXAMPLES / r["audio"]).text for r in REFS]
    report = score(ids, refs, whole)
    assert report.wer.rate <= EXAMPLES_FULL_MAX_WER, report.summary() + "\n" + "\n".join(whole)
    with_lm = [model.transcribe(EXAMPLES / r["audio"], lm=True).text for r in REFS]
    report = score(ids, refs, with_lm)
    assert report.wer.rate <= EXAMPLES_FULL_MAX_WER_LM, report.summary() + "\n" + "\n".join(with_lm)


def test_streaming_model_streams_what_the_chunk_mask_transcribes(model):
    """The stream, piece by piece, says what the whole file says run through the same 320 ms chunk mask."""
    from asr.streaming import chunk_frames

    masked = asr.load_model(MODEL, device="cpu")
    masked.chunk = chunk_frames(masked.model, 320)
    for r in REFS:
        wave, rate = sf.read(EXAMPLES / r["audio"], dtype="float32")
        assert _stream(model, wave, rate, piece=2731) == masked.transcribe(EXAMPLES / r["audio"]).text


def test_streaming_model_streams_nothing_for_silence_and_noise(model):
    rng = np.random.default_rng(1)
    clips = [np.zeros(3 * 16000, np.float32)] + [
        (rng.standard_normal(2 * 16000) * 10 ** (db / 20)).astype(np.float32) for db in (-60, -40, -20)
    ]
    clips += [sf.read(EXAMPLES / r["audio"], dtype="float32")[0] for r in ALL_REFS if not r["text"]]
    assert [_stream(model, c, 16000) for c in clips] == [""] * len(clips)


def test_stream_cli_reads_raw_pcm_from_stdin_with_the_default_model():
    """`sox FILE -t raw -r 16000 -e signed -b 16 -c 1 - | asr stream -`: one line per segment on stdout."""
    first = REFS[0]
    wave, rate = sf.read(EXAMPLES / first["audio"], dtype="int16")
    assert rate == 16000
    result = subprocess.run(
        [sys.executable, "-m", "asr.cli", "stream", "-", "--no-partials"], input=wave.tobytes(), capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines and all(len(line.split("\t", 2)) == 3 for line in lines)
    text = " ".join(line.split("\t", 2)[2] for line in lines)
    assert score(["a"], [first["text"]], [text]).wer.rate <= 0.5, text
