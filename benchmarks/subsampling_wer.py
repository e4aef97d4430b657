"""Subsampling ablation, accuracy part: train the bundled model's recipe (recipes/synthetic/conf/cpu_small.yaml)
once per subsampling (2x, 4x, 8x, depthwise-separable 8x) with the same training budget (the same data,
epochs, batches, optimizer, schedule, seed and BPE tokenizer), then score greedy decoding of each final model
on the held-out synthetic test set (unseen voices, unseen books). Training wall time is measured too: the
budget is equal in data and updates, not in seconds, so the time column shows what each subsampling costs.

Each run is resumable (the trainer keeps checkpoints): kill the script and start it again with the same
arguments, and it goes on where it stopped; finished runs and finished evaluations are skipped.

With --max-steps N the budget is N updates instead of whole epochs (its own run directory, NAME-Nsteps):
give the faster configuration the updates it fits into the slower one's wall time.

Usage: python benchmarks/subsampling_wer.py [--epochs 1 | --max-steps N] [--exp-dir exp/ablation] [--configs 8x 4x ...]
Writes a Markdown table to stdout and the numbers to EXP_DIR/results.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from subsampling_ablation import CONFIGS

import asr
from asr.evaluate import evaluate_manifest

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipes/synthetic/conf/cpu_small.yaml"


def overrides(name: str, args: argparse.Namespace, out: Path) -> list[str]:
    spec = CONFIGS[name]
    budget = [f"max_steps={args.max_steps}", "epochs=1000"] if args.max_steps else [f"epochs={args.epochs}"]
    return [
        *budget,
        f"out_dir={out}",
        f"train_manifest={args.train}",
        f"valid_manifest={args.dev}",
        f"warmup_steps={args.warmup_steps}",
        f"model.strides={json.dumps(spec['strides'])}",
        f"model.separable={str(spec.get('separable', False)).lower()}",
    ]


def run_dir(name: str, args: argparse.Namespace) -> Path:
    return args.exp_dir / (name.replace(" ", "-") + (f"-{args.max_steps}steps" if args.max_steps else ""))


def train(name: str, args: argparse.Namespace, tokenizer_from: Path | None) -> Path:
    """Train (or resume) one configuration; returns its experiment directory. Wall seconds accumulate in
    wall.json across resumed runs."""
    out = run_dir(name, args)
    if (out / "model" / "model.safetensors").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer_from is not None and not (out / "tokenizer").exists():
        shutil.copytree(tokenizer_from, out / "tokenizer")  # every run spells the text the same way
    wall_file = out / "wall.json"
    wall = json.loads(wall_file.read_text())["seconds"] if wall_file.is_file() else 0.0
    # --resume goes on from the newest checkpoint, or starts from scratch when there is none
    cmd = [sys.executable, "-m", "asr.cli", "train", "--resume", "--config", str(RECIPE), *overrides(name, args, out)]
    print(f"[{name}] {' '.join(cmd[3:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    wall_file.write_text(json.dumps({"seconds": wall + time.perf_counter() - start}) + "\n")
    return out


def evaluate(name: str, out: Path, args: argparse.Namespace) -> dict:
    """The run's numbers: greedy test scores (decoded once, then read from test-greedy.json) and what the
    training log and wall.json say."""
    result_file = out / "test-greedy.json"
    if result_file.is_file():
        row = json.loads(result_file.read_text())
    else:
        torch.set_num_threads(args.threads)
        model = asr.load_model(out / "model", device="cpu")
        report, failures, audio_s = evaluate_manifest(model, args.test)
        if failures:
            print("\n".join(failures), file=sys.stderr)
        row = {
            "config": name,
            "params": model.model.num_parameters(),
            "test_wer": report.wer.rate,
            "test_wer_ci95": report.interval("word"),
            "test_cer": report.cer.rate,
            "test_words": report.wer.reference_length,
            "test_audio_s": audio_s,
        }
        result_file.write_text(json.dumps(row, indent=2) + "\n")
    row["config"] = name + (f", {args.max_steps} updates" if args.max_steps else "")
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]
    valid = [r for r in log if r["kind"] == "valid"]
    train_steps = [r for r in log if r["kind"] == "train"]
    last = train_steps[-50:]  # the mean training loss over the last 50 steps: smoother than one step's
    speeds = sorted(r["speed"] for r in train_steps)
    row.update(
        median_speed=speeds[len(speeds) // 2] if speeds else float("nan"),  # robust to a busy machine's spells
        train_wall_s=json.loads((out / "wall.json").read_text())["seconds"],
        steps=train_steps[-1]["step"] if train_steps else 0,
        final_train_loss=sum(r["loss"] for r in last) / max(len(last), 1),
        dev_loss=valid[-1]["loss"] if valid else float("nan"),
        dev_wer=valid[-1]["wer"] if valid else float("nan"),
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["8x", "8x separable", "4x", "2x"], choices=list(CONFIGS))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--max-steps",
        type=int,
        default=0,
        help="a budget in updates instead of epochs (e.g. an equal wall-clock budget for a faster config)",
    )
    parser.add_argument("--warmup-steps", type=int, default=150)
    parser.add_argument("--exp-dir", type=Path, default=Path("exp/ablation"))
    parser.add_argument("--train", type=Path, default=Path("data/synthetic/train.jsonl"))
    parser.add_argument("--dev", type=Path, default=Path("data/synthetic/dev.jsonl"))
    parser.add_argument("--test", type=Path, default=Path("data/synthetic/test.jsonl"))
    parser.add_argument(
        "--tokenizer",
        type=Path,
        default=None,
        help="tokenizer directory every run uses (default: the one the first run trains)",
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the test decode")
    args = parser.parse_args()
    args.exp_dir = args.exp_dir.resolve()
    for path in (args.train, args.dev, args.test):
        if not path.is_file():
            sys.exit(f"error: {path} not found: build the corpus first (recipes/synthetic/run.sh --stop-stage 1)")
    tokenizer = args.tokenizer
    rows = []
    for name in args.configs:
        out = train(name, args, tokenizer)
        tokenizer = tokenizer or out / "tokenizer"
        rows.append(evaluate(name, out, args))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    (args.exp_dir / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        "| subsampling | parameters | optimizer steps | training wall time (min) | median training speed (audio s/s) "
        "| train loss, last 50 steps | "
        f"dev CTC loss | dev WER | test WER (95% CI) | test CER |   ({args.epochs} epoch(s) of {args.train})"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['config']} | {r['params']:,} | {r['steps']} | {r['train_wall_s'] / 60:.1f} | "
            f"{r['median_speed']:.0f} | "
            f"{r['final_train_loss']:.3f} | {r['dev_loss']:.3f} | {100 * r['dev_wer']:.2f}% | "
            f"{100 * r['test_wer']:.2f}% ({100 * r['test_wer_ci95'][0]:.1f}-{100 * r['test_wer_ci95'][1]:.1f}) | "
            f"{100 * r['test_cer']:.2f}% |"
        )
    by_name = {r["config"]: r for r in rows}
    if "4x" in by_name and "8x" in by_name:
        four, eight = by_name["4x"], by_name["8x"]
        print(
            f"\n8x vs 4x: training {four['train_wall_s'] / eight['train_wall_s']:.2f}x faster in wall time, "
            f"{eight['median_speed'] / four['median_speed']:.2f}x in median step speed; "
            f"test WER {100 * (eight['test_wer'] - four['test_wer']):+.2f} points absolute"
        )


if __name__ == "__main__":
    main()
