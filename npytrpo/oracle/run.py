"""Running a case: every quantity of one TRPO step, and how well-posed its decisions are.

``run_case`` computes the result's arrays (``_result_arrays``) and its spec, including the
``margins`` that say how far the step's decisions are from flipping and how much rounding x and
x* amplify (``_margins``); a case is ``well_posed`` when all of them are safe (``_well_posed``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import __version__
from ..cg import CONVERGED, MAXITER, NONFINITE, NONPOSITIVE_CURVATURE, conjugate_gradient
from ..closed_form import dense_natural_step
from ..config import TRPOConfig
from ..linesearch import acceptance_tests
from ..trust_region import standardize_advantages, trpo_step
from .format import (
    INTEGER_KEYS,
    RESULT_FORMAT,
    OracleData,
    OracleError,
    _Case,
    _is_int,
    case_digest,
    validate_case,
)

#: Above this many parameters ``run`` skips the dense Fisher (P² floats, O(N·d_out·P²) work)
#: and everything derived from it (x_exact, step_size_exact, full_step_exact).
DENSE_LIMIT = 2000

#: A decision of the step (CG's rᵀr < tol, each line-search test) whose two sides are within
#: this relative distance is flagged: another implementation's rounding could flip it.
DECISION_MARGIN = 1e-6
#: The measured amplification of rounding into x or x* above which a case is flagged. On the
#: cases studied, two float64 implementations differed by ≤ 1.2e-14 × the amplification (the
#: worst ratio seen), so 1e4 keeps them within 1.2e-10, under DEFAULT_RTOL with margin.
MAX_AMPLIFICATION = 1e4
#: Relative size of the element-wise noise that stands for another implementation's rounding,
#: and how many noisy CG runs are made; large enough to dominate our own rounding (1e-16).
_NOISE = 1e-12
_NOISY_RUNS = 3

_CG_STATUS = {
    CONVERGED: "converged",
    MAXITER: "maxiter",
    NONPOSITIVE_CURVATURE: "nonpositive_curvature",
    NONFINITE: "nonfinite",
}


def run_case(case: OracleData, *, dense_limit: int = DENSE_LIMIT) -> OracleData:
    """Compute every quantity of one TRPO step on ``case``; return the result.

    The step is ``trust_region.trpo_step`` with the case's conventions (advantages normalised
    here first when ``normalize_advantages`` is set, and stored as ``advantages_used``: g, the
    surrogate and the line search all use them). ``x`` is CG as the conventions run it;
    ``x_exact`` is the dense SciPy solve (pinvh when damping = 0), computed with ``fisher`` only
    when P ≤ ``dense_limit``. ``fvp`` = F·probes, undamped, with F (and ``fisher``) taken on
    the samples the step uses: the whole batch, or every k-th one with ``fvp_subsample`` k.

    Raises OracleError if the case is malformed.

    Examples
    --------
    >>> from npytrpo.oracle import make_case, run_case
    >>> case = make_case(policy="gaussian", obs_dim=2, act_dim=1, batch=8, probes=1)
    >>> result = run_case(case)
    >>> result.spec["status"], result.arrays["fisher"].shape, int(result.arrays["ls_accepted"])
    ('accepted', (4, 4), 0)
    """
    if not _is_int(dense_limit) or dense_limit < 0:
        raise OracleError(f"dense_limit must be an integer >= 0, got {dense_limit!r}")
    c = validate_case(case)
    s, pi = c.spec, c.policy
    adv = standardize_advantages(c.advantages) if s["normalize_advantages"] else c.advantages.copy()
    res = trpo_step(pi, c.theta, c.obs, c.actions, adv, step_config(s))
    obs_f = c.obs[:: s["fvp_subsample"]]  # the samples F is taken on (all of them by default)
    F_op = pi.fisher_operator(c.theta, obs_f)
    dense = pi.num_params <= dense_limit
    arrays = _result_arrays(c, adv, res, F_op, dense, obs_f)
    margins = _margins(c, res, F_op, arrays.get("fisher"))
    return OracleData(_result_spec(case, res, margins, pi.num_params, dense_limit), arrays)


def step_config(spec: Mapping[str, Any]) -> TRPOConfig:
    """The ``TRPOConfig`` of a case's conventions (advantages are normalised before the step)."""
    names = set(TRPOConfig.field_names()) - {"normalize_advantages"}
    return TRPOConfig(**{k: v for k, v in spec.items() if k in names})


def _result_spec(case: OracleData, res, margins: dict, P: int, dense_limit: int) -> dict:
    """The result's spec: what it was computed from, the step's status, the dense part, margins."""
    dense = P <= dense_limit
    return {
        "format": RESULT_FORMAT,
        "case_sha256": case_digest(case),
        "case_spec": case.spec,
        "npytrpo_version": __version__,
        "status": res.status,
        "success": bool(res.success),
        "message": res.message,
        "cg_status": _CG_STATUS[res.cg.status] if res.cg else "not_run",
        "dense": {
            "computed": dense,
            "num_params": P,
            "limit": dense_limit,
            "reason": "" if dense else f"P = {P} > {dense_limit}: the dense Fisher, x_exact, "
            "step_size_exact and full_step_exact were not computed",
        },
        # JSON has no inf: an unbounded margin or amplification is written as "Infinity".
        "margins": {k: v if v is None or math.isfinite(v) else "Infinity"
                    for k, v in margins.items()},
        "well_posed": _well_posed(margins),
    }  # fmt: skip


def _result_arrays(c: _Case, adv: np.ndarray, res, F_op, dense: bool, obs_f) -> dict:
    """The result's arrays, in ``RESULT_KEYS`` order, from the step and the dense solves.

    A step that stopped early (g = 0 or non-finite: no CG, no line search) gets 0 iterations,
    the residual ‖g‖ of x = 0, empty line-search arrays and ``ls_accepted`` = −1.
    """
    pi, ls, cg = c.policy, res.line_search, res.cg
    out: dict[str, Any] = {
        "logp": pi.logp(c.theta, c.obs, c.actions),
        "advantages_used": adv,
        "surrogate": res.surrogate_before,
        "entropy": res.entropy,
        "g": res.g,
    }
    if c.probes is not None:
        out["fvp"] = np.stack([F_op(v) for v in c.probes])
    if dense:
        out["fisher"] = pi.fisher_matrix(c.theta, obs_f)
    out.update(
        x=res.x,
        cg_iterations=np.int64(cg.iterations if cg else 0),
        cg_residual=cg.residual_norm if cg else np.linalg.norm(res.g),
        xAx=res.xAx,
        step_size=res.step_size,
        full_step=res.full_step,
        expected_improvement=res.expected_improvement,
    )
    if dense:
        x, beta, step = dense_natural_step(
            out["fisher"], res.g, delta=c.spec["delta"], damping=c.spec["damping"]
        )
        out.update(x_exact=x, step_size_exact=beta, full_step_exact=step)
    out.update(
        ls_fractions=ls.fractions if ls else np.zeros(0),
        ls_kl=ls.kl if ls else np.zeros(0),
        ls_improvement=ls.improvement if ls else np.zeros(0),
        ls_accepted=np.int64(ls.accepted if ls else -1),
        theta_new=res.theta_new,
        kl_new=res.kl,
        surrogate_new=res.surrogate_after,
    )
    return {k: np.asarray(v, dtype=np.int64 if k in INTEGER_KEYS else np.float64)
            for k, v in out.items()}  # fmt: skip


# ================================================================================ margins
def _margins(c: _Case, res, F_op, fisher: np.ndarray | None) -> dict:
    """How far the step's decisions are from flipping, and how much rounding x and x* amplify.

    ``cg``: min over CG's stopping tests k of |r_kᵀr_k − tol|/tol (true residuals).
    ``line_search``: min over trials of the relative distance of the deciding test(s) to their
    thresholds (``_trial_margin``). ``x_amplification``: CG rerun ``_NOISY_RUNS`` times with
    every product A·v and g multiplied element-wise by 1 + ε·N(0, 1), ε = ``_NOISE``, as another
    implementation's rounding would; the largest ‖Δx‖/‖x‖ divided by ε (inf if the number of
    iterations changes). ``x_exact_amplification``: the same for the dense solve, with F and g
    perturbed once through T = I + εS. ``None`` where not applicable. A margin whose arithmetic
    overflows (advantages near the float64 limit, say) cannot be trusted to come out the same
    elsewhere: it is reported as 0.0 (a decision that may flip) or inf (an amplification), so
    the case is not well-posed (``_guarded``).
    """
    s, g, lam = c.spec, res.g, c.spec["damping"]
    out: dict[str, float | None] = dict.fromkeys(
        ("cg", "line_search", "x_amplification", "x_exact_amplification")
    )
    rng = np.random.default_rng(0)  # fixed: margins are reproducible

    def A(v):
        return F_op(v) + lam * v

    if res.cg is not None:
        if s["cg_tol"] > 0:
            out["cg"] = _guarded(lambda: _cg_margin(s, A, g), 0.0)
        out["x_amplification"] = _guarded(lambda: _x_amplification(s, A, g, res, rng), math.inf)
    if fisher is not None and np.any(g):
        out["x_exact_amplification"] = _guarded(
            lambda: _x_exact_amplification(s, fisher, g, rng), math.inf
        )
    ls = res.line_search
    if ls is not None and len(ls.fractions):
        out["line_search"] = _guarded(
            lambda: min(
                _trial_margin(s, f, kl, imp, res.expected_improvement)
                for f, kl, imp in zip(ls.fractions, ls.kl, ls.improvement, strict=True)
            ),
            0.0,
        )
    return out


def _guarded(margin: Callable[[], float], fallback: float) -> float:
    """``margin()`` with float64 overflow and invalid operations raised; ``fallback`` if either
    happens or the result is NaN. (CG's own recurrence reports its overflows by status.)"""
    try:
        with np.errstate(over="raise", invalid="raise"):
            value = float(margin())
    except FloatingPointError:
        return fallback
    return fallback if math.isnan(value) else value


def _cg_margin(s: Mapping, A: Callable, g: np.ndarray) -> float:
    """min over CG's stopping tests of |rᵀr − tol|/tol, on the true residuals r = g − A·x."""
    rr = [float(g @ g)]
    conjugate_gradient(
        A,
        g,
        maxiter=s["cg_iters"],
        tol=s["cg_tol"],
        callback=lambda x: rr.append(float(np.sum((g - A(x)) ** 2))),
    )
    return min(abs(v - s["cg_tol"]) / s["cg_tol"] for v in rr)


def _x_amplification(s: Mapping, A: Callable, g: np.ndarray, res, rng) -> float:
    """max ‖Δx‖/‖x‖ / ε over CG runs with A·v and g perturbed by 1 + ε·N(0, 1) element-wise."""

    def noisy(v):
        return v * (1.0 + _NOISE * rng.standard_normal(v.shape))

    amp = 0.0
    for _ in range(_NOISY_RUNS):
        cg2 = conjugate_gradient(
            lambda v: noisy(A(v)), noisy(g), maxiter=s["cg_iters"], tol=s["cg_tol"]
        )
        if cg2.iterations != res.cg.iterations:
            return math.inf
        amp = max(amp, _relative_change(cg2.x, res.x) / _NOISE)
    return amp


def _x_exact_amplification(s: Mapping, fisher: np.ndarray, g: np.ndarray, rng) -> float:
    """‖Δx*‖/‖x*‖ / ε for the dense solve with F and g perturbed through T = I + εS."""
    # x* is perturbed through a congruence T F Tᵀ, T = I + εS, as rounding in J would do:
    # it keeps F's null space null, so pinvh's cut-off sees the same rank (an element-wise
    # ε-perturbation would lift the zero eigenvalues above it).
    lam = s["damping"]
    S = rng.standard_normal(fisher.shape)
    T = np.eye(len(g)) + _NOISE * (S + S.T) / (2 * math.sqrt(len(g)))
    x1, _, _ = dense_natural_step(fisher, g, delta=s["delta"], damping=lam)
    x2, _, _ = dense_natural_step(T @ fisher @ T.T, T @ g, delta=s["delta"], damping=lam)
    return _relative_change(x2, x1) / _NOISE


def _relative_change(x2: np.ndarray, x: np.ndarray) -> float:
    norm = np.linalg.norm(x)
    if norm == 0:
        return 0.0 if not np.any(x2) else math.inf
    return float(np.linalg.norm(x2 - x) / norm)


def _trial_margin(s: Mapping, f: float, kl: float, imp: float, expected: float) -> float:
    """Relative distance of one trial's outcome from flipping (inf when no test decides it).

    The tests are the line search's own (``linesearch.acceptance_tests``); each is measured by
    its ``margin``. A rejected trial flips only if every failed test does (the largest margin
    among them); an accepted one if any test does (the smallest).
    """
    if not (math.isfinite(kl) and math.isfinite(imp)):
        return math.inf
    tests = acceptance_tests(
        s["accept"],
        delta=s["delta"],
        fraction=f,
        kl=kl,
        improvement=imp,
        expected_improvement=expected,
    )
    failed = [t.margin for t in tests if not t.passed]
    return max(failed) if failed else min(t.margin for t in tests)


def _well_posed(m: Mapping) -> bool:
    return (
        (m["cg"] is None or m["cg"] > DECISION_MARGIN)
        and (m["line_search"] is None or m["line_search"] > DECISION_MARGIN)
        and all(
            m[k] is None or m[k] <= MAX_AMPLIFICATION
            for k in ("x_amplification", "x_exact_amplification")
        )
    )
