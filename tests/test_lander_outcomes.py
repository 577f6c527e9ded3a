"""``benchmarks/lander_outcomes.py``: every episode's ending is read from its last step."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


class Scripted(gym.Env):
    """Plays back episodes given as (final x, final reward, terminated) after two plain steps."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,))
    action_space = gym.spaces.Discrete(2)

    def __init__(self, endings):
        self.endings, self.k, self.t = list(endings), -1, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k, self.t = self.k + 1, 0
        return np.zeros(2), {}

    def step(self, action):
        self.t += 1
        x, reward, terminated = self.endings[self.k]
        if self.t < 3:
            return np.zeros(2), 100.0 if self.t == 1 else -100.0, False, False, {}
        return np.array([x, 0.0]), reward, terminated, not terminated, {}


@pytest.fixture
def lander_outcomes(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import lander_outcomes

    return lander_outcomes


def test_each_ending_is_classified_from_its_last_step_only(lander_outcomes):
    """+100 on termination is rest, −100 a crash inside the screen and off-screen outside it
    (|x| ≥ 1, either side), a truncation a timeout whatever its reward, any other terminal
    reward is reported as itself; the ±100 of the steps before the last count for nothing."""
    endings = [
        (0.1, 100.0, True),
        (0.99, -100.0, True),
        (-1.0, -100.0, True),
        (1.2, -100.0, True),
        (0.0, -100.0, False),
        (0.0, 100.0, False),
        (0.3, 7.5, True),
    ]
    env = lander_outcomes.OutcomeRecorder(Scripted(endings))
    for _ in endings:
        env.reset()
        done = False
        while not done:
            _, _, term, trunc, _ = env.step(0)
            done = term or trunc
    assert env.outcomes == [
        "rest",
        "crash",
        "off",
        "off",
        "timeout",
        "timeout",
        "terminated with reward 7.5",
    ]


def _evaluation(returns, outcomes):
    counts = {k: outcomes.count(k) for k in ("rest", "crash", "off", "timeout")}
    return {"mean": float(np.mean(returns)), "returns": returns, "lengths": [9] * len(returns),
            "outcomes": counts, "other": len(outcomes) - sum(counts.values())}


def test_summary_pools_the_endings_of_every_seed(lander_outcomes, tmp_path, capsys):
    """The per-evaluation line gives the mean ± std of the seeds' means and each ending's share
    of all the seeds' episodes together."""
    import json

    runs = {
        3: ([10.0, 30.0], ["rest", "timeout"]),
        4: ([-50.0, 250.0, 100.0], ["crash", "rest", "rest"]),
    }
    for seed, (returns, outcomes) in runs.items():
        ev = _evaluation(returns, outcomes)
        run = {"env": "Lander-v0", "seed": seed, "timesteps": 100, "overrides": {},
               "eval20": ev, "deterministic": ev, "sampled": ev}
        (tmp_path / f"Lander-v0_seed{seed}.json").write_text(json.dumps(run))
    lander_outcomes.summary([str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    line = next(ln for ln in out if ln.startswith("  sampled "))  # the pooled line
    means = np.array([20.0, 100.0])
    assert f"over 2 seeds {means.mean():.1f} ± {means.std():.1f}" in line, line
    assert "of 5 episodes: rest 60 % crash 20 % off 0 % timeout 20 %" in line, line


def test_summary_shows_endings_that_are_not_landers(lander_outcomes, tmp_path, capsys):
    """A run's line counts the endings OutcomeRecorder could not classify (shown only then)."""
    import json

    ev = _evaluation([7.0, 100.0], ["terminated with reward 7.0", "rest"])
    run = {"env": "Lander-v0", "seed": 1, "timesteps": 100, "overrides": {},
           "eval20": ev, "deterministic": _evaluation([1.0], ["rest"]), "sampled": ev}
    (tmp_path / "Lander-v0_seed1.json").write_text(json.dumps(run))
    lander_outcomes.summary([str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    rows = [ln for ln in out if "over   " in ln]
    assert [("other   1" in ln) for ln in rows] == [True, False, True], rows
