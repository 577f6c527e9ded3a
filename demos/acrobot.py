"""TRPO on Acrobot-v1 with the tuned preset (rl-baselines3-zoo's settings).

    python demos/acrobot.py                # the preset's budget, 100k steps
    python demos/acrobot.py --timesteps 20000 --seed 1 --out runs/acrobot-s1

Writes OUT/progress.csv, OUT/model.npz and OUT/curve.png (with matplotlib), then prints a
deterministic evaluation. The same run from the command line:
``npytrpo train Acrobot-v1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass

from npytrpo.agent import TRPO
from npytrpo.presets import get_preset


@dataclass
class Args:
    env_id: str = "Acrobot-v1"
    """gymnasium id; its preset supplies the hyperparameters"""
    timesteps: int = get_preset("Acrobot-v1")["timesteps"]
    """environment steps to train for (default: the preset's budget)"""
    seed: int = 0
    """seeds the networks, the action sampling and the environments"""
    out: str = "runs/demo-acrobot"
    """directory for progress.csv, model.npz and curve.png"""
    eval_episodes: int = 10
    """episodes of the final deterministic evaluation"""
    progress: bool = True
    """show a progress bar (--no-progress to hide it)"""


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in dataclasses.fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
    return Args(**vars(parser.parse_args()))


args = parse_args()
hyper = get_preset(args.env_id)  # TRPO keyword arguments (+ the default budget)
hyper.pop("timesteps", None)

agent = TRPO(args.env_id, seed=args.seed, log_dir=args.out, **hyper)
agent.learn(args.timesteps, progress_bar=args.progress)
result = agent.evaluate(args.eval_episodes)

os.makedirs(args.out, exist_ok=True)
agent.save(os.path.join(args.out, "model.npz"))
try:
    from npytrpo.plotting import plot_runs

    if agent.history:  # progress.csv has a row per iteration
        plot_runs([os.path.join(args.out, "progress.csv")], os.path.join(args.out, "curve.png"))
except ImportError as exc:  # matplotlib is the optional extra "plot"
    print(f"no curve.png: {exc}")

print(
    f"{args.env_id}: {agent.num_timesteps} steps, evaluation over {args.eval_episodes} episodes: "
    f"{result['mean_return']:.1f} ± {result['std_return']:.1f}  (outputs in {args.out})"
)
