"""Tests of npytrpo.linesearch: the backtracking search and the named acceptance rules."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npytrpo.linesearch import (
    ACCEPTANCE_RULES,
    ACCEPTED,
    NO_ACCEPTABLE_STEP,
    LineSearchResult,
    backtracking_line_search,
    make_acceptance_rule,
)

DELTA = 0.01
KL_RULES = ("kl_and_improve", "strict", "kl_slack")

# Shrink factors away from 1 so that coeff**(j+1) < coeff**j survives rounding by a wide
# margin (relative gap ≥ 1e-3 ≫ eps), and away from 0 so that no fraction underflows.
coeffs = st.floats(min_value=1e-3, max_value=0.999)
n_trials = st.integers(1, 30)
steps = st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=6).map(np.array)


def never(fraction, kl, improvement):
    """An acceptance rule that rejects everything."""
    return False


def always(fraction, kl, improvement):
    """An acceptance rule that accepts everything."""
    return True


@given(coeff=coeffs, max_backtracks=n_trials, full_step=steps)
def test_fractions_are_powers_of_coeff_and_strictly_decrease(coeff, max_backtracks, full_step):
    """Trial j uses fraction coeff**j exactly, step fraction·full_step; fractions decrease."""
    seen = []

    def evaluate(step):
        seen.append(step.copy())
        return 0.0, 1.0

    res = backtracking_line_search(
        evaluate, full_step, accept=never, coeff=coeff, max_backtracks=max_backtracks
    )
    expected = np.array([coeff**j for j in range(max_backtracks)])
    np.testing.assert_array_equal(res.fractions, expected)
    assert np.all(np.diff(res.fractions) < 0)
    assert len(seen) == len(res.kl) == len(res.improvement) == max_backtracks
    for fraction, step in zip(res.fractions, seen, strict=True):
        np.testing.assert_array_equal(step, fraction * full_step)


@given(coeff=coeffs, max_backtracks=n_trials, full_step=steps, data=st.data())
def test_stops_at_first_accepted_trial(coeff, max_backtracks, full_step, data):
    """The search stops at the first accepted trial t and reports its index, fraction, step."""
    t = data.draw(st.integers(0, max_backtracks - 1), label="first accepted")
    calls = [0]

    def evaluate(step):
        calls[0] += 1
        return 0.0, (1.0 if calls[0] - 1 >= t else -1.0)  # improves from trial t on

    rule = make_acceptance_rule("kl_and_improve", delta=DELTA)
    res = backtracking_line_search(
        evaluate, full_step, accept=rule, coeff=coeff, max_backtracks=max_backtracks
    )
    assert res.success and res.status == ACCEPTED
    assert res.accepted == t and calls[0] == t + 1 == len(res.fractions)
    assert res.fraction == coeff**t == res.fractions[t]
    np.testing.assert_array_equal(res.step, coeff**t * np.asarray(full_step))


def test_quadratic_kl_accepts_first_step_inside_trust_region():
    """kl = ‖s‖² with ‖s‖² = 1, δ = 0.3, coeff = 0.5: kl_j = 4^−j, so trial 1 is accepted."""
    rule = make_acceptance_rule(delta=0.3)
    res = backtracking_line_search(lambda s: (float(s @ s), 1.0), np.array([0.6, 0.8]), accept=rule)
    assert res.accepted == 1 and res.fraction == 0.5
    np.testing.assert_allclose(res.kl, [1.0, 0.25])
    np.testing.assert_array_equal(res.step, [0.3, 0.4])


@given(coeff=coeffs, max_backtracks=n_trials)
def test_no_acceptance_gives_zero_step(coeff, max_backtracks):
    """If nothing is accepted: accepted = −1, zero step, fraction 0, success False."""
    full_step = np.array([1.0, -2.0, 3.0])
    res = backtracking_line_search(
        lambda s: (0.0, 1.0), full_step, accept=never, coeff=coeff, max_backtracks=max_backtracks
    )
    assert res.accepted == -1 and not res.success and res.status == NO_ACCEPTABLE_STEP
    assert res.fraction == 0.0
    np.testing.assert_array_equal(res.step, np.zeros(3))
    assert len(res.fractions) == max_backtracks
    assert str(max_backtracks) in res.message


def test_nonfinite_evaluations_are_skipped_without_calling_accept():
    """NaN/inf kl or improvement is never passed to accept, and the search goes on."""
    values = [(np.nan, 1.0), (0.0, np.nan), (np.inf, 1.0), (0.0, -np.inf), (0.001, 0.5)]
    calls = iter(values)
    accept_args = []

    def accept(fraction, kl, improvement):
        accept_args.append((fraction, kl, improvement))
        return True

    res = backtracking_line_search(lambda s: next(calls), np.ones(2), accept=accept)
    assert res.accepted == 4 and res.fraction == 0.5**4
    assert accept_args == [(0.5**4, 0.001, 0.5)]
    assert math.isnan(res.kl[0]) and math.isnan(res.improvement[1]) and res.kl[2] == np.inf


def test_all_nonfinite_reports_failure_and_count():
    """Only non-finite evaluations: no acceptance, and the message counts them."""
    res = backtracking_line_search(
        lambda s: (np.nan, np.nan), np.ones(2), accept=always, max_backtracks=3
    )
    assert res.accepted == -1 and not res.success
    assert "3 non-finite" in res.message


def test_first_trial_accepted_step_is_a_copy():
    """An accepted full step equals full_step but does not alias the caller's array."""
    full_step = np.array([1.0, 2.0])
    res = backtracking_line_search(lambda s: (0.0, 1.0), full_step, accept=always)
    assert res.accepted == 0 and res.fraction == 1.0
    np.testing.assert_array_equal(res.step, full_step)
    assert not np.shares_memory(res.step, full_step)


def test_result_is_frozen():
    """LineSearchResult is an immutable dataclass."""
    res = backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2), accept=always)
    assert isinstance(res, LineSearchResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.accepted = 3


def decisions(kl, improvement, fraction=1.0, expected_improvement=1.0):
    """Map each rule name to its accept decision on (fraction, kl, improvement)."""
    return {
        name: make_acceptance_rule(name, delta=DELTA, expected_improvement=expected_improvement)(
            fraction, kl, improvement
        )
        for name in ACCEPTANCE_RULES
    }


def test_kl_exactly_delta():
    """kl = δ: accepted by kl_and_improve and kl_slack, rejected by strict."""
    got = decisions(DELTA, 0.5)
    assert got["kl_and_improve"] and got["kl_slack"] and not got["strict"]


def test_kl_just_below_delta():
    """kl just below δ with improvement > 0: every KL rule accepts."""
    got = decisions(np.nextafter(DELTA, 0.0), 0.5)
    assert all(got[name] for name in KL_RULES)


def test_kl_within_slack_only():
    """kl = 1.4δ: among the KL rules only kl_slack accepts."""
    got = decisions(1.4 * DELTA, 0.5)
    assert got["kl_slack"] and not got["kl_and_improve"] and not got["strict"]


def test_kl_slack_boundary():
    """kl_slack accepts kl = 1.5δ exactly and rejects the next float above it."""
    rule = make_acceptance_rule("kl_slack", delta=DELTA)
    assert rule(1.0, 1.5 * DELTA, 0.5)
    assert not rule(1.0, np.nextafter(1.5 * DELTA, 1.0), 0.5)


def test_zero_improvement():
    """Improvement exactly 0 at small kl: only kl_slack accepts."""
    got = decisions(0.0, 0.0)
    assert got == {
        "kl_and_improve": False,
        "strict": False,
        "kl_slack": True,
        "expected_ratio": False,
    }


def test_negative_improvement_rejected_by_all():
    """Improvement < 0: no rule accepts, even at kl = 0."""
    assert not any(decisions(0.0, -1e-12).values())


@pytest.mark.parametrize("kl", [0.0, 1.4 * DELTA, 1e6])
def test_expected_ratio_ignores_kl(kl):
    """expected_ratio accepts ratio 0.2 at any kl (expected 2.0, fraction 0.5, Δ = 0.2)."""
    rule = make_acceptance_rule("expected_ratio", delta=DELTA, expected_improvement=2.0)
    assert rule(0.5, kl, 0.2)


@pytest.mark.parametrize(("improvement", "accepted"), [(0.1, False), (0.05, False), (0.1001, True)])
def test_expected_ratio_threshold(improvement, accepted):
    """expected_ratio needs Δ / (fraction · expected) > 0.1 strictly (fraction·expected = 1)."""
    rule = make_acceptance_rule("expected_ratio", delta=DELTA, expected_improvement=2.0)
    assert rule(0.5, 0.0, improvement) is accepted


@pytest.mark.parametrize("expected", [0.0, -1.0, np.nan])
def test_expected_ratio_never_accepts_without_predicted_gain(expected):
    """expected_ratio never accepts when expected_improvement ≤ 0 (or NaN)."""
    rule = make_acceptance_rule("expected_ratio", delta=DELTA, expected_improvement=expected)
    assert not rule(1.0, 0.0, 5.0)


@pytest.mark.parametrize("name", ACCEPTANCE_RULES)
@pytest.mark.parametrize(
    ("kl", "improvement"), [(np.nan, 1.0), (0.0, np.nan), (np.inf, 1.0), (0.0, np.inf)]
)
def test_rules_reject_nonfinite(name, kl, improvement):
    """Every rule rejects a non-finite kl or improvement when called directly."""
    rule = make_acceptance_rule(name, delta=DELTA, expected_improvement=1.0)
    assert not rule(1.0, kl, improvement)


def test_rule_names_and_default():
    """ACCEPTANCE_RULES lists the four rules; the default is kl_and_improve (kl ≤ δ)."""
    assert ACCEPTANCE_RULES == ("kl_and_improve", "strict", "kl_slack", "expected_ratio")
    default = make_acceptance_rule(delta=DELTA)
    assert default(1.0, DELTA, 1e-9) and not default(1.0, 1.01 * DELTA, 1.0)


def test_unknown_rule_lists_valid_names():
    """An unknown rule name raises ValueError listing every valid name."""
    with pytest.raises(ValueError, match="name") as info:
        make_acceptance_rule("armijo", delta=DELTA)
    assert all(name in str(info.value) for name in ACCEPTANCE_RULES)
    assert "armijo" in str(info.value)


@pytest.mark.parametrize(
    "delta, error",
    [(0.0, ValueError), (-0.01, ValueError), (np.nan, ValueError), (np.inf, ValueError),
     (True, TypeError), ("0.01", TypeError)],
)  # fmt: skip
def test_bad_delta_raises(delta, error):
    """delta must be a finite number > 0: a wrong kind is a TypeError, a wrong value ValueError."""
    with pytest.raises(error, match="delta"):
        make_acceptance_rule("strict", delta=delta)


def test_expected_ratio_requires_expected_improvement():
    """expected_ratio without expected_improvement raises ValueError naming it."""
    with pytest.raises(ValueError, match="expected_improvement"):
        make_acceptance_rule("expected_ratio", delta=DELTA)
    with pytest.raises(TypeError, match="expected_improvement"):
        make_acceptance_rule("expected_ratio", delta=DELTA, expected_improvement="1")


@pytest.mark.parametrize(
    "coeff, error",
    [(0.0, ValueError), (1.0, ValueError), (1.5, ValueError), (-0.5, ValueError),
     (np.nan, ValueError), (True, TypeError), ("0.5", TypeError)],
)  # fmt: skip
def test_bad_coeff_raises(coeff, error):
    """coeff outside (0, 1) raises ValueError naming coeff; a non-number is a TypeError."""
    with pytest.raises(error, match=r"coeff must be"):
        backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2), accept=always, coeff=coeff)


def test_bad_coeff_message_reports_value():
    """The coeff error reports the bound and the value received, e.g. 'got 1.5'."""
    with pytest.raises(ValueError, match=r"coeff must be < 1\.0, got 1\.5"):
        backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2), accept=always, coeff=1.5)


@pytest.mark.parametrize(
    "max_backtracks, error",
    [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError), ("10", TypeError)],
)
def test_bad_max_backtracks_raises(max_backtracks, error):
    """max_backtracks must be an int (TypeError otherwise) >= 1 (ValueError otherwise)."""
    with pytest.raises(error, match="max_backtracks"):
        backtracking_line_search(
            lambda s: (0.0, 1.0), np.ones(2), accept=always, max_backtracks=max_backtracks
        )


def test_underflowing_fraction_raises():
    """A coeff whose last power underflows to 0 is rejected, naming coeff."""
    with pytest.raises(ValueError, match="coeff"):
        backtracking_line_search(
            lambda s: (0.0, 1.0), np.ones(2), accept=always, coeff=1e-200, max_backtracks=3
        )


@pytest.mark.parametrize(
    ("full_step", "error"),
    [
        (np.ones((2, 2)), ValueError),
        (np.array(1.0), ValueError),
        (np.array([1.0, np.nan]), ValueError),
        (np.array([np.inf, 0.0]), ValueError),
        (np.array(["a"]), TypeError),
    ],
)
def test_bad_full_step_raises(full_step, error):
    """full_step must be a 1-D finite real array."""
    with pytest.raises(error, match="full_step"):
        backtracking_line_search(lambda s: (0.0, 1.0), full_step, accept=always)


def test_non_callables_raise():
    """evaluate and accept must be callable; the error names which."""
    with pytest.raises(TypeError, match="evaluate"):
        backtracking_line_search(None, np.ones(2), accept=always)
    with pytest.raises(TypeError, match="accept"):
        backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2), accept="kl_and_improve")
