"""MuJoCo sampling speed: TRPO env-steps/s and raw env steps/s, sync/async/workers, 1/2/4 envs.

Run: ``python benchmarks/bench_mujoco.py [--env Hopper-v5] [--timesteps 20000]``
``[--n-envs 1 2 4] [--hash-steps 10000] [--seed 0]``.

For every ``n_envs`` and vectorization ("sync": gymnasium's SyncVectorEnv in this process;
"async": AsyncVectorEnv, one worker process per sub-env, stepped from this process; "workers":
the same processes each running whole rollouts with their own copy of π_θ, ``npytrpo.workers``):

- **raw**: the vector env stepped with uniformly random actions (drawn up front, so the figure
  is the env's cost alone: MuJoCo, the wrappers and, for async, the pipes; not measured for
  "workers", whose env is stepped the same way as "async");
- **TRPO**: ``TRPO(env, **preset, n_envs=n, vectorization=v).learn(timesteps)`` — whole
  iterations, so ``timesteps`` is rounded up to a multiple of ``n_envs·n_steps`` — reported as
  env-steps per wall-clock second together with the share of time spent in the rollout.

Then whether async reproduces sync: the SHA-256 of θ and value θ after ``--hash-steps`` steps of
the preset (its ``n_envs``) with each vectorization and the same seed; "workers" draws its
actions per sub-env, so it is compared with a second "workers" run (determinism) instead.
Last, the peak resident set size of this process (``ru_maxrss``; async workers are separate
processes, their peak is ``RUSAGE_CHILDREN``'s). sb3-contrib at the same settings is measured
side by side by ``benchmarks/compare.py --envs Hopper-v5``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import time

import numpy as np

from npytrpo.agent import TRPO
from npytrpo.rollout import make_vector_env
from npytrpo.tools.presets import get_preset


def fingerprint(a: np.ndarray) -> str:
    """First 16 hex digits of the SHA-256 of a float64 array's bytes."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()[:16]


def raw_rate(env_id: str, n_envs: int, vectorization: str, steps: int, seed: int) -> float:
    """Env-steps/s of the vector env under random actions (``steps`` env-steps in total)."""
    env = make_vector_env(env_id, n_envs, vectorization=vectorization)
    try:
        space = env.single_action_space
        rng = np.random.default_rng(seed)
        n_calls = -(-steps // n_envs)
        acts = rng.uniform(space.low, space.high, size=(n_calls, n_envs, *space.shape))
        env.reset(seed=seed)
        t0 = time.perf_counter()
        for a in acts:
            env.step(a)
        return n_calls * n_envs / (time.perf_counter() - t0)
    finally:
        env.close()


def trpo_rate(env_id: str, n_envs: int, vectorization: str, steps: int, seed: int):
    """(env-steps/s, rollout share of the time) of ``TRPO.learn(steps)`` with the preset."""
    kw = get_preset(env_id)
    kw.pop("timesteps", None)
    kw.update(n_envs=n_envs, vectorization=vectorization)
    agent = TRPO(env_id, seed=seed, **kw)
    try:
        t0 = time.perf_counter()
        agent.learn(steps, progress_bar=False)
        wall = time.perf_counter() - t0
        rollout = sum(r["time_rollout"] for r in agent.history)
        return agent.num_timesteps / wall, rollout / wall
    finally:
        agent.env.close()


def hashes(env_id: str, vectorization: str, steps: int, seed: int) -> tuple[str, str]:
    """Fingerprints of θ and value θ after ``steps`` steps of the preset."""
    kw = get_preset(env_id)
    kw.pop("timesteps", None)
    agent = TRPO(env_id, seed=seed, vectorization=vectorization, **kw)
    try:
        agent.learn(steps, progress_bar=False)
        return fingerprint(agent.theta), fingerprint(agent.value_theta)
    finally:
        agent.env.close()


def _load() -> str:
    """The machine's load averages: other processes sharing the cores skew every figure."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--timesteps", type=int, default=20_000)
    ap.add_argument("--n-envs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--hash-steps", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"{args.env}, preset settings, {args.timesteps} steps per cell, seed {args.seed}")
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print("load average (1, 5, 15 min) at start: " + _load())
    header = f"{'n_envs':>6} {'vec':>7} {'raw env steps/s':>16} {'TRPO steps/s':>13} {'rollout':>8}"
    print(header)
    print("-" * len(header))
    for n in args.n_envs:
        for vec in ("sync", "async", "workers"):
            raw = (
                "-"
                if vec == "workers"
                else f"{raw_rate(args.env, n, vec, args.timesteps, args.seed):,.0f}"
            )
            sps, share = trpo_rate(args.env, n, vec, args.timesteps, args.seed)
            print(f"{n:>6} {vec:>7} {raw:>16} {sps:>13,.0f} {share:>7.0%}", flush=True)
    print("against sb3-contrib: python benchmarks/compare.py --envs Hopper-v5 (side by side)")
    h_sync = hashes(args.env, "sync", args.hash_steps, args.seed)
    h_async = hashes(args.env, "async", args.hash_steps, args.seed)
    print(f"theta/value_theta after {args.hash_steps} steps, preset n_envs, seed {args.seed}:")
    print(f"  sync : {h_sync[0]} {h_sync[1]}")
    print(f"  async: {h_async[0]} {h_async[1]}")
    print(f"  async == sync: {h_sync == h_async}")
    h_w = [hashes(args.env, "workers", args.hash_steps, args.seed) for _ in range(2)]
    print(f"  workers, two runs: {h_w[0][0]} {h_w[0][1]} / {h_w[1][0]} {h_w[1][1]}")
    print(f"  workers run 1 == run 2: {h_w[0] == h_w[1]}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("load average (1, 5, 15 min) at end: " + _load())
    print(f"peak RSS: this process {own:.0f} MiB; largest async worker {kids:.0f} MiB")


if __name__ == "__main__":
    main()
