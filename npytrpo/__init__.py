"""npytrpo: Trust Region Policy Optimization in pure NumPy, every derivative derived by hand.

Public API (see the module docstrings for shapes and equations):

- ``nn.MLP`` — tanh MLP on a flat θ with ``forward``, ``jvp``, ``vjp``, ``jacobian``.
- ``CategoricalPolicy``, ``GaussianPolicy`` — log-probs, KL, surrogate and its gradient, exact
  and matrix-free Fisher, empirical Fisher, sampling.
- ``conjugate_gradient``, ``backtracking_line_search`` — generic solvers.
- ``trpo_step``, ``npg_step``, ``vpg_step``, ``dense_natural_step`` — the policy updates.
- ``gae``, ``ValueFunction``, ``ObservationNormalizer``, ``RewardScaler`` — the agent's parts.
- ``TRPO`` — the agent: ``learn``, ``predict``, ``evaluate``, ``save``, ``load``.
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


_AGENT_NAMES = ("TRPO", "AgentConfig", "AgentState")


def __getattr__(name: str):
    # The agent imports gymnasium; load it only when asked for, so that the math layers stay
    # importable (and fast to import) without touching gymnasium.
    if name in _AGENT_NAMES:
        from . import agent, agent_config

        return getattr(agent if name == "TRPO" else agent_config, name)
    raise AttributeError(f"module 'npytrpo' has no attribute {name!r}")


__all__ = [
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
