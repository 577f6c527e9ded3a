"""How hard are the evaluation episodes of each seed? Pendulum-v1 start states of learn.py's eval.

``TRPO.evaluate`` seeds its env with ``seed + 1_000_003`` on the first reset and resets unseeded
after each episode, so the 20 start states of a seed's evaluation depend on the seed alone, not on
the policy. Counts the starts within 0.64 rad of hanging down (|θ₀| > 2.5) per seed and regresses
the stored runs' evaluation means on that count. Run from the repository root:
``python benchmarks/results/tune13/pendulum_start_states.py``.
"""

import glob
import json

import gymnasium as gym
import numpy as np

DIRS = ["tune13/pgsde_ls1", "tune13/pgsde_held", "gsde/pendulum_gsde_zoo", "gsde/pendulum_gaussian"]


def bottom_starts(seed: int, episodes: int = 20) -> int:
    env = gym.make("Pendulum-v1")
    env.reset(seed=seed + 1_000_003)
    count = 0
    for _ in range(episodes):
        count += abs(env.unwrapped.state[0]) > 2.5
        env.reset()
    return int(count)


counts = {s: bottom_starts(s) for s in range(15)}
print("bottom starts per seed:", counts)
print(
    f"mean over seeds 0-9: {np.mean([counts[s] for s in range(10)]):.1f}, "
    f"over held-out 10-14: {np.mean([counts[s] for s in range(10, 15)]):.1f}"
)
for d in DIRS:
    runs = [json.load(open(p)) for p in glob.glob(f"benchmarks/results/{d}/*.json")]
    x = np.array([counts[r["seed"]] for r in runs], dtype=float)
    y = np.array([r["eval_mean"] for r in runs])
    slope = np.polyfit(x, y, 1)[0]
    print(
        f"{d:26s} n={len(runs):2d} corr={np.corrcoef(x, y)[0, 1]:+.2f} "
        f"slope={slope:+.1f} return per bottom start"
    )
