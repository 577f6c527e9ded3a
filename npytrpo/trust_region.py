"""The TRPO step (Schulman et al. 2015, appendix C) and the natural policy gradient step.

Given a batch collected by π_old = π_θold, with A = F + λI (damping λ):

=====================  =================================================  ====================
quantity               formula                                            where
=====================  =================================================  ====================
gradient               g = ∇_θ L(θ_old) (+ c·∇H̄ with an entropy bonus)    ``Policy.linearize``
direction              x ≈ A⁻¹g by conjugate gradient                     ``natural_direction``
step size              β = √(2δ / xᵀAx)                                   ``natural_direction``
full step              βx; expected improvement gᵀ(βx)                    ``natural_direction``
line search            θ_j = θ_old + α^j βx, first accepted j             ``trpo_step``
closed form (dense)    x* = √(2δ / gᵀA⁻¹g) · A⁻¹g                         ``closed_form.py``
=====================  =================================================  ====================

Every step takes its options from one ``TRPOConfig`` (``config.py``): pass ``config=`` and/or
the options by name (``trpo_step(..., delta=0.02)``); an unknown name is a TypeError. The step
talks to the policy only through ``Policy.linearize`` (g, v ↦ F·v, trial KL and gain).

Degenerate cases are statuses, never exceptions or NaNs: a zero gradient (or all-zero
advantages), a non-finite g, F·v or x, non-positive curvature xᵀAx ≤ 0, and a line search that
finds no acceptable step all return θ unchanged (a bit-identical copy) with ``success=False``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import real_number
from .cg import NONFINITE, CGResult, conjugate_gradient
from .config import TRPOConfig
from .linearize import Linearization
from .linesearch import LineSearchResult, backtracking_line_search, make_acceptance_rule
from .policies import Policy

__all__ = [
    "StepResult",
    "trpo_step",
    "npg_step",
    "vpg_step",
    "natural_direction",
    "standardize_advantages",
    "STATUSES",
]

#: Every status a step can end with; ``success`` is True only for the first two.
STATUSES = (
    "accepted",  # trpo_step: the line search accepted a trial step
    "full_step",  # npg_step / vpg_step: the full step was taken
    "line_search_failed",  # no trial step met the acceptance rule; θ kept
    "zero_advantages",  # every advantage is 0 (and no entropy bonus): g = 0, nothing to do
    "zero_gradient",  # g = 0 exactly
    "nonfinite_gradient",  # g has NaN/inf
    "nonfinite_direction",  # CG met a non-finite F·v or produced a non-finite x
    "nonpositive_curvature",  # xᵀAx ≤ 0 (or CG stopped before moving): β undefined
)


@dataclass(frozen=True, eq=False)
class StepResult:
    """Everything one TRPO/NPG step computed (like scipy's ``OptimizeResult``).

    Attributes
    ----------
    theta_new : ndarray of shape (P,)
        The new parameters; a bit-identical copy of θ_old whenever ``success`` is False.
    g : ndarray of shape (P,)
        Gradient of the surrogate (plus entropy bonus) at θ_old.
    x : ndarray of shape (P,)
        CG direction ≈ A⁻¹g (zeros when CG was not run).
    step_size : float
        β = √(2δ / xᵀAx) (0 when undefined).
    full_step : ndarray of shape (P,)
        βx.
    expected_improvement : float
        gᵀ(βx), the first-order prediction of the surrogate gain of the full step.
    xAx : float
        xᵀAx with A = F + λI: with one more product, or from CG's residual
        (``TRPOConfig.xax``).
    cg : CGResult or None
        The conjugate-gradient result (None when CG was not run).
    line_search : LineSearchResult or None
        The trace of the backtracking search (None for NPG or when no search ran).
    kl : float
        Mean KL between π_old and π at ``theta_new`` (in the step's ``kl_direction``).
    surrogate_before, surrogate_after : float
        L(θ_old) (= mean Â, plus c·H̄) and L(θ_new).
    entropy : float
        Mean entropy of π_old over the batch.
    n_backtracks : int
        Index of the accepted trial (0 = full step), or the number of trials when none was.
    success : bool
    status : str
        One of ``STATUSES``.
    message : str
    """

    theta_new: np.ndarray
    g: np.ndarray
    x: np.ndarray
    step_size: float
    full_step: np.ndarray
    expected_improvement: float
    xAx: float
    cg: CGResult | None
    line_search: LineSearchResult | None
    kl: float
    surrogate_before: float
    surrogate_after: float
    entropy: float
    n_backtracks: int
    success: bool
    status: str
    message: str

    @property
    def improvement(self) -> float:
        """L(θ_new) − L(θ_old)."""
        return self.surrogate_after - self.surrogate_before


def standardize_advantages(adv: np.ndarray) -> np.ndarray:
    """``(Â − mean Â) / std Â`` (population std); a batch with std = 0 (all equal, or N = 1)
    becomes all zeros. What ``normalize_advantages=True`` applies.

    Examples
    --------
    >>> standardize_advantages(np.array([1.0, 3.0]))
    array([-1.,  1.])
    """
    centred = adv - adv.mean()
    with np.errstate(over="ignore"):
        std = centred.std()
    if not np.isfinite(std):
        raise ValueError(
            "advantages must be small enough for their std to be finite (|Â| below ~1e154), "
            f"got values up to {float(np.max(np.abs(adv))):.3g} in magnitude"
        )
    return centred / std if std > 0 else np.zeros_like(adv)


# ------------------------------------------------------------------------------ the step
def linearize(
    policy: Policy, theta, obs, actions, advantages, cfg: TRPOConfig
) -> Linearization:
    """Validate the batch, standardise Â if ``cfg`` says so, and linearise π at θ."""
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a npytrpo Policy, got {type(policy).__name__}")
    if cfg.normalize_advantages:
        n = policy.check_obs(obs).shape[0]
        advantages = standardize_advantages(policy.check_vector(advantages, n, "advantages"))
    return policy.linearize(
        theta,
        obs,
        actions,
        advantages,
        kl_direction=cfg.kl_direction,
        entropy_coef=cfg.entropy_coef,
        fvp_subsample=cfg.fvp_subsample,
    )


def _no_step(lin: Linearization, status: str, message: str, **fields: Any) -> StepResult:
    """θ kept (a bit-identical copy), with whatever the step computed before it stopped."""
    P = lin.num_params
    base = dict(
        theta_new=lin.theta_old.copy(),
        g=lin.g,
        x=np.zeros(P),
        step_size=0.0,
        full_step=np.zeros(P),
        expected_improvement=0.0,
        xAx=0.0,
        cg=None,
        line_search=None,
        kl=0.0,
        surrogate_before=lin.objective_old,
        surrogate_after=lin.objective_old,
        entropy=lin.entropy,
        n_backtracks=0,
        success=False,
        status=status,
        message=message,
    )
    base.update(fields)
    return StepResult(**base)


def _zero_gradient(lin: Linearization) -> StepResult | None:
    """The result for a g that is not finite or exactly 0, or None to go on."""
    g = lin.g
    if not np.all(np.isfinite(g)):
        return _no_step(lin, "nonfinite_gradient", "the gradient g has NaN/inf entries")
    if not np.any(g):
        if not np.any(lin.advantages) and lin.entropy_coef == 0.0:
            return _no_step(lin, "zero_advantages", "all advantages are 0, so g = 0: no step")
        return _no_step(lin, "zero_gradient", "g = 0 exactly: no step")
    return None


def natural_direction(lin: Linearization, cfg: TRPOConfig) -> StepResult:
    """The natural-gradient full step βx at θ_old, not yet evaluated (``kl`` is NaN).

    .. math:: x ≈ (F + λI)^{-1} g \\ (\\text{CG}), \\quad β = \\sqrt{2δ / xᵀ(F + λI)x}

    ``success`` with status ``"full_step"`` and ``theta_new`` = θ_old + βx; or a degenerate
    status with θ kept. ``trpo_step`` searches along it, ``npg_step`` takes it.
    """
    stop = _zero_gradient(lin)
    if stop is not None:
        return stop
    g, lam = lin.g, cfg.damping

    def A(v: np.ndarray) -> np.ndarray:
        return lin.fisher(v) + lam * v  # (F + λI) v

    cg = conjugate_gradient(A, g, maxiter=cfg.cg_iters, tol=cfg.cg_tol)
    x = cg.x
    if cg.status == NONFINITE or not np.all(np.isfinite(x)):
        return _no_step(lin, "nonfinite_direction", f"CG failed: {cg.message}", cg=cg)
    # xᵀAx with A x from one more product, or as g − r from the products CG made (A linear)
    xAx = float(x @ (A(x) if cfg.xax == "product" else g - cg.residual))
    if not np.isfinite(xAx):
        return _no_step(lin, "nonfinite_direction", "xᵀAx is not finite", cg=cg, x=x)
    if xAx <= 0.0:
        return _no_step(
            lin,
            "nonpositive_curvature",
            f"xᵀAx = {xAx:.3e} <= 0: the step size √(2δ/xᵀAx) is undefined ({cg.message})",
            cg=cg,
            x=x,
            xAx=xAx,
        )
    beta = float(np.sqrt(2.0 * cfg.delta / xAx))  # β = √(2δ / xᵀAx)
    full_step = beta * x
    return _no_step(
        lin,
        "full_step",
        "the full natural-gradient step βx",
        theta_new=lin.theta_old + full_step,
        x=x,
        step_size=beta,
        full_step=full_step,
        expected_improvement=float(g @ full_step),
        xAx=xAx,
        cg=cg,
        kl=float("nan"),
        surrogate_after=float("nan"),
        success=True,
    )


def trpo_step(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    config: TRPOConfig | None = None,
    **options: Any,
) -> StepResult:
    """One TRPO update of θ on a batch collected by π_θ (Schulman et al. 2015, appendix C).

    Parameters
    ----------
    policy : Policy
    theta : ndarray of shape (P,)
        θ_old, the parameters that collected the batch.
    obs : ndarray of shape (N, obs_dim)
    actions : ndarray of shape (N,) int or (N, act_dim) float
    advantages : ndarray of shape (N,)
    config : TRPOConfig, optional
        The step's options (δ, damping, CG, line search, …); see ``TRPOConfig``.
    **options
        Any ``TRPOConfig`` field, overriding ``config`` (e.g. ``delta=0.02``); an unknown name
        is a TypeError.

    Returns
    -------
    StepResult
        ``success`` is True when a trial step was accepted; otherwise ``theta_new`` is a
        bit-identical copy of θ and ``status`` says why.

    Notes
    -----
    .. math::

        x ≈ (F + λI)^{-1} g, \\quad β = \\sqrt{2δ / xᵀ(F + λI)x}, \\quad
        θ_j = θ_{old} + α^j β x

    Accept the first j whose (mean KL, L(θ_j) − L(θ_old)) passes ``accept``
    (``linesearch.acceptance_tests``).

    Examples
    --------
    >>> from npytrpo.policies import CategoricalPolicy
    >>> pi = CategoricalPolicy(3, 2, hidden=(8,))
    >>> rng = np.random.default_rng(0)
    >>> theta = pi.init(rng)
    >>> obs = rng.standard_normal((64, 3))
    >>> actions = pi.sample(theta, obs, rng)
    >>> res = trpo_step(pi, theta, obs, actions, rng.standard_normal(64))
    >>> res.success, res.kl <= 0.01, res.improvement > 0
    (True, True, True)
    """
    cfg = TRPOConfig.from_options(config, "trpo_step", **options)
    lin = linearize(policy, theta, obs, actions, advantages, cfg)
    d = natural_direction(lin, cfg)
    if not d.success:
        return d
    rule = make_acceptance_rule(
        cfg.accept, delta=cfg.delta, expected_improvement=d.expected_improvement
    )
    ls = backtracking_line_search(
        lin.evaluate,
        d.full_step,
        accept=rule,
        coeff=cfg.backtrack_coeff,
        max_backtracks=cfg.max_backtracks,
    )
    if not ls.success:
        return dataclasses.replace(
            d,
            theta_new=lin.theta_old.copy(),
            line_search=ls,
            kl=0.0,
            surrogate_after=lin.objective_old,
            n_backtracks=len(ls.fractions),
            success=False,
            status="line_search_failed",
            message=f"no acceptable step in {len(ls.fractions)} trials under '{cfg.accept}'; "
            "θ kept",
        )
    j = ls.accepted
    return dataclasses.replace(
        d,
        theta_new=lin.theta_old + ls.step,
        line_search=ls,
        kl=float(ls.kl[j]),
        surrogate_after=lin.objective_old + float(ls.improvement[j]),
        n_backtracks=j,
        status="accepted",
        message=f"accepted fraction {ls.fraction:g} of the full step after {j} backtracks",
    )


def npg_step(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    config: TRPOConfig | None = None,
    **options: Any,
) -> StepResult:
    """Natural policy gradient step: TRPO's direction and β, always the full step βx.

    Kakade 2001; the same computation as ``trpo_step`` without the line search (the line
    search's options are ignored). ``kl`` and ``surrogate_after`` are measured at the new θ for
    diagnosis (no check is made on them). Degenerate cases (zero or non-finite g, non-positive
    curvature) return θ unchanged.
    """
    cfg = TRPOConfig.from_options(config, "npg_step", **options)
    lin = linearize(policy, theta, obs, actions, advantages, cfg)
    d = natural_direction(lin, cfg)
    if not d.success:
        return d
    kl, gain = lin.evaluate(d.full_step)
    return dataclasses.replace(
        d,
        kl=kl,
        surrogate_after=lin.objective_old + gain,
        message="took the full natural-gradient step βx",
    )


def vpg_step(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    config: TRPOConfig | None = None,
    *,
    lr: float,
    **options: Any,
) -> StepResult:
    """Vanilla policy gradient ascent θ ← θ + lr·g (Williams 1992), as a ``StepResult``.

    No Fisher, no trust region: the baseline of the step-size study. ``x`` = g, β = lr,
    ``full_step`` = lr·g; ``kl`` and ``surrogate_after`` are measured at the new θ. Of the
    config, ``kl_direction``, ``normalize_advantages`` and ``entropy_coef`` apply; the natural
    step's options (δ, damping, CG, line search) are ignored. A zero or non-finite g, or a step
    that is not finite, returns θ unchanged.
    """
    lr = real_number(lr, "lr", low=0.0, low_open=True)
    cfg = TRPOConfig.from_options(config, "vpg_step", **options)
    lin = linearize(policy, theta, obs, actions, advantages, cfg)
    stop = _zero_gradient(lin)
    if stop is not None:
        return stop
    g = lin.g
    with np.errstate(over="ignore"):  # an overflow is reported by status, not by a warning
        step = lr * g
    if not np.all(np.isfinite(step)):
        return _no_step(lin, "nonfinite_direction", f"lr·g overflows with lr = {lr:g}; θ kept")
    kl, gain = lin.evaluate(step)
    return _no_step(
        lin,
        "full_step",
        f"took the vanilla gradient step lr·g with lr = {lr:g}",
        theta_new=lin.theta_old + step,
        x=g.copy(),
        step_size=lr,
        full_step=step,
        expected_improvement=float(g @ step),
        kl=kl,
        surrogate_after=lin.objective_old + gain,
        success=True,
    )
