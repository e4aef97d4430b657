"""LibriSpeech -> JSON-lines manifests (one per subset, plus train.jsonl over the training subsets).

Usage:
  python recipes/librispeech/prepare.py --root /data/LibriSpeech --out data/librispeech
  python recipes/librispeech/prepare.py --download dev-clean test-clean --download-dir /data --out data/librispeech

The root holds subset folders (``dev-clean/SPEAKER/CHAPTER/SPEAKER-CHAPTER-NNNN.flac`` + ``.trans.txt``),
directly or under ``LibriSpeech/`` as the archives unpack. Every problem is reported and skipped, never
fatal for the rest: a transcript line without its FLAC, a FLAC without a transcript line, an unreadable
FLAC, an empty chapter. Durations are read from the FLAC headers in parallel with a progress bar.

--download fetches from openslr.org (resource 12) with resumable HTTP range requests, checks each archive's
SHA-256 (the values torchaudio publishes) and unpacks it; without a network it stops at once with a clear
message. Nothing is downloaded unless asked.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tarfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from asr.data import Utterance, write_manifest
from asr.tokenizer import normalize_text

SUBSETS = [
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
]
TRAIN_SUBSETS = SUBSETS[:3]
BASE_URL = "https://www.openslr.org/resources/12/"
SHA256 = {
    "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
    "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
    "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
}


class PrepareError(Exception):
    pass


# ----------------------------------------------------------------------------------------------- download
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(subset: str, directory: Path, base_url: str = BASE_URL, timeout: float = 15.0) -> Path:
    """Fetch SUBSET.tar.gz into ``directory`` (resuming a partial ``.part`` file), verify, unpack; returns
    the folder that holds the subset."""
    if subset not in SHA256:
        raise PrepareError(f"unknown subset {subset!r}; choose from {', '.join(SUBSETS)}")
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / f"{subset}.tar.gz"
    part = archive.with_name(archive.name + ".part")
    if not archive.exists():
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(base_url + archive.name, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except (urllib.error.URLError, OSError) as e:
            raise PrepareError(
                f"cannot download {base_url}{archive.name}: {getattr(e, 'reason', e)}. This machine seems to "
                f"be offline: fetch the archive elsewhere, put it in {directory} and run again, or pass --root"
            ) from None
        resumed = have and response.status == 206
        total = int(response.headers.get("Content-Length", 0)) + (have if resumed else 0)
        with (
            response,
            part.open("ab" if resumed else "wb") as f,
            tqdm(
                total=total or None, initial=have if resumed else 0, unit="B", unit_scale=True, desc=archive.name
            ) as bar,
        ):
            for block in iter(lambda: response.read(1 << 20), b""):
                f.write(block)
                bar.update(len(block))
        part.rename(archive)
    if _sha256(archive) != SHA256[subset]:
        bad = archive.with_name(archive.name + ".corrupt")
        archive.rename(bad)
        raise PrepareError(f"{archive}: SHA-256 mismatch (kept as {bad.name}); download it again")
    target = directory / "LibriSpeech" / subset
    if not target.is_dir():
        with tarfile.open(archive) as tar:
            tar.extractall(directory, filter="data")
    return target


# ----------------------------------------------------------------------------------------------- scanning
def find_subset(root: Path, subset: str) -> Path | None:
    for candidate in (root / subset, root / "LibriSpeech" / subset):
        if candidate.is_dir():
            return candidate
    return None


def scan_subset(folder: Path) -> tuple[list[tuple[str, Path, str]], list[str]]:
    """(id, flac, text) for every transcript line with its audio, and the problems found."""
    items, problems = [], []
    for speaker in sorted(p for p in folder.iterdir() if p.is_dir()):
        for chapter in sorted(p for p in speaker.iterdir() if p.is_dir()):
            flacs = {p.stem: p for p in chapter.glob("*.flac")}
            transcripts = sorted(chapter.glob("*.trans.txt"))
            if not flacs and not transcripts:
                problems.append(f"{chapter}: empty chapter (no FLAC, no transcript)")
                continue
            if not transcripts:
                problems.append(f"{chapter}: no .trans.txt; {len(flacs)} FLAC file(s) skipped")
                continue
            seen: set[str] = set()  # ids with a transcript line (used or reported)
            for trans in transcripts:
                for lineno, line in enumerate(trans.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                    if not line.strip():
                        continue
                    uid, _, text = line.strip().partition(" ")
                    if uid not in flacs:
                        problems.append(f"{trans}:{lineno}: {uid}: transcript line without audio")
                        continue
                    seen.add(uid)
                    if not normalize_text(text):
                        problems.append(f"{trans}:{lineno}: {uid}: empty transcript")
                        continue
                    items.append((uid, flacs[uid], normalize_text(text)))
            for uid in sorted(set(flacs) - seen):
                problems.append(f"{flacs[uid]}: audio without a transcript line")
    return items, problems


def _duration(path: Path) -> float | str:
    try:
        info = sf.info(str(path))
        if info.frames == 0:
            return f"{path}: contains no samples"
        return info.frames / info.samplerate
    except Exception as e:  # libsndfile raises several types
        return f"{path}: unreadable FLAC ({str(e).strip()})"


def prepare_subset(folder: Path, jobs: int) -> tuple[list[Utterance], list[str]]:
    items, problems = scan_subset(folder)
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        durations = list(
            tqdm(pool.map(_duration, [p for _, p, _ in items]), total=len(items), desc=folder.name, unit="file")
        )
    utts = []
    for (uid, path, text), duration in zip(items, durations):
        if isinstance(duration, str):
            problems.append(duration)
        else:
            utts.append(Utterance(uid, str(path.resolve()), duration, text))
    return utts, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="folder holding the subsets (or LibriSpeech/ with them)")
    parser.add_argument("--download", nargs="*", default=[], metavar="SUBSET", help="fetch these subsets first")
    parser.add_argument("--download-dir", type=Path, help="where downloads go (default: --root, else data/)")
    parser.add_argument("--subsets", nargs="*", default=SUBSETS, help="subsets to prepare (those present)")
    parser.add_argument("--train-subsets", nargs="*", default=TRAIN_SUBSETS, help="combined into train.jsonl")
    parser.add_argument("--out", type=Path, default=Path("data/librispeech"))
    parser.add_argument("--jobs", type=int, default=8, help="parallel header reads")
    args = parser.parse_args(argv)
    try:
        root = args.root
        if args.download:
            where = args.download_dir or root or Path("data")
            for subset in args.download:
                download(subset, where)
            root = root or where
        if root is None:
            raise PrepareError("give --root DIR (an unpacked LibriSpeech) or --download SUBSET ...")
        if not root.is_dir():
            raise PrepareError(f"{root}: no such directory")
        all_problems, train, prepared = [], [], []
        for subset in args.subsets:
            folder = find_subset(root, subset)
            if folder is None:
                continue
            utts, problems = prepare_subset(folder, args.jobs)
            all_problems += problems
            write_manifest(args.out / f"{subset}.jsonl", utts, relative=False)
            prepared.append(subset)
            hours = sum(u.duration for u in utts) / 3600
            print(
                f"{subset}: {len(utts)} utterances, {hours:.2f} h, {len(problems)} problem(s) "
                f"-> {args.out / subset}.jsonl"
            )
            if subset in args.train_subsets:
                train += utts
        if not prepared:
            raise PrepareError(f"{root}: none of {', '.join(args.subsets)} found")
        if train:
            write_manifest(args.out / "train.jsonl", train, relative=False)
            print(f"train.jsonl: {len(train)} utterances, {sum(u.duration for u in train) / 3600:.2f} h")
        report = args.out / "prepare-problems.txt"
        report.write_text("".join(p + "\n" for p in all_problems))
        for p in all_problems[:20]:
            print(f"skipped: {p}", file=sys.stderr)
        if len(all_problems) > 20:
            print(f"... {len(all_problems) - 20} more in {report}", file=sys.stderr)
        return 0
    except PrepareError as e:
        print(f"prepare.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
