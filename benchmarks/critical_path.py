"""Where a real training run's main process spends each iteration, the value-fit helper on.

Run: ``python benchmarks/critical_path.py [--env Pendulum-v1] [--timesteps 100000]
[--seed 0] [--set KEY=VALUE ...]``.

``profile_iteration.py`` fits the value function on the main thread so that cProfile sees it;
this script runs the preset as ``npytrpo train`` and ``compare.py`` do (``parallel_value_fit``:
the fit of iteration k runs in its helper process beside the policy step of k and the rollout of
k + 1, see ``npytrpo/fitproc.py``) and times, from the outside, what the main process does:

- ``collect`` (the rollout), ``policy_update`` (the step), the GAE and the value forward pass;
- ``join_fit``: the time the main process waits for the helper's fit before the next GAE. It
  is 0 where the fit is hidden behind the step and the next rollout, and the fit's excess over
  them where it is not, i.e. whether the fit is on the critical path.

The env comes from the comparison's settings (``_compare_settings.npytrpo_kwargs``: the plain
Gaussian for Pendulum-v1, as sb3-contrib runs it). Each piece is wrapped with a
``perf_counter`` pair; the wrappers change no number (the final θ's hash is printed to check).
Wall-clock figures move with the machine's load: read them side by side, within one run.

The first iterations are printed apart: each of the first two collects and policy steps with
its wall time and its process CPU time (every thread of the agent's process: CPU above wall
means another thread of the process was busy, e.g. a BLAS pool's spinning worker), the helper's
first fits, and the first three iterations' time beyond the median iteration.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _compare_settings import npytrpo_kwargs  # noqa: E402
from learn import _parse_set  # noqa: E402

#: ``npytrpo.agent`` functions timed from the outside, in the order of an iteration.
PIECES = ("collect", "collect_workers", "gae", "exploration_std", "policy_update")


def _timed(store: dict, name: str, fn, calls: list | None = None, firsts: list | None = None):
    """``fn`` adding its wall time to ``store[name]`` (and each call's to ``calls``); the first
    two calls' (name, wall, process CPU) go to ``firsts``."""

    def wrapper(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - t0
            store[name] += seconds
            if calls is not None:
                calls.append(seconds)
            if firsts is not None and sum(f[0] == name for f in firsts) < 2:
                firsts.append((name, seconds, time.process_time() - c0))

    return wrapper


def run(env_id: str, seed: int, timesteps: int, overrides: dict) -> None:
    import npytrpo.agent as agent_mod
    from npytrpo.agent import TRPO
    from npytrpo.value import ValueFunction

    kw, source = npytrpo_kwargs(env_id)
    kw.update(overrides)
    spent: dict[str, float] = collections.defaultdict(float)
    firsts: list = []  # the first calls' (name, wall, CPU)
    originals = [(agent_mod, name, getattr(agent_mod, name)) for name in PIECES]
    originals.append((ValueFunction, "forward", ValueFunction.forward))
    for owner, name, fn in originals:
        # on the class for ValueFunction: the agent pickles its value function to the helper
        # (whose timings stay in its own copy of ``spent``)
        label = "value forward" if owner is ValueFunction else name
        setattr(owner, name, _timed(spent, label, fn, firsts=firsts if label in FIRSTS else None))
    try:
        agent = TRPO(env_id, seed=seed, **kw)
        start_fit, waits = agent._start_value_fit, []

        def start_and_time(*args):
            return _timed(spent, "join_fit", start_fit(*args), waits)

        agent._start_value_fit = start_and_time
        t0 = time.perf_counter()
        agent.learn(timesteps, progress_bar=False)
        t_learn = time.perf_counter() - t0
        agent.close()
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    _report(env_id, seed, kw, source, agent, t_learn, spent, waits)
    _report_first(agent, firsts)
    for what, (setup, stmt) in LOADS.items():
        secs = ", ".join(f"{t:.3f}" for t in load_seconds(setup, stmt))
        print(f"{what} in a fresh interpreter (after {setup}): {secs} s")
    digest = hashlib.sha256(agent.theta.tobytes()).hexdigest()[:16]
    print(f"final theta sha256[:16] {digest}")


#: The pieces whose first calls ``_report_first`` prints.
FIRSTS = ("collect", "collect_workers", "policy_update")


def _report_first(agent, firsts: list) -> None:
    """The first iterations: wall and CPU of the first calls, the helper's first fits, and
    the first three iterations' time beyond the median iteration."""
    print("\nfirst calls (wall ms / process CPU ms, all of the agent's threads):")
    for name, wall, cpu in firsts:
        print(f"  {name:<26}{1e3 * wall:8.1f} / {1e3 * cpu:6.1f}")
    fits = 1e3 * np.array([r["time_value"] for r in agent.history])
    walls = 1e3 * np.diff([0.0] + [r["wall_time"] for r in agent.history])
    if len(fits) > 3:
        print(f"  value fits (helper) {', '.join(f'{f:.1f}' for f in fits[:2])}, "
              f"median {np.median(fits):.1f} ms")  # fmt: skip
        excess = (walls[:3] - np.median(walls)).sum()
        print(f"  first three iterations beyond the median iteration: {excess:.1f} ms")


#: What an L-BFGS-B fit loads, timed by ``load_seconds`` as (setup, timed statement): the
#: helper's load before its first fit (``fitproc._serve``; the helper is forked from the agent's
#: process, which has npytrpo loaded) since the twelfth session, and the import it made before.
LOADS = {
    "npytrpo.lbfgsb.load_setulb()": ("import npytrpo.lbfgsb", "npytrpo.lbfgsb.load_setulb()"),
    "import scipy.optimize": ("import numpy", "import scipy.optimize"),
}


def load_seconds(setup: str, stmt: str, repeats: int = 3) -> list[float]:
    """Seconds that ``stmt`` takes after ``setup``, each in a fresh interpreter."""
    code = f"import time; {setup}; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    runs = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            for _ in range(repeats))  # fmt: skip
    return [float(r.stdout) for r in runs]


def _report(env_id, seed, kw, source, agent, t_learn: float, spent: dict, waits: list) -> None:
    """Print the main process's split, the helper's fit time and the joins' waits."""
    n = len(agent.history)
    fit = sum(r["time_value"] for r in agent.history)
    print(f"{env_id} seed {seed}, {agent.num_timesteps:,} steps in {n} iterations; {source}")
    print(f"settings: {kw}")
    print(f"learn() {t_learn:.2f} s, {1e3 * t_learn / n:.1f} ms/iter\n")
    print(f"{'main process':<28}{'s':>8}{'ms/iter':>10}{'share':>8}")
    rows = [(k, v) for k, v in spent.items() if v > 0]
    rows.append(("rest", t_learn - sum(spent.values())))
    for name, seconds in rows:
        print(f"{name:<28}{seconds:8.3f}{1e3 * seconds / n:10.1f}{seconds / t_learn:8.1%}")
    print(f"\nthe value fit (log rows' time_value): {1e3 * fit / n:.1f} ms/iter")
    w = 1e3 * np.array(waits)
    if len(w) > 1 and agent.config.parallel_value_fit:
        p50, p90 = np.percentile(w[1:], [50, 90])
        print(
            f"join_fit per iteration: first {w[0]:.1f} ms (the helper has just started), "
            f"then median {p50:.2f}, 90th "
            f"percentile {p90:.2f}, max {w[1:].max():.1f} ms; {int((w[1:] > 1.0).sum())} of "
            f"{len(w) - 1} later joins wait > 1 ms"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="Pendulum-v1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timesteps", type=int, default=100_000)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    run(args.env, args.seed, args.timesteps, _parse_set(args.set))


if __name__ == "__main__":
    main()
