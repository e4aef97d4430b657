"""The model on test sentences spoken by espeak-ng's RicishayMax3 (a training variant with a strong echo 200 ms
late) with the echo moved to other delays: is the held-out RicishayMax variants' difficulty (100 and 150 ms) the
delay, or the kind of voice?

Usage:
    python benchmarks/echo_delay.py --model exp/synthetic-hop/model-avg5 [--delays 100 150 200 300] [--n 40]

Copies of the variant file, differing only in the echo line's delay, go into a temporary copy of espeak-ng's
data folder; benchmarks/voices.py's probe speaks the first N test sentences with each (no augmentation, the
same rates and pitches for every copy) and scores the model greedily.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path


try:  # the synthetic recipe's own modules: run with PYTHONPATH=recipes/synthetic
    from random_voices import espeak_data_dir
except ImportError as e:
    raise SystemExit(f"{e}: run this benchmark with PYTHONPATH=recipes/synthetic (it uses the recipe's voices)")
from voices import probe

BASE = "RicishayMax3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: the bundled default)")
    parser.add_argument("--manifest", type=Path, default=Path("data/synthetic/test.jsonl"))
    parser.add_argument("--delays", type=int, nargs="+", default=[100, 150, 200, 300], help="echo delays (ms)")
    parser.add_argument("--n", type=int, default=40, help="test sentences per delay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "espeak-ng-data"
        shutil.copytree(espeak_data_dir(), data)
        base = (data / "voices" / "!v" / BASE).read_text()
        if not re.search(r"^echo \d+ ", base, re.M):
            sys.exit(f"{BASE} has no echo line: {base!r}")
        for delay in args.delays:
            text = re.sub(r"^echo \d+ ", f"echo {delay} ", base, flags=re.M).replace(
                f"name {BASE}", f"name echo{delay}"
            )
            (data / "voices" / "!v" / f"echo{delay}").write_text(text)
        rows = probe(args.model, args.manifest, [f"espeak:+echo{d}" for d in args.delays], args.n, espeak_path=tmp)
    print(f"first {args.n} sentences of {args.manifest}, unaugmented, by {BASE} with its echo at each delay:\n")
    print("| echo delay | WER | words |\n|---:|---:|---:|")
    for delay, (_, wer, words) in zip(args.delays, rows):
        print(f"| {delay} ms{' (its own)' if f'echo {delay} ' in base else ''} | {100 * wer:.1f}% | {words} |")


if __name__ == "__main__":
    main()
