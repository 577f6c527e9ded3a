"""How far the running observation normaliser moves the policy outside the trust region.

Run: ``python benchmarks/normalizer_drift.py [--envs LunarLander-v3,LunarLanderContinuous-v3]``
``[--first-seed 10] [--seeds 5] [--jobs 2] [--timesteps N] [--set k=v ...]``.

With ``normalize_obs`` the policy acts on (s − μ)/σ. Iteration k collects its batch with the
statistics S_k, merges the batch into them (S_{k+1}) and takes the TRPO step θ_k → θ_{k+1} on
the batch as normalised with S_k, so the step's KL (≤ δ) is measured at S_k; the next rollout
acts with θ_{k+1} at S_{k+1}. The normaliser's own change of the policy, which no trust region
bounds, is

    (1/N) Σ_n KL(π_{θ_{k+1}}(·|n_{S_k}(s_n)) ‖ π_{θ_{k+1}}(·|n_{S_{k+1}}(s_n)))

over the batch's raw states s_n. Printed per run, over ranges of iterations: the mean of the
step's KL (the log's ``kl``) and the mean and largest of that drift. The instrument copies the
statistics and the batch where the agent merges them (``RunningMeanStd.update``) and changes
no number of the run (``tests/test_normalizer_drift.py``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

RANGES = ((0, 10), (10, 30), (30, 60), (60, None))


def drift_rows(env_id: str, seed: int, timesteps: int | None, overrides: dict) -> dict:
    """Train the preset of ``env_id`` iteration by iteration; per iteration (step KL, drift KL).

    Returns ``{"rows": [(kl_step, kl_drift), ...], "theta": final θ}``."""
    from learn import preset_kwargs

    from npytrpo.agent import TRPO
    from npytrpo.tools.presets import env_id_of

    kw, budget = preset_kwargs(env_id, timesteps, overrides)
    agent = TRPO(env_id_of(env_id), seed=seed, **kw)
    norm = agent.state.obs_normalizer
    if norm is None:
        raise ValueError(f"{env_id}: the run does not normalise observations (normalize_obs)")
    seen, merge = {}, norm.rms.update

    def update(x):  # what the agent merges, and the statistics it merges into
        seen["stats"], seen["x"] = norm.rms.state_dict(), np.array(x, copy=True)
        merge(x)

    norm.rms.update = update

    def normalised(stats: dict, x: np.ndarray) -> np.ndarray:
        other = copy.deepcopy(norm)
        other.rms.load_state_dict(stats)
        return other.normalize(x, update=False)

    rows, policy = [], agent.policy
    try:
        while agent.num_timesteps < budget:
            agent.learn(agent.batch_size, progress_bar=False)
            x, theta = seen["x"], agent.state.theta
            p = policy.dist_at(theta, normalised(seen["stats"], x))[0]
            q = policy.dist_at(theta, normalised(norm.rms.state_dict(), x))[0]
            rows.append((agent.history[-1]["kl"], float(np.mean(policy.head.kl(p, q)))))
    finally:
        agent.close()
    return {"env": env_id, "seed": seed, "rows": rows, "theta": agent.state.theta}


def report(run: dict) -> list[str]:
    """One line per range of iterations: step KL mean, drift KL mean and max."""
    r = np.asarray(run["rows"], dtype=float)
    lines = []
    for lo, hi in RANGES:
        hi = len(r) if hi is None else min(hi, len(r))
        if lo < hi:
            step, drift = r[lo:hi, 0], r[lo:hi, 1]
            lines.append(
                f"{run['env']} seed {run['seed']} iterations {lo}-{hi - 1}: step KL mean "
                f"{step.mean():.5f}; normaliser drift KL mean {drift.mean():.6f}, max "
                f"{drift.max():.6f} (mean drift / mean step {drift.mean() / step.mean():.3f})"
            )
    return lines


def main(argv=None) -> None:
    from learn import _parse_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", default="LunarLander-v3,LunarLanderContinuous-v3")
    ap.add_argument("--first-seed", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timesteps", type=int, default=None)
    ap.add_argument("--set", nargs="*", default=[], help="override preset values, key=value")
    args = ap.parse_args(argv)
    overrides = _parse_set(args.set)
    jobs = [
        (e, s)
        for e in args.envs.split(",")
        if e
        for s in range(args.first_seed, args.first_seed + args.seeds)
    ]
    with ProcessPoolExecutor(max_workers=args.jobs, max_tasks_per_child=1) as pool:
        futures = [pool.submit(drift_rows, e, s, args.timesteps, overrides) for e, s in jobs]
        for f in futures:
            print("\n".join(report(f.result())), flush=True)


if __name__ == "__main__":
    main()
