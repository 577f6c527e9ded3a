"""Tests for npytrpo.value: the objective and its gradient, fit, explained variance, spec, inputs.

The gradient is judged by central differences of the objective (an independent oracle); the
objective itself by an independent NumPy expression built from ``predict`` and ``net.unpack``.
"""

import json
import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    bad_dtypes_for_real_array,
    bad_kinds_for_int,
    bad_kinds_for_int_sequence,
    bad_kinds_for_real,
    negative_floats,
    non_finite_floats,
)

from npytrpo import value as value_module
from npytrpo.value import ValueFitInfo, ValueFunction, explained_variance, value_from_spec

# Central-difference step and tolerance, as in test_nn. The error of (L(θ+εv) − L(θ−εv)) / 2ε
# against ∇L·v is ε²/6 · |L'''[v, v, v]| (truncation, ≈ 2e-11 · |L'''| for unit v) plus
# eps_machine · |L| / ε (rounding, ≈ 2e-11 · |L|); ε = 1e-5 balances the two for these small
# tanh nets with O(1) targets, whose third derivatives are O(1)–O(100).
FD_EPS = 1e-5
# Both terms stay below ~1e-8 relative to (|∇L·v| + |L|); the worst ratio observed over 5000
# random cases (15000 directions) was 1.0e-9. 1e-7 keeps a 100x margin and still catches any
# wrong derivative (a missing 1/N, a wrong sign or an L2 term on the biases is an O(1) error).
FD_RTOL = 1e-7
# The objective from loss_and_grad and from an independent NumPy expression are the same sums
# taken in another order: rounding only, a few eps_machine relative to the terms' size.
SUM_RTOL = 1e-12
# Smooth 1-D target through a 3-D input: a (16, 16) net with 200 L-BFGS-B iterations explains
# 0.98 of the in-sample variance of this problem (noise variance 0.01 against Var[y] ≈ 0.48 puts
# the noise floor at 0.979); 0.9 leaves room for other BLAS builds' rounding to change the path.
GOOD_FIT_EV = 0.9

HIDDEN = st.sampled_from([(), (1,), (3,), (5,), (2, 3), (4, 4), (5, 2)])


# ------------------------------------------------------------------------------ helpers
@st.composite
def value_cases(draw):
    """(obs_dim, hidden, N, l2, seed): obs_dim 1–6, 0–2 small hidden layers, l2 0 or up to 1."""
    obs_dim = draw(st.integers(1, 6))
    hidden = draw(HIDDEN)
    n = draw(st.integers(1, 32))
    l2 = draw(st.one_of(st.just(0.0), st.floats(1e-4, 1.0)))
    seed = draw(st.integers(0, 2**32 - 1))
    return obs_dim, hidden, n, l2, seed


def build(case):
    """A value function, a θ with non-zero biases, inputs, targets and the generator for more."""
    obs_dim, hidden, n, l2, seed = case
    rng = np.random.default_rng(seed)
    vf = ValueFunction(obs_dim, hidden, l2=l2)
    theta = vf.init(rng) + 0.3 * rng.standard_normal(vf.num_params)
    obs = rng.standard_normal((n, obs_dim))
    y = rng.standard_normal(n)
    return vf, theta, obs, y, rng


def regression_problem(n=256, obs_dim=3, seed=0):
    """y = sin(s·w) + noise (std 0.1): smooth, within reach of a small tanh net."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, obs_dim))
    w = rng.standard_normal(obs_dim) / np.sqrt(obs_dim)
    y = np.sin(2.0 * obs @ w) + 0.1 * rng.standard_normal(n)
    return obs, y


# ------------------------------------------------------------------------------ objective
@given(value_cases())
def test_gradient_matches_central_differences(case):
    """∇L·v equals the central difference of L along random unit directions v, L2 included."""
    vf, theta, obs, y, rng = build(case)
    L, g = vf.loss_and_grad(theta, obs, y)
    assert g.shape == (vf.num_params,)
    for _ in range(3):
        v = rng.standard_normal(vf.num_params)
        v /= np.linalg.norm(v)
        fd = (
            vf.loss_and_grad(theta + FD_EPS * v, obs, y)[0]
            - vf.loss_and_grad(theta - FD_EPS * v, obs, y)[0]
        ) / (2 * FD_EPS)
        assert abs(fd - g @ v) <= FD_RTOL * (abs(g @ v) + abs(L))


@given(value_cases())
def test_objective_is_half_mse_plus_l2_on_weights_only(case):
    """L = ½ mean (V − y)² + ½ λ Σ‖W‖², and ∇L(λ) − ∇L(0) is λW on weights and 0 on biases."""
    vf, theta, obs, y, _ = build(case)
    V = vf.predict(theta, obs)
    assert V.shape == (obs.shape[0],)
    layers = vf.net.unpack(theta)
    sq_w = sum(float(np.sum(W * W)) for W, _ in layers)
    expected = 0.5 * np.mean((V - y) ** 2) + 0.5 * vf.l2 * sq_w
    L, g = vf.loss_and_grad(theta, obs, y)
    assert L == pytest.approx(expected, rel=SUM_RTOL)

    L0, g0 = ValueFunction(vf.obs_dim, vf.hidden, l2=0.0).loss_and_grad(theta, obs, y)
    assert L - L0 == pytest.approx(0.5 * vf.l2 * sq_w, rel=SUM_RTOL, abs=SUM_RTOL * L)
    diff = vf.net.unpack(g - g0)
    for (dW, db), (W, _) in zip(diff, layers, strict=True):
        np.testing.assert_allclose(dW, vf.l2 * W, rtol=0, atol=SUM_RTOL * (1 + np.abs(g).max()))
        np.testing.assert_allclose(db, 0.0, rtol=0, atol=SUM_RTOL * (1 + np.abs(g).max()))


def test_init_gains_and_zero_biases():
    """init is orthogonal with gain √2 on hidden layers and 1.0 on the output, biases 0, seeded."""
    vf = ValueFunction(5, (8, 6))
    theta = vf.init(3)
    np.testing.assert_array_equal(theta, vf.init(np.random.default_rng(3)))
    (W0, b0), (W1, b1), (W2, b2) = vf.net.unpack(theta)
    np.testing.assert_allclose(W0 @ W0.T, 2.0 * np.eye(5), atol=1e-12)  # fan_in < fan_out
    np.testing.assert_allclose(W1.T @ W1, 2.0 * np.eye(6), atol=1e-12)  # fan_in > fan_out
    assert np.linalg.norm(W2) == pytest.approx(1.0, rel=1e-12)  # one output: a unit column
    for b in (b0, b1, b2):
        np.testing.assert_array_equal(b, 0.0)


# ------------------------------------------------------------------------------ fit
def test_fit_reaches_a_good_fit_on_a_smooth_target():
    """fit lowers the MSE and, with 200 iterations, explains > 90% of a smooth target's variance."""
    obs, y = regression_problem()
    vf = ValueFunction(3, (16, 16))
    theta0 = vf.init(0)
    theta, info = vf.fit(theta0, obs, y, max_iter=200)
    assert isinstance(info, ValueFitInfo)
    assert info.mse_after < info.mse_before
    assert info.loss_after < info.loss_before
    assert explained_variance(y, vf.predict(theta, obs)) > GOOD_FIT_EV
    assert info.iterations <= 200
    assert info.loss_after == vf.loss_and_grad(theta, obs, y)[0]
    assert info.mse_after == pytest.approx(np.mean((vf.predict(theta, obs) - y) ** 2), rel=1e-12)


def test_warm_start_continues_from_the_given_theta():
    """Fitting again from fit's result starts at its loss exactly and does not increase it."""
    obs, y = regression_problem()
    vf = ValueFunction(3, (16,))
    theta1, info1 = vf.fit(vf.init(1), obs, y, max_iter=10)
    theta2, info2 = vf.fit(theta1, obs, y, max_iter=10)
    assert info2.loss_before == info1.loss_after
    assert info2.loss_after <= info2.loss_before
    assert info2.explained_variance == explained_variance(y, vf.predict(theta1, obs))


@given(value_cases(), st.integers(1, 5))
def test_fit_respects_max_iter_and_never_increases_the_loss(case, max_iter):
    """info.iterations ≤ max_iter, the loss does not rise, θ_new is fresh and θ is untouched."""
    vf, theta, obs, y, _ = build(case)
    theta_before = theta.copy()
    theta_new, info = vf.fit(theta, obs, y, max_iter=max_iter)
    assert 0 <= info.iterations <= max_iter
    assert info.n_evaluations >= 1
    assert info.loss_after <= info.loss_before
    assert theta_new.shape == theta.shape and np.all(np.isfinite(theta_new))
    assert not np.shares_memory(theta_new, theta)
    np.testing.assert_array_equal(theta, theta_before)


def test_default_max_iter_comes_from_the_constructor():
    """fit without max_iter uses the constructor's budget."""
    obs, y = regression_problem(n=128)
    vf = ValueFunction(3, (16,), max_iter=2)
    _, info = vf.fit(vf.init(0), obs, y)
    assert info.iterations <= 2


def test_fit_is_deterministic():
    """Two fits from the same inputs, on separate instances, give bit-identical θ and info."""
    obs, y = regression_problem()
    theta0 = ValueFunction(3, (16, 16)).init(4)
    t1, i1 = ValueFunction(3, (16, 16)).fit(theta0, obs, y, max_iter=15)
    t2, i2 = ValueFunction(3, (16, 16)).fit(theta0, obs, y, max_iter=15)
    assert t1.tobytes() == t2.tobytes()
    assert i1 == i2


@pytest.mark.parametrize("bad_x", ["nan", "worse"])
def test_a_bad_optimizer_result_keeps_the_old_theta(monkeypatch, bad_x):
    """A non-finite or worse θ from the optimizer is rejected: the old θ is kept, as a copy."""
    obs, y = regression_problem(n=64)
    vf = ValueFunction(3, (4,))
    theta = vf.init(0)
    real_minimize = value_module.minimize_lbfgsb

    def fake_minimize(fun, x0, **kwargs):
        res = real_minimize(fun, x0, **kwargs)
        return replace(res, x=np.full_like(x0, np.nan) if bad_x == "nan" else x0 + 10.0)

    monkeypatch.setattr(value_module, "minimize_lbfgsb", fake_minimize)
    theta_new, info = vf.fit(theta, obs, y, max_iter=3)
    np.testing.assert_array_equal(theta_new, theta)
    assert not np.shares_memory(theta_new, theta)
    assert info.loss_after == info.loss_before and info.mse_after == info.mse_before
    assert not info.success
    assert "kept the starting theta" in info.message


def test_an_optimizer_result_at_the_starting_loss_is_kept(monkeypatch):
    """θ_new is rejected only for a loss *above* the start's: an optimizer that returns the
    start itself (the same loss, bit for bit) is taken at its word."""
    obs, y = regression_problem(n=64)
    vf = ValueFunction(3, (4,))
    theta = vf.init(0)
    real_minimize = value_module.minimize_lbfgsb

    def same_x(fun, x0, **kwargs):
        return replace(real_minimize(fun, x0, **kwargs), x=x0.copy())

    monkeypatch.setattr(value_module, "minimize_lbfgsb", same_x)
    theta_new, info = vf.fit(theta, obs, y, max_iter=3)
    np.testing.assert_array_equal(theta_new, theta)
    assert info.loss_after == info.loss_before
    assert "kept the starting theta" not in info.message and "ITERATIONS" in info.message


# ------------------------------------------------------------------------------ explained var.
@pytest.mark.parametrize(
    ("y", "v", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 1.0),  # perfect prediction
        ([1.0, 2.0, 3.0, 4.0], [2.5, 2.5, 2.5, 2.5], 0.0),  # the mean
        ([1.0, 2.0, 3.0, 4.0], [7.0, 7.0, 7.0, 7.0], 0.0),  # any constant: Var[y − c] = Var[y]
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0], 0.85),  # 1 − 0.1875 / 1.25
        ([1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0], -3.0),  # 1 − Var[2y]/Var[y]
        ([0.1, 0.1, 0.1], [0.0, 1.0, 2.0], 0.0),  # constant y (float Var is 1.9e-34, not 0)
        ([5.0], [3.0], 0.0),  # a single sample is constant
    ],
)
def test_explained_variance_hand_cases(y, v, expected):
    """EV = 1 − Var[y − V]/Var[y] on hand-computed cases; constant targets give 0.0, not NaN."""
    assert explained_variance(np.array(y), np.array(v)) == pytest.approx(expected, abs=1e-12)


def test_fit_reports_the_explained_variance_before_the_fit():
    """info.explained_variance is that of the starting θ's predictions; 0.0 on constant targets."""
    obs, y = regression_problem(n=64)
    vf = ValueFunction(3, (4,))
    theta = vf.init(0)
    _, info = vf.fit(theta, obs, y, max_iter=2)
    assert info.explained_variance == explained_variance(y, vf.predict(theta, obs))
    _, info = vf.fit(theta, obs, np.full(64, 0.1), max_iter=2)
    assert info.explained_variance == 0.0


# ------------------------------------------------------------------------------ spec
def test_spec_round_trips_through_json():
    """value_from_spec(spec()) rebuilds the same value function, also after a JSON round trip."""
    vf = ValueFunction(7, (5, 3), l2=0.25, max_iter=9)
    spec = json.loads(json.dumps(vf.spec()))
    assert spec == {"obs_dim": 7, "hidden": [5, 3], "l2": 0.25, "max_iter": 9}
    vf2 = value_from_spec(spec)
    assert vf2.spec() == vf.spec() and vf2.num_params == vf.num_params
    with pytest.raises(ValueError, match="missing keys \\['l2'\\]"):
        value_from_spec({"obs_dim": 7, "hidden": [5], "max_iter": 9})


# ------------------------------------------------------------------------------ validation
VF = ValueFunction(3, (4,))
THETA = VF.init(0)
OBS = np.zeros((5, 3))
Y = np.zeros(5)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda: ValueFunction(0), ValueError, "obs_dim must be >= 1, got 0"),
        (lambda: ValueFunction(3.0), TypeError, "obs_dim must be an int, got 3.0"),
        (lambda: ValueFunction(3, 64), TypeError, "hidden must be a sequence"),
        (lambda: ValueFunction(3, (8, 0)), ValueError, r"hidden\[1\] must be >= 1, got 0"),
        (lambda: ValueFunction(3, l2=-1e-3), ValueError, "l2 must be >= 0.0, got -0.001"),
        (lambda: ValueFunction(3, l2=float("nan")), ValueError, "l2 must be finite, got nan"),
        (lambda: ValueFunction(3, l2="0.1"), TypeError, "l2 must be a real number, got '0.1'"),
        (lambda: ValueFunction(3, max_iter=0), ValueError, "max_iter must be >= 1, got 0"),
        (lambda: ValueFunction(3, max_iter=2.5), TypeError, "max_iter must be an int"),
        (lambda: VF.fit(THETA, OBS, Y, max_iter=0), ValueError, "max_iter must be >= 1, got 0"),
        (lambda: VF.fit(THETA, OBS, Y, max_iter=True), TypeError, "max_iter must be an int"),
        (lambda: VF.fit(THETA[:-1], OBS, Y), ValueError, r"theta must have shape \(21,\), got"),
        (lambda: VF.fit(np.zeros(21, int), OBS, Y), TypeError, "theta must be a floating-point"),
        (lambda: VF.predict(THETA + np.nan, OBS), ValueError, "theta must be finite, got 21"),
        (lambda: VF.predict(THETA, np.zeros((5, 2))), ValueError, r"obs must have shape \(N, 3\)"),
        (lambda: VF.predict(THETA, np.zeros(3)), ValueError, r"obs must have shape \(N, 3\)"),
        (lambda: VF.predict(THETA, np.zeros((0, 3))), ValueError, "with N >= 1, got \\(0, 3\\)"),
        (lambda: VF.predict(THETA, [["a"] * 3]), TypeError, "obs must be a real array, got dtype"),
        (lambda: VF.fit(THETA, OBS + np.inf, Y), ValueError, "obs must be finite, got 15"),
        (lambda: VF.fit(THETA, OBS, Y[:4]), ValueError, r"targets must have shape \(5,\)"),
        (lambda: VF.fit(THETA, OBS, Y[:, None]), ValueError, r"targets must have shape \(5,\)"),
        (lambda: VF.loss_and_grad(THETA, OBS, Y + np.nan), ValueError, "targets must be finite"),
        (lambda: VF.loss_and_grad(THETA, OBS, Y + 1j), TypeError, "targets must be a real array"),
        (lambda: value_from_spec([3]), TypeError, "spec must be a mapping, got list"),
        (lambda: explained_variance(Y, Y[:4]), ValueError, r"predictions must have the shape of"),
        (lambda: explained_variance(OBS, OBS), ValueError, r"targets must have shape \(N,\)"),
        (lambda: explained_variance(Y, Y + np.nan), ValueError, "predictions must be finite"),
        (lambda: explained_variance(["a"], [1.0]), TypeError, "targets must be a real array"),
        (lambda: ValueFunction(3, l2_coef=0.1), TypeError, "l2_coef"),
        (lambda: VF.fit(THETA, OBS, Y, maxiter=3), TypeError, "maxiter"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(call, exc, pattern):
    """Invalid arguments raise ValueError/TypeError naming the argument and the value received."""
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("name", ["obs_dim", "max_iter"])
@given(bad=bad_kinds_for_int())
def test_counts_of_the_wrong_kind_raise_type_error(name, bad):
    """obs_dim/max_iter given a float (even 3.0), a bool or a non-number: TypeError, name, value."""
    kwargs = {"obs_dim": 3, "max_iter": 5, name: bad}
    with pytest.raises(TypeError, match=f"^{name} must be an int, got ") as info:
        ValueFunction(kwargs.pop("obs_dim"), **kwargs)
    assert repr(bad) in str(info.value)
    if name == "max_iter" and bad is not None:  # fit's max_iter=None means the default
        with pytest.raises(TypeError, match="^max_iter must be an int, got ") as info:
            VF.fit(THETA, OBS, Y, max_iter=bad)
        assert repr(bad) in str(info.value)


@pytest.mark.parametrize("name", ["obs_dim", "max_iter"])
@given(bad=st.integers(max_value=0))
def test_counts_below_one_raise_value_error(name, bad):
    """obs_dim/max_iter < 1 is ValueError naming the argument and the value."""
    kwargs = {"obs_dim": 3, "max_iter": 5, name: bad}
    with pytest.raises(ValueError, match=f"^{name} must be >= 1, got {bad}$"):
        ValueFunction(kwargs.pop("obs_dim"), **kwargs)


@given(bad=bad_kinds_for_int_sequence())
def test_hidden_of_the_wrong_kind_raises_type_error(bad):
    """hidden that is a bare number, a str, None or a mapping is TypeError naming hidden."""
    with pytest.raises(TypeError, match="^hidden must be a sequence of ints") as info:
        ValueFunction(3, bad)
    assert repr(bad) in str(info.value)


@given(bad=bad_kinds_for_int(), at=st.integers(0, 2))
def test_hidden_width_of_the_wrong_kind_raises_type_error(bad, at):
    """A width that is not an int (a float, a bool, ...) is TypeError naming hidden[i]."""
    hidden = [4, 4, 4]
    hidden[at] = bad
    with pytest.raises(TypeError, match=rf"^hidden\[{at}\] must be an int, got ") as info:
        ValueFunction(3, hidden)
    assert repr(bad) in str(info.value)


@given(bad=st.integers(max_value=0), at=st.integers(0, 1))
def test_hidden_width_below_one_raises_value_error(bad, at):
    """A width < 1 is ValueError naming hidden[i] and the value."""
    hidden = [2, 2]
    hidden[at] = bad
    with pytest.raises(ValueError, match=rf"^hidden\[{at}\] must be >= 1, got {bad}$"):
        ValueFunction(3, tuple(hidden))


@given(bad=bad_kinds_for_real())
def test_l2_of_the_wrong_kind_raises_type_error(bad):
    """A bool, str, complex or container as l2 is TypeError naming l2 and the value."""
    with pytest.raises(TypeError, match="^l2 must be a real number, got ") as info:
        ValueFunction(3, (), l2=bad)
    assert repr(bad) in str(info.value)
    spec = {**VF.spec(), "l2": bad}
    with pytest.raises(TypeError, match="^l2 must be a real number, got "):
        value_from_spec(spec)


@given(bad=st.one_of(non_finite_floats, negative_floats))
def test_l2_negative_or_non_finite_raises_value_error(bad):
    """A negative, NaN or infinite l2 is ValueError naming l2 and the value."""
    with pytest.raises(ValueError, match="^l2 must be ") as info:
        ValueFunction(3, (), l2=bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("name", ["targets", "predictions"])
@given(dtype=bad_dtypes_for_real_array())
def test_explained_variance_of_non_real_arrays_raises_type_error(name, dtype):
    """targets/predictions of a complex, str, bytes or datetime dtype is TypeError naming it."""
    args = {"targets": Y, "predictions": Y, name: np.zeros(5, dtype=dtype)}
    msg = re.escape(f"{name} must be a real array, got dtype {dtype}")
    with pytest.raises(TypeError, match=f"^{msg}$"):
        explained_variance(**args)


@pytest.mark.parametrize("name", ["targets", "predictions"])
@given(bad=non_finite_floats, at=st.integers(0, 4))
def test_explained_variance_of_non_finite_arrays_raises_value_error(name, bad, at):
    """A NaN or ±inf entry in targets/predictions is ValueError naming the array."""
    a = np.arange(5.0)
    a[at] = bad
    args = {"targets": Y, "predictions": Y, name: a}
    with pytest.raises(ValueError, match=f"^{name} must be finite, got 1 NaN/inf entries$"):
        explained_variance(**args)
