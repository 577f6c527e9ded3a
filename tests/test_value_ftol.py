"""The value fit's relative-decrease stopping rule (``ftol``, the agent's ``vf_ftol``).

The rule is judged against its equation, recomputed from the losses of every L-BFGS-B iterate
(SciPy's ``minimize`` run directly on ``loss_and_grad`` with a callback), and the fit against
that direct run bit for bit; without ``ftol`` the fit is the one it always was.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from npytrpo import TRPO, AgentConfig
from npytrpo.value import ValueFunction, value_from_spec


def problem(seed, n=200, obs_dim=3):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, obs_dim))
    y = np.sin(2.0 * obs @ rng.standard_normal(obs_dim)) + 0.1 * rng.standard_normal(n)
    return obs, y


def direct(vf, theta, obs, y, options):
    """SciPy's L-BFGS-B on the objective, and the loss at θ₀ and after every iteration."""
    losses = [vf.loss_and_grad(theta, obs, y)[0]]
    res = optimize.minimize(
        vf.loss_and_grad, theta, args=(obs, y), jac=True, method="L-BFGS-B", options=options,
        callback=lambda xk: losses.append(vf.loss_and_grad(xk, obs, y)[0]),
    )  # fmt: skip
    return res, losses


def relative_decrease(a, b):
    """(L_k − L_{k+1}) / max(|L_k|, |L_{k+1}|, 1): the equation in ``fit``'s docstring."""
    return (a - b) / max(abs(a), abs(b), 1.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1e-1, 3e-2, 1e-2, 1e-3]))
def test_fit_stops_at_the_first_iteration_whose_relative_decrease_is_within_ftol(seed, ftol):
    """Every iteration before the last lowers L by more than ftol (relative), the last by at most
    ftol, or the budget ran out; θ and the counts equal SciPy's own run bit for bit."""
    obs, y = problem(seed)
    vf = ValueFunction(3, (8, 8), max_iter=60, ftol=ftol)
    theta0 = vf.init(seed)
    theta, info = vf.fit(theta0, obs, y)
    res, losses = direct(vf, theta0, obs, y, {"maxiter": 60, "ftol": ftol})
    assert theta.tobytes() == res.x.tobytes()
    assert (info.iterations, info.n_evaluations) == (res.nit, res.nfev)
    decreases = [relative_decrease(losses[k], losses[k + 1]) for k in range(len(losses) - 1)]
    assert len(decreases) == info.iterations
    assert all(d > ftol for d in decreases[:-1])
    assert decreases[-1] <= ftol or info.iterations == 60
    assert info.loss_after == losses[-1]


def test_a_looser_ftol_stops_sooner_and_none_is_the_fit_as_before():
    """ftol=1e-2 needs fewer iterations than SciPy's default on this problem; ftol=None is the
    plain L-BFGS-B call with maxiter only (SciPy's default tolerance), bit for bit."""
    obs, y = problem(3)
    vf = ValueFunction(3, (16, 16), max_iter=40)
    theta0 = vf.init(0)
    plain, info_plain = vf.fit(theta0, obs, y)
    res, _ = direct(vf, theta0, obs, y, {"maxiter": 40})
    assert plain.tobytes() == res.x.tobytes() and info_plain.iterations == 40
    loose, info_loose = vf.fit(theta0, obs, y, ftol=1e-2)
    assert info_loose.iterations < info_plain.iterations
    assert info_loose.loss_after <= info_loose.loss_before


@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_the_iteration_budget_still_binds_with_ftol(max_iter):
    """With a tolerance too tight to stop anything, ftol leaves max_iter as the budget: the fit
    is SciPy's with both options, and stops at max_iter."""
    obs, y = problem(7)
    vf = ValueFunction(3, (8,), ftol=1e-15)
    theta0 = vf.init(2)
    theta, info = vf.fit(theta0, obs, y, max_iter=max_iter)
    res, _ = direct(vf, theta0, obs, y, {"maxiter": max_iter, "ftol": 1e-15})
    assert info.iterations == max_iter == res.nit
    assert theta.tobytes() == res.x.tobytes()


def test_fit_takes_ftol_from_the_constructor_and_the_argument_overrides_it():
    obs, y = problem(5)
    theta0 = ValueFunction(3, (8,)).init(1)
    by_ctor = ValueFunction(3, (8,), max_iter=50, ftol=1e-2).fit(theta0, obs, y)
    by_arg = ValueFunction(3, (8,), max_iter=50).fit(theta0, obs, y, ftol=1e-2)
    assert by_ctor[0].tobytes() == by_arg[0].tobytes() and by_ctor[1] == by_arg[1]
    tighter = ValueFunction(3, (8,), max_iter=50, ftol=1e-2).fit(theta0, obs, y, ftol=1e-6)
    assert tighter[1].iterations > by_ctor[1].iterations


def test_spec_keeps_ftol_and_omits_it_when_unset():
    """Specs written before ftol existed (no key) rebuild a fit with SciPy's default."""
    vf = ValueFunction(4, (5,), ftol=1e-3)
    spec = json.loads(json.dumps(vf.spec()))
    assert spec["ftol"] == 1e-3 and value_from_spec(spec).ftol == 1e-3
    assert "ftol" not in ValueFunction(4, (5,)).spec()
    assert value_from_spec(ValueFunction(4, (5,)).spec()).ftol is None


@pytest.mark.parametrize("bad", [0.0, 1.0, -1e-3, 2.0, float("nan"), float("inf")])
def test_ftol_outside_the_open_unit_interval_is_a_value_error(bad):
    with pytest.raises(ValueError, match="^ftol must"):
        ValueFunction(3, (4,), ftol=bad)
    obs, y = problem(0, n=8)
    vf = ValueFunction(3, (4,))
    with pytest.raises(ValueError, match="^ftol must"):
        vf.fit(vf.init(0), obs, y, ftol=bad)
    with pytest.raises(ValueError, match="^vf_ftol must"):
        AgentConfig(vf_ftol=bad)


@pytest.mark.parametrize("bad", ["1e-3", True, [1e-3]])
def test_ftol_of_the_wrong_kind_is_a_type_error(bad):
    with pytest.raises(TypeError, match="^ftol must be a real number"):
        ValueFunction(3, (4,), ftol=bad)
    with pytest.raises(TypeError, match="^vf_ftol must be a real number"):
        AgentConfig(vf_ftol=bad)


def recording(value):
    """Wrap ``value.fit`` (an instance attribute) to keep every fit's info."""
    infos, fit = [], value.fit

    def wrapped(*args, **kw):
        out = fit(*args, **kw)
        infos.append(out[1])
        return out

    value.fit = wrapped
    return infos


def test_agent_passes_vf_ftol_to_its_value_fit_and_a_checkpoint_keeps_it(tmp_path):
    """The agent's first fit (the same batch with and without the option) stops sooner with
    vf_ftol, and save/load restores the option."""
    kw = dict(n_steps=128, vf_iters=40, seed=0, parallel_value_fit=False)
    with_ftol = TRPO("CartPole-v1", vf_ftol=0.05, **kw)
    without = TRPO("CartPole-v1", **kw)
    infos_a, infos_b = recording(with_ftol.value), recording(without.value)
    with_ftol.learn(256, progress_bar=False)
    without.learn(256, progress_bar=False)
    assert with_ftol.value.ftol == 0.05 and without.value.ftol is None
    assert infos_a[0].loss_before == infos_b[0].loss_before  # the same first batch
    assert infos_a[0].iterations < infos_b[0].iterations == 40
    with_ftol.save(tmp_path / "m.npz")
    back = TRPO.load(tmp_path / "m.npz")
    assert back.config.vf_ftol == 0.05 and back.value.ftol == 0.05
