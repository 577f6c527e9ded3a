"""``benchmarks/draws.py``: ulp neighbours, and how many draws of one seed set meet a target."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _store(directory, env, finals, longs=None):
    directory.mkdir(parents=True)
    for seed, v in finals.items():
        run = {"env": env, "seed": seed, "eval_mean": v}
        if longs is not None:
            run["long_eval_mean"] = longs[seed]
        tag = env.replace("/", "_")
        (directory / f"{tag}_seed{seed}.json").write_text(json.dumps(run))


def test_ulp_neighbours_steps_one_float_at_a_time(monkeypatch):
    """Above 0.01 the floats are 0.01 + j·s with s = np.spacing(0.01) (one binade: 2⁻⁷ ≤ 0.01 <
    2⁻⁶), below it 0.01 − j·s (0.01 is not a power of two, so the spacing is the same)."""
    monkeypatch.syspath_prepend(BENCH)
    import draws

    s = float(np.spacing(0.01))
    assert draws.ulp_neighbours(0.01, 3) == [0.01 + s, 0.01 + 2 * s, 0.01 + 3 * s,
                                             0.01 - s, 0.01 - 2 * s, 0.01 - 3 * s]  # fmt: skip
    assert repr(draws.ulp_neighbours(0.01, 1)[0]) == "0.010000000000000002"
    with pytest.raises(TypeError, match="k must be an int"):
        draws.ulp_neighbours(0.01, 2.0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        draws.ulp_neighbours(0.01, 0)


def test_meets_reads_the_bound_the_floor_and_the_count(monkeypatch):
    """'≥ −175, no seed < −400': mean −175 meets it (≥), mean −170 with one run at −450 does
    not (the floor); 'on 4 of 5 seeds ≥ 90': four runs at or above 90 meet it, three do not."""
    monkeypatch.syspath_prepend(BENCH)
    from _targets import meets, parse_target

    rule = parse_target(">= -175, no seed < -400")
    rows = np.array([[-170, -180, -175, -160, -190], [-100, -100, -100, -100, -450],
                     [-176, -176, -176, -176, -176]], float)  # fmt: skip
    assert meets(rows, rule).tolist() == [True, False, False]
    count_rule = parse_target(">= 90 on 4 of 5 seeds")
    rows = np.array([[92, 93, 91, 90, 10], [92, 93, 91, 10, 10]], float)
    assert meets(rows, count_rule).tolist() == [True, False]


def test_draw_rows_and_the_count_of_draws_that_meet(tmp_path, monkeypatch, capsys):
    """Two draws of seeds 10–11 on Pendulum-v1/gaussian (target ≥ −175, no seed < −400): finals
    (−170, −178) average −174 and meet it, (−160, −200) average −180 and miss; over their long
    evaluations the means are −150 and −155, and whether a draw meets the row is still read on
    its finals."""
    monkeypatch.syspath_prepend(BENCH)
    import draws

    env = "Pendulum-v1/gaussian"
    a, b = tmp_path / "a", tmp_path / "b"
    _store(a, env, {10: -170.0, 11: -178.0}, {10: -140.0, 11: -160.0})
    _store(b, env, {10: -160.0, 11: -200.0}, {10: -150.0, 11: -160.0})
    name, rows = draws.draw_rows([str(a), str(b)])
    assert name == env and rows == [(str(a), -174.0, True), (str(b), -180.0, False)]
    _, rows = draws.draw_rows([str(a), str(b)], "long")
    assert rows == [(str(a), -150.0, True), (str(b), -155.0, False)]
    draws.main([str(a), str(b)])
    out = capsys.readouterr().out
    assert "1 of 2 draws meet '>= -175, no seed < -400'" in out, out
    assert "-177.0 ± 3.0 (min -180.0, max -174.0)" in out, out


def test_draw_rows_refuse_other_seeds_and_mixed_envs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import draws

    _store(tmp_path / "a", "Pendulum-v1", {10: -170.0, 11: -171.0})
    _store(tmp_path / "b", "Pendulum-v1", {10: -170.0, 12: -171.0})
    _store(tmp_path / "c", "CartPole-v1", {10: 500.0, 11: 500.0})
    with pytest.raises(ValueError, match="the same seeds"):
        draws.draw_rows([str(tmp_path / "a"), str(tmp_path / "b")])
    with pytest.raises(ValueError, match="one environment's runs"):
        draws.draw_rows([str(tmp_path / "a"), str(tmp_path / "c")])
    _store(tmp_path / "d", "Unknown-v0", {10: 1.0})
    with pytest.raises(ValueError, match="Unknown-v0 has no target with a bound"):
        draws.draw_rows([str(tmp_path / "d")])


def test_cli_without_directories_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.syspath_prepend(BENCH)
    import draws

    with pytest.raises(SystemExit) as exc:
        draws.main([])
    assert exc.value.code == 2 and "--ulps X K" in capsys.readouterr().err
    draws.main(["--ulps", "0.01", "1"])
    assert capsys.readouterr().out.split() == ["0.010000000000000002", "0.009999999999999998"]
