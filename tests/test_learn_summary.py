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
