"""Speak book sentences and short utterances with Kokoro-82M's English voices into a 16 kHz FLAC corpus.

Usage (after kokoro_setup.py; text from prepare_text.py, short utterances from short_text.py):
    python recipes/synthetic/kokoro_voices.py --kokoro data/kokoro --text data/synthetic/text \
        --short data/synthetic/short --out data/synthetic --split train --hours 4 --jobs 2

Speakers: Kokoro v1.0's 28 English voices (American and British, women and men). Whole voices are held out:
TEST_VOICES speak only test, DEV_VOICES only dev, the rest only train. A speaker is one voice or a convex
blend of two or three voices of the same split (their style tensors mixed with Dirichlet weights), so no
held-out voice enters training in any blend. Each utterance also gets a speaking rate and a vocal-tract
factor (the 24 kHz output read as if recorded at 24 kHz x factor: pitch and formants move together, as a
smaller or larger speaker's would; Kokoro's own speed is corrected so the rate stays the one drawn).

Utterances: ``--short-share`` of them (by count) are short_text.py's (words, digits, commands, letters, names,
answers), the rest book sentences of the split, in order from ``--start``. Every utterance gets 0.05-0.4 s
(short ones 0.2-1.0 s) of silence or low noise before and after it; channel effects (telephone, codecs,
microphones, noise, reverb) are left to training (``asr.augment``), so each epoch hears them anew.

Resumable and parallel: ``--jobs`` processes, each running Kokoro on one onnxruntime thread (two such
processes made ~3 s of speech per wall second on 2 cores; one process with default threads was ~3x slower).
The job list is a pure function of the arguments, finished FLACs are kept, and the manifest lists what
exists: an interrupted run (Ctrl-C, kill) writes the manifest of what it finished, a rerun continues, and
``--collect`` only writes the manifest.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from tqdm import tqdm

from asr.audio import SAMPLE_RATE
from asr.tokenizer import normalize_text

KOKORO_RATE = 24000
ENGLISH = [
    "af_alloy",
    "af_aoede",
    "af_bella",
    "af_heart",
    "af_jessica",
    "af_kore",
    "af_nicole",
    "af_nova",
    "af_river",
    "af_sarah",
    "af_sky",
    "am_adam",
    "am_echo",
    "am_eric",
    "am_fenrir",
    "am_liam",
    "am_michael",
    "am_onyx",
    "am_puck",
    "am_santa",
    "bf_alice",
    "bf_emma",
    "bf_isabella",
    "bf_lily",
    "bm_daniel",
    "bm_fable",
    "bm_george",
    "bm_lewis",
]
# Held out whole: 2 American women, 2 American men, a British woman and a British man for test; one of each
# kind for dev. Training keeps 18 voices (8 af, 6 am, 2 bf, 2 bm).
TEST_VOICES = ["af_sarah", "af_sky", "am_michael", "am_eric", "bf_isabella", "bm_lewis"]
DEV_VOICES = ["af_kore", "am_liam", "bf_lily", "bm_daniel"]
RATE = (0.85, 1.2)  # speaking rate, 1 = Kokoro's default
TRACT = (0.92, 1.09)  # vocal-tract factor (pitch and formants x factor)
WORDS_PER_SECOND = 2.6  # Kokoro at rate 1, measured here on book sentences; only sizes the plan
DIGITAL_ZEROS = -200.0  # a pad "noise level" meaning no noise at all
SHORT_SECONDS = 1.2  # a short utterance's planned length, pads included


def voices_of(split: str) -> list[str]:
    held_out = set(TEST_VOICES) | set(DEV_VOICES)
    return {"test": TEST_VOICES, "dev": DEV_VOICES}.get(split, [v for v in ENGLISH if v not in held_out])


@dataclass
class Job:
    id: str
    spoken: str  # what Kokoro reads
    text: str  # the transcript (normalized)
    voices: list[str]
    weights: list[float]
    rate: float
    tract: float
    pads: tuple[float, float]  # seconds before and after
    noise_db: float  # the pads' noise level (dBFS RMS); DIGITAL_ZEROS or less: digital zeros
    seed: int
    path: str

    @property
    def lang(self) -> str:  # the accent of the voice with the largest weight
        main = self.voices[int(np.argmax(self.weights))]
        return "en-gb" if main.startswith("b") else "en-us"

    @property
    def speaker(self) -> str:
        return (
            "+".join(f"{v}*{w:.2f}" for v, w in zip(self.voices, self.weights))
            if len(self.voices) > 1
            else self.voices[0]
        )


def spoken_sentence(normalized: str) -> str:
    """A normalized (upper-case) book sentence as Kokoro should read it: sentence case, a final period."""
    words = [w if w == "I" or w.startswith("I'") else w.lower() for w in normalized.split()]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def draw_speaker(rng: random.Random, pool: list[str]) -> tuple[list[str], list[float]]:
    """One voice (40%), or a blend of two (40%) or three (20%) with Dirichlet(1) weights."""
    n = min(len(pool), rng.choices([1, 2, 3], [0.4, 0.4, 0.2])[0])
    voices = rng.sample(pool, n)
    raw = [rng.expovariate(1.0) for _ in voices]
    return voices, [r / sum(raw) for r in raw]


def plan(
    sentences: list[str],
    shorts: list[tuple[str, str]],
    split: str,
    seconds: float,
    out: Path,
    seed: int,
    short_share: float,
    start: int = 0,
    name: str = "",
) -> list[Job]:
    """Jobs until their estimated duration reaches ``seconds``; a pure function of its arguments."""
    name = name or f"kokoro_{split}"
    rng = random.Random(f"kokoro-{seed}-{split}-{start}")
    pool = voices_of(split)
    jobs: list[Job] = []
    total, i_sentence, i_short = 0.0, start, 0
    while total < seconds:
        short = rng.random() < short_share and i_short < len(shorts)
        if short:
            spoken, text = shorts[i_short]
            uid, i_short = f"{name}-s{i_short:06d}", i_short + 1
        elif i_sentence < len(sentences):
            spoken, text = spoken_sentence(sentences[i_sentence]), sentences[i_sentence]
            uid, i_sentence = f"{name}-{i_sentence:06d}", i_sentence + 1
        else:
            break
        voices, weights = draw_speaker(rng, pool)
        rate, tract = rng.uniform(*RATE), rng.uniform(*TRACT)
        pad_range = (0.2, 1.0) if short else (0.05, 0.4)
        pads = (rng.uniform(*pad_range), rng.uniform(*pad_range))
        noise_db = DIGITAL_ZEROS if rng.random() < 0.3 else rng.uniform(-75, -45)
        total += sum(pads) + (SHORT_SECONDS if short else len(text.split()) / WORDS_PER_SECOND / rate)
        jobs.append(
            Job(
                uid,
                spoken,
                text,
                voices,
                weights,
                rate,
                tract,
                pads,
                noise_db,
                rng.randrange(2**31),
                str(out / name / uid.rsplit("-", 1)[1][:-3] / f"{uid}.flac"),
            )
        )
    return jobs


_KOKORO = None  # each worker's Kokoro (onnxruntime session on one thread) and its voices


def _init_worker(model: str, voices: str) -> None:
    global _KOKORO
    import kokoro_onnx
    import onnxruntime

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and writes the manifest
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and ends the workers with SIGTERM: no traceback
    torch.set_num_threads(1)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    _KOKORO = (kokoro_onnx.Kokoro.from_session(session, voices), np.load(voices))


def render(job: Job, kokoro, styles) -> np.ndarray:
    """The job's 16 kHz float32 waveform: Kokoro's speech at the job's speaker, rate and tract, padded."""
    style = sum(w * styles[v] for v, w in zip(job.voices, job.weights)).astype(np.float32)
    speech, rate = kokoro.create(
        job.spoken, voice=style, speed=float(np.clip(job.rate / job.tract, 0.5, 2.0)), lang=job.lang
    )
    # read as recorded at rate x tract: pitch and formants x tract, tempo x tract (undone by Kokoro's speed);
    # soxr, since torchaudio's polyphase kernel for such a ratio (e.g. 22,080 -> 16,000 Hz) takes seconds
    wave = soxr.resample(np.asarray(speech, dtype=np.float32), rate * job.tract, SAMPLE_RATE)
    wave = wave / (np.abs(wave).max() + 1e-9) * random.Random(job.seed).uniform(0.2, 0.9)
    nrng = np.random.default_rng(job.seed)
    level = 0.0 if job.noise_db <= DIGITAL_ZEROS else 10 ** (job.noise_db / 20)
    pads = [nrng.standard_normal(int(p * SAMPLE_RATE)) * level for p in job.pads]
    return np.concatenate([pads[0], wave, pads[1]]).astype(np.float32)


def synthesize(job: Job) -> dict:
    """Make the job's FLAC unless it exists; its manifest record, or {"error": ...}."""
    path = Path(job.path)
    if not path.exists():
        try:
            wave = render(job, *_KOKORO)
        except Exception as e:  # one sentence Kokoro cannot say must not stop the corpus
            return {"error": f"{job.id} ({job.speaker}): {e}"}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.flac")
        sf.write(tmp, wave, SAMPLE_RATE, subtype="PCM_16")
        tmp.replace(path)
    return record(job)


def record(job: Job) -> dict:
    info = sf.info(job.path)
    return {
        "id": job.id,
        "audio": job.path,
        "duration": round(info.frames / info.samplerate, 4),
        "text": job.text,
        "voice": f"kokoro:{job.speaker}",
        "kind": "short" if job.id.rsplit("-", 1)[1].startswith("s") else "sentence",
    }


def write_manifest(path: Path, records: list[dict], out: Path) -> None:
    records = sorted(records, key=lambda r: r["id"])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for r in records:
            f.write(json.dumps({**r, "audio": str(Path(r["audio"]).relative_to(out))}) + "\n")
    tmp.replace(path)


def run(jobs: list[Job], workers: int, model: str, voices: str, desc: str) -> tuple[list[dict], list[str], bool]:
    """Synthesize in ``workers`` processes; (records, errors, finished). Ctrl-C or SIGTERM stops it early with
    the records made so far."""
    records, errors = [], []
    done = [record(j) for j in jobs if Path(j.path).exists()]
    todo = [j for j in jobs if not Path(j.path).exists()]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill -> KeyboardInterrupt -> manifest written
    pool = multiprocessing.Pool(workers, initializer=_init_worker, initargs=(model, voices))
    seconds = sum(r["duration"] for r in done)
    try:
        with tqdm(total=len(jobs), initial=len(done), desc=desc, unit="utt") as progress:
            for result in pool.imap_unordered(synthesize, todo, chunksize=4):
                (errors.append(result["error"]) if "error" in result else records.append(result))
                seconds += result.get("duration", 0.0)
                progress.set_postfix(hours=f"{seconds / 3600:.2f}", refresh=False)
                progress.update()
        pool.close()
        finished = True
    except KeyboardInterrupt:
        pool.terminate()
        finished = False
    pool.join()
    return done + records, errors, finished


def read_shorts(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        spoken, _, text = line.partition("\t")
        if text and normalize_text(spoken) == text:
            pairs.append((spoken, text))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kokoro", default="data/kokoro", help="kokoro_setup.py's folder")
    parser.add_argument("--text", required=True, help="folder with train.txt, dev.txt, test.txt")
    parser.add_argument("--short", required=True, help="folder with short_text.py's train/dev/test.tsv")
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", choices=["train", "dev", "test"], required=True)
    parser.add_argument("--hours", type=float, required=True)
    parser.add_argument("--short-share", type=float, default=0.25, help="share of short utterances, by count")
    parser.add_argument("--start", type=int, default=0, help="first book sentence")
    parser.add_argument("--name", default="", help="manifest, folder and id prefix (default kokoro_SPLIT)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--collect", action="store_true", help="only write the manifest of the finished files")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (one JSON line per utterance: speaker, rate, tract, text) and stop",
    )
    args = parser.parse_args(argv)
    kokoro, text, out = Path(args.kokoro), Path(args.text), Path(args.out)
    model, voices = kokoro / "kokoro-v1.0.int8.onnx", kokoro / "voices-v1.0.npz"
    needed = [
        (text / f"{args.split}.txt", "prepare_text.py"),
        (Path(args.short) / f"{args.split}.tsv", "short_text.py"),
    ]
    if not (args.dry_run or args.collect):
        needed += [(model, "kokoro_setup.py"), (voices, "kokoro_setup.py")]
    for path, hint in needed:
        if not path.is_file():
            parser.error(f"{path}: no such file ({hint} makes it)")
    if not 0 <= args.short_share <= 1:
        parser.error("--short-share: between 0 and 1")
    sentences = [s for s in (text / f"{args.split}.txt").read_text().split("\n") if s]
    shorts = read_shorts(Path(args.short) / f"{args.split}.tsv")
    jobs = plan(
        sentences, shorts, args.split, args.hours * 3600, out, args.seed, args.short_share, args.start, args.name
    )
    name = args.name or f"kokoro_{args.split}"
    if args.dry_run:
        for job in jobs:
            print(
                json.dumps(
                    {
                        "id": job.id,
                        "speaker": job.speaker,
                        "lang": job.lang,
                        "rate": round(job.rate, 3),
                        "tract": round(job.tract, 3),
                        "spoken": job.spoken,
                        "text": job.text,
                    }
                )
            )
        return 0
    if args.collect:
        records, errors, finished = [record(j) for j in jobs if Path(j.path).exists()], [], False
    else:
        records, errors, finished = run(jobs, args.jobs, str(model), str(voices), name)
    for message in errors:
        print(f"skipped {message}", file=sys.stderr)
    write_manifest(out / f"{name}.jsonl", records, out)
    hours = sum(r["duration"] for r in records) / 3600
    state = "done" if finished else f"{len(records)} of {len(jobs)} planned (run again to continue)"
    print(
        f"{name}: {len(records)} utterances, {hours:.2f} h, {len({r['voice'] for r in records})} speakers, "
        f"{len(errors)} failed; {state}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
