"""Tests of npytrpo.closed_form.dense_natural_step on its own: hand-solvable cases, the
degenerate gradient, its dtype and its argument checks (test_trust_region.py judges it against
CG on policies)."""

import math
import warnings

import numpy as np
import pytest

from npytrpo.closed_form import dense_natural_step
from npytrpo.config import TRPOConfig

# Diagonal cases are solved by hand: x_i = g_i / (d_i + λ) exactly up to one division's rounding,
# β and ½βxᵀAβx = δ up to a few roundings of sums of 3 terms: 1e-14 relative is ~50 eps.
RTOL = 1e-14

F_DIAG = np.diag([2.0, 0.5, 4.0])
G = np.array([1.0, -2.0, 0.5])


def test_diagonal_case_is_the_hand_solution_and_lies_on_the_trust_region_boundary():
    """A = diag(d) + λI: x = g/(d+λ), β = √(2δ/gᵀx), step = βx, ½ stepᵀA step = δ."""
    delta, lam = 0.03, 0.25
    x, beta, step = dense_natural_step(F_DIAG, G, delta=delta, damping=lam)
    x_hand = G / (np.diag(F_DIAG) + lam)
    beta_hand = math.sqrt(2.0 * delta / float(G @ x_hand))
    np.testing.assert_allclose(x, x_hand, rtol=RTOL, atol=0)
    assert beta == pytest.approx(beta_hand, rel=RTOL)
    np.testing.assert_allclose(step, beta_hand * x_hand, rtol=RTOL, atol=0)
    A = F_DIAG + lam * np.eye(3)
    assert 0.5 * step @ A @ step == pytest.approx(delta, rel=RTOL)


def test_defaults_are_the_trpo_step_defaults():
    """Without options the ground truth uses the step's own δ and λ (TRPOConfig's defaults)."""
    cfg = TRPOConfig()
    F = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.7]])
    got = dense_natural_step(F, G)
    want = dense_natural_step(F, G, delta=cfg.delta, damping=cfg.damping)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    # and these are what the docstring states (δ = 0.01, λ = 0.1), checked by hand on a diagonal
    x, beta, _ = dense_natural_step(F_DIAG, G)
    np.testing.assert_allclose(x, G / (np.diag(F_DIAG) + 0.1), rtol=RTOL, atol=0)
    assert beta == pytest.approx(math.sqrt(0.02 / float(G @ x)), rel=RTOL)


def test_undamped_singular_fisher_gives_the_minimum_norm_solution():
    """λ = 0 and F singular: x = F⁺g, zero on F's null space (g in F's range)."""
    F = np.diag([2.0, 0.0, 4.0])
    g = np.array([1.0, 0.0, -2.0])
    x, beta, step = dense_natural_step(F, g, delta=0.02, damping=0.0)
    np.testing.assert_allclose(x, [0.5, 0.0, -0.5], rtol=RTOL, atol=1e-300)
    assert beta == pytest.approx(math.sqrt(0.04 / 1.5), rel=RTOL)
    np.testing.assert_allclose(step, beta * x, rtol=RTOL, atol=0)


@pytest.mark.parametrize("damping", [0.0, 0.1])
def test_zero_gradient_is_a_zero_step_with_zero_beta(damping):
    """gᵀA⁻¹g = 0 (g = 0): no direction to move; β = 0.0 and a float64 zero step, no error."""
    g = np.zeros(3)
    x, beta, step = dense_natural_step(F_DIAG, g, delta=0.01, damping=damping)
    assert beta == 0.0 and isinstance(beta, float)
    assert step.shape == (3,) and step.dtype == np.float64
    np.testing.assert_array_equal(step, np.zeros(3))
    np.testing.assert_array_equal(x, np.zeros(3))


def test_gradient_in_the_null_space_of_an_undamped_fisher_is_a_zero_step():
    """λ = 0, g ⟂ range(F): F⁺g = 0, so gᵀx = 0 and the step is zero (β = 0.0)."""
    F = np.diag([2.0, 0.0])
    x, beta, step = dense_natural_step(F, np.array([0.0, 3.0]), damping=0.0)
    assert beta == 0.0
    np.testing.assert_array_equal(x, np.zeros(2))
    np.testing.assert_array_equal(step, np.zeros(2))


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble, np.int64])
@pytest.mark.parametrize("damping", [0.0, 0.1])
def test_inputs_of_any_real_dtype_are_solved_in_float64(dtype, damping):
    """F and g are read as float64: outputs are float64 and equal, bit for bit, to those of
    the inputs cast to float64 first (float32 is not solved in float32, long double not kept)."""
    F = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]]).astype(dtype)
    g = np.array([1.0, -2.0, 3.0]).astype(dtype)
    got = dense_natural_step(F, g, damping=damping)
    want = dense_natural_step(F.astype(np.float64), g.astype(np.float64), damping=damping)
    assert got[0].dtype == np.float64 and got[2].dtype == np.float64
    assert isinstance(got[1], float)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_damped_matrix_that_is_not_positive_definite_is_refused():
    """A = F + λI is solved by Cholesky: an indefinite A (F outside the PSD contract) raises
    LinAlgError instead of returning a 'ground truth' along a negative-curvature direction."""
    F = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1; A = F + 0.1 I indefinite
    with pytest.raises(np.linalg.LinAlgError):
        dense_natural_step(F, np.array([1.0, -2.0]), damping=0.1)


@pytest.mark.parametrize("delta", [0.0, -0.01])
def test_delta_must_be_positive(delta):
    """δ is a radius: 0 and negative values are a ValueError naming delta and the value."""
    with pytest.raises(ValueError, match=rf"^delta must be > 0\.0, got {delta!r}$"):
        dense_natural_step(F_DIAG, G, delta=delta)


def test_damping_may_be_zero_but_not_negative():
    """λ = 0 is allowed (the pseudo-inverse branch); λ < 0 is a ValueError naming damping."""
    dense_natural_step(F_DIAG, G, damping=0.0)
    with pytest.raises(ValueError, match=r"^damping must be >= 0\.0, got -0\.1$"):
        dense_natural_step(F_DIAG, G, damping=-0.1)


@pytest.mark.parametrize(
    "F, g",
    [
        (np.ones((2, 3)), np.ones(2)),  # F not square, g matches its rows
        (np.ones((2, 3)), np.ones(3)),  # F not square, g matches its columns
        (np.ones(3), np.ones(3)),  # F 1-D
        (np.ones((2, 2, 2)), np.ones(2)),  # F 3-D with square leading block
        (np.eye(3), np.ones(2)),  # g of the wrong length
        (np.eye(3), np.ones((3, 1))),  # g 2-D
    ],
)
def test_shapes_are_checked_before_solving(F, g):
    """F must be (P, P) and g (P,): any other pair is a ValueError giving both shapes."""
    with pytest.raises(ValueError) as info:
        dense_natural_step(F, g)
    assert str(info.value) == f"F must be (P, P) and g (P,), got {F.shape} and {g.shape}"


@pytest.mark.parametrize("scale", [1e160, 1e300])
def test_an_overflowing_g_dot_x_gives_a_zero_step_without_a_warning(scale):
    """gᵀA⁻¹g overflows to inf: β = √(2δ/gᵀA⁻¹g) → 0, so β = 0.0 and the step is zeros (as
    for gᵀA⁻¹g = 0), x is still A⁻¹g, and no RuntimeWarning is raised."""
    g = scale * G
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, beta, step = dense_natural_step(F_DIAG, g, damping=0.1)
    np.testing.assert_allclose(x, g / (np.diag(F_DIAG) + 0.1), rtol=RTOL, atol=0)
    assert beta == 0.0
    np.testing.assert_array_equal(step, np.zeros(3))


def test_terms_overflowing_to_both_infinities_give_a_zero_step_without_a_warning():
    """A = [[1, .9], [.9, 1]], g = (1e160, 1e159): x = A⁻¹g = (4.79e160, −4.21e160), so gᵀx sums
    +inf and −inf (NaN, NumPy's 'invalid value') although its true value, 4.4e320, only
    overflows: β = 0.0 and a zero step, as for any gᵀA⁻¹g that overflows, and no warning."""
    A = np.array([[1.0, 0.9], [0.9, 1.0]])
    g = np.array([1e160, 1e159])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, beta, step = dense_natural_step(A - 0.1 * np.eye(2), g, damping=0.1)  # F + λI = A
    # A⁻¹ = [[1, −.9], [−.9, 1]] / .19
    x_hand = np.array([g[0] - 0.9 * g[1], g[1] - 0.9 * g[0]]) / 0.19
    np.testing.assert_allclose(x, x_hand, rtol=1e-12)
    assert beta == 0.0
    np.testing.assert_array_equal(step, np.zeros(2))


def test_an_overflowing_solve_still_gives_a_zero_step_not_nan():
    """A = 1e-300·I, g = 1e10: x = A⁻¹g overflows to inf inside SciPy's solve (which warns),
    so gᵀx = inf: β = 0.0 and the step is zeros ("zeros wherever β is 0.0"), not 0·inf = NaN."""
    with pytest.warns(RuntimeWarning, match="overflow"):
        x, beta, step = dense_natural_step(np.zeros((1, 1)), np.array([1e10]), damping=1e-300)
    assert x[0] == math.inf
    assert beta == 0.0
    np.testing.assert_array_equal(step, np.zeros(1))
