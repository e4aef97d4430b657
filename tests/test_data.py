import json
from pathlib import Path

import pytest
import torch

from asr.config import load_train_config
from asr.data import AudioDataset, DurationBatchSampler, collate, encode_targets, read_manifest, write_manifest
from asr.errors import ConfigError, ManifestError, TokenizerError
from asr.tokenizer import CharTokenizer


def _write(path, lines):
    path.write_text("".join(x if isinstance(x, str) else json.dumps(x) + "\n" for x in lines))
    return path


GOOD = {"id": "a", "audio": "a.wav", "duration": 1.0, "text": "HI"}


@pytest.mark.parametrize(
    "bad,message",
    [
        ("{not json\n", "m.jsonl:2: invalid JSON"),
        ({"id": "b", "audio": "b.wav", "text": "X"}, "m.jsonl:2: missing field\\(s\\) duration"),
        ({"id": "b", "audio": "b.wav", "duration": "long", "text": "X"}, "m.jsonl:2: field 'duration'"),
        ({"id": "b", "audio": "b.wav", "duration": -1, "text": "X"}, "m.jsonl:2: field 'duration'"),
        ({"id": "a", "audio": "b.wav", "duration": 1, "text": "X"}, "m.jsonl:2: duplicate id 'a'"),
        ("[1, 2]\n", "m.jsonl:2: expected a JSON object"),
    ],
)
def test_malformed_manifest_line_is_named(tmp_path, bad, message):
    with pytest.raises(ManifestError, match=message):
        read_manifest(_write(tmp_path / "m.jsonl", [GOOD, bad]))


def test_manifest_paths_resolve_relative_to_manifest(tmp_path, tiny_manifest):
    utts = read_manifest(tiny_manifest)
    assert len(utts) == 8 and all(u.audio.startswith(str(tiny_manifest.parent)) for u in utts)
    with pytest.raises(ManifestError, match="no such manifest"):
        read_manifest(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("relative", [True, False])
def test_written_manifest_reads_back_the_same_files_from_anywhere(tmp_path, monkeypatch, relative):
    (tmp_path / "set" / "audio").mkdir(parents=True)
    (tmp_path / "set" / "audio" / "a.wav").write_bytes(b"")
    _write(tmp_path / "set" / "m.jsonl", [{**GOOD, "audio": "audio/a.wav"}])
    monkeypatch.chdir(tmp_path)  # a manifest named by a relative path gives paths relative to here
    utts = read_manifest("set/m.jsonl")
    write_manifest(tmp_path / "elsewhere" / "copy.jsonl", utts, relative=relative)
    written = json.loads((tmp_path / "elsewhere" / "copy.jsonl").read_text())["audio"]
    assert written == ("../set/audio/a.wav" if relative else str(tmp_path / "set" / "audio" / "a.wav"))
    monkeypatch.chdir(tmp_path / "set")
    (back,) = read_manifest(tmp_path / "elsewhere" / "copy.jsonl")
    assert Path(back.audio).resolve() == (tmp_path / "set" / "audio" / "a.wav").resolve()


def test_out_of_vocabulary_text_names_manifest_line(tmp_path):
    utts = read_manifest(_write(tmp_path / "m.jsonl", [GOOD, {**GOOD, "id": "b", "text": "NAÏVE CAFÉ"}]))
    with pytest.raises(TokenizerError, match="m.jsonl:2: characters outside the vocabulary: 'É' 'Ï'"):
        encode_targets(utts, CharTokenizer(), str(tmp_path / "m.jsonl"))


def test_sampler_budget_determinism_and_resume():
    durations = [0.5 + (i * 7919 % 100) / 10 for i in range(300)]
    sampler = DurationBatchSampler(durations, max_seconds=40, num_buckets=5, seed=3)
    epoch0 = sampler.epoch_batches(0)
    assert sorted(i for b in epoch0 for i in b) == list(range(300))  # every utterance once
    assert all(max(durations[i] for i in b) * len(b) <= 40 or len(b) == 1 for b in epoch0)
    assert epoch0 == DurationBatchSampler(durations, 40, 5, seed=3).epoch_batches(0)  # deterministic
    assert epoch0 != sampler.epoch_batches(1)  # reshuffled per epoch
    sampler.set_epoch(0, start_batch=5)
    assert list(sampler) == epoch0[5:] and len(sampler) == len(epoch0) - 5


def test_sortagrad_orders_only_the_first_epoch():
    durations = [0.5 + (i * 7919 % 100) / 10 for i in range(300)]
    sampler = DurationBatchSampler(durations, max_seconds=40, num_buckets=5, seed=3, sortagrad=True)
    longest = [max(durations[i] for i in b) for b in sampler.epoch_batches(0)]
    assert longest == sorted(longest)
    later = [max(durations[i] for i in b) for b in sampler.epoch_batches(1)]
    assert later != sorted(later)


def test_sampler_splits_global_batches_across_ranks():
    """Each step's global batch (world_size x the per-rank budget) is split between the ranks, so all ranks
    take the same number of steps and together see what one process with the whole budget sees."""
    durations = [1.0 + i % 13 for i in range(101)]
    ranks = [DurationBatchSampler(durations, 20, 4, seed=1, rank=r, world_size=2).epoch_batches(0) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) > 0
    seen = [i for r in ranks for b in r for i in b]
    assert len(seen) == len(set(seen)) >= 95  # disjoint; at most a few left out (batches smaller than 2)
    for a, b in zip(*ranks):  # each rank's share stays within its own budget
        for part in (a, b):
            assert max(durations[i] for i in part) * len(part) <= 20 or len(part) == 1


def test_dataset_speed_perturbation_is_seeded(tiny_manifest):
    utts = read_manifest(tiny_manifest)
    targets = encode_targets(utts, CharTokenizer(), str(tiny_manifest))
    plain = AudioDataset(utts, targets)[0]["wave"].numel()
    ds = AudioDataset(utts, targets, speed_perturb=True, seed=1)
    sizes = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        sizes.add(ds[0]["wave"].numel())
        assert ds[0]["wave"].numel() == ds[0]["wave"].numel()  # same (seed, epoch, item), same draw
    assert plain in sizes and any(abs(s / plain - 1 / 1.1) < 0.01 for s in sizes)
    batch = collate([ds[i] for i in range(3)])
    assert batch["wave"].shape[0] == 3 and batch["lengths"].dtype == torch.long
    assert batch["targets"].shape[1] == int(batch["target_lengths"].max())


@pytest.mark.parametrize("edge", ["lead", "trail"])
def test_dataset_edge_silence_is_seeded_and_faint(tiny_manifest, tmp_path, edge):
    utts = read_manifest(tiny_manifest)
    targets = encode_targets(utts, CharTokenizer(), str(tiny_manifest))
    plain = AudioDataset(utts, targets)[0]["wave"]
    ds = AudioDataset(utts, targets, seed=3, **{f"{edge}_silence": 1.0, f"{edge}_silence_seconds": 0.5})
    kinds = set()
    for epoch in range(16):
        ds.set_epoch(epoch)
        wave = ds[0]["wave"]
        assert torch.equal(wave, ds[0]["wave"])  # same (seed, epoch, item), same draw
        n = wave.numel() - plain.numel()
        assert 0 <= n <= 8000
        speech, pad = (wave[n:], wave[:n]) if edge == "lead" else (wave[: plain.numel()], wave[plain.numel() :])
        assert torch.equal(speech, plain)  # the speech itself is untouched, beside the pad
        if n:
            assert float(pad.abs().max()) < 0.02  # at most -50 dBFS RMS noise
            kinds.add("zeros" if not pad.any() else "noise")
    assert kinds == {"zeros", "noise"}
    off = AudioDataset(utts, targets, seed=3, **{f"{edge}_silence": 0.0})
    assert torch.equal(off[0]["wave"], plain)
    conf = tmp_path / "c.yaml"
    conf.write_text(f"train_manifest: {tiny_manifest}\n")
    assert getattr(load_train_config(conf, [f"{edge}_silence=0.3"]), f"{edge}_silence") == 0.3
    with pytest.raises(ConfigError, match=f"{edge}_silence"):
        load_train_config(conf, [f"{edge}_silence=1.5"])


def test_dataset_trail_silence_leaves_lead_draws_unchanged(tiny_manifest):
    utts = read_manifest(tiny_manifest)
    targets = encode_targets(utts, CharTokenizer(), str(tiny_manifest))
    lead = AudioDataset(utts, targets, seed=5, lead_silence=1.0)
    both = AudioDataset(utts, targets, seed=5, lead_silence=1.0, trail_silence=1.0)
    for epoch in range(4):
        lead.set_epoch(epoch), both.set_epoch(epoch)
        a, b = lead[1]["wave"], both[1]["wave"]
        assert b.numel() >= a.numel() and torch.equal(b[: a.numel()], a)


def test_train_config_yaml_and_overrides(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("train_manifest: t.jsonl\nlr: 0.002\nmodel:\n  strides: [2, 2]\n  d_model: 96\n")
    cfg = load_train_config(conf, ["lr=1e-4", "model.n_layers=3", "speed_perturb=true"])
    assert cfg.lr == 1e-4 and cfg.model.n_layers == 3 and cfg.model.strides == [2, 2] and cfg.model.d_model == 96
    assert cfg.speed_perturb is True
    with pytest.raises(ConfigError, match="unknown field\\(s\\) lr_peak"):
        load_train_config(conf, ["lr_peak=1"])
    with pytest.raises(ConfigError, match="model: n_layers: expected int"):
        load_train_config(conf, ["model.n_layers=many"])
    with pytest.raises(ConfigError, match="no such config file"):
        load_train_config(tmp_path / "missing.yaml")


def test_manifest_and_config_that_are_not_utf8_are_named_errors(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b'\n{"id": "b", "text": "caf\xe9"}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:2: not UTF-8 text \(byte 0xe9 at column 25\)"):
        read_manifest(manifest)  # line 1 starts with a byte-order mark and reads
    conf = tmp_path / "c.yaml"
    conf.write_bytes(b"lr: 0.001\nout_dir: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"c.yaml: line 2: not UTF-8 text \(byte 0xe9\)"):
        load_train_config(conf)
    with pytest.raises(ConfigError, match="cannot read"):
        load_train_config(tmp_path)  # a directory
