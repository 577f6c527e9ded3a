"""``benchmarks/learn.py --late-evals``: where it evaluates, that training is untouched by it,
and the pass rate ``--summary`` and ``paired_runs.py --late`` read off it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


def _store(directory, env, seed, late, value=0.0):
    directory.mkdir(exist_ok=True)
    run = {"env": env, "seed": seed, "eval_mean": value, "late_evals": late,
           "late_eval_episodes": 10}  # fmt: skip
    (directory / f"{env.replace('/', '_')}_seed{seed}.json").write_text(json.dumps(run))


def test_late_marks_spread_evenly_over_the_last_forty_percent(monkeypatch):
    """n marks at 0.6 B + 0.4 B i / n, i = 0 … n − 1: for B = 1000, n = 4 the marks 600, 700,
    800, 900 (each a float of the exact product)."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    assert learn.late_marks(1000, 4) == pytest.approx([600, 700, 800, 900], rel=1e-15)
    assert learn.late_marks(1000, 0) == []
    marks = learn.late_marks(100_000, 10)
    assert len(marks) == 10 and marks[0] == pytest.approx(60_000) and max(marks) < 100_000


def test_late_evaluator_evaluates_once_per_iteration_at_or_after_each_mark(monkeypatch):
    """A fake agent whose iterations jump over two marks at once evaluates once there, and
    evaluates with the seed plus LATE_SEED_OFFSET and LATE_EPISODES episodes."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    calls = []

    class Fake:
        num_timesteps = 0

        def evaluate(self, n, *, seed):
            calls.append((self.num_timesteps, n, seed))
            return {"mean_return": float(self.num_timesteps)}

    cb, evals = learn.late_evaluator(1000, 4, seed=3)  # marks 600, 700, 800, 900
    agent = Fake()
    for t in (300, 600, 650, 850, 950, 1000):
        agent.num_timesteps = t
        cb(agent, {})
    assert [c[0] for c in calls] == [600, 850, 950]
    assert all(c[1:] == (learn.LATE_EPISODES, 3 + learn.LATE_SEED_OFFSET) for c in calls)
    assert evals == [[600, 600.0], [850, 850.0], [950, 950.0]]


def test_late_evaluations_leave_training_bit_for_bit(monkeypatch):
    """A two-iteration CartPole-v1 run with late evaluations ends at the same θ, value θ and
    final evaluation as the same run without them, and stores one evaluation per mark."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    from npytrpo.agent import TRPO

    kw, _ = learn.preset_kwargs("CartPole-v1", None, {"n_steps": 128})
    budget = 4 * 2 * 128  # four iterations: marks at 614.4, 716.8, 819.2, 921.6 env-steps
    out = []
    for late in (False, True):
        agent = TRPO("CartPole-v1", seed=5, **kw)
        cb, evals = learn.late_evaluator(budget, 4, 5) if late else (None, None)
        agent.learn(budget, callback=cb, progress_bar=False)
        out.append((agent.state.theta.copy(), agent.state.value_theta.copy(),
                    agent.evaluate(3)["returns"], evals))  # fmt: skip
        agent.close()
    (th0, v0, r0, _), (th1, v1, r1, evals) = out
    assert np.array_equal(th0, th1) and np.array_equal(v0, v1) and np.array_equal(r0, r1)
    assert [e[0] for e in evals] == [768, 1024]  # iterations 3 and 4 reach the marks


def test_summary_and_paired_runs_read_the_late_pass_rate(tmp_path, monkeypatch, capsys):
    """CartPole-v1 (bound 500): per-run late pass fractions 1.0, 0.5 and 0.0 print as 50.0 %
    with SE std([1, .5, 0], ddof=1)/√3 = 0.5/√3 = 28.9 %; paired against a base of 0.5 on
    every seed the differences are 0.5, 0, −0.5 (mean 0, SE 28.9 %)."""
    monkeypatch.syspath_prepend(BENCH)
    import learn
    import paired_runs

    lates = {1: [[1, 500.0], [2, 500.0]], 2: [[1, 500.0], [2, 499.9]], 3: [[1, 12.0], [2, 0.0]]}
    for seed, late in lates.items():
        _store(tmp_path / "a", "CartPole-v1", seed, late)
        _store(tmp_path / "base", "CartPole-v1", seed, [[1, 500.0], [2, 3.0]])
    assert [learn.late_pass({"late_evals": lates[s]}, 500.0) for s in (1, 2, 3)] == [1, 0.5, 0]
    learn.summary([str(tmp_path / "a")])
    out = capsys.readouterr().out
    assert "late evaluations (2 a run, 10 episodes): 50.0 % ≥ 500 (SE 28.9)" in out, out
    paired_runs.main([str(tmp_path / "base"), str(tmp_path / "a"), "--late"])
    out = capsys.readouterr().out
    assert "n=3" in out and "mean     0.50  minus base   +0.00  SE  0.29" in out, out


def test_paired_runs_late_refuses_runs_without_late_evaluations(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    (tmp_path / "a").mkdir()
    run = {"env": "CartPole-v1", "seed": 1, "eval_mean": 500.0}
    (tmp_path / "a" / "CartPole-v1_seed1.json").write_text(json.dumps(run))
    with pytest.raises(ValueError, match="late_evals"):
        paired_runs.by_seed(str(tmp_path / "a"), "late")


def test_late_trend_is_the_mean_per_evaluation_and_its_least_squares_slope(
    tmp_path, monkeypatch, capsys
):
    """Runs evaluated at 10k, 20k and 30k steps with returns (1, 3, 2) and (3, 5, 8): mean
    returns 2, 4, 5 at 10k, 20k, 30k; slope Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = (−1·−1.67 + 1·1.33)/2 = 1.5 per
    10k steps; --summary prints both."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    rs = [{"late_evals": [[10_000, 1.0], [20_000, 3.0], [30_000, 2.0]]},
          {"late_evals": [[10_000, 3.0], [20_000, 5.0], [30_000, 8.0]]}]  # fmt: skip
    steps, means, slope = learn.late_trend(rs)
    assert steps.tolist() == [10_000, 20_000, 30_000] and means.tolist() == [2.0, 4.0, 5.0]
    assert slope == pytest.approx(1.5, rel=1e-12)
    for seed, r in enumerate(rs, start=1):
        _store(tmp_path, "MountainCar-v0", seed, r["late_evals"], value=-110.0)
    learn.summary([str(tmp_path)])
    out = capsys.readouterr().out
    assert "0.0 % ≥ -108" in out and "10k → 30k steps: 2.0 4.0 5.0 (slope +1.50 per 10k" in out


def test_paired_runs_late_mean_compares_the_late_evaluations_mean(tmp_path, monkeypatch, capsys):
    """Per-seed late means: base 2 and 4 (seeds 1, 2), other 3 and 8: differences 1 and 4, mean
    2.5, SE std([1, 4], ddof=1)/√2 = 1.5; the other's mean 5.5. Runs without late evaluations
    are refused."""
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    for seed, (b, o) in {1: ([1.0, 3.0], [3.0, 3.0]), 2: ([4.0, 4.0], [6.0, 10.0])}.items():
        _store(tmp_path / "base", "LunarLander-v3", seed, [[1, b[0]], [2, b[1]]])
        _store(tmp_path / "other", "LunarLander-v3", seed, [[1, o[0]], [2, o[1]]])
    assert paired_runs.by_seed(str(tmp_path / "base"), "late-mean") == {1: 2.0, 2: 4.0}
    expected = "mean     5.50  minus base   +2.50  SE  1.50"
    _prints_and_refuses_bare_runs(paired_runs, tmp_path, capsys, "LunarLander-v3", "--late-mean",
                                  expected)  # fmt: skip
    with pytest.raises(ValueError, match="measure must be one of"):
        paired_runs.by_seed(str(tmp_path / "base"), "late_mean")


def test_paired_runs_long_compares_the_long_evaluations_mean(tmp_path, monkeypatch, capsys):
    """Per-seed long-evaluation means: base −150 and −170 (seeds 1, 2), other −140 and −168:
    differences 10 and 2, mean 6, SE std([10, 2], ddof=1)/√2 = 4; the other's mean −154. Runs
    without a long evaluation are refused, naming the option."""
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    for name, longs in {"base": (-150.0, -170.0), "other": (-140.0, -168.0)}.items():
        for seed, m in zip((1, 2), longs, strict=True):
            _store(tmp_path / name, "Pendulum-v1", seed, [], value=0.0)
            path = tmp_path / name / f"Pendulum-v1_seed{seed}.json"
            run = json.loads(path.read_text())
            path.write_text(json.dumps({**run, "long_eval_mean": m}))
    assert paired_runs.by_seed(str(tmp_path / "base"), "long") == {1: -150.0, 2: -170.0}
    expected = "mean  -154.00  minus base   +6.00  SE  4.00"
    _prints_and_refuses_bare_runs(paired_runs, tmp_path, capsys, "Pendulum-v1", "--long", expected)


def _prints_and_refuses_bare_runs(paired_runs, tmp_path, capsys, env, flag, expected):
    """``paired_runs.py BASE OTHER FLAG`` over tmp_path's base/ and other/ (two common seeds)
    prints ``expected``; a run without the measure's field is refused, naming the flag."""
    paired_runs.main([str(tmp_path / "base"), str(tmp_path / "other"), flag])
    out = capsys.readouterr().out
    assert "n=2" in out and expected in out, out
    _store(tmp_path / "bare", env, 1, [])
    with pytest.raises(ValueError, match=f"{flag} needs"):
        paired_runs.by_seed(str(tmp_path / "bare"), flag[2:])
