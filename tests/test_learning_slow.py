"""Learning targets of the presets, on two seeds each (``pytest -m slow``; minutes of CPU).

The full 5-seed figures come from ``benchmarks/learn.py``; these tests are the same check in a
form that fails loudly. Each run is deterministic for its seed on one machine, so a failure is
reproducible; the thresholds are issue 4's targets, applied to the mean over the seeds.
"""

import numpy as np
import pytest

from npytrpo.agent import TRPO
from npytrpo.tools.presets import get_preset

pytestmark = pytest.mark.slow

TARGETS = [  # (env id, mean deterministic return over seeds must reach)
    ("CartPole-v1", 475.0),
    ("Acrobot-v1", -90.0),
    ("Pendulum-v1", -250.0),
]
SEEDS = (0, 1)


def train_and_evaluate(env_id: str, seed: int) -> float:
    kw = get_preset(env_id)
    budget = kw.pop("timesteps")
    agent = TRPO(env_id, seed=seed, **kw)
    agent.learn(budget, progress_bar=False)
    return agent.evaluate(20)["mean_return"]


@pytest.mark.parametrize("env_id, target", TARGETS)
def test_preset_reaches_target(env_id, target):
    """The preset's final deterministic return, averaged over seeds, reaches the target."""
    returns = [train_and_evaluate(env_id, s) for s in SEEDS]
    assert np.mean(returns) >= target, f"{env_id}: {returns} (target {target})"
