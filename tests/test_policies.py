"""Policies: gradients against finite differences, Fisher matrices against the KL Hessian,
matrix-free products against the dense Fisher, the empirical Fisher against the exact one."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import policy_cases

from npytrpo.policies import CategoricalPolicy, GaussianPolicy, policy_from_spec

# Central differences with step H_GRAD: truncation O(H²·f''') ≈ 1e-10, rounding
# O(ε_mach·|L|/H) ≈ 1e-11 → 1e-6 relative leaves a wide margin on O(1) quantities.
H_GRAD = 1e-5
RTOL_FD_GRAD = 1e-6
# Second differences of the KL at θ_old with step H_HESS: the KL is 0 at h=0 and O(h²) nearby,
# odd terms cancel, so the error is O(h²) ≈ 1e-8 relative plus rounding of KL values themselves
# (ε_mach·|log p| / (h²·vᵀFv)) ≈ 1e-8 → 1e-5 relative to vᵀFv-scale quantities.
H_HESS = 1e-4
RTOL_FD_HESS = 1e-5
# Matrix-free F·v against the dense F @ v: same sums in another order, ~P·ε_mach rounding
# relative to ‖F‖·‖v‖; the issue asks 1e-12.
RTOL_FVP = 1e-12


cases = policy_cases  # (π, θ, obs, actions, Â, rng), from tests/strategies.py


def unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


@given(cases())
def test_surrogate_grad_matches_finite_differences_at_theta_old(case):
    """g·v equals the central difference of L along v at θ_old, for random directions v."""
    pi, theta, obs, a, adv, rng = case
    logp_old = pi.logp(theta, obs, a)
    g = pi.surrogate_grad(theta, obs, a, adv)
    scale = np.mean(np.abs(adv)) + 1e-3
    for _ in range(3):
        v = unit(rng, pi.num_params)
        fd = (
            pi.surrogate(theta + H_GRAD * v, obs, a, adv, logp_old)
            - pi.surrogate(theta - H_GRAD * v, obs, a, adv, logp_old)
        ) / (2 * H_GRAD)
        assert abs(g @ v - fd) <= RTOL_FD_GRAD * scale


@given(cases())
def test_surrogate_grad_away_from_theta_old_matches_finite_differences(case):
    """With logp_old given, the ratio-weighted gradient equals central differences at θ ≠ θ_old."""
    pi, theta, obs, a, adv, rng = case
    logp_old = pi.logp(theta, obs, a)
    theta1 = theta + 0.05 * rng.standard_normal(pi.num_params)
    g = pi.surrogate_grad(theta1, obs, a, adv, logp_old)
    ratio_scale = np.mean(np.exp(pi.logp(theta1, obs, a) - logp_old) * np.abs(adv)) + 1e-3
    v = unit(rng, pi.num_params)
    fd = (
        pi.surrogate(theta1 + H_GRAD * v, obs, a, adv, logp_old)
        - pi.surrogate(theta1 - H_GRAD * v, obs, a, adv, logp_old)
    ) / (2 * H_GRAD)
    assert abs(g @ v - fd) <= RTOL_FD_GRAD * ratio_scale


@given(cases())
def test_surrogate_at_theta_old_is_mean_advantage(case):
    """L(θ_old) = mean(Â) because every ratio is exactly 1."""
    pi, theta, obs, a, adv, _ = case
    L = pi.surrogate(theta, obs, a, adv, pi.logp(theta, obs, a))
    assert L == pytest.approx(np.mean(adv), rel=1e-14, abs=1e-14)


@given(cases())
def test_entropy_grad_matches_finite_differences(case):
    """The mean-entropy gradient equals central differences of mean H along random v."""
    pi, theta, obs, _, _, rng = case
    g = pi.entropy_grad(theta, obs)
    v = unit(rng, pi.num_params)
    fd = (
        pi.entropy(theta + H_GRAD * v, obs).mean() - pi.entropy(theta - H_GRAD * v, obs).mean()
    ) / (2 * H_GRAD)
    assert abs(g @ v - fd) <= RTOL_FD_GRAD * (1.0 + abs(pi.entropy(theta, obs).mean()))


@given(cases())
def test_fisher_matrix_is_symmetric_psd(case):
    """F is exactly symmetric and its eigenvalues are ≥ −ε‖F‖."""
    pi, theta, obs, *_ = case
    F = pi.fisher_matrix(theta, obs)
    assert F.shape == (pi.num_params, pi.num_params)
    np.testing.assert_array_equal(F, F.T)
    eig = np.linalg.eigvalsh(F)
    assert eig.min() >= -1e-12 * max(eig.max(), 1.0)


@pytest.mark.parametrize("direction", ["old_new", "new_old"])
@given(case=cases())
def test_fisher_matrix_is_kl_hessian(direction, case):
    """uᵀFv equals the finite-difference Hessian of the mean KL at θ_old (polarisation)."""
    pi, theta, obs, *_, rng = case

    def Q(v):  # second difference: vᵀ ∇²D̄ v
        kp = pi.kl(theta, theta + H_HESS * v, obs, direction)
        km = pi.kl(theta, theta - H_HESS * v, obs, direction)
        return (kp + km - 2 * pi.kl(theta, theta, obs, direction)) / H_HESS**2

    F = pi.fisher_matrix(theta, obs)
    scale = np.linalg.norm(F, 2) + 1e-3
    for _ in range(2):
        u, v = unit(rng, pi.num_params), unit(rng, pi.num_params)
        bilinear = (Q(u + v) - Q(u - v)) / 4.0
        assert abs(u @ F @ v - bilinear) <= RTOL_FD_HESS * scale
        assert abs(v @ F @ v - Q(v)) <= RTOL_FD_HESS * scale


def test_fisher_matrix_is_full_kl_hessian_small():
    """On a tiny policy every entry of F equals the finite-difference Hessian of the mean KL."""
    rng = np.random.default_rng(3)
    for pi in (CategoricalPolicy(2, 3, (2,)), GaussianPolicy(2, 2, (2,))):
        theta = pi.init(rng) + 0.5 * rng.standard_normal(pi.num_params)
        obs = rng.standard_normal((7, 2))
        P = pi.num_params
        E = np.eye(P) * H_HESS

        def kl(t, pi=pi, theta=theta, obs=obs):
            return pi.kl(theta, t, obs)

        H = np.empty((P, P))
        for i in range(P):
            for j in range(P):
                H[i, j] = (
                    kl(theta + E[i] + E[j])
                    - kl(theta + E[i] - E[j])
                    - kl(theta - E[i] + E[j])
                    + kl(theta - E[i] - E[j])
                ) / (4 * H_HESS**2)
        F = pi.fisher_matrix(theta, obs)
        np.testing.assert_allclose(F, H, atol=RTOL_FD_HESS * np.abs(F).max())


@given(cases())
def test_fisher_vector_product_equals_dense(case):
    """fisher_vector_product and fisher_operator equal fisher_matrix @ v to 1e-12 relative."""
    pi, theta, obs, *_, rng = case
    F = pi.fisher_matrix(theta, obs)
    op = pi.fisher_operator(theta, obs)
    scale = np.linalg.norm(F, 2)
    for _ in range(3):
        v = rng.standard_normal(pi.num_params)
        ref = F @ v
        tol = RTOL_FVP * scale * np.linalg.norm(v)
        assert np.linalg.norm(pi.fisher_vector_product(theta, obs, v) - ref) <= tol
        assert np.linalg.norm(op(v) - ref) <= tol


@given(cases(kinds=("categorical",)))
def test_categorical_expected_score_outer_product_is_fisher(case):
    """Σ_a π(a|s) ∇log π ∇log πᵀ, summed exactly over actions, equals F (to rounding)."""
    pi, theta, obs, *_ = case
    N, K = obs.shape[0], pi.head.n_actions
    obs_rep = np.repeat(obs, K, axis=0)
    acts = np.tile(np.arange(K), N)
    w = np.exp(pi.logp(theta, obs_rep, acts))  # π(a|s) for each (s, a) pair
    S = pi.score_matrix(theta, obs_rep, acts)
    expected = (S * w[:, None]).T @ S / N
    F = pi.fisher_matrix(theta, obs)
    np.testing.assert_allclose(expected, F, atol=1e-12 * max(np.abs(F).max(), 1.0))


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_empirical_fisher_converges_to_exact(kind):
    """The empirical Fisher over M actions sampled per state is within 6 standard errors of F.

    Seeded: the bound is statistical (per-entry false-alarm probability ≈ 2e-9).
    """
    rng = np.random.default_rng(11)
    pi = CategoricalPolicy(3, 3, (4,)) if kind == "categorical" else GaussianPolicy(3, 2, (4,))
    theta = pi.init(rng) + 0.5 * rng.standard_normal(pi.num_params)
    obs = rng.standard_normal((5, 3))
    M = 4000
    obs_rep = np.repeat(obs, M, axis=0)
    S = pi.score_matrix(theta, obs_rep, pi.sample(theta, obs_rep, rng))
    outer = S[:, :, None] * S[:, None, :]  # (N·M, P, P)
    emp = pi.empirical_fisher(theta, obs_rep, pi.sample(theta, obs_rep, rng))
    F = pi.fisher_matrix(theta, obs)
    stderr = outer.std(axis=0) / np.sqrt(obs_rep.shape[0])
    mean = outer.mean(axis=0)
    assert np.all(np.abs(mean - F) <= 6 * stderr + 1e-12)
    # The library's empirical_fisher is the same estimator on an independent draw.
    assert np.all(np.abs(emp - F) <= 6 * np.sqrt(2) * stderr + 1e-12 + 6 * stderr)


@given(cases(kinds=("categorical",)))
def test_categorical_gradient_lies_in_range_of_fisher(case):
    """F is singular along the shift of all output logits, and g is orthogonal to it."""
    pi, theta, obs, a, adv, _ = case
    shift = np.zeros(pi.num_params)
    shift[pi.net.num_params - pi.head.n_actions :] = 1.0  # the output bias: every logit + c
    F = pi.fisher_matrix(theta, obs)
    g = pi.surrogate_grad(theta, obs, a, adv)
    scale = np.abs(F).max() + 1e-12
    assert np.abs(F @ shift).max() <= 1e-13 * scale * pi.head.n_actions
    assert abs(g @ shift) <= 1e-13 * (np.abs(adv).mean() + 1e-12) * pi.head.n_actions


def fisher_factor(pi, theta, obs):
    """A with F = AᵀA/N, built independently of the library: rows M_n^{1/2} J_n."""
    out, cache = pi.net.forward(theta[: pi.net.num_params], obs)
    J = pi.net.jacobian(cache)  # (N, d_out, P0)
    P0 = pi.net.num_params
    if pi.kind == "categorical":
        p = np.exp(out - out.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        rows = np.sqrt(p)[:, :, None] * (J - np.einsum("nk,nkp->np", p, J)[:, None, :])
        return rows.reshape(-1, P0)
    sigma = np.exp(theta[P0:])
    rows = np.zeros((obs.shape[0] * pi.head.act_dim + pi.head.act_dim, pi.num_params))
    rows[: -pi.head.act_dim, :P0] = (J / sigma[None, :, None]).reshape(-1, P0)
    rows[-pi.head.act_dim :, P0:] = np.sqrt(2.0 * obs.shape[0]) * np.eye(pi.head.act_dim)
    return rows


@given(cases())
def test_gradient_in_range_of_fisher(case):
    """g ∈ range(F) = range(Aᵀ) for the factor F = AᵀA/N: the least-squares residual vanishes."""
    pi, theta, obs, a, adv, _ = case
    A = fisher_factor(pi, theta, obs)
    np.testing.assert_allclose(
        A.T @ A / obs.shape[0], pi.fisher_matrix(theta, obs), atol=1e-13 * np.abs(A).max() ** 2
    )
    g = pi.surrogate_grad(theta, obs, a, adv)
    c = np.linalg.lstsq(A.T, g, rcond=None)[0]
    # A least-squares solve by SVD leaves a residual of O(ε_mach·cond) only along directions
    # that are truly outside the range; everything in it is reproduced to rounding.
    assert np.linalg.norm(A.T @ c - g) <= 1e-9 * (np.linalg.norm(g) + 1e-12)


@given(cases())
def test_kl_is_zero_at_equal_parameters_and_nonnegative(case):
    """D̄(θ, θ) = 0 and D̄(θ_old, θ) ≥ 0 in both directions."""
    pi, theta, obs, *_, rng = case
    other = theta + 0.3 * rng.standard_normal(pi.num_params)
    for d in ("old_new", "new_old"):
        assert pi.kl(theta, theta, obs, d) == 0.0
        assert pi.kl(theta, other, obs, d) >= 0.0


# Linearization (Policy.linearize) against the public methods: the same forward passes summed
# in another grouping, so ~1e-15 relative; 1e-12 leaves a wide margin.
RTOL_LIN = 1e-12


def categorical_kl_by_hand(pi, theta_p, theta_q, obs):
    """(1/N) Σ_n Σ_a p(a|s_n) (log p(a|s_n) − log q(a|s_n)), from logp of every action."""
    N, n_actions = obs.shape[0], pi.head.n_actions
    kl = np.zeros(N)
    for a in range(n_actions):
        actions = np.full(N, a)
        lp, lq = pi.logp(theta_p, obs, actions), pi.logp(theta_q, obs, actions)
        kl += np.exp(lp) * (lp - lq)
    return float(np.mean(kl))


@pytest.mark.parametrize("direction", ["old_new", "new_old"])
@given(case=cases(), c=st.sampled_from([0.0, 0.05]))
def test_linearization_trial_kl_and_gain(direction, case, c):
    """evaluate(s) = (D̄ in kl_direction between θ_old and θ_old + s, the L + cH̄ gain); for the
    categorical head D̄ is also summed by hand, KL(p‖q) with p = π_old first for old_new."""
    pi, theta, obs, a, adv, rng = case
    lin = pi.linearize(theta, obs, a, adv, kl_direction=direction, entropy_coef=c,
                       fvp_subsample=1)
    step = 0.3 * rng.standard_normal(pi.num_params)
    kl, gain = lin.evaluate(step)
    new = theta + step
    assert kl == pytest.approx(pi.kl(theta, new, obs, direction), rel=RTOL_LIN, abs=1e-15)
    if hasattr(pi.head, "n_actions"):
        p, q = (theta, new) if direction == "old_new" else (new, theta)
        assert kl == pytest.approx(categorical_kl_by_hand(pi, p, q, obs), rel=1e-10, abs=1e-14)
    L_new = pi.surrogate(new, obs, a, adv, pi.logp(theta, obs, a))
    H_gain = pi.entropy(new, obs).mean() - pi.entropy(theta, obs).mean()
    expected = L_new - np.mean(adv) + c * H_gain
    assert gain == pytest.approx(expected, rel=1e-10, abs=1e-12 * (1 + np.abs(adv).max()))


@given(case=cases(), c=st.sampled_from([0.01, 0.5]))
def test_linearization_gradient_is_surrogate_plus_scaled_entropy_gradient(case, c):
    """g of linearize(..., entropy_coef=c) = ∇L + c·∇H̄ at θ_old, with c at its face value."""
    pi, theta, obs, a, adv, _ = case
    lin = pi.linearize(theta, obs, a, adv, kl_direction="old_new", entropy_coef=c,
                       fvp_subsample=1)
    gL, gH = pi.surrogate_grad(theta, obs, a, adv), pi.entropy_grad(theta, obs)
    scale = np.linalg.norm(gL) + c * np.linalg.norm(gH) + 1e-300
    assert np.linalg.norm(lin.g - (gL + c * gH)) <= RTOL_LIN * scale
    assert lin.entropy == pytest.approx(pi.entropy(theta, obs).mean(), rel=1e-14)


def test_gaussian_mean_kl_reduction_scales_kl_and_fisher():
    """kl_reduction='mean' divides both the KL and the Fisher by act_dim."""
    rng = np.random.default_rng(5)
    s, m = GaussianPolicy(3, 3, (4,)), GaussianPolicy(3, 3, (4,), kl_reduction="mean")
    theta = s.init(rng) + 0.3 * rng.standard_normal(s.num_params)
    other = theta + 0.1 * rng.standard_normal(s.num_params)
    obs = rng.standard_normal((9, 3))
    assert m.kl(theta, other, obs) == pytest.approx(s.kl(theta, other, obs) / 3, rel=1e-14)
    np.testing.assert_allclose(m.fisher_matrix(theta, obs), s.fisher_matrix(theta, obs) / 3)
    v = rng.standard_normal(s.num_params)
    np.testing.assert_allclose(
        m.fisher_vector_product(theta, obs, v), s.fisher_matrix(theta, obs) @ v / 3
    )


def test_linear_policy_uses_documented_layout():
    """A hidden=() categorical policy's logits are obs @ W + b with W row-major first in θ."""
    pi = CategoricalPolicy(3, 2, hidden=())
    theta = np.arange(8, dtype=float) / 10
    W, b = theta[:6].reshape(3, 2), theta[6:]
    obs = np.array([[1.0, -2.0, 0.5]])
    z = obs @ W + b
    expected = z[0] - np.log(np.exp(z[0]).sum())
    np.testing.assert_allclose(pi.logp(theta, np.repeat(obs, 2, 0), np.array([0, 1])), expected)


def test_sample_and_mode_shapes_and_types():
    """sample/mode return int (N,) or float (N, d) actions; one observation gives one action."""
    rng = np.random.default_rng(0)
    c, g = CategoricalPolicy(4, 3, (5,)), GaussianPolicy(4, 2, (5,))
    obs = rng.standard_normal((6, 4))
    for pi, shape, kind in ((c, (6,), "i"), (g, (6, 2), "f")):
        theta = pi.init(rng)
        for a in (pi.sample(theta, obs, rng), pi.mode(theta, obs)):
            assert a.shape == shape and a.dtype.kind == kind
        assert pi.sample(theta, obs[0], rng).shape == shape[1:]
    theta = c.init(0)
    assert c.sample(theta, obs, 7).tolist() == c.sample(theta, obs, 7).tolist()


def test_spec_round_trip():
    """policy_from_spec(policy.spec()) rebuilds an equivalent policy."""
    for pi in (CategoricalPolicy(4, 3, (5, 2)), GaussianPolicy(2, 2, (), 0.5, "mean")):
        again = policy_from_spec(pi.spec())
        assert type(again) is type(pi) and again.spec() == pi.spec()
        assert again.num_params == pi.num_params
    with pytest.raises(ValueError, match="policy"):
        policy_from_spec({"policy": "beta"})


# ------------------------------------------------------------------------------ bad input
def test_constructor_rejects_bad_arguments():
    """Bad constructor arguments raise errors that name the argument."""
    with pytest.raises(ValueError, match="n_actions"):
        CategoricalPolicy(3, 1)
    with pytest.raises(TypeError, match="n_actions"):
        CategoricalPolicy(3, 2.0)
    with pytest.raises(TypeError, match="obs_dim"):
        CategoricalPolicy(True, 2)
    with pytest.raises(ValueError, match="obs_dim"):
        GaussianPolicy(0, 2)
    with pytest.raises(ValueError, match="act_dim"):
        GaussianPolicy(2, 0)
    with pytest.raises(TypeError, match="hidden"):
        GaussianPolicy(2, 1, hidden=64)
    with pytest.raises(ValueError, match="hidden"):
        GaussianPolicy(2, 1, hidden=(64, 0))
    with pytest.raises(ValueError, match="log_std_init"):
        GaussianPolicy(2, 1, log_std_init=float("nan"))
    with pytest.raises(ValueError, match="kl_reduction"):
        GaussianPolicy(2, 1, kl_reduction="max")


def test_methods_reject_bad_input():
    """Wrong shapes, non-finite values, dtype mix-ups and unknown directions name the argument."""
    c, g = CategoricalPolicy(3, 2, (4,)), GaussianPolicy(3, 2, (4,))
    tc, tg = c.init(0), g.init(0)
    obs = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"theta must have shape \(26,\)"):
        c.logp(tc[:-1], obs, np.zeros(5, int))
    with pytest.raises(TypeError, match="theta"):
        c.logp(np.zeros(c.num_params, dtype=int), obs, np.zeros(5, int))
    with pytest.raises(ValueError, match="theta must be finite"):
        c.logp(np.full(c.num_params, np.nan), obs, np.zeros(5, int))
    with pytest.raises(ValueError, match="obs must be finite"):
        c.entropy(tc, np.full((5, 3), np.inf))
    with pytest.raises(ValueError, match=r"obs must have shape \(N, 3\)"):
        c.entropy(tc, np.zeros((5, 4)))
    with pytest.raises(TypeError, match="actions"):
        c.logp(tc, obs, np.zeros(5))
    with pytest.raises(ValueError, match="actions must lie in"):
        c.logp(tc, obs, np.full(5, 2))
    with pytest.raises(TypeError, match="actions"):
        g.logp(tg, obs, np.zeros((5, 2), dtype=int))
    with pytest.raises(ValueError, match=r"actions must have shape \(5, 2\)"):
        g.logp(tg, obs, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="direction"):
        c.kl(tc, tc, obs, direction="forward")
    with pytest.raises(ValueError, match="theta_old"):
        c.kl(tc[:3], tc, obs)
    with pytest.raises(ValueError, match="advantages"):
        c.surrogate_grad(tc, obs, np.zeros(5, int), np.zeros(4))
    with pytest.raises(ValueError, match="logp_old"):
        c.surrogate(tc, obs, np.zeros(5, int), np.zeros(5), np.zeros(6))
    with pytest.raises(ValueError, match=r"v must have shape"):
        g.fisher_vector_product(tg, obs, np.zeros(3))
