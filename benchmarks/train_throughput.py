"""Training throughput of each LibriSpeech preset: audio seconds processed per wall second (forward +
backward + AdamW step), and how it scales with batch size. Random speech-like noise stands in for audio:
the cost of a step does not depend on what is said.

Usage: python benchmarks/train_throughput.py [--device cpu|cuda] [--batch-seconds 8 16 32] [--steps 3]
       python benchmarks/train_throughput.py --configs recipes/synthetic/conf/train.yaml --dropout torch asr
``--configs``: training YAML files (complete model sections) instead of the presets. ``--dropout torch asr``: each
cell once with torch's nn.Dropout in the network and once with asr.dropout.Dropout (what it is built with).
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
from asr.dropout import Dropout
from asr.encoder import MultiHeadSelfAttention
from asr.model import CTCModel, ModelConfig, ctc_loss

REPO = Path(__file__).resolve().parent.parent
PRESETS = ["small", "small_4x", "medium", "medium_4x", "large"]


def _torch_dropout(model: torch.nn.Module) -> None:
    """Torch's dropout throughout (the comparison's other column): nn.Dropout wherever the network has
    asr.dropout.Dropout, and attention weights dropped inside scaled_dot_product_attention."""
    for module in list(model.modules()):
        if isinstance(module, MultiHeadSelfAttention):
            module.explicit_dropout = False
        for name, child in module.named_children():
            if isinstance(child, Dropout):
                setattr(module, name, torch.nn.Dropout(child.p))


def measure(
    config: Path, batch_seconds: float, steps: int, device: torch.device, dropout: str = "asr", utt_seconds: float = 8.0
) -> str:
    """One table cell: audio seconds per wall second, and on CUDA the peak memory in GiB."""
    cfg = load_train_config(config)
    network = ModelConfig.from_dict({**cfg.model.to_dict(), "vocab_size": cfg.bpe_vocab_size + 1})
    model = CTCModel(network, cfg.regularization).to(device)
    if dropout == "torch":
        _torch_dropout(model)
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
    parser.add_argument("--configs", nargs="*", type=Path, default=[], help="training YAML files instead of presets")
    parser.add_argument("--dropout", nargs="+", choices=["asr", "torch"], default=["asr"])
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
    configs = args.configs or [REPO / "recipes/librispeech/conf" / f"{preset}.yaml" for preset in args.presets]
    columns = [(b, d) for b in args.batch_seconds for d in args.dropout]
    names = [f"batch {b:g} s" + (f", {d} dropout" if len(args.dropout) > 1 else "") for b, d in columns]
    print("| config | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(columns))
    for config in configs:
        cells = [measure(config, b, args.steps, device, d) for b, d in columns]
        name = config.stem if not args.configs else str(config.relative_to(REPO) if config.is_absolute() else config)
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
