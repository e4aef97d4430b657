"""Streaming against offline: WER per chunk size, compute per chunk, emission latency, concurrent streams.

For a streaming model (``streaming: true``), on each --set manifest (first --limit utterances):
- WER (greedy) offline with full context, and streamed at each --chunks size. The streamed WER is that of
  the whole utterance run through the chunk mask, which tests/test_streaming.py holds equal (1e-4) to the
  log-probs of feeding it piece by piece;
- compute per chunk: each utterance fed through ``model.stream`` in 100 ms pieces on --threads (default 1)
  thread, the wall time of every ``accept`` that ran the encoder; the median per chunk, and the real-time
  factor (compute / audio) whose inverse is the number of streams one core keeps up with, run one after
  the other; and --batch streams at once through ``accept_many`` (each round, every live stream gets its
  next 100 ms and the ready chunks run as one batch), whose real-time factor gives the streams one core
  keeps up with when a server batches them;
- emission latency: for each word, when its last token came out (the end of the audio piece that ran its
  chunk, plus that chunk's compute time) minus where the word ends in the audio (forced alignment of the
  final transcript, boundaries refined on the waveform's energy); median and 90th percentile.

With --lm, everything with the model's LM: WER by beam search (offline and on the chunked log-probs, which
the stream's online search reproduces when it never ends at a pause: ``--commit-pause 0``), streams with
``lm=True``, and the latency of a word is when ``accept`` returned it as final (every hypothesis of the beam
holds it, or the search ended at a pause), or the end of the audio plus ``finish`` for words final only there.
The streamed WER column is that of the streamed utterances' own transcripts (``finish``).

Usage:
    python benchmarks/streaming.py --model DIR --set synthetic-test=data/synthetic/test.jsonl \
        --set ljspeech-dev=../shared/corpus/real/ljspeech-dev/dev.jsonl [--limit 200] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import asr
from asr.align import align_words
from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.metrics import score
from asr.streaming import accept_many, chunk_frames

PIECE = 1600  # samples fed per accept (100 ms, as from a microphone)


def wer(model, utts, chunk, decoding: dict) -> float:
    model.chunk = chunk
    hyps = [t.text for t in model.transcribe_batch([u.audio for u in utts], **decoding)]
    model.chunk = None
    return 100 * score([u.id for u in utts], [u.text for u in utts], hyps).wer.rate


def stream_one(
    model, wave: np.ndarray, chunk_ms: float, left_ms: float, decoding: dict
) -> tuple[list[float], list[float], float, str]:
    """(compute seconds of each accept that ran a chunk, emission latency of each word, total compute, the
    stream's final text)."""
    stream = model.stream(chunk_ms, left_ms, **decoding)
    compute, emitted, total = [], {}, 0.0  # emitted: token index -> seconds into the audio when it came out
    returned: list[float] = []  # with an LM: when each final word came out
    for start in range(0, len(wave), PIECE):
        before, tokens = stream.frames_done, len(stream._tokens)
        began = time.perf_counter()
        update = stream.accept(wave[start : start + PIECE])
        spent = time.perf_counter() - began
        total += spent
        if stream.frames_done > before:
            compute.append(spent)
        now = min(start + PIECE, len(wave)) / SAMPLE_RATE + spent
        for i in range(tokens, len(stream._tokens)):
            emitted[i] = now
        returned += [now] * len(update.words)
    began = time.perf_counter()
    tokens = len(stream._tokens)
    final = stream.finish()
    spent = time.perf_counter() - began
    total += spent
    end = len(wave) / SAMPLE_RATE + spent
    for i in range(tokens, len(stream._tokens)):
        emitted[i] = end
    latencies = []
    if final.words:
        output = stream._output
        words = align_words(stream.log_probs, output, model.tokenizer, model.frame_seconds, torch.from_numpy(wave))
        if decoding:
            latencies = [(returned[k] if k < len(returned) else end) - word.end for k, word in enumerate(words)]
        else:
            spans = model.tokenizer.word_spans(output)
            latencies = [emitted[last - 1] - word.end for word, (_, last) in zip(words, spans)]
    return compute, latencies, total, final.text


def stream_batched(
    model, waves: list[np.ndarray], chunk_ms: float, left_ms: float, count: int, decoding: dict
) -> float:
    """Real-time factor of ``count`` streams (the waves, reused in turn) fed 100 ms each per round through
    ``accept_many``: compute seconds over audio seconds, summed over the streams."""
    waves = [waves[i % len(waves)] for i in range(count)]
    streams = [model.stream(chunk_ms, left_ms, **decoding) for _ in waves]
    began = time.perf_counter()
    for start in range(0, max(len(w) for w in waves), PIECE):
        live = [i for i, w in enumerate(waves) if start < len(w)]
        accept_many([streams[i] for i in live], [waves[i][start : start + PIECE] for i in live])
    for stream in streams:
        stream.finish()
    return (time.perf_counter() - began) / (sum(len(w) for w in waves) / SAMPLE_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a streaming model directory (default: the bundled model)")
    parser.add_argument("--set", action="append", required=True, metavar="NAME=MANIFEST")
    parser.add_argument("--chunks", type=float, nargs="+", default=[160, 320, 640], help="chunk sizes in ms")
    parser.add_argument("--left-ms", type=float, default=3600)
    parser.add_argument("--limit", type=int, default=200, help="utterances per set (default 200)")
    parser.add_argument(
        "--stream-limit",
        type=int,
        default=40,
        help="utterances per set streamed piece by piece for compute and latency (default 40)",
    )
    parser.add_argument("--batch", type=int, default=16, help="streams run at once for the batched rate")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lm", action="store_true", help="beam search with the model's LM throughout (see above)")
    parser.add_argument(
        "--beam-threshold",
        type=float,
        help="with --lm: prune hypotheses scoring this far below the best (default: the decoder's, 25)",
    )
    parser.add_argument(
        "--commit-pause",
        type=float,
        help="with --lm: streams end their search at greedy pauses this long, in seconds (Stream's commit_pause; "
        "default: its default, 0.2; 0: never)",
    )
    parser.add_argument("--out", help="also write the tables to this markdown file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    decoding: dict = {"lm": True} if args.lm else {}
    if args.beam_threshold is not None:
        if not args.lm:
            parser.error("--beam-threshold needs --lm")
        decoding["beam_threshold"] = args.beam_threshold
    streaming = dict(decoding)  # what the streams get besides the WER columns' decoding
    if args.commit_pause is not None:
        if not args.lm:
            parser.error("--commit-pause needs --lm")
        streaming["commit_pause"] = args.commit_pause
    lines = [
        f"Model {model.path} ({model.frame_seconds * 1000:.0f} ms frames), left context {args.left_ms:.0f} ms, "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}; "
        + (f"beam search with the model's LM ({streaming})." if args.lm else "greedy."),
        "",
        "| set | utts | offline WER | " + " | ".join(f"{c:.0f} ms WER (x offline)" for c in args.chunks) + " |",
        "|---|---|---|" + "---|" * len(args.chunks),
    ]
    timing = [
        "",
        "| set | chunk | chunk frames | compute per chunk (median) | RTF | streams per core | "
        f"streams per core, {args.batch} batched | latency median | latency p90 | streamed WER |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for item in args.set:
        name, _, path = item.partition("=")
        utts = read_manifest(path)[: args.limit]
        offline = wer(model, utts, None, decoding)
        row = [f"{wer(model, utts, chunk_frames(model.model, c, args.left_ms), decoding):.2f}" for c in args.chunks]
        ratios = [f"{float(r):.2f}% ({float(r) / max(offline, 1e-9):.2f}x)" for r in row]
        lines.append(f"| {name} | {len(utts)} | {offline:.2f}% | " + " | ".join(ratios) + " |")
        print(lines[-1], flush=True)
        streamed = utts[: args.stream_limit]
        waves = [load_audio(u.audio).numpy() for u in streamed]
        audio = sum(len(w) for w in waves) / SAMPLE_RATE
        for c in args.chunks:
            compute, latency, total, texts = [], [], 0.0, []
            for w in waves:
                per_chunk, lat, spent, text = stream_one(model, w, c, args.left_ms, streaming)
                compute += per_chunk
                latency += lat
                total += spent
                texts.append(text)
            rtf = total / audio
            batched = stream_batched(model, waves, c, args.left_ms, args.batch, streaming)
            heard = 100 * score([u.id for u in streamed], [u.text for u in streamed], texts).wer.rate
            size = chunk_frames(model.model, c, args.left_ms)[0]
            p90 = float(np.percentile(latency, 90)) if latency else float("nan")
            timing.append(
                f"| {name} | {c:.0f} ms | {size} | {1000 * statistics.median(compute):.1f} ms | {rtf:.4f} | "
                f"{1 / rtf:.0f} | {1 / batched:.0f} | {1000 * statistics.median(latency):.0f} ms | "
                f"{1000 * p90:.0f} ms | {heard:.2f}% |"
            )
            print(timing[-1], flush=True)
    text = "\n".join(lines + timing) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
