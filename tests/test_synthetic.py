"""The synthetic-corpus recipe at a tiny scale (most tests need espeak-ng and flite; .ci/run installs them)."""

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asr.audio import SAMPLE_RATE, load_audio
from asr.data import read_manifest
from asr.arpa import arpa_words

REPO = Path(__file__).parent.parent
RECIPE = REPO / "recipes" / "synthetic"
# for the tests that speak (the others run without the synthesizers)
needs_voices = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("flite")), reason="needs espeak-ng and flite (apt-get install)"
)

BOOK = """The Project Gutenberg eBook of {title}
*** START OF THE PROJECT GUTENBERG EBOOK {title} ***

CHAPTER I.

{body}

[Illustration: a picture]

*** END OF THE PROJECT GUTENBERG EBOOK {title} ***
License text that must not be read.
"""


def _book(folder: Path, stem: str, body: str) -> None:
    (folder / f"{stem}.txt").write_text(BOOK.format(title=stem, body=body))


def _synthesize(text: Path, out: Path, *options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, RECIPE / "synthesize.py", "--text", text, "--out", out, "--jobs", "2", *options],
        capture_output=True,
        text=True,
    )


def test_text_preparation_normalizes_and_holds_out_books(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    _book(
        books,
        "Train-Book_1",
        "Mr. Holmes paid 1,250 pounds in 1845. It was the 2nd time!\nShe said no.\n\n"
        "The dog sat by the fire all night long.",
    )
    _book(books, "The-Time-Machine_35", "The traveller came back from the future at last.")
    _book(books, "The-Jungle-Book_236", "The wolf cubs played in the cave near the river.")
    subprocess.run(
        [sys.executable, RECIPE / "prepare_text.py", "--text-dir", books, "--out", tmp_path / "text"],
        check=True,
        capture_output=True,
    )
    train = (tmp_path / "text" / "train.txt").read_text().splitlines()
    assert sorted(train) == [
        "IT WAS THE SECOND TIME",
        "MISTER HOLMES PAID ONE THOUSAND TWO HUNDRED FIFTY POUNDS IN EIGHTEEN FORTY FIVE",
        "SHE SAID NO",
        "THE DOG SAT BY THE FIRE ALL NIGHT LONG",
    ]
    assert (tmp_path / "text" / "test.txt").read_text().splitlines() == [
        "THE TRAVELLER CAME BACK FROM THE FUTURE AT LAST"
    ]
    assert (tmp_path / "text" / "dev.txt").read_text().splitlines() == [
        "THE WOLF CUBS PLAYED IN THE CAVE NEAR THE RIVER"
    ]


@needs_voices
def test_tiny_corpus_has_valid_audio_and_held_out_voices(tmp_path):
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text(
        "THE CAT SAT ON THE MAT\nA BIRD IN THE HAND\nOPEN THE WINDOW PLEASE\nIT IS COLD TODAY\nTHE SUN IS UP NOW\n"
        "WE WALKED HOME\n"
    )
    (text / "dev.txt").write_text("WHERE IS THE RIVER\n")
    (text / "test.txt").write_text("THE TRAVELLER CAME BACK\nHE SAW THE FUTURE\n")
    out = tmp_path / "corpus"
    result = _synthesize(text, out, "--hours", "0.0015", "--dev-hours", "0.0005", "--test-hours", "0.001")
    assert result.returncode == 0, result.stderr
    splits = {s: read_manifest(out / f"{s}.jsonl") for s in ("train", "dev", "test")}
    assert len(splits["train"]) == 4 and len(splits["test"]) == 2
    for utts in splits.values():
        for utt in utts:
            wave = load_audio(utt.audio)
            assert abs(wave.numel() / SAMPLE_RATE - utt.duration) < 0.01 and utt.duration > 0.5
            assert 0.1 < float(wave.abs().max()) <= 1.0
    records = {s: [json.loads(line) for line in (out / f"{s}.jsonl").read_text().splitlines()] for s in splits}
    voices = {s: {r["voice"] for r in rs} for s, rs in records.items()}
    assert not voices["test"] & voices["train"] and not voices["dev"] & voices["train"]
    assert not {u.text for u in splits["test"]} & {u.text for u in splits["train"]}
    held_out = json.loads((out / "voices.json").read_text())
    assert not set(held_out["test"]) & set(held_out["train"]) and len(held_out["train"]) > 50
    # held-out sets grow with the corpus up to 1.5 h each; a smaller one is the start of a larger one (the
    # same draws), so results on either compare
    from synthesize import held_out_hours

    assert held_out_hours(0.1) == (0.3, 0.5) and held_out_hours(20) == (1.5, 1.5) and held_out_hours(10) == (0.75, 0.75)
    small = tmp_path / "small"
    assert _synthesize(text, small, "--splits", "test", "--test-hours", "0.0003").returncode == 0
    [first_test] = [json.loads(line) for line in (small / "test.jsonl").read_text().splitlines()]
    assert first_test == records["test"][0]
    assert (small / first_test["audio"]).read_bytes() == (out / records["test"][0]["audio"]).read_bytes()
    # an interrupted run continues: existing files are reused, not re-synthesized
    first = Path(splits["train"][0].audio).stat().st_mtime_ns
    subprocess.run(result.args, check=True, capture_output=True)
    assert Path(splits["train"][0].audio).stat().st_mtime_ns == first
    # a flite-only supplement from sentence 3 on: its own manifest, ids and folder; voices.json unchanged
    extra = _synthesize(
        text,
        out,
        "--hours",
        "0.0007",
        "--engine",
        "flite",
        "--splits",
        "train",
        "--start",
        "3",
        "--train-name",
        "train_flite",
    )
    assert extra.returncode == 0, extra.stderr
    flite = [json.loads(line) for line in (out / "train_flite.jsonl").read_text().splitlines()]
    assert [r["text"] for r in flite] == ["IT IS COLD TODAY", "THE SUN IS UP NOW"]
    assert [r["id"] for r in flite] == ["train_flite-000003", "train_flite-000004"]
    assert {r["voice"] for r in flite} <= {v for v in held_out["train"] if v.startswith("flite:")}
    assert all(load_audio(out / r["audio"]).numel() > SAMPLE_RATE // 2 for r in flite)
    assert json.loads((out / "voices.json").read_text()) == held_out
    assert len(read_manifest(out / "train.jsonl")) == 4
    # --start next begins after the last sentence any --after manifest used (train: 0-3, train_flite: 3-4)
    more = [
        sys.executable,
        RECIPE / "synthesize.py",
        "--text",
        text,
        "--out",
        out,
        "--hours",
        "0.0003",
        "--jobs",
        "2",
        "--splits",
        "train",
        "--start",
        "next",
        "--train-name",
        "train_more",
    ]
    assert subprocess.run(more + ["--after", "train,train_flite"], capture_output=True).returncode == 0
    assert [u.id for u in read_manifest(out / "train_more.jsonl")] == ["train_more-000005"]
    missing = subprocess.run(more + ["--after", "train,nothing"], capture_output=True, text=True)
    assert missing.returncode == 2 and "nothing.jsonl" in missing.stderr and "Traceback" not in missing.stderr


def test_missing_synthesizer_or_text_is_a_clear_error(tmp_path):
    """No espeak-ng/flite on PATH, or no prepared text: exit code 2 and a message naming what is missing."""
    text = tmp_path / "text"
    text.mkdir()
    for split in ("train", "dev", "test"):
        (text / f"{split}.txt").write_text("THE CAT SAT ON THE MAT\n")
    cmd = [sys.executable, RECIPE / "synthesize.py", "--text", text, "--out", tmp_path / "corpus"]
    bare = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": str(tmp_path)})
    assert bare.returncode == 2 and "espeak-ng and flite not found on PATH" in bare.stderr
    assert "apt-get install espeak-ng flite" in bare.stderr and "Traceback" not in bare.stderr
    (text / "dev.txt").unlink()
    no_text = subprocess.run(cmd, capture_output=True, text=True)
    assert no_text.returncode == 2 and "no dev.txt" in no_text.stderr and "Traceback" not in no_text.stderr
    assert not (tmp_path / "corpus").exists()


SENTENCES = [
    "THE CAT SAT ON THE MAT BY THE DOOR",
    "A BIRD IN THE HAND IS WORTH TWO IN THE BUSH",
    "OPEN THE WINDOW PLEASE IT IS WARM",
    "IT IS COLD TODAY SO WEAR A COAT",
    "THE SUN IS UP NOW AND THE SKY IS BLUE",
    "WE WALKED HOME ALONG THE RIVER",
    "SHE READ THE LETTER TWICE",
    "THE DOG RAN AFTER THE BALL",
    "HE PUT THE BOOK ON THE TABLE",
    "THEY SANG A SONG IN THE EVENING",
    "THE BOAT CROSSED THE LAKE AT NOON",
    "MY FRIEND LIVES IN A SMALL TOWN",
]


def test_run_sh_lists_at_most_ten_stages():
    help_text = subprocess.run(["bash", str(RECIPE / "run.sh"), "--help"], capture_output=True, text=True).stdout
    stages = [line for line in help_text.splitlines() if re.match(r"#\s+\d \w", line)]
    assert 8 <= len(stages) <= 10, help_text
    bad = subprocess.run(["bash", str(RECIPE / "run.sh"), "--stgae", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option --stgae" in bad.stderr


@needs_voices
def test_run_sh_builds_a_model_from_nothing_on_a_tiny_corpus(tmp_path):
    """Every stage of the recipe, end to end, on a corpus of a few espeak-ng utterances and a tiny network: text,
    corpus from a corpus config, tokenizer, training from scratch, fine-tuning, average and choice, LM, evaluation
    (greedy, LM, streamed and after test-time adaptation) and export of a model directory that transcribes."""
    data, exp, export = tmp_path / "data", tmp_path / "exp", tmp_path / "export"
    (data / "text").mkdir(parents=True)
    for split, lines in (
        ("train", SENTENCES[:8]),
        ("dev", SENTENCES[8:10]),
        ("test", SENTENCES[10:]),
        ("lm_train", SENTENCES[:8]),
    ):
        (data / "text" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text("""sets:
  - {tool: classic, splits: "dev,test,train", hours: 0.012, dev-hours: 0.002, test-hours: 0.002, engine: espeak}
  - {tool: classic, text: short, splits: train, hours: 0.002, train-name: train_short_classic, engine: espeak}
  - {tool: nonspeech, split: train, count: 4}
  - {tool: nonspeech, split: test, count: 4}
lists:
  train_all: [train, train_short_classic, nonspeech_train]
  train_human: [train*2, train_short_classic, nonspeech_train]
""")
    tiny = [
        "max_steps=24",
        "checkpoint_every=8",
        "batch_seconds=20",
        "num_workers=0",
        "bpe_vocab_size=48",
        "warmup_steps=4",
        "model.n_layers=1",
        "model.d_model=32",
        "model.n_heads=2",
        "model.ff_dim=64",
        "model.subsampling_channels=32",
        "model.conv_kernel=5",
        "chunk_max_frames=4",
        "chunk_left_frames=8",
    ]
    command = [
        "bash",
        str(RECIPE / "run.sh"),
        "--data",
        data,
        "--exp",
        exp,
        "--export-dir",
        export,
        "--corpus",
        corpus,
        "--no-kokoro",
        "--real",
        tmp_path / "no-real-speech.jsonl",
        "--jobs",
        "2",
        "--budget",
        "0",
        "--vocab",
        tmp_path / "words.txt",
        "--adapt",
    ]
    (tmp_path / "words.txt").write_text("zebra\n")  # a word of no sentence: the LM knows it from --vocab
    for item in tiny:
        command += ["--set", item]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # the venv's asr
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, cwd=REPO, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for n in range(10):
        assert f"stage {n}:" in result.stdout or n == 1  # stage 1 (Kokoro) is skipped with --no-kokoro
    table = (exp / "eval" / "results.md").read_text()
    for row in ("| dev | greedy |", "| test | lm |", "| test | stream320 |", "| nonspeech_test | greedy |"):
        assert row in table, table
    for row in ("| test | adapt |", "| test | lm_adapt |", "| nonspeech_test | adapt |"):
        assert row in table, table
    config = json.loads((export / "config.json").read_text())
    assert config["model"]["streaming"] and config["model"]["n_layers"] == 1
    for decoding in ("greedy", "lm"):  # stage 7 fitted word confidence, or said why not (a 24-step model)
        fitted = decoding in config["info"].get("confidence", {})
        assert fitted or f"has no {decoding} word confidence" in result.stdout, result.stdout[-2000:]
    import asr

    model = asr.load_model(export, device="cpu")
    references = read_manifest(export / "examples" / "references.jsonl")
    assert len(references) == 2 and model.has_lm  # the two test sentences, by held-out voices
    assert "ZEBRA" in arpa_words(export / "lm" / "lm.arpa")
    assert isinstance(model.transcribe(references[0].audio).text, str)
    assert (exp / "chosen.txt").read_text().strip() in {
        str(exp / "scratch" / "model-avg5"),
        str(exp / "finetune" / "model-avg5"),
        str(exp / "finetune" / "model-soup"),
        str(exp / "finetune" / "model-soup75"),
    }


@needs_voices
def test_random_voices_are_new_variants_made_from_training_variants_only(tmp_path):
    """random_voices.py writes new espeak-ng variants from the training variants' files; espeak-ng speaks
    them (a different wave from its default voice, so the variant is not silently ignored), the same seed
    writes the same files, and synthesize.py --random-voices speaks a split with them alone."""
    from random_voices import espeak_data_dir, make_random_voices, read_variant, variant_names
    from random_voices import MAX_VOICES
    from classic_voices import ACCENTS, speak, voices_by_split
    from synthesize import Job

    voices = voices_by_split()
    train = variant_names(voices["train"])
    root, names = make_random_voices(tmp_path / "a", 5, train, seed=3)
    folder = root / "espeak-ng-data" / "voices" / "!v"
    assert names == [f"+rand3-{i:04d}" for i in range(5)] and root == tmp_path / "a" / "espeak-seed3"
    texts = [(folder / n[1:]).read_text() for n in names]
    assert len(set(texts)) == 5
    _, again = make_random_voices(tmp_path / "b", 5, train, seed=3)
    assert [
        (tmp_path / "b" / "espeak-seed3" / "espeak-ng-data" / "voices" / "!v" / n[1:]).read_text() for n in again
    ] == texts
    # the formants of every voice lie within the training variants' range times the perturbation bounds
    own = espeak_data_dir() / "voices" / "!v"
    freqs = [
        float(args[1])
        for v in train
        if (own / v).is_file()
        for args in read_variant(own / v).get("formant", [])
        if len(args) > 1
    ]
    low, high = min(freqs + [100.0]), max(freqs + [100.0])
    for text in texts:
        for line in text.splitlines():
            if line.startswith("formant "):
                assert low * 0.9 * 0.8 <= float(line.split()[2]) <= high * 1.1 * 1.25, line
    waves = []
    for path in ("", str(root)):  # without its data folder espeak-ng would speak its default voice instead
        job = Job("x", "THE CAT SAT ON THE MAT", f"espeak:{names[0]}", 1.0, 0.5, False, 0, "", path)
        speak(job, str(tmp_path / f"{len(waves)}.wav"), random.Random(0))
        waves.append(load_audio(tmp_path / f"{len(waves)}.wav"))
    assert waves[0].shape != waves[1].shape or not (waves[0] == waves[1]).all()
    # as many voices as espeak-ng can list: the last one still speaks in every accent (a full voice list
    # once lost half the accents); one more is refused
    root, names = make_random_voices(tmp_path / "c", MAX_VOICES, train)
    for accent in ACCENTS:
        wav = tmp_path / "full.wav"
        subprocess.run(["espeak-ng", f"--path={root}", "-v", accent + names[-1], "-w", wav, "hello"], check=True)
        assert load_audio(wav).numel() > 1000
    with pytest.raises(ValueError, match="at most 349"):
        make_random_voices(tmp_path / "d", MAX_VOICES + 1, train)
    # a tiny random-voice corpus: only random voices speak it, and dev/test voices are untouched
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text("THE CAT SAT ON THE MAT\nA BIRD IN THE HAND\nOPEN THE WINDOW PLEASE\n")
    out = tmp_path / "corpus"
    result = _synthesize(
        text,
        out,
        "--hours",
        "0.001",
        "--splits",
        "train",
        "--engine",
        "espeak",
        "--random-voices",
        "4",
        "--train-name",
        "train_vary",
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "train_vary.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["voice"].startswith("espeak:+rand0-") for r in records)
    assert all(load_audio(out / r["audio"]).numel() > SAMPLE_RATE // 2 for r in records)
    assert json.loads((out / "voices.json").read_text()) == voices
    too_many = _synthesize(text, out, "--splits", "train", "--random-voices", str(MAX_VOICES + 1))
    assert too_many.returncode == 2 and f"--random-voices {MAX_VOICES + 1}: 1 to {MAX_VOICES}" in too_many.stderr


@needs_voices
def test_echo_voices_get_a_strong_late_echo(tmp_path):
    """random voices with echo=(60, 300): each file has one echo line, 60-300 ms late at an amplitude of 60-100,
    and espeak-ng speaks it (the wave differs from the same voice without the line); synthesize.py --echo
    needs --random-voices."""
    import re

    from random_voices import ECHO_AMPLITUDE, make_random_voices, variant_names
    from classic_voices import speak, voices_by_split
    from synthesize import Job

    root, names = make_random_voices(tmp_path / "a", 20, variant_names(voices_by_split()["train"]), 10, (60, 300))
    folder = root / "espeak-ng-data" / "voices" / "!v"
    for name in names:
        [(delay, amplitude)] = re.findall(r"^echo (\S+) (\S+)$", (folder / name[1:]).read_text(), re.M)
        assert 60 <= int(delay) <= 300 and ECHO_AMPLITUDE[0] <= int(amplitude) <= ECHO_AMPLITUDE[1]
    plain = re.sub(r"^echo .*$", "", (folder / names[0][1:]).read_text(), flags=re.M).replace(names[0][1:], "plain")
    (folder / "plain").write_text(plain)
    waves = []
    for voice in (names[0], "+plain"):
        speak(
            Job("x", "THE CAT SAT ON THE MAT", f"espeak:{voice}", 1.0, 0.5, False, 0, "", str(root)),
            str(tmp_path / "a.wav"),
            random.Random(0),
        )
        waves.append(load_audio(tmp_path / "a.wav"))
    assert waves[0].shape != waves[1].shape or (waves[0] - waves[1]).abs().max() > 0.01
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text("THE CAT SAT ON THE MAT\n")
    refused = _synthesize(text, tmp_path / "corpus", "--splits", "train", "--echo", "60", "300")
    assert refused.returncode == 2 and "--echo LOW HIGH: needs --random-voices" in refused.stderr


def _median_pitch(wave) -> float:
    """Median F0 (Hz) of a 16 kHz wave's voiced frames, by librosa's pyin."""
    import librosa
    import numpy as np

    return float(np.nanmedian(librosa.pyin(wave, fmin=60, fmax=400, sr=SAMPLE_RATE)[0]))


@needs_voices
def test_flite_f0_range_moves_the_pitch(tmp_path):
    """--flite-f0 sets flite's mean pitch: slt, the female training voice, spoken at a male 90 Hz and at 250 Hz."""
    from classic_voices import PITCH_DRAW, speak
    from synthesize import Job

    medians = []
    for f0 in (90.0, 250.0):
        job = Job(
            "x",
            "THE TRAVELLER CAME BACK FROM THE FUTURE",
            "flite:slt",
            1.0,
            PITCH_DRAW[0],
            False,
            0,
            "",
            "",
            (f0, f0 + 10),
        )
        speak(job, str(tmp_path / "a.wav"), random.Random(0))
        medians.append(_median_pitch(load_audio(tmp_path / "a.wav").numpy()))
    assert medians[0] < 115 and medians[1] > 200, medians


@pytest.mark.skipif(not shutil.which("festival"), reason="needs festival and its English voices (apt-get install)")
@needs_voices
def test_festival_engine_speaks_training_sentences_with_festivals_voices(tmp_path):
    """--engine festival: only festival's three voices speak, all in training (dev/test voices untouched);
    the drawn pitch moves a diphone voice's pitch and the drawn rate the HTS voice's length; festival
    voices are refused for dev/test."""
    import numpy as np

    from classic_voices import FESTIVAL_VOICES, speak, voices_by_split
    from synthesize import Job

    def spoken(voice: str, rate: float, pitch: float) -> np.ndarray:
        speak(
            Job("x", "THE TRAVELLER CAME BACK FROM THE FUTURE", voice, rate, pitch, False, 0, ""),
            str(tmp_path / "a.wav"),
            random.Random(0),
        )
        return load_audio(tmp_path / "a.wav").numpy()

    medians = [_median_pitch(spoken("festival:ked_diphone", 1.0, p)) for p in (0.1, 0.9)]
    assert medians[0] < 110 and medians[1] > 170, medians  # means asked: 94 and 206 Hz
    slow, fast = (len(spoken("festival:cmu_us_slt_arctic_hts", r, 0.5)) for r in (0.8, 1.25))
    assert slow > 1.3 * fast, (slow, fast)
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text(
        "THE CAT SAT ON THE MAT\nA BIRD IN THE HAND\nOPEN THE WINDOW PLEASE\n"
        "THE SUN ROSE OVER THE HILL\nWE WALKED HOME TOGETHER\nSHE READ THE LETTER TWICE\n"
    )
    out = tmp_path / "corpus"
    result = _synthesize(
        text, out, "--hours", "0.01", "--splits", "train", "--engine", "festival", "--train-name", "train_festival"
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "train_festival.jsonl").read_text().splitlines()]
    assert len(records) == 6 and {r["voice"] for r in records} <= {f"festival:{v}" for v in FESTIVAL_VOICES}
    assert len({r["voice"] for r in records}) > 1
    assert all(load_audio(out / r["audio"]).numel() > SAMPLE_RATE // 2 for r in records)
    assert json.loads((out / "voices.json").read_text()) == voices_by_split()
    refused = _synthesize(text, out, "--engine", "festival")
    assert refused.returncode == 2 and "training voices only; add --splits train" in refused.stderr


@needs_voices
def test_voices_option_speaks_training_sentences_with_the_named_voices_only(tmp_path):
    """--voices flite:awb: dev's flite voice speaks every training sentence (a dev voice may become a training
    voice); a test voice, an unknown voice or --voices with --engine is a clear error before any work."""
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text("THE CAT SAT ON THE MAT\nA BIRD IN THE HAND\nOPEN THE WINDOW PLEASE\n")
    out = tmp_path / "corpus"
    made = _synthesize(
        text, out, "--hours", "0.002", "--splits", "train", "--voices", "flite:awb", "--train-name", "train_awb"
    )
    assert made.returncode == 0, made.stderr
    assert "flite:awb is a dev voice" in made.stderr
    records = [json.loads(line) for line in (out / "train_awb.jsonl").read_text().splitlines()]
    assert len(records) == 3 and {r["voice"] for r in records} == {"flite:awb"}
    assert all(load_audio(out / r["audio"]).numel() > SAMPLE_RATE // 2 for r in records)
    for options, message in [
        (["--voices", "flite:rms"], "flite:rms is a test voice"),
        (["--voices", "flite:nobody"], "unknown voice 'flite:nobody'"),
        (["--voices", "flite:awb", "--engine", "flite"], "not with --engine"),
    ]:
        refused = _synthesize(text, tmp_path / "refused", "--splits", "train", *options)
        assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr
        assert not (tmp_path / "refused").exists()


@needs_voices
def test_world_makes_a_new_speaker_at_the_drawn_pitch(tmp_path):
    """--world: WORLD re-synthesizes each training utterance at a median F0 drawn from WORLD_F0 (slt, a woman
    at ~180 Hz, spoken as a low and a high voice); the manifest marks the voice; dev/test and Piper refused."""
    import math

    from classic_voices import speak
    from synthesize import WORLD_F0, Job, new_speaker

    speak(
        Job("x", "THE TRAVELLER CAME BACK FROM THE FUTURE", "flite:slt", 1.0, 0.5, False, 0, ""),
        str(tmp_path / "a.wav"),
        random.Random(0),
    )
    wave = load_audio(tmp_path / "a.wav").numpy().astype("float64")

    def target(seed: int) -> float:  # new_speaker's first draw
        return math.exp(random.Random(seed).uniform(math.log(WORLD_F0[0]), math.log(WORLD_F0[1])))

    low = next(seed for seed in range(100) if target(seed) < 100)
    high = next(seed for seed in range(100) if target(seed) > 220)
    for seed in (low, high):
        median = _median_pitch(new_speaker(wave, random.Random(seed)).astype("float32"))
        assert abs(median / target(seed) - 1) < 0.15, (seed, target(seed), median)
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.txt").write_text("THE CAT SAT ON THE MAT\nA BIRD IN THE HAND\nOPEN THE WINDOW PLEASE\n")
    out = tmp_path / "corpus"
    made = _synthesize(
        text,
        out,
        "--hours",
        "0.002",
        "--splits",
        "train",
        "--voices",
        "flite:slt",
        "--world",
        "--train-name",
        "train_world",
    )
    assert made.returncode == 0, made.stderr
    records = [json.loads(line) for line in (out / "train_world.jsonl").read_text().splitlines()]
    assert len(records) == 3 and {r["voice"] for r in records} == {"flite:slt+world"}
    assert all(load_audio(out / r["audio"]).numel() > SAMPLE_RATE // 2 for r in records)
    for options in (["--world"], ["--splits", "train", "--engine", "piper", "--world"]):
        refused = _synthesize(text, tmp_path / "refused", *options)
        assert refused.returncode == 2 and "--world: training speech only" in refused.stderr


def test_voices_benchmark_adds_a_row_without_the_voices_named(tmp_path):
    """benchmarks/voices.py: WER per voice from an errs-SET.tsv, and --without's row sums the other voices."""
    rows = [("a", 1, 10), ("b", 3, 10), ("c", 5, 5)]  # id = voice here; (errors, reference words)
    (tmp_path / "errs.tsv").write_text("id\terrors\tref_words\n" + "".join(f"{v}\t{e}\t{w}\n" for v, e, w in rows))
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"id": v, "voice": f"flite:{v}"}) + "\n" for v, _, _ in rows))
    out = subprocess.run(
        [
            sys.executable,
            RECIPE.parent.parent / "benchmarks" / "voices.py",
            "--errs",
            tmp_path / "errs.tsv",
            "--manifest",
            tmp_path / "m.jsonl",
            "--without",
            "flite:c",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[2] == "| flite:c | 100.0% | 5 | 1 |" and lines[4] == "| flite:a | 10.0% | 10 | 1 |"
    assert lines[-1] == "| all but flite:c | 20.00% (4 errors) | 20 | 2 |"


def test_text_coverage_counts_unseen_words_and_their_errors(tmp_path):
    """benchmarks/text_coverage.py: evaluation words no training sentence holds, per source and together, and
    with an errs-SET.tsv how many seen and unseen reference words were substituted or deleted; a missing file or
    a manifest line without text is a clear error naming it."""
    (tmp_path / "train.jsonl").write_text(json.dumps({"id": "t0", "text": "the cat sat"}) + "\n")
    (tmp_path / "more.txt").write_text("A DOG RAN\n")
    (tmp_path / "eval.jsonl").write_text(
        "".join(json.dumps({"id": f"e{i}", "text": t}) + "\n" for i, t in enumerate(["THE DOG SAT", "A ZEBRA"]))
    )
    (tmp_path / "errs.tsv").write_text(
        "id\terrors\tref_words\twer\tref\thyp\n"
        "e0\t1\t3\t33.3\tTHE DOG SAT\tTHE DOGS SAT\ne1\t2\t2\t100.0\tA ZEBRA\tA SEE BRA\n"
    )

    def coverage(*args):
        return subprocess.run(
            [sys.executable, RECIPE.parent.parent / "benchmarks" / "text_coverage.py", *args],
            capture_output=True,
            text=True,
        )

    out = coverage(
        "--train",
        tmp_path / "train.jsonl",
        tmp_path / "more.txt",
        "--eval",
        tmp_path / "eval.jsonl",
        "--errs",
        tmp_path / "errs.tsv",
    )
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[1].endswith("| 1 | 3 | 3 (60.00%) |")  # train.jsonl: DOG, A, ZEBRA unseen
    assert rows[2].endswith("| 1 | 3 | 3 (60.00%) |")  # more.txt: THE, SAT, ZEBRA
    assert rows[3] == "| all together | 2 | 6 | 1 (20.00%) |"
    assert rows[5] == "| seen | 4 | 1 (25.0%) |" and rows[6] == "| unseen | 1 | 1 (100.0%) |"
    assert out.stdout.rstrip().endswith("1 insertions besides")
    missing = coverage("--train", tmp_path / "nope.txt", "--eval", tmp_path / "eval.jsonl")
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "bad.jsonl").write_text(
        json.dumps({"id": "t0", "text": "A CAT"}) + "\n" + json.dumps({"id": "t1"}) + "\n"
    )
    bad = coverage("--train", tmp_path / "bad.jsonl", "--eval", tmp_path / "eval.jsonl")
    assert bad.returncode == 2 and f"{tmp_path / 'bad.jsonl'}:2: not a JSON object" in bad.stderr
    assert "Traceback" not in bad.stderr
