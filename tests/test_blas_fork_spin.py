"""``benchmarks/blas_fork_spin.py``: it runs, in a parent and the child it forks, and prints a
CPU figure for every event."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "blas_fork_spin.py")


def test_prints_every_event_of_parent_and_child():
    out = subprocess.run(
        [sys.executable, SCRIPT, "--sleep", "0.01"], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": ROOT}, timeout=120, check=True,
    ).stdout  # fmt: skip
    rows = re.findall(r"^\[(parent|child )\] (.+?)\s+(\d+\.\d) ms$", out, re.M)
    assert [who for who, _, _ in rows] == ["parent"] * 4 + ["child "] * 4 + ["parent"] * 2, out
    assert rows[0][1] == "import numpy" and rows[-1][1].endswith("restore the default count")
    assert "BLAS libraries and threads" in out
