"""Where a streaming model loses words in chunks: chunk masks on attention only, on the convolution only, on both.

For a streaming model on the first --limit utterances of a manifest, greedy WER of the whole utterance:
- offline (full context);
- at each --chunks size (ms): attention limited to the chunk and --left-ms before it, the convolution as
  offline ("attention"); the convolution cut at chunk ends, attention as offline ("convolution"); both, as
  the model streams ("both");
- offline with the Conformer convolution's taps after each frame limited to each of --future counts (the
  weights beyond zeroed, untrained): how much a model leans on its convolution's look-ahead.

Utterances run one at a time (no padding). Usage:
    python benchmarks/chunk_ablation.py --model DIR --manifest data/synthetic/dev.jsonl [--limit 150] [--out F.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

import asr
from asr.audio import load_audio
from asr.data import read_manifest
from asr.decoding import greedy_decode
from asr.encoder import chunk_mask
from asr.metrics import score
from asr.model import CTCModel
from asr.streaming import chunk_frames


@torch.inference_mode()
def log_probs(net, wave: torch.Tensor, attention: tuple[int, int] | None, conv: int | None) -> torch.Tensor:
    """(1, T, V) log-probs of one utterance with a chunk mask on attention (size, left chunks) and/or the
    convolution (chunk size), each None for full context."""
    lengths = torch.tensor([wave.numel()])
    x, lengths = net.frontend(wave[None], lengths)
    x, lengths = net.subsampling(x, lengths)
    keep = torch.ones(1, x.shape[1], dtype=torch.bool)
    allowed = keep[:, None, None, :]
    if attention is not None:
        allowed = allowed & chunk_mask(x.shape[1], attention[0], attention[1])[None, None]
    for block in net.encoder.blocks:
        x, _ = block(x, keep, allowed, conv)
    return net.head(net.encoder.final_norm(x)).float().log_softmax(dim=-1)


def wer(net, tokenizer, utts, waves, attention=None, conv=None) -> float:
    hyps = []
    for wave in waves:
        lp = log_probs(net, wave, attention, conv)
        hyps.append(tokenizer.decode(greedy_decode(lp, torch.tensor([lp.shape[1]]))[0].tokens))
    return 100 * score([u.id for u in utts], [u.text for u in utts], hyps).wer.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a streaming model directory")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--chunks", type=float, nargs="+", default=[320, 640, 1280])
    parser.add_argument("--left-ms", type=float, default=3600)
    parser.add_argument("--future", type=int, nargs="*", default=[3, 1, 0], help="convolution taps to keep")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the table to this markdown file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    net, tokenizer = model.model, model.tokenizer
    utts = read_manifest(args.manifest)[: args.limit]
    waves = [load_audio(u.audio) for u in utts]
    offline = wer(net, tokenizer, utts, waves)
    lines = [
        f"Model {model.path}, {len(utts)} utterances of {args.manifest}, greedy, left context {args.left_ms:.0f} ms, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| chunk | attention only | convolution only | both (as streamed) | offline |",
        "|---|---|---|---|---|",
    ]
    for ms in args.chunks:
        size, left = chunk_frames(net, ms, args.left_ms)
        row = [wer(net, tokenizer, utts, waves, (size, left), None), wer(net, tokenizer, utts, waves, None, size)]
        row.append(wer(net, tokenizer, utts, waves, (size, left), size))
        cells = " | ".join(f"{w:.2f}% ({w / max(offline, 1e-9):.2f}x)" for w in row)
        lines.append(f"| {ms:.0f} ms ({size} frames) | {cells} | {offline:.2f}% |")
        print(lines[-1], flush=True)
    if args.future:
        lines += ["", "| convolution taps after each frame (untrained cut) | offline WER |", "|---|---|"]
        kept = net.encoder.blocks[0].conv.future
        lines.append(f"| {kept} (as trained) | {offline:.2f}% |")
        for future in args.future:
            if future >= kept:
                continue
            cut = CTCModel(dataclasses.replace(net.cfg, conv_future=future)).eval()
            cut.load_state_dict(net.state_dict())
            lines.append(f"| {future} | {wer(cut, tokenizer, utts, waves):.2f}% |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
