"""The LibriSpeech recipe end to end on a tiny corpus laid out exactly like LibriSpeech (espeak-ng speech)."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

import asr
import asr.cli
from asr.evaluate import evaluate_manifest
from asr.testaudio import SENTENCES, speak
from conftest import tiny_train_config

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (.ci/run installs it)")
REPO = Path(__file__).resolve().parent.parent
SUBSETS = {
    "train-clean-100": (2, 2, 3),
    "dev-clean": (1, 1, 2),
    "dev-other": (1, 1, 2),
    "test-clean": (1, 1, 2),
    "test-other": (1, 1, 2),
}  # speakers, chapters per speaker, utterances per chapter


def make_tree(root: Path) -> dict:
    """LibriSpeech/SUBSET/SPEAKER/CHAPTER/SPEAKER-CHAPTER-NNNN.flac + SPEAKER-CHAPTER.trans.txt, plus broken bits."""
    counts, k = {}, 0
    for s, (speakers, chapters, utts) in enumerate(SUBSETS.values()):
        for spk in range(speakers):
            for ch in range(chapters):
                speaker, chapter = f"{100 + 10 * s + spk}", f"{2000 + 10 * s + ch}"
                folder = root / "LibriSpeech" / s_name(s) / speaker / chapter
                folder.mkdir(parents=True)
                lines = []
                for n in range(utts):
                    uid = f"{speaker}-{chapter}-{n:04d}"
                    text = SENTENCES[k % len(SENTENCES)].upper()
                    k += 1
                    sf.write(folder / f"{uid}.flac", speak(text, voice=["en-us", "en"][n % 2]).numpy(), 16000)
                    lines.append(f"{uid} {text}")
                (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
        counts[s_name(s)] = speakers * chapters * utts
    train = root / "LibriSpeech" / "train-clean-100"
    bad = train / "900" / "9000"  # chapter whose transcript is missing
    bad.mkdir(parents=True)
    sf.write(bad / "900-9000-0000.flac", np.zeros(1600, dtype=np.float32), 16000)
    (train / "901" / "9001").mkdir(parents=True)  # empty chapter
    corrupt = train / "902" / "9002"
    corrupt.mkdir(parents=True)
    (corrupt / "902-9002-0000.flac").write_bytes(b"fLaC but not really")
    sf.write(corrupt / "902-9002-0001.flac", speak("the end").numpy(), 16000)
    (corrupt / "902-9002.trans.txt").write_text(
        "902-9002-0000 BROKEN AUDIO\n902-9002-0001 THE END\n902-9002-0002 NO AUDIO\n"
    )
    counts["train-clean-100"] += 1  # 902-9002-0001 is fine
    return counts


def s_name(i: int) -> str:
    return list(SUBSETS)[i]


@needs_espeak
def test_every_stage_of_run_sh(tmp_path):
    counts = make_tree(tmp_path / "corpus")
    conf = tmp_path / "tiny.yaml"
    cfg = tiny_train_config(
        tmp_path / "unused",
        tokenizer="bpe",
        bpe_vocab_size=60,
        max_steps=24,
        checkpoint_every=6,
        keep_checkpoints=4,
        batch_seconds=8.0,
    )
    conf.write_text(yaml.safe_dump(cfg.to_dict()))
    data, exp = tmp_path / "data", tmp_path / "exp"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run_sh(*extra: str) -> subprocess.CompletedProcess:
        options = ["--root", tmp_path / "corpus", "--data", data, "--conf", conf, "--exp", exp, "--avg", "2"]
        options += ["--beam", "5", "--ngpu", "1", *extra]
        command = ["bash", REPO / "recipes/librispeech/run.sh", *options]
        done = subprocess.run([str(x) for x in command], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    result = run_sh()

    # stage 0: manifests, with the broken parts reported and skipped
    for subset, n in counts.items():
        assert len((data / f"{subset}.jsonl").read_text().splitlines()) == n, subset
    assert len((data / "train.jsonl").read_text().splitlines()) == counts["train-clean-100"]
    problems = (data / "prepare-problems.txt").read_text()
    for needle in (
        "9000: no .trans.txt",
        "9001: empty chapter",
        "902-9002-0000.flac: unreadable FLAC",
        "902-9002-0002: transcript line without audio",
    ):
        assert needle in problems, problems
    # stages 1-3: tokenizer, checkpoints, averaged model
    assert (exp / "tokenizer" / "tokenizer.model").is_file()
    assert [p.name for p in sorted((exp / "checkpoints").glob("ckpt-*.pt"))][-1] == "ckpt-00000024.pt"
    model_dir = exp / "model-avg2"
    info = json.loads((model_dir / "config.json").read_text())["info"]
    assert info["averaged"][-1] == "ckpt-00000024.pt"
    # stage 3 fitted greedy word confidence on dev-clean, or said why not (a 24-step model)
    assert "greedy" in info.get("confidence", {}) or "has no greedy word confidence" in result.stdout, result.stdout
    # stages 5-6: every set decoded two ways, a table whose numbers a fresh evaluation reproduces
    sets = ["dev-clean", "dev-other", "test-clean", "test-other"]
    for method in ("greedy", "beam"):
        for s in sets:
            for name in (f"wer-{s}.json", f"recogs-{s}.txt", f"errs-{s}.txt"):
                assert (exp / "decode" / method / name).is_file(), (method, name)
    table = (exp / "RESULTS.md").read_text()
    summary = (exp / "decode" / "wer-summary.txt").read_text().splitlines()
    assert len(summary) == 1 + 2 * len(sets)
    model = asr.load_model(model_dir, device="cpu")
    for s in sets:
        report, failures, _ = evaluate_manifest(model, data / f"{s}.jsonl")
        assert not failures
        row = next(line for line in table.splitlines() if line.startswith(f"| {s} | greedy |"))
        assert row.split("|")[3].strip() == f"{100 * report.wer.rate:.2f}", (row, report.summary())
        assert f"{s}\tgreedy\t{100 * report.wer.rate:.2f}\t" in "\n".join(summary)
        beam, _, _ = evaluate_manifest(model, data / f"{s}.jsonl", beam_size=5)  # the recipe's --beam 5
        row = next(line for line in table.splitlines() if line.startswith(f"| {s} | beam |"))
        assert row.split("|")[3].strip() == f"{100 * beam.wer.rate:.2f}", (row, beam.summary())

    # stage 4 with a ready ARPA file (gzipped, as OpenSLR ships them): installed, tuned, decoded with
    lm_text = tmp_path / "lm.txt"
    lm_text.write_text("".join(json.loads(line)["text"] + "\n" for line in (data / "train.jsonl").open()))
    assert asr.cli.main(["lm", "build", "--text", str(lm_text), "--order", "3", "--out", str(tmp_path / "built")]) == 0
    arpa = (tmp_path / "built" / "lm.arpa").read_bytes()
    (tmp_path / "ready.arpa.gz").write_bytes(gzip.compress(arpa))
    run_sh("--stage", "4", "--lm-arpa", str(tmp_path / "ready.arpa.gz"))
    assert (model_dir / "lm" / "lm.arpa").read_bytes() == arpa
    assert json.loads((model_dir / "lm" / "lm.json").read_text())["info"]["tuned_on"].endswith("dev-clean.jsonl")
    assert all((exp / "decode" / "lm" / f"wer-{s}.json").is_file() for s in sets)
    assert (
        sum(line.startswith(f"| {s} | lm |") for s in sets for line in (exp / "RESULTS.md").read_text().splitlines())
        == 4
    )


def test_prepare_without_network_fails_fast(tmp_path):
    import prepare

    with pytest.raises(prepare.PrepareError, match="offline"):
        prepare.download("dev-clean", tmp_path, base_url="http://127.0.0.1:9/", timeout=2)
    with pytest.raises(prepare.PrepareError, match="unknown subset"):
        prepare.download("dev-cleen", tmp_path)
