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


def test_hidden_replays_every_fit_on_a_critic_of_other_widths(capsys):
    """``--hidden W,W`` adds one row per fit and budget on a fresh critic of those widths, each
    labelled with it; the critic's own cost and fit are measured, not the recorded one's."""
    args = ["--env", "CartPole-v1", "--timesteps", "4096", "--plain", "2", "--varpro", "1",
            "--hidden", "8,8", "--hidden", "4,4"]  # fmt: skip
    varpro_fit.main(args)
    out = capsys.readouterr().out.splitlines()
    assert "value net (48, 48)" in out[0]  # the preset's critic, recorded
    rows = [line.split("   critic ") for line in out[2:]]
    assert [r[1] if len(r) == 2 else None for r in rows] == [
        None, None, "(8, 8)", "(8, 8)", "(4, 4)", "(4, 4)"]  # fmt: skip
    assert [r[0].split()[:2] for r in rows] == [["lbfgs", "2"], ["varpro", "1"]] * 3
    assert all(np.isfinite(float(x)) for r in rows for x in r[0].split()[2:])
    losses = [float(r[0].split()[2]) for r in rows[::2]]  # plain L-BFGS-B on each critic
    assert len(set(losses)) == 3  # three critics fitted, not the recorded one three times
