"""recipes/synthetic/world_edits.py (benchmarks/world_resynthesis.py --edits):
each edit of WORLD's analysis changes what it says and only that."""

import numpy as np
import world_edits as wr


def _analysis(frames: int = 40, bins: int = 513, seed: int = 0):
    rng = np.random.default_rng(seed)
    f0 = np.where(np.arange(frames) % 5 == 0, 0.0, rng.uniform(90, 160, frames))  # every fifth frame unvoiced
    envelope = np.exp(rng.normal(0, 1, (frames, bins)) + np.linspace(0, -8, bins))
    return f0, envelope, rng.uniform(0.01, 0.99, (frames, bins))


def test_envelope_detail_gain_sharpens_smooths_and_keeps_at_one():
    _, env, _ = _analysis()
    assert np.allclose(wr.detail(env, 1.0), env)
    spread = {g: np.std(np.log(wr.detail(env, g)) - np.log(wr.detail(env, 0.0))) for g in (0.5, 1.0, 1.6)}
    assert spread[0.5] < 0.6 * spread[1.0] and spread[1.6] > 1.5 * spread[1.0], spread


def test_flatter_intonation_keeps_unvoiced_frames_and_shrinks_the_spread():
    f0, _, _ = _analysis()
    flat = wr.flatter_f0(f0)
    voiced = f0 > 0
    assert np.array_equal(flat == 0, ~voiced)
    assert np.std(np.log(flat[voiced])) < 0.35 * np.std(np.log(f0[voiced]))
    assert np.array_equal(wr.flatter_f0(np.zeros(5)), np.zeros(5))  # all unvoiced: nothing to flatten


def test_tilt_and_aperiodicity_edits():
    f0, env, ap = _analysis()
    tilted = wr.tilt(env, 12.0)
    assert np.allclose(tilted[:, 0], env[:, 0]) and np.allclose(tilted[:, -1] / env[:, -1], 10**1.2)
    _, _, buzzier = wr.EDITS["buzzier (aperiodicity squared)"](f0, env, ap)
    _, _, breathier = wr.EDITS["breathier (square root of aperiodicity)"](f0, env, ap)
    assert (buzzier < ap).all() and (breathier > ap).all()
