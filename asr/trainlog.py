"""A training run's log: ``log.jsonl`` in the experiment folder (one line per optimizer step and per validation)
and TensorBoard scalars when tensorboard is installed. A resumed run drops what the killed one logged after its
last checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

__all__ = ["RunLog", "NoLog"]


class NoLog:
    """What ranks other than 0 log: nothing."""

    def write(self, record: dict, scalars: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


class RunLog:
    """log.jsonl writer (+ TensorBoard scalars when tensorboard is installed)."""

    def __init__(self, out: Path, resume_step: int):
        self.path = out / "log.jsonl"
        if self.path.exists():  # drop what a killed run logged after its last checkpoint
            kept, damaged = [], 0
            for line in self.path.read_text(errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line half-written when the run was killed
                    damaged += line.strip() != ""
                    continue
                if isinstance(record, dict) and record.get("step", 0) <= resume_step:
                    kept.append(line)
            if damaged:
                tqdm.write(f"warning: {self.path}: dropped {damaged} damaged line(s) (a write cut off by a kill)")
            self.path.write_text("".join(ln + "\n" for ln in kept))
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"))
        except ImportError:
            self.tb = None

    def write(self, record: dict, scalars: bool = True) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None and scalars:
            for key, value in record.items():
                if key not in ("step", "kind") and isinstance(value, (int, float)):
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{key}", value, record["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
