"""``benchmarks/normalizer_drift.py``: the instrument changes nothing, and measures the drift."""

from __future__ import annotations

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
SMALL = {"normalize_obs": True, "n_envs": 2, "n_steps": 32, "hidden": (8,)}


@pytest.fixture
def drift(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import normalizer_drift

    return normalizer_drift


def test_the_instrumented_run_is_the_run_itself(drift):
    """The same final θ bit for bit as the same run without the instrument, one row per
    iteration, the step's KL as the log's, and a drift that is positive (the statistics move
    every iteration) and finite."""
    from npytrpo import TRPO
    from npytrpo.tools.presets import get_preset

    run = drift.drift_rows("CartPole-v1", 3, 4 * 64, SMALL)
    kw = {k: v for k, v in get_preset("CartPole-v1").items() if k not in ("timesteps", "note")}
    plain = TRPO("CartPole-v1", seed=3, **{**kw, **SMALL})
    plain.learn(4 * 64, progress_bar=False)
    plain.close()
    assert np.array_equal(run["theta"], plain.theta)
    rows = np.asarray(run["rows"])
    assert rows.shape == (4, 2)
    assert np.array_equal(rows[:, 0], [r["kl"] for r in plain.history])
    assert np.all(np.isfinite(rows[:, 1])) and np.all(rows[:, 1] > 0.0)


def test_a_run_without_a_normaliser_is_refused(drift):
    with pytest.raises(ValueError, match="normalize_obs"):
        drift.drift_rows("CartPole-v1", 0, 64, {"n_envs": 2, "n_steps": 32})


def test_report_gives_each_range_its_own_means(drift):
    """Iterations 0–9 and 10–11 of a 12-iteration run, each range's own step and drift means."""
    rows = [(0.01, 0.001)] * 10 + [(0.02, 0.0)] * 2
    lines = drift.report({"env": "E", "seed": 1, "rows": rows})
    assert len(lines) == 2
    assert "iterations 0-9: step KL mean 0.01000; normaliser drift KL mean 0.001000" in lines[0]
    assert "iterations 10-11: step KL mean 0.02000; normaliser drift KL mean 0.000000" in lines[1]
