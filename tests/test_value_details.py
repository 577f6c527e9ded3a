"""Details of npytrpo.value found by mutation testing (benchmarks/mutation.py): explained
variance at its edges, fit as documented (SciPy's L-BFGS-B, its fields, the rejection paths)."""

import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import optimize

from npytrpo import value as value_module
from npytrpo.value import ValueFunction, explained_variance


# ------------------------------------------------------------------------------ explained var.
def test_explained_variance_of_no_targets_is_zero_without_a_warning():
    """N = 0 is a valid (N,) input: nothing to explain gives 0.0, and no RuntimeWarning (it
    used to warn "Degrees of freedom <= 0" from np.var before reaching the N = 0 case)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert explained_variance(np.zeros(0), np.zeros(0)) == 0.0


@pytest.mark.parametrize(
    ("y", "v", "expected"),
    [
        ([-1.0, 1.0], [-1.0, 1.0], 1.0),  # Var[y] = 1 exactly is an ordinary variance
        ([-1.0, 1.0], [-1.0, 0.0], 0.75),  # 1 − Var[(0, 1)] / 1
        ([0.0, 1e-300], [0.0, 0.0], 0.0),  # not constant, but Var[y] underflows to 0
    ],
)
def test_explained_variance_at_unit_and_underflowing_variance(y, v, expected):
    """EV = 1 − Var[y − V]/Var[y] for Var[y] = 1; a variance that underflows to 0.0 counts as
    no variance to explain (0.0), never a division by zero."""
    assert explained_variance(np.array(y), np.array(v)) == expected


# ------------------------------------------------------------------------------ objective
def test_penalty_gradient_is_added_for_every_positive_l2_including_one():
    """∇L(λ) − ∇L(0) = λ·W on the weights and 0 on the biases, also for λ = 1 exactly."""
    rng = np.random.default_rng(5)
    obs, y = rng.standard_normal((7, 3)), rng.standard_normal(7)
    vf1, vf0 = ValueFunction(3, (4,), l2=1.0), ValueFunction(3, (4,), l2=0.0)
    theta = vf1.init(1) + 0.1 * rng.standard_normal(vf1.num_params)
    diff = vf1.loss_and_grad(theta, obs, y)[1] - vf0.loss_and_grad(theta, obs, y)[1]
    for (dW, db), (W, _) in zip(vf1.net.unpack(diff), vf1.net.unpack(theta), strict=True):
        np.testing.assert_allclose(dW, W, rtol=0, atol=1e-14)
        np.testing.assert_array_equal(db, 0.0)


# ------------------------------------------------------------------------------ fit
def problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, 3))
    return obs, np.sin(obs @ np.array([1.0, -0.5, 0.3])) + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("max_iter", [1, 7])
def test_fit_is_scipys_lbfgsb_on_the_objective_and_reports_its_fields(max_iter):
    """fit is minimize(L, θ, jac=True, method="L-BFGS-B", maxiter) with SciPy's defaults, as
    documented: the same θ bit for bit, and info carries that run's nit, nfev, success (a
    bool) and message, with the objective and MSE before and after."""
    obs, y = problem()
    vf = ValueFunction(3, (8,), l2=1e-3)
    theta = vf.init(0)
    res = optimize.minimize(
        vf.loss_and_grad, theta, args=(obs, y), jac=True, method="L-BFGS-B",
        options={"maxiter": max_iter},
    )  # fmt: skip
    theta_new, info = vf.fit(theta, obs, y, max_iter=max_iter)
    assert theta_new.dtype == np.float64 and theta_new.tobytes() == res.x.tobytes()
    assert info.iterations == res.nit and info.n_evaluations == res.nfev
    assert info.success is bool(res.success)
    assert info.message == str(res.message)
    assert info.loss_before == pytest.approx(vf.loss_and_grad(theta, obs, y)[0], rel=1e-15)
    assert info.loss_after == pytest.approx(res.fun, rel=1e-15)
    for th, mse in ((theta, info.mse_before), (theta_new, info.mse_after)):
        assert mse == pytest.approx(np.mean((vf.predict(th, obs) - y) ** 2), rel=1e-13)


def test_default_budget_is_25_iterations():
    """Without max_iter (constructor or fit) L-BFGS-B stops after 25 iterations on a problem
    it cannot solve in fewer."""
    obs, y = problem(n=256)
    vf = ValueFunction(3, (16, 16))
    assert vf.max_iter == 25 and vf.spec()["max_iter"] == 25
    _, info = vf.fit(vf.init(0), obs, y)
    assert info.iterations == 25


def test_fit_from_a_stationary_theta_keeps_it_and_reports_the_optimizer_success():
    """Targets equal to V_θ and λ = 0: ∇L(θ) = 0, L-BFGS-B stops at once with the same loss.
    An unchanged loss is accepted (≤, not <): a fresh copy of θ, success True, SciPy's message."""
    obs, _ = problem()
    vf = ValueFunction(3, (4,), l2=0.0)
    theta = vf.init(2)
    y = vf.predict(theta, obs)
    theta_new, info = vf.fit(theta, obs, y)
    np.testing.assert_array_equal(theta_new, theta)
    assert theta_new is not theta
    assert info.loss_before == info.loss_after == 0.0
    assert info.success is True
    assert "kept the starting theta" not in info.message


@pytest.mark.parametrize(
    ("bad_x", "reason"),
    [
        ("nan", "the optimizer returned a non-finite theta"),
        ("worse", "the optimizer's theta has a higher loss ("),
    ],
)
def test_a_rejected_optimizer_result_is_explained_in_the_message(monkeypatch, bad_x, reason):
    """A rejected θ: the message is the optimizer's, then why, then "kept the starting theta";
    success is the bool False."""
    obs, y = problem()
    vf = ValueFunction(3, (4,))
    theta = vf.init(0)
    real_minimize = value_module.minimize_lbfgsb
    seen = {}

    def fake_minimize(fun, x0, **kwargs):
        res = real_minimize(fun, x0, **kwargs)
        seen["message"] = res.message
        return replace(res, x=np.full_like(x0, np.nan) if bad_x == "nan" else x0 + 10.0)

    monkeypatch.setattr(value_module, "minimize_lbfgsb", fake_minimize)
    _, info = vf.fit(theta, obs, y, max_iter=3)
    assert info.message.startswith(f"{seen['message']}; {reason}")
    assert info.message.endswith(": kept the starting theta")
    assert info.success is False


def test_fit_returns_a_fresh_array_even_if_the_optimizer_returns_its_start(monkeypatch):
    """theta_new is never the caller's θ, even from an optimizer that hands back x0 itself."""
    obs, y = problem()
    vf = ValueFunction(3, (4,))
    theta = vf.init(0)
    real_minimize = value_module.minimize_lbfgsb

    def lazy_minimize(fun, x0, **kwargs):
        return replace(real_minimize(fun, x0, **kwargs), x=x0)  # the very array fit passed in

    monkeypatch.setattr(value_module, "minimize_lbfgsb", lazy_minimize)
    theta_new, info = vf.fit(theta, obs, y, max_iter=3)
    assert isinstance(theta_new, np.ndarray) and not np.shares_memory(theta_new, theta)
    np.testing.assert_array_equal(theta_new, theta)
    assert info.loss_after == info.loss_before
