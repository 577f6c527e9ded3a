"""npytrpo: Trust Region Policy Optimization in pure NumPy, every derivative derived by hand.

Public API by layer (see the module docstrings for shapes and equations; docs/design.md):

- math: ``MLP`` (tanh MLP on a flat θ: ``forward``, ``jvp``, ``vjp``, ``jacobian``); the heads
  ``CategoricalHead``, ``GaussianHead``, ``GSDEHead`` (one protocol); ``Policy`` = MLP + head
  (``CategoricalPolicy``, ``GaussianPolicy``), with the step's view ``Linearization``.
- step: ``TRPOConfig``; ``conjugate_gradient``, ``backtracking_line_search``,
  ``acceptance_tests``; ``trpo_step``, ``npg_step``, ``vpg_step``, ``natural_direction``,
  ``dense_natural_step``; PPO's ``PPOConfig``, ``ppo_clip_update``, ``ppo_kl_update``.
- agent: ``collect``, ``make_vector_env``, ``EpisodeTracker`` (and, with whole rollouts in
  worker processes, ``collect_workers``, ``make_worker_env``), ``gae``, ``ValueFunction``,
  ``ObservationNormalizer``, ``RewardScaler``; ``AgentConfig``, ``AgentState``; the agents
  ``TRPO`` and ``PPO`` (``learn``, ``predict``, ``evaluate``, ``save``, ``load``).
- io: ``save_checkpoint``, ``load_checkpoint``, ``CheckpointError``.
"""

from .advantages import gae
from .cg import CGResult, conjugate_gradient
from .closed_form import dense_natural_step
from .config import TRPOConfig
from .distributions import CategoricalHead, GaussianHead
from .gsde import GSDEHead
from .io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .linearize import Linearization
from .linesearch import (
    ACCEPTANCE_RULES,
    AcceptanceTest,
    LineSearchResult,
    acceptance_tests,
    backtracking_line_search,
    make_acceptance_rule,
)
from .nn import MLP
from .normalize import ObservationNormalizer, RewardScaler, RunningMeanStd
from .policies import CategoricalPolicy, GaussianPolicy, Policy, policy_from_spec
from .ppo import PPOConfig, PPOResult, ppo_clip_update, ppo_kl_update
from .trust_region import (
    StepResult,
    natural_direction,
    npg_step,
    standardize_advantages,
    trpo_step,
    vpg_step,
)
from .value import ValueFunction

__version__ = "0.1.0"


_ROLLOUT_NAMES = ("collect", "make_vector_env", "EpisodeTracker", "Rollout")
_WORKER_NAMES = ("collect_workers", "make_worker_env")
_AGENT_NAMES = ("TRPO", "PPO", "AgentConfig", "AgentState")


def __getattr__(name: str):
    # The agent imports gymnasium; load it only when asked for, so that the math layers stay
    # importable (and fast to import) without touching gymnasium.
    if name in _ROLLOUT_NAMES:
        from . import rollout

        return getattr(rollout, name)
    if name in _WORKER_NAMES:
        from . import workers

        return getattr(workers, name)
    if name in _AGENT_NAMES:
        from . import agent, agent_config

        return getattr(agent if name in ("TRPO", "PPO") else agent_config, name)
    raise AttributeError(f"module 'npytrpo' has no attribute {name!r}")


__all__ = [
    "collect_workers",
    "make_worker_env",
    "Rollout",
    "EpisodeTracker",
    "make_vector_env",
    "collect",
    "ppo_kl_update",
    "ppo_clip_update",
    "PPOResult",
    "PPOConfig",
    "PPO",
    "ACCEPTANCE_RULES",
    "AgentConfig",
    "AgentState",
    "AcceptanceTest",
    "CGResult",
    "CategoricalHead",
    "CategoricalPolicy",
    "CheckpointError",
    "GaussianHead",
    "GaussianPolicy",
    "GSDEHead",
    "Linearization",
    "LineSearchResult",
    "MLP",
    "ObservationNormalizer",
    "Policy",
    "RewardScaler",
    "RunningMeanStd",
    "StepResult",
    "TRPO",
    "TRPOConfig",
    "ValueFunction",
    "acceptance_tests",
    "backtracking_line_search",
    "conjugate_gradient",
    "dense_natural_step",
    "gae",
    "load_checkpoint",
    "make_acceptance_rule",
    "natural_direction",
    "npg_step",
    "policy_from_spec",
    "save_checkpoint",
    "standardize_advantages",
    "trpo_step",
    "vpg_step",
]
