"""Hotwords (contextual biasing) measured: what a list of expected words does to the WER, on them and elsewhere.

For each set, the biasing list is every *rare* word of its references: a word outside the LM's most probable
``--common`` unigrams (or not in the LM at all), as in the rare-word biasing lists of the contextual-biasing
literature. One list serves the whole set, so most of its words are distractors for any one utterance (a
user's list of the names and terms of a domain, not of one recording). Each set is decoded with the model's
LM without hotwords, then with the list at each ``--scores`` bonus, and with a list of distractors only at
each bonus (the rare words of the *other* sets, none of them in this set's references: the cost of biasing
towards words that are not said). Figures, as the WER aligns the words:

* WER: all words; U-WER: reference words not in the list (and insertions of words not in it);
* B-WER: reference words in the list (and insertions of list words), per list word in the references;
* RTF: wall seconds per audio second of the whole `transcribe_batch` call (decoder construction included).

With --list WORDS...: one given list of words or phrases for every set instead (B-WER on its words), to
see what a list costs where it is not said.

With --confidence instead: how well the model's word-confidence curve for LM output (fitted without
hotwords) holds with each set's list at the default bonus: words, share right, ECE and AUROC without and
with the list (asr.confidence, as benchmarks/word_confidence.py measures them).

Usage:
    python benchmarks/hotwords.py --set real_dev=data/synthetic/real_dev.jsonl \
        --set kokoro_dev=data/synthetic/kokoro_dev.jsonl [--model DIR] [--scores 0 2 4 6] [--threads 2] \
        [--out FILE.md]
    python benchmarks/hotwords.py --confidence --set ... [--out FILE.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _tables import emit

import asr
from asr.confidence import auroc, calibration_error, word_outcomes
from asr.data import read_manifest
from asr.decoding import HOTWORD_SCORE, load_lm_config
from asr.arpa import arpa_unigrams
from asr.metrics import score
from asr.tokenizer import normalize_text


def unigram_ranks(arpa: Path) -> dict[str, int]:
    """LM words by their rank in unigram probability (0 = the most probable)."""
    entries = sorted((-logp, word) for word, logp in arpa_unigrams(arpa))
    return {word: rank for rank, (_, word) in enumerate(entries)}


def rare_words(texts: list[str], ranks: dict[str, int], common: int) -> list[str]:
    words = {w for t in texts for w in normalize_text(t).split()}
    return sorted(w for w in words if ranks.get(w, common) >= common)


def split_errors(report, listed: set[str]) -> dict:
    """Errors and reference words, split by whether the reference (or, for insertions, the hypothesis) word
    is in the list."""
    counts = {"b_err": 0, "b_ref": 0, "u_err": 0, "u_ref": 0}
    for u in report.utterances:
        for op, ref, hyp in u.alignment:
            side = "b" if (ref or hyp) in listed else "u"
            if ref:
                counts[f"{side}_ref"] += 1
            if op != "=":
                counts[f"{side}_err"] += 1
    return counts


def measure(model, utts, hotwords: list[str] | None, bonus: float | None) -> dict:
    audio_seconds = sum(u.duration for u in utts)
    started = time.perf_counter()
    transcripts = model.transcribe_batch([u.audio for u in utts], lm=True, hotwords=hotwords, hotword_score=bonus)
    elapsed = time.perf_counter() - started
    report = score([u.id for u in utts], [u.text for u in utts], [t.text for t in transcripts])
    return {"wer": report.wer.rate, "rtf": elapsed / audio_seconds, "report": report}


def confidence_rows(model, sets: dict) -> list[dict]:
    calibration = model.calibration("lm")
    if calibration is None:
        raise SystemExit(f"{model.path}: no word-confidence curve for LM output (asr tune-confidence --lm)")
    rows = []
    for name, (utts, listed) in sets.items():
        for label, hotwords in (("none", None), (f"{HOTWORD_SCORE:g}", listed)):
            audio = [u.audio for u in utts]
            transcripts = model.transcribe_batch(audio, lm=True, hotwords=hotwords, word_timestamps=True)
            scores, right = word_outcomes(transcripts, [u.text for u in utts])
            confidence, right = np.array([calibration(x) for x in scores]), np.array(right, dtype=bool)
            rows.append(
                {
                    "set": name,
                    "hotwords": label,
                    "words": int(right.size),
                    "right": float(right.mean()),
                    "ece": calibration_error(confidence, right),
                    "auroc": auroc(confidence, right),
                }
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", required=True, metavar="NAME=MANIFEST")
    ap.add_argument("--model", help="model directory with an lm/ (default: the bundled model)")
    ap.add_argument("--scores", type=float, nargs="+", default=[0.0, 2.0, 4.0, 6.0])
    ap.add_argument("--common", type=int, default=5000, help="words ranked below this many are rare (default 5000)")
    ap.add_argument(
        "--list",
        nargs="+",
        metavar="WORDS",
        help="instead of each set's rare words, this list of words or phrases (the same for every set)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--confidence", action="store_true", help="measure word confidence instead (see above)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = asr.load_model(args.model, device="cpu")
    lm = load_lm_config(model.path / "lm")
    ranks = unigram_ranks(lm.arpa_file)
    sets = {}
    for spec in args.set:
        name, manifest = spec.split("=", 1)
        utts = [u for u in read_manifest(manifest) if u.text]
        sets[name] = (utts, rare_words([u.text for u in utts], ranks, args.common))
    if args.confidence:
        rows = confidence_rows(model, sets)
        lines = [
            f"Model: {model.path}; LM decoding, its word-confidence curve; each set's rare-word list at the default "
            f"bonus; {args.threads} threads.",
            "",
            "| set | hotword score | words | right | ECE | AUROC |",
            "|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['set']} | {r['hotwords']} | {r['words']} | {100 * r['right']:.1f}% | {r['ece']:.3f} | "
            f"{r['auroc']:.3f} |"
            for r in rows
        ]
        emit("\n".join(lines) + "\n", rows, args.out)
        return
    rows = []
    for name, (utts, listed) in sets.items():
        said = {w for u in utts for w in normalize_text(u.text).split()}
        others = sorted({w for n, (_, ws) in sets.items() if n != name for w in ws} - said)
        if args.list:  # the given list, its words split out as the rare words are otherwise
            listed = sorted({w for phrase in args.list for w in normalize_text(phrase).split()})
            others = []
        runs = [("none", None, None)] + [(f"{b:g}", args.list or listed, b) for b in args.scores]
        if others:
            runs += [(f"{b:g}, distractors only", others, b) for b in args.scores]
        for label, hotwords, bonus in runs:
            result = measure(model, utts, hotwords, bonus)
            split = split_errors(result["report"], set(listed))
            words = {w for phrase in hotwords or [] for w in normalize_text(phrase).split()}
            row = {
                "set": name,
                "hotwords": label,
                "list_words": len(words),
                "list_words_not_in_lm": sum(w not in ranks for w in words),
                "wer": result["wer"],
                "u_wer": split["u_err"] / max(split["u_ref"], 1),
                "b_wer": split["b_err"] / max(split["b_ref"], 1),
                "b_ref": split["b_ref"],
                "rtf": result["rtf"],
            }
            rows.append(row)
            print(row, flush=True)
    what = f"the list {args.list}" if args.list else f"rare = outside the LM's {args.common} most probable unigrams"
    lines = [
        f"Model: {model.path}; LM decoding; {what}; {args.threads} threads.",
        "",
        "| set | hotword score | list words (not in LM) | WER % | U-WER % | B-WER % | list words said | RTF |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['hotwords']} | {r['list_words']} ({r['list_words_not_in_lm']}) | "
            f"{100 * r['wer']:.2f} | {100 * r['u_wer']:.2f} | {100 * r['b_wer']:.2f} | {r['b_ref']} | "
            f"{r['rtf']:.4f} |"
        )
    emit("\n".join(lines) + "\n", rows, args.out)


if __name__ == "__main__":
    main()
