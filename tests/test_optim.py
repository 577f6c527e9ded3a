"""npytrpo.optim: Adam against Kingma & Ba's Algorithm 1 unrolled by hand, the global norm clip,
plain SGD, resuming from a saved state, and argument errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npytrpo.optim import SGD, Adam, AdamState, clip_grad_norm

# The expected values below are the same real numbers as the implementation's, reached by other
# operation orders (unrolled sums, decimal bias corrections). The bias correction 1 − β₂ᵗ is a
# cancellation: fl(β₂ᵗ) carries ~t·eps/2 absolute error, i.e. ≤ eps/(2(1 − β₂)) ≈ 1.1e-13
# relative to 1 − β₂ᵗ ≥ t(1 − β₂)β₂ᵗ for β₂ = 0.999; the square root halves it in v̂, and t ≤ 20
# steps add up. 1e-12 bounds that with margin (the observed worst is ~4e-15).
RTOL_REORDERED = 1e-12


def test_adam_three_steps_match_algorithm_1_unrolled_by_hand():
    """Three Adam steps equal Algorithm 1 with the moments unrolled as explicit sums."""
    alpha, eps = 0.1, 1e-8
    theta0 = np.array([0.5, -1.0])
    g1, g2, g3 = np.array([1.0, -2.0]), np.array([-1.0, 4.0]), np.array([2.0, 0.5])
    # β₁ = 0.9, β₂ = 0.999. m_t = Σ_{k≤t} (1 − β₁) β₁^{t−k} g_k, v_t likewise with g_k².
    m1 = 0.1 * g1
    v1 = 0.001 * g1**2
    m2 = 0.09 * g1 + 0.1 * g2
    v2 = 0.000999 * g1**2 + 0.001 * g2**2
    m3 = 0.081 * g1 + 0.09 * g2 + 0.1 * g3
    v3 = 0.000998001 * g1**2 + 0.000999 * g2**2 + 0.001 * g3**2
    # Bias corrections 1 − β₁ᵗ = 0.1, 0.19, 0.271 and 1 − β₂ᵗ = 0.001, 0.001999, 0.002997001.
    theta1 = theta0 + alpha * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + eps)
    theta2 = theta1 + alpha * (m2 / 0.19) / (np.sqrt(v2 / 0.001999) + eps)
    theta3 = theta2 + alpha * (m3 / 0.271) / (np.sqrt(v3 / 0.002997001) + eps)
    # Step 1 by hand: m̂ = g, v̂ = g², so θ₁ = θ₀ + α g/(|g| + ε).
    np.testing.assert_allclose(
        theta1, [0.5 + 0.1 / (1 + 1e-8), -1.0 - 0.2 / (2 + 1e-8)], rtol=RTOL_REORDERED
    )

    opt = Adam(lr=alpha, beta1=0.9, beta2=0.999, eps=eps)
    got1 = opt.step(theta0, g1)
    got2 = opt.step(got1, g2)
    got3 = opt.step(got2, g3)
    for got, want in ((got1, theta1), (got2, theta2), (got3, theta3)):
        np.testing.assert_allclose(got, want, rtol=RTOL_REORDERED)
    np.testing.assert_allclose(opt.m, m3, rtol=RTOL_REORDERED)
    np.testing.assert_allclose(opt.v, v3, rtol=RTOL_REORDERED)
    assert opt.t == 3


@given(
    g=st.floats(0.01, 100.0) | st.floats(-100.0, -0.01),
    t=st.integers(1, 20),
    lr=st.floats(1e-4, 1.0),
)
def test_adam_constant_gradient_moves_lr_per_step(g, t, lr):
    """A constant gradient g gives m̂ = g and v̂ = g² at every t (the bias correction is exact),
    so every step is α g/(|g| + ε) ≈ α·sign(g)."""
    opt = Adam(lr=lr)
    theta = np.zeros(1)
    for _ in range(t):
        theta = opt.step(theta, np.array([g]))
    expected = t * lr * g / (abs(g) + 1e-8)
    np.testing.assert_allclose(theta, [expected], rtol=RTOL_REORDERED)


def test_adam_resumes_from_state_bit_for_bit():
    """Two steps, the state saved and a new Adam built from it, then a third step: the same θ
    and moments as three steps in one optimiser."""
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((3, 5))
    theta = rng.standard_normal(5)
    one = Adam(lr=0.01, max_grad_norm=1.0)
    th1 = theta
    for g in grads:
        th1 = one.step(th1, g)
    first = Adam(lr=0.01, max_grad_norm=1.0)
    th2 = first.step(first.step(theta, grads[0]), grads[1])
    second = Adam(lr=0.01, max_grad_norm=1.0, state=first.state)
    th2 = second.step(th2, grads[2])
    assert th1.tobytes() == th2.tobytes()
    assert one.m.tobytes() == second.m.tobytes() and one.v.tobytes() == second.v.tobytes()
    assert second.t == 3
    # the state is a copy: stepping the optimiser does not change a state taken earlier
    s = second.state
    second.step(th2, grads[0])
    assert s.t == 3 and s.m.tobytes() == one.m.tobytes()


def test_clip_grad_norm():
    """‖g‖ > c rescales to norm c; ‖g‖ ≤ c (or c = None) returns g itself."""
    g, norm, clipped = clip_grad_norm(np.array([3.0, 4.0]), 0.5)
    np.testing.assert_allclose(g, [0.3, 0.4], rtol=1e-15)
    assert norm == 5.0 and clipped
    h = np.array([0.3, 0.4])
    for c in (0.5, 1.0, None):
        out, norm, clipped = clip_grad_norm(h, c)
        assert out is h and not clipped and abs(norm - 0.5) < 1e-16


def test_adam_clips_before_the_moments():
    """With max_grad_norm the first step sees c·g/‖g‖: m₁ = (1 − β₁) c g/‖g‖."""
    opt = Adam(lr=0.1, max_grad_norm=1.0)
    opt.step(np.zeros(2), np.array([3.0, 4.0]))
    np.testing.assert_allclose(opt.m, 0.1 * np.array([0.6, 0.8]), rtol=1e-15)
    assert opt.clipped and opt.grad_norm == 5.0


def test_sgd_step():
    """SGD: θ + α g, and θ + α c g/‖g‖ with the clip."""
    np.testing.assert_array_equal(SGD(0.5).step(np.ones(2), np.array([2.0, -4.0])), [2.0, -1.0])
    out = SGD(1.0, max_grad_norm=1.0).step(np.zeros(2), np.array([3.0, 4.0]))
    np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-15)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0.0, got 0.0"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number, got '0.1'"),
        ({"beta1": 1.0}, ValueError, "beta1 must be < 1.0, got 1.0"),
        ({"beta2": -0.1}, ValueError, "beta2 must be >= 0.0, got -0.1"),
        ({"eps": 0.0}, ValueError, "eps must be > 0.0"),
        ({"max_grad_norm": 0.0}, ValueError, "max_grad_norm must be > 0.0, got 0.0"),
        ({"max_grad_norm": True}, TypeError, "max_grad_norm must be a real number"),
        ({"lr": float("nan")}, ValueError, "lr must be finite, got nan"),
        ({"state": (np.zeros(2), np.zeros(2), 0)}, TypeError, "state must be an AdamState"),
        (
            {"state": AdamState(np.zeros(2), np.zeros(3), 1)},
            ValueError,
            "state.m and state.v must be vectors of one shape",
        ),
        ({"state": AdamState(np.zeros(2), np.zeros(2), -1)}, ValueError, "state.t must be >= 0"),
        ({"state": AdamState(np.zeros(2), np.zeros(2), 1.0)}, TypeError, "state.t must be an int"),
    ],
)
def test_adam_bad_arguments(kwargs, exc, match):
    """Bad hyperparameters raise TypeError (kind) or ValueError (value) naming them."""
    with pytest.raises(exc, match=match.replace("(", r"\(").replace(")", r"\)")):
        Adam(**kwargs)


def test_adam_gradient_of_wrong_shape():
    """A gradient whose shape differs from the moments' is refused by name."""
    opt = Adam(state=AdamState(np.zeros(3), np.zeros(3), 2))
    with pytest.raises(ValueError, match=r"grad must have shape \(3,\), got \(2,\)"):
        opt.step(np.zeros(2), np.ones(2))
