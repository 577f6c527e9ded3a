"""Learning benchmark: each preset on several seeds, final deterministic evaluation, mean ± std.

Run: ``python benchmarks/learn.py [--envs CartPole-v1,Acrobot-v1,...] [--seeds 5] [--jobs 2]``
``[--timesteps N] [--episodes 20] [--json out.json] [--per-seed-dir DIR] [--set key=value ...]``.

For every environment, trains ``TRPO(env, seed=s, **preset)`` for the preset's budget (or
``--timesteps``) on seeds 0..S−1, in ``--jobs`` worker processes, then evaluates each final
policy deterministically over 20 episodes (its own seeded env). Prints per-seed results and
the mean ± std across seeds next to the targets of issues 4 and 11 (rl-zoo reports a single
agent; sb3-contrib's MuJoCo figures are 3 seeds at 1M steps on the v3 envs). Each run has a
fresh worker process, so its ``peak_rss_mib`` is that run's own. With ``--per-seed-dir`` every
run's dict is written to ``DIR/<env>_seed<s>.json`` as soon as it finishes:

=============================  ==========  =========================
env                            budget      target
=============================  ==========  =========================
CartPole-v1                    100k        ≥ 475   (zoo: 500)
Acrobot-v1                     100k        ≥ −90   (zoo: −83)
Pendulum-v1                    100k        ≥ −250, aim −175 (zoo: −175 with gSDE)
MountainCar-v0                 100k        report
MountainCarContinuous-v0       50k         report
Hopper-v5                      1M          ≥ 3000 (sb3-contrib 3372 ± 215)
Walker2d-v5                    1M          ≥ 3000 (sb3-contrib 4502 ± 234)
HalfCheetah-v5                 1M          ≥ 1800 (sb3-contrib 1803 ± 46)
Swimmer-v5                     1M          ≥ 300  (sb3-contrib 359 ± 2)
=============================  ==========  =========================

Not part of the test suite (minutes of CPU); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

TARGETS = {
    "CartPole-v1": "≥ 475 (zoo 500)",
    "Acrobot-v1": "≥ -90 (zoo -83)",
    "Pendulum-v1": "≥ -250, aim -175 (zoo -175, gSDE)",
    "MountainCar-v0": "report",
    "MountainCarContinuous-v0": "report",
    "Hopper-v5": "≥ 3000 (sb3-contrib 3372 ± 215)",
    "Walker2d-v5": "≥ 3000 (sb3-contrib 4502 ± 234)",
    "HalfCheetah-v5": "≥ 1800 (sb3-contrib 1803 ± 46)",
    "Swimmer-v5": "≥ 300 (sb3-contrib 359 ± 2)",
    "Ant-v5": "report (sb3-contrib 3554 ± 591)",
    "CartPole-v1/ppo": "≥ 475 (issue 14)",
    "Pendulum-v1/ppo": "≥ -250 (issue 14; zoo PPO budget 100k)",
}
DEFAULT_ENVS = "CartPole-v1,Acrobot-v1,Pendulum-v1,MountainCar-v0,MountainCarContinuous-v0"


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, raw = item.partition("=")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def run_one(env_id: str, seed: int, timesteps: int | None, episodes: int, overrides: dict):
    """Train one agent and evaluate it; returns a dict of results (runs in a worker).

    ``env_id`` may name a preset variant ``ENV/ALGO`` (e.g. ``CartPole-v1/ppo``): its preset,
    on the environment ``ENV``."""
    from npytrpo.agent import TRPO
    from npytrpo.tools.presets import get_preset

    kw = get_preset(env_id)
    preset_budget = int(kw.pop("timesteps", 100_000))
    budget = preset_budget if timesteps is None else timesteps
    kw.pop("note", None)
    kw.update(overrides)
    t0 = time.perf_counter()
    agent = TRPO(env_id.split("/")[0], seed=seed, **kw)
    agent.learn(budget, progress_bar=False)
    wall = time.perf_counter() - t0
    ev = agent.evaluate(episodes)
    return {
        "env": env_id,
        "seed": seed,
        "timesteps": agent.num_timesteps,
        "eval_mean": ev["mean_return"],
        "eval_std": ev["std_return"],
        "train_last": float(np.nanmean([r["ep_return_mean"] for r in agent.history[-5:]])),
        "wall_s": wall,
        "steps_per_s": agent.num_timesteps / wall,
        "eval_returns": ev["returns"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "settings": kw,
    }


def _save_seed(result: dict, directory: str | None) -> dict:
    """Write one run's dict to ``directory/<env>_seed<s>.json`` (when a directory is given)."""
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{result['env']}_seed{result['seed']}.json")
        with open(path, "w") as f:
            json.dump(result, f, indent=1)
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", default=DEFAULT_ENVS)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first..first+S-1")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timesteps", type=int, default=None)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--json", default=None, help="write all results to this file")
    ap.add_argument("--per-seed-dir", default=None, help="write each run's JSON here")
    ap.add_argument("--set", nargs="*", default=[], help="override preset values, key=value")
    args = ap.parse_args(argv)
    envs = [e for e in args.envs.split(",") if e]
    overrides = _parse_set(args.set)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(e, s) for e in envs for s in seeds]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs, max_tasks_per_child=1) as pool:
        futures = [
            pool.submit(run_one, e, s, args.timesteps, args.episodes, overrides) for e, s in jobs
        ]
        results = [_save_seed(f.result(), args.per_seed_dir) for f in futures]
    print(f"{len(jobs)} runs in {time.perf_counter() - t0:.0f} s with {args.jobs} workers")
    header = f"{'env':<26}{'steps':>8}{'eval mean ± std over seeds':>30}  {'per seed':<40} target"
    print(header)
    print("-" * len(header))
    for e in envs:
        rs = [r for r in results if r["env"] == e]
        means = np.array([r["eval_mean"] for r in rs])
        per_seed = " ".join(f"{m:.0f}" for m in means)
        sps = np.mean([r["steps_per_s"] for r in rs])
        print(
            f"{e:<26}{rs[0]['timesteps']:>8}{means.mean():>21.1f} ± {means.std():<6.1f}"
            f"  {per_seed:<40} {TARGETS.get(e, '')}   ({sps:,.0f} steps/s/worker)"
        )
        for r in rs:
            print(
                f"    seed {r['seed']}: eval {r['eval_mean']:.1f} ± {r['eval_std']:.1f}, "
                f"wall {r['wall_s']:.0f} s, {r['steps_per_s']:,.0f} steps/s, "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
