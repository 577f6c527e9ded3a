"""Details of the oracle's comparison (``npytrpo/oracle/check.py``), pinned one property at a
time (issue 17, mutation testing): tolerance arguments, the bound, special values, the rows of
each branch, where the diagnoses take their sizes, the table. The run.py side is in
``test_oracle_details.py``.
"""

import math

import numpy as np
import pytest

from npytrpo.oracle import (
    CASE_FORMAT,
    CASE_KEYS,
    RESULT_FORMAT,
    RESULT_KEYS,
    CheckRow,
    OracleData,
    OracleError,
    check_result,
    format_table,
)


def reference_of(**arrays):
    """A minimal reference result holding ``arrays`` (float64 unless given otherwise)."""
    return OracleData({"format": RESULT_FORMAT}, dict(arrays))


def one_row(ref, theirs, **kw):
    (row,) = check_result(ref, OracleData({}, theirs), **kw)
    return row


@pytest.mark.parametrize("name", ["rtol", "atol"])
@pytest.mark.parametrize("bad", [-1e-9, math.nan, math.inf, "1e-8", True])
def test_check_refuses_a_tolerance_that_is_not_a_finite_number_at_least_zero(name, bad):
    """rtol and atol are finite numbers >= 0; the message names the tolerance and the value."""
    ref = reference_of(g=np.ones(2))
    with pytest.raises(OracleError) as err:
        check_result(ref, OracleData({}, {"g": np.ones(2)}), **{name: bad})
    assert str(err.value) == f"{name} must be a finite number >= 0, got {bad!r}"


def test_check_accepts_zero_tolerances_and_then_wants_equality():
    """rtol = atol = 0 is allowed: only identical values pass."""
    ref = reference_of(g=np.array([1.0, -2.0]))
    assert one_row(ref, {"g": np.array([1.0, -2.0])}, rtol=0.0, atol=0.0).status == "pass"
    assert one_row(ref, {"g": np.array([1.0, np.nextafter(-2.0, 0)])}, rtol=0, atol=0).failed


def test_check_refuses_an_unknown_required_key_and_lists_the_known_ones():
    ref = reference_of(g=np.ones(2))
    known = [*RESULT_KEYS, *CASE_KEYS]
    with pytest.raises(OracleError) as err:
        check_result(ref, OracleData({}, {}), require=["g", "gg", "a"])
    assert str(err.value) == f"--require names unknown key(s) ['a', 'gg']; known: {known}"


def test_the_bound_is_atol_plus_rtol_times_the_largest_entry_and_is_inclusive():
    """A float quantity passes iff max|theirs − ours| <= atol + rtol·max|ours| (equality
    passes); the row carries that bound as ``tol``, the errors as max_abs and max_rel."""
    ours = np.array([4.0, -8.0, 0.5])
    ref = reference_of(g=ours)
    rtol, atol = 0.25, 0.5  # bound = 0.5 + 0.25·8 = 2.5, exact in binary
    at = one_row(ref, {"g": ours + np.array([0.0, 2.5, 0.0])}, rtol=rtol, atol=atol)
    assert (at.status, at.max_abs, at.max_rel, at.tol) == ("pass", 2.5, 2.5 / 8.0, 2.5)
    over = one_row(ref, {"g": ours + np.array([0.0, 0.0, 2.625])}, rtol=rtol, atol=atol)
    assert (over.status, over.max_abs, over.max_rel, over.tol) == ("FAIL", 2.625, 2.625 / 8, 2.5)


def test_errors_of_zero_and_empty_quantities():
    """An all-zero reference: a zero error has max_rel 0, any other error max_rel inf (judged
    by atol). An empty quantity passes with zero errors."""
    ref = reference_of(kl_new=np.float64(0.0), ls_kl=np.zeros(0))
    same = one_row(ref, {"kl_new": np.float64(0.0)})
    assert (same.status, same.max_abs, same.max_rel) == ("pass", 0.0, 0.0)
    off = one_row(ref, {"kl_new": np.float64(1e-13)})
    assert (off.status, off.max_abs, off.max_rel, off.tol) == ("pass", 1e-13, math.inf, 1e-12)
    empty = one_row(ref, {"ls_kl": np.zeros(0)})
    assert (empty.status, empty.max_abs, empty.max_rel) == ("pass", 0.0, 0.0)


@pytest.mark.parametrize(
    ("theirs", "ok"),
    [([np.inf, -np.inf, np.nan, 1.0], True), ([-np.inf, -np.inf, np.nan, 1.0], False),
     ([np.inf, np.inf, np.nan, 1.0], False), ([np.inf, -np.inf, 1.0, 1.0], False),
     ([np.inf, -np.inf, np.nan, np.nan], False)],
)  # fmt: skip
def test_non_finite_entries_match_only_the_same_special_value(theirs, ok):
    """+inf matches +inf only, −inf −inf only, NaN NaN only; any other mismatch in finiteness
    is an infinite error. The finite entries are then compared as usual."""
    ref = reference_of(ls_kl=np.array([np.inf, -np.inf, np.nan, 1.0]))
    row = one_row(ref, {"ls_kl": np.array(theirs)})
    assert row.status == ("pass" if ok else "FAIL")
    if ok:
        assert (row.max_abs, row.max_rel) == (0.0, 0.0)
    else:
        assert (row.max_abs, row.max_rel) == (math.inf, math.inf)


def test_rows_follow_the_algorithms_order_then_unknown_keys_sorted():
    """Rows come in RESULT_KEYS/CASE_KEYS order whatever theirs' order, required-but-absent
    keys in place (MISSING), then unknown names sorted (UNKNOWN, or skip with allow_unknown)."""
    ref = reference_of(g=np.ones(2), x=np.ones(2), theta_new=np.ones(2))
    theirs = {"zz": np.ones(1), "x": np.ones(2), "aa": np.ones(1), "g": np.ones(2)}
    rows = check_result(ref, OracleData({}, theirs), require=["theta_new"])
    assert [(r.key, r.status) for r in rows] == [
        ("g", "pass"), ("x", "pass"), ("theta_new", "MISSING"), ("aa", "UNKNOWN"),
        ("zz", "UNKNOWN"),
    ]  # fmt: skip
    assert (rows[2].shape, rows[2].note) == ("-", "required but not provided")
    assert rows[3].note == "not an oracle quantity"
    assert rows[3].shape == "(1,)" and math.isnan(rows[3].max_abs)
    lenient = check_result(ref, OracleData({}, theirs), allow_unknown=True)
    assert [(r.key, r.status, r.failed) for r in lenient if r.key in ("aa", "zz")] == [
        ("aa", "skip", False), ("zz", "skip", False),
    ]  # fmt: skip


def test_keys_absent_from_the_reference_are_skipped_with_the_reason():
    """fvp without probes: "the case has no probes"; a dense key: the reference's dense reason
    (or "not in the reference" without one); another key: "not in the reference"."""
    ref = OracleData({"format": RESULT_FORMAT, "dense": {"reason": "P = 9 > 8: skipped"}}, {})
    theirs = OracleData({}, {"fvp": np.ones((1, 2)), "x_exact": np.ones(2), "g": np.ones(2)})
    rows = {r.key: r for r in check_result(ref, theirs)}
    assert {k: (r.status, r.note) for k, r in rows.items()} == {
        "g": ("skip", "not in the reference"), "fvp": ("skip", "the case has no probes"),
        "x_exact": ("skip", "P = 9 > 8: skipped"),
    }  # fmt: skip
    assert not any(r.failed for r in rows.values())
    bare = check_result(reference_of(), OracleData({}, {"fisher": np.ones((2, 2))}))
    assert (bare[0].status, bare[0].note) == ("skip", "not in the reference")


def test_a_line_search_array_of_another_length_says_how_many_trials_ours_made():
    """ls_* of another length: SHAPE, "expected (n,): our line search tried n trial(s)", and
    the diagnosis of the common trials (numbers only: strings get none)."""
    ref = reference_of(ls_kl=np.array([0.5, 0.25]), g=np.ones(2))
    row = one_row(ref, {"ls_kl": np.array([0.5, 0.25, 0.125])})
    assert (row.status, row.note) == ("SHAPE", "expected (2,): our line search tried 2 trial(s)")
    assert "trial" in row.diagnosis
    text = one_row(ref, {"ls_kl": np.array(["a", "b", "c"])})
    assert (text.status, text.diagnosis) == ("SHAPE", "")
    g = one_row(ref, {"g": np.ones(3)})
    assert (g.status, g.note, g.diagnosis) == ("SHAPE", "expected (2,)", "")


def test_integer_quantities_are_equal_or_not_and_must_be_integers():
    """cg_iterations/ls_accepted: any integer dtype equal to ours passes with zero error and
    tol 0; a different value fails with the integer-mismatch diagnosis (for ls_accepted, which
    trial each search accepted), no note and NaN errors; a float is a DTYPE row. Integer
    actions are compared the same way; float actions and float keys want floats."""
    ref = reference_of(ls_accepted=np.int64(2), g=np.ones(2))
    ok = one_row(ref, {"ls_accepted": np.int32(2)})
    assert (ok.status, ok.max_abs, ok.max_rel, ok.tol) == ("pass", 0.0, 0.0, 0.0)
    bad = one_row(ref, {"ls_accepted": np.uint8(1)})
    assert (bad.key, bad.shape, bad.status, bad.note, bad.tol) == (
        "ls_accepted", "()", "FAIL", "", 0.0,
    )  # fmt: skip
    assert math.isnan(bad.max_abs) and math.isnan(bad.max_rel)
    assert bad.diagnosis == (
        "integer mismatch: theirs 1, ours 2 (their line search accepted trial 1, ours trial 2)"
    )
    flt = one_row(ref, {"ls_accepted": np.float64(2.0)})
    assert (flt.status, flt.note) == ("DTYPE", "float64, expected an integer")
    ints = one_row(ref, {"g": np.ones(2, dtype=np.int64)})
    assert (ints.key, ints.shape, ints.status, ints.note) == (
        "g", "(2,)", "DTYPE", "int64, expected floating point",
    )  # fmt: skip
    assert math.isnan(ints.max_abs) and math.isnan(ints.max_rel)
    case = OracleData({}, {"actions": np.array([0, 2, 1])})
    rows = check_result(reference_of(), OracleData({}, {"actions": np.array([0, 2, 2])}),
                        case=case)  # fmt: skip
    assert rows[0].status == "FAIL" and rows[0].diagnosis == (
        "integer mismatch: theirs [0, 2, 2], ours [0, 2, 1]"
    )
    float_case = OracleData({}, {"actions": np.array([[0.5], [-1.0]])})
    rows = check_result(reference_of(), OracleData({}, {"actions": np.array([[0.5], [-1.0]])}),
                        case=float_case)  # fmt: skip
    assert (rows[0].status, rows[0].note, rows[0].tol) == ("pass", "", 1e-8 + 1e-12)


def test_integers_are_compared_exactly_beyond_float_precision():
    """Integer quantities are compared as int64: 2⁵³ and 2⁵³ + 1 (equal as float64) differ."""
    big = 2**53
    for ours, theirs in ((big, big + 1), (big + 1, big)):
        row = one_row(
            reference_of(cg_iterations=np.int64(ours)), {"cg_iterations": np.int64(theirs)}
        )
        assert row.status == "FAIL"
        assert row.diagnosis == f"integer mismatch: theirs {theirs}, ours {ours}"


def test_a_near_zero_quantity_is_noted_as_judged_by_atol():
    """When atol >= rtol·max|ours| the absolute error decides; the row says so with the scale
    and atol, whether it passes or fails (and a failure adds its diagnosis after a "; ")."""
    ref = reference_of(surrogate=np.float64(1e-5), g=np.array([1.0, 2.0]))
    row = one_row(ref, {"surrogate": np.float64(1e-5 + 1e-13)})
    assert (row.status, row.note, row.diagnosis) == (
        "pass", "", "near 0 (max |ours| = 1.0e-05): judged by the absolute error, atol = 1e-12",
    )  # fmt: skip
    assert one_row(ref, {"g": np.array([1.0, 2.0])}).diagnosis == ""
    at = one_row(ref, {"g": np.array([1.0, 2.0])}, rtol=0.25, atol=0.5)  # 0.5 = 0.25·2
    assert at.diagnosis.startswith("near 0 (max |ours| = 2.0e+00)")
    flip = one_row(ref, {"surrogate": np.float64(-1e-5)})
    assert (flip.status, flip.note, flip.diagnosis) == (
        "FAIL", "", "near 0 (max |ours| = 1.0e-05): judged by the absolute error, atol = 1e-12; "
        "theirs = −ours (a sign flip)",
    )  # fmt: skip
    neg = one_row(ref, {"g": np.array([-1.0, -2.0])})
    assert (neg.status, neg.diagnosis) == ("FAIL", "theirs = −ours (a sign flip)")


def test_table_pads_columns_writes_nan_as_a_dash_and_joins_notes():
    """format_table: a header and one line per row, columns left-aligned to their widest
    cell (header or not) and separated by two spaces, errors as %.3e ("-" for NaN), the
    result column the status then "note; diagnosis"; no trailing spaces, and an empty name
    keeps its column. No rows: the header alone."""
    rows = [
        CheckRow("g", "(2,)", 1.5e-3, 2.0e-4, "FAIL", "", "theirs = −ours"),
        CheckRow("expected_improvement", "(2, 28)", math.nan, math.nan, "SHAPE", "exp", "why"),
        CheckRow("", "()", 0.0, 0.0, "pass"),
    ]
    assert format_table(rows).splitlines() == [
        "quantity              shape    max_abs_err  max_rel_err  result",
        "g                     (2,)     1.500e-03    2.000e-04    FAIL  theirs = −ours",
        "expected_improvement  (2, 28)  -            -            SHAPE  exp; why",
        "                      ()       0.000e+00    0.000e+00    pass",
    ]
    assert format_table([]) == "quantity  shape  max_abs_err  max_rel_err  result"


def test_a_quantity_of_special_values_only_passes_with_zero_errors():
    """An array whose every entry is NaN or ±inf, matched entry for entry, passes with zero
    errors (no finite entry to measure: the maxima start at 0)."""
    ref = reference_of(ls_kl=np.array([np.inf, np.nan]), kl_new=np.float64(np.nan))
    for key, values in (("ls_kl", np.array([np.inf, np.nan])), ("kl_new", np.float64(np.nan))):
        row = one_row(ref, {key: values})
        assert (row.status, row.max_abs, row.max_rel) == ("pass", 0.0, 0.0), key


def test_relative_error_is_measured_against_a_largest_entry_below_one():
    """max_rel = max_abs / max|ours| also when max|ours| < 1 (only 0 makes it 0 or inf)."""
    ref = reference_of(g=np.array([0.5, -0.25]))
    row = one_row(ref, {"g": np.array([0.5, -0.125])}, rtol=1.0)
    assert (row.status, row.max_abs, row.max_rel) == ("pass", 0.125, 0.25)


def test_diagnoses_take_sizes_from_the_case_else_from_the_references_copy():
    """The context (act_dim, N) comes from ``case`` when given, else from the reference's
    ``case_spec``; N from ``advantages_used``, else from ``logp``. A fvp halved is then named
    1/act_dim, a g multiplied by N is named a sum over the batch."""
    ours = np.array([0.5, -2.0, 1.0, 0.25])
    spec = {"policy": "gaussian", "obs_dim": 1, "hidden": [], "act_dim": 2}
    halved = OracleData({}, {"fvp": ours / 2})
    case = OracleData(spec, {})
    hand_made = reference_of(fvp=ours)  # no case_spec
    (row,) = check_result(hand_made, halved, case=case)
    assert "= 1/act_dim = 1/2:" in row.diagnosis
    copy = OracleData({"format": RESULT_FORMAT, "case_spec": spec}, {"fvp": ours})
    assert "= 1/act_dim = 1/2:" in check_result(copy, halved)[0].diagnosis
    assert "(a constant factor)" in check_result(hand_made, halved)[0].diagnosis
    summed = OracleData({}, {"g": 5 * ours})
    for sizes in ({"logp": np.zeros(5)}, {"advantages_used": np.zeros(5)},
                  {"advantages_used": np.zeros(5), "logp": np.zeros((5, 1))}):  # fmt: skip
        (row,) = check_result(reference_of(g=ours, **sizes), summed)
        assert "N = 5: a sum over the batch" in row.diagnosis, sizes


def test_check_refuses_a_reference_that_is_not_a_result_by_the_arguments_name():
    """The reference must be a result: a case, or a spec without a format, is refused with a
    message naming ``reference`` and what it is."""
    g = OracleData({}, {"g": np.ones(2)})
    with pytest.raises(OracleError) as err:
        check_result(OracleData({"format": CASE_FORMAT}, {}), g)
    assert str(err.value) == (f"reference is a {CASE_FORMAT!r} file, not a {RESULT_FORMAT!r} one")
    with pytest.raises(OracleError) as err:
        check_result(OracleData({}, {}), g)
    assert str(err.value) == f"reference: spec has no 'format' key; expected {RESULT_FORMAT!r}"
