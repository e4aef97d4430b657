"""``asr lm build``, ``lm tune``, ``tune-hop`` and ``tune-confidence``: settings of a model fitted on a dev set."""

from __future__ import annotations

import time
from pathlib import Path

from .cli_options import (
    finite,
    whole,
    adaptation_settings,
    add_adapt_option,
    add_device_options,
    add_model_option,
    add_reading_options,
    apply_reading_options,
)
from .errors import ASRError

__all__ = ["register"]


def _cmd_lm_build(args) -> int:
    from .decoding import LMConfig
    from .lm import build_lm

    files = [Path(f) for f in args.text]
    if args.text_dir:
        found = sorted(Path(args.text_dir).rglob("*.txt"))
        if not found:
            raise ASRError(f"{args.text_dir}: no .txt files found")
        files += found
    if not files:
        raise ASRError("give --text-dir DIR and/or --text FILE ...")
    started = time.perf_counter()
    summary = build_lm(files, args.order, args.out, tuple(args.prune), args.vocab)
    cfg = LMConfig(Path(args.out), file=summary.get("binary", summary["arpa"]), info=summary)
    cfg.save()
    print(
        f"{args.order}-gram LM from {summary['sentences']} sentences / {summary['words']} words "
        f"in {time.perf_counter() - started:.1f} s (peak memory {_peak_memory_gib():.2f} GiB): "
        f"n-grams per order {summary['ngrams']}"
        + (f", {summary['vocab_added']} words added from --vocab" if args.vocab else "")
        + f"; written to {args.out}"
    )
    if summary["fallback_discount_orders"]:
        print(f"note: orders {summary['fallback_discount_orders']} used fallback discounts (too little text)")
    return 0


def _peak_memory_gib() -> float:
    """This process's peak resident memory so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**30 if sys.platform == "darwin" else 2**20)


def _cmd_lm_tune(args) -> int:
    from .decoding import load_lm_config
    from .evaluate import tune_lm_weights
    from .loading import load_model

    model = load_model(args.model, device=args.device)
    lm_dir = Path(args.lm_dir) if args.lm_dir else model.path / "lm"
    adapt = adaptation_settings(args)
    rows = tune_lm_weights(model, lm_dir, args.manifest, args.lm_weights, args.word_scores, args.beam_size, adapt=adapt)
    print("| LM weight | word score | beam | WER % | CER % | decode s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r["lm_weight"], r["word_score"])):
        print(
            f"| {r['lm_weight']} | {r['word_score']} | {r['beam_size']} | {100 * r['wer']:.2f} | "
            f"{100 * r['cer']:.2f} | {r['decode_seconds']:.1f} |"
        )
    best = rows[0]
    print(
        f"best on {args.manifest}: lm_weight {best['lm_weight']}, word_score {best['word_score']}: "
        f"WER {100 * best['wer']:.2f}%"
    )
    if args.save:
        cfg = load_lm_config(lm_dir)
        if adapt is not None:  # weights for adapted output: the defaults stay
            cfg.adapted = {"lm_weight": best["lm_weight"], "word_score": best["word_score"]}
            prefix, what = "adapted_", "the weights for adapted output (--adapt)"
        else:
            cfg.lm_weight, cfg.word_score, cfg.beam_size = best["lm_weight"], best["word_score"], best["beam_size"]
            prefix, what = "", "the defaults"
        cfg.info = {**cfg.info, f"{prefix}tuned_on": str(args.manifest), f"{prefix}tuned_wer": best["wer"]}
        cfg.save()
        print(f"saved as {what} in {lm_dir / 'lm.json'}")
    return 0


def _cmd_tune_hop(args) -> int:
    from .checkpoint import set_hop_length
    from .evaluate import tune_hop_length
    from .loading import load_model

    model = load_model(args.model, device=args.device)
    trained = model.model.cfg.hop_length
    rows = tune_hop_length(model, args.manifest, args.hops)
    print(f"{model.path} (hop_length {trained} in its config) on {args.manifest}, greedy")
    print("| hop (samples) | encoder frame | WER % | errors | CER % | decode s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: -r["hop_length"]):
        print(
            f"| {r['hop_length']} | {r['frame_ms']:.0f} ms | {100 * r['wer']:.2f} | {r['errors']} | "
            f"{100 * r['cer']:.2f} | {r['decode_seconds']:.1f} |"
        )
    best = rows[0]
    print(f"best on {args.manifest}: hop_length {best['hop_length']}: WER {100 * best['wer']:.2f}%")
    if args.save:
        set_hop_length(model.path, best["hop_length"])
        print(f"saved as model.hop_length in {model.path / 'config.json'}")
    return 0


def _cmd_tune_confidence(args) -> int:
    from .checkpoint import set_info
    from .confidence import FEATURE
    from .evaluate import tune_confidence
    from .loading import load_model

    model = load_model(args.model, device=args.device)
    apply_reading_options(model, args)
    fit = tune_confidence(model, args.manifest, lm=args.lm, batch_size=args.batch_size)
    c = fit["calibration"]
    print(f"{model.path}, {fit['decoding']} output on {args.manifest}: {fit['words']} words, {fit['right']} right")
    print(f"confidence = 1 / (1 + exp(-({c.slope:.4f} * {FEATURE} {c.intercept:+.4f})))")
    print("| confidence | words | mean confidence | right |")
    print("|---|---:|---:|---:|")
    for r in fit["reliability"]:
        print(f"| {r['low']:.1f}-{r['high']:.1f} | {r['words']} | {r['confidence']:.3f} | {r['right']:.3f} |")
    print(f"AUROC {fit['auroc']:.3f}, expected calibration error {fit['calibration_error']:.3f} (on these words)")
    if args.save:
        entry = {
            "feature": FEATURE,
            "slope": round(c.slope, 6),
            "intercept": round(c.intercept, 6),
            "tuned_on": str(args.manifest),
            **({"chunk_ms": args.chunk_ms} if args.chunk_ms is not None else {}),
            "words": fit["words"],
            "auroc": round(fit["auroc"], 4),
            "calibration_error": round(fit["calibration_error"], 4),
        }
        kept = model.config.get("info", {}).get("confidence", {})
        set_info(model.path, "confidence", {**kept, fit["decoding"]: entry})
        print(f"saved as info.confidence.{fit['decoding']} in {model.path / 'config.json'}")
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``asr`` parser's subcommands."""
    _register_tune_hop(sub)
    _register_tune_confidence(sub)
    _register_lm(sub)


def _register_tune_hop(sub) -> None:
    p = sub.add_parser(
        "tune-hop",
        help="greedy WER of a model read at several feature hops (more frames per "
        "second) on a dev manifest; --save keeps the best as its model.hop_length",
    )
    add_model_option(p)
    p.add_argument("--manifest", required=True, help="dev manifest (never the test set)")
    p.add_argument(
        "--hops",
        type=whole(1),
        nargs="+",
        default=[160, 144, 136, 128, 120],
        help="hops in samples at 16 kHz (default 160 144 136 128 120; 160 = 10 ms)",
    )
    add_device_options(p)
    p.add_argument("--save", action="store_true", help="write the best hop into the model's config.json")
    p.set_defaults(func=_cmd_tune_hop)


def _register_tune_confidence(sub) -> None:
    p = sub.add_parser(
        "tune-confidence",
        help="fit word confidence (the probability that a word is right) to a model's output on a dev "
        "manifest; --save keeps it in the model's config.json, and transcripts' words then carry it",
    )
    add_model_option(p)
    p.add_argument("--manifest", required=True, help="dev manifest with reference texts (never the test set)")
    p.add_argument("--lm", action="store_true", help="fit it for output decoded with the model's LM (default: greedy)")
    p.add_argument("--batch-size", type=whole(1), default=16)
    add_reading_options(p)  # --chunk-ms: a streaming model's output as `asr stream` gives it
    add_device_options(p)
    p.add_argument("--save", action="store_true", help="write it into the model's config.json (info.confidence)")
    p.set_defaults(func=_cmd_tune_confidence)


def _register_lm(sub) -> None:
    p = sub.add_parser("lm", help="n-gram language models")
    lm_sub = p.add_subparsers(dest="lm_command", required=True)
    p = lm_sub.add_parser("build", help="estimate a Kneser-Ney n-gram LM (ARPA) from text, one sentence per line")
    p.add_argument("--text-dir", help="every *.txt file under this directory")
    p.add_argument("--text", nargs="*", default=[], metavar="FILE", help="text files")
    p.add_argument("--order", type=whole(1), default=3, help="n-gram order (default 3)")
    p.add_argument(
        "--prune",
        type=whole(0),
        nargs="*",
        default=[0, 1, 1],
        metavar="N",
        help="per order, drop n-grams seen at most N times (default 0 1 1: keep all unigrams, drop "
        "singleton 2- and 3-grams)",
    )
    p.add_argument(
        "--vocab",
        nargs="*",
        default=[],
        metavar="FILE",
        help="word lists (one word per line) whose words the LM and the beam search's lexicon know beyond the "
        "text's, e.g. /usr/share/dict/american-english (apt-get install wamerican)",
    )
    p.add_argument("--out", required=True, help="output LM directory (lm.arpa + lm.json)")
    p.set_defaults(func=_cmd_lm_build)
    p = lm_sub.add_parser("tune", help="grid-search LM weight and word score on a dev manifest")
    add_model_option(p)
    p.add_argument("--lm-dir", help="LM directory (default: the model's lm/)")
    p.add_argument("--manifest", required=True, help="dev manifest (never the test set)")
    p.add_argument("--lm-weights", type=finite, nargs="+", default=[0.3, 0.5, 0.7, 1.0, 1.3])
    p.add_argument("--word-scores", type=finite, nargs="+", default=[-0.5, 0.0, 0.5, 1.0, 1.5])
    p.add_argument("--beam-size", type=whole(1), default=50)
    add_adapt_option(p)
    add_device_options(p)
    p.add_argument("--save", action="store_true", help="write the best setting into the LM's lm.json")
    p.set_defaults(func=_cmd_lm_tune)
