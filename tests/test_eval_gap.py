"""``benchmarks/eval_gap.py``: final − long evaluation, per run, pooled over directories."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _store(directory, runs, env="Pendulum-v1/gaussian"):
    directory.mkdir(parents=True)
    for seed, final, long in runs:
        run = {"env": env, "seed": seed, "eval_mean": final}
        if long is not None:
            run["long_eval_mean"] = long
        (directory / f"Pendulum-v1_gaussian_seed{seed}.json").write_text(json.dumps(run))


def test_gap_pools_runs_and_derives_its_standard_error(tmp_path, monkeypatch):
    """Gaps −20, −10 (a) and 0 (b): mean −10, sample std 10, SE 10/√3."""
    monkeypatch.syspath_prepend(BENCH)
    import eval_gap

    _store(tmp_path / "a", [(10, -180.0, -160.0), (11, -170.0, -160.0)])
    _store(tmp_path / "b", [(10, -150.0, -150.0)])
    n, final, long, g, se = eval_gap.gap([str(tmp_path / "a"), str(tmp_path / "b")])
    assert n == 3
    assert final == pytest.approx(-500.0 / 3, rel=1e-15)
    assert long == pytest.approx(-470.0 / 3, rel=1e-15)
    assert g == pytest.approx(-10.0, rel=1e-15)
    assert se == pytest.approx(10.0 / np.sqrt(3.0), rel=1e-15)


def test_gap_refuses_missing_long_evaluations_single_runs_and_mixed_envs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import eval_gap

    _store(tmp_path / "a", [(10, -180.0, -160.0), (11, -170.0, None)])
    with pytest.raises(ValueError, match=r"long evaluation.*a'\]"):
        eval_gap.gap([str(tmp_path / "a")])
    _store(tmp_path / "one", [(10, -180.0, -160.0)])
    with pytest.raises(ValueError, match="at least two runs"):
        eval_gap.gap([str(tmp_path / "one")])
    _store(tmp_path / "cp", [(10, 500.0, 500.0)], env="CartPole-v1")
    with pytest.raises(ValueError, match=r"one environment's runs.*'CartPole-v1', 'Pendulum"):
        eval_gap.gap([str(tmp_path / "one"), str(tmp_path / "cp")])


def test_main_prints_one_row_a_group(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(BENCH)
    import eval_gap

    _store(tmp_path / "a", [(10, -180.0, -160.0), (11, -170.0, -160.0)])
    _store(tmp_path / "b", [(12, -150.0, -150.0), (13, -140.0, -150.0)])
    eval_gap.main([f"{tmp_path / 'a'},{tmp_path / 'b'}", str(tmp_path / "b")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    # a+b: gaps −20, −10, 0, 10: mean −5, SE √(500/3)/2 = 6.45; b: gaps 0, 10: SE 5
    assert lines[1].split()[-6:] == ["4", "-160.0", "-155.0", "-5.0", "±", "6.5"]
    assert "(+1 more)" in lines[1]
    assert lines[2].split()[-6:] == ["2", "-145.0", "-150.0", "5.0", "±", "5.0"]
