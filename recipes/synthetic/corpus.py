"""Build the synthetic corpus a YAML file describes: speech sets, non-speech clips and training lists.

The file (conf/corpus.yaml is the bundled model's) has two parts:

``sets``: one entry per call of a synthesizer of this recipe, its options as in that script's --help
(``key: value`` -> ``--key value``; a list value gives several arguments; ``true`` a bare flag):
    tool: classic    synthesize.py: espeak-ng, flite and festival voices (dev and test voices held out);
                     ``text: short`` speaks short_text.py's utterances instead of book sentences
    tool: kokoro     kokoro_voices.py: Kokoro-82M's natural voices (dev and test voices held out)
    tool: nonspeech  nonspeech.py: silence, noise, hum, clicks and tones with empty transcripts
``lists``: training lists joined from the sets' manifests, ``NAME*K`` taking one K times (under new ids).

Every tool keeps what it already made, so a rerun continues; a set whose tool cannot run here (Kokoro without
kokoro_setup.py's files) is an error naming the set, unless ``--skip`` names its tool.

Usage: python recipes/synthetic/corpus.py --config recipes/synthetic/conf/corpus.yaml --text data/synthetic/text
       --short data/synthetic/short --out data/synthetic [--jobs 2] [--skip kokoro] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TOOLS = {"classic": "synthesize.py", "kokoro": "kokoro_voices.py", "nonspeech": "nonspeech.py"}


def set_name(entry: dict) -> str:
    """The manifest a set entry writes (without .jsonl), as its tool names it."""
    tool = entry["tool"]
    if tool == "classic":
        return (
            entry.get("train-name", "train")
            if entry.get("splits", "dev,test,train") == "train"
            else entry.get("splits")
        )
    if tool == "kokoro":
        return entry.get("name") or f"kokoro_{entry['split']}"
    return f"nonspeech_{entry['split']}"


def arguments(options: dict) -> list[str]:
    args = []
    for key, value in options.items():
        if value is True:
            args.append(f"--{key}")
        elif isinstance(value, list):
            args += [f"--{key}", *map(str, value)]
        elif value is not False and value is not None:
            args += [f"--{key}", str(value)]
    return args


def short_text_dir(short: Path, out: Path) -> Path:
    """short_text.py's utterances as a text folder synthesize.py reads (train/dev/test.txt, normalized)."""
    folder = out / "short_text"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        lines = [line.split("\t")[1] for line in (short / f"{split}.tsv").read_text().splitlines() if "\t" in line]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


def command(entry: dict, text: Path, short: Path, out: Path, jobs: int) -> list[str]:
    options = {k: v for k, v in entry.items() if k not in ("tool", "text")}
    tool = entry["tool"]
    script = [sys.executable, str(HERE / TOOLS[tool])]
    if tool == "classic":
        source = short_text_dir(short, out) if entry.get("text") == "short" else text
        return script + ["--text", str(source), "--out", str(out), "--jobs", str(jobs)] + arguments(options)
    if tool == "kokoro":
        return (
            script
            + ["--text", str(text), "--short", str(short), "--out", str(out), "--jobs", str(jobs)]
            + arguments(options)
        )
    return script + ["--out", str(out)] + arguments(options)


def join_lists(lists: dict, out: Path) -> None:
    """Each training list: its sets' manifests, ``NAME*K`` K times (copies after the first under new ids)."""
    for name, parts in lists.items():
        lines = []
        for part in parts:
            base, _, times = str(part).partition("*")
            records = (out / f"{base}.jsonl").read_text().splitlines()
            for copy in range(int(times or 1)):
                for line in records:
                    record = json.loads(line)
                    if copy:
                        record["id"] = f"{record['id']}~{copy + 1}"
                    lines.append(json.dumps(record))
        (out / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        hours = sum(json.loads(line)["duration"] for line in lines) / 3600
        print(f"{name}: {len(lines)} utterances, {hours:.2f} h ({', '.join(map(str, parts))})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--text", required=True, help="prepare_text.py's folder")
    parser.add_argument("--short", required=True, help="short_text.py's folder")
    parser.add_argument("--out", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(TOOLS), help="tools not to run")
    parser.add_argument("--only", nargs="*", default=[], help="only these sets (manifest names)")
    args = parser.parse_args(argv)
    try:
        config = yaml.safe_load(Path(args.config).read_text())
    except (OSError, yaml.YAMLError) as e:
        parser.error(f"{args.config}: {e}")
    if not isinstance(config, dict) or not isinstance(config.get("sets"), list):
        parser.error(f"{args.config}: expected `sets:` (a list) and optionally `lists:` (a mapping)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    made = set()
    for i, entry in enumerate(config["sets"]):
        if not isinstance(entry, dict) or entry.get("tool") not in TOOLS:
            parser.error(f"{args.config}: set {i + 1}: `tool` must be one of {', '.join(TOOLS)}")
        name = set_name(entry)
        if entry["tool"] in args.skip or (args.only and name not in args.only):
            continue
        print(f"== {name} ({entry['tool']})", flush=True)
        result = subprocess.run(command(entry, Path(args.text), Path(args.short), out, args.jobs))
        if result.returncode:
            print(f"corpus.py: set {name} failed (exit {result.returncode}); rerun to continue", file=sys.stderr)
            return result.returncode
        made.add(name)
    lists = config.get("lists") or {}
    missing = sorted(
        {
            str(p).partition("*")[0]
            for parts in lists.values()
            for p in parts
            if not (out / f"{str(p).partition('*')[0]}.jsonl").is_file()
        }
    )
    if missing:
        print(f"corpus.py: lists not joined: {', '.join(missing)} not made yet", file=sys.stderr)
        return 1
    join_lists(lists, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
