"""The classic engines of the synthetic corpus: espeak-ng, flite and festival. Their voices, which split each
belongs to (held-out voices for dev and test), and speaking one job's sentence with one of them.

Usage (a library of synthesize.py; to see which voices a corpus would use):
    python recipes/synthetic/classic_voices.py
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synthesize import Job

ACCENTS = ["en-us", "en", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
# Variants that do not sound like speech a recognizer should learn (whispers, effects).
EXCLUDED_VARIANTS = {"whisper", "whisperf", "Demonic", "croak", "UniRobot", "anikaRobot"}
FLITE_VOICES = {"train": ["kal", "kal16", "slt"], "dev": ["awb"], "test": ["rms"]}
# festival voice -> its Debian package; training only, and only with --engine festival
FESTIVAL_VOICES = {
    "ked_diphone": "festvox-kdlpc16k",
    "kal_diphone": "festvox-kallpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}
PITCH_DRAW = (0.25, 0.75)  # each utterance's pitch setting (Job.pitch) is drawn uniformly from this


def espeak_variants() -> list[str]:
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = [line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if line.strip()]
    return sorted({n for n in names if n not in EXCLUDED_VARIANTS}, key=str.lower)


def voices_by_split() -> dict[str, list[str]]:
    """Held-out voices: every 8th espeak variant is test-only, the next dev-only; flite voices as listed."""
    split_of = {0: "test", 1: "dev"}
    voices: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for i, variant in enumerate(espeak_variants()):
        voices[split_of.get(i % 8, "train")].append(f"espeak:+{variant}")
    for split, names in FLITE_VOICES.items():
        voices[split] += [f"flite:{n}" for n in names]
    return voices


def male_f0(pitch: float) -> float:
    """A male voice's mean F0 (Hz) for a pitch draw: 115-185 Hz over PITCH_DRAW (flite's and festival's)."""
    return 80 + 140 * pitch


def festival_voices() -> list[str]:
    """The festival voices installed (festival's own list)."""
    out = subprocess.run(
        ["festival", "--pipe"], input="(print (voice.list))", capture_output=True, text=True, check=True
    ).stdout
    return out.strip().strip("()").split()


def festival_command(name: str, job: Job) -> list[str]:
    """text2wave with the voice, its speed (job.rate) and, for the diphone voices, a mean pitch from job.pitch."""
    if name.endswith("_hts"):  # HTS makes its own pitch; its engine's -r is the speed
        prosody = [f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {job.rate:.3f}))))']
    else:  # the first target_f0_mean in int_lr_params wins: put the drawn one in front of the voice's own
        prosody = [
            f"(Parameter.set 'Duration_Stretch {1 / job.rate:.3f})",
            f"(set! int_lr_params (cons (list 'target_f0_mean {male_f0(job.pitch):.0f}) int_lr_params))",
        ]
    # one expression per -eval: text2wave evaluates only the first of several in one
    return ["text2wave", "-eval", f"(voice_{name})", *(arg for e in prosody for arg in ("-eval", e))]


def speak(job: Job, wav: str, rng: random.Random) -> None:
    """Say ``job.text`` into the WAV file ``wav`` with the job's voice (engine:name), speed and pitch; an espeak-ng
    voice gets an accent drawn with ``rng``. Raises when the engine fails."""
    engine, name = job.voice.split(":", 1)
    if engine == "festival":  # text2wave exits 0 even when it fails: no file is then the sign
        text = Path(wav).with_suffix(".txt")
        text.write_text(job.text.lower() + "\n")
        subprocess.run([*festival_command(name, job), str(text), "-o", wav], check=True, capture_output=True)
        if not Path(wav).is_file():
            raise RuntimeError(f"festival voice {name} wrote no audio")
        return
    if engine == "espeak":
        voice = rng.choice(ACCENTS) + name
        data = [f"--path={job.espeak_path}"] if job.espeak_path else []  # random voices: their own data folder
        cmd = [
            "espeak-ng",
            *data,
            "-v",
            voice,
            "-s",
            str(int(165 * job.rate)),
            "-p",
            str(int(100 * job.pitch)),
            "-w",
            wav,
            job.text.lower(),
        ]
    else:
        if job.flite_f0:  # the pitch draw spread over the asked range
            low, high = job.flite_f0
            mean = low + (high - low) * (job.pitch - PITCH_DRAW[0]) / (PITCH_DRAW[1] - PITCH_DRAW[0])
        else:
            mean = male_f0(job.pitch) if name in ("kal", "kal16", "awb", "rms") else 140 + 120 * job.pitch
        cmd = [
            "flite",
            "-voice",
            name,
            "--setf",
            f"duration_stretch={1 / job.rate:.3f}",
            "--setf",
            f"int_f0_target_mean={mean:.0f}",
            "-t",
            job.text.lower(),
            "-o",
            wav,
        ]
    subprocess.run(cmd, check=True, capture_output=True)


if __name__ == "__main__":
    print(json.dumps(voices_by_split(), indent=1))
