"""Training throughput of each LibriSpeech preset: audio seconds processed per wall second (forward +
backward + AdamW step), and how it scales with batch size. Random speech-like noise stands in for audio:
the cost of a step does not depend on what is said.

Usage: python benchmarks/train_throughput.py [--device cpu|cuda] [--batch-seconds 8 16 32] [--steps 3]
Writes a Markdown table to stdout (copy it into benchmarks/RESULTS.md with the hardware it ran on); on CUDA
each cell also gives the step's peak GPU memory (bf16 autocast, as training runs there), for sizing
batch_seconds to a card.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from asr.config import load_train_config
from asr.model import CTCModel, ModelConfig, ctc_loss

REPO = Path(__file__).resolve().parent.parent
PRESETS = ["small", "small_4x", "medium", "medium_4x", "large"]


def measure(preset: str, batch_seconds: float, steps: int, device: torch.device, utt_seconds: float = 8.0) -> str:
    """One table cell: audio seconds per wall second, and on CUDA the peak memory in GiB."""
    cfg = load_train_config(REPO / "recipes/librispeech/conf" / f"{preset}.yaml")
    network = ModelConfig.from_dict({**cfg.model.to_dict(), "vocab_size": cfg.bpe_vocab_size + 1})
    model = CTCModel(network, cfg.regularization).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = max(int(batch_seconds // utt_seconds), 1)
    samples = int(utt_seconds * 16000)
    wave = torch.randn(batch, samples, device=device) * 0.1
    lengths = torch.full((batch,), samples, device=device)
    targets = torch.randint(1, cfg.bpe_vocab_size + 1, (batch, int(utt_seconds * 4)), device=device)
    target_lengths = torch.full((batch,), targets.shape[1], device=device)
    amp = device.type == "cuda"
    if amp:
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for step in range(steps + 1):  # the first step warms up and is not timed
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            log_probs, out_lengths = model(wave, lengths)
        loss, _ = ctc_loss(log_probs.float(), out_lengths, targets, target_lengths)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    speed = f"{batch * utt_seconds / (sum(times) / len(times)):.1f}"
    return f"{speed} ({torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB)" if amp else speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--presets", nargs="+", default=PRESETS)
    parser.add_argument("--batch-seconds", type=float, nargs="+", default=[16, 32, 64])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )
    print(f"Training throughput (audio s per wall s; 8 s utterances; {where}; torch {torch.__version__})\n")
    print("| preset | " + " | ".join(f"batch {b:g} s" for b in args.batch_seconds) + " |")
    print("|---|" + "---:|" * len(args.batch_seconds))
    for preset in args.presets:
        cells = [measure(preset, b, args.steps, device) for b in args.batch_seconds]
        print(f"| {preset} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
