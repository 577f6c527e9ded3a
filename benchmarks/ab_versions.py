"""Two checkouts of npytrpo side by side on one machine: trpo_step time and agent speed.

For a refactoring that must not cost speed (issue 9: within 3 %), run both versions in
alternating child processes, ``--rounds`` times each, and compare the best of each version
(the least disturbed by other load) and the median across rounds:

    python benchmarks/ab_versions.py --a /path/to/old/checkout --b /path/to/new/checkout

Measured in each child (BLAS 1 thread, malloc tuned, as the agent runs):
- ``trpo_step`` on the 64×64 CartPole policy at N = 1024 (median of 30 calls, ms);
- ``TRPO("CartPole-v1")`` at rl-zoo's settings (2 envs × 512 steps, damping 1e-3,
  GAE λ 0.98, 15 value iterations, the value fit in the main thread): env-steps/s of
  ``learn(20480)`` after a warm-up iteration.
Each is also given per CPU second of the process (thread time for the step): on a machine
loaded by other work, wall time measures the load, CPU time much less so.
Only public names that both versions have are used. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, time, numpy as np
from threadpoolctl import threadpool_limits
threadpool_limits(1, "blas")
from npytrpo.memory import keep_freed_memory
keep_freed_memory()
from npytrpo import CategoricalPolicy, TRPO, trpo_step
rng = np.random.default_rng(0)
pi = CategoricalPolicy(4, 2, (64, 64)); theta = pi.init(rng)
obs = rng.standard_normal((1024, 4)); actions = pi.sample(theta, obs, rng)
adv = rng.standard_normal(1024)
ts, cs = [], []
for _ in range(31):
    t, c = time.perf_counter(), time.thread_time()
    trpo_step(pi, theta, obs, actions, adv, normalize_advantages=True)
    ts.append(time.perf_counter() - t); cs.append(time.thread_time() - c)
agent = TRPO("CartPole-v1", n_envs=2, n_steps=512, damping=1e-3, gae_lambda=0.98, vf_iters=15,
             seed=0, parallel_value_fit=False)
agent.learn(1024, progress_bar=False)
t, c = time.perf_counter(), time.process_time()
agent.learn(20480, progress_bar=False)
dt, dc = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"step_ms": float(np.median(ts[1:]) * 1e3),
                  "step_cpu_ms": float(np.median(cs[1:]) * 1e3),
                  "steps_per_sec": 20480 / dt, "steps_per_cpu_sec": 20480 / dc}))
"""


def run(path: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(path)}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{path}: child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True, help="checkout A (e.g. the version before a change)")
    p.add_argument("--b", required=True, help="checkout B")
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    res: dict[str, list[dict]] = {"A": [], "B": []}
    t0 = time.time()
    for r in range(a.rounds):
        for name, path in (("A", a.a), ("B", a.b)):
            res[name].append(run(path))
            m = res[name][-1]
            print(f"round {r}  {name}: trpo_step {m['step_ms']:8.2f} ms "
                  f"(CPU {m['step_cpu_ms']:7.2f} ms)   agent {m['steps_per_sec']:9.0f} "
                  f"env-steps/s (per CPU s {m['steps_per_cpu_sec']:9.0f})", flush=True)
    print(f"({time.time() - t0:.0f} s; load average at end: {os.getloadavg()[0]:.1f})")
    keys = (("step_ms", min), ("step_cpu_ms", min), ("steps_per_sec", max),
            ("steps_per_cpu_sec", max))
    for key, better in keys:
        va = [m[key] for m in res["A"]]
        vb = [m[key] for m in res["B"]]
        ba, bb = better(va), better(vb)
        ma, mb = sorted(va)[len(va) // 2], sorted(vb)[len(vb) // 2]
        print(f"{key:14s} best A {ba:10.2f}  B {bb:10.2f}  B/A {bb / ba:6.3f}   "
              f"median A {ma:10.2f}  B {mb:10.2f}  B/A {mb / ma:6.3f}")


if __name__ == "__main__":
    main()
