"""Repeated draws of one seed set: how often a setting's five-seed row meets its target.

A row such as issue 13's "Pendulum-v1 ≥ −175 on seeds 10–14" is one draw: the five trainings
on those seeds. A last-bit change of a setting that does not matter (δ one ulp away) sends each
training along another trajectory on the same seeds, the same environment resets and the same
evaluation episodes, so runs at δ ± k ulp are further draws of the same row
(``benchmarks/results/tune19``, ``tune29``). Run each draw into its own directory::

    python benchmarks/draws.py --ulps 0.01 10        # the δ values: 10 ulps above, 10 below
    python benchmarks/learn.py --envs ENV --first-seed 10 --seeds 5 ... --set delta=D \\
        --out-dir DIR/D                              # one directory per δ value D

then ``python benchmarks/draws.py DIR/*`` prints, for each directory, its seeds' mean
20-episode return (``--long``: the long evaluation's) and whether the runs meet the env's target
(``learn.TARGETS``, read as ``learn.py --summary`` reads it), and at the end how many draws meet
it. Each directory must hold one environment's runs on the same seeds as the others.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _targets import meets, parse_target  # noqa: E402
from learn import load_runs, target_of  # noqa: E402
from paired_runs import by_seed  # noqa: E402


def ulp_neighbours(x: float, k: int) -> list[float]:
    """The k floats above ``x`` and the k below it, nearest first: x + 1 ulp, …, x + k ulp,
    x − 1 ulp, …, x − k ulp (``np.nextafter``)."""
    if not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    out = []
    for direction in (np.inf, -np.inf):
        y = float(x)
        for _ in range(k):
            y = float(np.nextafter(y, direction))
            out.append(y)
    return out


def draw_rows(dirs: list[str], measure: str = "final") -> tuple[str, list[tuple[str, float, bool]]]:
    """``(env, [(directory, mean over its seeds, meets the env's target), ...])`` for draws of
    one seed set; whether a draw meets the target is read on its 20-episode figures (the row's
    own measure) whatever ``measure`` averages."""
    envs = {r["env"] for r in load_runs(dirs)}
    if len(envs) != 1:
        raise ValueError(f"dirs must hold one environment's runs, got {sorted(envs)}")
    env = envs.pop()
    rule = parse_target(target_of(env))
    if rule is None:
        raise ValueError(f"{env} has no target with a bound ({target_of(env)!r}) to meet")
    rows, seeds = [], None
    for d in dirs:
        final = by_seed(d, "final")
        if seeds is None:
            seeds = sorted(final)
        elif sorted(final) != seeds:
            raise ValueError(f"every draw must hold the same seeds: {d} has {sorted(final)}, "
                             f"{dirs[0]} {seeds}")  # fmt: skip
        figures = final if measure == "final" else by_seed(d, measure)
        ok = bool(meets(np.array([[final[s] for s in seeds]]), rule)[0])
        rows.append((d, float(np.mean([figures[s] for s in seeds])), ok))
    return env, rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", help="one --out-dir per draw, the same seeds in each")
    ap.add_argument("--long", dest="measure", action="store_const", const="long",
                    default="final", help="average the long evaluation (--long-eval)")  # fmt: skip
    ap.add_argument("--ulps", nargs=2, metavar=("X", "K"),
                    help="print the K floats above X and the K below it, and exit")  # fmt: skip
    args = ap.parse_args(argv)
    if args.ulps:
        print(" ".join(repr(v) for v in ulp_neighbours(float(args.ulps[0]), int(args.ulps[1]))))
        return
    if not args.dirs:
        ap.error("give the draws' directories, or --ulps X K")
    env, rows = draw_rows(args.dirs, args.measure)
    for d, mean, ok in rows:
        print(f"{d:<50} mean {mean:8.2f}  {'meets' if ok else 'misses'} the target")
    means = np.array([m for _, m, _ in rows])
    print(f"{env}: {sum(ok for *_, ok in rows)} of {len(rows)} draws meet '{target_of(env)}'; "
          f"the draws' means {means.mean():.1f} ± {means.std():.1f} (min {means.min():.1f}, "
          f"max {means.max():.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
