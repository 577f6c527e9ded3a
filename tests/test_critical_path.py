"""``benchmarks/critical_path.py``: its wrappers time the main process and change no number."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
SCRIPT = os.path.join(BENCH, "critical_path.py")


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_timed_run_has_the_plain_runs_theta(env_id, monkeypatch):
    """A short run of the script (in its own process: it patches module attributes) prints
    every piece and ends on the θ of the same run without the wrappers."""
    monkeypatch.syspath_prepend(BENCH)
    from _compare_settings import npytrpo_kwargs

    from npytrpo import TRPO

    env = {**os.environ, "PYTHONPATH": ROOT}
    kw, _ = npytrpo_kwargs(env_id)
    # Iterations of the compared preset's own batch: four on CartPole (for the fit's summary
    # lines below), two on Pendulum.
    steps = (4 if env_id == "CartPole-v1" else 2) * kw["n_envs"] * kw["n_steps"]
    out = subprocess.run(
        [sys.executable, SCRIPT, "--env", env_id, "--timesteps", str(steps)],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    ).stdout  # fmt: skip
    for piece in ("policy_update", "gae", "join_fit", "value forward", "rest"):
        assert re.search(rf"^{piece}\s+\d", out, re.M), (piece, out)
    assert re.search(r"join_fit per iteration: first [\d.]+ ms", out), out
    first = "collect_workers" if env_id == "Pendulum-v1" else "collect"
    for piece in (first, "policy_update"):  # its first two calls: wall / CPU
        assert len(re.findall(rf"^  {piece}\s+[\d.]+ / +[\d.]+$", out, re.M)) == 2, (piece, out)
    if env_id == "CartPole-v1":  # four iterations
        assert re.search(r"^  value fits \(helper\) [\d.]+, [\d.]+, median [\d.]+ ms$", out, re.M)
        assert re.search(r"^  first three iterations beyond the median iteration: -?[\d.]+ ms$",
                         out, re.M), out  # fmt: skip
    agent = TRPO(env_id, seed=0, **kw)
    agent.learn(steps, progress_bar=False)
    agent.close()
    digest = hashlib.sha256(agent.theta.tobytes()).hexdigest()[:16]
    assert f"final theta sha256[:16] {digest}" in out


def test_help_runs():
    out = subprocess.run(
        [sys.executable, SCRIPT, "--help"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": ROOT}, check=True,
    ).stdout  # fmt: skip
    assert "--timesteps" in out
