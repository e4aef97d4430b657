"""``asr evaluate``, ``transcribe``, ``adapt`` and ``stream``: the commands that read audio with a model."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

from .cli_options import (
    nonnegative,
    positive,
    whole,
    add_device_options,
    add_hotword_options,
    add_inference_options,
    add_model_option,
    add_no_lm_option,
    add_reading_options,
    apply_reading_options,
    decoding_options,
    hotword_options,
    load_for_inference,
    models_lm,
)
from .cli_inputs import expand_directories, output_names, read_inputs, write_output
from .errors import ASRError, AudioError, ModelError

__all__ = ["register"]


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
    model = load_for_inference(args)
    decoding = decoding_options(args)
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


def _cmd_transcribe(args) -> int:
    from tqdm import tqdm

    from .output import SUFFIXES, format_transcript

    args.paths = expand_directories(args.paths)
    output_dir = Path(args.output_dir) if args.output_dir else None
    names = output_names(args.paths)
    if args.skip_existing:
        if output_dir is None or args.adapt_speaker:
            raise ASRError("--skip-existing needs --output-dir (and not --adapt-speaker, which adapts to all inputs)")
        done = [p for p in args.paths if (output_dir / (names[p] + SUFFIXES[args.format])).is_file()]
        if done:
            print(f"asr: skipping {len(done)} input(s) already transcribed in {output_dir}", file=sys.stderr)
            skipped = set(done)
            args.paths = [p for p in args.paths if p not in skipped]
        if not args.paths:
            return 0
    model = load_for_inference(args)
    audio = read_inputs(args.paths)
    if args.adapt_speaker:
        model = _speaker_adapted(model, list(audio.values()), "the input")
    if output_dir:
        output_dir.mkdir(parents=True, exist_ok=True)
    options = decoding_options(args)
    if models_lm(args, model, "transcribe"):
        options["lm"] = True
    options["word_timestamps"] = args.word_timestamps or args.format in ("json", "srt", "vtt")
    many = len(args.paths) > 1
    failed = 0

    def emit(path: str, transcript) -> None:
        if output_dir is not None:
            write_output(
                output_dir / (names[path] + SUFFIXES[args.format]), format_transcript(transcript, args.format, path)
            )
        elif args.format == "text" and many:
            tqdm.write(f"{path}\t{transcript.text}")
        else:
            tqdm.write(format_transcript(transcript, args.format, path), end="")

    bar = tqdm(total=len(args.paths), unit="file", desc="transcribe", disable=None if many else True)
    for start in range(0, len(args.paths), args.batch_size):
        chunk = args.paths[start : start + args.batch_size]
        try:  # a batch at once; if any file in it is bad, file by file so the others still come out
            inputs = [audio[path] for path in chunk]
            results = list(
                zip(chunk, model.transcribe_batch(inputs, batch_size=args.batch_size, progress=not many, **options))
            )
        except AudioError:
            results = []
            for path in chunk:
                try:
                    results.append((path, model.transcribe(audio[path], progress=not many, **options)))
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
    from .loading import load_model

    paths = expand_directories(args.paths) + ([u.audio for u in read_manifest(args.manifest)] if args.manifest else [])
    if not paths:
        raise ModelError("adapt: no audio: give the speaker's files, or --manifest")
    settings = SpeakerAdaptation(steps=args.steps, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    model = load_model(args.model, device=args.device)
    if Path(args.out).resolve() == model.path.resolve():
        raise ModelError(f"--out {args.out}: the model's own directory; write the adapted model to another one")
    apply_reading_options(model, args)
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
    from .loading import load_model
    from .vad import VadEndpoint

    model = load_model(args.model, device=args.device, backend=args.backend, streaming=True)
    decoding = {"lm": models_lm(args, model, "stream") or args.lm_dir or args.lm or None, **hotword_options(args)}
    if "hotwords" in decoding and not decoding["lm"]:
        raise ASRError("--hotwords need the LM (a model with an lm/, --lm or --lm-dir; not --no-lm)")
    if args.commit_pause is not None:
        if not decoding["lm"]:
            raise ASRError("--commit-pause needs the LM (a model with an lm/, --lm or --lm-dir; not --no-lm)")
        decoding["commit_pause"] = args.commit_pause
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
    run(model, pieces, args.chunk_ms, args.left_ms, args.format, not args.no_partials, endpoint, decoding)
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``asr`` parser's subcommands."""
    _register_evaluate(sub)
    _register_transcribe(sub)
    _register_adapt(sub)
    _register_stream(sub)


def _register_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="WER/CER of a model on one or more manifests")
    add_model_option(p)
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
    add_inference_options(p, batch_size=16)
    p.set_defaults(func=_cmd_evaluate)


def _register_transcribe(sub) -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="audio files (wav, flac, ogg, mp3; m4a, mp4, webm ... with ffmpeg) or directories of them; - reads "
        "one from stdin",
    )
    add_model_option(p)
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
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="with --output-dir: skip the inputs whose output file is already there (a killed batch goes on "
        "where it stopped)",
    )
    add_inference_options(p, batch_size=8)
    add_no_lm_option(p, "greedy, or lexicon-free beam search with --beam-size")
    p.set_defaults(func=_cmd_transcribe)


def _register_adapt(sub) -> None:
    from .adapt import SpeakerAdaptation

    p = sub.add_parser(
        "adapt",
        help="adapt a model to one speaker's voice and recording from their audio (no transcripts); writes a "
        "model directory that transcribes that speaker at the cost of plain decoding",
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="the speaker's audio files (any length), or directories of them"
    )
    p.add_argument("--manifest", help="also (or instead) the audio of a JSON-lines manifest (its texts are not read)")
    add_model_option(p)
    p.add_argument("--out", required=True, help="the adapted model directory to write")
    defaults = SpeakerAdaptation()
    p.add_argument(
        "--steps",
        type=whole(1),
        help=f"Adam steps (default: {defaults.passes:g} passes over the segments, at most {defaults.max_steps})",
    )
    p.add_argument("--lr", type=positive, default=defaults.lr, help=f"learning rate (default {defaults.lr})")
    p.add_argument(
        "--batch-size",
        type=whole(1),
        default=defaults.batch_size,
        help=f"segments per step (default {defaults.batch_size})",
    )
    p.add_argument("--seed", type=whole(0), default=defaults.seed, help="order of the segments")
    add_reading_options(p)
    add_device_options(p)
    p.set_defaults(func=_cmd_adapt)


def _register_stream(sub) -> None:
    p = sub.add_parser("stream", help="live recognition: audio from stdin, a file or a microphone; words as spoken")
    p.add_argument("source", nargs="?", help="- for stdin (raw 16-bit PCM, or a WAV stream), or an audio file")
    p.add_argument("--model", help="a streaming model directory or bundled name (default: the bundled streaming model)")
    p.add_argument("--mic", action="store_true", help="the default microphone (needs: pip install 'asr[mic]')")
    p.add_argument("--rate", type=whole(1), default=16000, help="sample rate of raw PCM on stdin (default 16000)")
    p.add_argument("--channels", type=whole(1), default=1, help="interleaved channels of raw PCM on stdin (default 1)")
    p.add_argument("--realtime", action="store_true", help="read FILE no faster than it plays")
    p.add_argument("--chunk-ms", type=positive, default=320, help="audio per decoding step (default 320)")
    p.add_argument(
        "--left-ms", type=nonnegative, default=3600, help="attention context before each chunk (default 3600)"
    )
    p.add_argument(
        "--vad",
        choices=["auto", "silero", "ctc"],
        default="auto",
        help="what ends a segment: silero (Silero VAD), ctc (no new token from the recognizer for a "
        "while) or auto (silero when installed, default)",
    )
    p.add_argument(
        "--endpoint-silence",
        type=positive,
        help="seconds of silence that end a segment (default 0.5 with silero, 0.8 with ctc)",
    )
    p.add_argument("--max-segment", type=positive, default=20.0, help="longest segment in seconds (default 20)")
    p.add_argument(
        "--commit-pause",
        type=nonnegative,
        help="with the LM: seconds of silence after which the words so far are final, the search starting "
        "afresh (default 0.2; 0: only at the segment's end)",
    )
    p.add_argument(
        "--format",
        choices=["text", "jsonl"],
        default="text",
        help="text: START END TEXT per segment on stdout, partials on stderr; jsonl: partial and final "
        "objects on stdout",
    )
    p.add_argument("--no-partials", action="store_true", help="only the final segments")
    p.add_argument("--lm", action="store_true", help="beam search with the model's own n-gram LM (its lm/ directory)")
    p.add_argument("--lm-dir", help="beam search with this LM directory (from `asr lm build`)")
    add_no_lm_option(p, "greedy")
    add_hotword_options(p)
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="onnx: the encoder step from MODEL/model-stream.onnx (asr export) in onnxruntime",
    )
    add_device_options(p)
    p.set_defaults(func=_cmd_stream)
