"""New espeak-ng voices for training: random variants mixed and perturbed from the training variants' files.

Usage (what ``synthesize.py --random-voices N`` does before it speaks):
    python recipes/synthetic/random_voices.py --out data/synthetic --count 300 --seed 1

espeak-ng's ~100 variants are few speakers for a recognizer to generalize from: a held-out variant is a new
timbre (formant positions and bandwidths, pitch, roughness, breath) that the model has heard nothing like.
Each random voice starts from one training variant's file, takes each of its other settings (pitch, tone,
roughness, breath, echo, voicing, klatt, ...) from another training variant with probability ``MIX``, and
moves every formant: all by one shared factor (a vocal tract length) and each by a small factor of its
own, with heights and widths jittered. Only the files of training variants are read, so dev and test
voices stay unseen (a random voice may by chance come close to one; that is what generalization means).

``echo=(LOW, HIGH)`` (``synthesize.py --echo``) gives every voice a strong echo instead of its own setting: a
delay drawn log-uniformly from LOW-HIGH ms at an amplitude of 60-100 (espeak-ng makes the same sound for every
amplitude from 100 up: measured). Among the training variants only RicishayMax3 (200 ms) has a strong echo
later than 40 ms, so a corpus of the training variants holds almost none of that kind of speech.

espeak-ng reads variants only from its data folder, so the voices live in a copy of it, one per seed,
``OUT/espeak-seedS/espeak-ng-data/voices/!v/randS-NNNN``, and are spoken with ``espeak-ng --path
OUT/espeak-seedS``: sets made with different seeds are different voices, with different names.
espeak-ng lists at most 349 voices (languages and variants together) and does not find a language that did
not fit (seen: 400 variants beside its own ~230 voices lost 4 of the 8 English accents), so the copy holds
only the English languages and the random variants, at most ``MAX_VOICES`` of them.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

PREFIX = "rand"  # voice names: rand{seed}-NNNN
MIX = 0.3  # chance that a setting other than the formants comes from a second training variant
VOICE_LENGTH = (0.9, 1.1)  # the factor that moves all formants together
FORMANT_JITTER = 0.05  # each formant's own factor: exp(N(0, this)); heights and widths get 3x this
PITCH_RANGE = (0.8, 1.25)  # pitch base and top scaled together
ECHO_AMPLITUDE = (60, 100)  # with echo=: espeak-ng's echo amplitude (%); 100 and above all sound the same
MAX_VOICES = 330  # espeak-ng's voice list holds 349 entries; the 8 English languages need room too
N_FORMANTS = 9  # espeak-ng's formants 0-8; a missing one is 100% of the default (100 100 100)
_HEADER = {"language", "name", "gender", "variants"}  # written anew for each voice


def espeak_data_dir() -> Path:
    """espeak-ng's own data folder (it prints it with --version: '... Data at: /usr/lib/.../espeak-ng-data')."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Data at:\s*(\S+)", out)
    if not match:
        raise RuntimeError(f"cannot find espeak-ng's data folder in its --version output: {out.strip()!r}")
    return Path(match.group(1))


def read_variant(path: Path) -> dict[str, list[list[str]]]:
    """A variant file as keyword -> argument lists, one per line (``formant`` has several); comments dropped."""
    settings: dict[str, list[list[str]]] = {}
    for line in path.read_text(errors="replace").splitlines():
        words = line.split("//", 1)[0].split()
        if words and words[0] not in _HEADER and not words[0].startswith("#"):  # some files comment with #
            settings.setdefault(words[0], []).append(words[1:])
    return settings


def _formants(settings: dict[str, list[list[str]]]) -> dict[int, list[float]]:
    """Formant number -> [freq, height, width, (freqadd)] percentages, the defaults filled in."""
    formants = {n: [100.0, 100.0, 100.0] for n in range(N_FORMANTS)}
    for args in settings.get("formant", []):
        numbers = [float(a) for a in args if re.fullmatch(r"-?\d+(\.\d+)?", a)]
        if len(numbers) >= 4 and 0 <= int(numbers[0]) < N_FORMANTS:
            formants[int(numbers[0])] = numbers[1:5]
    return formants


def random_variant(
    bases: list[dict[str, list[list[str]]]], rng: random.Random, name: str, echo: tuple[float, float] | None = None
) -> str:
    """The text of one new variant file: ``bases[i]`` mixed with a donor and its formants moved; with ``echo``
    (ms), a strong echo at a delay drawn log-uniformly from that range."""
    base, donor = rng.choice(bases), rng.choice(bases)
    settings = {k: v for k, v in base.items() if k != "formant"}
    for key in set(donor) - {"formant"}:
        if rng.random() < MIX:
            settings[key] = donor[key]
    if echo:
        delay = math.exp(rng.uniform(math.log(echo[0]), math.log(echo[1])))
        settings["echo"] = [[str(round(delay)), str(round(rng.uniform(*ECHO_AMPLITUDE)))]]
    length = rng.uniform(*VOICE_LENGTH)
    lines = ["language variant", f"name {name}"]
    for n, (freq, height, width, *add) in sorted(_formants(base).items()):
        freq *= length * math.exp(rng.gauss(0, FORMANT_JITTER))
        height *= math.exp(rng.gauss(0, 3 * FORMANT_JITTER))
        width *= math.exp(rng.gauss(0, 3 * FORMANT_JITTER))
        lines.append(" ".join(["formant", str(n)] + [str(round(v)) for v in (freq, height, width, *add)]))
    low, high = (float(v) for v in (settings.pop("pitch", [["82", "118"]])[0] + ["118"])[:2])
    scale = rng.uniform(*PITCH_RANGE)
    lines.append(f"pitch {round(low * scale)} {round(max(high, low) * scale)}")
    for key, arg_lists in sorted(settings.items()):
        lines += [" ".join([key] + args) for args in arg_lists]
    return "\n".join(lines) + "\n"


def variant_names(voices: list[str]) -> list[str]:
    """The espeak-ng variants among synthesize.py's voice names ("espeak:+f3" -> "f3"; flite's are skipped)."""
    return [v.split("+", 1)[1] for v in voices if v.startswith("espeak:+")]


def make_random_voices(
    out: Path, count: int, base_variants: list[str], seed: int = 0, echo: tuple[float, float] | None = None
) -> tuple[Path, list[str]]:
    """Write ``count`` random variants (with ``echo``: each with a strong echo, see random_variant) into a copy
    of espeak-ng's data under ``out``.

    Returns the folder to pass to ``espeak-ng --path`` (``out/espeak-seed{seed}``) and the voice names
    (``+rand{seed}-NNNN``). The same arguments write the same files; an existing copy of the data is reused.
    """
    if not 0 < count <= MAX_VOICES:
        raise ValueError(f"random voices: 1 to {MAX_VOICES} (espeak-ng lists at most 349 voices), not {count}")
    root = out / f"espeak-seed{seed}"
    data = root / "espeak-ng-data"
    source = espeak_data_dir()
    if not (data / "lang").is_dir():  # dictionaries and phoneme data; of the voices, the English languages only
        shutil.copytree(source, data, ignore=shutil.ignore_patterns("voices", "lang"), dirs_exist_ok=True)
        (data / "lang" / "gmw").mkdir(parents=True)
        for language in (source / "lang" / "gmw").glob("en*"):
            shutil.copy(language, data / "lang" / "gmw")
    (data / "voices" / "!v").mkdir(parents=True, exist_ok=True)
    files = [source / "voices" / "!v" / v for v in base_variants]
    bases = [read_variant(f) for f in files if f.is_file()]
    if not bases:
        raise RuntimeError(f"none of the base variants {base_variants} is in {source / 'voices' / '!v'}")
    rng = random.Random(f"random-voices-{seed}")
    names = []
    for i in range(count):
        name = f"{PREFIX}{seed}-{i:04d}"
        (data / "voices" / "!v" / name).write_text(random_variant(bases, rng, name, echo))
        names.append(f"+{name}")
    return root, names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="corpus folder (the voices go to OUT/espeak/)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from classic_voices import voices_by_split  # the split of espeak's own variants

    root, names = make_random_voices(Path(args.out), args.count, variant_names(voices_by_split()["train"]), args.seed)
    print(f"{len(names)} voices in {root / 'espeak-ng-data' / 'voices' / '!v'}; speak with espeak-ng --path {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
