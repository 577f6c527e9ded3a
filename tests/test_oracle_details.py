"""Details of the oracle's run (``npytrpo/oracle/run.py``) that decide its numbers and
verdicts, pinned one property at a time (issue 17, mutation testing of ``npytrpo/oracle``):
argument checks and their messages, the result's fields in each branch, the margins'
definitions. The comparison's side is in ``test_oracle_check_details.py``. (Kept out of
``test_oracle.py``, which is over the size limit.)
"""

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import npytrpo
from npytrpo.cg import conjugate_gradient
from npytrpo.closed_form import dense_natural_step
from npytrpo.oracle import (
    OracleData,
    OracleError,
    case_digest,
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


@pytest.mark.parametrize("scale", [1e300, 1e307])
def test_advantages_near_the_float64_limit_give_an_ill_posed_case_without_warnings(scale):
    """Advantages of ±1e300 overflow g·g, gᵀA⁻¹g and the margins' residuals. run_case reports
    the failed step by status, every margin is a number or None (never NaN), and the case is
    not well-posed; no RuntimeWarning escapes (pytest turns npytrpo's into errors)."""
    case = small_case()
    adv = scale * np.sign(case.arrays["advantages"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run_case(OracleData(case.spec, dict(case.arrays, advantages=adv)))
    assert res.spec["success"] is False
    assert res.spec["well_posed"] is False
    for key, value in res.spec["margins"].items():
        assert value is None or value == "Infinity" or math.isfinite(value), (key, value)


def test_guarded_margin_falls_back_on_overflow_invalid_or_nan():
    """_guarded returns the margin itself, or the fallback when its arithmetic overflows, is
    invalid (inf − inf) or gives NaN, without a RuntimeWarning."""
    big = np.array([1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert oracle_run._guarded(lambda: 0.25, 9.0) == 0.25
        assert oracle_run._guarded(lambda: float((big * 10.0)[0]), 9.0) == 9.0
        assert oracle_run._guarded(lambda: float((np.array([np.inf]) - np.inf)[0]), 9.0) == 9.0
        assert oracle_run._guarded(lambda: math.nan, 9.0) == 9.0
        assert oracle_run._guarded(lambda: math.inf, 9.0) == math.inf


def _overflows(*args, **kwargs):
    return float((np.array([1e308]) * 10.0)[0])


@pytest.mark.parametrize(
    ("helper", "key", "fallback"),
    [
        ("_cg_margin", "cg", 0.0),
        ("_trial_margin", "line_search", 0.0),
        ("_x_amplification", "x_amplification", math.inf),
        ("_x_exact_amplification", "x_exact_amplification", math.inf),
    ],
)
def test_each_margin_that_overflows_is_reported_as_its_documented_fallback(
    monkeypatch, helper, key, fallback
):
    """_margins' contract: a margin whose arithmetic overflows is 0.0 for a decision (cg,
    line_search: it may flip) and inf for an amplification; the others keep their values and
    the case is not well-posed. (The helper is replaced by one that overflows.)"""
    case = small_case(cg_tol=1e-10)
    clean = run_case(case).spec["margins"]
    monkeypatch.setattr(oracle_run, helper, _overflows)
    res = run_case(case)
    got = res.spec["margins"]
    assert got[key] == (fallback if fallback == 0.0 else "Infinity")
    assert clean[key] not in (None, got[key])  # the clean case computed a different value
    # x_exact_amplification draws from the generator after the noisy CG reruns, which the
    # stand-in for _x_amplification does not consume: it moves too, the others stay.
    moved = {key} | ({"x_exact_amplification"} if helper == "_x_amplification" else set())
    assert {k: v for k, v in got.items() if k not in moved} == {
        k: v for k, v in clean.items() if k not in moved
    }
    assert res.spec["well_posed"] is False
