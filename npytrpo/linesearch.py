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
from numbers import Real

import numpy as np

from ._validate import choice, integer, real_number

__all__ = [
    "ACCEPTANCE_RULES",
    "AcceptanceTest",
    "acceptance_tests",
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

#: Names accepted by :func:`make_acceptance_rule`; the first is the default (docs/design.md).
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
    coeff = real_number(coeff, "coeff", low=0.0, high=1.0, low_open=True, high_open=True)
    max_backtracks = integer(max_backtracks, "max_backtracks", low=1)
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


@dataclass(frozen=True)
class AcceptanceTest:
    """One inequality of an acceptance rule, ``value op threshold``, as evaluated on a trial.

    Attributes
    ----------
    quantity : str
        ``"kl"``, ``"improvement"`` or ``"expected_improvement"``.
    op : {"<=", "<", ">", ">="}
    value, threshold : float
    scale : float
        What the distance ``|value − threshold|`` is measured against in :attr:`margin` (δ for
        a KL test, the trial's first-order gain f·gᵀs for an improvement test); 0 for a test that
        no rounding of the trial's evaluation can flip.
    """

    quantity: str
    op: str
    value: float
    threshold: float
    scale: float

    @property
    def passed(self) -> bool:
        """Whether ``value op threshold`` holds."""
        v, t = self.value, self.threshold
        return {"<=": v <= t, "<": v < t, ">": v > t, ">=": v >= t}[self.op]

    @property
    def margin(self) -> float:
        """Relative distance ``|value − threshold| / scale`` from flipping (inf if unflippable)."""
        return abs(self.value - self.threshold) / self.scale if self.scale > 0 else math.inf


def acceptance_tests(
    rule: str,
    *,
    delta: float,
    fraction: float,
    kl: float,
    improvement: float,
    expected_improvement: float | None = None,
) -> tuple[AcceptanceTest, ...]:
    r"""The inequalities a trial must pass under ``rule``; it is accepted iff all pass.

    This is the one statement of the rules: :func:`make_acceptance_rule` decides with it, and
    the oracle measures how close each decision was from it.

    ===================  ==========================================  ======================
    rule                 tests                                       used by
    ===================  ==========================================  ======================
    ``kl_and_improve``   kl ≤ δ, Δ > 0                               Schulman et al. 2015
    ``strict``           kl < δ, Δ > 0                               sb3-contrib, Tianshou
    ``kl_slack``         kl ≤ 1.5 δ, Δ ≥ 0                           OpenAI baselines
    ``expected_ratio``   gᵀs > 0, Δ > 0.1 · f · gᵀs, Δ > 0           modular_rl
    ===================  ==========================================  ======================

    Δ is the improvement, f the fraction and gᵀs the full step's first-order gain
    (``expected_improvement``); Δ / (f·gᵀs) > 0.1 is evaluated without a division.

    Examples
    --------
    >>> [t.passed for t in acceptance_tests("strict", delta=0.01, fraction=1.0, kl=0.01,
    ...                                     improvement=0.5)]
    [False, True]
    """
    expected = expected_improvement
    # An improvement test is measured against this trial's first-order gain f·gᵀs.
    scale = fraction * abs(expected) if expected else (abs(improvement) or 1.0)
    if rule in ("kl_and_improve", "strict", "kl_slack"):
        kl_max = KL_SLACK_FACTOR * delta if rule == "kl_slack" else delta
        return (
            AcceptanceTest("kl", "<" if rule == "strict" else "<=", kl, kl_max, kl_max),
            AcceptanceTest(
                "improvement", ">=" if rule == "kl_slack" else ">", improvement, 0.0, scale
            ),
        )
    if rule != "expected_ratio":
        raise ValueError(f"rule must be one of {ACCEPTANCE_RULES}, got {rule!r}")
    expected = _check_expected_improvement(expected)
    if not expected > 0.0:  # no predicted gain: the ratio is meaningless, every trial fails
        return (AcceptanceTest("expected_improvement", ">", expected, 0.0, 0.0),)
    threshold = EXPECTED_RATIO_THRESHOLD * fraction * expected
    return (
        AcceptanceTest("improvement", ">", improvement, threshold, scale),
        AcceptanceTest("improvement", ">", improvement, 0.0, scale),
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
        One of :data:`ACCEPTANCE_RULES`; the tests of each are listed in
        :func:`acceptance_tests`.
    delta : float
        Trust-region radius δ on the mean KL, finite and ``> 0``.
    expected_improvement : float, optional
        The first-order improvement gᵀs of the full step s; required by
        ``"expected_ratio"``, used by the others only to scale margins.

    Returns
    -------
    callable ``(float, float, float) -> bool``
        ``accept(fraction, kl, improvement)``: true iff kl and improvement are finite and every
        test of :func:`acceptance_tests` passes.

    Examples
    --------
    >>> accept = make_acceptance_rule("strict", delta=0.01)
    >>> accept(1.0, 0.01, 0.5), accept(1.0, 0.009, 0.5)
    (False, True)
    >>> accept = make_acceptance_rule("expected_ratio", delta=0.01, expected_improvement=2.0)
    >>> accept(0.5, 99.0, 0.2), accept(0.5, 0.0, 0.05)
    (True, False)
    """
    name = choice(name, "name", ACCEPTANCE_RULES)
    delta = real_number(delta, "delta", low=0.0, low_open=True)
    if name == "expected_ratio":
        expected_improvement = _check_expected_improvement(expected_improvement)

    def accept(fraction: float, kl: float, improvement: float) -> bool:
        if not (math.isfinite(kl) and math.isfinite(improvement)):
            return False
        tests = acceptance_tests(
            name,
            delta=delta,
            fraction=fraction,
            kl=kl,
            improvement=improvement,
            expected_improvement=expected_improvement,
        )
        return all(t.passed for t in tests)

    accept.__name__ = accept.__qualname__ = f"accept_{name}"
    return accept


def _check_expected_improvement(expected_improvement: object) -> float:
    """Return ``expected_improvement`` as a float; it must be given and real."""
    if expected_improvement is None:
        raise ValueError("expected_improvement is required by the 'expected_ratio' rule, got None")
    if isinstance(expected_improvement, bool) or not isinstance(expected_improvement, Real):
        raise TypeError(f"expected_improvement must be a real number, got {expected_improvement!r}")
    return float(expected_improvement)
