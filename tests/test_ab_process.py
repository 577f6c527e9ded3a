"""``benchmarks/ab_process.py``: two checkouts' whole processes side by side, θ checked equal."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "ab_process.py")


def test_one_checkout_against_itself_prints_the_rounds_and_the_same_theta():
    args = ["--a", ROOT, "--b", ROOT, "--timesteps", "2048", "--rounds", "2"]
    out = subprocess.run(
        [sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert (
        len(re.findall(r"^round \d: A +[\d.]+ s +B +[\d.]+ s +B − A +[+-][\d.]+ s$", out, re.M))
        == 2
    )
    assert re.search(r"B faster in [0-2] of 2 rounds", out), out
    assert "final θ and value θ: the same in every run" in out


def test_checkouts_that_train_differently_fail(tmp_path):
    """A checkout whose run ends on another θ (here: another seed's, through a patched worker)
    makes the script exit 1 and name the difference."""
    fake = tmp_path / "b"
    (fake / "benchmarks").mkdir(parents=True)
    for name in (
        "_compare_worker.py",
        "_compare_npy.py",
        "_compare_settings.py",
        "_compare_sb3.py",
    ):
        text = open(os.path.join(ROOT, "benchmarks", name), encoding="utf-8").read()
        if name == "_compare_npy.py":
            text = text.replace("TRPO(env_id, seed=seed,", "TRPO(env_id, seed=seed + 1,")
        (fake / "benchmarks" / name).write_text(text, encoding="utf-8")
    os.symlink(os.path.join(ROOT, "npytrpo"), fake / "npytrpo")
    args = ["--a", ROOT, "--b", str(fake), "--timesteps", "2048", "--rounds", "1"]
    out = subprocess.run(
        [sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1 and "DIFFER" in out.stdout, out.stdout + out.stderr
