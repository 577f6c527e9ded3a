"""The classic-control demos, run as subprocesses on tiny budgets (CleanRL-style smoke tests)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

DEMOS = Path(__file__).resolve().parents[1] / "demos"
CLASSIC = ("cartpole", "acrobot", "pendulum", "mountain_car", "mountain_car_continuous")
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.mark.parametrize("name", CLASSIC)
def test_demo_runs_and_writes_outputs(name, tmp_path):
    """demos/<name>.py --timesteps 256 exits 0, writes its outputs and prints the evaluation."""
    out = tmp_path / "run"
    res = subprocess.run(
        [sys.executable, str(DEMOS / f"{name}.py"), "--timesteps", "256", "--out", str(out)]
        + ["--eval-episodes", "2", "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert (out / "model.npz").is_file()
    assert (out / "progress.csv").is_file()
    assert (out / "curve.png").is_file() == HAS_MATPLOTLIB
    assert "evaluation over 2 episodes" in res.stdout
