"""Two checkouts of npytrpo, whole processes side by side: does a change speed up a real run?

``compare.py`` times npytrpo against sb3-contrib; this times one npytrpo against another, the
same way: each round runs ``_compare_worker.py train npytrpo ENV SEED TIMESTEPS`` once from
each checkout (its own ``benchmarks/`` and its own ``npytrpo`` on the path), alternating which
goes first, and times the process from spawn to exit less the final evaluation, as
``compare.py``'s "whole process" figure. A change that moves work out of the first iterations
(an import, a start-up) shows here and not in ``ab_versions.py``, which times ``learn`` after a
warm-up.

    python benchmarks/ab_process.py --a /path/to/old/checkout --b . --env CartPole-v1 --rounds 5
        [--timesteps N] [--set KEY=VALUE ...]

Prints each pair, then the medians of A and B, the median of the per-pair differences B − A and
how many pairs B won. Both checkouts must give the same final θ (printed, checked): the script
is for changes that claim to keep every number. Nothing is asserted on the times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ab_inprocess import add_checkout_args  # noqa: E402
from compare import _side_args, run_worker  # noqa: E402
from learn import _parse_set  # noqa: E402


def run(
    checkout: str, env_id: str, seed: int, timesteps: int, overrides: str = ""
) -> tuple[float, dict]:
    """One training process from ``checkout``: (seconds less the evaluation, its RESULT), timed
    as ``compare.py`` times its whole-process figure; ``overrides``: settings over the preset
    (JSON), the same for both checkouts."""
    args = _side_args("npytrpo", env_id, seed, timesteps, 1, overrides)
    res, wall = run_worker(args, root=checkout)
    return wall - res["t_eval"], res


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_checkout_args(p)
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timesteps", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--set", nargs="*", default=[], help="settings over the preset, key=value")
    a = p.parse_args(argv)
    overrides = json.dumps(_parse_set(a.set)) if a.set else ""
    print(f"# ab_process.py {a.env} seed {a.seed}, {a.timesteps:,} steps; cores {os.cpu_count()}, "
          f"load average at start {os.getloadavg()[0]:.2f}"
          + (f"; settings {overrides}" if overrides else ""))  # fmt: skip
    times: dict[str, list[float]] = {"A": [], "B": []}
    hashes = set()
    for r in range(a.rounds):
        order = (("A", a.a), ("B", a.b)) if r % 2 == 0 else (("B", a.b), ("A", a.a))
        for name, path in order:
            seconds, res = run(path, a.env, a.seed, a.timesteps, overrides)
            times[name].append(seconds)
            hashes.add((res["theta_sha"], res["value_theta_sha"]))
        print(f"round {r}: A {times['A'][-1]:7.3f} s   B {times['B'][-1]:7.3f} s   "
              f"B − A {times['B'][-1] - times['A'][-1]:+7.3f} s", flush=True)  # fmt: skip
    diffs = [b - x for x, b in zip(times["A"], times["B"], strict=True)]
    ma, mb = statistics.median(times["A"]), statistics.median(times["B"])
    print(f"median A {ma:.3f} s, B {mb:.3f} s (B/A {mb / ma:.3f}); median of B − A per round "
          f"{statistics.median(diffs):+.3f} s; B faster in {sum(d < 0 for d in diffs)} of "
          f"{len(diffs)} rounds")  # fmt: skip
    same = "the same in every run" if len(hashes) == 1 else f"DIFFER: {sorted(hashes)}"
    print(f"final θ and value θ: {same}")
    if len(hashes) != 1:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
