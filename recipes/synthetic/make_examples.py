"""Example recordings for a bundled model: short test-book sentences spoken by held-out test voices.

Usage:
    python recipes/synthetic/make_examples.py --text data/synthetic/text/test.txt \
        --out pretrained/conformer-ctc-synthetic/examples [--count 3]

Takes the first ``count`` sentences of 6-12 words from the (shuffled) test text, in file order, and
speaks them with test-only voices, no augmentation. With ``--kokoro DIR --short TSV --nonspeech MANIFEST``
three more follow: the next such sentence and the first short utterance of the short test set, each by a
held-out Kokoro voice, and the first noise clip of a non-speech test manifest (empty transcript). Writes
example-N.flac and references.jsonl.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import kokoro_voices
from classic_voices import voices_by_split
from synthesize import Job, synthesize


def human_examples(args, sentence: str, first: int, out: Path) -> list[dict]:
    """A Kokoro sentence, a Kokoro short utterance (held-out voices) and a non-speech clip, from number ``first``."""
    short_spoken, short_text = kokoro_voices.read_shorts(Path(args.short))[0]
    kokoro_voices._init_worker(
        str(Path(args.kokoro) / "kokoro-v1.0.int8.onnx"), str(Path(args.kokoro) / "voices-v1.0.npz")
    )
    records = []
    for i, (spoken, text, voice, pads) in enumerate(
        [
            (kokoro_voices.spoken_sentence(sentence), sentence, "af_sarah", (0.1, 0.1)),
            (short_spoken, short_text, "am_michael", (0.6, 0.6)),
        ],
        first,
    ):
        job = kokoro_voices.Job(
            f"example-{i}",
            spoken,
            text,
            [voice],
            [1.0],
            1.0,
            1.0,
            pads,
            kokoro_voices.DIGITAL_ZEROS,
            i,
            str(out / f"example-{i}.flac"),
        )
        Path(job.path).unlink(missing_ok=True)
        record = kokoro_voices.synthesize(job)
        if "error" in record:
            raise RuntimeError(record["error"])
        records.append(
            {
                "id": job.id,
                "audio": Path(job.path).name,
                "duration": record["duration"],
                "text": text,
                "voice": record["voice"],
            }
        )
    manifest = Path(args.nonspeech)
    clip = next(json.loads(x) for x in manifest.read_text().splitlines() if json.loads(x)["voice"] == "nonspeech:noise")
    name = f"example-{first + 2}"
    shutil.copyfile(manifest.parent / clip["audio"], out / f"{name}.flac")
    records.append(
        {"id": name, "audio": f"{name}.flac", "duration": clip["duration"], "text": "", "voice": clip["voice"]}
    )
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--kokoro", help="kokoro_setup.py's folder: add the Kokoro and non-speech examples")
    parser.add_argument("--short", help="with --kokoro: short_text.py's test.tsv")
    parser.add_argument("--nonspeech", help="with --kokoro: nonspeech.py's test manifest")
    args = parser.parse_args(argv)
    if args.kokoro and not (args.short and args.nonspeech):
        parser.error("--kokoro needs --short and --nonspeech")
    candidates = [s for s in Path(args.text).read_text().splitlines() if 6 <= len(s.split()) <= 12]
    sentences = candidates[: args.count]
    voices = voices_by_split()["test"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for i, text in enumerate(sentences, 1):
        voice = voices[(i * 5) % len(voices)]  # spread over espeak variants and the held-out flite voice
        path = out / f"example-{i}.flac"
        path.unlink(missing_ok=True)
        record = synthesize(Job(f"example-{i}", text, voice, 1.0, 0.5, False, i, str(path)))
        if "error" in record:
            print(record["error"], file=sys.stderr)
            return 1
        records.append(
            {"id": record["id"], "audio": path.name, "duration": record["duration"], "text": text, "voice": voice}
        )
    if args.kokoro:
        records += human_examples(args, candidates[args.count], len(records) + 1, out)
    (out / "references.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for r in records:
        print(f"{r['audio']}  {r['voice']}  {r['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
