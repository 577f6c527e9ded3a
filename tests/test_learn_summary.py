"""``benchmarks/learn.py --summary``: every stored run is printed, in its own seed set."""

from __future__ import annotations

import json
import os
import re

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


def _store(directory, env, seed, value):
    directory.mkdir(exist_ok=True)
    run = {"env": env, "seed": seed, "eval_mean": value}
    (directory / f"{env}_seed{seed}.json").write_text(json.dumps(run))


def test_summary_prints_tuning_held_out_and_other_seeds_apart(tmp_path, monkeypatch, capsys):
    """Seeds 0–9, 10–14 and any others (here 15–19 and 30) form three rows whose means are
    those of their own runs; a seed outside both sets is never dropped or mixed in."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    values = {0: 100.0, 3: 120.0, 11: 50.0, 15: 210.0, 19: -30.0, 30: 90.0}
    for seed, v in values.items():
        _store(tmp_path / ("a" if seed < 15 else "b"), "Env-v0", seed, v)
    learn.summary([str(tmp_path / "a"), str(tmp_path / "b")])
    out = capsys.readouterr().out
    rows = {
        "tune 0-9": [0, 3],
        "held-out 10-14": [11],
        "other 15-30": [15, 19, 30],
    }
    for label, seeds in rows.items():
        line = next(ln for ln in out.splitlines() if label in ln)
        mean = np.mean([values[s] for s in seeds])
        assert re.search(rf"{label}\s+{len(seeds)}\s+{mean:.1f} ±", line), (label, line)
        assert line.endswith(" ".join(f"{s}:{values[s]:.1f}" for s in seeds)), line
    assert sum(1 for ln in out.splitlines() if ln.startswith("Env-v0")) == 3


def test_summary_without_other_seeds_prints_no_other_row(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(BENCH)
    import learn

    _store(tmp_path, "Env-v0", 2, 1.0)
    learn.summary([str(tmp_path)])
    out = capsys.readouterr().out
    assert "tune 0-9" in out and "other" not in out and "held-out" not in out


def test_parse_target_reads_every_target_form(monkeypatch):
    """The bound, the per-seed floor and the seed count of each form in ``TARGETS``."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    assert learn.parse_target(learn.TARGETS["CartPole-v1"]) == (500.0, None, None)
    assert learn.parse_target(learn.TARGETS["Acrobot-v1"]) == (-85.0, -100.0, None)
    assert learn.parse_target(learn.TARGETS["MountainCarContinuous-v0"]) == (90.0, None, 4)
    assert learn.parse_target(learn.TARGETS["LunarLander-v3"]) == (133.0, None, None)
    assert learn.parse_target(learn.TARGETS["Hopper-v5"]) == (3000.0, None, None)
    assert learn.parse_target(learn.TARGETS["Ant-v5"]) is None
    assert learn.target_of("LunarLanderContinuous-v3").startswith(">= 200")


def test_chance_of_target_matches_the_binomial_probabilities(monkeypatch):
    """Two equally likely values make every chance a binomial sum over five draws: mean ≥ 5 of
    {0, 10} needs three or more 10s (16/32); four of five ≥ 90 of {0, 100} needs four or five
    100s (6/32); a floor of −100 over {−50, −150} needs all five −50 (1/32). 100 000 sets give
    a standard error ≤ 0.0016, so 0.0065 is four of them; the same seed repeats the figure."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    cases = [
        ([0.0, 10.0], (5.0, None, None), 16 / 32),
        ([0.0, 100.0], (90.0, None, 4), 6 / 32),
        ([-50.0, -150.0], (-200.0, -100.0, None), 1 / 32),
    ]
    for values, rule, exact in cases:
        got = learn.chance_of_target(values, rule)
        assert abs(got - exact) < 0.0065, (values, rule, got, exact)
        assert learn.chance_of_target(values, rule) == got
    assert learn.chance_of_target([500.0] * 3, (500.0, None, None)) == 1.0
    assert learn.chance_of_target([499.9, 500.0], (500.0, None, None), sets=1000) < 0.1


def test_low_tail_is_the_binomial_quantile_of_five_seed_means(monkeypatch):
    """Five draws from {0, 10} have mean 2j with j ~ Binomial(5, 1/2): P(mean = 0) = 1/32
    (3.1 %), P(mean ≤ 2) = 6/32 (18.8 %), P(mean ≤ 6) = 26/32 (81.3 %), P(mean ≤ 8) = 31/32.
    Each asked percentile lies inside one of those steps, several standard errors (≤ 0.0016)
    from its edges, so it is the step's value exactly; all five equal values give that value."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    assert learn.low_tail([0.0, 10.0], 1) == 0.0
    assert learn.low_tail([0.0, 10.0], 10) == 2.0
    assert learn.low_tail([0.0, 10.0], 90) == 8.0
    assert learn.low_tail([-3.5] * 4, 1) == -3.5


def test_summary_prints_the_chance_for_ten_fresh_runs_only(tmp_path, monkeypatch, capsys):
    """Ten runs on seeds 30–39 get the standard error and chance line; the same ten values on
    the tuning seeds, and five held-out runs, do not."""
    monkeypatch.syspath_prepend(BENCH)
    import learn

    values = [500.0] * 8 + [490.0, 480.0]
    for i, v in enumerate(values):
        _store(tmp_path / "fresh", "CartPole-v1", 30 + i, v)
        _store(tmp_path / "tune", "CartPole-v1", i, v)
    for s in range(10, 15):
        _store(tmp_path / "held", "CartPole-v1", s, 500.0)
    learn.summary([str(tmp_path / "fresh")])
    out = capsys.readouterr().out
    se = np.std(values, ddof=1) / np.sqrt(10)
    chance = 100 * learn.chance_of_target(values, (500.0, None, None))
    assert f"standard error {se:.1f}" in out and f"in {chance:.0f} % of" in out, out
    assert "8 of 10 runs ≥ 500;" in out, out
    assert f"have a mean below {learn.low_tail(values, 1):.1f} in 1 %" in out, out
    assert 20 < chance < 45, chance  # (8/10)^5 = 32.8 %
    learn.summary([str(tmp_path / "tune"), str(tmp_path / "held")])
    assert "standard error" not in capsys.readouterr().out
