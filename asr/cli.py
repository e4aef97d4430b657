"""The ``asr`` console script: train, tokenizer, average and export here; evaluate, transcribe, adapt and
stream in cli_decode; lm build / tune, tune-hop and tune-confidence in cli_tune (options they share: cli_options).

Errors a user can cause print one line (``asr: error: ...``) and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .cli_options import add_model_option, positive, whole
from .errors import ASRError

__all__ = ["main"]


def _cmd_train(args) -> int:
    from .config import load_train_config
    from .train import train

    cfg = load_train_config(args.config, args.overrides)
    model_dir = train(cfg, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun every rank returns; one says so
        print(f"model written to {model_dir}")
    return 0


def _cmd_tokenizer(args) -> int:
    from .config import load_train_config
    from .data import read_manifest
    from .initialize import prepare_tokenizer

    cfg = load_train_config(args.config, args.overrides)
    texts = [u.text for u in read_manifest(cfg.train_manifest)]
    folder = Path(cfg.out_dir) / "tokenizer"
    existed = (folder / "tokenizer.json").is_file()
    tokenizer = prepare_tokenizer(cfg, Path(cfg.out_dir), texts)
    kind = tokenizer.to_dict()["type"]
    print(
        f"{kind} tokenizer with {tokenizer.vocab_size} ids (blank included) in {folder}"
        + (" (already there, kept: delete the folder to build it again)" if existed else "")
    )
    return 0


def _cmd_average(args) -> int:
    from .checkpoint import average_checkpoints, average_model_dirs, list_checkpoints, load_checkpoint, save_model_dir
    from .model import ModelConfig
    from .initialize import load_exp_tokenizer

    stored = " (parameters stored as float16)" if args.half else ""
    if args.models:
        if args.exp_dir or not args.out:
            raise ASRError("--models averages model directories into --out, without an experiment directory")
        dirs = [Path(d) for d in args.models]
        cfg, state, tokenizer = average_model_dirs(dirs, args.weights)
        info: dict = {"averaged_models": [str(d) for d in dirs]}
        if args.weights:
            info["weights"] = [w / sum(args.weights) for w in args.weights]
        save_model_dir(args.out, cfg, state, tokenizer, info, half=args.half)
        weighted = f" with weights {' '.join(f'{w:g}' for w in args.weights)}" if args.weights else ""
        print(f"averaged {len(dirs)} models ({', '.join(map(str, dirs))}){weighted} into {args.out}{stored}")
        return 0
    if args.weights:
        raise ASRError("--weights goes with --models (checkpoints are averaged evenly)")
    if not args.exp_dir:
        raise ASRError("give an experiment directory (or --models DIR DIR ... --out OUT)")
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
    save_model_dir(out, cfg, state, load_exp_tokenizer(exp), info, half=args.half)
    print(f"averaged {len(paths)} checkpoints ({paths[0].name} .. {paths[-1].name}) into {out}{stored}")
    return 0


def _cmd_export(args) -> int:
    from .export import ONNX_FILE, STREAM_ONNX_FILE, export_onnx, export_stream_onnx
    from .loading import load_model

    model = load_model(args.model, device="cpu")
    out = Path(args.out) if args.out else model.path / ONNX_FILE
    if out.is_dir():  # a folder to export into, not a file name
        out = out / ONNX_FILE
    started = time.perf_counter()
    export_onnx(model.model, out)
    print(
        f"exported {model.path} to {out} ({out.stat().st_size / 2**20:.1f} MiB, "
        f"{time.perf_counter() - started:.1f} s): "
        "one graph from 16 kHz waveform to CTC log-probs, front end included"
    )
    if model.model.cfg.streaming:  # and the chunk step with its caches, for `stream` with backend onnx
        step = out.with_name(STREAM_ONNX_FILE) if args.out else model.path / STREAM_ONNX_FILE
        export_stream_onnx(model.model, step)
        print(f"exported the streaming encoder step to {step} ({step.stat().st_size / 2**20:.1f} MiB)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import cli_decode, cli_tune

    parser = argparse.ArgumentParser(prog="asr", description="CTC speech recognition: train, evaluate, transcribe.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model from a YAML TrainConfig")
    p.add_argument("--config", help="YAML file whose keys are TrainConfig fields")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest checkpoint in out_dir (without it, an out_dir that holds checkpoints is "
        "refused rather than overwritten)",
    )
    p.add_argument("overrides", nargs="*", metavar="key=value", help="override fields, e.g. lr=5e-4 model.n_layers=4")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("tokenizer", help="build an experiment's tokenizer from its training transcripts")
    p.add_argument("--config", help="the YAML TrainConfig that training will use")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=_cmd_tokenizer)

    p = sub.add_parser(
        "average",
        help="average the last N checkpoints of an experiment (or whole model "
        "directories of one architecture) into a model directory",
    )
    p.add_argument("exp_dir", nargs="?", help="the training out_dir")
    p.add_argument(
        "--models",
        nargs="+",
        metavar="DIR",
        help="instead, average these model directories' weights uniformly (same config and tokenizer; "
        "one with fewer encoder blocks than the first, e.g. the model a grown run started from, "
        "enters grown to the first's depth with identity blocks)",
    )
    p.add_argument(
        "--weights",
        nargs="+",
        type=positive,
        metavar="W",
        help="with --models: one positive weight per directory (normalized to sum to one), e.g. 0.75 0.25 "
        "keeps three quarters of a fine-tune and a quarter of the model it started from",
    )
    p.add_argument("--last", type=whole(1), default=5, help="number of newest checkpoints to average (default 5)")
    p.add_argument("--out", help="output model directory (default EXP_DIR/model-avgN)")
    p.add_argument(
        "--half",
        action="store_true",
        help="store the parameters as float16: half the file size; loading casts them back to float32",
    )
    p.set_defaults(func=_cmd_average)

    cli_decode.register(sub)
    cli_tune.register(sub)

    p = sub.add_parser("export", help="export a model to ONNX (waveform -> CTC log-probs, front end included)")
    add_model_option(p)
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument(
        "--out",
        help="output file, or an existing directory to write model.onnx into (default MODEL_DIR/model.onnx, "
        "which load_model(backend='onnx') uses)",
    )
    p.set_defaults(func=_cmd_export)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. a truncated audio file) as one line on stderr, without the source location."""
    print(f"asr: warning: {message}", file=file or sys.stderr)


def _os_error(e: OSError) -> str:
    """One line for an OSError: the path and what went wrong with it."""
    if e.filename is None:
        return e.strerror or str(e)
    if isinstance(e, FileExistsError) and not Path(e.filename).is_dir():
        return f"{e.filename}: a file is in the way (a directory is needed there)"
    return f"{e.filename}: {e.strerror or e}"


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.showwarning = _one_line_warning
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 0) > 0:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except ASRError as e:
        print(f"asr: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`asr transcribe DIR | head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error as Python exits
        return 1
    except OSError as e:  # what the file system refused: an output folder that is a file, no space, no permission
        print(f"asr: error: {_os_error(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
