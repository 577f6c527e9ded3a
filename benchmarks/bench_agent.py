"""Training throughput at rl-zoo's CartPole settings: env-steps per second and where time goes.

Run: ``python benchmarks/bench_agent.py [--timesteps 100000] [--seed 0] [--vf-iters K]``.

Settings (rl-baselines3-zoo ``trpo.yml``, CartPole-v1): 2 sync envs × 512 steps per update,
64×64 tanh policy and value networks, δ = 0.01, damping 1e-3, γ = 0.99, λ = 0.98, advantage
normalisation on. Prints the wall time, env-steps/s and the per-iteration split — rollout
(env stepping + action sampling), policy step (gradient, CG, line search), value fit. Nothing
is asserted. For the speed against sb3-contrib, run ``benchmarks/compare.py``: it measures both
in one run on the same machine (a peer's figure is never quoted here as a constant).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from npytrpo.agent import TRPO
from npytrpo.tools.presets import get_preset


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--vf-iters", type=int, default=None, help="override the preset's")
    ap.add_argument("--serial", action="store_true", help="parallel_value_fit=False")
    args = ap.parse_args(argv)
    kw = get_preset(args.env)
    kw.pop("timesteps", None)
    kw.pop("note", None)
    if args.vf_iters is not None:
        kw["vf_iters"] = args.vf_iters
    if args.serial:
        kw["parallel_value_fit"] = False
    agent = TRPO(args.env, seed=args.seed, **kw)
    t0 = time.perf_counter()
    agent.learn(args.timesteps, progress_bar=False)
    wall = time.perf_counter() - t0
    h = agent.history
    split = {k: np.array([r[k] for r in h]) for k in ("time_rollout", "time_policy", "time_value")}
    wall_iter = np.diff([0.0] + [r["wall_time"] for r in h])
    # With parallel_value_fit the policy step and the value fit overlap: their sum exceeds the
    # wall time of the update phase, which is printed separately.
    split["time_update"] = wall_iter - split["time_rollout"]
    total = wall_iter.sum()
    sps = agent.num_timesteps / wall
    print(f"{args.env}, {os.cpu_count()} cores, settings: {kw}")
    print(
        f"{agent.num_timesteps} steps in {wall:.2f} s over {len(h)} iterations: "
        f"{sps:,.0f} env-steps/s"
    )
    print(f"{'part':<34}{'total s':>9}{'of wall':>9}{'ms/iter (median)':>18}")
    names = {
        "time_rollout": "rollout (env + sampling)",
        "time_policy": "  policy step (trpo_step)",
        "time_value": "  value fit (L-BFGS-B)",
        "time_update": "update phase wall (policy ∥ value)",
    }
    for key in ("time_rollout", "time_update", "time_policy", "time_value"):
        v = split[key]
        print(f"{names[key]:<34}{v.sum():9.2f}{v.sum() / total:9.1%}{1e3 * np.median(v):18.1f}")
    print(f"parallel_value_fit = {agent.parallel_value_fit}, BLAS threads {agent.blas_threads}")
    print("against sb3-contrib: see benchmarks/compare.py (both measured in one run)")
    last = [r["ep_return_mean"] for r in h[-5:]]
    ev = agent.evaluate(20)
    print(
        f"last 5 iterations' mean training return {np.nanmean(last):.1f}; deterministic "
        f"evaluation over 20 episodes {ev['mean_return']:.1f} ± {ev['std_return']:.1f}"
    )


if __name__ == "__main__":
    main()
