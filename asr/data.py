"""Manifests, the on-the-fly audio dataset, the duration-bucketed batch sampler and collation."""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch

from .audio import SAMPLE_RATE, load_audio, resample
from .augment import channel
from .errors import AudioError, ManifestError, TokenizerError
from .tokenizer import Tokenizer

__all__ = [
    "Utterance",
    "read_manifest",
    "existing_audio",
    "write_manifest",
    "AudioDataset",
    "DurationBatchSampler",
    "collate",
    "SPEED_FACTORS",
]

SPEED_FACTORS = (0.9, 1.0, 1.1)


@dataclass
class Utterance:
    id: str
    audio: str  # absolute path
    duration: float  # seconds
    text: str
    line: int = 0  # line in the manifest, for error messages


def read_manifest(path: str | os.PathLike) -> list[Utterance]:
    """Read JSON lines ``{"id", "audio", "duration", "text"}``; relative audio paths are resolved
    against the manifest's folder. A malformed line raises ManifestError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest")
    utts = []
    seen: set[str] = set()
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")  # a BOM some editors write
            except UnicodeDecodeError as e:
                raise ManifestError(
                    f"{where}: not UTF-8 text (byte {raw[e.start]:#04x} at column {e.start + 1})"
                ) from None
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise ManifestError(f"{where}: invalid JSON ({e.msg})") from None
            if not isinstance(item, dict):
                raise ManifestError(f"{where}: expected a JSON object")
            missing = [k for k in ("id", "audio", "duration", "text") if k not in item]
            if missing:
                raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
            duration = item["duration"]
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration > 0:
                raise ManifestError(f"{where}: field 'duration' must be a positive number, got {duration!r}")
            if not isinstance(item["text"], str) or not isinstance(item["audio"], str):
                raise ManifestError(f"{where}: fields 'audio' and 'text' must be strings")
            uid = str(item["id"])
            if uid in seen:
                raise ManifestError(f"{where}: duplicate id {uid!r}")
            seen.add(uid)
            audio = Path(item["audio"])
            audio = audio if audio.is_absolute() else path.parent / audio
            utts.append(Utterance(uid, str(audio), float(duration), item["text"], lineno))
    if not utts:
        raise ManifestError(f"{path}: manifest is empty")
    return utts


def existing_audio(utts: Sequence[Utterance], manifest: str | os.PathLike) -> tuple[list[int], list[str]]:
    """Indices of the utterances whose audio file exists, and a ``manifest:line: path: no such file``
    message for each one that does not. Raises ManifestError when none exists (a wrong folder, most likely)."""
    kept, problems = [], []
    for i, u in enumerate(utts):
        if os.path.isfile(u.audio):
            kept.append(i)
        else:
            problems.append(f"{manifest}:{u.line}: {u.audio}: no such file")
    if not kept:
        raise ManifestError(
            f"{manifest}: none of its {len(utts)} audio files exists (first: {utts[0].audio}); "
            "relative paths are read from the manifest's folder"
        )
    return kept, problems


def write_manifest(path: str | os.PathLike, utts: Sequence[Utterance], relative: bool = True) -> None:
    """Write utterances as a manifest, audio paths relative to its folder (``relative``) or absolute: either
    way it reads back the same files from wherever it is read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for u in utts:
            audio = os.path.relpath(u.audio, path.parent) if relative else os.path.abspath(u.audio)
            f.write(json.dumps({"id": u.id, "audio": audio, "duration": round(u.duration, 4), "text": u.text}) + "\n")


def encode_targets(utts: Sequence[Utterance], tokenizer: Tokenizer, manifest: str) -> list[list[int]]:
    """Tokenize every transcript up front so a bad one fails at once, naming its line. An empty (or blank)
    transcript is a non-speech utterance, trained towards blanks only; text that tokenizes to nothing is an
    error."""
    targets = []
    for u in utts:
        try:
            ids = tokenizer.encode(u.text) if u.text.strip() else []
        except TokenizerError as e:
            raise TokenizerError(f"{manifest}:{u.line}: {e}") from None
        if not ids and u.text.strip():
            raise TokenizerError(f"{manifest}:{u.line}: transcript {u.text!r} has no tokens")
        targets.append(ids)
    return targets


class AudioDataset(torch.utils.data.Dataset):
    """Loads each utterance's audio on access; optional speed perturbation (0.9/1.0/1.1).

    The perturbation for item ``i`` in epoch ``e`` is drawn from a generator seeded with (seed, e, i), so it
    is the same however the data is split among workers or resumed.
    """

    def __init__(
        self,
        utts: Sequence[Utterance],
        targets: Sequence[list[int]],
        speed_perturb: bool = False,
        seed: int = 0,
        manifest: str = "",
        lead_silence: float = 0.0,
        lead_silence_seconds: float = 0.5,
        trail_silence: float = 0.0,
        trail_silence_seconds: float = 0.5,
        channel: float = 0.0,
    ):
        self.utts, self.targets, self.manifest = list(utts), list(targets), str(manifest)
        self.speed_perturb, self.seed, self.epoch = speed_perturb, seed, 0
        self.lead_silence, self.lead_silence_seconds = lead_silence, lead_silence_seconds
        self.trail_silence, self.trail_silence_seconds = trail_silence, trail_silence_seconds
        self.channel = channel  # probability of a random recording channel (asr.augment.channel)

    def __len__(self) -> int:
        return len(self.utts)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict:
        utt = self.utts[index]
        try:
            wave = load_audio(utt.audio)
        except AudioError as e:  # an unreadable file is left out of its batch and reported, not fatal
            return {"id": utt.id, "error": f"{self.manifest}:{utt.line}: {e}"}
        if self.speed_perturb:
            factor = random.Random(f"{self.seed}-{self.epoch}-{index}").choice(SPEED_FACTORS)
            if factor != 1.0:
                # Treat the samples as recorded at rate*factor and bring them back to rate: speed x factor.
                wave = resample(wave, int(round(SAMPLE_RATE * factor)), SAMPLE_RATE)
        # Each edge has its own generator, so switching one on leaves the other's draws (and speed's) unchanged.
        if self.lead_silence:
            pad = _silence(
                wave,
                random.Random(f"{self.seed}-{self.epoch}-{index}-lead"),
                self.lead_silence,
                self.lead_silence_seconds,
            )
            wave = torch.cat([pad, wave])
        if self.trail_silence:
            pad = _silence(
                wave,
                random.Random(f"{self.seed}-{self.epoch}-{index}-trail"),
                self.trail_silence,
                self.trail_silence_seconds,
            )
            wave = torch.cat([wave, pad])
        if self.channel:  # last: the silence added above is recorded through the same channel
            rng = random.Random(f"{self.seed}-{self.epoch}-{index}-channel")
            if rng.random() < self.channel:
                wave = channel(wave, rng)
        return {"id": utt.id, "wave": wave, "target": torch.tensor(self.targets[index], dtype=torch.long)}


def _silence(wave: torch.Tensor, rng: random.Random, probability: float, seconds: float) -> torch.Tensor:
    """With ``probability``, 0..``seconds`` of silence to put at an edge of ``wave``: digital zeros or (half the
    time) Gaussian noise at -90 to -50 dBFS RMS; otherwise no samples."""
    if rng.random() >= probability:
        return wave[:0]
    n = int(rng.uniform(0.0, seconds) * SAMPLE_RATE)
    if n and rng.random() < 0.5:
        generator = torch.Generator().manual_seed(rng.getrandbits(63))
        return torch.randn(n, generator=generator, dtype=wave.dtype) * 10 ** (rng.uniform(-90.0, -50.0) / 20)
    return torch.zeros(n, dtype=wave.dtype)


def collate(items: list[dict]) -> dict:
    """Pad waves (B, S) and targets (B, U); carry int64 lengths beside each. Items whose audio could not
    be read are left out; their messages are in ``batch["errors"]`` (B may be 0)."""
    errors = [it["error"] for it in items if "error" in it]
    items = [it for it in items if "error" not in it]
    if not items:
        return {"ids": [], "errors": errors, "wave": torch.zeros(0, 0), "lengths": torch.zeros(0, dtype=torch.long)}
    waves = [it["wave"] for it in items]
    lengths = torch.tensor([w.numel() for w in waves], dtype=torch.long)
    batch = {
        "ids": [it["id"] for it in items],
        "errors": errors,
        "wave": torch.nn.utils.rnn.pad_sequence(waves, batch_first=True),
        "lengths": lengths,
    }
    if "target" in items[0]:
        targets = [it["target"] for it in items]
        batch["targets"] = torch.nn.utils.rnn.pad_sequence(targets, batch_first=True)
        batch["target_lengths"] = torch.tensor([t.numel() for t in targets], dtype=torch.long)
    return batch


class DurationBatchSampler(torch.utils.data.Sampler):
    """Batches of similar-length utterances whose padded duration stays under ``max_seconds``.

    Utterances are sorted by duration and cut into ``num_buckets`` buckets (fewer when the data holds
    fewer batches' worth of audio); each epoch shuffles within
    buckets, packs batches, and shuffles the batch order, all from ``Random(seed + epoch)`` so the order is
    reproducible. With ``world_size > 1`` the batches are packed for ``world_size`` times the budget and each
    is dealt out between the ranks (rank r takes every world_size-th utterance by duration), so every rank
    gets the same number of batches, each within its own budget, and together they see exactly what one
    process with the whole budget sees (a batch with fewer utterances than ranks is left out). ``sortagrad``
    orders the first epoch's batches shortest first (Amodei et al., 2016: short utterances get CTC past its
    blank-only plateau sooner). ``start_batch`` skips batches already consumed (resume mid-epoch).
    """

    def __init__(
        self,
        durations: Sequence[float],
        max_seconds: float,
        num_buckets: int = 10,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        sortagrad: bool = False,
    ):
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        self.durations = list(durations)
        self.max_seconds, self.num_buckets, self.shuffle, self.seed = max_seconds, max(1, num_buckets), shuffle, seed
        self.rank, self.world_size, self.sortagrad = rank, world_size, sortagrad
        self.epoch, self.start_batch = 0, 0
        self._cached: tuple[int, list[list[int]]] | None = None  # (epoch, batches): len() and iter() share it

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _pack(self, order: list[int]) -> list[list[int]]:
        # A global batch of n utterances gives each rank at most ceil(n / world_size) of them.
        share = lambda n: -(-n // self.world_size)  # noqa: E731
        batches, batch, longest = [], [], 0.0
        for i in order:
            d = self.durations[i]
            if batch and max(longest, d) * share(len(batch) + 1) > self.max_seconds:
                batches.append(batch)
                batch, longest = [], 0.0
            batch.append(i)
            longest = max(longest, d)
        if batch:
            batches.append(batch)
        return batches

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches for ``epoch``, in order (computed once per epoch)."""
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, self._make_batches(epoch))
        return self._cached[1]

    def _make_batches(self, epoch: int) -> list[list[int]]:
        rng = random.Random(self.seed + epoch)
        order = sorted(range(len(self.durations)), key=lambda i: self.durations[i])
        # No more buckets than batches' worth of audio: a bucket smaller than a batch would cap batch size.
        buckets = min(self.num_buckets, max(1, int(sum(self.durations) // self.max_seconds)))
        size = math.ceil(len(order) / buckets)
        batches = []
        for b in range(0, len(order), size):
            bucket = order[b : b + size]
            if self.shuffle:
                rng.shuffle(bucket)  # buckets are narrow in duration, so packing them unsorted pads little
            batches.extend(self._pack(bucket))
        if self.sortagrad and epoch == 0:
            batches.sort(key=lambda b: max(self.durations[i] for i in b))  # shortest first
        elif self.shuffle:
            rng.shuffle(batches)
        if self.world_size == 1:
            return batches
        shares = []
        for batch in batches:
            if len(batch) >= self.world_size:
                by_length = sorted(batch, key=lambda i: (self.durations[i], i))
                shares.append(by_length[self.rank :: self.world_size])
        return shares

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.epoch_batches(self.epoch)[self.start_batch :]

    def __len__(self) -> int:
        return len(self.epoch_batches(self.epoch)) - self.start_batch
