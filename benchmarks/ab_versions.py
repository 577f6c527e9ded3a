"""Two checkouts of npytrpo side by side on one machine: trpo_step time and agent speed.

For a refactoring that must not cost speed (issue 9: within 3 %), run both versions in
alternating child processes, ``--rounds`` times each, and compare the best of each version
(the least disturbed by other load) and the median across rounds:

    python benchmarks/ab_versions.py --a /path/to/old/checkout --b /path/to/new/checkout

Measured in each child (BLAS 1 thread, malloc tuned, as the agent runs):
- ``trpo_step`` on the 64×64 CartPole policy at N = 1024 (median of 30 calls, ms);
- ``TRPO("CartPole-v1")`` at rl-zoo's settings (2 envs × 512 steps, damping 1e-3,
  GAE λ 0.98, 15 value iterations): env-steps/s of ``learn(20480)`` after a warm-up iteration.
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
ts = []
for _ in range(31):
    t = time.perf_counter(); trpo_step(pi, theta, obs, actions, adv, normalize_advantages=True)
    ts.append(time.perf_counter() - t)
step_ms = float(np.median(ts[1:]) * 1e3)
agent = TRPO("CartPole-v1", n_envs=2, n_steps=512, damping=1e-3, gae_lambda=0.98, vf_iters=15,
             seed=0)
agent.learn(1024, progress_bar=False)
t = time.perf_counter(); agent.learn(20480, progress_bar=False); dt = time.perf_counter() - t
print(json.dumps({"step_ms": step_ms, "steps_per_sec": 20480 / dt}))
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
            print(f"round {r}  {name}: trpo_step {m['step_ms']:8.2f} ms   "
                  f"agent {m['steps_per_sec']:9.0f} env-steps/s", flush=True)
    print(f"({time.time() - t0:.0f} s; load average at end: {os.getloadavg()[0]:.1f})")
    for key, better in (("step_ms", min), ("steps_per_sec", max)):
        va = [m[key] for m in res["A"]]
        vb = [m[key] for m in res["B"]]
        ba, bb = better(va), better(vb)
        ma, mb = sorted(va)[len(va) // 2], sorted(vb)[len(vb) // 2]
        print(f"{key:14s} best A {ba:10.2f}  B {bb:10.2f}  B/A {bb / ba:6.3f}   "
              f"median A {ma:10.2f}  B {mb:10.2f}  B/A {mb / ma:6.3f}")


if __name__ == "__main__":
    main()
