from types import SimpleNamespace

import numpy as np
import pytest

from asr.align import Word
from asr.confidence import (
    FEATURE,
    Calibration,
    auroc,
    calibration_error,
    fit_calibration,
    reliability,
    word_outcomes,
)
from asr.errors import ModelError


def _draw(truth: Calibration, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores spread as a model's are (most near 0) and right/wrong drawn from ``truth``."""
    rng = np.random.default_rng(seed)
    scores = -rng.exponential(0.25, n)
    right = rng.random(n) < np.array([truth(s) for s in scores])
    return scores, right


def test_fit_recovers_the_curve_the_words_were_drawn_from():
    truth = Calibration(-2.0, -2.5)
    scores, right = _draw(truth, 20000)
    fitted = fit_calibration(scores, right)
    assert fitted.slope == pytest.approx(truth.slope, abs=0.15)
    assert fitted.intercept == pytest.approx(truth.intercept, abs=0.3)
    confidence = [fitted(s) for s in scores]
    assert calibration_error(confidence, right) < 0.02
    assert 0.75 < auroc(confidence, right) < 0.95


def test_fit_needs_both_kinds_of_word_and_survives_separable_data():
    with pytest.raises(ValueError, match="both right and wrong words; got 3 right, 0 wrong"):
        fit_calibration([-0.1, -0.2, -0.3], [True, True, True])
    separable = fit_calibration([-0.01, -0.02, -1.0, -2.0], [True, True, False, False])
    assert np.isfinite(separable.slope) and separable(-0.01) > 0.9 > 0.1 > separable(-2.0)


def test_auroc_counts_ranks_and_ties():
    assert auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5
    assert auroc([0.9, 0.3, 0.5, 0.1], [True, True, False, False]) == 0.75


def test_reliability_bins_hold_their_words():
    rows = reliability([0.05, 0.05, 0.95, 0.95, 0.95, 0.95], [False, True, True, True, True, False])
    assert [(r["low"], r["words"], r["right"]) for r in rows] == [(0.0, 2, 0.5), (0.9, 4, 0.75)]
    assert calibration_error([0.05, 0.05, 0.95, 0.95, 0.95, 0.95], [False, True, True, True, True, False]) == (
        pytest.approx((2 * 0.45 + 4 * 0.2) / 6)
    )


def test_words_are_right_where_the_wer_alignment_matches_them():
    words = [Word(w, 0.0, 0.1, -0.1 * i) for i, w in enumerate("THE BAT SAT ON".split())]
    transcript = SimpleNamespace(text="THE BAT SAT ON", words=words)
    scores, right = word_outcomes([transcript], ["the cat sat"])
    assert right == [True, False, True, False] and scores == [w.score for w in words]


def test_a_stored_calibration_is_read_back_and_checked():
    entry = {"feature": FEATURE, "slope": -2.0, "intercept": -2.5}
    info = {"confidence": {"greedy": entry}}
    assert Calibration.from_info(info, "greedy", "c.json") == Calibration(-2.0, -2.5)
    assert Calibration.from_info(info, "lm", "c.json") is None
    with pytest.raises(ModelError, match="c.json: info.confidence.greedy is of 'score'"):
        Calibration.from_info({"confidence": {"greedy": {**entry, "feature": "score"}}}, "greedy", "c.json")
    with pytest.raises(ModelError, match="c.json: info.confidence must be an object"):
        Calibration.from_info({"confidence": [entry]}, "greedy", "c.json")
    with pytest.raises(ModelError, match="c.json: info.confidence.lm is of None"):
        Calibration.from_info({"confidence": {"lm": 0.5}}, "lm", "c.json")
    with pytest.raises(ModelError, match="needs numbers 'slope' and 'intercept'"):
        Calibration.from_info({"confidence": {"greedy": {**entry, "slope": "steep"}}}, "greedy", "c.json")
    calibration = Calibration(-2.0, -2.5)
    assert 1.0 > calibration(0.0) > calibration(-0.5) > calibration(-3.0) > calibration(-1e6) > 0.0
