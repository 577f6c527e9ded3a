"""Backtracking line search along a fixed step, and the acceptance rules TRPO uses with it.

The search is generic: it takes a full step, an ``evaluate(step) -> (kl, improvement)``
callable and an ``accept(fraction, kl, improvement) -> bool`` callable, and knows nothing of
policies. :func:`make_acceptance_rule` builds the ``accept`` callables of the TRPO variants
found in the literature and in reference implementations.

Finding no acceptable step is an expected outcome: it is reported by ``success=False`` and
``accepted=-1``, with a zero step, never raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = [
    "ACCEPTANCE_RULES",
    "ACCEPTED",
    "NO_ACCEPTABLE_STEP",
    "LineSearchResult",
    "backtracking_line_search",
    "make_acceptance_rule",
]

#: A trial step was accepted.
ACCEPTED = 0
#: Every trial step was rejected (or non-finite); the step is zero.
NO_ACCEPTABLE_STEP = 1

#: Names accepted by :func:`make_acceptance_rule`; the first is the default (DESIGN.md).
ACCEPTANCE_RULES = ("kl_and_improve", "strict", "kl_slack", "expected_ratio")

#: ``kl_slack`` accepts KL up to this multiple of δ (OpenAI baselines' ``1.5 * max_kl``).
KL_SLACK_FACTOR = 1.5
#: ``expected_ratio`` needs actual / expected improvement above this (modular_rl).
EXPECTED_RATIO_THRESHOLD = 0.1

Evaluate = Callable[[np.ndarray], tuple[float, float]]
Accept = Callable[[float, float, float], bool]


@dataclass(frozen=True, eq=False)
class LineSearchResult:
    """Outcome of :func:`backtracking_line_search`.

    Attributes
    ----------
    fractions : ndarray of shape (T,)
        The fractions tried, ``coeff**j`` for j = 0 .. T-1; strictly decreasing.
    kl : ndarray of shape (T,)
        The KL returned by ``evaluate`` for each trial (may hold NaN/inf).
    improvement : ndarray of shape (T,)
        The improvement returned by ``evaluate`` for each trial (may hold NaN/inf).
    accepted : int
        Index of the accepted trial in the arrays above, or −1 if none was accepted.
    step : ndarray of shape (n,)
        ``fraction * full_step`` for the accepted trial, or zeros if none.
    fraction : float
        The accepted fraction, or 0.0 if none.
    success : bool
        True when a trial was accepted.
    status : int
        ``ACCEPTED`` or ``NO_ACCEPTABLE_STEP``.
    message : str
        Human-readable description of the outcome.
    """

    fractions: np.ndarray
    kl: np.ndarray
    improvement: np.ndarray
    accepted: int
    step: np.ndarray
    fraction: float
    success: bool
    status: int
    message: str


def _check_search_args(
    evaluate: object, full_step: object, accept: object, coeff: object, max_backtracks: object
) -> tuple[np.ndarray, float, int]:
    """Validate the search's arguments; return ``(full_step, coeff, max_backtracks)`` cast."""
    if not callable(evaluate):
        raise TypeError(f"evaluate must be callable, got {type(evaluate).__name__}")
    if not callable(accept):
        raise TypeError(f"accept must be callable, got {type(accept).__name__}")
    if isinstance(coeff, bool) or not isinstance(coeff, Real) or not 0.0 < coeff < 1.0:
        raise ValueError(f"coeff must be in (0, 1), got {coeff!r}")
    if isinstance(max_backtracks, bool) or not isinstance(max_backtracks, Integral):
        raise ValueError(f"max_backtracks must be an integer >= 1, got {max_backtracks!r}")
    if max_backtracks < 1:
        raise ValueError(f"max_backtracks must be an integer >= 1, got {max_backtracks!r}")
    if coeff ** (max_backtracks - 1) == 0.0:
        raise ValueError(
            f"coeff**(max_backtracks - 1) underflows to 0, got coeff={coeff!r}, "
            f"max_backtracks={max_backtracks!r}"
        )
    step = np.asarray(full_step)
    if not (np.issubdtype(step.dtype, np.floating) or np.issubdtype(step.dtype, np.integer)):
        raise TypeError(f"full_step must be a real float array, got dtype {step.dtype}")
    if step.ndim != 1:
        raise ValueError(f"full_step must be 1-D, got shape {step.shape}")
    step = step.astype(np.float64, copy=False)
    if not np.isfinite(step).all():
        raise ValueError("full_step must be finite, got non-finite entries")
    return step, float(coeff), int(max_backtracks)


def backtracking_line_search(
    evaluate: Evaluate,
    full_step: np.ndarray,
    *,
    accept: Accept,
    coeff: float = 0.5,
    max_backtracks: int = 10,
) -> LineSearchResult:
    r"""Try shrinking multiples of ``full_step`` until ``accept`` approves one.

    Parameters
    ----------
    evaluate : callable ``(ndarray of shape (n,)) -> (float, float)``
        ``evaluate(step)`` returns ``(kl, improvement)`` for the parameters θ_old + step,
        e.g. D̄(θ) and L(θ) − L(θ_old).
    full_step : array_like of shape (n,)
        The full step (fraction 1); real and finite.
    accept : callable ``(float, float, float) -> bool``
        ``accept(fraction, kl, improvement)``; see :func:`make_acceptance_rule`. Only called
        with finite ``kl`` and ``improvement``.
    coeff : float, default 0.5
        Shrink factor α, in the open interval (0, 1).
    max_backtracks : int, default 10
        Number of trial steps evaluated, ``>= 1`` (j = 0 .. max_backtracks − 1).

    Returns
    -------
    LineSearchResult
        ``fractions``, ``kl``, ``improvement`` (one entry per trial), ``accepted``,
        ``step``, ``fraction``, ``success``, ``status``, ``message``.

    Notes
    -----
    Trial j (j = 0, 1, …, max_backtracks − 1) uses

    .. math::

        s_j = \alpha^j \, s, \qquad (\mathrm{kl}_j, \Delta_j) = \mathrm{evaluate}(s_j)

    and the search stops at the first j with :math:`\mathrm{kl}_j, \Delta_j` finite and
    ``accept(α^j, kl_j, Δ_j)`` true (Schulman et al. 2015, appendix C). If no trial is
    accepted the step is zero, ``accepted = -1`` and ``success = False``.

    Examples
    --------
    >>> import numpy as np
    >>> rule = make_acceptance_rule("kl_and_improve", delta=0.01)
    >>> evaluate = lambda s: (float(s @ s), 1.0)  # KL grows with the step; always improves
    >>> res = backtracking_line_search(evaluate, np.array([0.3, 0.0]), accept=rule)
    >>> res.fractions, res.accepted, res.fraction
    (array([1.  , 0.5 , 0.25]), 2, 0.25)
    >>> res.step
    array([0.075, 0.   ])
    """
    full_step, coeff, max_backtracks = _check_search_args(
        evaluate, full_step, accept, coeff, max_backtracks
    )
    fractions: list[float] = []
    kls: list[float] = []
    improvements: list[float] = []
    accepted = -1
    step = np.zeros_like(full_step)
    for j in range(max_backtracks):
        fraction = coeff**j  # α^j, computed directly so that it equals coeff**j exactly
        trial = fraction * full_step  # s_j = α^j s
        kl, improvement = evaluate(trial)
        kl, improvement = float(kl), float(improvement)
        fractions.append(fraction)
        kls.append(kl)
        improvements.append(improvement)
        if math.isfinite(kl) and math.isfinite(improvement) and accept(fraction, kl, improvement):
            accepted, step = j, trial
            break

    n_tried = len(fractions)
    if accepted >= 0:
        status = ACCEPTED
        message = f"accepted trial {accepted} (fraction {fractions[accepted]:.6g}) of {n_tried}"
    else:
        status = NO_ACCEPTABLE_STEP
        finite = np.isfinite(kls) & np.isfinite(improvements)
        n_bad = int(np.count_nonzero(~finite))
        message = f"no acceptable step in {n_tried} trials ({n_bad} non-finite); step is zero"
    return LineSearchResult(
        fractions=np.array(fractions),
        kl=np.array(kls),
        improvement=np.array(improvements),
        accepted=accepted,
        step=step,
        fraction=fractions[accepted] if accepted >= 0 else 0.0,
        success=accepted >= 0,
        status=status,
        message=message,
    )


def make_acceptance_rule(
    name: str = "kl_and_improve",
    *,
    delta: float,
    expected_improvement: float | None = None,
) -> Accept:
    r"""Build the ``accept(fraction, kl, improvement) -> bool`` callable of a named rule.

    Parameters
    ----------
    name : str, default "kl_and_improve"
        One of :data:`ACCEPTANCE_RULES`:

        ``"kl_and_improve"``
            kl ≤ δ and improvement > 0 (DESIGN.md; Schulman et al. 2015).
        ``"strict"``
            kl < δ and improvement > 0 (sb3-contrib, Tianshou).
        ``"kl_slack"``
            kl ≤ 1.5 δ and improvement ≥ 0 (OpenAI baselines).
        ``"expected_ratio"``
            improvement / (fraction · expected_improvement) > 0.1 and improvement > 0, with
            no KL check (modular_rl). Never accepts if expected_improvement ≤ 0.
    delta : float
        Trust-region radius δ on the mean KL, finite and ``> 0``.
    expected_improvement : float, optional
        The first-order improvement gᵀs of the full step s; required by
        ``"expected_ratio"``, ignored by the other rules.

    Returns
    -------
    callable ``(float, float, float) -> bool``
        ``accept(fraction, kl, improvement)``; false whenever kl or improvement is not
        finite (even for ``"expected_ratio"``, which otherwise ignores kl).

    Notes
    -----
    .. math::

        \text{kl\_and\_improve}: \ \mathrm{kl} \le \delta \wedge \Delta > 0, \qquad
        \text{strict}: \ \mathrm{kl} < \delta \wedge \Delta > 0, \\
        \text{kl\_slack}: \ \mathrm{kl} \le 1.5\,\delta \wedge \Delta \ge 0, \qquad
        \text{expected\_ratio}: \ \frac{\Delta}{f \, g^T s} > 0.1 \wedge \Delta > 0

    where Δ is the improvement and f the fraction. Since f > 0 and gᵀs > 0 there, the ratio
    test is evaluated as Δ > 0.1 · f · gᵀs, which avoids a division.

    Examples
    --------
    >>> accept = make_acceptance_rule("strict", delta=0.01)
    >>> accept(1.0, 0.01, 0.5), accept(1.0, 0.009, 0.5)
    (False, True)
    >>> accept = make_acceptance_rule("expected_ratio", delta=0.01, expected_improvement=2.0)
    >>> accept(0.5, 99.0, 0.2), accept(0.5, 0.0, 0.05)
    (True, False)
    """
    if name not in ACCEPTANCE_RULES:
        raise ValueError(f"name must be one of {ACCEPTANCE_RULES}, got {name!r}")
    if isinstance(delta, bool) or not isinstance(delta, Real) or not (0.0 < delta < math.inf):
        raise ValueError(f"delta must be a finite number > 0, got {delta!r}")
    delta = float(delta)

    if name == "kl_and_improve":

        def accept(fraction: float, kl: float, improvement: float) -> bool:
            return kl <= delta and improvement > 0.0

    elif name == "strict":

        def accept(fraction: float, kl: float, improvement: float) -> bool:
            return kl < delta and improvement > 0.0

    elif name == "kl_slack":
        kl_max = KL_SLACK_FACTOR * delta

        def accept(fraction: float, kl: float, improvement: float) -> bool:
            return kl <= kl_max and improvement >= 0.0

    else:
        expected = _check_expected_improvement(expected_improvement)

        def accept(fraction: float, kl: float, improvement: float) -> bool:
            if not expected > 0.0:  # no predicted gain: the ratio is meaningless
                return False
            threshold = EXPECTED_RATIO_THRESHOLD * fraction * expected
            return improvement > threshold and improvement > 0.0

    def accept_finite(fraction: float, kl: float, improvement: float) -> bool:
        return (
            math.isfinite(kl) and math.isfinite(improvement) and accept(fraction, kl, improvement)
        )

    accept_finite.__name__ = accept_finite.__qualname__ = f"accept_{name}"
    return accept_finite


def _check_expected_improvement(expected_improvement: object) -> float:
    """Return ``expected_improvement`` as a float; it must be given and real."""
    if expected_improvement is None:
        raise ValueError("expected_improvement is required by the 'expected_ratio' rule, got None")
    if isinstance(expected_improvement, bool) or not isinstance(expected_improvement, Real):
        raise TypeError(f"expected_improvement must be a real number, got {expected_improvement!r}")
    return float(expected_improvement)
