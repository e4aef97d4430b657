"""Example recordings for a bundled model: short test-book sentences spoken by held-out test voices.

Usage:
    python recipes/synthetic/make_examples.py --text data/synthetic/text/test.txt \
        --out pretrained/conformer-ctc-synthetic/examples [--count 3]

Takes the first ``count`` sentences of 6-12 words from the (shuffled) test text, in file order, and
speaks them with test-only voices, no augmentation. Writes example-N.flac and references.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from synthesize import Job, synthesize, voices_by_split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args(argv)
    sentences = [s for s in Path(args.text).read_text().splitlines() if 6 <= len(s.split()) <= 12][: args.count]
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
        records.append({"id": record["id"], "audio": path.name, "duration": record["duration"], "text": text, "voice": voice})
    (out / "references.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for r in records:
        print(f"{r['audio']}  {r['voice']}  {r['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
