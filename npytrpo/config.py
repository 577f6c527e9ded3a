"""The options of the trust-region step, stated once: ``TRPOConfig``.

Every step (``trpo_step``, ``npg_step``, ``vpg_step``), the agent and the oracle take their
options from one frozen ``TRPOConfig``. Its defaults are the ones of Schulman et al. 2015's
experiments (docs/design.md, "Defaults"); ``dataclasses.replace(cfg, delta=0.02)`` derives a
variant, and ``TRPOConfig.from_options(cfg, **options)`` does the same with a TypeError that
names an unknown option. ``asdict(cfg)`` is what checkpoints store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._validate import boolean, choice, integer, real_number, reject_unknown
from .distributions import KL_DIRECTIONS
from .linesearch import ACCEPTANCE_RULES

__all__ = ["TRPOConfig", "XAX_SOURCES"]

#: How ``natural_direction`` computes xᵀAx (``TRPOConfig.xax``).
XAX_SOURCES = ("product", "residual")


@dataclass(frozen=True)
class TRPOConfig:
    """Options of one TRPO / NPG step, validated on construction.

    Attributes
    ----------
    delta : float > 0, default 0.01
        Trust-region radius δ on the mean KL.
    damping : float ≥ 0, default 0.1
        λ in A = F + λI; every solve and the step size use A.
    cg_iters : int ≥ 1, default 10
        Maximum conjugate-gradient iterations.
    cg_tol : float ≥ 0, default 1e-10
        CG stops when rᵀr < cg_tol.
    backtrack_coeff : float in (0, 1), default 0.5
        α: trial j of the line search takes the fraction α^j of the full step.
    max_backtracks : int ≥ 1, default 10
        Number of trial steps (j = 0 .. max_backtracks − 1).
    kl_direction : {"old_new", "new_old"}, default "old_new"
        KL(π_old‖π_θ) or KL(π_θ‖π_old) in the line search's check.
    accept : {"kl_and_improve", "strict", "kl_slack", "expected_ratio"}
        The line search's acceptance rule (``linesearch.acceptance_tests``): KL ≤ δ and gain > 0
        (default); KL < δ and gain > 0 (sb3-contrib, Tianshou); KL ≤ 1.5δ and gain ≥ 0 (OpenAI
        baselines); gain / expected gain > 0.1 and gain > 0 (modular_rl).
    fvp_subsample : int ≥ 1, default 1
        Fisher products use every k-th sample (OpenAI baselines uses 5); g uses all.
    normalize_advantages : bool, default False
        Standardise Â to zero mean and unit (population) std first; a batch with std 0 becomes
        zeros (``trust_region.standardize_advantages``).
    entropy_coef : float ≥ 0, default 0.0
        c in the objective L(θ) + c·H̄(θ).
    xax : {"product", "residual"}, default "product"
        How the step size's xᵀAx (A = F + λI) is computed: with one more product A·x, or
        from the residual CG's recurrence tracks, A x = g − r (``cg.CGResult.residual``),
        which costs no product. The two agree to a few units in the last place, however
        small λ (``docs/measure.py xax``); gᵀx, the same number in exact arithmetic, does
        not (theory § 6). "product" is the hand-written step's, sb3-contrib's and the
        oracle's.

    Examples
    --------
    >>> cfg = TRPOConfig(delta=0.02)
    >>> cfg.delta, cfg.cg_iters
    (0.02, 10)
    >>> TRPOConfig.from_options(cfg, damping=1e-3).damping
    0.001
    >>> TRPOConfig(cg_iters=1.5)
    Traceback (most recent call last):
    TypeError: cg_iters must be an int, got 1.5
    """

    delta: float = 0.01
    damping: float = 0.1
    cg_iters: int = 10
    cg_tol: float = 1e-10
    backtrack_coeff: float = 0.5
    max_backtracks: int = 10
    kl_direction: str = "old_new"
    accept: str = "kl_and_improve"
    fvp_subsample: int = 1
    normalize_advantages: bool = False
    entropy_coef: float = 0.0
    xax: str = "product"

    def __post_init__(self) -> None:
        checked = {
            "delta": real_number(self.delta, "delta", low=0.0, low_open=True),
            "damping": real_number(self.damping, "damping", low=0.0),
            "cg_iters": integer(self.cg_iters, "cg_iters", low=1),
            "cg_tol": real_number(self.cg_tol, "cg_tol", low=0.0),
            "backtrack_coeff": real_number(
                self.backtrack_coeff, "backtrack_coeff", low=0.0, high=1.0, low_open=True,
                high_open=True,
            ),
            "max_backtracks": integer(self.max_backtracks, "max_backtracks", low=1),
            "kl_direction": choice(self.kl_direction, "kl_direction", KL_DIRECTIONS),
            "accept": choice(self.accept, "accept", ACCEPTANCE_RULES),
            "fvp_subsample": integer(self.fvp_subsample, "fvp_subsample", low=1),
            "normalize_advantages": boolean(self.normalize_advantages, "normalize_advantages"),
            "entropy_coef": real_number(self.entropy_coef, "entropy_coef", low=0.0),
            "xax": choice(self.xax, "xax", XAX_SOURCES),
        }  # fmt: skip
        if checked["backtrack_coeff"] ** (checked["max_backtracks"] - 1) == 0.0:
            raise ValueError(
                "backtrack_coeff**(max_backtracks - 1) underflows to 0, got "
                f"backtrack_coeff={self.backtrack_coeff!r}, max_backtracks={self.max_backtracks!r}"
            )
        for name, value in checked.items():  # plain Python types (JSON, equality, hashing)
            object.__setattr__(self, name, value)

    @classmethod
    def from_options(
        cls, config: TRPOConfig | None = None, owner: str = "TRPOConfig", **options: Any
    ) -> TRPOConfig:
        """``config`` (default ``TRPOConfig()``) with ``options`` replaced; an unknown option
        is a TypeError naming it and ``owner`` (the function the user called)."""
        if config is None:
            config = cls()
        elif not isinstance(config, cls):
            raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
        reject_unknown(options, cls.field_names(), owner)
        return dataclasses.replace(config, **options) if options else config

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TRPOConfig:
        """Rebuild from ``dataclasses.asdict`` output (as stored in checkpoints)."""
        if not isinstance(d, Mapping):
            raise TypeError(f"config must be a mapping, got {type(d).__name__}")
        return cls.from_options(None, owner=cls.__name__, **d)
