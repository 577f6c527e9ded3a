"""TRPO on CartPole-v1 with the tuned preset (rl-baselines3-zoo's settings).

    python demos/cartpole.py                # the preset's budget, 100k steps
    python demos/cartpole.py --timesteps 20000 --seed 1 --out runs/cartpole-s1

Writes OUT/progress.csv, OUT/model.npz and OUT/curve.png (with matplotlib), then prints a
deterministic evaluation. The same run from the command line:
``npytrpo train CartPole-v1``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from npytrpo.agent import TRPO
from npytrpo.tools.presets import get_preset
from npytrpo.tools.scripting import parse_dataclass_args, try_plot


@dataclass
class Args:
    env_id: str = "CartPole-v1"
    """gymnasium id; its preset supplies the hyperparameters"""
    timesteps: int = get_preset("CartPole-v1")["timesteps"]
    """environment steps to train for (default: the preset's budget)"""
    seed: int = 0
    """seeds the networks, the action sampling and the environments"""
    out: str = "runs/demo-cartpole"
    """directory for progress.csv, model.npz and curve.png"""
    eval_episodes: int = 10
    """episodes of the final deterministic evaluation"""
    progress: bool = True
    """show a progress bar (--no-progress to hide it)"""


args = parse_dataclass_args(Args, description=__doc__.splitlines()[0])
hyper = get_preset(args.env_id)  # TRPO keyword arguments (+ the default budget)
hyper.pop("timesteps", None)

agent = TRPO(args.env_id, seed=args.seed, log_dir=args.out, **hyper)
agent.learn(args.timesteps, progress_bar=args.progress)
result = agent.evaluate(args.eval_episodes)
os.makedirs(args.out, exist_ok=True)
agent.save(os.path.join(args.out, "model.npz"))
print(try_plot([os.path.join(args.out, "progress.csv")], os.path.join(args.out, "curve.png")))
print(
    f"{args.env_id}: {agent.num_timesteps} steps, evaluation over {args.eval_episodes} "
    f"episodes: {result['mean_return']:.1f} ± {result['std_return']:.1f} (in {args.out})"
)
