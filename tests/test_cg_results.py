"""npytrpo.cg's result in every status: fields, counts and messages; overflow inside the recurrence;
the strict stopping test; float64 products.

Small systems whose recurrence is exact in binary floating point, so that each expected number
is derived by hand in the test's docstring. (test_cg.py judges the solutions against SciPy.)
"""

import warnings

import numpy as np
import pytest

from npytrpo.cg import (
    CONVERGED,
    MAXITER,
    NONFINITE,
    NONPOSITIVE_CURVATURE,
    conjugate_gradient,
)


def quiet_cg(matvec, b, **kw):
    """CG with every warning an error: overflow handling must not warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return conjugate_gradient(matvec, b, **kw)


@pytest.mark.parametrize("x0", [None, np.ones(4)])
def test_overflow_in_the_update_returns_last_finite_iterate(x0):
    """An x/r update that overflows (A = 1e-200·I, b = 1e150·𝟙) is NONFINITE with a finite x.

    Every product is finite here (A p = 1e-50·𝟙, pᵀAp = 4e100) but α = rᵀr / pᵀAp = 1e200, so
    x₁ = α p = 1e350 overflows while r₁ = b − α A p is exactly 0: only the check on x₁ keeps
    CG from reporting convergence at an infinite x. The last finite iterate is x₀ (0 or x0).
    """
    b = np.full(4, 1e150)
    res = quiet_cg(lambda v: 1e-200 * v, b, x0=x0)
    assert res.status == NONFINITE and res.converged is False
    assert res.iterations == 0 and res.nmatvec == (1 if x0 is None else 2)
    np.testing.assert_array_equal(res.x, np.zeros(4) if x0 is None else x0)
    assert res.residual_norm == pytest.approx(2e150, rel=1e-15)  # ‖r₀‖ = ‖b − 1e-200·x0‖
    np.testing.assert_array_equal(res.residual, b - 1e-200 * res.x)  # r₀ of the x returned


def test_overflow_in_the_curvature_returns_last_finite_iterate():
    """A = 1e200·I, b = 1e100·𝟙₂: A p = 1e300·𝟙 is finite but pᵀAp = 2e400 overflows.

    NONFINITE at iteration 0 after one product, x = 0, ‖r₀‖ = ‖b‖ = √2·1e100, no warning.
    """
    b = np.full(2, 1e100)
    res = quiet_cg(lambda v: 1e200 * v, b)
    assert res.status == NONFINITE and res.converged is False
    assert res.iterations == 0 and res.nmatvec == 1
    np.testing.assert_array_equal(res.x, np.zeros(2))
    assert res.residual_norm == pytest.approx(np.sqrt(2) * 1e100, rel=1e-15)
    assert "non-finite" in res.message and "iteration 0" in res.message


def test_infinite_step_length_gives_nan_free_nonfinite_result():
    """A = 1e-310·I (subnormal), b = (1, 0): pᵀAp = 1e-310 makes α = 1/1e-310 = inf, and
    α·p = (inf, inf·0 = NaN): NONFINITE at iteration 0, x = 0, ‖r₀‖ = 1, no warning."""
    res = quiet_cg(lambda v: 1e-310 * v, np.array([1.0, 0.0]))
    assert res.status == NONFINITE and res.iterations == 0 and res.nmatvec == 1
    np.testing.assert_array_equal(res.x, np.zeros(2))
    assert res.residual_norm == 1.0


def test_stopping_test_is_strict():
    """CG stops when rᵀr < tol, not at equality: A = diag(1, 3), b = (1, 1).

    r₀ᵀr₀ = 2; α₀ = 2/4, r₁ = (½, −½), r₁ᵀr₁ = ½ exactly. tol = 2 does not stop at 0, tol = ½
    does not stop at 1 (the second step solves the 2×2 system); tol just above ½ stops at 1.
    """
    A, b = np.diag([1.0, 3.0]), np.ones(2)
    assert quiet_cg(lambda v: A @ v, b, tol=2.0).iterations >= 1
    at_half = quiet_cg(lambda v: A @ v, b, tol=0.5)
    assert at_half.iterations == 2 and at_half.status == CONVERGED
    above = quiet_cg(lambda v: A @ v, b, tol=np.nextafter(0.5, 1.0))
    assert above.iterations == 1 and above.residual_norm == np.sqrt(0.5)
    np.testing.assert_array_equal(above.x, [0.5, 0.5])


def test_exactly_zero_residual_converges_with_tol_zero():
    """A = 2I, b = 𝟙: α = ½ gives r₁ = 0 exactly; with tol = 0 that is convergence, said so."""
    res = quiet_cg(lambda v: 2.0 * v, np.ones(4), tol=0.0)
    assert res.status == CONVERGED and res.converged is True
    assert res.iterations == 1 and res.nmatvec == 1 and res.residual_norm == 0.0
    np.testing.assert_array_equal(res.x, np.full(4, 0.5))
    assert "exactly zero" in res.message


def status_cases():
    """(matvec, b, kwargs, status) reaching each status."""
    A = np.diag([1.0, 3.0])
    return [
        (lambda v: A @ v, np.ones(2), {"tol": 1e-20}, CONVERGED),
        (lambda v: A @ v, np.ones(2), {"maxiter": 1, "tol": 1e-20}, MAXITER),
        (lambda v: -v, np.ones(2), {}, NONPOSITIVE_CURVATURE),
        (lambda v: 1e200 * v, np.full(2, 1e100), {}, NONFINITE),
        (lambda v: np.full_like(v, np.nan), np.ones(2), {}, NONFINITE),
    ]


@pytest.mark.parametrize("case", range(5))
def test_result_fields_have_their_types_in_every_status(case):
    """converged is a bool equal to (status == CONVERGED); residual_norm a finite float, the norm
    of the residual vector; the message names the outcome; nmatvec counts the calls to matvec."""
    matvec, b, kw, status = status_cases()[case]
    calls = []
    res = quiet_cg(lambda v: calls.append(1) or matvec(v), b, **kw)
    assert res.status == status
    assert type(res.converged) is bool and res.converged == (status == CONVERGED)
    assert type(res.residual_norm) is float and np.isfinite(res.residual_norm)
    assert type(res.iterations) is int and type(res.nmatvec) is int
    assert res.nmatvec == len(calls)
    # the residual the recurrence tracks, in every status: the vector residual_norm measures
    r = res.residual
    assert isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == b.shape
    assert res.residual_norm == float(np.sqrt(np.dot(r, r)))
    word = {
        CONVERGED: "converged in",
        MAXITER: "maxiter",
        NONPOSITIVE_CURVATURE: "non-positive curvature",
        NONFINITE: "non-finite",
    }[status]
    assert isinstance(res.message, str) and word in res.message


def test_message_of_a_converged_run_gives_the_residual_and_tol():
    """A run stopped by rᵀr < tol (not exactly 0) reports both numbers, not "exactly zero"."""
    res = quiet_cg(lambda v: np.diag([1.0, 3.0]) @ v, np.ones(2), tol=0.6)
    assert res.iterations == 1
    assert "5.000e-01" in res.message and "6.000e-01" in res.message
    assert "exactly zero" not in res.message


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_products_are_used_in_float64(dtype):
    """A matvec returning float32 or integers gives the same bits as returning those values as
    float64: the recurrence runs in float64 whatever the product's dtype."""
    A = np.array([[4.0, 1.0], [1.0, 3.0]])
    b = np.array([0.1, 0.7])  # not dyadic: α·A p is not exact in float32

    def low(v):
        return (A @ v).astype(dtype)

    res = quiet_cg(low, b, tol=1e-30, maxiter=2)
    ref = quiet_cg(lambda v: low(v).astype(np.float64), b, tol=1e-30, maxiter=2)
    assert res.x.dtype == np.float64
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.residual_norm == ref.residual_norm
