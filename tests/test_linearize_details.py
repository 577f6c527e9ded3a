"""Details of npytrpo.linearize found by mutation testing (benchmarks/mutation.py): the entropy
bonus in g for every head, and trial evaluations far from θ_old."""

import re

import numpy as np
import pytest

from npytrpo.gsde import GSDEHead
from npytrpo.policies import CategoricalPolicy, GaussianPolicy, Policy

N, OBS_DIM, ACT_DIM, HIDDEN = 9, 3, 2, (4,)


def make(kind):
    """A policy of each head kind, θ with non-zero head parameters, a batch and Â."""
    rng = np.random.default_rng(11)
    if kind == "categorical":
        pi = CategoricalPolicy(OBS_DIM, 3, HIDDEN)
        actions = rng.integers(0, 3, size=N)
    elif kind == "gaussian":
        pi = GaussianPolicy(OBS_DIM, ACT_DIM, HIDDEN)
        actions = rng.standard_normal((N, ACT_DIM))
    else:
        pi = Policy(OBS_DIM, GSDEHead(HIDDEN[-1], ACT_DIM), HIDDEN)
        actions = rng.standard_normal((N, ACT_DIM))
    theta = pi.init(rng) + 0.2 * rng.standard_normal(pi.num_params)
    obs = rng.standard_normal((N, OBS_DIM))
    adv = rng.standard_normal(N)
    return pi, theta, obs, actions, adv


def linearize(pi, theta, obs, actions, adv, c):
    return pi.linearize(
        theta, obs, actions, adv, kl_direction="old_new", entropy_coef=c, fvp_subsample=1
    )


@pytest.mark.parametrize("kind", ["categorical", "gaussian", "gsde"])
def test_entropy_bonus_adds_c_times_the_mean_entropy_gradient_for_every_head(kind):
    """g(c) − g(0) = c·∇H̄(θ_old), with ∇H̄ from ``Policy.entropy_grad``, for every head
    (gSDE's ∂H̄/∂θ_h is not 1, unlike a Gaussian's ∂H̄/∂ℓ). Same sums: 1e-12 relative."""
    pi, theta, obs, actions, adv = make(kind)
    c = 0.37
    g_c = linearize(pi, theta, obs, actions, adv, c).g
    g_0 = linearize(pi, theta, obs, actions, adv, 0.0).g
    want = c * pi.entropy_grad(theta, obs)
    np.testing.assert_allclose(g_c - g_0, want, rtol=0, atol=1e-12 * (1 + np.abs(g_c).max()))


@pytest.mark.parametrize("kind", ["categorical", "gaussian", "gsde"])
@pytest.mark.parametrize("scale", [-1e3, 1e3, -1e300, 1e300])
@pytest.mark.parametrize("c", [0.0, 0.1])
def test_far_trial_points_raise_nothing_whatever_the_callers_error_settings(kind, scale, c):
    """evaluate reports a far trial point's overflow, underflow or division by zero through
    inf/NaN, never as a floating-point error, even if the caller set numpy to raise on all."""
    pi, theta, obs, actions, adv = make(kind)
    lin = linearize(pi, theta, obs, actions, adv, c)
    step = scale * np.random.default_rng(0).random(pi.num_params)
    with np.errstate(all="raise"):
        kl, gain = lin.evaluate(step)
    assert isinstance(kl, float) and isinstance(gain, float)


def test_gain_without_entropy_bonus_does_not_read_the_entropy():
    """With c = 0 the gain is L(θ) − L(θ_old) even where H̄(θ) is infinite: log-stds of 1e308
    sum to an infinite entropy, every ratio is exp(−inf) = 0, so the gain is −mean Â."""
    pi, theta, obs, actions, adv = make("gaussian")
    lin = linearize(pi, theta, obs, actions, adv, 0.0)
    step = np.zeros(pi.num_params)
    step[-ACT_DIM:] = 1e308  # ℓ is last in θ
    with np.errstate(over="ignore"):  # the sum of the two log-stds overflows, as intended
        assert pi.entropy(theta + step, obs)[0] == np.inf
    _, gain = lin.evaluate(step)
    assert gain == -float(np.mean(adv))


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (-0.1, ValueError, "entropy_coef must be >= 0.0, got -0.1"),
        (float("nan"), ValueError, "entropy_coef must be finite, got nan"),
        ("0.1", TypeError, "entropy_coef must be a real number, got '0.1'"),
    ],
)
def test_linearize_refuses_an_entropy_coefficient_outside_its_range(bad, error, message):
    """Policy.linearize checks entropy_coef like TRPOConfig does (a real number ≥ 0): a
    negative c used to be accepted, and then g held c∇H̄ while evaluate's gain left the
    entropy out (it adds c·H̄ only for c > 0): a gain inconsistent with g."""
    pi, theta, obs, actions, adv = make("gaussian")
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        linearize(pi, theta, obs, actions, adv, bad)


@pytest.mark.parametrize("log_std_step", [40.0, 200.0])
def test_gsde_trial_whose_variance_dwarfs_the_old_one_has_infinite_kl_and_no_error(log_std_step):
    """KL(old‖new) of gSDE has log1p(t), t = (v_old − v_new)/v_new; when v_new ≫ v_old, t
    rounds to −1 and log1p(−1) = −inf (a division by zero in numpy's terms). evaluate reports
    that trial's KL as inf, not as a floating-point error, whatever the caller's settings."""
    pi, theta, obs, actions, adv = make("gsde")
    lin = linearize(pi, theta, obs, actions, adv, 0.0)
    step = np.zeros(pi.num_params)
    step[pi.net.num_params :] = log_std_step  # every Λ_ij: σ² grows by e^(2·step)
    with np.errstate(all="raise"):
        kl, gain = lin.evaluate(step)
    assert kl == np.inf
    assert np.isfinite(gain)
