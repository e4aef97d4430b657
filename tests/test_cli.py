import json
import subprocess
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from safetensors.torch import load_file

from asr.errors import ASRError
from asr.loading import load_model
from conftest import TINY, run_cli, tiny_train_config

FILES = sorted(str(p) for p in TINY.glob("*.flac"))
TEXTS = [json.loads(line)["text"] for line in (TINY / "train.jsonl").read_text().splitlines()]


def asr(*args, env=None):
    """``asr ARGS`` in this process; with ``env``, in a fresh one that sees it."""
    if env is None:
        return run_cli(*args)
    return subprocess.run([sys.executable, "-m", "asr.cli", *map(str, args)], capture_output=True, text=True, env=env)


def _assert_clean_error(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_round_trip_train_average_evaluate_transcribe(tmp_path):
    exp = tmp_path / "exp"
    conf = tmp_path / "tiny.yaml"
    conf.write_text(yaml.safe_dump(tiny_train_config(exp).to_dict()))
    trained = asr("train", "--config", conf, f"valid_manifest={TINY / 'train.jsonl'}")
    assert trained.returncode == 0, trained.stderr
    assert "epoch 120: valid loss" in trained.stdout and "WER 0.00%" in trained.stdout  # validated each epoch

    averaged = asr("average", exp, "--last", "2", "--out", tmp_path / "avg")
    assert averaged.returncode == 0, averaged.stderr
    assert sorted(p.name for p in (tmp_path / "avg").iterdir()) == ["config.json", "model.safetensors"]
    halved = asr("average", exp, "--last", "2", "--out", tmp_path / "avg16", "--half")
    assert halved.returncode == 0 and "(parameters stored as float16)" in halved.stdout, halved.stderr
    sizes = [(tmp_path / d / "model.safetensors").stat().st_size for d in ("avg", "avg16")]
    assert 0.5 < sizes[1] / sizes[0] < 0.75, sizes  # the float32 filterbank and window are kept as they are
    souped = asr("average", "--models", tmp_path / "avg", tmp_path / "avg16", "--out", tmp_path / "soup")
    assert souped.returncode == 0, souped.stderr
    w = [load_file(str(tmp_path / d / "model.safetensors")) for d in ("avg", "avg16", "soup")]
    for key, value in w[2].items():  # the element-wise mean of the two directories' weights
        assert torch.allclose(value, (w[0][key].float() + w[1][key].float()) / 2, atol=1e-6), key
    assert json.loads((tmp_path / "soup" / "config.json").read_text())["info"]["averaged_models"][1].endswith("avg16")
    weighted = asr(
        "average", "--models", tmp_path / "avg", tmp_path / "soup", "--weights", "1", "3", "--out", tmp_path / "w"
    )
    assert weighted.returncode == 0 and "with weights 1 3" in weighted.stdout, weighted.stderr
    assert json.loads((tmp_path / "w" / "config.json").read_text())["info"]["weights"] == [0.25, 0.75]
    miscounted = asr(
        "average", "--models", tmp_path / "avg", tmp_path / "soup", "--weights", "1", "--out", tmp_path / "bad"
    )
    assert miscounted.returncode != 0 and "one positive weight per model directory" in miscounted.stderr
    (tmp_path / "other").mkdir()
    config = json.loads((tmp_path / "avg" / "config.json").read_text())
    config["model"]["n_layers"] += 1
    (tmp_path / "other" / "config.json").write_text(json.dumps(config))
    mismatched = asr("average", "--models", tmp_path / "avg", tmp_path / "other", "--out", tmp_path / "bad")
    assert mismatched.returncode != 0 and "'model'" in mismatched.stderr and "Traceback" not in mismatched.stderr

    evaluated = asr(
        "evaluate", "--model", tmp_path / "avg", "--manifest", TINY / "train.jsonl", "--output-dir", tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "WER 0.00% [0 / 23, 0 sub, 0 del, 0 ins]" in evaluated.stdout
    rows = (tmp_path / "errs-train.tsv").read_text().splitlines()
    assert rows[0].startswith("id\terrors") and len(rows) == 9

    out = asr("transcribe", "--model", tmp_path / "avg", "--format", "jsonl", *FILES)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [x["path"] for x in lines] == FILES and [x["text"] for x in lines] == TEXTS


def test_transcribe_reports_bad_files_and_keeps_going(model_dir, tmp_path):
    (tmp_path / "notes.wav").write_text("not audio")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    paths = [FILES[0], tmp_path / "missing.wav", tmp_path / "notes.wav", tmp_path / "empty.wav", FILES[1]]
    result = asr("transcribe", "--model", model_dir, *paths)
    _assert_clean_error(
        result,
        "missing.wav: no such file",
        "notes.wav: not a readable audio file",
        "empty.wav: contains no samples",
        "3 of 5 file(s) failed",
    )
    assert result.stdout.splitlines() == [f"{FILES[0]}\t{TEXTS[0]}", f"{FILES[1]}\t{TEXTS[1]}"]

    out_dir = tmp_path / "out"
    single = asr("transcribe", "--model", model_dir, "--output-dir", out_dir, FILES[2])
    assert single.returncode == 0 and (out_dir / "tiny-02.txt").read_text().strip() == TEXTS[2]
    bad_warp = asr("transcribe", "--model", model_dir, "--vtln-factors", "1.0,2.5", FILES[2])
    _assert_clean_error(bad_warp, "vtln: warp factors must be between 0.5 and 2.0, got [1.0, 2.5]")
    adapted = asr("transcribe", "--model", model_dir, "--adapt-steps", "3", FILES[2])
    assert adapted.returncode == 0 and adapted.stdout.strip() == TEXTS[2], adapted.stderr
    flag_then_path = asr("transcribe", "--model", model_dir, "--adapt", FILES[2])  # the path is not read as steps
    assert flag_then_path.returncode == 0 and flag_then_path.stdout.strip() == TEXTS[2], flag_then_path.stderr
    bad_steps = asr("transcribe", "--model", model_dir, "--adapt-steps", "-1", FILES[2])
    _assert_clean_error(bad_steps, "argument --adapt-steps: expected a whole number of at least 1, got '-1'")

    one_speaker = asr("transcribe", "--model", model_dir, "--adapt-speaker", *paths)
    _assert_clean_error(one_speaker, "adapted to 2 file(s) of the input as one speaker", "3 of 5 file(s) failed")
    assert one_speaker.stderr.count("missing.wav") == 1  # reported by the decoding, not by the adaptation too
    assert one_speaker.stdout.splitlines() == result.stdout.splitlines()
    none_readable = asr("transcribe", "--model", model_dir, "--adapt-speaker", tmp_path / "missing.wav")
    _assert_clean_error(none_readable, "no audio of the input to adapt to", "missing.wav: no such file", "1 of 1")
    quantized = asr("transcribe", "--model", model_dir, "--adapt-speaker", "--quantize", FILES[0])
    _assert_clean_error(quantized, "adapt needs the PyTorch backend's float network")


def test_transcribe_reads_an_audio_file_from_stdin(model_dir, tmp_path):
    """``-`` is the bytes of an audio file on stdin (what ffmpeg or sox write to a pipe), beside paths."""
    audio = Path(FILES[0]).read_bytes()
    both = run_cli("transcribe", "--model", model_dir, "-", FILES[1], stdin=audio)
    assert both.returncode == 0, both.stderr
    assert both.stdout.splitlines() == [f"-\t{TEXTS[0]}", f"{FILES[1]}\t{TEXTS[1]}"]
    out_dir = tmp_path / "out"
    written = run_cli("transcribe", "--model", model_dir, "--output-dir", out_dir, "-", stdin=audio)
    assert written.returncode == 0 and (out_dir / "stdin.txt").read_text().strip() == TEXTS[0], written.stderr
    garbage = run_cli("transcribe", "--model", model_dir, "-", stdin=b"not audio at all")
    _assert_clean_error(garbage, "stdin: not a readable audio file", "1 of 1 file(s) failed")


def test_a_directory_stands_for_the_audio_files_under_it(model_dir, tmp_path):
    for i, sub in enumerate(["a", "b/deeper"]):
        (tmp_path / "recs" / sub).mkdir(parents=True)
        shutil.copy(FILES[i], tmp_path / "recs" / sub / "take.flac")
    (tmp_path / "recs" / "notes.txt").write_text("not audio, not listed")
    listed = run_cli("transcribe", "--model", model_dir, tmp_path / "recs", FILES[2])
    assert listed.returncode == 0, listed.stderr
    expected = [tmp_path / "recs" / "a" / "take.flac", tmp_path / "recs" / "b" / "deeper" / "take.flac", FILES[2]]
    assert listed.stdout.splitlines() == [f"{path}\t{text}" for path, text in zip(expected, TEXTS)]
    (tmp_path / "empty").mkdir()
    _assert_clean_error(run_cli("transcribe", "--model", model_dir, tmp_path / "empty"), "a directory with no audio")
    speaker = run_cli("adapt", "--model", model_dir, "--out", tmp_path / "spk", "--steps", "2", tmp_path / "recs")
    assert speaker.returncode == 0, speaker.stderr
    assert json.loads((tmp_path / "spk" / "config.json").read_text())["info"]["speaker_adaptation"]["segments"] == 2


def test_adapt_writes_a_speaker_model_and_skips_bad_files(model_dir, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not audio")
    out = tmp_path / "speaker"
    options = ["--model", model_dir, "--out", out, "--steps", "3", "--batch-size", "2"]
    result = asr("adapt", *options, FILES[0], bad, FILES[1])
    _assert_clean_error(result, "bad.wav", "(skipped)", "1 of 3 file(s) failed")
    assert f"asr transcribe --model {out} FILE" in result.stdout
    record = json.loads((out / "config.json").read_text())["info"]["speaker_adaptation"]
    assert record["segments"] == 2 and record["steps"] == 3 and record["from"] == str(model_dir)
    transcribed = asr("transcribe", "--model", out, FILES[2])
    assert transcribed.returncode == 0 and transcribed.stdout.strip(), transcribed.stderr
    _assert_clean_error(asr("adapt", "--model", model_dir, "--out", tmp_path / "x"), "adapt: no audio")
    zero = asr("adapt", "--model", model_dir, "--out", tmp_path / "x", "--steps", "0", FILES[0])
    _assert_clean_error(zero, "argument --steps: expected a whole number of at least 1, got '0'")
    onto_itself = asr("adapt", "--model", model_dir, "--out", model_dir, FILES[0])
    _assert_clean_error(onto_itself, "the model's own directory")
    chunked = asr("adapt", "--model", model_dir, "--out", tmp_path / "x", "--chunk-ms", "320", FILES[0])
    _assert_clean_error(chunked, "--chunk-ms needs a streaming model on the torch backend")
    assert not (tmp_path / "x").exists()


def test_evaluate_skips_bad_audio_but_scores_the_rest(model_dir, tmp_path):
    lines = (TINY / "train.jsonl").read_text().splitlines()
    items = [json.loads(x) for x in lines[:3]]
    for item in items:
        item["audio"] = str(TINY / item["audio"])
    items[1]["audio"] = str(tmp_path / "gone.flac")
    manifest = tmp_path / "dev.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in items))
    result = asr("evaluate", "--model", model_dir, "--manifest", manifest, "--output-dir", tmp_path)
    _assert_clean_error(result, "dev.jsonl:2:", "gone.flac: no such file")
    assert "utterances 2" in result.stdout and "WER 0.00%" in result.stdout

    adapted = asr("evaluate", "--model", model_dir, "--manifest", manifest, "--output-dir", tmp_path, "--adapt-speaker")
    _assert_clean_error(adapted, "dev.jsonl:2:", "gone.flac: no such file", "adapted to 2 file(s) of")
    assert adapted.stderr.count("gone.flac") == 1 and "WER 0.00%" in adapted.stdout
    record = json.loads((tmp_path / "wer-dev.json").read_text())["speaker_adaptation"]
    assert record["segments"] == 2 and record["steps"] == 1 and record["from"] == str(model_dir)


def test_train_errors_name_the_manifest_line(tmp_path):
    manifest = tmp_path / "bad.jsonl"
    item = {"id": "x", "audio": str(TINY / "tiny-00.flac"), "duration": 1.0, "text": "CAFÉ NOIR"}
    manifest.write_text(json.dumps({**item, "id": "ok", "text": "HELLO"}) + "\n" + json.dumps(item) + "\n")
    result = asr("train", f"train_manifest={manifest}", f"out_dir={tmp_path / 'e'}")
    _assert_clean_error(result, "bad.jsonl:2: characters outside the vocabulary: 'É'")

    manifest.write_text(json.dumps(item) + "\n{broken\n")
    result = asr("train", f"train_manifest={manifest}", f"out_dir={tmp_path / 'e'}")
    _assert_clean_error(result, "bad.jsonl:2: invalid JSON")

    result = asr("train", f"train_manifest={manifest}", "no_such_field=1")
    _assert_clean_error(result, "unknown field(s) no_such_field")


def test_missing_default_model_is_a_clear_error(tmp_path, monkeypatch):
    import os

    env = {**os.environ, "ASR_PRETRAINED_DIR": str(tmp_path)}
    result = asr("transcribe", FILES[0], env=env)
    _assert_clean_error(result, "no pretrained model is installed")
    result = asr("transcribe", "--model", tmp_path / "nowhere", FILES[0], env=env)
    _assert_clean_error(result, "nowhere: no such model directory")


def test_lm_build_then_transcribe_with_lm_and_subtitles(model_dir, tmp_path):
    text = tmp_path / "text"
    text.mkdir()
    (text / "a.txt").write_text("\n".join(TEXTS) + "\n")
    (text / "b.txt").write_text("\n".join(TEXTS[::-1]) + "\n")
    built = asr("lm", "build", "--text-dir", text, "--order", "2", "--out", model_dir / "lm")
    assert built.returncode == 0, built.stderr
    assert "2-gram LM from 16 sentences" in built.stdout
    assert json.loads((model_dir / "lm" / "lm.json").read_text())["file"] == "lm.arpa"
    tuned = asr(
        "lm",
        "tune",
        "--model",
        model_dir,
        "--manifest",
        TINY / "train.jsonl",
        "--lm-weights",
        "0.5",
        "1.5",
        "--word-scores",
        "-40",
        "0",
        "--beam-size",
        "8",
        "--save",
    )
    assert tuned.returncode == 0, tuned.stderr
    assert tuned.stdout.count("\n| ") == 4  # one table row per setting
    saved = json.loads((model_dir / "lm" / "lm.json").read_text())
    # a word score of -40 deletes most words (70-74% WER measured): the saved setting must be a best row
    assert saved["beam_size"] == 8 and saved["info"]["tuned_wer"] == 0.0 and saved["word_score"] == 0.0
    worst = [line.split("|") for line in tuned.stdout.splitlines() if line.startswith("| ") and "| -40" in line]
    assert len(worst) == 2 and all(float(row[4]) > 50 for row in worst), tuned.stdout
    # weights for the output after test-time adaptation go beside the defaults, which stay
    common = ["--lm-weights", "1.5", "--word-scores", "-40", "0", "--beam-size", "8", "--save"]
    retuned = asr("lm", "tune", "--model", model_dir, "--manifest", TINY / "train.jsonl", "--adapt-steps", "2", *common)
    assert retuned.returncode == 0 and "weights for adapted output" in retuned.stdout, retuned.stderr
    both = json.loads((model_dir / "lm" / "lm.json").read_text())
    assert both["adapted"] == {"lm_weight": 1.5, "word_score": 0.0}
    assert (both["lm_weight"], both["word_score"]) == (saved["lm_weight"], saved["word_score"])
    both["adapted"]["word_score"] = -40.0  # now only adapted decoding deletes words
    (model_dir / "lm" / "lm.json").write_text(json.dumps(both))
    model = load_model(model_dir, device="cpu")
    assert model.transcribe(FILES[0], lm=True).text == TEXTS[0]
    assert len(model.transcribe(FILES[0], lm=True, adapt=2).text.split()) < len(TEXTS[0].split())
    (model_dir / "lm" / "lm.json").write_text(json.dumps(saved))

    out = asr("transcribe", "--model", model_dir, "--lm", "--format", "jsonl", "--word-timestamps", *FILES[:3])
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [x["text"] for x in lines] == TEXTS[:3]
    assert [w["word"] for w in lines[0]["words"]] == TEXTS[0].split()
    assert "Reading" not in out.stderr  # KenLM's loading chatter is kept off the terminal

    out_dir = tmp_path / "subs"
    for fmt, suffix in (("srt", ".srt"), ("vtt", ".vtt"), ("json", ".json")):
        result = asr("transcribe", "--model", model_dir, "--format", fmt, "--output-dir", out_dir, FILES[0])
        assert result.returncode == 0, result.stderr
    assert (out_dir / "tiny-00.srt").read_text().startswith("1\n00:00:00,")
    assert TEXTS[0] in (out_dir / "tiny-00.srt").read_text()
    assert (out_dir / "tiny-00.vtt").read_text().startswith("WEBVTT\n\n00:00:00.")
    data = json.loads((out_dir / "tiny-00.json").read_text())
    assert data["text"] == TEXTS[0] and len(data["words"]) == 2

    evaluated = asr(
        "evaluate",
        "--model",
        model_dir,
        "--manifest",
        TINY / "train.jsonl",
        "--output-dir",
        tmp_path,
        "--lm",
        "--beam-size",
        "10",
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "WER 0.00% [0 / 23, 0 sub, 0 del, 0 ins] 95% CI [0.00, 0.00]" in evaluated.stdout
    summary = json.loads((tmp_path / "wer-train.json").read_text())
    assert summary["wer"] == 0 and summary["decoding"] == {"beam_size": 10, "lm": True}
    assert "REF:  hello world" in (tmp_path / "errs-train.txt").read_text()

    bad = asr("lm", "build", "--text-dir", tmp_path / "empty", "--out", tmp_path / "x")
    _assert_clean_error(bad, "no .txt files found")


def test_tune_hop_measures_each_hop_and_saves_the_best(model_dir):
    """asr tune-hop: one row per hop; a model read at a quarter of its trained hop (4x the frames) reads far
    worse than at it; --save writes the best hop into config.json (here back from a wrong 144 to the trained
    160), and the model then reads at it."""
    from asr.checkpoint import set_hop_length

    set_hop_length(model_dir, 144)
    tuned = asr("tune-hop", "--model", model_dir, "--manifest", TINY / "train.jsonl", "--hops", "40", "160", "--save")
    assert tuned.returncode == 0, tuned.stderr
    rows = {
        int(line.split("|")[1]): float(line.split("|")[3])
        for line in tuned.stdout.splitlines()
        if line.startswith("| 40 ") or line.startswith("| 160 ")
    }
    assert sorted(rows) == [40, 160] and rows[160] < 20.0 < rows[40]
    assert json.loads((model_dir / "config.json").read_text())["model"]["hop_length"] == 160
    evaluated = asr("evaluate", "--model", model_dir, "--manifest", TINY / "train.jsonl", "--output-dir", model_dir)
    assert evaluated.returncode == 0 and f"WER {rows[160]:.2f}%" in evaluated.stdout, evaluated.stdout
    _assert_clean_error(
        asr("tune-hop", "--model", model_dir, "--manifest", TINY / "train.jsonl", "--hops", "500"), "hop_length must be"
    )


def test_tuning_on_a_manifest_without_words_is_refused(model_dir, tmp_path):
    """Non-speech clips alone cannot rank hops or LM weights (every setting would tie at 0%): one clear error."""
    from asr.errors import ManifestError
    from asr.evaluate import tune_hop_length, tune_lm_weights

    sf.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    quiet = tmp_path / "quiet.jsonl"
    quiet.write_text(json.dumps({"id": "q", "audio": str(tmp_path / "quiet.wav"), "duration": 1.0, "text": ""}) + "\n")
    model = load_model(model_dir, device="cpu")
    with pytest.raises(ManifestError, match="quiet.jsonl: no reference words"):
        tune_hop_length(model, quiet, [160])
    with pytest.raises(ManifestError, match="quiet.jsonl: no reference words"):
        tune_lm_weights(model, tmp_path / "no-lm", quiet, [1.0], [0.0])


def test_a_corrupt_header_in_a_batch_leaves_the_other_files_transcribed(model_dir, tmp_path):
    sf.write(tmp_path / "tone.wav", np.zeros(8000, np.float32), 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "tone.wav").read_bytes())
    data[24:28] = (0x7F003E80).to_bytes(4, "little")  # declares a ~2.1 GHz sample rate
    (tmp_path / "rate.wav").write_bytes(data)
    sf.write(tmp_path / "whole.wav", sf.read(FILES[1])[0], 16000, subtype="PCM_16")
    whole = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) * 3 // 4])
    result = asr("transcribe", "--model", model_dir, FILES[0], tmp_path / "rate.wav", tmp_path / "cut.wav", FILES[2])
    _assert_clean_error(
        result, "rate.wav: header: sample rate 2130722432 Hz is outside 1000..384000 Hz", "1 of 4 file(s) failed"
    )
    assert result.stderr.count("cut.wav: truncated: the header declares") == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{FILES[0]}\t{TEXTS[0]}" and lines[-1] == f"{FILES[2]}\t{TEXTS[2]}" and len(lines) == 3


def test_evaluate_with_no_readable_audio_fails_and_writes_no_wer(model_dir, tmp_path):
    items = [{"id": f"u{i}", "audio": str(tmp_path / f"gone{i}.flac"), "duration": 1.0, "text": "A"} for i in range(3)]
    manifest = tmp_path / "lost.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in items))
    result = asr("evaluate", "--model", model_dir, "--manifest", manifest, "--output-dir", tmp_path / "out")
    _assert_clean_error(result, "lost.jsonl: none of its audio could be read; no WER written")
    assert not (tmp_path / "out" / "wer-lost.json").exists() and "WER" not in result.stdout


def test_output_dir_gives_inputs_with_the_same_name_distinct_outputs(model_dir, tmp_path):
    for folder in ("d1", "d2"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "x.wav", sf.read(FILES[0 if folder == "d1" else 1])[0], 16000)
    out = tmp_path / "out"
    result = asr(
        "transcribe",
        "--model",
        model_dir,
        "--output-dir",
        out,
        tmp_path / "d1" / "x.wav",
        tmp_path / "d2" / "x.wav",
        FILES[2],
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["d1__x.txt", "d2__x.txt", "tiny-02.txt"]
    assert [(out / f"{n}.txt").read_text().strip() for n in ("d1__x", "d2__x")] == TEXTS[:2]


def test_lm_decoding_follows_the_lm_not_the_greedy_path(model_dir, tmp_path):
    """The tiny model reads its files perfectly without an LM, so an LM test on them passes even if the LM
    is ignored. Here the LM's text says WORD where the audio says WORLD: beam search constrained to the LM's
    words must write WORD (and still get the other files right), and --lm-dir / --lm-weight are used."""
    text = tmp_path / "text"
    text.mkdir()
    (text / "a.txt").write_text("\n".join(TEXTS[1:] + ["HELLO WORD"]) + "\n")
    built = asr("lm", "build", "--text-dir", text, "--order", "2", "--out", tmp_path / "lm")
    assert built.returncode == 0, built.stderr
    greedy = asr("transcribe", "--model", model_dir, *FILES[:3])
    assert greedy.stdout.splitlines()[0] == f"{FILES[0]}\tHELLO WORLD"
    out = asr(
        "transcribe",
        "--model",
        model_dir,
        "--lm-dir",
        tmp_path / "lm",
        "--lm-weight",
        "1.0",
        "--word-score",
        "0.5",
        "--beam-size",
        "16",
        *FILES[:3],
    )
    assert out.returncode == 0, out.stderr
    expected = [f"{FILES[0]}\tHELLO WORD", f"{FILES[1]}\t{TEXTS[1]}", f"{FILES[2]}\t{TEXTS[2]}"]
    assert out.stdout.splitlines() == expected

    # the same LM as the model's own lm/: transcribe decodes with it unless told --no-lm
    shutil.copytree(tmp_path / "lm", model_dir / "lm")
    settings = json.loads((model_dir / "lm" / "lm.json").read_text())
    settings.update(lm_weight=1.0, word_score=0.5, beam_size=16)
    (model_dir / "lm" / "lm.json").write_text(json.dumps(settings))
    assert asr("transcribe", "--model", model_dir, *FILES[:3]).stdout.splitlines() == expected
    assert asr("transcribe", "--model", model_dir, "--no-lm", *FILES[:3]).stdout == greedy.stdout
    _assert_clean_error(asr("transcribe", "--model", model_dir, "--no-lm", "--lm", FILES[0]), "--no-lm contradicts")
    (model_dir / "lm" / "lm.arpa").rename(tmp_path / "moved.arpa")  # a broken lm/: the error says what to do
    _assert_clean_error(asr("transcribe", "--model", model_dir, FILES[0]), "LM file is missing", "--no-lm decodes")
    assert asr("transcribe", "--model", model_dir, "--no-lm", FILES[0]).stdout == "HELLO WORLD\n"
    (tmp_path / "moved.arpa").rename(model_dir / "lm" / "lm.arpa")
    # WORLD as a hotword (the LM lacks it): given on the command line or in a file, it is written again
    (tmp_path / "hot.txt").write_text("# expected words\nworld\n")
    for given in (["--hotwords", "world,door"], ["--hotwords-file", tmp_path / "hot.txt"]):
        result = asr("transcribe", "--model", model_dir, *given, FILES[0])
        assert result.stdout == "HELLO WORLD\n", (given, result.stderr)
    _assert_clean_error(asr("transcribe", "--model", model_dir, "--hotword-score", "3", FILES[0]), "needs --hotwords")
    no_lm = asr("transcribe", "--model", model_dir, "--no-lm", "--hotwords", "world", FILES[0])
    _assert_clean_error(no_lm, "hotwords need beam search with an LM")
    missing = asr("transcribe", "--model", model_dir, "--hotwords-file", tmp_path / "nowhere.txt", FILES[0])
    _assert_clean_error(missing, "nowhere.txt: cannot read hotwords")


def test_export_out_onnx_backend_quantize_and_device_options(model_dir, tmp_path):
    elsewhere = asr("export", "--model", model_dir, "--out", tmp_path / "copy.onnx")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert (tmp_path / "copy.onnx").stat().st_size > 10_000 and not (model_dir / "model.onnx").exists()
    (tmp_path / "deploy").mkdir()
    into = asr("export", "--model", model_dir, "--out", tmp_path / "deploy")  # a directory: model.onnx in it
    assert into.returncode == 0 and (tmp_path / "deploy" / "model.onnx").stat().st_size > 10_000, into.stderr
    assert asr("export", "--model", model_dir).returncode == 0 and (model_dir / "model.onnx").is_file()
    expected = [f"{f}\t{t}" for f, t in zip(FILES[:3], TEXTS[:3])]
    for options in (["--backend", "onnx"], ["--quantize"], ["--device", "cpu"]):
        out = asr("transcribe", "--model", model_dir, *options, *FILES[:3])
        assert out.returncode == 0, (options, out.stderr)
        assert out.stdout.splitlines() == expected, options


def test_yaml_syntax_error_is_one_line_naming_where(tmp_path):
    conf = tmp_path / "bad.yaml"
    conf.write_text("train_manifest: a.jsonl\nmodel:\n  d_model: [144\n  n_layers: 4\n")
    result = asr("train", "--config", conf)
    _assert_clean_error(result, f"{conf}: invalid YAML (line ")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_evaluate_scores_each_manifest_and_reports_the_ones_that_fail(model_dir, tmp_path):
    items = [json.loads(x) for x in (TINY / "train.jsonl").read_text().splitlines()[:3]]
    for item in items:
        item["audio"] = str(TINY / item["audio"])
    for folder, chosen in (("a", items[:2]), ("b", items[2:])):  # two manifests named dev.jsonl
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "dev.jsonl").write_text("".join(json.dumps(x) + "\n" for x in chosen))
    sf.write(tmp_path / "quiet.wav", np.zeros(16000 * 20, dtype=np.float32), 16000)
    silent = tmp_path / "silent.jsonl"
    silent.write_text(
        json.dumps({"id": "q", "audio": str(tmp_path / "quiet.wav"), "duration": 20.0, "text": ""}) + "\n"
    )
    manifests = [tmp_path / "a" / "dev.jsonl", tmp_path / "lost.jsonl", tmp_path / "b" / "dev.jsonl", silent]
    out = tmp_path / "out"
    result = asr("evaluate", "--model", model_dir, "--manifest", *manifests, "--output-dir", out, "--adapt-speaker")
    _assert_clean_error(result, "lost.jsonl", "warning: no audio of")
    assert result.returncode == 2 and result.stdout.count("WER 0.00%") == 2
    first, second = (json.loads((out / f"wer-{n}__dev.json").read_text()) for n in "ab")
    assert (first["utterances"], second["utterances"]) == (2, 1)
    assert first["speaker_adaptation"]["segments"] == 2 and second["speaker_adaptation"]["segments"] == 1
    quiet = json.loads((out / "wer-silent.json").read_text())
    assert quiet["speaker_adaptation"] is None and quiet["utterances"] == 1


def test_tune_confidence_fits_saves_and_transcripts_carry_it(model_dir, tmp_path):
    """On a manifest whose references are partly not what was said, some recognized words are wrong: the fit
    has both kinds of word, --save stores it, and transcribed words then carry confidence = calibration(score)."""
    from asr.confidence import Calibration

    items = [json.loads(x) for x in (TINY / "train.jsonl").read_text().splitlines()]
    for i, item in enumerate(items):
        item["audio"] = str(TINY / item["audio"])
        if i % 2:  # every other reference is another utterance's text
            item["text"] = items[i - 1]["text"]
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps(x) + "\n" for x in items))
    fitted = asr("tune-confidence", "--model", model_dir, "--manifest", dev, "--save")
    assert fitted.returncode == 0, fitted.stderr
    assert "AUROC" in fitted.stdout and "saved as info.confidence.greedy" in fitted.stdout
    entry = json.loads((model_dir / "config.json").read_text())["info"]["confidence"]["greedy"]
    assert entry["words"] > 0 and entry["tuned_on"] == str(dev)
    calibration = Calibration.from_info({"confidence": {"greedy": entry}}, "greedy", "config.json")
    out = asr("transcribe", "--model", model_dir, "--format", "json", FILES[0])
    words = json.loads(out.stdout)["words"]
    assert words and all(w["confidence"] == round(calibration(w["score"]), 3) for w in words)

    all_right = asr("tune-confidence", "--model", model_dir, "--manifest", TINY / "train.jsonl")
    _assert_clean_error(all_right, "train.jsonl: calibration needs both right and wrong words")


@pytest.mark.parametrize(
    "args,message",
    [
        (["transcribe", "--beam-size", "0"], "argument --beam-size: expected a whole number of at least 1, got '0'"),
        (["transcribe", "--batch-size", "-1"], "argument --batch-size: expected a whole number of at least 1"),
        (["transcribe", "--lm-weight", "nan"], "argument --lm-weight: expected a finite number, got 'nan'"),
        (["transcribe", "--word-score", "inf"], "argument --word-score: expected a finite number"),
        (["transcribe", "--threads", "-2"], "argument --threads: expected a whole number of at least 0"),
        (["evaluate", "--manifest", "m.jsonl", "--chunk-ms", "0"], "argument --chunk-ms: expected a number above 0"),
        (["stream", "-", "--channels", "0"], "argument --channels: expected a whole number of at least 1"),
        (["lm", "tune", "--manifest", "m", "--word-scores", "0", "x"], "argument --word-scores: expected a finite"),
        (["average", "--models", "a", "b", "--weights", "1", "-1"], "argument --weights: expected a number above 0"),
    ],
)
def test_out_of_range_options_are_usage_errors_naming_the_option(args, message):
    result = asr(*args, "x.flac")
    _assert_clean_error(result, message)
    assert result.returncode == 2


def test_decoding_settings_and_lm_json_are_checked_before_decoding(model_dir, tmp_path):
    model = load_model(model_dir)
    wave = torch.zeros(16000)
    for options, message in [
        ({"beam_size": 0}, "beam_size must be a whole number of at least 1, got 0"),
        ({"batch_size": 0}, "batch_size must be a whole number of at least 1"),
        ({"beam_size": 8, "beam_threshold": float("nan")}, "beam_threshold must be a finite number"),
        ({"lm_weight": 0.5}, "lm_weight: only with an LM"),  # not silently greedy
        ({"beam_threshold": 10.0}, "beam_threshold: only with beam search"),
        ({"hotword_score": 3.0}, "hotword_score: only with hotwords"),
        ({"vtln": "yes"}, "vtln: expected True or a list of warp factors, got 'yes'"),
    ]:
        with pytest.raises(ASRError, match=message):
            model.transcribe_batch([wave], sample_rate=16000, **options)
    with pytest.raises(TypeError, match="unexpected keyword argument.*lm_wieght"):
        model.transcribe(wave, sample_rate=16000, lm_wieght=0.5)  # a typo is not ignored
    assert model.transcribe(wave, sample_rate=16000, beam_size=4, beam_threshold=10.0).text == ""
    lm, text = tmp_path / "lm", tmp_path / "text.txt"
    text.write_text("\n".join(TEXTS) + "\n")
    assert asr("lm", "build", "--text", text, "--order", "2", "--out", lm).returncode == 0
    settings = json.loads((lm / "lm.json").read_text())
    for bad, message in [
        ({"beam_size": -5}, "lm.json: beam_size must be a whole number of at least 1, got -5"),
        ({"lm_weight": "abc"}, "lm.json: lm_weight must be a finite number, got 'abc'"),
        ({"adapted": {"word_score": None}}, "lm.json: word_score must be a finite number, got None"),
    ]:
        (lm / "lm.json").write_text(json.dumps({**settings, **bad}))
        with pytest.raises(ASRError, match=message):
            model.transcribe(wave, sample_rate=16000, lm=lm)
    (lm / "lm.json").write_text("[1, 2]")
    _assert_clean_error(asr("transcribe", "--model", model_dir, "--lm-dir", lm, TINY / "tiny-00.flac"), "JSON object")


def test_an_output_folder_that_is_a_file_is_a_one_line_error(model_dir, tmp_path):
    in_the_way = tmp_path / "out"
    in_the_way.write_text("not a folder")
    for args in (
        ["transcribe", "--model", model_dir, "--output-dir", in_the_way, FILES[0]],
        ["lm", "build", "--text", TINY / "train.jsonl", "--out", in_the_way],
        ["lm", "build", "--text", TINY / "train.jsonl", "--out", in_the_way / "lm"],
    ):
        result = asr(*args)
        _assert_clean_error(result, f"asr: error: {in_the_way}")
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (
        "a file is in the way"
        in asr(*["transcribe", "--model", model_dir, "--output-dir", in_the_way, FILES[0]]).stderr
    )


def test_skip_existing_goes_on_with_a_killed_batch(model_dir, tmp_path):
    out = tmp_path / "out"
    first = asr("transcribe", "--model", model_dir, "--output-dir", out, *FILES[:2])
    assert first.returncode == 0, first.stderr
    (out / "tiny-00.txt").write_text("kept\n")  # skipped inputs keep their file as it is
    again = asr("transcribe", "--model", model_dir, "--output-dir", out, "--skip-existing", *FILES[:4])
    assert again.returncode == 0 and "skipping 2 input(s) already transcribed" in again.stderr, again.stderr
    assert (out / "tiny-00.txt").read_text() == "kept\n"
    assert [(out / f"tiny-0{i}.txt").read_text().strip() for i in (1, 2, 3)] == TEXTS[1:4]
    assert not list(out.glob(".*.tmp"))  # written through a temp file and a rename
    _assert_clean_error(asr("transcribe", "--model", model_dir, "--skip-existing", FILES[0]), "needs --output-dir")


def test_a_reader_that_goes_away_ends_the_run_quietly(model_dir):
    """`asr transcribe DIR | head`: once the pipe is closed, no traceback and no error line."""
    command = [sys.executable, "-m", "asr.cli", "transcribe", "--model", str(model_dir), *map(str, FILES[:4])]
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)  # reads nothing and is gone at once
    reader.wait()
    result = subprocess.run(command, stdout=reader.stdin, stderr=subprocess.PIPE, text=True)
    reader.stdin.close()
    assert result.returncode == 1 and result.stderr == "", result.stderr
