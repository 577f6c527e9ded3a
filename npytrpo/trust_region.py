"""The TRPO step (Schulman et al. 2015, appendix C) and the natural policy gradient step.

Given a batch collected by π_old = π_θold, with A = F + λI (damping λ):

=====================  =================================================  ====================
quantity               formula                                            where
=====================  =================================================  ====================
gradient               g = ∇_θ L(θ_old) (+ c·∇H̄ with an entropy bonus)    ``_gradient``
direction              x ≈ A⁻¹g by conjugate gradient                     ``cg.conjugate_gradient``
step size              β = √(2δ / xᵀAx)                                   ``_direction``
full step              βx; expected improvement gᵀ(βx)                    ``_direction``
line search            θ_j = θ_old + α^j βx, first accepted j             ``trpo_step``
closed form (dense)    x* = √(2δ / gᵀA⁻¹g) · A⁻¹g                         ``closed_form.py``
=====================  =================================================  ====================

Degenerate cases are statuses, never exceptions or NaNs: a zero gradient (or all-zero
advantages), a non-finite g, F·v or x, non-positive curvature xᵀAx ≤ 0, and a line search that
finds no acceptable step all return θ unchanged (a bit-identical copy) with ``success=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

from ._validate import integer, real_number
from .cg import NONFINITE, CGResult, conjugate_gradient
from .linesearch import (
    ACCEPTANCE_RULES,
    LineSearchResult,
    backtracking_line_search,
    make_acceptance_rule,
)
from .policies import KL_DIRECTIONS, Policy

__all__ = [
    "StepResult",
    "trpo_step",
    "npg_step",
    "vpg_step",
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
        xᵀAx with A = F + λI, computed with one more product.
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


#: The keyword options of the steps, with their defaults (DESIGN.md, "Defaults").
STEP_DEFAULTS = {
    "delta": 0.01,
    "damping": 0.1,
    "cg_iters": 10,
    "cg_tol": 1e-10,
    "backtrack_coeff": 0.5,
    "max_backtracks": 10,
    "kl_direction": "old_new",
    "accept": "kl_and_improve",
    "fvp_subsample": 1,
    "normalize_advantages": False,
    "entropy_coef": 0.0,
}


def _check_options(given: dict) -> dict:
    """Validate the steps' keyword options (the keys of ``given`` that are options), filling
    in ``STEP_DEFAULTS`` for the ones a step does not take."""
    opts = {**STEP_DEFAULTS, **{k: v for k, v in given.items() if k in STEP_DEFAULTS}}
    out = dict(opts)
    out["delta"] = real_number(opts["delta"], "delta", low=0.0, low_open=True)
    out["damping"] = real_number(opts["damping"], "damping", low=0.0, low_open=False)
    out["cg_iters"] = integer(opts["cg_iters"], "cg_iters", low=1)
    out["cg_tol"] = real_number(opts["cg_tol"], "cg_tol", low=0.0, low_open=False)
    c = opts["backtrack_coeff"]
    if isinstance(c, bool) or not isinstance(c, Real) or not 0.0 < c < 1.0:
        raise ValueError(f"backtrack_coeff must be in (0, 1), got {c!r}")
    out["max_backtracks"] = integer(opts["max_backtracks"], "max_backtracks", low=1)
    if opts["kl_direction"] not in KL_DIRECTIONS:
        raise ValueError(
            f"kl_direction must be one of {KL_DIRECTIONS}, got {opts['kl_direction']!r}"
        )
    if opts["accept"] not in ACCEPTANCE_RULES:
        raise ValueError(f"accept must be one of {ACCEPTANCE_RULES}, got {opts['accept']!r}")
    out["fvp_subsample"] = integer(opts["fvp_subsample"], "fvp_subsample", low=1)
    if not isinstance(opts["normalize_advantages"], (bool, np.bool_)):
        raise TypeError(
            f"normalize_advantages must be a bool, got {opts['normalize_advantages']!r}"
        )
    out["entropy_coef"] = real_number(opts["entropy_coef"], "entropy_coef", low=0.0, low_open=False)
    return out


def standardize_advantages(adv: np.ndarray) -> np.ndarray:
    """``(Â − mean Â) / std Â`` (population std); a batch with std = 0 (all equal, or N = 1)
    becomes all zeros. What ``normalize_advantages=True`` applies.

    Examples
    --------
    >>> standardize_advantages(np.array([1.0, 3.0]))
    array([-1.,  1.])
    """
    centred = adv - adv.mean()
    std = centred.std()
    return centred / std if std > 0 else np.zeros_like(adv)


# ------------------------------------------------------------------------------ the step
@dataclass
class _Prepared:
    """State at θ_old shared by the direction and the line search."""

    theta: np.ndarray
    obs: np.ndarray
    actions: np.ndarray
    adv: np.ndarray
    out_old: np.ndarray
    logp_old: np.ndarray
    objective_old: float
    entropy: float
    g: np.ndarray


def _gradient(policy: Policy, theta, obs, actions, adv, entropy_coef) -> _Prepared:
    """g = (1/N) Σ Â_n J_nᵀ ∂log π/∂o_n (+ c ∇H̄), with one forward pass at θ_old."""
    out, cache = policy._forward(theta, obs)
    extra = policy._split(theta)[1]
    g = policy._objective_grad(out, cache, extra, actions, adv, entropy_coef)
    entropy = float(np.mean(policy._entropy_out(out, extra)))
    return _Prepared(
        theta=theta,
        obs=obs,
        actions=actions,
        adv=adv,
        out_old=out,
        logp_old=policy._logp_out(out, extra, actions),
        objective_old=float(np.mean(adv)) + entropy_coef * entropy,  # ratios are 1 at θ_old
        entropy=entropy,
        g=g,
    )


def _no_step(prep: _Prepared, status: str, message: str, **fields) -> StepResult:
    P = prep.theta.shape[0]
    base = dict(
        theta_new=prep.theta.copy(),
        g=prep.g,
        x=np.zeros(P),
        step_size=0.0,
        full_step=np.zeros(P),
        expected_improvement=0.0,
        xAx=0.0,
        cg=None,
        line_search=None,
        kl=0.0,
        surrogate_before=prep.objective_old,
        surrogate_after=prep.objective_old,
        entropy=prep.entropy,
        n_backtracks=0,
        success=False,
        status=status,
        message=message,
    )
    base.update(fields)
    return StepResult(**base)


def _direction(policy: Policy, prep: _Prepared, o: dict):
    """CG direction, β and the full step; returns (fields dict, or a finished StepResult)."""
    g = prep.g
    if not np.all(np.isfinite(g)):
        return _no_step(prep, "nonfinite_gradient", "the gradient g has NaN/inf entries")
    if not np.any(g):
        if not np.any(prep.adv) and o["entropy_coef"] == 0.0:
            return _no_step(prep, "zero_advantages", "all advantages are 0, so g = 0: no step")
        return _no_step(prep, "zero_gradient", "g = 0 exactly: no step")

    obs_f = prep.obs[:: o["fvp_subsample"]]  # F on every k-th sample; g used them all
    fvp = policy._fisher_operator(prep.theta, obs_f)
    lam = o["damping"]

    def A(v: np.ndarray) -> np.ndarray:
        return fvp(v) + lam * v  # (F + λI) v

    cg = conjugate_gradient(A, g, maxiter=o["cg_iters"], tol=o["cg_tol"])
    x = cg.x
    if cg.status == NONFINITE or not np.all(np.isfinite(x)):
        return _no_step(prep, "nonfinite_direction", f"CG failed: {cg.message}", cg=cg)
    Ax = A(x)
    xAx = float(x @ Ax)
    if not np.isfinite(xAx):
        return _no_step(prep, "nonfinite_direction", "xᵀAx is not finite", cg=cg, x=x)
    if xAx <= 0.0:
        return _no_step(
            prep,
            "nonpositive_curvature",
            f"xᵀAx = {xAx:.3e} <= 0: the step size √(2δ/xᵀAx) is undefined ({cg.message})",
            cg=cg,
            x=x,
            xAx=xAx,
        )
    beta = float(np.sqrt(2.0 * o["delta"] / xAx))  # β = √(2δ / xᵀAx)
    full_step = beta * x
    return dict(
        g=g,
        x=x,
        step_size=beta,
        full_step=full_step,
        expected_improvement=float(g @ full_step),
        xAx=xAx,
        cg=cg,
    )


def _evaluator(policy: Policy, prep: _Prepared, o: dict):
    """evaluate(step) -> (mean KL, objective improvement) at θ_old + step, one forward pass."""
    c = o["entropy_coef"]

    def evaluate(step: np.ndarray) -> tuple[float, float]:
        # A far trial point can overflow (e.g. exp(−ℓ) for a huge step in ℓ): the KL or gain is
        # then inf/NaN, which the line search rejects by name; no warning is needed for it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return _evaluate(step)

    def _evaluate(step: np.ndarray) -> tuple[float, float]:
        logp, kl, H = policy._trial(
            prep.theta + step,
            prep.obs,
            prep.actions,
            prep.out_old,
            prep.theta,
            o["kl_direction"],
            with_entropy=c > 0.0,
        )
        objective = float(np.mean(np.exp(logp - prep.logp_old) * prep.adv)) + c * H
        return kl, objective - prep.objective_old

    return evaluate


def _prepare(policy, theta, obs, actions, advantages, opts):
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a npytrpo Policy, got {type(policy).__name__}")
    o = _check_options(opts)
    theta = policy.check_theta(theta)
    obs = policy.check_obs(obs)
    actions = policy.check_actions(actions, obs.shape[0])
    adv = policy.check_vector(advantages, obs.shape[0], "advantages")
    if o["normalize_advantages"]:
        adv = standardize_advantages(adv)
    prep = _gradient(policy, theta, obs, actions, adv, o["entropy_coef"])
    return prep, o


def trpo_step(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    *,
    delta: float = 0.01,
    damping: float = 0.1,
    cg_iters: int = 10,
    cg_tol: float = 1e-10,
    backtrack_coeff: float = 0.5,
    max_backtracks: int = 10,
    kl_direction: str = "old_new",
    accept: str = "kl_and_improve",
    fvp_subsample: int = 1,
    normalize_advantages: bool = False,
    entropy_coef: float = 0.0,
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
    delta : float > 0, default 0.01
        Trust-region radius δ on the mean KL.
    damping : float ≥ 0, default 0.1
        λ in A = F + λI; every solve and the step size use A.
    cg_iters : int ≥ 1, default 10
        Maximum CG iterations.
    cg_tol : float ≥ 0, default 1e-10
        CG stops when rᵀr < cg_tol.
    backtrack_coeff : float in (0, 1), default 0.5
        α: trial j takes the fraction α^j of the full step.
    max_backtracks : int ≥ 1, default 10
        Number of trial steps (j = 0 .. max_backtracks − 1).
    kl_direction : {"old_new", "new_old"}, default "old_new"
        KL(π_old‖π_θ) or KL(π_θ‖π_old) in the line search's check (both have Hessian F).
    accept : {"kl_and_improve", "strict", "kl_slack", "expected_ratio"}
        Acceptance rule of the line search (``linesearch.make_acceptance_rule``):
        KL ≤ δ and gain > 0 (default); KL < δ and gain > 0 (sb3-contrib, Tianshou);
        KL ≤ 1.5δ and gain ≥ 0 (OpenAI baselines); gain/expected > 0.1 and gain > 0 (modular_rl).
    fvp_subsample : int ≥ 1, default 1
        Fisher products use every k-th sample (OpenAI baselines uses 5); g uses all.
    normalize_advantages : bool, default False
        Standardise Â to zero mean and unit std first (a batch with std 0 becomes zeros).
    entropy_coef : float ≥ 0, default 0.0
        c in the objective L(θ) + c·H̄(θ) (g, the improvement and the surrogate fields use it).

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

    Accept the first j whose (mean KL, L(θ_j) − L(θ_old)) passes ``accept``.

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
    prep, o = _prepare(policy, theta, obs, actions, advantages, locals())
    d = _direction(policy, prep, o)
    if isinstance(d, StepResult):
        return d
    rule = make_acceptance_rule(
        o["accept"], delta=o["delta"], expected_improvement=d["expected_improvement"]
    )
    ls = backtracking_line_search(
        _evaluator(policy, prep, o),
        d["full_step"],
        accept=rule,
        coeff=float(o["backtrack_coeff"]),
        max_backtracks=o["max_backtracks"],
    )
    if not ls.success:
        return _no_step(
            prep,
            "line_search_failed",
            f"no acceptable step in {len(ls.fractions)} trials under '{o['accept']}'; θ kept",
            line_search=ls,
            n_backtracks=len(ls.fractions),
            **d,
        )
    j = ls.accepted
    return StepResult(
        theta_new=prep.theta + ls.step,
        line_search=ls,
        kl=float(ls.kl[j]),
        surrogate_before=prep.objective_old,
        surrogate_after=prep.objective_old + float(ls.improvement[j]),
        entropy=prep.entropy,
        n_backtracks=j,
        success=True,
        status="accepted",
        message=f"accepted fraction {ls.fraction:g} of the full step after {j} backtracks",
        **d,
    )


def npg_step(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    *,
    delta: float = 0.01,
    damping: float = 0.1,
    cg_iters: int = 10,
    cg_tol: float = 1e-10,
    kl_direction: str = "old_new",
    fvp_subsample: int = 1,
    normalize_advantages: bool = False,
    entropy_coef: float = 0.0,
) -> StepResult:
    """Natural policy gradient step: TRPO's direction and β, always the full step βx.

    Kakade 2001; the same computation as ``trpo_step`` without the line search. ``kl`` and
    ``surrogate_after`` are measured at the new θ for diagnosis (no check is made on them).
    Degenerate cases (zero or non-finite g, non-positive curvature) return θ unchanged.
    """
    prep, o = _prepare(policy, theta, obs, actions, advantages, locals())
    d = _direction(policy, prep, o)
    if isinstance(d, StepResult):
        return d
    kl, gain = _evaluator(policy, prep, o)(d["full_step"])
    return StepResult(
        theta_new=prep.theta + d["full_step"],
        line_search=None,
        kl=kl,
        surrogate_before=prep.objective_old,
        surrogate_after=prep.objective_old + gain,
        entropy=prep.entropy,
        n_backtracks=0,
        success=True,
        status="full_step",
        message="took the full natural-gradient step βx",
        **d,
    )


def vpg_step(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    *,
    lr: float,
    kl_direction: str = "old_new",
    normalize_advantages: bool = False,
    entropy_coef: float = 0.0,
    **_ignored,
) -> StepResult:
    """Vanilla policy gradient ascent θ ← θ + lr·g (Williams 1992), as a ``StepResult``.

    No Fisher, no trust region: the baseline of the step-size study. ``x`` = g, β = lr,
    ``full_step`` = lr·g; ``kl`` and ``surrogate_after`` are measured at the new θ. Options
    of the natural step (δ, damping, CG) are accepted and ignored, so callers can pass the same
    keywords to every update rule. A zero or non-finite g returns θ unchanged.
    """
    lr = real_number(lr, "lr", low=0.0, low_open=True)
    prep, o = _prepare(policy, theta, obs, actions, advantages, locals())
    g = prep.g
    if not np.all(np.isfinite(g)):
        return _no_step(prep, "nonfinite_gradient", "the gradient g has NaN/inf entries")
    if not np.any(g):
        status = (
            "zero_advantages" if not np.any(prep.adv) and entropy_coef == 0 else "zero_gradient"
        )
        return _no_step(prep, status, "g = 0: no step")
    step = lr * g
    kl, gain = _evaluator(policy, prep, o)(step)
    return StepResult(
        theta_new=prep.theta + step,
        g=g,
        x=g.copy(),
        step_size=lr,
        full_step=step,
        expected_improvement=float(g @ step),
        xAx=0.0,
        cg=None,
        line_search=None,
        kl=kl,
        surrogate_before=prep.objective_old,
        surrogate_after=prep.objective_old + gain,
        entropy=prep.entropy,
        n_backtracks=0,
        success=True,
        status="full_step",
        message=f"took the vanilla gradient step lr·g with lr = {lr:g}",
    )
