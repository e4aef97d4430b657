"""What the PATH arguments of the ``asr`` commands stand for (files, the audio files under a directory, ``-``
for an audio file on stdin) and the distinct output file names they get."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .audio import AUDIO_EXTENSIONS
from .errors import AudioError

__all__ = ["output_names", "expand_directories", "read_inputs", "write_output"]


def output_names(paths: list[str]) -> dict[str, str]:
    """A distinct output name (without suffix) per input: its stem, or where stems collide (d1/x.wav,
    d2/x.wav) its path from the colliding files' common folder with '/' as '__' (d1__x, d2__x), the
    extension kept if that is not enough (a/x.wav, a/x.flac -> x.wav, x.flac); ``-`` (stdin) is ``stdin``."""
    groups: dict[str, list[Path]] = {}
    for p in dict.fromkeys(paths):
        groups.setdefault("stdin" if p == "-" else Path(p).stem, []).append(Path(p))
    names = {}
    for stem, group in groups.items():
        if len(group) == 1:
            names[str(group[0])] = stem
            continue
        full = [p.resolve() for p in group]
        common = Path(os.path.commonpath([str(f.parent) for f in full]))
        relative = [f.relative_to(common) for f in full]
        bare = [r.with_suffix("") for r in relative]
        for p, r, b in zip(group, relative, bare):
            names[str(p)] = "__".join((r if bare.count(b) > 1 else b).parts)
    return {p: names[str(Path(p))] for p in paths}


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename: a run killed mid-write leaves no half
    file under the output's name (so ``--skip-existing`` never takes one for done)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def expand_directories(paths: list[str]) -> list[str]:
    """PATH arguments with each directory replaced by the audio files under it (any depth, by extension:
    asr.audio.AUDIO_EXTENSIONS), sorted; a directory without any is an AudioError."""
    expanded = []
    for path in paths:
        if path == "-" or not Path(path).is_dir():
            expanded.append(path)
            continue
        found = sorted(str(f) for f in Path(path).rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file())
        if not found:
            raise AudioError(f"{path}: a directory with no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
        expanded += found
    return expanded


def read_inputs(paths: list[str]) -> dict:
    """What each PATH argument stands for: the path itself, or for ``-`` the bytes of the audio file on stdin
    (``ffmpeg -i talk.mp4 -f wav - | asr transcribe -``)."""
    audio: dict = {path: path for path in paths}
    if "-" in audio:
        audio["-"] = _Stdin(sys.stdin.buffer.read())
    return audio


class _Stdin(bytes):
    """The bytes read from stdin, named so in messages (asr.audio.load_audio reads ``name``)."""

    name = "stdin"
