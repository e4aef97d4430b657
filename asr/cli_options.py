"""Options and their handling shared by the ``asr`` commands that run a model (cli_decode, cli_tune)."""

from __future__ import annotations

import argparse
import math
from typing import Callable

__all__ = [
    "finite",
    "positive",
    "nonnegative",
    "whole",
    "parse_floats",
    "decoding_options",
    "hotwords_of",
    "hotword_options",
    "adaptation_settings",
    "load_for_inference",
    "apply_reading_options",
    "add_backend_options",
    "add_decoding_options",
    "add_hotword_options",
    "add_no_lm_option",
    "models_lm",
    "add_adapt_option",
    "add_model_option",
    "add_device_options",
    "add_reading_options",
    "add_inference_options",
]


def decoding_options(args) -> dict:
    """Decoding options shared by evaluate and transcribe."""
    options: dict = {"beam_size": args.beam_size, "lm": args.lm_dir or args.lm}
    if args.lm_weight is not None:
        options["lm_weight"] = args.lm_weight
    if args.word_score is not None:
        options["word_score"] = args.word_score
    options.update(hotword_options(args))
    if args.vtln or args.vtln_factors:
        options["vtln"] = args.vtln_factors or True
    settings = adaptation_settings(args)
    if settings is not None:  # as a number of steps: what transcribe takes and the JSON summary shows
        options["adapt"] = settings.steps
    return options


def hotwords_of(args) -> list[str]:
    """--hotwords (comma-separated) and the lines of --hotwords-file, in that order."""
    from .decoding import read_hotwords

    words = [w.strip() for w in (args.hotwords or "").split(",") if w.strip()]
    return words + (read_hotwords(args.hotwords_file) if args.hotwords_file else [])


def hotword_options(args) -> dict:
    """``hotwords`` / ``hotword_score`` for the decoder, from the hotword options (none when not given)."""
    hotwords = hotwords_of(args)
    if not hotwords:
        if args.hotword_score is not None:
            from .errors import ASRError

            raise ASRError("--hotword-score needs --hotwords or --hotwords-file")
        return {}
    score = {} if args.hotword_score is None else {"hotword_score": args.hotword_score}
    return {"hotwords": hotwords, **score}


def adaptation_settings(args):
    """--adapt / --adapt-steps as asr.Adaptation settings (None without either); bad steps raise ModelError."""
    from .adapt import Adaptation

    if args.adapt_steps is not None:
        return Adaptation(steps=args.adapt_steps)
    return Adaptation() if args.adapt else None


def load_for_inference(args):
    """The model of evaluate / transcribe, with --chunk-ms applied."""
    from .loading import load_model

    model = load_model(args.model, device=args.device, backend=args.backend, quantize=args.quantize)
    apply_reading_options(model, args, args.backend)
    return model


def apply_reading_options(model, args, backend: str = "torch") -> None:
    """--vad, and --chunk-ms / --left-ms: a streaming model run with the chunk mask `asr stream` runs it with."""
    from .errors import ModelError
    from .streaming import chunk_frames

    if args.chunk_ms is not None:
        if not model.model.cfg.streaming or backend != "torch":
            raise ModelError(
                f"--chunk-ms needs a streaming model on the torch backend; {model.path} is "
                + ("not one" if not model.model.cfg.streaming else "on onnx")
            )
        model.chunk = chunk_frames(model.model, args.chunk_ms, args.left_ms)
    model.segmenter = args.vad


def add_backend_options(p) -> None:
    p.add_argument(
        "--backend", choices=["torch", "onnx"], default="torch", help="onnx: run MODEL/model.onnx with onnxruntime"
    )
    p.add_argument("--quantize", action="store_true", help="dynamic int8 linear layers (CPU, torch backend)")


def parse_floats(text: str) -> list[float]:
    try:
        return [finite(x) for x in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers, got {text!r}") from None


def finite(text: str) -> float:
    """An argparse type: a finite number (no nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def nonnegative(text: str) -> float:
    """An argparse type: a finite number, 0 or more."""
    value = finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of 0 or more, got {text!r}")
    return value


def whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}")
        return value

    return parse


def add_hotword_options(p) -> None:
    p.add_argument(
        "--hotwords",
        metavar="W,W,...",
        help="with an LM: words or phrases to favour (names, terms), comma-separated; words the LM lacks are "
        "added to its lexicon",
    )
    p.add_argument("--hotwords-file", metavar="FILE", help="hotwords from a file: one word or phrase per line")
    p.add_argument(
        "--hotword-score",
        type=finite,
        help="bonus for each hotword a hypothesis completes (default: asr.decoding.HOTWORD_SCORE)",
    )


def add_no_lm_option(p, without: str) -> None:
    p.add_argument(
        "--no-lm",
        action="store_true",
        help=f"decode without the model's LM (by default a model with an lm/ directory decodes with it): {without}",
    )


def models_lm(args, model, command: str) -> bool:
    """Whether a command that decodes with the model's LM by default does so: not with --no-lm (which
    contradicts --lm / --lm-dir) or when the model has no lm/; a broken lm/ is an error naming --no-lm."""
    from .errors import ASRError, ModelError

    if args.no_lm and (args.lm or args.lm_dir):
        raise ASRError("--no-lm contradicts --lm / --lm-dir")
    if args.no_lm or args.lm or args.lm_dir or not model.has_lm:
        return False
    from .decoding import load_lm_config

    try:
        load_lm_config(model.path / "lm")
    except ModelError as e:
        raise ModelError(f"{e} ({command} uses the model's lm/ by default; --no-lm decodes without it)") from None
    return True


def add_decoding_options(p) -> None:
    p.add_argument(
        "--beam-size", type=whole(1), help="beam width (default: the LM's with an LM; without one, greedy decoding)"
    )
    p.add_argument("--lm", action="store_true", help="beam search with the model's own n-gram LM (its lm/ directory)")
    p.add_argument("--lm-dir", help="beam search with this LM directory (from `asr lm build`)")
    p.add_argument("--lm-weight", type=finite, help="LM weight (default: the LM directory's tuned value)")
    p.add_argument("--word-score", type=finite, help="word insertion score (default: the tuned value)")
    add_hotword_options(p)
    p.add_argument(
        "--vtln",
        action="store_true",
        help="test-time VTLN: decode with 7 warp factors of the filterbank (0.9-1.2), keep the most "
        "confident per segment (7x the network time; torch backend)",
    )
    p.add_argument(
        "--vtln-factors",
        type=parse_floats,
        metavar="F,F,...",
        help="--vtln with these warp factors, comma-separated (e.g. 0.9,1.0,1.1)",
    )
    add_adapt_option(p)


def add_adapt_option(p) -> None:
    p.add_argument(
        "--adapt",
        action="store_true",
        help="test-time adaptation: before decoding, each segment tunes the network's norms and subsampling "
        "towards confident output for 10 gradient steps (about 25-30x the time of greedy; torch backend, "
        "not with --quantize)",
    )
    p.add_argument(
        "--adapt-steps", type=whole(1), metavar="N", help="adaptation with N steps instead of 10 (implies --adapt)"
    )


def add_model_option(p) -> None:
    """--model: which model a command runs (a directory or a bundled name)."""
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")


def add_device_options(p) -> None:
    """Where a command that runs the network runs it: device and CPU threads (main applies --threads)."""
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--threads", type=whole(0), default=0, help="torch CPU threads (default: torch's choice)")


def add_reading_options(p) -> None:
    """How a command reads audio with the model (applied by apply_reading_options): segmenting, chunks."""
    p.add_argument(
        "--chunk-ms",
        type=positive,
        help="a streaming model run as `asr stream` runs it, in chunks of this many ms (whole files at once)",
    )
    p.add_argument(
        "--left-ms", type=nonnegative, default=3600, help="with --chunk-ms: attention context (default 3600)"
    )
    p.add_argument(
        "--vad",
        choices=["silero", "energy"],
        default="silero",
        help="how inputs over 12 s are cut into segments: silero (Silero VAD: at pauses in the speech it "
        "hears, nothing where it hears none; default) or energy (at pauses in loudness)",
    )


def add_inference_options(p, batch_size: int) -> None:
    """What evaluate and transcribe share: batching, reading, device, threads, backend and decoding."""
    p.add_argument("--batch-size", type=whole(1), default=batch_size, help=f"inputs per batch (default {batch_size})")
    add_reading_options(p)
    add_device_options(p)
    add_backend_options(p)
    add_decoding_options(p)
    p.add_argument(
        "--adapt-speaker",
        action="store_true",
        help="the inputs are one speaker: first adapt the model to all of them as `asr adapt` does (no "
        "transcripts; at most 100 steps, 0.5-1 s each on 2 cores; for minutes of audio, not single clips), then "
        "decode them with it (torch backend, not with --quantize)",
    )
