"""The ``asr`` console script: train, tokenizer, average, evaluate, transcribe, adapt, stream, lm.

Errors a user can cause print one line (``asr: error: ...``) and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
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
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun every rank returns; one says so
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
    from .checkpoint import average_checkpoints, average_model_dirs, list_checkpoints, load_checkpoint, save_model_dir
    from .model import ModelConfig
    from .train import load_exp_tokenizer

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


def _decoding(args) -> dict:
    """Decoding options shared by evaluate and transcribe."""
    options: dict = {"beam_size": args.beam_size, "lm": args.lm_dir or args.lm}
    if args.lm_weight is not None:
        options["lm_weight"] = args.lm_weight
    if args.word_score is not None:
        options["word_score"] = args.word_score
    if args.vtln or args.vtln_factors:
        options["vtln"] = args.vtln_factors or True
    settings = _adaptation(args)
    if settings is not None:  # as a number of steps: what transcribe takes and the JSON summary shows
        options["adapt"] = settings.steps
    return options


def _adaptation(args):
    """--adapt / --adapt-steps as asr.Adaptation settings (None without either); bad steps raise ModelError."""
    from .adapt import Adaptation

    if args.adapt_steps is not None:
        return Adaptation(steps=args.adapt_steps)
    return Adaptation() if args.adapt else None


def _load_for_inference(args):
    """The model of evaluate / transcribe, with --chunk-ms applied."""
    from .transcribe import load_model

    model = load_model(args.model, device=args.device, backend=args.backend, quantize=args.quantize)
    _apply_reading_options(model, args, args.backend)
    return model


def _apply_reading_options(model, args, backend: str = "torch") -> None:
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


def _speaker_adapted(model, audios: list[str], source: str):
    """--adapt-speaker: ``model`` adapted once to ``audios`` as one speaker (asr adapt's defaults), before
    decoding them. Unreadable audio is left out here; decoding reports it. Prints what it did to stderr."""
    from .adapt import NoAudioToAdapt

    started, skipped = time.perf_counter(), []
    try:
        adapted = model.adapted_to(audios, on_error=skipped.append, progress=True)
    except NoAudioToAdapt:  # nothing readable, or no speech: decoding says which files and why
        print(f"asr: warning: no audio of {source} to adapt to; decoding with the model as it is", file=sys.stderr)
        return model
    done = adapted.config["info"]["speaker_adaptation"]
    print(
        f"adapted to {len(audios) - len(skipped)} file(s) of {source} as one speaker: {done['seconds'] / 60:.1f} min "
        f"in {done['segments']} segments, {done['steps']} steps, {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return adapted


def _cmd_evaluate(args) -> int:
    """Each manifest in turn with the one loaded model; a manifest that fails is reported and the rest go on.
    Exit status: 2 if any manifest had no readable audio (or could not be read), else 1 if any line was
    skipped, else 0."""
    model = _load_for_inference(args)
    decoding = _decoding(args)
    names = output_names(args.manifest)
    status = 0
    for manifest in args.manifest:
        try:
            code = _evaluate_one(model, manifest, names[manifest], decoding, args)
        except ASRError as e:
            if len(args.manifest) == 1:
                raise
            print(f"asr: error: {e}", file=sys.stderr)
            code = 2
        status = max(status, code)
    return status


def _evaluate_one(model, manifest: str, name: str, decoding: dict, args) -> int:
    """Score ``model`` on one manifest and write its reports to ``args.output_dir`` as ``*-NAME.*``."""
    import torch

    from .data import read_manifest
    from .evaluate import evaluate_manifest
    from .metrics import write_alignments, write_utterance_report

    started = time.perf_counter()
    adaptation = {}
    if args.adapt_speaker:  # each manifest is one speaker, adapted to from the model as loaded
        model = _speaker_adapted(model, [u.audio for u in read_manifest(manifest)], manifest)
        adaptation = {"speaker_adaptation": model.config["info"].get("speaker_adaptation")}  # None: nothing to adapt to
    report, failures, audio_seconds = evaluate_manifest(model, manifest, args.batch_size, **decoding)
    elapsed = time.perf_counter() - started
    for message in failures:
        print(f"asr: skipped {message}", file=sys.stderr)
    if not report.utterances:
        print(f"asr: error: {manifest}: none of its audio could be read; no WER written", file=sys.stderr)
        return 2
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_utt, aligned, summary = out_dir / f"errs-{name}.tsv", out_dir / f"errs-{name}.txt", out_dir / f"wer-{name}.json"
    recogs = out_dir / f"recogs-{name}.txt"
    write_utterance_report(report, per_utt)
    write_alignments(report, aligned)
    recogs.write_text("".join(f"{u.id}\tref={u.ref}\n{u.id}\thyp={u.hyp}\n" for u in report.utterances))
    rtf = elapsed / max(audio_seconds, 1e-9)
    summary.write_text(
        json.dumps(
            {
                **report.to_dict(),
                "manifest": str(manifest),
                "model": str(model.path),
                "decoding": {k: str(v) if isinstance(v, Path) else v for k, v in decoding.items()},
                **adaptation,
                "audio_seconds": audio_seconds,
                "decode_seconds": elapsed,
                "rtf": rtf,
            },
            indent=2,
        )
        + "\n"
    )
    if len(args.manifest) > 1:
        print(f"== {manifest}")
    print(report.summary())
    print(report.confusion_summary())
    print(
        f"decoded {audio_seconds:.1f} s of audio in {elapsed:.1f} s: real-time factor {rtf:.4f} "
        f"(audio loading included, {torch.get_num_threads()} threads, {model.device})"
    )
    print(f"reports: {per_utt} (per utterance), {aligned} (aligned), {recogs} (recognitions), {summary} (summary)")
    return 1 if failures else 0


def output_names(paths: list[str]) -> dict[str, str]:
    """A distinct output name (without suffix) per input: its stem, or where stems collide (d1/x.wav,
    d2/x.wav) its path from the colliding files' common folder with '/' as '__' (d1__x, d2__x), the
    extension kept if that is not enough (a/x.wav, a/x.flac -> x.wav, x.flac)."""
    groups: dict[str, list[Path]] = {}
    for p in dict.fromkeys(paths):
        groups.setdefault(Path(p).stem, []).append(Path(p))
    names = {}
    for stem, group in groups.items():
        if len(group) == 1:
            names[str(group[0])] = stem
            continue
        full = [p.resolve() for p in group]
        common = Path(os.path.commonpath([str(f.parent) for f in full]))
        relative = [f.relative_to(common) for f in full]
        bare = [r.with_suffix("") for r in relative]
        for p, r, b in zip(group, relative, bare):
            names[str(p)] = "__".join((r if bare.count(b) > 1 else b).parts)
    return {p: names[str(Path(p))] for p in paths}


def _cmd_transcribe(args) -> int:
    from tqdm import tqdm

    from .errors import AudioError
    from .output import SUFFIXES, format_transcript

    model = _load_for_inference(args)
    if args.adapt_speaker:
        model = _speaker_adapted(model, args.paths, "the input")
    output_dir = Path(args.output_dir) if args.output_dir else None
    if output_dir:
        output_dir.mkdir(parents=True, exist_ok=True)
    options = _decoding(args)
    options["word_timestamps"] = args.word_timestamps or args.format in ("json", "srt", "vtt")
    many = len(args.paths) > 1
    failed = 0
    names = output_names(args.paths)

    def emit(path: str, transcript) -> None:
        if output_dir is not None:
            (output_dir / (names[path] + SUFFIXES[args.format])).write_text(
                format_transcript(transcript, args.format, path)
            )
        elif args.format == "text" and many:
            tqdm.write(f"{path}\t{transcript.text}")
        else:
            tqdm.write(format_transcript(transcript, args.format, path), end="")

    bar = tqdm(total=len(args.paths), unit="file", desc="transcribe", disable=None if many else True)
    for start in range(0, len(args.paths), args.batch_size):
        chunk = args.paths[start : start + args.batch_size]
        try:  # a batch at once; if any file in it is bad, file by file so the others still come out
            results = list(
                zip(chunk, model.transcribe_batch(chunk, batch_size=args.batch_size, progress=not many, **options))
            )
        except AudioError:
            results = []
            for path in chunk:
                try:
                    results.append((path, model.transcribe(path, progress=not many, **options)))
                except AudioError as e:
                    print(f"asr: error: {e}", file=sys.stderr)
                    failed += 1
        for path, transcript in results:
            emit(path, transcript)
        bar.update(len(chunk))
    bar.close()
    if failed:
        print(f"asr: {failed} of {len(args.paths)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def _cmd_adapt(args) -> int:
    from .adapt import SpeakerAdaptation
    from .data import read_manifest
    from .errors import ModelError
    from .transcribe import load_model

    paths = list(args.paths) + ([u.audio for u in read_manifest(args.manifest)] if args.manifest else [])
    if not paths:
        raise ModelError("adapt: no audio: give the speaker's files, or --manifest")
    settings = SpeakerAdaptation(steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    model = load_model(args.model, device=args.device)
    if Path(args.out).resolve() == model.path.resolve():
        raise ModelError(f"--out {args.out}: the model's own directory; write the adapted model to another one")
    _apply_reading_options(model, args)
    failed = []

    def skip(error) -> None:
        print(f"asr: error: {error} (skipped)", file=sys.stderr)
        failed.append(error)

    start = time.perf_counter()
    adapted = model.adapted_to(paths, settings=settings, on_error=skip, progress=True)
    out = adapted.save(args.out)
    done = adapted.config["info"]["speaker_adaptation"]
    print(
        f"adapted {model.path} to {len(paths) - len(failed)} file(s), {done['seconds'] / 60:.1f} min of audio in "
        f"{done['segments']} segments ({done['steps']} steps, {time.perf_counter() - start:.0f} s): {out}\n"
        f"transcribe this speaker with: asr transcribe --model {out} FILE"
    )
    if failed:
        print(f"asr: {len(failed)} of {len(paths)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def _cmd_stream(args) -> int:
    from .live import file_pieces, mic_pieces, pcm_pieces, run
    from .streaming import Endpoint
    from .transcribe import load_model
    from .vad import VadEndpoint

    model = load_model(args.model, device=args.device, backend=args.backend, streaming=True)
    if args.mic:
        pieces = mic_pieces()
    elif args.source == "-":
        pieces = pcm_pieces(sys.stdin.buffer, args.rate, args.channels)
    elif args.source:
        pieces = file_pieces(args.source, realtime=args.realtime)
    else:
        raise ASRError("stream: give a file, - for stdin, or --mic")
    if args.vad == "auto":
        args.vad = "silero" if importlib.util.find_spec("silero_vad") else "ctc"
    if args.vad == "silero":
        endpoint = VadEndpoint(after_speech=args.endpoint_silence or 0.5, max_segment=args.max_segment)
    else:
        endpoint = Endpoint(after_speech=args.endpoint_silence or 0.8, max_segment=args.max_segment)
    run(model, pieces, args.chunk_ms, args.left_ms, args.format, not args.no_partials, endpoint)
    return 0


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
        f"in {time.perf_counter() - started:.1f} s: n-grams per order {summary['ngrams']}"
        + (f", {summary['vocab_added']} words added from --vocab" if args.vocab else "")
        + f"; written to {args.out}"
    )
    if summary["fallback_discount_orders"]:
        print(f"note: orders {summary['fallback_discount_orders']} used fallback discounts (too little text)")
    return 0


def _cmd_lm_tune(args) -> int:
    from .decoding import load_lm_config
    from .evaluate import tune_lm_weights
    from .transcribe import load_model

    model = load_model(args.model, device=args.device)
    lm_dir = Path(args.lm_dir) if args.lm_dir else model.path / "lm"
    adapt = _adaptation(args)
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
    from .transcribe import load_model

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
    from .transcribe import load_model

    model = load_model(args.model, device=args.device)
    _apply_reading_options(model, args)
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


def _cmd_export(args) -> int:
    from .export import ONNX_FILE, STREAM_ONNX_FILE, export_onnx, export_stream_onnx
    from .transcribe import load_model

    model = load_model(args.model, device="cpu")
    out = Path(args.out) if args.out else model.path / ONNX_FILE
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


def _add_backend_options(p) -> None:
    p.add_argument(
        "--backend", choices=["torch", "onnx"], default="torch", help="onnx: run MODEL/model.onnx with onnxruntime"
    )
    p.add_argument("--quantize", action="store_true", help="dynamic int8 linear layers (CPU, torch backend)")


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _add_decoding_options(p) -> None:
    p.add_argument("--beam-size", type=int, help="beam search with this beam (default: greedy; with --lm: the LM's)")
    p.add_argument("--lm", action="store_true", help="beam search with the model's own n-gram LM (its lm/ directory)")
    p.add_argument("--lm-dir", help="beam search with this LM directory (from `asr lm build`)")
    p.add_argument("--lm-weight", type=float, help="LM weight (default: the LM directory's tuned value)")
    p.add_argument("--word-score", type=float, help="word insertion score (default: the tuned value)")
    p.add_argument(
        "--vtln",
        action="store_true",
        help="test-time VTLN: decode with 7 warp factors of the filterbank (0.9-1.2), keep the most "
        "confident per segment (7x the network time; torch backend)",
    )
    p.add_argument(
        "--vtln-factors",
        type=_floats,
        metavar="F,F,...",
        help="--vtln with these warp factors, comma-separated (e.g. 0.9,1.0,1.1)",
    )
    _add_adapt_option(p)


def _add_adapt_option(p) -> None:
    p.add_argument(
        "--adapt",
        action="store_true",
        help="test-time adaptation: before decoding, each segment tunes the network's norms and subsampling "
        "towards confident output for 10 gradient steps (about 25-30x the time of greedy; torch backend, "
        "not with --quantize)",
    )
    p.add_argument(
        "--adapt-steps", type=int, metavar="N", help="adaptation with N steps instead of 10 (implies --adapt)"
    )


def _add_device_options(p) -> None:
    """Where a command that runs the network runs it: device and CPU threads (main applies --threads)."""
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")


def _add_reading_options(p) -> None:
    """How a command reads audio with the model (applied by _apply_reading_options): segmenting, chunks."""
    p.add_argument(
        "--chunk-ms",
        type=float,
        help="a streaming model run as `asr stream` runs it, in chunks of this many ms (whole files at once)",
    )
    p.add_argument("--left-ms", type=float, default=3600, help="with --chunk-ms: attention context (default 3600)")
    p.add_argument(
        "--vad",
        choices=["silero", "energy"],
        default="silero",
        help="how inputs over 12 s are cut into segments: silero (Silero VAD: at pauses in the speech it "
        "hears, nothing where it hears none; default) or energy (at pauses in loudness)",
    )


def _add_inference_options(p, batch_size: int) -> None:
    """What evaluate and transcribe share: batching, reading, device, threads, backend and decoding."""
    p.add_argument("--batch-size", type=int, default=batch_size)
    _add_reading_options(p)
    _add_device_options(p)
    _add_backend_options(p)
    _add_decoding_options(p)
    p.add_argument(
        "--adapt-speaker",
        action="store_true",
        help="the inputs are one speaker: first adapt the model to all of them as `asr adapt` does (no "
        "transcripts; at most 100 steps, 0.5-1 s each on 2 cores; for minutes of audio, not single clips), then "
        "decode them with it (torch backend, not with --quantize)",
    )


def build_parser() -> argparse.ArgumentParser:
    from .adapt import SpeakerAdaptation

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
        type=float,
        metavar="W",
        help="with --models: one positive weight per directory (normalized to sum to one), e.g. 0.75 0.25 "
        "keeps three quarters of a fine-tune and a quarter of the model it started from",
    )
    p.add_argument("--last", type=int, default=5, help="number of newest checkpoints to average (default 5)")
    p.add_argument("--out", help="output model directory (default EXP_DIR/model-avgN)")
    p.add_argument(
        "--half",
        action="store_true",
        help="store the parameters as float16: half the file size; loading casts them back to float32",
    )
    p.set_defaults(func=_cmd_average)

    p = sub.add_parser("evaluate", help="WER/CER of a model on one or more manifests")
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument(
        "--manifest",
        required=True,
        nargs="+",
        metavar="MANIFEST",
        help="JSON-lines manifest(s) with reference texts, each scored on its own (the model loads once)",
    )
    p.add_argument(
        "--output-dir", default=".", help="where wer-NAME.json, errs-NAME.tsv ... are written, NAME the manifest's stem"
    )
    _add_inference_options(p, batch_size=16)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files (wav, flac, ogg, mp3, ...)")
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument(
        "--format",
        choices=["text", "json", "jsonl", "srt", "vtt"],
        default="text",
        help="text; json (segments, words, times); jsonl (one line per file); srt / vtt subtitles",
    )
    p.add_argument(
        "--word-timestamps",
        action="store_true",
        help="word start/end times in jsonl (json, srt and vtt always have them)",
    )
    p.add_argument("--output-dir", help="write one file per input here instead of printing")
    _add_inference_options(p, batch_size=8)
    p.set_defaults(func=_cmd_transcribe)

    p = sub.add_parser(
        "adapt",
        help="adapt a model to one speaker's voice and recording from their audio (no transcripts); writes a "
        "model directory that transcribes that speaker at the cost of plain decoding",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="the speaker's audio files (any length)")
    p.add_argument("--manifest", help="also (or instead) the audio of a JSON-lines manifest (its texts are not read)")
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--out", required=True, help="the adapted model directory to write")
    defaults = SpeakerAdaptation()
    p.add_argument(
        "--steps",
        type=int,
        help=f"Adam steps (default: {defaults.passes:g} passes over the segments, at most {defaults.max_steps})",
    )
    p.add_argument("--lr", type=float, default=defaults.lr, help=f"learning rate (default {defaults.lr})")
    p.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help=f"segments per step (default {defaults.batch_size})"
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help="order of the segments")
    _add_reading_options(p)
    _add_device_options(p)
    p.set_defaults(func=_cmd_adapt)

    p = sub.add_parser("stream", help="live recognition: audio from stdin, a file or a microphone; words as spoken")
    p.add_argument("source", nargs="?", help="- for stdin (raw 16-bit PCM, or a WAV stream), or an audio file")
    p.add_argument("--model", help="a streaming model directory or bundled name (default: the bundled streaming model)")
    p.add_argument("--mic", action="store_true", help="the default microphone (needs: pip install 'asr[mic]')")
    p.add_argument("--rate", type=int, default=16000, help="sample rate of raw PCM on stdin (default 16000)")
    p.add_argument("--channels", type=int, default=1, help="interleaved channels of raw PCM on stdin (default 1)")
    p.add_argument("--realtime", action="store_true", help="read FILE no faster than it plays")
    p.add_argument("--chunk-ms", type=float, default=320, help="audio per decoding step (default 320)")
    p.add_argument("--left-ms", type=float, default=3600, help="attention context before each chunk (default 3600)")
    p.add_argument(
        "--vad",
        choices=["auto", "silero", "ctc"],
        default="auto",
        help="what ends a segment: silero (Silero VAD), ctc (no new token from the recognizer for a "
        "while) or auto (silero when installed, default)",
    )
    p.add_argument(
        "--endpoint-silence",
        type=float,
        help="seconds of silence that end a segment (default 0.5 with silero, 0.8 with ctc)",
    )
    p.add_argument("--max-segment", type=float, default=20.0, help="longest segment in seconds (default 20)")
    p.add_argument(
        "--format",
        choices=["text", "jsonl"],
        default="text",
        help="text: START END TEXT per segment on stdout, partials on stderr; jsonl: partial and final "
        "objects on stdout",
    )
    p.add_argument("--no-partials", action="store_true", help="only the final segments")
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="onnx: the encoder step from MODEL/model-stream.onnx (asr export) in onnxruntime",
    )
    _add_device_options(p)
    p.set_defaults(func=_cmd_stream)

    p = sub.add_parser(
        "tune-hop",
        help="greedy WER of a model read at several feature hops (more frames per "
        "second) on a dev manifest; --save keeps the best as its model.hop_length",
    )
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--manifest", required=True, help="dev manifest (never the test set)")
    p.add_argument(
        "--hops",
        type=int,
        nargs="+",
        default=[160, 144, 136, 128, 120],
        help="hops in samples at 16 kHz (default 160 144 136 128 120; 160 = 10 ms)",
    )
    _add_device_options(p)
    p.add_argument("--save", action="store_true", help="write the best hop into the model's config.json")
    p.set_defaults(func=_cmd_tune_hop)

    p = sub.add_parser(
        "tune-confidence",
        help="fit word confidence (the probability that a word is right) to a model's output on a dev "
        "manifest; --save keeps it in the model's config.json, and transcripts' words then carry it",
    )
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--manifest", required=True, help="dev manifest with reference texts (never the test set)")
    p.add_argument("--lm", action="store_true", help="fit it for output decoded with the model's LM (default: greedy)")
    p.add_argument("--batch-size", type=int, default=16)
    _add_reading_options(p)  # --chunk-ms: a streaming model's output as `asr stream` gives it
    _add_device_options(p)
    p.add_argument("--save", action="store_true", help="write it into the model's config.json (info.confidence)")
    p.set_defaults(func=_cmd_tune_confidence)

    p = sub.add_parser("export", help="export a model to ONNX (waveform -> CTC log-probs, front end included)")
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--out", help="output file (default MODEL_DIR/model.onnx, which load_model(backend='onnx') uses)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("lm", help="n-gram language models")
    lm_sub = p.add_subparsers(dest="lm_command", required=True)
    p = lm_sub.add_parser("build", help="estimate a Kneser-Ney n-gram LM (ARPA) from text, one sentence per line")
    p.add_argument("--text-dir", help="every *.txt file under this directory")
    p.add_argument("--text", nargs="*", default=[], metavar="FILE", help="text files")
    p.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    p.add_argument(
        "--prune",
        type=int,
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
    p.add_argument("--model", help="model directory or bundled model name (default: the bundled default)")
    p.add_argument("--lm-dir", help="LM directory (default: the model's lm/)")
    p.add_argument("--manifest", required=True, help="dev manifest (never the test set)")
    p.add_argument("--lm-weights", type=float, nargs="+", default=[0.3, 0.5, 0.7, 1.0, 1.3])
    p.add_argument("--word-scores", type=float, nargs="+", default=[-0.5, 0.0, 0.5, 1.0, 1.5])
    p.add_argument("--beam-size", type=int, default=50)
    _add_adapt_option(p)
    _add_device_options(p)
    p.add_argument("--save", action="store_true", help="write the best setting into the LM's lm.json")
    p.set_defaults(func=_cmd_lm_tune)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. a truncated audio file) as one line on stderr, without the source location."""
    print(f"asr: warning: {message}", file=file or sys.stderr)


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
    except KeyboardInterrupt:
        print("asr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
