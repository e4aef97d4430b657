"""The ``asr`` console script: train, average, evaluate, transcribe.

Errors a user can cause print one line (``asr: error: ...``) and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .errors import ASRError

__all__ = ["main"]


def _cmd_train(args) -> int:
    from .config import load_train_config
    from .train import train

    cfg = load_train_config(args.config, args.overrides)
    model_dir = train(cfg, resume=args.resume)
    print(f"model written to {model_dir}")
    return 0


def _cmd_tokenizer(args) -> int:
    from .config import load_train_config
    from .data import read_manifest
    from .train import prepare_tokenizer

    cfg = load_train_config(args.config, args.overrides)
    texts = [u.text for u in read_manifest(cfg.train_manifest)]
    tokenizer = prepare_tokenizer(cfg, Path(cfg.out_dir), texts)
    print(f"{cfg.tokenizer} tokenizer with {tokenizer.vocab_size} ids (blank included) in {cfg.out_dir}/tokenizer")
    return 0


def _cmd_average(args) -> int:
    from .checkpoint import average_checkpoints, list_checkpoints, load_checkpoint, save_model_dir
    from .model import ModelConfig
    from .train import load_exp_tokenizer

    exp = Path(args.exp_dir)
    if args.last < 1:
        raise ASRError(f"--last must be at least 1, got {args.last}")
    paths = list_checkpoints(exp / "checkpoints")[-args.last :]
    if not paths:
        raise ASRError(f"{exp / 'checkpoints'}: no checkpoints to average")
    state = average_checkpoints(paths)
    cfg = ModelConfig.from_dict(load_checkpoint(paths[-1])["model_config"], source=str(paths[-1]))
    out = Path(args.out) if args.out else exp / f"model-avg{len(paths)}"
    info = {"averaged": [p.name for p in paths]}
    save_model_dir(out, cfg, state, load_exp_tokenizer(exp), info)
    print(f"averaged {len(paths)} checkpoints ({paths[0].name} .. {paths[-1].name}) into {out}")
    return 0


def _cmd_evaluate(args) -> int:
    import torch

    from .evaluate import evaluate_manifest
    from .metrics import write_utterance_report
    from .transcribe import load_model

    model = load_model(args.model, device=args.device)
    started = time.perf_counter()
    report, failures, audio_seconds = evaluate_manifest(model, args.manifest, args.batch_size)
    elapsed = time.perf_counter() - started
    for message in failures:
        print(f"asr: skipped {message}", file=sys.stderr)
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_utt = out_dir / f"errs-{Path(args.manifest).stem}.tsv"
    write_utterance_report(report, per_utt)
    print(report.summary())
    print(f"decoded {audio_seconds:.1f} s of audio in {elapsed:.1f} s: real-time factor {elapsed / max(audio_seconds, 1e-9):.4f} "
          f"(audio loading included, {torch.get_num_threads()} threads, {model.device})")
    print(f"per-utterance report: {per_utt}")
    return 1 if failures else 0


def _write_output(path: str, transcript, fmt: str, output_dir: Path | None, many: bool) -> None:
    if fmt == "jsonl":
        line = json.dumps({"path": path, **transcript.to_dict()})
    else:
        line = f"{path}\t{transcript.text}" if many else transcript.text
    if output_dir is None:
        print(line, flush=True)
        return
    suffix = ".json" if fmt == "jsonl" else ".txt"
    (output_dir / (Path(path).stem + suffix)).write_text((line if fmt == "jsonl" else transcript.text) + "\n")


def _cmd_transcribe(args) -> int:
    from .audio import load_audio_files
    from .transcribe import load_model

    model = load_model(args.model, device=args.device)
    output_dir = Path(args.output_dir) if args.output_dir else None
    if output_dir:
        output_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for start in range(0, len(args.paths), args.batch_size):
        chunk = args.paths[start : start + args.batch_size]
        loaded, waves, errors = load_audio_files(chunk)
        for error in errors.values():
            print(f"asr: error: {error}", file=sys.stderr)
        failed += len(errors)
        paths = [chunk[i] for i in loaded]
        transcripts = model.transcribe_batch(waves, sample_rate=model.sample_rate) if waves else []
        for path, transcript in zip(paths, transcripts):
            _write_output(path, transcript, args.format, output_dir, len(args.paths) > 1)
    if failed:
        print(f"asr: {failed} of {len(args.paths)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asr", description="CTC speech recognition: train, evaluate, transcribe.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model from a YAML TrainConfig")
    p.add_argument("--config", help="YAML file whose keys are TrainConfig fields")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in out_dir")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="override fields, e.g. lr=5e-4 model.n_layers=4")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("tokenizer", help="build an experiment's tokenizer from its training transcripts")
    p.add_argument("--config", help="the YAML TrainConfig that training will use")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=_cmd_tokenizer)

    p = sub.add_parser("average", help="average the last N checkpoints of an experiment into a model directory")
    p.add_argument("exp_dir", help="the training out_dir")
    p.add_argument("--last", type=int, default=5, help="number of newest checkpoints to average (default 5)")
    p.add_argument("--out", help="output model directory (default EXP_DIR/model-avgN)")
    p.set_defaults(func=_cmd_average)

    p = sub.add_parser("evaluate", help="WER/CER of a model on a manifest")
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--manifest", required=True, help="JSON-lines manifest with reference texts")
    p.add_argument("--output-dir", default=".", help="where errs-MANIFEST.tsv is written (default .)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files (wav, flac, ogg, mp3, ...)")
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--format", choices=["text", "jsonl"], default="text")
    p.add_argument("--output-dir", help="write one file per input here instead of printing")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=_cmd_transcribe)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 0) > 0:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except ASRError as e:
        print(f"asr: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
