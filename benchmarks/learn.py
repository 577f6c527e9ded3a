"""Learning benchmark: each preset on several seeds, final deterministic evaluation, mean ± std.

Run: ``python benchmarks/learn.py [--envs CartPole-v1,Acrobot-v1,...] [--seeds 5] [--jobs 2]``
``[--first-seed F] [--timesteps N] [--episodes 20] [--json out.json] [--out-dir DIR]``
``[--set key=value ...] [--long-eval E] [--late-evals N]``; ``--summary DIR [DIR ...]`` prints
the table of stored runs instead.

An entry of ``--envs`` may be a preset variant id (``Pendulum-v1/gsde``): its preset, on the
environment before the ``/``. With ``--out-dir`` every run is written to
``DIR/<env>_<variant>_seed<s>.json`` as soon as it finishes (a crash keeps the others).

For every environment, trains ``TRPO(env, seed=s, **preset)`` for the preset's budget (or
``--timesteps``) on seeds 0..S−1, in ``--jobs`` worker processes, then evaluates each final
policy deterministically over 20 episodes (its own seeded env). Prints per-seed results and
the mean ± std across seeds next to the targets: issue 13's for classic control, which apply to
held-out seeds 10–14 (tune on 0–9; rl-zoo reports a single agent), issue 11's for MuJoCo
(sb3-contrib's figures are 3 seeds at 1M steps on the v3 envs) and issue 14's for PPO. Each run
has a fresh worker process, so its ``peak_rss_mib`` is that run's own; ``peak_rss_helper_mib`` is
the largest of its helper processes (the value fit's, env workers), measured after
``agent.close()`` joins them.

=============================  ==========  ======================================
env                            budget      target
=============================  ==========  ======================================
CartPole-v1                    100k        500           (zoo: 500)
Acrobot-v1                     100k        ≥ −85, no seed below −100 (zoo: −83)
Pendulum-v1                    100k        ≥ −175, no seed below −400 (zoo: −175, gSDE)
MountainCar-v0                 100k        ≥ −108        (zoo: −107)
MountainCarContinuous-v0       50k         ≥ 90 on 4 of 5 seeds (zoo: 92.5, gSDE)
LunarLander-v3                 200k        ≥ 133         (zoo's benchmark table: 133 ± 112)
LunarLanderContinuous-v3       100k        ≥ 200         (zoo's benchmark table: 262 ± 21)
Hopper-v5                      1M          ≥ 3000 (sb3-contrib 3372 ± 215)
Walker2d-v5                    1M          ≥ 3000 (sb3-contrib 4502 ± 234)
HalfCheetah-v5                 1M          ≥ 1800 (sb3-contrib 1803 ± 46)
Swimmer-v5                     1M          ≥ 300  (sb3-contrib 359 ± 2)
CartPole-v1/ppo                100k        ≥ 475
Pendulum-v1/ppo                100k        ≥ −250
=============================  ==========  ======================================

``--summary`` also prints, for a row of at least ten runs on seeds it was not tuned on (a fresh
set such as 25–49), the standard error of its mean and how often a set of five seeds drawn from
those runs (with replacement, 100 000 sets, a fixed seed) meets the target: the chance that the
issue's five-seed held-out figure passes, if the runs are typical of unseen seeds
(``chance_of_target``), and the mean that 1 % of those sets fall below (``low_tail``).

``--late-evals N`` evaluates each run N more times over the last 40 % of its budget (10
deterministic episodes each, on an env of their own seeded the same way every time, so that every
evaluation of a run replays the same start states and differs only by the policy). A
CartPole-v1 run whose stochastic policy scores 500 can still move in and out of 500
deterministically from one iteration to the next, so
the final evaluation is one draw of a late-training pass rate; the fraction of late evaluations
that meet the target's bound estimates that rate with less noise than the one final figure, and
``--summary`` prints its mean over runs (``paired_runs.py --late`` compares it seed by seed).

Not part of the test suite (minutes of CPU); nothing is asserted.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from _targets import chance_of_target, low_tail, parse_target

TARGETS = {  # classic control: issue 13's, on held-out seeds 10-14; MuJoCo issue 11; PPO 14
    "CartPole-v1": "500",
    "Acrobot-v1": ">= -85, no seed < -100",
    "Pendulum-v1": ">= -175, no seed < -400",
    "MountainCar-v0": ">= -108",
    "MountainCarContinuous-v0": ">= 90 on 4 of 5 seeds",
    "LunarLander-v3": ">= 133",
    "LunarLanderContinuous-v3": ">= 200 (zoo 262)",
    "Hopper-v5": "≥ 3000 (sb3-contrib 3372 ± 215)",
    "Walker2d-v5": "≥ 3000 (sb3-contrib 4502 ± 234)",
    "HalfCheetah-v5": "≥ 1800 (sb3-contrib 1803 ± 46)",
    "Swimmer-v5": "≥ 300 (sb3-contrib 359 ± 2)",
    "Ant-v5": "report (sb3-contrib 3554 ± 591)",
    "CartPole-v1/ppo": "≥ 475 (issue 14)",
    "Pendulum-v1/ppo": "≥ -250 (issue 14; zoo PPO budget 100k)",
}
#: Seed sets reported separately by --summary: tuned on, and held out (issue 13).
SEED_SETS = {"tune 0-9": range(0, 10), "held-out 10-14": range(10, 15)}


def target_of(preset_id: str) -> str:
    """The target printed beside a preset: its own row (``Pendulum-v1/ppo``), else its env's
    (a variant such as ``Pendulum-v1/gsde`` shares its env's target)."""
    return TARGETS.get(preset_id, TARGETS.get(preset_id.split("/")[0], ""))


def _print_chance(env: str, label: str, m: np.ndarray) -> None:
    """``--summary``'s line under a row of ≥ 10 runs off the tuning seeds (module docstring)."""
    rule = parse_target(target_of(env))
    if label == next(iter(SEED_SETS)) or len(m) < 10 or rule is None:
        return
    se = m.std(ddof=1) / np.sqrt(len(m))
    print(f"{'':<34}{'':<16}    the mean's standard error {se:.1f}; {(m >= rule[0]).sum()} of "
          f"{len(m)} runs ≥ {rule[0]:g}; five of these seeds meet '{target_of(env)}' in "
          f"{100 * chance_of_target(m, rule):.0f} % of 100 000 resampled sets, and have a mean "
          f"below {low_tail(m, 1):.1f} in 1 %")  # fmt: skip


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


#: ``--long-eval``'s env seed is the run's seed plus this (the standard evaluation's env seed is
#: ``TRPO.evaluate``'s default, the seed plus 1 000 003).
LONG_EVAL_SEED_OFFSET = 7_000_001
#: ``--late-evals``: evaluations spread over the last ``1 − LATE_FROM`` of the budget, each of
#: ``LATE_EPISODES`` deterministic episodes on an env seeded with the seed + ``LATE_SEED_OFFSET``.
LATE_FROM, LATE_EPISODES, LATE_SEED_OFFSET = 0.6, 10, 9_000_011


def late_marks(budget: int, n: int) -> list[float]:
    """The env-step counts after which ``--late-evals n`` evaluates: n evenly spaced points of
    the last 40 % of ``budget``, the first at 0.6 · budget (the iteration that reaches a mark
    evaluates; one evaluation per iteration)."""
    return [budget * (LATE_FROM + (1 - LATE_FROM) * i / n) for i in range(n)]


def late_evaluator(budget: int, n: int, seed: int):
    """``(callback, evals)``: a ``TRPO.learn`` callback that evaluates the policy at
    ``late_marks(budget, n)`` and the list it appends ``[env-steps, mean return]`` to. The
    evaluations use their own env (``TRPO.evaluate``), so training draws exactly what it draws
    without them."""
    marks, evals = late_marks(budget, n), []

    def callback(agent, row) -> None:
        if marks and agent.num_timesteps >= marks[0]:
            while marks and agent.num_timesteps >= marks[0]:
                marks.pop(0)
            ev = agent.evaluate(LATE_EPISODES, seed=seed + LATE_SEED_OFFSET)
            evals.append([int(agent.num_timesteps), float(ev["mean_return"])])

    return callback, evals


def preset_kwargs(env_id: str, timesteps: int | None, overrides: dict) -> tuple[dict, int]:
    """``TRPO``'s keyword arguments for the preset ``env_id`` (a variant id such as
    ``Pendulum-v1/gsde`` too) with ``overrides`` on top, and the run's budget: ``timesteps``,
    or the preset's own (100k where it names none) when None."""
    from npytrpo.tools.presets import get_preset

    kw = get_preset(env_id)
    preset_budget = int(kw.pop("timesteps", 100_000))
    kw.pop("note", None)
    kw.update(overrides)
    return kw, preset_budget if timesteps is None else timesteps


def run_one(
    env_id: str,
    seed: int,
    timesteps: int | None,
    episodes: int,
    overrides: dict,
    long_eval: int = 0,
    late_evals: int = 0,
):
    """Train one agent and evaluate it; returns a dict of results (runs in a worker).

    ``env_id`` may name a preset variant ``ENV/ALGO`` (e.g. ``CartPole-v1/ppo``): its preset,
    on the environment ``ENV``. With ``long_eval`` > 0 the same final policy is also evaluated
    over that many episodes on an env seeded apart (``LONG_EVAL_SEED_OFFSET``): how far the
    ``episodes``-episode figure moves with the start states drawn, policy unchanged. With
    ``late_evals`` > 0 the policy is also evaluated that many times over the last 40 % of
    training (``late_evaluator``): how often the policies near the end pass, of which the final
    evaluation is one draw."""
    from npytrpo.agent import TRPO
    from npytrpo.tools.presets import env_id_of

    kw, budget = preset_kwargs(env_id, timesteps, overrides)
    t0 = time.perf_counter()
    agent = TRPO(env_id_of(env_id), seed=seed, **kw)
    callback, late = late_evaluator(budget, late_evals, seed) if late_evals else (None, None)
    agent.learn(budget, callback=callback, progress_bar=False)
    wall = time.perf_counter() - t0
    ev = agent.evaluate(episodes)
    extra = {}
    if long_eval:
        ev_long = agent.evaluate(long_eval, seed=seed + LONG_EVAL_SEED_OFFSET)
        extra = {
            "long_eval_episodes": long_eval,
            "long_eval_mean": ev_long["mean_return"],
            "long_eval_returns": [float(r) for r in ev_long["returns"]],
        }
    if late_evals:
        extra.update(late_eval_episodes=LATE_EPISODES, late_evals=late)
    agent.close()  # joins the value fit's helper (and env workers): their peak RSS is known
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
        # the largest helper process (value fit, env worker) of this run, shared pages included
        "peak_rss_helper_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "settings": kw,
        "overrides": overrides,
        "evaluation_returns": [float(r) for r in ev.get("returns", [])],
        **extra,
    }


def _write_run(out_dir: str, r: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    tag = r["env"].replace("/", "_")
    with open(os.path.join(out_dir, f"{tag}_seed{r['seed']}.json"), "w") as f:
        json.dump(r, f, indent=1)


def load_runs(dirs: list[str]) -> list[dict]:
    """Every run stored in ``dirs`` (``<env>_seed<s>.json``, as ``_write_run`` names them), in
    order of directory, then path."""
    runs = []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*_seed*.json"))):
            with open(path) as f:
                runs.append(json.load(f))
    return runs


def summary(dirs: list[str]) -> None:
    """Mean ± std and per-seed returns of the runs stored in ``dirs``, per env and seed set."""
    runs = load_runs(dirs)
    print(f"{'env':<34}{'seeds':<16}{'n':>3}{'mean ± std':>18}{'min':>9}  per seed")
    for e in dict.fromkeys(r["env"] for r in runs):
        for label, seeds in _seed_sets(r["seed"] for r in runs if r["env"] == e).items():
            rs = sorted((r for r in runs if r["env"] == e and r["seed"] in seeds),
                        key=lambda r: r["seed"])  # fmt: skip
            if rs:
                m = np.array([r["eval_mean"] for r in rs])
                per = " ".join(f"{r['seed']}:{r['eval_mean']:.1f}" for r in rs)
                print(f"{e:<34}{label:<16}{len(m):>3}{m.mean():>9.1f} ± {m.std():<6.1f}"
                      f"{m.min():>9.1f}  {per}")  # fmt: skip
                _print_long_eval(rs)
                _print_chance(e, label, m)
                _print_late(e, rs)


def _seed_sets(seeds) -> dict[str, object]:
    """``SEED_SETS``, then one group ``other A-B`` of the given seeds that fall in neither (a
    fresh set such as 15–19 is printed apart, never mixed into the tuning or held-out rows)."""
    known = set().union(*map(set, SEED_SETS.values()))
    rest = sorted(set(seeds) - known)
    return {**SEED_SETS, f"other {rest[0]}-{rest[-1]}": rest} if rest else dict(SEED_SETS)


def _print_long_eval(rs: list[dict]) -> None:
    """For runs with ``--long-eval``: the same policies over many episodes, and each seed's
    20-episode figure's distance from it (the start states' share of the seed's number)."""
    rs = [r for r in rs if "long_eval_mean" in r]
    if not rs:
        return
    m = np.array([r["long_eval_mean"] for r in rs])
    per = " ".join(f"{r['seed']}:{r['long_eval_mean']:.1f}" for r in rs)
    gap = " ".join(f"{r['eval_mean'] - r['long_eval_mean']:+.1f}" for r in rs)
    n = rs[0]["long_eval_episodes"]
    print(f"{'':<34}{f'  {n} episodes':<16}{len(m):>3}{m.mean():>9.1f} ± {m.std():<6.1f}"
          f"{m.min():>9.1f}  {per}  (short − long: {gap})")  # fmt: skip


def late_pass(run: dict, bound: float) -> float:
    """The fraction of a run's ``late_evals`` whose mean return is ≥ ``bound``."""
    return float(np.mean([m >= bound for _, m in run["late_evals"]]))


def _print_late(env: str, rs: list[dict]) -> None:
    """For runs with ``--late-evals``: the mean over runs of the fraction of late evaluations at
    or above the target's bound, and its standard error over runs."""
    rule = parse_target(target_of(env))
    rs = [r for r in rs if r.get("late_evals")]
    if rule is None or not rs:
        return
    f = np.array([late_pass(r, rule[0]) for r in rs])
    se = f.std(ddof=1) / np.sqrt(len(f)) if len(f) > 1 else float("nan")
    k = len(rs[0]["late_evals"])
    print(f"{'':<34}{'':<16}    late evaluations ({k} a run, {rs[0]['late_eval_episodes']} "
          f"episodes): {100 * f.mean():.1f} % ≥ {rule[0]:g} (SE {100 * se:.1f})")  # fmt: skip
    if k > 1 and len({len(r["late_evals"]) for r in rs}) == 1:
        steps, means, slope = late_trend(rs)
        by = " ".join(f"{m:.1f}" for m in means)
        print(f"{'':<34}{'':<16}    their mean over runs, {steps[0] / 1e3:.0f}k → "
              f"{steps[-1] / 1e3:.0f}k steps: {by} (slope {slope:+.2f} per 10k steps)")  # fmt: skip


def late_trend(rs: list[dict]) -> tuple[np.ndarray, np.ndarray, float]:
    """For runs with the same number of late evaluations: the mean env-steps and the mean return
    over runs at each evaluation, and the least-squares slope of the second against the first,
    per 10 000 env-steps (is the setting still improving at its budget?)."""
    a = np.array([r["late_evals"] for r in rs], dtype=float)  # (runs, evaluations, 2)
    steps, means = a[:, :, 0].mean(axis=0), a[:, :, 1].mean(axis=0)
    return steps, means, float(np.polyfit(steps / 1e4, means, 1)[0])


def add_run_arguments(ap: argparse.ArgumentParser, *, envs: str, first_seed: int, episodes: int):
    """The options of a batch of preset runs, shared with ``lander_outcomes.py``: ``--envs``,
    ``--seeds``, ``--first-seed``, ``--jobs``, ``--timesteps``, ``--episodes``, ``--set``,
    ``--out-dir`` and ``--summary``, with the given defaults."""
    ap.add_argument("--envs", default=envs)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=first_seed, help="seeds first..first+S-1")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timesteps", type=int, default=None)
    ap.add_argument("--episodes", type=int, default=episodes)
    ap.add_argument("--set", nargs="*", default=[], help="override preset values, key=value")
    ap.add_argument("--out-dir", default=None, help="write each run's JSON here as it finishes")
    ap.add_argument("--summary", nargs="+", default=None, help="print the table of stored runs")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(ap, envs=DEFAULT_ENVS, first_seed=0, episodes=20)
    ap.add_argument(
        "--long-eval",
        type=int,
        default=0,
        metavar="EPISODES",
        help="also evaluate each final policy over this many episodes on an env seeded apart",
    )
    ap.add_argument(
        "--late-evals",
        type=int,
        default=0,
        metavar="N",
        help="also evaluate each run N times over its last 40 %% of training (10 episodes each)",
    )
    ap.add_argument("--json", default=None, help="write all results to this file")
    ap.add_argument("--per-seed-dir", dest="out_dir", default=None, help="same as --out-dir")
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary)
        return
    envs = [e for e in args.envs.split(",") if e]
    overrides = _parse_set(args.set)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(e, s) for e in envs for s in seeds]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs, max_tasks_per_child=1) as pool:
        futures = [
            pool.submit(
                run_one,
                e,
                s,
                args.timesteps,
                args.episodes,
                overrides,
                args.long_eval,
                args.late_evals,
            )
            for e, s in jobs
        ]
        results = []
        for f in as_completed(futures):
            results.append(f.result())
            if args.out_dir:
                _write_run(args.out_dir, results[-1])
    results.sort(key=lambda r: (envs.index(r["env"]), r["seed"]))
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
            f"  {per_seed:<40} {target_of(e)}   ({sps:,.0f} steps/s/worker)"
        )
        for r in rs:
            print(
                f"    seed {r['seed']}: eval {r['eval_mean']:.1f} ± {r['eval_std']:.1f}, "
                f"wall {r['wall_s']:.0f} s, {r['steps_per_s']:,.0f} steps/s, "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB"
                + (
                    f" (largest helper process {r['peak_rss_helper_mib']:.0f} MiB)"
                    if r.get("peak_rss_helper_mib")
                    else ""
                )
                + (
                    f"; over {r['long_eval_episodes']} episodes {r['long_eval_mean']:.1f}"
                    if "long_eval_mean" in r
                    else ""
                )
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
