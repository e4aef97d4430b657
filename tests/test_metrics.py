"""WER reporting: counts, bootstrap intervals, confusions, aligned report, the shared normalizer."""

import random

import pytest

from asr.metrics import bootstrap_interval, score, write_alignments


def test_counts_alignment_and_confusions(tmp_path):
    report = score(
        ["a", "b", "c"],
        ["The cat sat down.", "Hello, world!", "It's 1845"],
        ["the bat sat", "hello big world", "its eighteen forty five"],
    )
    assert (report.wer.substitutions, report.wer.deletions, report.wer.insertions) == (2, 1, 1)
    assert report.wer.reference_length == 4 + 2 + 4  # words after normalization
    assert report.utterances[2].ref == "IT'S EIGHTEEN FORTY FIVE"  # numbers spelled before scoring
    confusions = report.confusions()
    assert confusions["substitutions"] == [("CAT -> BAT", 1), ("IT'S -> ITS", 1)]
    assert confusions["deletions"] == [("DOWN", 1)] and confusions["insertions"] == [("BIG", 1)]
    path = tmp_path / "errs.txt"
    write_alignments(report, path)
    text = path.read_text()
    assert "REF:  the CAT sat DOWN\nHYP:  the BAT sat ***\nEval:     S       D\n" in text
    assert "REF:  hello *** world\nHYP:  hello BIG world\nEval:       I\n" in text
    assert "most frequent substitutions: CAT -> BAT (1)" in text


def test_bootstrap_interval_brackets_the_rate_and_narrows_with_data():
    rng = random.Random(0)
    lengths = [rng.randint(5, 20) for _ in range(400)]
    errors = [sum(rng.random() < 0.2 for _ in range(n)) for n in lengths]
    rate = sum(errors) / sum(lengths)
    low, high = bootstrap_interval(errors, lengths)
    assert low < rate < high and high - low < 0.05
    low_small, high_small = bootstrap_interval(errors[:40], lengths[:40])
    assert high_small - low_small > 2 * (high - low)  # 10x fewer utterances: a much wider interval
    assert bootstrap_interval(errors, lengths) == (low, high)  # seeded: reproducible
    assert bootstrap_interval([], []) == (0.0, 0.0)


def test_summary_shows_intervals():
    report = score(["a", "b"], ["one two three", "four five"], ["one two", "four five"])
    summary = report.summary()
    assert summary.startswith("WER 20.00% [1 / 5, 0 sub, 1 del, 0 ins] 95% CI [")
    data = report.to_dict()
    assert data["wer"] == pytest.approx(0.2) and len(data["wer_ci95"]) == 2
