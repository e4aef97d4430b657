"""DistributedDataParallel on the CPU (gloo), launched by torchrun like a real multi-GPU job."""

import json
import os
import subprocess
import sys

import torch
import yaml

import asr.train
from asr.checkpoint import list_checkpoints, load_checkpoint
from asr.data import DurationBatchSampler
from conftest import tiny_train_config

DDP_CONFIG = dict(
    max_steps=4,
    batch_seconds=3.0,
    lr=1e-3,
    warmup_steps=2,
    checkpoint_every=2,
    keep_checkpoints=5,
    threads=1,
    grad_clip=1.0,
)


def torchrun(nproc: int, config, *extra):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "asr.cli",
        "train",
        "--config",
        str(config),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


class UnionSampler(DurationBatchSampler):
    """One process seeing, at each step, everything the ranks of a world_size-2 job see together."""

    def _make_batches(self, epoch):
        ranks = []
        for rank in (0, 1):
            s = DurationBatchSampler(
                self.durations, self.max_seconds, self.num_buckets, self.shuffle, self.seed, rank=rank, world_size=2
            )
            ranks.append(s.epoch_batches(epoch))
        return [a + b for a, b in zip(*ranks)]


def test_two_gloo_processes_match_one_process_on_the_same_data(tmp_path):
    cfg = tiny_train_config(tmp_path / "ddp", **DDP_CONFIG)
    conf = tmp_path / "ddp.yaml"
    conf.write_text(yaml.safe_dump(cfg.to_dict()))
    result = torchrun(2, conf)
    assert result.returncode == 0, result.stderr[-3000:]
    ddp = load_checkpoint(list_checkpoints(tmp_path / "ddp" / "checkpoints")[-1])
    assert ddp["step"] == 4 and ddp["world_size"] == 2
    log = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "train"] == [1, 2, 3, 4]  # one writer: rank 0
    assert (result.stdout + result.stderr).count("model written to") == 1  # rank 1 says nothing

    single = asr.train.Trainer(tiny_train_config(tmp_path / "one", **DDP_CONFIG))
    single.sampler = UnionSampler(single.sampler.durations, cfg.batch_seconds, cfg.num_buckets, True, cfg.seed)
    single.run()
    start = asr.train.Trainer(tiny_train_config(tmp_path / "init", **{**DDP_CONFIG, "max_steps": 0})).model.state_dict()
    moved = 0.0
    for key, value in single.model.state_dict().items():
        other = ddp["model"][key]
        if key.endswith("attn.in_proj_bias"):
            # The key bias cannot change attention (softmax ignores a constant shift), so its gradient is
            # rounding noise that Adam scales up to full steps of random sign: compare query and value parts.
            d = value.numel() // 3
            value, other = torch.cat([value[:d], value[2 * d :]]), torch.cat([other[:d], other[2 * d :]])
        torch.testing.assert_close(other, value, atol=1e-5, rtol=0)
        moved = max(moved, float((single.model.state_dict()[key] - start[key]).abs().max()))
    assert moved > 1e-3  # the weights did change over the 4 steps


def test_resume_with_a_different_world_size(tmp_path):
    # a time budget (large enough not to stop it) makes the ranks agree on the clock every step
    cfg = tiny_train_config(
        tmp_path / "exp", **{**DDP_CONFIG, "max_steps": 1, "checkpoint_every": 3, "time_budget_minutes": 60.0}
    )
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(cfg.to_dict()))
    first = torchrun(2, conf)
    assert first.returncode == 0, first.stderr[-3000:]
    mid_epoch = load_checkpoint(list_checkpoints(tmp_path / "exp" / "checkpoints")[-1])
    assert mid_epoch["step"] == 1 and mid_epoch["batch_in_epoch"] == 1 and mid_epoch["world_size"] == 2
    assert 0 < mid_epoch["train_seconds"] < 3600
    second = subprocess.run(
        [sys.executable, "-m", "asr.cli", "train", "--config", str(conf), "--resume", "max_steps=6"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "world size 2 -> 1" in second.stderr + second.stdout
    last = load_checkpoint(list_checkpoints(tmp_path / "exp" / "checkpoints")[-1])
    assert last["step"] == 6 and last["world_size"] == 1
    assert (tmp_path / "exp" / "model" / "model.safetensors").is_file()
