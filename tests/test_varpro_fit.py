"""benchmarks/varpro_fit.py: the recorded fits are the run's; the replay prints a row per fit."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import varpro_fit  # noqa: E402


def test_replaying_the_plain_fit_gives_the_runs_own_value_theta():
    """The plain fit replayed with the preset's own iterations on the recorded problems ends at
    the run's final θ_v bit for bit: the recording is the run's sequence of fits."""
    value, problems, final = varpro_fit.record("CartPole-v1", 3, 6000)
    assert len(problems) == 3 and problems[0][1].shape == (2048, 4)
    r = varpro_fit.replay(value, problems, "lbfgs", value.max_iter)
    np.testing.assert_array_equal(r["theta"], final)
    v = varpro_fit.replay(value, problems, "varpro", 3)
    assert v["evals"] >= 3 and 0 < v["in_sample"] < 1.5 and np.isfinite(v["next_batch"])


def test_main_prints_a_row_per_fit_and_budget(capsys):
    args = ["--env", "CartPole-v1", "--timesteps", "4096", "--plain", "2", "--varpro", "1,2"]
    varpro_fit.main(args)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("CartPole-v1 seed 0: 2 fits of N = 2048")
    rows = [line.split() for line in out[2:]]
    assert [(r[0], r[1]) for r in rows] == [("lbfgs", "2"), ("varpro", "1"), ("varpro", "2")]
    assert all(np.isfinite(float(x)) for r in rows for x in r[2:])
