"""The value fit by variable projection (``value_varpro.py``, ``vf_optimizer="varpro"``).

The solved output layer is judged against SciPy's least squares on the equivalent stacked
system; the reduced gradient (the envelope theorem) by central differences of the reduced
objective; the fit by the objective of ``value.py``, which it must lower and report.
"""

from dataclasses import replace

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st
from test_value import build as build_value_case

from npytrpo import value_varpro
from npytrpo.agent_config import AgentConfig
from npytrpo.value import ValueFunction
from npytrpo.value_adam import fit_value
from npytrpo.value_varpro import fit_varpro, reduced_loss_and_grad, solve_output_layer

# The normal equations and SciPy's QR/SVD least squares are different roundings of one
# solution; the systems here have condition numbers below ~1e4 (λ ≥ 1e-3 or N ≥ 4(H+1) random
# features), so the two agree to ~1e-12 relative; 1e-9 leaves a wide margin and still catches
# any wrong term (a missing 1/N on λ, a penalised bias, a dropped column sum) as an O(1) error.
SOLVE_RTOL = 1e-9
# Central differences of R along unit directions, as test_value.py's FD_EPS / FD_RTOL for L:
# R is as smooth as L where the normal equations are regular, and its error terms are the same.
FD_EPS = 1e-5
FD_RTOL = 1e-7
# Two sums of the same terms in another order (the loss of the assembled θ against R).
SUM_RTOL = 1e-12


@st.composite
def varpro_cases(draw):
    """(obs_dim, hidden, N, l2, seed) with at least one hidden layer and N ≥ 4(H + 1)."""
    obs_dim = draw(st.integers(1, 4))
    hidden = draw(st.sampled_from([(1,), (3,), (5,), (2, 3), (4, 4), (5, 2)]))
    n = draw(st.integers(4 * (hidden[-1] + 1), 48))
    l2 = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(1e-3, 1.0)))
    seed = draw(st.integers(0, 2**32 - 1))
    return obs_dim, hidden, n, l2, seed


def build(case):
    """test_value.py's case, its targets moved to a mean away from 0 (the unpenalised bias)."""
    vf, theta, obs, y, rng = build_value_case(case)
    return vf, theta, obs, y + 2.0, rng


def n_phi(vf):
    return vf.num_params - vf.hidden[-1] - 1


def features(vf, theta, obs):
    return vf.net.forward(theta, obs)[1].inputs[-1]


# ------------------------------------------------------------------------------ the solve
@given(varpro_cases())
def test_solved_output_layer_is_scipys_least_squares_of_the_stacked_system(case):
    """(w*, b*) minimises (1/2N)‖F w + b − y‖² + (λ/2)‖w‖²: the least-squares solution of
    [F 1; √(Nλ) I 0] x = [y; 0], by scipy.linalg.lstsq (the minimum-norm one where λ = 0)."""
    vf, theta, obs, y, _ = build(case)
    F = features(vf, theta, obs)
    N, H = F.shape
    A = np.vstack([np.c_[F, np.ones(N)], np.c_[np.sqrt(N * vf.l2) * np.eye(H), np.zeros(H)]])
    want = scipy.linalg.lstsq(A, np.r_[y, np.zeros(H)])[0]
    got = solve_output_layer(F, y, vf.l2)
    assert got.shape == (H + 1,)
    np.testing.assert_allclose(got, want, rtol=0, atol=SOLVE_RTOL * (1 + np.abs(want).max()))


def test_without_l2_rank_deficient_features_get_the_minimum_norm_solution():
    """λ = 0 and two equal feature columns (a singular FᵀF): the minimum-norm least-squares
    solution, as scipy.linalg.lstsq gives it, with equal weights on the two columns."""
    rng = np.random.default_rng(7)
    F = np.tanh(rng.standard_normal((40, 4)))
    F[:, 3] = F[:, 1]
    y = rng.standard_normal(40)
    want = scipy.linalg.lstsq(np.c_[F, np.ones(40)], y)[0]
    got = solve_output_layer(F, y, 0.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=SOLVE_RTOL * (1 + np.abs(want).max()))
    assert got[1] == pytest.approx(got[3], rel=SOLVE_RTOL)


@given(varpro_cases())
def test_the_solved_output_layer_zeroes_the_output_gradient(case):
    """At (φ, w*, b*) the full objective's gradient in the output layer vanishes, and its loss
    is R(φ): the premise of the envelope theorem, read off value.py's own gradient."""
    vf, theta, obs, y, _ = build(case)
    Q = n_phi(vf)
    R, _ = reduced_loss_and_grad(vf, theta[:Q], obs, y)
    full = np.r_[theta[:Q], solve_output_layer(features(vf, theta, obs), y, vf.l2)]
    L, g = vf.loss_and_grad(full, obs, y)
    assert R == pytest.approx(L, rel=SUM_RTOL)
    scale = 1 + np.abs(y).max() * (1 + np.abs(features(vf, theta, obs)).max())
    np.testing.assert_allclose(g[Q:], 0.0, rtol=0, atol=SOLVE_RTOL * scale)
    assert R <= vf.loss_and_grad(theta, obs, y)[0] * (1 + SUM_RTOL)  # no output layer does better


@given(varpro_cases())
def test_reduced_gradient_matches_central_differences(case):
    """∇R·v equals the central difference of R(φ) along random unit directions v."""
    vf, theta, obs, y, rng = build(case)
    Q = n_phi(vf)
    phi = theta[:Q]
    R, g = reduced_loss_and_grad(vf, phi, obs, y)
    assert g.shape == (Q,)
    for _ in range(3):
        v = rng.standard_normal(Q)
        v /= np.linalg.norm(v)
        fd = (
            reduced_loss_and_grad(vf, phi + FD_EPS * v, obs, y)[0]
            - reduced_loss_and_grad(vf, phi - FD_EPS * v, obs, y)[0]
        ) / (2 * FD_EPS)
        assert abs(fd - g @ v) <= FD_RTOL * (abs(g @ v) + abs(R))


# ------------------------------------------------------------------------------ the fit
def _problem(n=256, seed=0, l2=1e-3):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, 3))
    y = np.sin(2.0 * obs @ rng.standard_normal(3) / np.sqrt(3)) + 0.1 * rng.standard_normal(n)
    vf = ValueFunction(3, (16, 7), l2=l2, max_iter=6)  # unequal widths: the output layer's is 7
    return vf, vf.init(rng), obs, 5.0 + 3.0 * y


@pytest.mark.parametrize("l2", [1e-3, 0.0])
def test_fit_lowers_the_loss_it_reports_and_leaves_theta_alone(l2):
    """The fit's θ has the loss and MSE its info states (value.py's objective), lower than the
    start's, whose loss, MSE and explained variance the info also states; θ is not modified."""
    vf, theta, obs, y = _problem(l2=l2)
    before = theta.copy()
    theta_new, info = fit_varpro(vf, theta, obs, y)
    np.testing.assert_array_equal(theta, before)
    assert not np.shares_memory(theta_new, theta)
    L0 = vf.loss_and_grad(theta, obs, y)[0]
    L1 = vf.loss_and_grad(theta_new, obs, y)[0]
    assert info.loss_before == pytest.approx(L0, rel=SUM_RTOL)
    assert info.loss_after == pytest.approx(L1, rel=SUM_RTOL) and L1 < 0.1 * L0
    V0, V1 = vf.predict(theta, obs), vf.predict(theta_new, obs)
    assert info.mse_before == pytest.approx(np.mean((V0 - y) ** 2), rel=SUM_RTOL)
    assert info.mse_after == pytest.approx(np.mean((V1 - y) ** 2), rel=SUM_RTOL)
    assert info.explained_variance == pytest.approx(1 - np.var(y - V0) / np.var(y), rel=1e-12)
    assert info.iterations == 6 and info.n_evaluations >= 6  # max_iter from the constructor
    assert info.success is False and "ITERATIONS REACHED LIMIT" in info.message


@pytest.mark.parametrize("hidden", [(5,), (4, 6, 3)])
def test_fit_of_one_or_three_hidden_layers_solves_the_last_ones_output(hidden):
    """Any depth: the fit's θ ends in the output layer solved for its own features."""
    _, _, obs, y = _problem()
    vf = ValueFunction(3, hidden, l2=1e-3, max_iter=4)
    theta = vf.init(1)
    theta_new, info = fit_varpro(vf, theta, obs, y)
    Q = n_phi(vf)
    want = solve_output_layer(features(vf, theta_new, obs), y, vf.l2)
    np.testing.assert_allclose(theta_new[Q:], want, rtol=0, atol=SOLVE_RTOL * np.abs(want).max())
    assert theta_new.shape == theta.shape and info.loss_after < info.loss_before


def test_fit_does_more_per_iteration_than_the_plain_fit():
    """With the output layer solved at every evaluation, k iterations lower L further than k
    iterations of L-BFGS-B on all of θ (here from the same start, for k = 2 … 8)."""
    vf, theta, obs, y = _problem()
    for k in range(2, 9):
        plain = vf.fit(theta, obs, y, max_iter=k)[1].loss_after
        assert fit_varpro(vf, theta, obs, y, max_iter=k)[1].loss_after < plain


def test_fit_is_deterministic_and_start_changes_no_bit():
    """Two fits give the same bits, and so does a fit handed forward()'s pass at θ."""
    vf, theta, obs, y = _problem()
    a, ia = fit_varpro(vf, theta, obs, y)
    b, ib = fit_varpro(vf, theta, obs, y)
    c, ic = fit_varpro(vf, theta, obs, y, start=vf.forward(theta, obs))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert ia == ib == ic


def test_one_forward_pass_per_evaluation_and_none_for_the_start_it_is_handed():
    """Each L-BFGS-B evaluation is one forward pass, the final θ is not evaluated again, and
    the start's pass is reused: nfev + 1 passes without start (V before the fit), nfev − 1
    with it."""
    vf, theta, obs, y = _problem()
    start = vf.forward(theta, obs)
    passes, real_forward = [], vf.net.forward
    vf.net.forward = lambda *args: passes.append(1) or real_forward(*args)
    _, info = fit_varpro(vf, theta, obs, y, max_iter=1)
    _, info_started = fit_varpro(vf, theta, obs, y, max_iter=1, start=start)
    assert len(passes) == info.n_evaluations + 1 + info_started.n_evaluations - 1
    assert info_started == info and info.n_evaluations >= 1  # and max_iter 1 is allowed


def test_ftol_stops_the_fit_early_from_the_argument_or_the_constructor():
    """A relative-decrease tolerance of 0.5 ends the fit after the first iteration that
    lowers L by less than half, well before max_iter: given to the fit or to ValueFunction."""
    vf, theta, obs, y = _problem()
    _, info = fit_varpro(vf, theta, obs, y, max_iter=50, ftol=0.5)
    assert info.iterations < 50 and info.success is True
    assert "RELATIVE REDUCTION OF F" in info.message
    own = ValueFunction(3, (16, 7), l2=vf.l2, max_iter=50, ftol=0.5)
    assert fit_varpro(own, theta, obs, y)[1] == info
    assert fit_varpro(own, theta, obs, y, ftol=1e-12)[1].iterations == 50


def test_start_of_another_theta_is_refused():
    vf, theta, obs, y = _problem()
    with pytest.raises(ValueError, match="start must be forward"):
        fit_varpro(vf, theta, obs, y, start=vf.forward(theta + 1.0, obs))


@pytest.mark.parametrize("bad_x", ["nan", "worse"])
def test_a_bad_optimizer_result_keeps_the_old_theta(monkeypatch, bad_x):
    """A non-finite φ, or one whose loss (output layer solved) is above the start's, is
    rejected: the starting θ is kept, as a copy, and the message says so."""
    vf, theta, obs, y = _problem(n=64)
    theta = fit_varpro(vf, theta, obs, y, max_iter=30)[0]  # a good start: saturating is worse
    real_minimize = value_varpro.minimize_lbfgsb

    def fake_minimize(fun, x0, **kwargs):
        res = real_minimize(fun, x0, **kwargs)
        return replace(res, x=np.full_like(x0, np.nan) if bad_x == "nan" else x0 * 100.0)

    monkeypatch.setattr(value_varpro, "minimize_lbfgsb", fake_minimize)
    theta_new, info = fit_varpro(vf, theta, obs, y, max_iter=3)
    np.testing.assert_array_equal(theta_new, theta)
    assert not np.shares_memory(theta_new, theta)
    assert info.loss_after == info.loss_before and info.mse_after == info.mse_before
    assert info.success is False and "kept the starting theta" in info.message
    why = {"nan": "the optimizer returned a non-finite theta",
           "worse": "the optimizer's theta has a higher loss"}[bad_x]  # fmt: skip
    assert f"; {why}" in info.message and info.message.endswith(": kept the starting theta")


# ------------------------------------------------------------------------------ the agent's
def test_fit_value_with_varpro_is_fit_varpro():
    """AgentConfig accepts vf_optimizer="varpro" and fit_value runs fit_varpro, bit for bit."""
    vf, theta, obs, y = _problem()
    cfg = AgentConfig(vf_optimizer="varpro")
    state = type("S", (), {"value_theta": theta, "value_adam": None})()
    got, gi = fit_value(cfg, vf, state, obs, y)
    want, wi = fit_varpro(vf, theta, obs, y)
    np.testing.assert_array_equal(got, want)
    assert gi == wi


# ------------------------------------------------------------------------------ bad input
def test_bad_inputs_raise_naming_the_argument():
    vf, theta, obs, y = _problem()
    with pytest.raises(TypeError, match="value must be a ValueFunction, got object"):
        fit_varpro(object(), theta, obs, y)
    with pytest.raises(ValueError, match="^value must have at least one hidden layer"):
        fit_varpro(ValueFunction(3, ()), np.zeros(4), obs, y)
    with pytest.raises(ValueError, match="phi must have shape"):
        reduced_loss_and_grad(vf, theta, obs, y)
    phi = theta[: n_phi(vf)].copy()
    with pytest.raises(TypeError, match="^phi"):
        reduced_loss_and_grad(vf, phi.astype(str), obs, y)
    phi[3] = np.nan
    with pytest.raises(ValueError, match="^phi"):
        reduced_loss_and_grad(vf, phi, obs, y)
    with pytest.raises(ValueError, match="targets"):
        fit_varpro(vf, theta, obs, y[:-1])
    with pytest.raises(ValueError, match="^max_iter"):
        fit_varpro(vf, theta, obs, y, max_iter=0)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="^ftol"):
            fit_varpro(vf, theta, obs, y, ftol=bad)


def test_an_agent_with_varpro_resumes_bit_for_bit_and_fits_alike_in_its_helper(tmp_path):
    """vf_optimizer="varpro" is saved with the agent: 2 iterations, save, load, 2 more equal 4
    uninterrupted; and the helper process's fit gives the in-process fit's θ_v."""
    from npytrpo import TRPO

    opts = dict(n_envs=2, n_steps=64, hidden=(16,), value_hidden=(16,), vf_iters=4, seed=3,
                vf_optimizer="varpro", normalize_obs=True)  # fmt: skip
    a = TRPO("Pendulum-v1", **opts)
    a.learn(2 * a.batch_size, progress_bar=False)
    a.save(str(tmp_path / "a.npz"))
    a.close()
    resumed = TRPO.load(str(tmp_path / "a.npz"))
    assert resumed.config.vf_optimizer == "varpro"
    resumed.learn(2 * resumed.batch_size, progress_bar=False)
    runs = [TRPO("Pendulum-v1", parallel_value_fit=p, **opts) for p in (True, False)]
    for b in runs:
        b.learn(4 * b.batch_size, progress_bar=False)
        np.testing.assert_array_equal(resumed.theta, b.theta)
        np.testing.assert_array_equal(resumed.value_theta, b.value_theta)
    for agent in (resumed, *runs):
        agent.close()
