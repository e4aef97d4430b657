import json
import subprocess
import sys
import time

import pytest
import torch
import yaml

import asr
import asr.schedule
import asr.train
from asr.checkpoint import average_checkpoints, list_checkpoints, load_checkpoint
from asr.metrics import score
from asr.warmstart import grow
from asr.data import read_manifest
from conftest import TINY, run_cli, tiny_train_config


def test_tiny_model_learns_its_training_utterances(trained_exp, tiny_manifest):
    """The whole pipeline learns: greedy decoding reproduces every transcript exactly."""
    model = asr.load_model(trained_exp / "model", device="cpu")
    utts = read_manifest(tiny_manifest)
    hyps = [t.text for t in model.transcribe_batch([u.audio for u in utts])]
    report = score([u.id for u in utts], [u.text for u in utts], hyps)
    assert report.wer.errors == 0, report.summary() + "\n" + "\n".join(hyps)
    log = [json.loads(line) for line in (trained_exp / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 120 and log[-1]["loss"] < log[0]["loss"] / 10


def test_checkpoints_kept_and_averaged(trained_exp, tmp_path):
    ckpts = list_checkpoints(trained_exp / "checkpoints")
    # every epoch end (one step here) writes one too; only the newest keep_checkpoints=3 remain
    assert [p.name for p in ckpts] == ["ckpt-00000118.pt", "ckpt-00000119.pt", "ckpt-00000120.pt"]
    (trained_exp / "checkpoints" / ".ckpt-00000160.pt.x.tmp").write_bytes(b"half a file")
    assert list_checkpoints(trained_exp / "checkpoints") == ckpts  # temp files from a kill are ignored
    avg = average_checkpoints(ckpts[-2:])
    a, b = (load_checkpoint(p)["model"] for p in ckpts[-2:])
    key = "head.weight"
    torch.testing.assert_close(avg[key], (a[key] + b[key]) / 2)
    state = load_checkpoint(ckpts[-1])
    assert {"model", "optimizer", "step", "epoch", "batch_in_epoch", "rng"} <= set(state)


def test_half_precision_model_dir(trained_exp, tiny_manifest, tmp_path):
    """half=True stores parameters as float16 (buffers stay float32); the loaded model transcribes the same."""
    from safetensors.torch import load_file

    from asr.checkpoint import load_model_dir, save_model_dir

    full, tokenizer, _ = load_model_dir(trained_exp / "model")
    save_model_dir(tmp_path / "half", full.cfg, full.state_dict(), tokenizer, half=True)
    stored = load_file(str(tmp_path / "half" / "model.safetensors"))
    parameters = {name for name, _ in full.named_parameters()}
    assert {k for k, v in stored.items() if v.dtype == torch.float16} == parameters
    assert stored["frontend.mel.mel_scale.fb"].dtype == torch.float32  # buffers keep full precision
    saved = json.loads((tmp_path / "half" / "config.json").read_text())
    assert saved["info"] == {"weights_dtype": "float16"}

    half, _, _ = load_model_dir(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in half.parameters())  # cast back on load: inference in float32
    reference = full.state_dict()
    for name, p in half.named_parameters():
        torch.testing.assert_close(p, reference[name].half().float(), rtol=0, atol=0)
    utts = read_manifest(tiny_manifest)
    texts = [
        asr.load_model(d, device="cpu").transcribe_batch([u.audio for u in utts])
        for d in (trained_exp / "model", tmp_path / "half")
    ]
    assert [t.text for t in texts[1]] == [t.text for t in texts[0]] == [u.text for u in utts]


def test_non_finite_loss_skips_the_step(tmp_path, monkeypatch):
    real = asr.train.ctc_loss
    calls = []

    def flaky(*args):
        calls.append(1)
        loss, infeasible = real(*args)
        return (loss * float("nan") if len(calls) == 2 else loss), infeasible

    monkeypatch.setattr(asr.train, "ctc_loss", flaky)
    trainer = asr.train.Trainer(tiny_train_config(tmp_path, max_steps=4, batch_seconds=30.0))
    trainer.run()
    assert trainer.counters["skipped_steps"] == 1
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    losses = [json.loads(line)["loss"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 4 and losses[1] != losses[1] and all(x == x for x in losses[:1] + losses[2:])


def _train_cmd(conf, *extra):
    return [sys.executable, "-m", "asr.cli", "train", "--config", str(conf), *extra]


def _losses(exp):
    rows = [json.loads(line) for line in (exp / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if r["kind"] == "train"}


def test_killed_run_resumes_with_the_same_loss_curve(tmp_path):
    """SIGKILL a training run after its first checkpoint; --resume must retrace the uninterrupted run."""
    cfg = tiny_train_config(
        tmp_path / "unused",
        max_steps=30,
        batch_seconds=4.0,
        accum_steps=2,
        checkpoint_every=5,
        lr_schedule="cosine",
        speed_perturb=True,
    ).to_dict()
    cfg["regularization"].update(dropout=0.1, freq_masks=2, freq_mask_width=10, time_masks=2, time_mask_width=10)
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run(_train_cmd(conf, f"out_dir={full}"), check=True, capture_output=True)

    proc = subprocess.Popen(_train_cmd(conf, f"out_dir={killed}"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list_checkpoints(killed / "checkpoints") and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert proc.returncode == -9, "the run finished before it could be killed"
    resumed_from = load_checkpoint(list_checkpoints(killed / "checkpoints")[-1])["step"]
    assert resumed_from < 30
    subprocess.run(_train_cmd(conf, f"out_dir={killed}", "--resume"), check=True, capture_output=True)

    expected, got = _losses(full), _losses(killed)
    assert sorted(got) == sorted(expected) == list(range(1, 31))
    for step in expected:
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step


def test_infeasible_utterances_are_reported_and_counted(tmp_path, capsys):
    """At 16x there are ~6 frames per second: too few for these character sequences."""
    cfg = tiny_train_config(tmp_path, max_steps=2, batch_seconds=30.0)
    cfg.model.strides = [2, 2, 2, 2]
    trainer = asr.train.Trainer(cfg)
    assert "8 of 8 training utterances have more labels than the 16x-subsampled frames" in capsys.readouterr().out
    trainer.run()
    assert trainer.counters["infeasible_utterances"] == 16  # dropped from the loss, not zeroed silently


def test_missing_and_corrupt_audio_are_skipped_and_reported(tmp_path, capsys):
    """Training goes on without a missing file (found up front) and a corrupt one (found when loaded);
    both are named with manifest and line on the terminal and in bad-audio.txt."""
    lines = (TINY / "train.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row["audio"] = str(TINY / row["audio"])
    (tmp_path / "corrupt.flac").write_bytes(b"fLaC but not really")
    rows.append({"id": "gone", "audio": str(tmp_path / "gone.flac"), "duration": 1.0, "text": "HELLO"})
    rows.append({"id": "bad", "audio": str(tmp_path / "corrupt.flac"), "duration": 1.0, "text": "HELLO"})
    manifest = tmp_path / "train.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "exp"
    trainer = asr.train.Trainer(
        tiny_train_config(
            out, train_manifest=str(manifest), valid_manifest=str(manifest), max_steps=0, batch_seconds=30.0, epochs=2
        )
    )
    trainer.run()
    printed = capsys.readouterr().out
    assert f"{manifest}:{len(lines) + 1}: {tmp_path / 'gone.flac'}: no such file" in printed
    assert f"{manifest}:{len(lines) + 2}:" in printed and "corrupt.flac" in printed
    report = (out / "bad-audio.txt").read_text().splitlines()
    assert len(report) == 2, report  # reported once, though read in every epoch and by validation
    # the corrupt file counted once, though read in both epochs (the missing one never reaches a batch)
    assert trainer.counters["unreadable_utterances"] == 1 and trainer.epoch == 2
    assert (out / "model" / "model.safetensors").is_file()


def test_manifest_whose_audio_is_all_missing_fails_clearly(tmp_path):
    manifest = tmp_path / "train.jsonl"
    manifest.write_text((TINY / "train.jsonl").read_text())  # relative paths now point into tmp_path
    with pytest.raises(asr.errors.ManifestError, match="none of its 8 audio files exists"):
        asr.train.Trainer(tiny_train_config(tmp_path / "exp", train_manifest=str(manifest)))


def test_a_new_run_does_not_overwrite_an_earlier_runs_checkpoints(tmp_path):
    cfg = tiny_train_config(tmp_path / "exp", max_steps=2, checkpoint_every=2, valid_manifest=None)
    asr.train.train(cfg)
    first = list_checkpoints(tmp_path / "exp" / "checkpoints")
    log = (tmp_path / "exp" / "log.jsonl").read_text()
    with pytest.raises(asr.errors.ConfigError, match="holds an earlier run's checkpoints .*ckpt-00000002.pt.*--resume"):
        asr.train.Trainer(cfg)
    assert list_checkpoints(tmp_path / "exp" / "checkpoints") == first
    assert (tmp_path / "exp" / "log.jsonl").read_text() == log
    resumed = asr.train.Trainer(cfg, resume=True)
    assert resumed.step == 2


def test_bpe_experiment_saves_its_tokenizer_with_the_model(tmp_path):
    cfg = tiny_train_config(tmp_path, tokenizer="bpe", bpe_vocab_size=40, max_steps=2, batch_seconds=30.0)
    cfg.model.strides = [2, 2, 2]  # BPE pieces make 8x feasible
    model_dir = asr.train.train(cfg)
    assert (model_dir / "tokenizer.model").is_file()
    model = asr.load_model(model_dir, device="cpu")
    assert (
        model.config["tokenizer"]["type"] == "bpe" and model.tokenizer.vocab_size == model.config["model"]["vocab_size"]
    )
    assert model.tokenizer.decode(model.tokenizer.encode("open the door")) == "OPEN THE DOOR"
    saved = yaml.safe_load((tmp_path / "train_config.yaml").read_text())
    assert saved["model"]["vocab_size"] == model.tokenizer.vocab_size != asr.ModelConfig().vocab_size
    assert isinstance(model.transcribe(TINY / "tiny-00.flac").text, str)


def test_learning_rate_schedule():
    cfg = tiny_train_config("unused", lr=1e-3, warmup_steps=10, lr_schedule="cosine", min_lr_ratio=0.1)
    lrs = [asr.schedule.lr_at(s, cfg, total_steps=110) for s in range(110)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)  # linear warm-up
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] == pytest.approx(1e-4, rel=0.01)
    cfg.lr_schedule = "inverse_sqrt"
    assert asr.schedule.lr_at(39, cfg, 110) == pytest.approx(1e-3 * (10 / 40) ** 0.5)
    cfg.lr_schedule = "cosine"  # with a time budget the cosine follows the spent fraction, not the steps
    assert asr.schedule.lr_at(4, cfg, 110, budget_spent=0.0) == pytest.approx(5e-4)  # still warming up
    assert asr.schedule.lr_at(50, cfg, 110, budget_spent=0.5) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert asr.schedule.lr_at(50, cfg, 110, budget_spent=1.2) == pytest.approx(1e-4)


def test_time_budget_stops_training_and_counts_resumed_time(tmp_path, monkeypatch):
    real_clock = asr.train.Trainer._train_seconds
    monkeypatch.setattr(asr.train.Trainer, "_train_seconds", lambda self: 10.0 * self.step)  # 10 s a step
    cfg = tiny_train_config(
        tmp_path,
        max_steps=0,
        epochs=50,
        batch_seconds=4.0,
        time_budget_minutes=0.5,
        warmup_steps=1,
        lr=1e-3,
        lr_schedule="cosine",
        min_lr_ratio=0.1,
    )
    trainer = asr.train.Trainer(cfg)
    model_dir = trainer.run()
    assert trainer.step == 3 and trainer.epoch < 50  # 30 s of budget, spent by the third step
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * (0.1 + 0.9 * 0.25))  # 2/3 spent
    assert load_checkpoint(list_checkpoints(tmp_path / "checkpoints")[-1])["train_seconds"] == 30.0
    assert json.loads((model_dir / "config.json").read_text())["info"]["train_seconds"] == 30.0
    resumed = asr.train.Trainer(cfg, resume=True)
    resumed.run()
    assert resumed.step == 3 and resumed.seconds_before == 30.0  # nothing left to spend
    assert real_clock(resumed) > 30.0  # the real clock adds this process's time to the saved time


def test_init_from_starts_a_new_run_from_a_trained_model(trained_exp, tmp_path):
    """init_from copies weights and tokenizer, with a fresh step count; a shape mismatch is a clear error."""
    trainer = asr.train.Trainer(tiny_train_config(tmp_path / "ft", init_from=str(trained_exp / "model")))
    trained = asr.load_model(trained_exp / "model").model.state_dict()
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, trained[key])
    assert trainer.step == 0 and (tmp_path / "ft" / "tokenizer" / "tokenizer.json").is_file()
    bigger = tiny_train_config(tmp_path / "bad", init_from=str(trained_exp / "model"))
    bigger.model.d_model *= 2
    with pytest.raises(asr.errors.ConfigError, match="init_from"):
        asr.train.Trainer(bigger)
    wider_and_deeper = tiny_train_config(tmp_path / "bad2", init_from=str(trained_exp / "model"))
    wider_and_deeper.model.d_model *= 2
    wider_and_deeper.model.n_layers += 2
    with pytest.raises(asr.errors.ConfigError, match="init_from .*different d_model"):
        asr.train.Trainer(wider_and_deeper)


def test_new_vocabulary_keeps_the_encoder_and_warm_starts_the_output_layer(trained_exp, tmp_path):
    """init_from + new_vocabulary: a BPE tokenizer replaces the model's characters; the encoder is copied, each
    new token's output row is the mean of the rows of the characters that spell it, and that warm start already
    fits the training utterances far better than a fresh output layer does."""
    source = asr.load_model(trained_exp / "model")
    cfg = tiny_train_config(
        tmp_path / "bpe",
        init_from=str(trained_exp / "model"),
        new_vocabulary=True,
        tokenizer="bpe",
        bpe_vocab_size=60,
        max_steps=1,
    )
    trainer = asr.train.Trainer(cfg)
    names = trainer.tokenizer.token_names()
    assert trainer.tokenizer.to_dict()["type"] == "bpe" and trainer.model.cfg.vocab_size == len(names) > 40
    old, new = source.model.state_dict(), trainer.model.state_dict()
    assert all(torch.equal(new[k], old[k]) for k in old if not k.startswith("head."))
    chars = source.tokenizer.token_names()
    word = next(n for n in names if n.startswith("\u2581") and len(n) >= 3)  # a word-start piece, e.g. "\u2581THE"
    spelled = [chars.index("|")] + [chars.index(c) for c in word[1:]]
    torch.testing.assert_close(new["head.weight"][names.index(word)], old["head.weight"][spelled].mean(dim=0))
    torch.testing.assert_close(new["head.weight"][0], old["head.weight"][0])  # the blank
    utts = read_manifest(cfg.train_manifest)[:8]
    waves = [asr.audio.load_audio(u.audio) for u in utts]
    wave = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    lengths = torch.tensor([w.numel() for w in waves])

    def wer(model):
        with torch.no_grad():
            log_probs, frames = model.eval()(wave, lengths)
        hyps = [trainer.tokenizer.decode(h.tokens) for h in asr.decoding.greedy_decode(log_probs, frames)]
        return score([u.id for u in utts], [u.text for u in utts], hyps).wer.rate

    fresh = asr.model.CTCModel(trainer.model.cfg)
    fresh.load_state_dict({k: v for k, v in new.items() if not k.startswith("head.")}, strict=False)
    assert wer(trainer.model) < 0.5 and wer(fresh) > 0.9


def test_init_from_grows_a_deeper_model_that_starts_where_the_trained_one_is(trained_exp, tmp_path):
    """A deeper model initialized from a trained one (depth growth) gives the same outputs before training, and
    its new identity blocks learn: one optimizer step moves their zeroed output layers."""
    source = asr.load_model(trained_exp / "model").model.eval()
    cfg = tiny_train_config(tmp_path / "deep", init_from=str(trained_exp / "model"), max_steps=1)
    cfg.model.n_layers = 2 * source.cfg.n_layers
    trainer = asr.train.Trainer(cfg)
    grown = trainer.model.eval()
    wave = torch.randn(2, 16000) * 0.1
    lengths = torch.tensor([16000, 9000])
    with torch.no_grad():
        torch.testing.assert_close(grown(wave, lengths)[0], source(wave, lengths)[0], atol=1e-5, rtol=1e-5)
    new_block = grown.encoder.blocks[1]  # 2 blocks into 4: the old ones at 0 and 2
    assert all(torch.count_nonzero(layer.weight) == 0 for layer in new_block.residual_outputs())
    trainer.run()
    assert all(torch.count_nonzero(layer.weight) > 0 for layer in new_block.residual_outputs())


def test_grow_into_a_deeper_model_at_another_hop():
    """Depth growth may also change the feature hop (no weight depends on it): the old blocks' weights arrive
    unchanged, the grown model reads 10 ms frames where the old one read 7 ms ones; a change of width is still
    refused."""
    from asr.model import CTCModel, ModelConfig

    small = dict(vocab_size=12, d_model=32, n_heads=2, ff_dim=64, subsampling_channels=32)
    old = CTCModel(ModelConfig(**small, n_layers=2, hop_length=112)).eval()
    new = CTCModel(ModelConfig(**small, n_layers=3, hop_length=160)).eval()
    assert grow(new, old) == [0, 1]
    torch.testing.assert_close(
        new.encoder.blocks[1].conv.pointwise_out.weight, old.encoder.blocks[1].conv.pointwise_out.weight
    )
    assert torch.count_nonzero(new.encoder.blocks[2].attn.attn.out_proj.weight) == 0
    wave, lengths = torch.randn(1, 16000) * 0.1, torch.tensor([16000])
    with torch.no_grad():
        assert new(wave, lengths)[1].item() < old(wave, lengths)[1].item()  # fewer frames at the longer hop
    with pytest.raises(asr.errors.ConfigError, match="different d_model"):
        grow(CTCModel(ModelConfig(**{**small, "d_model": 64}, n_layers=3)), old)


def test_soup_of_a_grown_model_and_the_model_it_grew_from(trained_exp, tmp_path):
    """`average_model_dirs` takes a shallower model as its identity-grown self: the soup's old blocks are the
    mean of both, its new blocks keep the deep model's inner weights with half its residual outputs. A deeper
    second directory, or one of another width, is refused by name."""
    from asr.checkpoint import average_model_dirs, load_model_dir, save_model_dir
    from asr.model import CTCModel

    shallow, tokenizer, _ = load_model_dir(trained_exp / "model")
    cfg = tiny_train_config(tmp_path / "deep", init_from=str(trained_exp / "model")).model
    cfg.n_layers = 2 * shallow.cfg.n_layers
    deep = CTCModel(cfg)
    grow(deep, shallow)
    with torch.no_grad():
        for p in deep.parameters():
            p.add_(0.01 * torch.randn_like(p))  # as if trained on: every weight moved, the new outputs nonzero
    save_model_dir(tmp_path / "deep", deep.cfg, deep.state_dict(), tokenizer)

    _, state, _ = average_model_dirs([tmp_path / "deep", trained_exp / "model"])
    d, s = deep.state_dict(), shallow.state_dict()
    torch.testing.assert_close(
        state["encoder.blocks.2.ff1.net.1.weight"],  # old block 1 sits at 2
        (d["encoder.blocks.2.ff1.net.1.weight"] + s["encoder.blocks.1.ff1.net.1.weight"]) / 2,
    )
    torch.testing.assert_close(state["encoder.blocks.1.ff1.net.1.weight"], d["encoder.blocks.1.ff1.net.1.weight"])
    torch.testing.assert_close(state["encoder.blocks.1.ff1.net.4.weight"], d["encoder.blocks.1.ff1.net.4.weight"] / 2)
    torch.testing.assert_close(state["head.weight"], (d["head.weight"] + s["head.weight"]) / 2)

    with pytest.raises(asr.errors.ModelError, match="'model' in config.json differs"):
        average_model_dirs([trained_exp / "model", tmp_path / "deep"])
    wide = tiny_train_config(tmp_path / "wide").model
    wide.n_layers, wide.ff_dim = cfg.n_layers, 2 * cfg.ff_dim
    save_model_dir(tmp_path / "wide", wide, CTCModel(wide).state_dict(), tokenizer)
    with pytest.raises(asr.errors.ModelError, match=f"{trained_exp / 'model'}: cannot grow .* different ff_dim"):
        average_model_dirs([tmp_path / "wide", trained_exp / "model"])


def test_resume_survives_a_damaged_log_tail_a_bad_newest_checkpoint_and_temp_files(tmp_path, capsys):
    """A kill or power loss can leave half a log line, an empty or truncated newest checkpoint and a temp
    file: --resume says so, falls back to the newest intact checkpoint and continues to the same end."""
    cfg = tiny_train_config(tmp_path, max_steps=6, batch_seconds=4.0, checkpoint_every=2, keep_checkpoints=5)
    asr.train.Trainer(cfg).run()
    ckpts = list_checkpoints(tmp_path / "checkpoints")
    assert [load_checkpoint(c)["step"] for c in ckpts] == [2, 4, 6]
    ckpts[-1].write_bytes(b"")  # step 6: empty
    ckpts[-2].write_bytes(ckpts[-2].read_bytes()[:1000])  # step 4: truncated
    stale = tmp_path / "checkpoints" / ".ckpt-00000008.pt.abc.tmp"
    stale.write_bytes(b"partial")
    log = tmp_path / "log.jsonl"
    log.write_text(log.read_text() + '{"step": 7, "lo')  # a line cut off by the kill
    capsys.readouterr()
    resumed = asr.train.Trainer(cfg, resume=True)
    said = capsys.readouterr()
    text = said.out + said.err
    assert "ckpt-00000006.pt: unreadable checkpoint" in text and "ckpt-00000004.pt: unreadable checkpoint" in text
    assert "resumed from" in text and "ckpt-00000002.pt" in text and resumed.step == 2
    assert f"removed {stale}" in text and not stale.exists()
    assert "dropped 1 damaged line(s)" in text
    assert all(json.loads(line)["step"] <= 2 for line in log.read_text().splitlines())
    resumed.run()
    assert resumed.step == 6 and load_checkpoint(list_checkpoints(tmp_path / "checkpoints")[-1])["step"] == 6


@pytest.mark.parametrize(
    "override,message",
    [
        ("checkpoint_every=0", "checkpoint_every must be >= 1, got 0"),
        ("accum_steps=0", "accum_steps must be >= 1, got 0"),
        ("batch_seconds=-5", "batch_seconds must be > 0, got -5.0"),
        ("lr=-1", "lr must be > 0, got -1.0"),
        ("model.d_model=0", "model: d_model must be a whole number from 1 to 4096, got 0"),
        ("model.n_heads=5", "model: d_model (64) must be divisible by n_heads (5)"),
        ("regularization.dropout=2", "regularization: dropout must be a number from 0.0 to 0.95, got 2.0"),
    ],
)
def test_out_of_range_settings_are_one_line_errors(tmp_path, override, message):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "asr.cli",
            "train",
            "--config",
            "recipes/tiny/train.yaml",
            f"out_dir={tmp_path}",
            override,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stderr.strip() == f"asr: error: recipes/tiny/train.yaml: {message}"
    with pytest.raises(asr.errors.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        key, value = override.split("=")
        cfg = tiny_train_config(tmp_path)
        section = key.split(".")[0] if "." in key else None
        target = getattr(cfg, section) if section else cfg
        setattr(target, key.split(".")[-1], type(getattr(target, key.split(".")[-1]))(value))
        asr.train.train(cfg)  # the Python API checks the same way


def test_regularization_in_the_model_section_is_a_one_line_error(tmp_path):
    cmd = [sys.executable, "-m", "asr.cli", "train", "--config", "recipes/tiny/train.yaml", f"out_dir={tmp_path}"]
    result = subprocess.run([*cmd, "model.dropout=0.1", "model.vtlp=0.1"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip().startswith(
        "asr: error: recipes/tiny/train.yaml: model: dropout, vtlp only affect training: set them under regularization:"
    )
    assert not list(tmp_path.iterdir())


class _FakeSummaryWriter:
    """Stands in for torch.utils.tensorboard.SummaryWriter (tensorboard is an optional extra)."""

    scalars: list = []

    def __init__(self, log_dir):
        self.log_dir = log_dir

    def add_scalar(self, tag, value, step):
        _FakeSummaryWriter.scalars.append((tag, value, step))

    def close(self):
        pass


def test_tensorboard_scalars_are_written_every_log_every_steps(tmp_path, monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=_FakeSummaryWriter))
    _FakeSummaryWriter.scalars = []
    cfg = tiny_train_config(
        tmp_path, max_steps=4, log_every=2, batch_seconds=4.0, valid_manifest=str(TINY / "train.jsonl"), epochs=1
    )
    asr.train.Trainer(cfg).run()
    train_steps = sorted({step for tag, _, step in _FakeSummaryWriter.scalars if tag == "train/loss"})
    assert train_steps == [2, 4]
    assert any(tag == "valid/wer" for tag, _, _ in _FakeSummaryWriter.scalars)


def test_amp_setting_is_inert_on_the_cpu(tmp_path):
    """amp=true only ever autocasts on CUDA: on the CPU it trains exactly as amp=false."""
    runs = []
    for amp in (True, False):
        trainer = asr.train.Trainer(tiny_train_config(tmp_path / str(amp), max_steps=3, batch_seconds=4.0, amp=amp))
        assert not trainer.amp and not trainer.scaler.is_enabled()
        trainer.run()
        runs.append(trainer.model.state_dict())
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key


def test_a_bpe_vocabulary_larger_than_the_text_yields_is_reported(tmp_path):
    from asr.initialize import prepare_tokenizer

    texts = [u.text for u in read_manifest(TINY / "train.jsonl")]
    cfg = tiny_train_config(tmp_path, tokenizer="bpe", bpe_vocab_size=5000)
    with pytest.warns(UserWarning, match=r"bpe_vocab_size 5000: the training transcripts yield only \d+ BPE pieces"):
        tokenizer = prepare_tokenizer(cfg, tmp_path, texts)
    assert tokenizer.vocab_size < 5000
    result = run_cli("tokenizer", f"train_manifest={TINY / 'train.jsonl'}", f"out_dir={tmp_path}", "tokenizer=bpe")
    assert result.returncode == 0 and "already there, kept" in result.stdout, result.stdout + result.stderr
