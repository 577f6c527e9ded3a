"""How the lander presets' final policies end their episodes: at rest, crashed, flown off, or
still in the air when the 1 000-step limit cuts them (hovering).

Run: ``python benchmarks/lander_outcomes.py [--envs LunarLander-v3,LunarLanderContinuous-v3]``
``[--first-seed 10] [--seeds 5] [--jobs 2] [--timesteps N] [--episodes 100] [--set k=v ...]``
``[--out-dir DIR]``; ``--summary DIR [DIR ...]`` prints the table of stored runs instead.

Each run trains ``TRPO(env, seed=s, **preset)`` as ``benchmarks/learn.py`` does (its budget, or
``--timesteps``), then evaluates the final policy three times: the standard 20 deterministic
episodes (``TRPO.evaluate``'s default seed: the figure ``learn.py`` prints, so the two can be
checked against each other), and ``--episodes`` episodes on an env seeded apart (learn.py's
``--long-eval`` seed), once with the deterministic action and once with sampled actions.

Gymnasium's LunarLander ends an episode with a reward of exactly −100 when the lander's body
touches the ground or it leaves the screen (|x| ≥ 1), and of exactly +100 when the lander has
come to rest (Box2D puts its body to sleep); the ``TimeLimit`` wrapper truncates it at 1 000
steps. The outcome of every episode is read from that last step: ``rest``, ``crash`` (−100
with |x| < 1), ``off`` (−100 with |x| ≥ 1) or ``timeout``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

import gymnasium as gym
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

OUTCOMES = ("rest", "crash", "off", "timeout")


class OutcomeRecorder(gym.Wrapper):
    """Records, for every finished episode, how it ended (one of ``OUTCOMES``)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.outcomes: list[str] = []

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        if term:
            if r == 100.0:
                self.outcomes.append("rest")
            elif r == -100.0:
                self.outcomes.append("off" if abs(float(obs[0])) >= 1.0 else "crash")
            else:  # not a LunarLander ending: say so rather than guess
                self.outcomes.append(f"terminated with reward {float(r)}")
        elif trunc:
            self.outcomes.append("timeout")
        return obs, r, term, trunc, info


def _evaluate(agent, episodes: int, seed: int | None, deterministic: bool) -> dict:
    env = OutcomeRecorder(gym.make(agent.env_id))
    try:
        ev = agent.evaluate(episodes, seed=seed, deterministic=deterministic, env=env)
    finally:
        env.close()
    counts = {k: env.outcomes.count(k) for k in OUTCOMES}
    other = len(env.outcomes) - sum(counts.values())
    return {
        "mean": ev["mean_return"],
        "returns": [float(r) for r in ev["returns"]],
        "lengths": [int(n) for n in ev["lengths"]],
        "outcomes": counts,
        "other": other,
    }


def run_one(env_id: str, seed: int, timesteps: int | None, episodes: int, overrides: dict):
    """Train one preset agent and evaluate it three ways (runs in a worker)."""
    from learn import LONG_EVAL_SEED_OFFSET, preset_kwargs

    from npytrpo.agent import TRPO
    from npytrpo.tools.presets import env_id_of

    kw, budget = preset_kwargs(env_id, timesteps, overrides)
    agent = TRPO(env_id_of(env_id), seed=seed, **kw)
    try:
        agent.learn(budget, progress_bar=False)
        apart = seed + LONG_EVAL_SEED_OFFSET
        return {
            "env": env_id,
            "seed": seed,
            "timesteps": agent.num_timesteps,
            "overrides": overrides,
            "eval20": _evaluate(agent, 20, None, True),
            "deterministic": _evaluate(agent, episodes, apart, True),
            "sampled": _evaluate(agent, episodes, apart, False),
        }
    finally:
        agent.close()


def _row(r: dict, key: str) -> str:
    e = r[key]
    n = len(e["returns"])
    counts = " ".join(f"{k} {e['outcomes'][k]:>3}" for k in OUTCOMES)
    if e.get("other"):  # endings that are not LunarLander's (OutcomeRecorder names them)
        counts += f" other {e['other']:>3}"
    lengths = np.asarray(e["lengths"])
    return f"{e['mean']:>7.1f} over {n:>3} ({counts}; mean length {lengths.mean():.0f})"


def summary(dirs: list[str]) -> None:
    """Per run and per env: the three evaluations and how their episodes ended."""
    from learn import load_runs

    runs = load_runs(dirs)
    for env in sorted({r["env"] for r in runs}):
        rs = sorted((r for r in runs if r["env"] == env), key=lambda r: r["seed"])
        print(f"== {env} at {rs[0]['timesteps']:,} steps, overrides {rs[0]['overrides']}")
        for r in rs:
            print(f"  seed {r['seed']:>2}  20 episodes        {_row(r, 'eval20')}")
            print(f"           deterministic  {_row(r, 'deterministic')}")
            print(f"           sampled        {_row(r, 'sampled')}")
        for key in ("eval20", "deterministic", "sampled"):
            means = np.array([r[key]["mean"] for r in rs])
            total = {k: sum(r[key]["outcomes"][k] for r in rs) for k in OUTCOMES}
            n = sum(len(r[key]["returns"]) for r in rs)
            share = " ".join(f"{k} {100 * v / n:.0f} %" for k, v in total.items())
            print(
                f"  {key:<14} mean ± std over {len(rs)} seeds {means.mean():.1f} ± "
                f"{means.std():.1f}; of {n} episodes: {share}"
            )


def main(argv=None) -> None:
    from learn import _parse_set, _write_run, add_run_arguments

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    envs = "LunarLander-v3,LunarLanderContinuous-v3"
    add_run_arguments(ap, envs=envs, first_seed=10, episodes=100)
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.summary)
        return
    if args.out_dir is None:
        ap.error("--out-dir is required to run (each run's JSON is written there)")
    overrides = _parse_set(args.set)
    envs = [e for e in args.envs.split(",") if e]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with ProcessPoolExecutor(max_workers=args.jobs, max_tasks_per_child=1) as pool:
        futures = [
            pool.submit(run_one, e, s, args.timesteps, args.episodes, overrides)
            for e in envs
            for s in seeds
        ]
        for f in as_completed(futures):
            r = f.result()
            _write_run(args.out_dir, r)
            print(f"{r['env']} seed {r['seed']}: 20 episodes {r['eval20']['mean']:.1f}", flush=True)
    summary([args.out_dir])


if __name__ == "__main__":
    main()
