"""Cases whose line search ends a chosen way: accepted at trial 0, after backtracking, or failed.

``make_case`` draws a case; whether its full step is accepted depends on the draw. To get a
target outcome deterministically :func:`make_case_with_outcome` walks a fixed, bounded schedule
of candidates and returns the first one that is well-posed and ends as asked:

1. seeds ``seed``, ``seed + 1``, … (``SEED_TRIES`` of them), and for each
2. the θ noise asked for, then 2 and 3 (a policy far from uniform overshoots more), and for each
3. δ, 10δ, 100δ, … (``DELTA_DECADES`` of them): the quadratic model of the KL, exact for
   small steps, fails for large ones, so a large δ makes trial 0 overshoot.

``first`` keeps δ and the θ noise and tries 3·``SEED_TRIES`` seeds.

``failed`` takes a candidate that backtracked to trial j ≥ 1 and sets ``max_backtracks`` = j,
so that every trial it makes is rejected (a failure within the default 10 trials would need a
δ so large that the trial KLs overflow). Scaling the advantages is no knob: it scales g and x
by c and β by 1/c, leaving βx, every trial and every decision unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .format import OracleData
from .make import make_case
from .run import run_case

#: The line-search outcomes a case can be asked for.
OUTCOMES = ("first", "backtrack", "failed")
#: The bounds of the schedule: seeds tried, and decades of δ above the one asked for.
SEED_TRIES = 8
DELTA_DECADES = 7
_NOISES = (2.0, 3.0)


def outcome_of(result: OracleData) -> str:
    """``first``, ``backtrack`` or ``failed`` from a result (``other`` if no search ran)."""
    j = int(result.arrays["ls_accepted"])
    if j == 0:
        return "first"
    if j > 0:
        return "backtrack"
    return "failed" if result.spec.get("status") == "line_search_failed" else "other"


def _schedule(outcome: str, seed: int, delta: float, noise: float) -> Iterator[tuple]:
    """(seed, θ noise, δ) candidates in the fixed order described in the module docstring."""
    noises = [noise] + [n for n in _NOISES if n != noise]
    if outcome == "first":  # δ and the noise as asked; 3·SEED_TRIES seeds, whatever the noise
        for s in range(seed, seed + SEED_TRIES * (1 + len(_NOISES))):
            yield s, noise, delta
        return
    for s in range(seed, seed + SEED_TRIES):
        for n in noises:
            for k in range(DELTA_DECADES):
                yield s, n, delta * 10.0**k


def make_case_with_outcome(
    outcome: str,
    *,
    seed: int = 0,
    theta_noise: float = 0.3,
    prepare: Callable[[OracleData], OracleData] | None = None,
    **make_kwargs: Any,
) -> tuple[OracleData, OracleData]:
    """The first well-posed case of the schedule whose line search ends with ``outcome``.

    Parameters
    ----------
    outcome : {"first", "backtrack", "failed"}
    seed, theta_noise : where the schedule starts (``make_case``'s arguments).
    prepare : callable, optional
        Applied to every drawn case before it is run (e.g. to store pre-normalised advantages).
    **make_kwargs
        ``make_case``'s other arguments and conventions (``delta`` is where δ starts).

    Returns
    -------
    (case, result)
        The case's ``spec["generator"]`` records the outcome and the number of candidates tried.

    Raises
    ------
    ValueError
        ``outcome`` unknown, or no candidate of the schedule ends as asked.

    Examples
    --------
    >>> case, result = make_case_with_outcome(
    ...     "backtrack", policy="gaussian", obs_dim=2, act_dim=1, batch=8, probes=0)
    >>> outcome_of(result), int(result.arrays["ls_accepted"]) > 0
    ('backtrack', True)
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
    delta = make_kwargs.pop("delta", 0.01)
    tries = 0
    for s, noise, d in _schedule(outcome, seed, delta, theta_noise):
        tries += 1
        case, result = _draw(outcome, tries, prepare, seed=s, theta_noise=noise, delta=d,
                             **make_kwargs)  # fmt: skip
        got = outcome_of(result)
        if got == "backtrack" and outcome == "failed":
            j = int(result.arrays["ls_accepted"])
            case, result = _draw(outcome, tries, prepare, seed=s, theta_noise=noise, delta=d,
                                 **{**make_kwargs, "max_backtracks": j})  # fmt: skip
            got = outcome_of(result)
        if got == outcome and result.spec["well_posed"]:
            return case, result
    raise ValueError(
        f"no well-posed case whose line search ends {outcome!r} among {tries} candidates "
        f"from seed {seed}, delta {delta:g}, theta_noise {theta_noise:g} (see "
        "npytrpo.oracle.outcome for the schedule); try another seed or other conventions"
    )


def _draw(outcome: str, tries: int, prepare, **kwargs) -> tuple[OracleData, OracleData]:
    case = make_case(**kwargs)
    case.spec["generator"].update(outcome=outcome, candidates_tried=tries)
    if prepare is not None:
        case = prepare(case)
    return case, run_case(case)
