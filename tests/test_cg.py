"""Tests of npytrpo.cg: conjugate gradient judged against SciPy's dense solvers."""

import dataclasses
import re
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    bad_dtypes_for_real_array,
    bad_kinds_for_int,
    bad_kinds_for_real,
    negative_floats,
    non_finite_floats,
)

from npytrpo.cg import (
    CONVERGED,
    MAXITER,
    NONFINITE,
    NONPOSITIVE_CURVATURE,
    CGResult,
    conjugate_gradient,
)

EPS = np.finfo(np.float64).eps

# Relative tolerance on the recurrence residual, ‖r‖ < REL_RESIDUAL·‖b‖, i.e.
# tol = REL_RESIDUAL²·‖b‖². The recurrence residual (which tol tests) keeps shrinking even
# below the true residual's attainable accuracy ≈ eps·cond·‖b‖, so CG reaches it; within
# maxiter = 10·n here (observed ≤ 6·n at cond = 1e6, n ≤ 40, where orthogonality is lost).
REL_RESIDUAL = 1e-10
# Greenbaum (1997): after k steps the recurrence residual and the true residual b − A x_k
# differ by at most about k·γ_n·(‖b‖ + ‖A‖·max_j ‖x_j‖), with γ_n ≈ (n + 2)·eps for the dense
# product and the update. The bound used is RESIDUAL_GAP_FACTOR times that; observed
# gap / bound ≤ 0.3.
RESIDUAL_GAP_FACTOR = 1.0
# Rounding floor when comparing a CG solution with a dense one, as a multiple of: SciPy's
# solve error n·eps·cond·‖x*‖, and the error n·eps·(‖b‖ + ‖A‖‖x‖) of evaluating b − A x.
DENSE_SOLVE_FACTOR = 1.0
# On a singular system, rounding pushes components into null(A) that CG never removes; they
# grow like (k + n)·eps·cond⁺·‖x⁺‖ (k recurrence steps, n for the dense products and pinvh).
# Observed ratios ≤ 0.8; the factor 10 is margin.
SINGULAR_DRIFT_FACTOR = 10.0
# A few iterations of CG are far from converged on these systems, so the recurrence residual
# agrees with the true residual to within rounding on the scale of ‖b‖.
SHORT_RUN_RTOL = 1e-10


def spd_system(seed: int, n: int, eigs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = Q diag(eigs) Qᵀ with Q from the QR of a Gaussian matrix, and a Gaussian b."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * eigs) @ Q.T
    A = 0.5 * (A + A.T)  # exactly symmetric
    return A, rng.standard_normal(n)


def counted(A: np.ndarray) -> tuple[list[int], object]:
    """A matvec v ↦ A v that counts its calls in a one-element list."""
    calls = [0]

    def matvec(v: np.ndarray) -> np.ndarray:
        calls[0] += 1
        return A @ v

    return calls, matvec


seeds = st.integers(0, 2**32 - 1)


@given(seed=seeds, n=st.integers(1, 40), log_cond=st.floats(0.0, 6.0))
def test_matches_scipy_solve_on_spd_systems(seed, n, log_cond):
    """On SPD systems (cond ≤ 1e6) CG's true residual and error obey the bounds from tol."""
    eigs = np.logspace(0.0, log_cond, n)  # λ_min = 1, λ_max = cond
    A, b = spd_system(seed, n, eigs)
    tol = (REL_RESIDUAL * np.linalg.norm(b)) ** 2
    x_norms = []
    res = conjugate_gradient(
        lambda v: A @ v,
        b,
        maxiter=10 * n,
        tol=tol,
        callback=lambda x: x_norms.append(np.linalg.norm(x)),
    )
    assert res.converged and res.status == CONVERGED and res.success
    assert res.residual_norm**2 < tol

    norm_A, lam_min, cond = eigs[-1], eigs[0], eigs[-1] / eigs[0]
    k, b_norm = res.iterations, np.linalg.norm(b)
    gap = RESIDUAL_GAP_FACTOR * k * (n + 2) * EPS * (b_norm + norm_A * max(x_norms))
    true_residual = np.linalg.norm(b - A @ res.x)
    assert true_residual <= np.sqrt(tol) + gap

    # ‖x − x*‖ = ‖A⁻¹(b − A x)‖ ≤ ‖b − A x‖ / λ_min, plus the rounding of both solvers.
    x_star = scipy.linalg.solve(A, b, assume_a="pos")
    floor = DENSE_SOLVE_FACTOR * n * EPS * (b_norm + norm_A * np.linalg.norm(res.x))
    bound = (true_residual + floor) / lam_min
    bound += DENSE_SOLVE_FACTOR * n * EPS * cond * np.linalg.norm(x_star)
    assert np.linalg.norm(res.x - x_star) <= bound


@given(
    seed=seeds, n=st.integers(1, 40), log_cond=st.floats(0.0, 6.0), maxiter=st.integers(1, 40),
    warm=st.booleans(),
)
def test_residual_is_the_recurrences_and_b_minus_it_is_ax(seed, n, log_cond, maxiter, warm):
    """``residual`` is the r whose norm ``residual_norm`` reports (a copy, never b itself),
    and b − r is A x within Greenbaum's gap (above), so xᵀ(b − r) is xᵀAx within ‖x‖ times it:
    what ``TRPOConfig(xax="residual")`` relies on, whatever the conditioning."""
    eigs = np.logspace(0.0, log_cond, n)
    A, b = spd_system(seed, n, eigs)
    x0 = np.random.default_rng(seed + 1).standard_normal(n) if warm else None
    x_norms = [0.0 if x0 is None else np.linalg.norm(x0)]
    res = conjugate_gradient(
        lambda v: A @ v, b, maxiter=maxiter, tol=0.0, x0=x0,
        callback=lambda x: x_norms.append(np.linalg.norm(x)),
    )  # fmt: skip
    r = res.residual
    assert r.shape == b.shape and r.dtype == np.float64 and not np.shares_memory(r, b)
    assert res.residual_norm == float(np.sqrt(np.dot(r, r)))
    steps = res.iterations + (x0 is not None)  # the warm start's b − A x₀ is one more rounding
    scale = np.linalg.norm(b) + eigs[-1] * max(x_norms)
    gap = RESIDUAL_GAP_FACTOR * steps * (n + 2) * EPS * scale
    assert np.linalg.norm(b - A @ res.x - r) <= gap
    xAx = res.x @ A @ res.x
    assert abs(res.x @ (b - r) - xAx) <= np.linalg.norm(res.x) * gap + n * EPS * abs(xAx)


@given(seed=seeds, n=st.integers(1, 40), log_cond=st.floats(0.0, 1.0))
def test_at_most_n_iterations_when_well_conditioned(seed, n, log_cond):
    """With cond ≤ 10, CG reaches ‖r‖ < 1e-10‖b‖ within n iterations (finite termination)."""
    A, b = spd_system(seed, n, np.logspace(0.0, log_cond, n))
    res = conjugate_gradient(
        lambda v: A @ v, b, maxiter=n, tol=(REL_RESIDUAL * np.linalg.norm(b)) ** 2
    )
    assert res.converged
    assert res.iterations <= n


@given(seed=seeds, n=st.integers(1, 40), data=st.data())
def test_at_most_k_iterations_with_k_distinct_eigenvalues(seed, n, data):
    """With k distinct eigenvalues CG converges within k iterations."""
    k = data.draw(st.integers(1, min(n, 6)), label="k")
    values = data.draw(
        st.lists(st.integers(1, 10), min_size=k, max_size=k, unique=True), label="values"
    )
    rng = np.random.default_rng(seed)
    multiplicity = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    A, b = spd_system(seed, n, np.asarray(values, dtype=float)[multiplicity])
    res = conjugate_gradient(
        lambda v: A @ v, b, maxiter=k, tol=(REL_RESIDUAL * np.linalg.norm(b)) ** 2
    )
    assert res.converged
    assert res.iterations <= k


@given(seed=seeds, n=st.integers(2, 40), data=st.data())
def test_singular_consistent_system_gives_minimum_norm_solution(seed, n, data):
    """On A = B Bᵀ of rank r < n with b in range(A), CG from 0 reaches pinvh(A) b."""
    r = data.draw(st.integers(1, n - 1), label="rank")
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, r))
    A = B @ B.T
    b = B @ rng.standard_normal(r)  # in range(B) = range(A), up to rounding of ‖b‖
    res = conjugate_gradient(
        lambda v: A @ v, b, maxiter=10 * n, tol=(REL_RESIDUAL * np.linalg.norm(b)) ** 2
    )
    assert res.converged

    x_plus = scipy.linalg.pinvh(A) @ b
    w = np.linalg.eigvalsh(A)
    lam_plus, cond_plus = w[-r], w[-1] / w[-r]  # smallest positive eigenvalue, its condition
    true_residual = np.linalg.norm(b - A @ res.x)
    drift = SINGULAR_DRIFT_FACTOR * (res.iterations + n) * EPS * cond_plus * np.linalg.norm(x_plus)
    assert np.linalg.norm(res.x - x_plus) <= true_residual / lam_plus + drift


def test_zero_rhs_returns_zero_at_once():
    """b = 0 gives x = 0, zero iterations, converged, no matvec call, and says so."""
    calls, matvec = counted(np.eye(3))
    res = conjugate_gradient(matvec, np.zeros(3), x0=np.ones(3))
    assert res.converged and res.status == CONVERGED
    assert res.iterations == 0 and res.nmatvec == 0 and calls[0] == 0
    np.testing.assert_array_equal(res.x, np.zeros(3))
    assert res.residual_norm == 0.0
    np.testing.assert_array_equal(res.residual, np.zeros(3))
    assert "b = 0" in res.message


def test_negative_definite_stops_before_first_step():
    """Negative-definite A: status NONPOSITIVE_CURVATURE at iteration 0 with x = 0."""
    A, b = spd_system(0, 5, -np.logspace(0, 2, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = conjugate_gradient(lambda v: A @ v, b)
    assert res.status == NONPOSITIVE_CURVATURE and not res.converged and not res.success
    assert res.iterations == 0 and res.nmatvec == 1
    np.testing.assert_array_equal(res.x, np.zeros(5))


def test_indefinite_stops_at_negative_curvature_direction():
    """diag(1, −1), b = (2, 1): p₁ᵀAp₁ < 0, so CG returns x₁ = (10/3, 5/3) after one step."""
    A = np.diag([1.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = conjugate_gradient(lambda v: A @ v, np.array([2.0, 1.0]))
    assert res.status == NONPOSITIVE_CURVATURE and not res.converged
    assert res.iterations == 1 and res.nmatvec == 2
    np.testing.assert_allclose(res.x, [10.0 / 3.0, 5.0 / 3.0], rtol=4 * EPS)
    np.testing.assert_allclose(res.residual_norm, np.sqrt(80.0) / 3.0, rtol=4 * EPS)


@given(seed=seeds, n=st.integers(2, 20), n_neg=st.integers(1, 19))
def test_indefinite_never_gives_nan_or_warning(seed, n, n_neg):
    """Indefinite A: CG returns a finite x, without a warning, either converged or stopped."""
    n_neg = min(n_neg, n - 1)
    eigs = np.logspace(0, 2, n) * np.where(np.arange(n) < n_neg, -1.0, 1.0)
    A, b = spd_system(seed, n, eigs)
    iterates = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = conjugate_gradient(
            lambda v: A @ v, b, maxiter=5 * n, tol=1e-20, callback=iterates.append
        )
    assert np.isfinite(res.x).all()
    assert res.status in (CONVERGED, NONPOSITIVE_CURVATURE, MAXITER)
    if res.status == NONPOSITIVE_CURVATURE:
        expected = iterates[-1] if iterates else np.zeros(n)
        np.testing.assert_array_equal(res.x, expected)  # the iterate before the bad direction


def test_zero_matrix_is_nonpositive_curvature():
    """A = 0 with b ≠ 0 stops with NONPOSITIVE_CURVATURE and x = 0."""
    res = conjugate_gradient(lambda v: np.zeros_like(v), np.ones(4))
    assert res.status == NONPOSITIVE_CURVATURE and not res.converged
    assert res.iterations == 0
    np.testing.assert_array_equal(res.x, np.zeros(4))
    assert res.residual_norm == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fail_at", [1, 3])
def test_nonfinite_matvec_returns_last_finite_iterate(bad, fail_at):
    """A non-finite A v on call `fail_at` gives status NONFINITE and the last finite x."""
    A, b = spd_system(1, 8, np.logspace(0, 3, 8))
    calls = [0]

    def matvec(v):
        calls[0] += 1
        out = A @ v
        if calls[0] == fail_at:
            out[2] = bad
        return out

    iterates = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = conjugate_gradient(matvec, b, maxiter=20, callback=iterates.append)
    assert res.status == NONFINITE and not res.converged
    assert res.iterations == fail_at - 1 == len(iterates)
    assert np.isfinite(res.x).all()
    expected = iterates[-1] if iterates else np.zeros(8)
    np.testing.assert_array_equal(res.x, expected)


def test_nonfinite_matvec_at_x0_returns_x0():
    """A non-finite A x₀ gives status NONFINITE, zero iterations and x = x₀."""
    x0 = np.arange(3.0)
    res = conjugate_gradient(lambda v: np.full_like(v, np.nan), np.ones(3), x0=x0)
    assert res.status == NONFINITE and res.iterations == 0 and res.nmatvec == 1
    np.testing.assert_array_equal(res.x, x0)
    assert res.residual.shape == (3,) and np.isnan(res.residual).all()  # b − A x₀ is unknown


def test_maxiter_exhausted():
    """Running out of iterations: converged False, status MAXITER, message gives rᵀr and tol."""
    A, b = spd_system(2, 30, np.logspace(0, 4, 30))
    res = conjugate_gradient(lambda v: A @ v, b, maxiter=3, tol=1e-12)
    assert res.status == MAXITER and not res.converged and not res.success
    assert res.iterations == 3
    assert f"{res.residual_norm**2:.3e}" in res.message and "1.000e-12" in res.message
    np.testing.assert_allclose(
        res.residual_norm, np.linalg.norm(b - A @ res.x), rtol=SHORT_RUN_RTOL
    )


@given(seed=seeds, n=st.integers(1, 30), scale=st.floats(0.0, 10.0))
def test_warm_start_reaches_same_solution(seed, n, scale):
    """Starting from x₀ reaches the same solution as starting from zero."""
    eigs = np.logspace(0, 2, n)
    A, b = spd_system(seed, n, eigs)
    tol = (REL_RESIDUAL * np.linalg.norm(b)) ** 2
    x0 = scale * np.random.default_rng(seed + 1).standard_normal(n)
    cold = conjugate_gradient(lambda v: A @ v, b, maxiter=10 * n, tol=tol)
    warm = conjugate_gradient(lambda v: A @ v, b, maxiter=10 * n, tol=tol, x0=x0)
    assert cold.converged and warm.converged
    # Both residuals are ~ REL_RESIDUAL·‖b‖ (plus drift ~ n·eps·‖A‖‖x‖), so x differs by
    # at most their sum over λ_min = 1.
    drift = 10 * n * n * EPS * eigs[-1] * (np.linalg.norm(cold.x) + np.linalg.norm(x0))
    assert np.linalg.norm(warm.x - cold.x) <= 2 * np.sqrt(tol) + drift


def test_warm_start_at_solution_needs_no_iteration():
    """x₀ = A⁻¹b exactly (diagonal A) converges with zero iterations and one matvec."""
    d = np.array([1.0, 2.0, 4.0])
    res = conjugate_gradient(lambda v: d * v, d * 3.0, x0=np.full(3, 3.0), tol=0.0)
    assert res.converged and res.iterations == 0 and res.nmatvec == 1
    np.testing.assert_array_equal(res.x, np.full(3, 3.0))
    np.testing.assert_array_equal(res.residual, np.zeros(3))  # r₀ = b − A x₀ = 0 exactly
    res = conjugate_gradient(lambda v: d * v, d * 3.0, tol=1e3)  # rᵀr = 189 < tol from x = 0
    assert res.converged and res.iterations == 0 and res.nmatvec == 0
    np.testing.assert_array_equal(res.residual, d * 3.0)  # r₀ = b


@pytest.mark.parametrize("use_x0", [False, True])
@pytest.mark.parametrize("maxiter", [1, 4, 100])
def test_matvec_and_callback_counts(use_x0, maxiter):
    """matvec is called `iterations` times (+1 with x₀) and callback `iterations` times."""
    A, b = spd_system(3, 12, np.logspace(0, 3, 12))
    calls, matvec = counted(A)
    seen = []
    x0 = np.ones(12) if use_x0 else None
    res = conjugate_gradient(matvec, b, maxiter=maxiter, tol=1e-16, x0=x0, callback=seen.append)
    assert res.status in (CONVERGED, MAXITER)
    assert calls[0] == res.iterations + int(use_x0) == res.nmatvec
    assert len(seen) == res.iterations
    np.testing.assert_array_equal(seen[-1], res.x)


def test_defaults_follow_design():
    """Defaults are maxiter = 10 and tol = 1e-10 on rᵀr (DESIGN.md)."""
    A, b = spd_system(4, 50, np.logspace(0, 5, 50))
    res = conjugate_gradient(lambda v: A @ v, b)
    assert res.iterations == 10 and res.status == MAXITER
    assert "1.000e-10" in res.message


def test_result_is_frozen_and_success_aliases_converged():
    """CGResult is immutable and `success` equals `converged`."""
    res = conjugate_gradient(lambda v: 2.0 * v, np.ones(2))
    assert isinstance(res, CGResult) and res.success is res.converged is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.x = np.zeros(2)


def test_status_codes_are_distinct():
    """The four status constants are distinct integers."""
    codes = {CONVERGED, MAXITER, NONPOSITIVE_CURVATURE, NONFINITE}
    assert len(codes) == 4 and all(isinstance(c, int) for c in codes)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"maxiter": 0}, ValueError, "maxiter"),
        ({"maxiter": -3}, ValueError, "maxiter"),
        ({"maxiter": 2.5}, TypeError, "maxiter"),
        ({"maxiter": True}, TypeError, "maxiter"),
        ({"tol": -1e-3}, ValueError, "tol"),
        ({"tol": np.nan}, ValueError, "tol"),
        ({"tol": "small"}, TypeError, "tol"),
        ({"b": np.ones((2, 2))}, ValueError, "b must be 1-D"),
        ({"b": np.array([1.0, np.nan])}, ValueError, "b must be finite"),
        ({"b": np.array([1.0, np.inf])}, ValueError, "b must be finite"),
        ({"b": np.array([1 + 1j, 2])}, TypeError, "b must be"),
        ({"b": np.array(["a", "b"])}, TypeError, "b must be"),
        ({"x0": np.ones(3)}, ValueError, "x0"),
        ({"x0": np.array([np.nan, 0.0])}, ValueError, "x0"),
        ({"matvec": "A"}, TypeError, "matvec"),
        ({"matvec": lambda v: np.ones(3)}, ValueError, "matvec"),
        ({"callback": 3}, TypeError, "callback"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, error, match):
    """Invalid input raises ValueError/TypeError whose message names the argument."""
    args = {"matvec": lambda v: v, "b": np.ones(2), **kwargs}
    matvec, b = args.pop("matvec"), args.pop("b")
    with pytest.raises(error, match=match):
        conjugate_gradient(matvec, b, **args)


def test_integer_b_is_accepted_as_float():
    """An integer b is converted to float64 and solved."""
    res = conjugate_gradient(lambda v: 2.0 * v, np.array([2, 4]))
    assert res.converged and res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, [1.0, 2.0])


def _solve(**kwargs):
    """conjugate_gradient on the identity 2x2 system, with ``kwargs`` overriding arguments."""
    args = {"matvec": lambda v: v, "b": np.ones(2), **kwargs}
    return conjugate_gradient(args.pop("matvec"), args.pop("b"), **args)


@given(bad=bad_kinds_for_int())
def test_maxiter_of_the_wrong_kind_raises_type_error(bad):
    """A float (even 2.0), a bool or a non-number as maxiter is TypeError naming it and value."""
    with pytest.raises(TypeError, match="^maxiter must be an int, got ") as info:
        _solve(maxiter=bad)
    assert repr(bad) in str(info.value)


@given(bad=st.integers(max_value=0))
def test_maxiter_below_one_raises_value_error(bad):
    """An int maxiter < 1 is ValueError naming maxiter and the value."""
    with pytest.raises(ValueError, match=f"^maxiter must be >= 1, got {bad}$"):
        _solve(maxiter=bad)


@given(bad=bad_kinds_for_real())
def test_tol_of_the_wrong_kind_raises_type_error(bad):
    """A bool, str, complex or container as tol is TypeError naming tol and the value."""
    with pytest.raises(TypeError, match="^tol must be a real number, got ") as info:
        _solve(tol=bad)
    assert repr(bad) in str(info.value)


@given(bad=st.one_of(non_finite_floats, negative_floats))
def test_tol_negative_or_non_finite_raises_value_error(bad):
    """A negative, NaN or infinite tol is ValueError naming tol and the value."""
    with pytest.raises(ValueError, match="^tol must be ") as info:
        _solve(tol=bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("name", ["b", "x0"])
@given(dtype=bad_dtypes_for_real_array())
def test_vectors_of_a_non_real_dtype_raise_type_error(name, dtype):
    """b or x0 of a complex, str, bytes or datetime dtype is TypeError naming it and the dtype."""
    msg = re.escape(f"{name} must be a real array, got dtype {dtype}")
    with pytest.raises(TypeError, match=f"^{msg}$"):
        _solve(**{name: np.zeros(2, dtype=dtype)})


@pytest.mark.parametrize("name", ["b", "x0"])
@given(bad=non_finite_floats, where=st.integers(0, 1))
def test_vectors_with_non_finite_entries_raise_value_error(name, bad, where):
    """A NaN or ±inf entry in b or x0 is ValueError naming it and counting the bad entries."""
    v = np.ones(2)
    v[where] = bad
    with pytest.raises(ValueError, match=f"^{name} must be finite, got 1 NaN/inf entries$"):
        _solve(**{name: v})


@given(bad=st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)))
def test_non_callable_matvec_and_callback_raise_type_error(bad):
    """A non-callable matvec or callback is TypeError naming it and the value received."""
    with pytest.raises(TypeError, match="^matvec must be callable, got ") as info:
        _solve(matvec=bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(TypeError, match="^callback must be callable or None, got ") as info:
        _solve(callback=bad)
    assert repr(bad) in str(info.value)


def test_unknown_keyword_raises_type_error():
    """A misspelt keyword (maxiters) is TypeError naming it, not silently ignored."""
    with pytest.raises(TypeError, match="maxiters"):
        _solve(maxiters=3)
