"""demos/trpo_vs_ppo.py, run as a subprocess on a tiny budget (a CleanRL-style smoke test)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "demos" / "trpo_vs_ppo.py"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
METHODS = ("trpo", "npg", "ppo", "ppo_kl")
ENVS = ("CartPole-v1", "Pendulum-v1")
N_STEPS = 32  # per sub-env: the TRPO presets run 2 sub-envs, so N = 64: 2 updates in 128 steps


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo on 2 updates per run, one seed, one worker: (stdout, JSON of the runs, figure)."""
    tmp = tmp_path_factory.mktemp("trpo_vs_ppo")
    out_json, fig = tmp / "runs.json", tmp / "fig.png"
    res = subprocess.run(
        [sys.executable, str(DEMO), "--seeds", "0", "--timesteps", "128", "--n-steps"]
        + [str(N_STEPS), "--workers", "1", "--eval-episodes", "1", "--json", str(out_json)]
        + ["--out", str(fig)],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout, json.loads(out_json.read_text()), fig


def test_every_rule_runs_on_the_same_seeds_budgets_and_batches(demo_run):
    """Each env has one run per rule, all with the same seed, batch size N and update count."""
    _, data, _ = demo_run
    runs = data["runs"]
    assert sorted((r["env"], r["method"]) for r in runs) == sorted(
        (e, m) for e in ENVS for m in METHODS
    )
    for e in ENVS:
        mine = [r for r in runs if r["env"] == e]
        assert {r["seed"] for r in mine} == {0}
        assert {r["N"] for r in mine} == {2 * N_STEPS}
        assert {tuple(r["timesteps"]) for r in mine} == {(64.0, 128.0)}


def test_trpo_kl_never_exceeds_delta(demo_run):
    """TRPO's line search accepts only D̄ ≤ δ, so every logged KL is ≤ δ (θ kept: KL 0)."""
    _, data, _ = demo_run
    for r in data["runs"]:
        if r["method"] == "trpo":
            assert all(0.0 <= kl <= r["delta"] for kl in r["kl"]), r["kl"]


def test_work_counts_follow_the_configs(demo_run):
    """PPO: n_epochs·⌈N/minibatch⌉ gradient steps per update and no F·v; TRPO/NPG: between 2
    and cg_iters + 1 F·v (CG's plus one for xᵀF_ωx); only TRPO runs line-search passes."""
    from npytrpo.config import TRPOConfig
    from npytrpo.tools.presets import get_preset

    _, data, _ = demo_run
    for r in data["runs"]:
        if r["method"].startswith("ppo"):
            ppo = get_preset(f"{r['env']}/ppo")
            minibatch = min(ppo.get("batch_size", 64), r["N"])
            steps = ppo["n_epochs"] * math.ceil(r["N"] / minibatch)
            assert r["grad_steps"] == [steps] * len(r["kl"])
            assert not any(r["fvp"]) and not any(r["forward"])
        else:
            assert all(2 <= f <= TRPOConfig.cg_iters + 1 for f in r["fvp"]), r["fvp"]
            assert any(r["forward"]) == (r["method"] == "trpo")
            assert r["grad_steps"] == [0] * len(r["kl"])


def test_prints_both_tables_and_the_figure(demo_run):
    """The per-rule tables name every rule; the claims table has six rows with a verdict each;
    the figure is written when matplotlib is installed."""
    stdout, _, fig = demo_run
    for name in ("TRPO", "NPG", "PPO-Clip", "PPO-KL"):
        assert name in stdout
    rows = [ln for ln in stdout.splitlines() if ln.startswith("| ") and "claim" not in ln]
    assert len(rows) == 6, rows
    verdicts = ("held", "partly", "did not hold", "not shown")
    assert all(any(v in row.split(" | ")[-1] for v in verdicts) for row in rows), rows
    assert fig.is_file() == HAS_MATPLOTLIB


def test_replay_reprints_the_same_tables(demo_run, tmp_path):
    """--replay of the saved JSON prints the run's tables unchanged (no training)."""
    stdout, _, fig = demo_run
    res = subprocess.run(
        [sys.executable, str(DEMO), "--replay", str(fig.parent / "runs.json"), "--no-plot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    saved = ("runs:", "figure:", "no figure:")  # what the run wrote, not what it measured
    tables = [ln for ln in stdout.splitlines() if not ln.startswith(saved)]
    assert res.stdout.splitlines()[1:] == tables
