"""``benchmarks/paired_runs.py``: per-seed differences on the common seeds, and their SE."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _store(directory, env, values):
    directory.mkdir()
    for seed, v in values.items():
        run = {"env": env, "seed": seed, "eval_mean": v}
        (directory / f"{env}_seed{seed}.json").write_text(json.dumps(run))


def test_paired_uses_common_seeds_only_and_the_sample_se(tmp_path, monkeypatch, capsys):
    """Base {1: 10, 2: 20, 3: 30, 9: 99}, other {1: 11, 2: 23, 3: 32, 4: 0}: the common seeds are
    1–3, the differences 1, 3, 2 (mean 2, sample std 1, SE 1/√3), the other's mean 22."""
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    _store(tmp_path / "base", "E-v0", {1: 10.0, 2: 20.0, 3: 30.0, 9: 99.0})
    _store(tmp_path / "other", "E-v0", {1: 11.0, 2: 23.0, 3: 32.0, 4: 0.0})
    base, other = (paired_runs.by_seed(str(tmp_path / d)) for d in ("base", "other"))
    n, mean, diff, se = paired_runs.paired(base, other)
    assert (n, mean, diff) == (3, 22.0, 2.0)
    assert se == pytest.approx(1 / np.sqrt(3), rel=1e-15)
    paired_runs.main([str(tmp_path / "base"), str(tmp_path / "other")])
    out = capsys.readouterr().out
    assert "n=3" in out and "minus base   +2.00" in out and "SE  0.58" in out, out


def test_paired_refuses_mixed_envs_and_too_few_common_seeds(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    _store(tmp_path / "a", "E-v0", {1: 1.0, 2: 2.0})
    (tmp_path / "a" / "F-v0_seed3.json").write_text(json.dumps({"env": "F-v0", "seed": 3}))
    with pytest.raises(ValueError, match="one environment"):
        paired_runs.by_seed(str(tmp_path / "a"))
    with pytest.raises(ValueError, match="two common seeds"):
        paired_runs.paired({1: 1.0, 2: 2.0}, {2: 3.0, 5: 1.0})


def test_seeds_to_detect_solves_effect_over_se_equals_k_plus_z(tmp_path, monkeypatch, capsys):
    """At power 0.5 (z = 0) the bar k·SE = effect gives n = (k·sd/effect)²: (2·10/10)² = 4 and
    (2·30/10)² = 36; at power 0.8, z = 0.8416… and (2.8416 · 10/10)² = 8.07 rounds up to 9. The
    CLI prints the same figure from the measured SE: the differences 1, 3, 2 have std 1, so a
    difference of 1 needs ⌈2.8416²⌉ = 9 seeds."""
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    assert paired_runs.seeds_to_detect(10.0, 10.0, power=0.5) == 4
    assert paired_runs.seeds_to_detect(30.0, 10.0, power=0.5) == 36
    assert paired_runs.seeds_to_detect(10.0, 10.0) == 9
    assert paired_runs.seeds_to_detect(10.0, 10.0, power=0.5, k=3.0) == 9
    for bad in ({"effect": 0.0}, {"effect": -5.0}, {"power": 1.0}, {"power": 0.0}):
        with pytest.raises(ValueError, match="effect must be > 0 and power in"):
            paired_runs.seeds_to_detect(10.0, **{"effect": 10.0, **bad})
    _store(tmp_path / "base", "E-v0", {1: 10.0, 2: 20.0, 3: 30.0})
    _store(tmp_path / "other", "E-v0", {1: 11.0, 2: 23.0, 3: 32.0})
    paired_runs.main([str(tmp_path / "base"), str(tmp_path / "other"), "--effect", "1"])
    assert "seeds for +1: 9" in capsys.readouterr().out


def test_a_setting_may_span_directories_joined_by_commas(tmp_path, monkeypatch, capsys):
    """Base runs in two directories {1: 10, 2: 20} and {7: 70}, the other's in {1: 12, 7: 71} and
    {2: 23}: merged, the differences are 2, 3, 1 (mean 2), the other's mean 35.33; a seed in
    two of a setting's directories is refused."""
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    _store(tmp_path / "b1", "E-v0", {1: 10.0, 2: 20.0})
    _store(tmp_path / "b2", "E-v0", {7: 70.0})
    _store(tmp_path / "o1", "E-v0", {1: 12.0, 7: 71.0})
    _store(tmp_path / "o2", "E-v0", {2: 23.0})
    base = paired_runs.runs_by_seed(f"{tmp_path / 'b1'},{tmp_path / 'b2'}")
    assert base == {1: 10.0, 2: 20.0, 7: 70.0}
    other = f"{tmp_path / 'o1'},{tmp_path / 'o2'}"
    n, mean, diff, _ = paired_runs.paired(base, paired_runs.runs_by_seed(other))
    assert (n, diff) == (3, 2.0) and mean == pytest.approx(106 / 3, rel=1e-15)
    paired_runs.main([f"{tmp_path / 'b1'},{tmp_path / 'b2'}", other])
    assert "n=3" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"seeds \[1\] appear twice"):
        paired_runs.runs_by_seed(f"{tmp_path / 'b1'},{tmp_path / 'o1'}")


def test_unpaired_is_the_difference_of_means_with_the_welch_se(tmp_path, monkeypatch, capsys):
    """Base {1: −2, 2: 2, 3: 6} (mean 2, sample variance 16), other {5: −1, 6: 9} (mean 4,
    sample variance 50): difference 2, Welch SE √(16/3 + 50/2) = √(91/3); one run below 0 each.
    Runs sharing a seed are refused (they are paired), as are fewer than two runs on a side."""
    monkeypatch.syspath_prepend(BENCH)
    import paired_runs

    base, other = {1: -2.0, 2: 2.0, 3: 6.0}, {5: -1.0, 6: 9.0}
    n, mean, diff, se = paired_runs.unpaired(base, other)
    assert (n, mean, diff) == (2, 4.0, 2.0)
    assert se == pytest.approx(np.sqrt(91 / 3), rel=1e-15)
    with pytest.raises(ValueError, match="disjoint seeds"):
        paired_runs.unpaired(base, {3: 1.0, 7: 2.0})
    with pytest.raises(ValueError, match="at least two runs"):
        paired_runs.unpaired(base, {7: 2.0})
    _store(tmp_path / "base", "E-v0", base)
    _store(tmp_path / "other", "E-v0", other)
    paired_runs.main(["--unpaired", str(tmp_path / "base"), str(tmp_path / "other")])
    out = capsys.readouterr().out
    assert "3 runs, mean 2.00, 1 below 0" in out and "n=2" in out, out
    assert "minus base   +2.00  SE  5.51" in out and "below 0: 1" in out, out
    with pytest.raises(SystemExit):
        args = [str(tmp_path / "base"), str(tmp_path / "other")]
        paired_runs.main(["--unpaired", "--effect", "5", *args])
