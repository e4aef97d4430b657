"""The bundled model: loads by default and transcribes its example recordings accurately."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import asr
from asr.lm import arpa_words
from asr.metrics import score
from asr.transcribe import pretrained_dir

NAME = "conformer-ctc-synthetic"
# Issue 4 asks for WER <= 10% on the examples; the shipped model (v28) measures 8.3% greedy (3 / 36 words:
# LAWN -> LONGW, PALL MALL -> PAL MAALL) and 8.3% with the bundled LM (3 / 36: LAWN -> LAW, PALL MALL -> PALM);
# v27 3 / 36 (LAWN -> LONG, PALL -> PALE, GAZETTE -> GAZETE) and 2 / 36 (LAWN -> LONG, IT inserted); v26 3 / 36 (LAWN -> LONGW, PALL -> PALLE, GAZETTE -> GAZETE) and 2 / 36 (LAWN -> LAW, IT
# inserted); v25 3 / 36 (LAWN -> LONG, PALL -> PALE, GAZETTE -> GAZETE) and 1 / 36 (LAWN -> LAW); v24 and
# v23 the same but LAWN -> LONG with the LM. These are the examples run.sh stage 33 makes from the rebuilt corpus
# text (v21: 3 / 36 and 1 / 36; v20: 2 / 36 and 1 / 36; v19: 4 / 36 and
# 1 / 36; v18 and v16: 5 / 36 and 3 / 36; v15: 4 / 36 and 3 / 36, v14: 5 / 36 and 1 / 36, v13: 5 / 36 and
# 4 / 36; v12 and v11 the same; v10: 6 / 36 and 5 / 36; v9: 4 / 36 and 4 / 36, while v21 makes 14 fewer errors
# than v20 on the 5,949 test words: on 36 words one word decides). Both bounds are the 10%, which v28
# meets with no word to spare either way (a fourth error fails), so a broken export, front-end or decoder change
# fails here. Tighten them when a better model ships.
EXAMPLES_MAX_WER = 0.10
EXAMPLES_MAX_WER_LM = 0.10
# After 0.3 / 0.5 s of leading digital zeros v21 (and v20) make 4 / 36 both times (see the test): one word to spare.
EXAMPLES_AFTER_SILENCE_MAX_WER = 0.14
MODEL = pretrained_dir() / NAME
EXAMPLES = MODEL / "examples"
REFS = [json.loads(line) for line in (EXAMPLES / "references.jsonl").read_text().splitlines()]


@pytest.fixture(autouse=True)
def _bundled_models(monkeypatch):
    monkeypatch.delenv("ASR_PRETRAINED_DIR", raising=False)


def test_bundled_model_is_the_default_and_small():
    assert NAME in asr.available_models()
    model = asr.load_model(device="cpu")
    assert model.path == MODEL
    assert model.config["model"]["strides"] == [2, 2, 2]  # 8x subsampling
    # the hop chosen on dev (asr tune-hop): 8 ms for v22 (10 ms-trained weights), trained at it in v23-v27;
    # v28 reads v27's weights at 7 ms (run.sh stage 31's re-check)
    assert model.config["model"]["hop_length"] == 112 and model.frame_seconds == pytest.approx(0.056)
    assert sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file()) < 50 * 2**20


def test_bundled_examples_are_transcribed_accurately():
    model = asr.load_model(device="cpu")
    hyps = [t.text for t in model.transcribe_batch([EXAMPLES / r["audio"] for r in REFS])]
    report = score([r["id"] for r in REFS], [r["text"] for r in REFS], hyps)
    assert report.wer.rate <= EXAMPLES_MAX_WER, report.summary() + "\n" + "\n".join(hyps)
    with_lm = [t.text for t in model.transcribe_batch([EXAMPLES / r["audio"] for r in REFS], lm=True)]
    lm_report = score([r["id"] for r in REFS], [r["text"] for r in REFS], with_lm)
    assert lm_report.wer.rate <= EXAMPLES_MAX_WER_LM, lm_report.summary() + "\n" + "\n".join(with_lm)
    # Whether the LM helps is measured on the whole test set (20.30% -> 12.26%, the model card); on 26 words
    # it is noise (v8: 6 -> 4 errors, v7: 6 -> 5, v6: 4 -> 5). Here: it is used, and only its words come out.
    assert with_lm != hyps
    vocabulary = set(arpa_words(MODEL / "lm" / "lm.arpa"))
    assert all(word in vocabulary for text in with_lm for word in text.split()), with_lm
    assert model.has_lm and model.decoder(lm=True).lexicon_size > 20000


@pytest.mark.parametrize("seconds", [0.3, 0.5])
def test_bundled_model_reads_speech_after_silence(tmp_path, seconds):
    """A recording that opens with a pause: files up to 12 s reach the model untrimmed. v16, never trained on
    leading silence, made 12 and 14 errors in these 36 words after 0.3 and 0.5 s of digital zeros (5 without);
    v18, trained with `lead_silence=0.5`, makes 5 and 4, v19 5 and 4 (4 without), v20 4 and 4 (2 without), and
    v21 4 and 4 (3 without)."""
    model = asr.load_model(device="cpu")
    hyps = []
    for r in REFS:
        wave, rate = sf.read(EXAMPLES / r["audio"], dtype="float32")
        path = tmp_path / r["audio"]
        sf.write(path, np.concatenate([np.zeros(int(seconds * rate), np.float32), wave]), rate)
        hyps.append(model.transcribe(path).text)
    report = score([r["id"] for r in REFS], [r["text"] for r in REFS], hyps)
    assert report.wer.rate <= EXAMPLES_AFTER_SILENCE_MAX_WER, report.summary() + "\n" + "\n".join(hyps)


def test_cli_transcribes_the_examples_with_the_default_model():
    paths = [str(EXAMPLES / r["audio"]) for r in REFS]
    result = subprocess.run([sys.executable, "-m", "asr.cli", "transcribe", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == paths
    report = score([r["id"] for r in REFS], [r["text"] for r in REFS], [line.split("\t")[1] for line in lines])
    assert report.wer.rate <= EXAMPLES_MAX_WER, result.stdout
