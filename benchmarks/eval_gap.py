"""How much harder a run's final evaluation episodes are than its long evaluation.

A run stored by ``learn.py --long-eval K`` was evaluated twice at its end with the same
deterministic policy: over the 20 final episodes (``eval_mean``), whose start states are fixed
by the run's seed, and over K further episodes (``long_eval_mean``). Over many seeds the two
agree in expectation; on a given seed set their difference, final − long, measures how hard
that set's final start states are for the policies trained there. For each group of directories
(comma-joined, pooled) this prints::

    group  n  finals (mean of eval_mean)  long (mean of long_eval_mean)  gap ± SE

with the gap averaged over runs and SE = std(gap, ddof=1)/√n. Runs that share seeds (last-bit
draws of one seed set, ``draws.py``) share their start states, so their SE speaks of those
states alone, not of seed sets in general.

Run: ``python benchmarks/eval_gap.py DIR[,DIR...] [DIR[,DIR...] ...]``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from learn import load_runs  # noqa: E402


def gap(dirs: list[str]) -> tuple[int, float, float, float, float]:
    """``(n, mean final, mean long, mean gap, SE of the gap)`` over every run stored in
    ``dirs`` (one environment's, each with a long evaluation), gap = ``eval_mean −
    long_eval_mean`` per run."""
    per_dir = {d: load_runs([d]) for d in dirs}  # each directory read once
    runs = [r for rs in per_dir.values() for r in rs]
    if len(runs) < 2:
        raise ValueError(f"dirs must hold at least two runs, {dirs} hold {len(runs)}")
    envs = sorted({r["env"] for r in runs})
    if len(envs) != 1:
        raise ValueError(f"a group must hold one environment's runs, {dirs} hold {envs}")
    short = [d for d, rs in per_dir.items() if any("long_eval_mean" not in r for r in rs)]
    if short:
        raise ValueError(f"every run needs a long evaluation (--long-eval); {short} lack one")
    final = np.array([r["eval_mean"] for r in runs], dtype=np.float64)
    long = np.array([r["long_eval_mean"] for r in runs], dtype=np.float64)
    g = final - long
    return (
        len(g),
        float(final.mean()),
        float(long.mean()),
        float(g.mean()),
        float(g.std(ddof=1) / np.sqrt(len(g))),
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", nargs="+", help="comma-joined directories, pooled into one row")
    args = ap.parse_args(argv)
    print(f"{'group':<58}{'n':>5}{'finals':>9}{'long':>9}{'gap ± SE':>16}")
    for group in args.groups:
        dirs = [d for d in group.split(",") if d]
        n, f, lo, g, se = gap(dirs)
        label = dirs[0] if len(dirs) == 1 else f"{dirs[0]} (+{len(dirs) - 1} more)"
        print(f"{label:<58}{n:>5}{f:>9.1f}{lo:>9.1f}{g:>9.1f} ± {se:<5.1f}")


if __name__ == "__main__":
    main()
