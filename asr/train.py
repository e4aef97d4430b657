"""Training loop: AdamW, warm-up + decay, clipping, accumulation, AMP on CUDA, atomic checkpoints and an
exact resume (model, optimizer, step, sampler position and RNG state).

Multi-GPU / multi-node: launch the same command under ``torchrun`` (``torchrun --nproc_per_node=N -m
asr.cli train ...``); the Trainer reads RANK / WORLD_SIZE / LOCAL_RANK, joins the process group (NCCL on
GPUs, gloo on CPUs) and wraps the model in DistributedDataParallel. Each step's global batch (world size x
``batch_seconds``) is dealt out between the ranks and the loss is weighted by each rank's share of the
tokens, so N processes compute the update one process would on the whole batch. Only rank 0 writes.
A checkpoint may be resumed with a different world size (the epoch position carries over as a fraction).

Layout of ``out_dir``::

    tokenizer/        tokenizer.json (+ tokenizer.model for BPE), written once
    checkpoints/      ckpt-STEP.pt, the newest ``keep_checkpoints``
    model/            model directory with the final weights (``asr average`` writes others)
    log.jsonl         one line per optimizer step and per validation
    train_config.yaml the resolved configuration
"""

from __future__ import annotations

import gc
import math
import os
import random
import time
from pathlib import Path

import torch
import torch.distributed as dist
import yaml
from tqdm import tqdm

from .audio import SAMPLE_RATE
from .checkpoint import (
    list_checkpoints,
    load_checkpoint,
    remove_stale_temp_files,
    rng_state,
    save_checkpoint,
    save_model_dir,
    set_rng_state,
    usable_device,
)
from .config import TrainConfig
from .data import AudioDataset, DurationBatchSampler, collate, encode_targets, existing_audio, read_manifest
from .decoding import greedy_decode
from .errors import ConfigError, ModelError
from .initialize import has_feature_prior, init_from, prepare_tokenizer, set_feature_prior
from .metrics import score
from .model import CTCModel, ModelConfig, ctc_loss, min_ctc_frames
from .tokenizer import Tokenizer
from .schedule import lr_at
from .trainlog import NoLog, RunLog

__all__ = ["train", "resolve_device"]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: this process's GPU (``cuda:LOCAL_RANK`` under torchrun) if there is one, else the CPU."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    return usable_device(name, ConfigError)


def _loader(dataset, sampler, cfg: TrainConfig, seed: int) -> torch.utils.data.DataLoader:
    # Its own generator: a DataLoader otherwise draws its worker seed from torch's global RNG, which would
    # shift dropout and SpecAugment after a resume.
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=cfg.num_workers,
        generator=torch.Generator().manual_seed(seed),
    )


def cfg_seed_for(step: int, rank: int) -> int:
    """Seed of rank ``rank``'s RNG after resuming at ``step`` (checkpoints hold rank 0's RNG state)."""
    return 1_000_003 * step + rank


def _distributed() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) when run directly."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


@torch.no_grad()
def validate(model: CTCModel, loader, tokenizer: Tokenizer, device: torch.device) -> dict:
    """Token-averaged CTC loss and greedy WER/CER over a validation loader."""
    model.eval()
    total_loss, total_tokens, ids, refs, hyps = 0.0, 0, [], [], []
    for batch in loader:
        if not batch["ids"]:  # every file of the batch unreadable
            continue
        log_probs, lengths = model(batch["wave"].to(device), batch["lengths"].to(device))
        targets, target_lengths = batch["targets"].to(device), batch["target_lengths"].to(device)
        loss, _ = ctc_loss(log_probs, lengths, targets, target_lengths)
        total_loss += float(loss) * int(target_lengths.sum())
        total_tokens += int(target_lengths.sum())
        for uid, hyp, tgt, n in zip(batch["ids"], greedy_decode(log_probs, lengths), targets, target_lengths):
            ids.append(uid)
            refs.append(tokenizer.decode(tgt[:n].tolist()))
            hyps.append(tokenizer.decode(hyp.tokens))
    model.train()
    report = score(ids, refs, hyps)
    return {"loss": total_loss / max(total_tokens, 1), "wer": report.wer.rate, "cer": report.cer.rate}


class Trainer:
    """Holds the run state; ``run()`` trains until the epochs, ``max_steps`` or the time budget are done."""

    def __init__(self, cfg: TrainConfig, resume: bool = False):
        self.cfg, self.out = cfg, Path(cfg.out_dir)
        earlier = list_checkpoints(self.out / "checkpoints")
        if earlier and not resume:  # a new run would prune them and truncate the log
            raise ConfigError(
                f"{self.out}: holds an earlier run's checkpoints (newest {earlier[-1].name}); continue it with "
                "--resume (resume=True), or give another out_dir (delete the folder to start over)"
            )
        self.rank, self.world_size, local_rank = _distributed()
        self.device = resolve_device(cfg.device, local_rank)
        self._own_group = False
        if self.world_size > 1 and not dist.is_initialized():
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
            self._own_group = True
        self.main = self.rank == 0  # only rank 0 writes tokenizer, checkpoints, logs and the model
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed + self.rank)  # SpecAugment masks differ across ranks
        random.seed(cfg.seed + self.rank)
        bad_file = self.out / "bad-audio.txt"  # a resumed run does not report the same file twice
        self.bad_audio = set(bad_file.read_text(encoding="utf-8").splitlines()) if bad_file.is_file() else set()
        utts = self._readable(cfg.train_manifest)
        if not self.main:
            dist.barrier()  # rank 0 builds the tokenizer first
        self.tokenizer = prepare_tokenizer(cfg, self.out, [u.text for u in utts])
        if self.main and self.world_size > 1:
            dist.barrier()
        targets = encode_targets(utts, self.tokenizer, cfg.train_manifest)
        self.model_cfg = ModelConfig.from_dict({**cfg.model.to_dict(), "vocab_size": self.tokenizer.vocab_size})
        self.model = CTCModel(self.model_cfg, cfg.regularization).to(self.device)
        self.dataset, self.sampler = self._training_data(utts, targets)
        self.valid_loader = self._valid_loader() if self.main else None
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.amp = cfg.amp and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        per_epoch = math.ceil(len(self.sampler.epoch_batches(0)) / cfg.accum_steps)
        self.total_steps = cfg.max_steps or per_epoch * cfg.epochs
        self.step = self.epoch = self.batch_in_epoch = 0
        self.seconds_before = 0.0  # training wall time of the run before this process (a resume)
        self.started = time.perf_counter()
        self.counters = {"skipped_steps": 0, "infeasible_utterances": 0, "unreadable_utterances": 0}
        self._report_infeasible(utts, targets)
        if not (resume and self._resume()):
            if cfg.init_from:
                init_from(self.model, cfg.init_from, self.tokenizer, cfg.new_vocabulary, self._say)
            if self.model_cfg.streaming and not has_feature_prior(self.model):
                set_feature_prior(self.model, utts, cfg.seed, cfg.train_manifest, self._say)
        self.net: torch.nn.Module = self.model  # what the forward pass goes through
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if self.main:
            self.out.mkdir(parents=True, exist_ok=True)
            resolved = {**cfg.to_dict(), "model": self.model_cfg.to_dict()}  # the vocabulary size is the tokenizer's
            (self.out / "train_config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        self.log = RunLog(self.out, self.step) if self.main else NoLog()

    def _say(self, message: str) -> None:
        if self.main:
            tqdm.write(message)

    def _training_data(self, utts: list, targets: list) -> tuple[AudioDataset, DurationBatchSampler]:
        """The training set (augmented as the config says) and this rank's duration-bucketed batches of it."""
        cfg = self.cfg
        dataset = AudioDataset(
            utts,
            targets,
            cfg.speed_perturb,
            cfg.seed,
            cfg.train_manifest,
            cfg.lead_silence,
            cfg.lead_silence_seconds,
            cfg.trail_silence,
            cfg.trail_silence_seconds,
            cfg.channel_augment,
        )
        sampler = DurationBatchSampler(
            [u.duration for u in utts],
            cfg.batch_seconds,
            cfg.num_buckets,
            True,
            cfg.seed,
            rank=self.rank,
            world_size=self.world_size,
            sortagrad=cfg.sortagrad,
        )
        return dataset, sampler

    def _valid_loader(self):
        if not self.cfg.valid_manifest:
            return None
        utts = self._readable(self.cfg.valid_manifest)
        targets = encode_targets(utts, self.tokenizer, self.cfg.valid_manifest)
        sampler = DurationBatchSampler([u.duration for u in utts], self.cfg.batch_seconds, 1, shuffle=False)
        return _loader(AudioDataset(utts, targets, manifest=self.cfg.valid_manifest), sampler, self.cfg, self.cfg.seed)

    def _readable(self, manifest: str) -> list:
        """The manifest's utterances whose audio file exists; the others are reported and left out."""
        utts = read_manifest(manifest)
        kept, problems = existing_audio(utts, manifest)
        for message in problems:
            self._bad_audio(message, this_rank_only=False)
        return [utts[i] for i in kept]

    def _bad_audio(self, message: str, this_rank_only: bool = True) -> None:
        """Report an utterance left out for unreadable audio once (the first 10 on the terminal, all of them
        in OUT_DIR/bad-audio.txt). What every rank finds (missing files) is reported by rank 0; what only
        this rank's batches hit (a corrupt file) by this rank, in one short appended line."""
        if message in self.bad_audio or not (self.main or this_rank_only):
            return
        self.bad_audio.add(message)
        if len(self.bad_audio) <= 10:
            tqdm.write(f"warning: skipping {message}" + (f" (rank {self.rank})" if self.rank else ""))
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "bad-audio.txt", "a", encoding="utf-8") as f:
            f.write(message + "\n")

    def _report_infeasible(self, utts, targets) -> None:
        """Warn about utterances with more labels than the output frames can carry (CTC cannot emit them)."""
        samples = torch.tensor([round(u.duration * SAMPLE_RATE) for u in utts])
        frames = self.model.output_lengths(samples)
        padded = torch.nn.utils.rnn.pad_sequence([torch.tensor(t, dtype=torch.long) for t in targets], batch_first=True)
        need = min_ctc_frames(padded, torch.tensor([len(t) for t in targets]))
        bad = int((frames < need).sum())
        if bad:
            self._say(
                f"warning: {bad} of {len(utts)} training utterances have more labels than the "
                f"{self.model.subsampling.factor}x-subsampled frames can carry; they are dropped from the loss "
                "(use BPE or less subsampling)"
            )

    def _resume(self) -> bool:
        """Restore the newest checkpoint; False when there is none."""
        folder = self.out / "checkpoints"
        for stale in remove_stale_temp_files(folder) if self.main else []:
            self._say(f"removed {stale}, left by a checkpoint write that was cut off")
        ckpts = list_checkpoints(folder)
        found = len(ckpts)
        state = None
        while ckpts and state is None:
            try:
                state = load_checkpoint(ckpts[-1], self.device)
            except ModelError as e:  # damaged (a power loss, a full disk): fall back to the one before
                self._say(f"warning: {e}; trying the checkpoint before it")
                ckpts.pop()
        if state is None:
            self._say(f"no {'readable ' if found else ''}checkpoint in {folder}; not resuming")
            return False
        saved = ModelConfig.from_dict(state["model_config"], source=str(ckpts[-1])).to_dict()
        if saved != self.model_cfg.to_dict():
            raise ConfigError(f"{ckpts[-1]}: the model section of the config differs from the checkpoint's")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        saved_world = state.get("world_size", 1)
        if saved_world != self.world_size and self.batch_in_epoch:
            # Batches are packed per world size: carry the position over as the same fraction of the epoch.
            old = state.get("epoch_batches") or 1
            new = len(self.sampler.epoch_batches(self.epoch))
            self.batch_in_epoch = min(round(self.batch_in_epoch * new / old), new)
            self._say(
                f"world size {saved_world} -> {self.world_size}: resuming at batch {self.batch_in_epoch} "
                f"of {new} in epoch {self.epoch}"
            )
        self.counters.update(state["counters"])  # older checkpoints lack the newer counters
        self.seconds_before = state.get("train_seconds", 0.0)
        set_rng_state(state["rng"])
        if self.rank:
            torch.manual_seed(cfg_seed_for(self.step, self.rank))
        self._say(f"resumed from {ckpts[-1]} (step {self.step}, epoch {self.epoch}, batch {self.batch_in_epoch})")
        return True

    def _checkpoint(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "rng": rng_state(),
            "counters": dict(self.counters),
            "model_config": self.model_cfg.to_dict(),
            "train_config": self.cfg.to_dict(),
            "world_size": self.world_size,
            "epoch_batches": len(self.sampler.epoch_batches(self.epoch)),
            "train_seconds": self._train_seconds(),
        }
        if self.main:
            save_checkpoint(state, self.out / "checkpoints", self.step, self.cfg.keep_checkpoints)

    def _train_seconds(self) -> float:
        """Training wall time so far, resumed runs included; under DDP the slowest rank's, so that all
        ranks see the same value (and stop at the same step)."""
        seconds = self.seconds_before + time.perf_counter() - self.started
        if self.world_size > 1 and self.cfg.time_budget_minutes:
            t = torch.tensor([seconds], dtype=torch.float64, device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            seconds = float(t)
        return seconds

    def _budget_spent(self) -> float | None:
        """Fraction of the time budget used; None without one."""
        if not self.cfg.time_budget_minutes:
            return None
        return self._train_seconds() / (60 * self.cfg.time_budget_minutes)

    def _finished(self) -> bool:
        spent = self._budget_spent()
        return bool(self.cfg.max_steps and self.step >= self.cfg.max_steps) or (spent is not None and spent >= 1)

    def _micro_step(self, batch: dict, scale: float) -> tuple[float, int]:
        """Forward + backward of one micro-batch; returns (loss, infeasible). A non-finite loss is not
        back-propagated; a batch whose every file was unreadable counts as non-finite."""
        if not batch["ids"]:
            if self.world_size > 1:  # the other ranks must skip this step too: no gradient from here
                dist.all_reduce(torch.tensor([0.0, 1.0], device=self.device))
            return float("nan"), 0
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            log_probs, lengths = self.net(
                batch["wave"].to(self.device), batch["lengths"].to(self.device), chunk=self._draw_chunk()
            )
        targets, target_lengths = batch["targets"].to(self.device), batch["target_lengths"].to(self.device)
        loss, infeasible = ctc_loss(log_probs, lengths, targets, target_lengths)
        finite = bool(torch.isfinite(loss))
        if self.world_size > 1:
            # The loss is averaged over this rank's tokens and DDP averages gradients over ranks; weighting
            # by this rank's share of all ranks' tokens makes the update the token average of the global
            # batch, exactly what one process with all of it computes. All ranks skip a non-finite step.
            tokens = (target_lengths * (lengths >= min_ctc_frames(targets, target_lengths))).sum().float()
            stats = torch.stack([tokens, torch.tensor(0.0 if finite else 1.0, device=tokens.device)])
            dist.all_reduce(stats)
            finite = finite and stats[1].item() == 0
            scale = scale * self.world_size * float(tokens) / max(float(stats[0]), 1.0)
        if finite:
            self.scaler.scale(loss * scale).backward()
        return float(loss.detach()) if finite else float("nan"), infeasible

    def _draw_chunk(self) -> tuple[int, int] | None:
        """This micro-batch's chunk mask (size, left chunks), or None for full context (TrainConfig.chunk_prob).
        Drawn from the step and batch position, so a resumed run draws what the killed one would have."""
        cfg = self.cfg
        if cfg.chunk_prob <= 0:
            return None
        rng = random.Random(f"chunk-{cfg.seed}-{self.rank}-{self.epoch}-{self.batch_in_epoch}")
        if rng.random() >= cfg.chunk_prob:
            return None
        size = rng.randint(1, cfg.chunk_max_frames)
        return size, rng.randint(0, cfg.chunk_left_frames // size)

    def _optimizer_step(self) -> tuple[float, bool]:
        """Clip, step and zero the gradients; a non-finite gradient norm skips the update."""
        lr = lr_at(self.step, self.cfg, self.total_steps, self._budget_spent())
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.scaler.unscale_(self.optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip))
        ok = math.isfinite(norm)
        if ok:
            self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return norm, ok

    def _log_step(self, losses: list[float], norm: float, audio_seconds: float, elapsed: float, bar) -> None:
        finite = [x for x in losses if math.isfinite(x)]
        record = {
            "kind": "train",
            "step": self.step,
            "epoch": self.epoch,
            "loss": sum(finite) / len(finite) if finite else float("nan"),
            "lr": self.optimizer.param_groups[0]["lr"],
            "grad_norm": norm,
            "speed": audio_seconds / max(elapsed, 1e-9),  # audio seconds per wall second
        }
        self.log.write(record, scalars=self.step % self.cfg.log_every == 0)
        bar.update(1)
        if self.step % self.cfg.log_every == 0 or self.step == 1:
            bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.2e}", speed=f"{record['speed']:.1f}x")

    def _end_epoch(self) -> None:
        self.epoch += 1
        self.batch_in_epoch = 0
        if self.main and self.valid_loader is not None:
            metrics = validate(self.model, self.valid_loader, self.tokenizer, self.device)
            self.log.write({"kind": "valid", "step": self.step, "epoch": self.epoch, **metrics})
            self._say(
                f"epoch {self.epoch}: valid loss {metrics['loss']:.3f}  WER {100 * metrics['wer']:.2f}%  "
                f"CER {100 * metrics['cer']:.2f}%"
            )
        self._checkpoint()
        if self.world_size > 1:
            dist.barrier()  # the other ranks wait for rank 0's validation

    def _train_epoch(self, bar) -> bool:
        """Train over the rest of the current epoch; returns True when max_steps or the time budget is reached."""
        cfg = self.cfg
        self.dataset.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
        remaining = len(self.sampler)
        losses, audio_seconds, started = [], 0.0, time.perf_counter()
        for i, batch in enumerate(_loader(self.dataset, self.sampler, cfg, cfg.seed + self.epoch)):
            # a file is counted once, not once per epoch (its message is the same each time)
            self.counters["unreadable_utterances"] += len(set(batch["errors"]) - self.bad_audio)
            for message in batch["errors"]:
                self._bad_audio(message)
            loss, infeasible = self._micro_step(batch, 1.0 / cfg.accum_steps)
            self.counters["infeasible_utterances"] += infeasible
            self.counters["skipped_steps"] += 0 if math.isfinite(loss) else 1
            losses.append(loss)
            audio_seconds += float(batch["lengths"].sum()) / SAMPLE_RATE
            self.batch_in_epoch += 1
            if self.batch_in_epoch % cfg.accum_steps and i + 1 < remaining:
                continue
            norm, ok = self._optimizer_step()
            self.counters["skipped_steps"] += 0 if ok else 1
            self.step += 1
            self._log_step(losses, norm, audio_seconds, time.perf_counter() - started, bar)
            losses, audio_seconds, started = [], 0.0, time.perf_counter()
            if self.step % cfg.checkpoint_every == 0:
                self._checkpoint()
            if self._finished():
                return True
        return False

    def run(self) -> Path:
        """Train, write the final model directory and return its path."""
        self.started = time.perf_counter()
        self.model.train()
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc="train",
            unit="step",
            dynamic_ncols=True,
            disable=not self.main,
        )
        try:
            while self.epoch < self.cfg.epochs and not self._finished():
                if self._train_epoch(bar):
                    if self.batch_in_epoch >= len(self.sampler.epoch_batches(self.epoch)):
                        self._end_epoch()
                    else:
                        self._checkpoint()
                    break
                self._end_epoch()
        finally:
            bar.close()
            self.log.close()
        if any(self.counters.values()):
            self._say(
                f"skipped non-finite steps: {self.counters['skipped_steps']}, "
                f"utterances dropped as infeasible for CTC: {self.counters['infeasible_utterances']}, "
                f"unreadable audio left out: {self.counters['unreadable_utterances']}"
                + (f" (listed in {self.out / 'bad-audio.txt'})" if self.bad_audio else "")
            )
        info = {
            "step": self.step,
            "epoch": self.epoch,
            "parameters": self.model.num_parameters(),
            "world_size": self.world_size,
            "train_seconds": round(self._train_seconds(), 1),
        }
        model_dir = self.out / "model"
        if self.main:
            save_model_dir(model_dir, self.model_cfg, self.model.state_dict(), self.tokenizer, info)
        if self._own_group:
            dist.barrier()
            # DDP's reducer holds the process group: left to the interpreter's exit, it can be freed after
            # the group's teardown, and a rank once died there (SIGABRT, "terminate called without an active
            # exception") after training had finished. Free it while everything is still alive.
            self.net = self.model
            gc.collect()
            dist.destroy_process_group()
        return model_dir


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train from ``cfg`` (continuing from the newest checkpoint when ``resume``); returns the model dir.
    Every setting is checked first (ConfigError naming the field)."""
    cfg.check()
    return Trainer(cfg, resume).run()
