"""Details of the oracle that decide its numbers and verdicts, pinned one property at a time
(issue 17, mutation testing of ``npytrpo/oracle``): argument checks and their messages, the
result's fields in each branch, the margins' definitions, the check's comparisons.
(Kept out of ``test_oracle.py``, which is over the size limit.)
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest

import npytrpo
from npytrpo.cg import conjugate_gradient
from npytrpo.closed_form import dense_natural_step
from npytrpo.oracle import (
    CASE_FORMAT,
    CASE_KEYS,
    RESULT_FORMAT,
    RESULT_KEYS,
    CheckRow,
    OracleData,
    OracleError,
    case_digest,
    check_result,
    format_table,
    make_case,
    run_case,
    validate_case,
)
from npytrpo.oracle import run as oracle_run

DENSE_KEYS = {"fisher", "x_exact", "step_size_exact", "full_step_exact"}


def small_case(**conventions):
    return make_case(
        policy="categorical", obs_dim=3, n_actions=3, hidden=[4], batch=12, probes=1, seed=0,
        **conventions,
    )  # fmt: skip


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True, None])
def test_run_refuses_a_dense_limit_that_is_not_an_integer_at_least_zero(bad):
    """dense_limit is an integer >= 0; anything else is refused by name with the value received."""
    with pytest.raises(OracleError) as err:
        run_case(small_case(), dense_limit=bad)
    assert str(err.value) == f"dense_limit must be an integer >= 0, got {bad!r}"


# ----------------------------------------------------------------------------- run.py
def with_arrays(case, **arrays):
    """A copy of ``case`` with some arrays replaced."""
    return OracleData(dict(case.spec), {**case.arrays, **arrays})


def test_result_spec_holds_the_documented_fields_and_records_the_dense_boundary():
    """The result's spec has exactly the fields docs/oracle.md lists; ``dense`` is computed
    when P <= dense_limit (P = limit included) and otherwise says why, with P and the limit."""
    case = small_case()
    P = case.spec["num_params"]
    at = run_case(case, dense_limit=P)
    assert set(at.spec) == {
        "format", "case_sha256", "case_spec", "npytrpo_version", "status", "success",
        "message", "cg_status", "dense", "margins", "well_posed",
    }  # fmt: skip
    assert at.spec["case_spec"] == case.spec
    assert at.spec["case_sha256"] == case_digest(case)
    assert at.spec["npytrpo_version"] == npytrpo.__version__
    assert at.spec["dense"] == {"computed": True, "num_params": P, "limit": P, "reason": ""}
    assert DENSE_KEYS <= set(at.arrays)
    below = run_case(case, dense_limit=P - 1)
    assert below.spec["dense"] == {
        "computed": False, "num_params": P, "limit": P - 1,
        "reason": f"P = {P} > {P - 1}: the dense Fisher, x_exact, step_size_exact and "
        "full_step_exact were not computed",
    }  # fmt: skip
    assert not DENSE_KEYS & set(below.arrays)
    assert below.spec["margins"]["x_exact_amplification"] is None


def test_a_step_that_stops_before_cg_has_zero_iterations_and_empty_search_arrays():
    """All advantages 0 (g = 0): no CG, no line search. The result says so: cg_status
    ``not_run``, 0 iterations, residual ‖g‖ = 0 of x = 0, float64 line-search arrays of shape
    (0,), ``ls_accepted`` = −1, θ unchanged, no margin, well-posed."""
    case = small_case()
    zero = with_arrays(case, advantages=np.zeros_like(case.arrays["advantages"]))
    res = run_case(zero)
    assert (res.spec["status"], res.spec["success"], res.spec["cg_status"]) == (
        "zero_advantages", False, "not_run",
    )  # fmt: skip
    a = res.arrays
    assert a["cg_iterations"].dtype == np.int64 and int(a["cg_iterations"]) == 0
    assert a["cg_residual"].shape == () and float(a["cg_residual"]) == 0.0
    for key in ("ls_fractions", "ls_kl", "ls_improvement"):
        assert a[key].dtype == np.float64 and a[key].shape == (0,), key
    assert a["ls_accepted"].dtype == np.int64 and int(a["ls_accepted"]) == -1
    np.testing.assert_array_equal(a["x"], 0.0)
    np.testing.assert_array_equal(a["theta_new"], case.arrays["theta"])
    assert res.spec["margins"] == dict.fromkeys(
        ("cg", "line_search", "x_amplification", "x_exact_amplification")
    )
    assert res.spec["well_posed"] is True


@pytest.mark.parametrize("damping", [0.1, 0.0])
def test_x_exact_amplification_is_the_documented_congruence_probe(damping):
    """x_exact_amplification = ‖x*(T F Tᵀ, T g) − x*(F, g)‖ / ‖x*(F, g)‖ / ε with
    T = I + ε(S + Sᵀ)/(2√P), S the rng's next P×P standard normals, ε = 1e-12 (run.py's
    docstring); recomputed here from that formula, on F = BBᵀ (singular when damping = 0)."""
    rng = np.random.default_rng(3)
    P = 6
    B = rng.standard_normal((P, P - 2 if damping == 0 else P))
    F, g = B @ B.T, B @ rng.standard_normal(B.shape[1])  # g in F's range
    spec = {"delta": 0.01, "damping": damping}
    got = oracle_run._x_exact_amplification(spec, F, g, np.random.default_rng(7))
    S = np.random.default_rng(7).standard_normal((P, P))
    T = np.eye(P) + 1e-12 * (S + S.T) / (2 * np.sqrt(P))
    x1, _, _ = dense_natural_step(F, g, damping=damping)
    x2, _, _ = dense_natural_step(T @ F @ T.T, T @ g, damping=damping)
    want = np.linalg.norm(x2 - x1) / np.linalg.norm(x1) / 1e-12
    assert got == pytest.approx(want, rel=1e-12)


def test_dense_limit_zero_is_accepted_and_skips_the_dense_part():
    """dense_limit = 0 is allowed (>= 0): every case then has P > limit, nothing dense."""
    res = run_case(small_case(), dense_limit=0)
    assert res.spec["dense"]["computed"] is False and res.spec["dense"]["limit"] == 0
    assert not DENSE_KEYS & set(res.arrays)


def test_cg_margin_is_none_when_cg_has_no_stopping_test():
    """cg_tol = 0: CG runs its cg_iters iterations and no rᵀr < tol test decides anything, so
    the ``cg`` margin is None (not a division by 0) while x's amplification is still measured."""
    res = run_case(small_case(cg_tol=0.0))
    assert res.spec["cg_status"] == "maxiter"
    assert res.spec["margins"]["cg"] is None
    assert res.spec["margins"]["x_amplification"] > 0


@pytest.mark.parametrize("tol", [1e-14, 1e-6])
def test_cg_margin_is_the_closest_stopping_test_at_the_cases_tolerance(tol):
    """margins["cg"] = min over k = 0..K of |r_kᵀr_k − tol|/tol, r_k = g − A·x_k the true
    residual of CG's k-th iterate under the case's own tol (K = cg_iterations, A = F + λI);
    with tol = 1e-14, far below CG's default 1e-10, the last iterates decide it."""
    case = small_case(cg_tol=tol, cg_iters=40)
    res = run_case(case)
    c = validate_case(case)
    F_op, lam = c.policy.fisher_operator(c.theta, c.obs), case.spec["damping"]

    def A(v):
        return F_op(v) + lam * v

    g, K = res.arrays["g"], int(res.arrays["cg_iterations"])
    assert res.spec["cg_status"] == "converged"
    xs = [conjugate_gradient(A, g, maxiter=k, tol=tol).x for k in range(1, K + 1)]
    rr = [float(g @ g)] + [float(np.sum((g - A(x)) ** 2)) for x in xs]
    assert res.spec["margins"]["cg"] == pytest.approx(min(abs(v - tol) / tol for v in rr), rel=1e-9)


@pytest.mark.parametrize("problem", ["2I", "spd"])
def test_x_amplification_is_the_documented_noisy_cg_rerun(problem):
    """x_amplification = max over 3 CG reruns of ‖x' − x‖/‖x‖/ε, each rerun with g and every
    product A·v multiplied element-wise by 1 + ε·N(0, 1) (g's noise drawn first), ε = 1e-12;
    recomputed here from that definition. On A = 2I the value is below 1 (it starts at 0)."""
    rng = np.random.default_rng(4)
    if problem == "2I":
        M, g = 2.0 * np.eye(4), np.array([1.0, -2.0, 0.5, 3.0])
    else:
        B = rng.standard_normal((5, 5))
        M, g = B @ B.T + 0.1 * np.eye(5), rng.standard_normal(5)

    def A(v):
        return M @ v

    spec = {"cg_iters": 10, "cg_tol": 1e-10}
    cg = conjugate_gradient(A, g, maxiter=10, tol=1e-10)
    step = SimpleNamespace(cg=cg, x=cg.x)
    got = oracle_run._x_amplification(spec, A, g, step, np.random.default_rng(0))
    noise = np.random.default_rng(0)
    want = 0.0
    for _ in range(3):
        b = g * (1.0 + 1e-12 * noise.standard_normal(g.shape))
        cg2 = conjugate_gradient(
            lambda v: A(v) * (1.0 + 1e-12 * noise.standard_normal(v.shape)), b, maxiter=10,
            tol=1e-10,
        )  # fmt: skip
        assert cg2.iterations == cg.iterations
        want = max(want, np.linalg.norm(cg2.x - cg.x) / np.linalg.norm(cg.x) / 1e-12)
    assert got == pytest.approx(want, rel=1e-12)
    if problem == "2I":
        assert got < 1.0


def test_relative_change_of_a_zero_vector_is_zero_or_infinite():
    """‖x' − x‖/‖x‖, with x = 0 (CG stopped at its first iterate): 0 if x' = 0 too (nothing
    moved), inf if x' ≠ 0; otherwise the plain ratio (also for ‖x‖ = 1)."""
    zero, e1 = np.zeros(3), np.array([1.0, 0.0, 0.0])
    assert oracle_run._relative_change(zero, zero) == 0.0
    assert oracle_run._relative_change(e1, zero) == math.inf
    assert oracle_run._relative_change(np.array([1.0, 0.5, 0.0]), e1) == 0.5
    assert oracle_run._relative_change(e1, 2 * e1) == 0.5


@pytest.mark.parametrize(("kl", "imp"), [(0.001, math.nan), (math.nan, 0.5), (math.inf, 0.5),
                                         (0.001, -math.inf)])  # fmt: skip
def test_a_trial_with_a_non_finite_kl_or_improvement_has_an_infinite_margin(kl, imp):
    """A trial whose KL or improvement is NaN/inf (an overflowing trial) is rejected whatever
    another implementation's rounding: its margin is inf, never NaN (which would make the case
    look ill-posed)."""
    spec = {"accept": "kl_and_improve", "delta": 0.01}
    assert oracle_run._trial_margin(spec, 1.0, kl, imp, 1.0) == math.inf


def test_well_posed_flags_a_margin_at_the_threshold_but_not_an_amplification_at_it():
    """A decision margin within DECISION_MARGIN (equal included) is flagged; an amplification
    is flagged only above MAX_AMPLIFICATION (equal is still well-posed); None is never flagged."""
    safe = {"cg": 1.0, "line_search": 1.0, "x_amplification": 1.0, "x_exact_amplification": 1.0}
    assert oracle_run._well_posed(safe)
    assert oracle_run._well_posed(dict.fromkeys(safe))
    for key in ("cg", "line_search"):
        assert not oracle_run._well_posed({**safe, key: oracle_run.DECISION_MARGIN})
        assert oracle_run._well_posed({**safe, key: 2 * oracle_run.DECISION_MARGIN})
        assert oracle_run._well_posed({**safe, key: None})
    for key in ("x_amplification", "x_exact_amplification"):
        assert oracle_run._well_posed({**safe, key: oracle_run.MAX_AMPLIFICATION})
        assert not oracle_run._well_posed({**safe, key: 2 * oracle_run.MAX_AMPLIFICATION})


# ---------------------------------------------------------------------------- check.py
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
