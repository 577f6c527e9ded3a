"""Two checkouts of npytrpo training one preset, in alternating child processes.

For changes whose cost shows over many iterations (where the value fit runs, how the rollout
and the fit share the cores), and for presets the in-process A/B (``ab_inprocess.py``) does not
cover, such as MuJoCo. Each round runs, for A then B, one child process that builds
``TRPO(ENV, seed=SEED, **preset)`` (the version's own preset, its own defaults) and calls
``learn(ITERATIONS * batch_size)``. Printed per run: the learn time and the medians of the log
rows' rollout, policy-step and value-fit times after the first five iterations. Nothing is
asserted; the VM's spread between runs is large, so compare rounds, not single runs.

    python benchmarks/ab_preset_chunks.py --a /path/to/old/checkout --b /path/to/new/checkout \
        [--env Hopper-v5] [--iterations 100] [--rounds 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r"""
import sys, time, numpy as np
from npytrpo import TRPO
from npytrpo.tools.presets import get_preset
env_id, seed, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw = get_preset(env_id); kw.pop("timesteps", None); kw.pop("note", None)
agent = TRPO(env_id, seed=seed, **kw)
t = time.perf_counter()
agent.learn(iterations * agent.batch_size, progress_bar=False)
learn = time.perf_counter() - t
rows = agent.history[5:]
med = {k: 1e3 * float(np.median([r[k] for r in rows]))
       for k in ("time_rollout", "time_policy", "time_value")}
print(f"learn {learn:.2f} s; median ms rollout {med['time_rollout']:.1f} "
      f"policy {med['time_policy']:.1f} value {med['time_value']:.1f}")
"""


def main() -> None:
    from ab_inprocess import add_checkout_args

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_checkout_args(p)
    p.add_argument("--env", default="Hopper-v5")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(f"{a.env}, seed {a.seed}, {a.iterations} iterations per run; cores: {os.cpu_count()}, "
          f"load average at start: {os.getloadavg()[0]:.1f}")
    for r in range(a.rounds):
        for name, path in (("A", a.a), ("B", a.b)):
            env = {**os.environ, "PYTHONPATH": os.path.abspath(path)}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, a.env, str(a.seed), str(a.iterations)],
                capture_output=True, text=True, env=env, check=True,
            )
            print(f"round {r + 1} {name} ({path}): {out.stdout.strip()}", flush=True)


if __name__ == "__main__":
    main()
