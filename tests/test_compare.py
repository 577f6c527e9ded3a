"""Smoke tests of ``benchmarks/compare.py`` so that it cannot rot: its help, a tiny run down the
"sb3-contrib not installed" path (no torch needed), and the attribution of sb3-contrib's time
split on a stand-in model."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


@pytest.fixture
def compare(monkeypatch):
    """``benchmarks/compare.py`` imported as a module (its helpers sit beside it)."""
    monkeypatch.syspath_prepend(BENCH)
    import compare as module

    return module


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    return env


def test_help_runs():
    """``compare.py --help`` exits 0 and names the options the brief asks for."""
    out = subprocess.run(
        [sys.executable, os.path.join(BENCH, "compare.py"), "--help"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for option in ("--envs", "--timesteps", "--seeds", "--no-sb3", "--step-only"):
        assert option in out.stdout


def test_tiny_run_without_sb3(compare, monkeypatch, capsys):
    """With sb3-contrib unimportable, a one-iteration CartPole run finishes, prints the install
    hint, the cores, npytrpo's figures and the raw env rate, no ratio, and exits 0."""
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)  # find_spec → None: "not installed"
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    assert not compare.sb3_available()
    argv = ["--envs", "CartPole-v1", "--timesteps", "1", "--raw-seconds", "0.05", "--no-step"]
    assert compare.main(argv) == 0
    out = capsys.readouterr().out
    assert "pip install -e '.[compare]'" in out
    assert "os.cpu_count() = " in out and "sched_getaffinity" in out
    assert "run npytrpo      CartPole-v1  seed 0:   2,048 steps" in out  # one 2 × 1024 batch
    assert "env-steps per CPU-second" in out
    for kind in ("gymnasium SyncVectorEnv", "npytrpo make_vector_env"):
        assert f"raw vector env, {kind} (n_envs=2, random actions)" in out
    assert "run sb3-contrib" not in out and "RATIO" not in out


def test_vectorization_reaches_npytrpo_side(compare, monkeypatch, capsys):
    """``--vectorization workers`` runs npytrpo's side with that vectorization (its settings
    line says so); without the option the preset's settings carry none."""
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    argv = ["--envs", "CartPole-v1", "--timesteps", "1", "--raw-seconds", "0.05", "--no-step"]
    assert compare.main([*argv, "--vectorization", "workers"]) == 0
    assert "'vectorization': 'workers'" in capsys.readouterr().out
    assert compare.main(argv) == 0
    assert "'vectorization'" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        compare.parse_args(["--vectorization", "threads"])


def test_set_reaches_npytrpo_side(compare, monkeypatch, capsys):
    """``--set vf_ftol=0.05 n_steps=256`` runs npytrpo's side with those values (JSON-parsed:
    numbers stay numbers) over its preset; a word without ``=`` or an unknown key is a usage
    error."""
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    argv = ["--envs", "CartPole-v1", "--timesteps", "1", "--raw-seconds", "0.05", "--no-step"]
    assert compare.main([*argv, "--set", "vf_ftol=0.05", "n_steps=256"]) == 0
    out = capsys.readouterr().out
    assert "'vf_ftol': 0.05" in out and "'n_steps': 256" in out
    assert "seed 0:     512 steps" in out  # 2 envs × 256 steps: the override took effect
    with pytest.raises(SystemExit) as err:
        compare.parse_args(["--set", "vf_ftol"])
    assert err.value.code == 2
    with pytest.raises(SystemExit) as err:  # an unknown key, before any run starts
        compare.parse_args(["--set", "vf_fto=0.05"])
    assert err.value.code == 2
    assert "unknown hyperparameter 'vf_fto'" in capsys.readouterr().err


def test_step_section_without_sb3(compare):
    """The step worker, run in-process without sb3-contrib, times npytrpo's step alone on a
    CartPole batch of N = 1024 and reports its CG iterations and whether malloc was tuned."""
    import _compare_worker

    res = _compare_worker._step(1, False, None)
    assert res["n"] == 1024
    assert list(res["times"]) == ["npytrpo trpo_step"]
    assert len(res["times"]["npytrpo trpo_step"]) == 1
    assert res["cg_npytrpo"] in range(1, 11)  # CG ran, within its iteration budget
    # The step process runs on the agent's allocator wherever glibc lets it be set.
    from npytrpo.memory import keep_freed_memory

    assert res["malloc_tuned"] is keep_freed_memory()


def test_bad_counts_are_rejected(compare):
    """``--seeds 0`` is a usage error naming the option and the value."""
    with pytest.raises(SystemExit) as err:
        compare.parse_args(["--seeds", "0"])
    assert err.value.code == 2


class _Clock:
    """A fake ``time`` module whose ``perf_counter`` only moves when told to."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class _FakeBuffer:
    def get(self, batch_size=None):
        yield batch_size


class _FakeModel:
    """Stands in for sb3-contrib's TRPO: ``collect_rollouts`` takes 1 s; ``train`` asks its
    buffer for the whole batch (the policy step, 2 s), then 3 times for minibatches (the
    critic, 4 s each)."""

    def __init__(self, clock: _Clock):
        self.rollout_buffer = _FakeBuffer()
        self.clock = clock

    def collect_rollouts(self):
        self.clock.now += 1.0

    def train(self):
        list(self.rollout_buffer.get(None))
        self.clock.now += 2.0
        for _ in range(3):
            list(self.rollout_buffer.get(128))
            self.clock.now += 4.0


def test_sb3_split_attribution(compare, monkeypatch):
    """The wrappers count collect_rollouts as rollout, the time of train() before the first
    minibatch request as the policy step and the rest as the value fit, summed over calls."""
    import _compare_sb3

    clock = _Clock()
    monkeypatch.setattr(_compare_sb3, "time", clock)
    model = _FakeModel(clock)
    times = {"rollout": 0.0, "policy": 0.0, "value": 0.0, "iterations": 0}
    _compare_sb3._instrument(model, times)
    for _ in range(2):
        model.collect_rollouts()
        model.train()
    assert times == {"rollout": 2.0, "policy": 4.0, "value": 24.0, "iterations": 2}
