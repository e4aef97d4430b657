import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from asr.config import TrainConfig
from asr.model import ModelConfig, Regularization
from asr.loading import pretrained_dir

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"

torch.set_num_threads(2)


def run_cli(*args, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """``asr ARGS`` run in this process, reported as ``subprocess.run(..., text=True)`` would (stdin: the raw
    bytes ``asr stream -`` reads). Starting an interpreter and importing torch cost about 1.5 s a call, most of
    the CLI tests' time; tests/test_pretrained.py still runs ``python -m asr.cli`` itself."""
    from asr.cli import main

    argv = [str(a) for a in args]
    out, err, threads, real_stdin = io.StringIO(), io.StringIO(), torch.get_num_threads(), sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse's usage errors
                code = e.code if isinstance(e.code, int) else 1
            except Exception:  # what the process would have died of, with its traceback
                traceback.print_exc()
                code = 1
    finally:
        sys.stdin = real_stdin
        torch.set_num_threads(threads)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def bundled_examples(name: str) -> tuple[Path, list[dict], list[dict]]:
    """A bundled model's examples folder, all its references, and those with speech (the others are
    non-speech clips with empty transcripts)."""
    examples = pretrained_dir() / name / "examples"
    refs = [json.loads(line) for line in (examples / "references.jsonl").read_text().splitlines()]
    return examples, refs, [r for r in refs if r["text"]]


def quiet_clips(seed: int) -> list[np.ndarray]:
    """3 s of digital silence and 2 s of white noise at -60, -40 and -20 dBFS, 16 kHz."""
    rng = np.random.default_rng(seed)
    return [np.zeros(3 * 16000, np.float32)] + [
        (rng.standard_normal(2 * 16000) * 10 ** (db / 20)).astype(np.float32) for db in (-60, -40, -20)
    ]


def tiny_model_config(**overrides) -> ModelConfig:
    """A ~100k-parameter Conformer at 4x: characters fit (8x would be too few frames for them)."""
    base = ModelConfig(
        strides=[2, 2],
        subsampling_channels=64,
        d_model=64,
        n_layers=2,
        n_heads=4,
        ff_dim=128,
        conv_kernel=7,
    )
    return ModelConfig.from_dict({**base.to_dict(), **overrides})


def tiny_train_config(out_dir: Path, **overrides) -> TrainConfig:
    fields = dict(
        train_manifest=str(TINY / "train.jsonl"),
        out_dir=str(out_dir),
        tokenizer="char",
        model=tiny_model_config(),
        regularization=Regularization.none(),
        epochs=1000,
        max_steps=120,
        batch_seconds=12.0,
        lr=3e-3,
        warmup_steps=20,
        lr_schedule="constant",
        checkpoint_every=40,
        keep_checkpoints=3,
        threads=2,
    )
    fields.update(overrides)
    return TrainConfig(**fields)


@pytest.fixture(scope="session")
def tiny_manifest() -> Path:
    return TINY / "train.jsonl"


@pytest.fixture(scope="session")
def trained_exp(tmp_path_factory) -> Path:
    """An experiment directory trained on the tiny fixtures until it reproduces them (shared by tests)."""
    from asr.train import train

    out = tmp_path_factory.mktemp("exp")
    train(tiny_train_config(out))
    return out


@pytest.fixture()
def model_dir(trained_exp, tmp_path) -> Path:
    """A private copy of the trained model directory."""
    dst = tmp_path / "model"
    shutil.copytree(trained_exp / "model", dst)
    return dst


def pytest_sessionfinish(session, exitstatus):
    """In CI (CI=true, set by .ci/run) a skipped test fails the run: a missing tool must not hide tests."""
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            print(f"\nCI: skipped test counts as a failure: {report.nodeid} ({reason})")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
