"""npytrpo.linesearch in detail: each acceptance test's quantity, threshold, scale and margin
(what the oracle reports); the search's result fields, messages, defaults and input edges.

Every expected margin below is |value − threshold| / scale with the scale the docstring of
``AcceptanceTest`` states: δ (1.5δ for kl_slack) for a KL test, the trial's first-order gain
f·|gᵀs| for an improvement test (|Δ|, or 1 when Δ = 0, when gᵀs is not given), 0 (margin inf)
for a test no rounding can flip. (test_linesearch.py tests the decisions.)
"""

import math

import numpy as np
import pytest

from npytrpo.linesearch import (
    EXPECTED_RATIO_THRESHOLD,
    KL_SLACK_FACTOR,
    NO_ACCEPTABLE_STEP,
    acceptance_tests,
    backtracking_line_search,
    make_acceptance_rule,
)

DELTA = 0.01


def never(fraction, kl, improvement):
    return False


def summary(tests):
    """(quantity, op, threshold, scale, margin) of each test, in order."""
    return [(t.quantity, t.op, t.threshold, t.scale, t.margin) for t in tests]


@pytest.mark.parametrize(
    ("rule", "kl_op", "kl_max", "imp_op"),
    [
        ("kl_and_improve", "<=", DELTA, ">"),
        ("strict", "<", DELTA, ">"),
        ("kl_slack", "<=", KL_SLACK_FACTOR * DELTA, ">="),
    ],
)
def test_kl_rules_measure_kl_against_its_bound_and_gain_against_the_first_order_gain(
    rule, kl_op, kl_max, imp_op
):
    """KL test: threshold and scale kl_max; improvement test: threshold 0, scale f·|gᵀs|."""
    tests = acceptance_tests(
        rule, delta=DELTA, fraction=0.5, kl=0.004, improvement=0.3, expected_improvement=-2.0
    )
    assert summary(tests) == [
        ("kl", kl_op, kl_max, kl_max, pytest.approx(abs(0.004 - kl_max) / kl_max, rel=1e-15)),
        ("improvement", imp_op, 0.0, 1.0, pytest.approx(0.3, rel=1e-15)),
    ]


@pytest.mark.parametrize("improvement", [0.25, -0.5, 0.0])
def test_improvement_scale_without_expected_gain_is_its_own_size(improvement):
    """Without gᵀs the improvement is measured against |Δ| (margin 1), or 1 when Δ = 0: a
    zero improvement sits on its threshold (margin 0), it is not unflippable."""
    (_, imp) = acceptance_tests("kl_and_improve", delta=DELTA, fraction=0.5, kl=0.0,
                                improvement=improvement)  # fmt: skip
    assert imp.scale == (abs(improvement) or 1.0)
    assert imp.margin == (1.0 if improvement else 0.0)


def test_expected_ratio_tests_and_margins():
    """expected_ratio: Δ > 0.1·f·gᵀs and Δ > 0, both on the scale f·gᵀs."""
    f, expected, imp = 0.5, 2.0, 0.3
    tests = acceptance_tests("expected_ratio", delta=DELTA, fraction=f, kl=9.0,
                             improvement=imp, expected_improvement=expected)  # fmt: skip
    threshold = EXPECTED_RATIO_THRESHOLD * f * expected
    assert summary(tests) == [
        ("improvement", ">", threshold, f * expected, pytest.approx((imp - threshold) / 1.0)),
        ("improvement", ">", 0.0, f * expected, pytest.approx(imp / 1.0)),
    ]


@pytest.mark.parametrize("expected", [0.0, -1.0])
def test_expected_ratio_without_predicted_gain_is_one_unflippable_test(expected):
    """gᵀs ≤ 0: one failing test gᵀs > 0, threshold 0, scale 0, margin inf."""
    tests = acceptance_tests("expected_ratio", delta=DELTA, fraction=1.0, kl=0.0,
                             improvement=1.0, expected_improvement=expected)  # fmt: skip
    assert summary(tests) == [("expected_improvement", ">", 0.0, 0.0, math.inf)]
    assert not tests[0].passed


def test_argument_errors_name_the_argument():
    """Messages start with the user-facing name of the argument (not a variant of it)."""
    search = backtracking_line_search
    with pytest.raises(ValueError, match=r"^max_backtracks must"):
        search(lambda s: (0.0, 1.0), np.ones(2), accept=never, max_backtracks=0)
    with pytest.raises(ValueError, match=r"^name must"):
        make_acceptance_rule("sideways", delta=DELTA)
    with pytest.raises(ValueError, match=r"^delta must"):
        make_acceptance_rule("strict", delta=-1.0)
    with pytest.raises(ValueError, match=r"^expected_improvement is required.*got None$"):
        make_acceptance_rule("expected_ratio", delta=DELTA)
    with pytest.raises(TypeError, match=r"^evaluate must be callable, got int$"):
        search(3, np.ones(2), accept=never)
    with pytest.raises(TypeError, match=r"^accept must be callable, got str$"):
        search(lambda s: (0.0, 1.0), np.ones(2), accept="strict")


def test_underflow_check_is_on_the_last_trial_fraction():
    """coeff^(max_backtracks−1) is the smallest fraction: 1e-200 with 2 trials is fine (1e-200
    is a normal float), with 3 trials it is 1e-400 = 0 and rejected."""
    res = backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2), accept=never,
                                   coeff=1e-200, max_backtracks=2)  # fmt: skip
    np.testing.assert_array_equal(res.fractions, [1.0, 1e-200])
    with pytest.raises(ValueError, match="coeff"):
        backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2), accept=never,
                                 coeff=1e-200, max_backtracks=3)  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_real_full_steps_of_any_precision_are_accepted_as_float64(dtype):
    """An integer or float32 full step is a real array: searched in float64."""
    full = np.array([2, -4], dtype=dtype)
    res = backtracking_line_search(lambda s: (0.0, 1.0), full, accept=lambda f, k, i: f < 0.3)
    assert res.accepted == 2 and res.step.dtype == np.float64
    np.testing.assert_array_equal(res.step, [0.5, -1.0])


def test_default_tries_ten_trials():
    """max_backtracks defaults to 10 (DESIGN: j = 0..9)."""
    res = backtracking_line_search(lambda s: (0.0, 1.0), np.ones(3), accept=never)
    assert len(res.fractions) == 10 and res.fractions[-1] == 0.5**9


def test_rejected_search_returns_float64_zeros_of_the_step_shape():
    """No acceptable trial: step is a float64 zero vector of full_step's shape, fraction 0."""
    res = backtracking_line_search(lambda s: (1.0, -1.0), np.ones(3), accept=never)
    assert res.status == NO_ACCEPTABLE_STEP and res.accepted == -1 and res.fraction == 0.0
    assert res.step.shape == (3,) and res.step.dtype == np.float64 and not np.any(res.step)


def test_messages_report_the_outcome():
    """Accepted: which trial, its fraction, how many tried. Rejected: how many trials had a
    non-finite KL or improvement (either one counts)."""
    res = backtracking_line_search(lambda s: (0.0, 1.0), np.ones(2),
                                   accept=lambda f, k, i: f < 0.3)  # fmt: skip
    assert res.message == "accepted trial 2 (fraction 0.25) of 3"
    values = iter([(math.nan, 1.0), (0.0, math.inf), (0.0, 1.0)])
    res = backtracking_line_search(lambda s: next(values), np.ones(2), accept=never,
                                   max_backtracks=3)  # fmt: skip
    assert res.message == "no acceptable step in 3 trials (2 non-finite); step is zero"


def test_acceptance_tests_reject_an_unknown_rule_naming_it():
    """acceptance_tests (called by the oracle without make_acceptance_rule's check) names the
    argument, the valid rules and the value received."""
    with pytest.raises(ValueError, match=r"^rule must be one of") as info:
        acceptance_tests("armijo", delta=DELTA, fraction=1.0, kl=0.0, improvement=1.0)
    assert "'armijo'" in str(info.value) and "kl_slack" in str(info.value)
