"""Synthesize the tiny spoken fixtures under tests/data/tiny/ (run once; the outputs are committed).

Usage:
    python tests/data/make_fixtures.py      # needs espeak-ng and sox (apt-get install espeak-ng sox)
"""

import json
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

SENTENCES = [
    "HELLO WORLD",
    "OPEN THE DOOR",
    "GOOD MORNING SIR",
    "IT IS RAINING",
    "THE BLUE SKY",
    "DON'T STOP NOW",
    "TURN LEFT HERE",
    "SEVEN GREEN APPLES",
]


def main() -> None:
    out = Path(__file__).parent / "tiny"
    out.mkdir(exist_ok=True)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(SENTENCES):
            uid = f"tiny-{i:02d}"
            raw = Path(tmp) / f"{uid}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text.lower()], check=True)
            flac = out / f"{uid}.flac"
            # 16 kHz mono; trim leading/trailing silence so the clips stay short
            subprocess.run(
                ["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(flac),
                 "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse", "pad", "0.1", "0.1"],
                check=True,
            )
            info = sf.info(str(flac))
            lines.append({"id": uid, "audio": flac.name, "duration": round(info.frames / info.samplerate, 4), "text": text})
    (out / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


if __name__ == "__main__":
    main()
