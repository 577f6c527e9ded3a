"""Tests for npytrpo.gsde: the gSDE head (state-dependent exploration, features detached).

Derivatives are judged by central differences of the quantity they differentiate; the metric by
the finite-difference Hessian of the mean KL (features held fixed) and by E[score scoreᵀ] from
Gauss–Hermite quadrature (exact for the polynomial integrands); KL and entropy by SciPy and by
Monte Carlo with 5σ bounds; the samplers by their first two moments.
"""

import itertools
import json

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from npytrpo.gsde import GSDEDist, GSDEHead

# Central first differences with step 1e-5: truncation ε²/6·|f'''| plus rounding eps·|f|/ε
# ≈ 2e-11·|f|, relative to 1 + |f| + |f'| (Λ in [−1, 1], v ≥ 0.09·e⁻² ≈ 0.012 below keep |f'''|
# moderate). Worst of 300 random cases: 1.1e-10 (score and entropy gradient); 1e-8 leaves ~100x
# and still catches any wrong formula (an O(1) relative error).
FD_EPS = 1e-5
FD_RTOL = 1e-8
# Hessian-vector products by the mixed second difference
#   [f(x+εu+εe) − f(x+εu−εe) − f(x−εu+εe) + f(x−εu−εe)] / 4ε²
# with |u| = 1: truncation ε²·|f⁗| and rounding eps·R/ε², R the rounding scale of f. The KL is
# built from t − log1p(t) (rounding eps·|t| ≈ eps·ε) and squared mean differences, so R ~ eps·ε
# and ε = 1e-5 keeps both small: worst of 300 random cases 9e-11 of the largest metric entry;
# 1e-8 leaves ~100x.
HESS_EPS = 1e-5
HESS_RTOL = 1e-8
# Two exact evaluations of the same finite sums (quadrature vs closed form): rounding only,
# a few eps relative to the largest entry (worst of 300 random cases: 1.6e-15).
EXACT_RTOL = 1e-13
# Monte Carlo: a mean of M i.i.d. draws has standard error std/√M; a 5σ bound fails with
# probability < 6e-7 per check. The seed is fixed so that a rare failure is reproducible.
MC_SEED = 20240611
MC_SAMPLES = 20_000
MC_SIGMAS = 5.0
# Gauss–Hermite nodes per action dimension: the score products are polynomials of degree ≤ 4 in
# each standardised coordinate, integrated exactly by ≥ 3 nodes.
GH_NODES = 5


# ------------------------------------------------------------------------------ strategies
@st.composite
def head_cases(draw, epsilons=(1e-6, 0.0, 0.05)):
    """(head, out, theta_h, features, rng): n_features 1–6, act_dim 1–3, N 1–32.

    Λ in [−1, 1] and |z| in [0.3, 1.5] keep the variance in [0.012, 1e2] (conditioning).
    """
    nf, d, N = draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 32))
    head = GSDEHead(
        nf,
        d,
        full_std=draw(st.booleans()),
        epsilon=draw(st.sampled_from(epsilons)),
        kl_reduction=draw(st.sampled_from(["sum", "mean"])),
        log_std_init=draw(st.floats(-2.0, 1.0)),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    theta_h = rng.uniform(-1.0, 1.0, head.num_params)
    features = rng.choice([-1.0, 1.0], (N, nf)) * rng.uniform(0.3, 1.5, (N, nf))
    out = rng.standard_normal((N, d))
    return head, out, theta_h, features, rng


def sigma_matrix(head, theta_h):
    """σ as an (n_features, act_dim) matrix, from the documented layout of θ_h."""
    if head.full_std:
        return np.exp(theta_h).reshape(head.n_features, head.act_dim)
    return np.exp(theta_h)[:, None] * np.ones((1, head.act_dim))


def close(a, b, rtol, scale=None):
    """max |a − b| ≤ rtol · (1 + max |b|) (or · scale)."""
    a, b = np.asarray(a), np.asarray(b)
    s = 1.0 + np.abs(b).max() if scale is None else scale
    return np.abs(a - b).max() <= rtol * s


def dense_metric(head, dist):
    """The metric as a dense matrix over x = (out.ravel(), θ_h), one column per basis vector."""
    N, d = dist.mean.shape
    D = N * d + head.num_params
    apply = head.metric(dist, N)
    M = np.empty((D, D))
    for k, e in enumerate(np.eye(D)):
        m_out, m_h = apply(e[: N * d].reshape(N, d), e[N * d :])
        M[:, k] = np.concatenate([m_out.ravel(), m_h])
    return M


# ------------------------------------------------------------------------------ closed forms
@given(head_cases())
def test_logp_and_entropy_match_scipy(case):
    """log π and H equal SciPy's normal logpdf/entropy with std = sqrt(z²σ² + ε) (sb3's form)."""
    head, out, theta_h, z, rng = case
    dist = head.params(out, theta_h, z)
    sigma = sigma_matrix(head, theta_h)
    std = np.sqrt((z**2) @ (sigma**2) + head.epsilon)
    a = out + std * rng.standard_normal(out.shape)
    assert close(head.logp(dist, a), scipy.stats.norm.logpdf(a, out, std).sum(1), 1e-13)
    assert close(head.entropy(dist), scipy.stats.norm.entropy(out, std).sum(1), 1e-13)
    assert np.array_equal(head.mode(dist), out)


@given(head_cases())
def test_kl_zero_at_equality_and_nonnegative(case):
    """KL(p‖p) = 0 and KL(p‖q) ≥ 0, also for q with other features."""
    head, out, theta_h, z, rng = case
    p = head.params(out, theta_h, z)
    assert np.all(head.kl(p, p) == 0.0)
    q = head.params(rng.standard_normal(out.shape), rng.uniform(-1, 1, theta_h.shape), z * 1.3)
    assert np.all(head.kl(p, q) >= 0.0)


@settings(max_examples=15)
@given(head_cases())
def test_kl_and_entropy_against_monte_carlo(case):
    """KL(p‖q) = E_p[log p − log q] and H = −E_p[log p], within 5 standard errors."""
    head, out, theta_h, z, _ = case
    N, d = out.shape
    rng = np.random.default_rng(MC_SEED)
    rep = np.repeat(np.arange(N), MC_SAMPLES)
    p = head.params(out[rep], theta_h, z[rep])
    q = head.params(out[rep] + 0.5, theta_h + 0.3, 0.8 * z[rep])
    a = head.sample(p, rng)
    scale = 1.0 if head.kl_reduction == "sum" else 1.0 / d
    for values, target in (
        (scale * (head.logp(p, a) - head.logp(q, a)), head.kl(p, q)),
        (-head.logp(p, a), head.entropy(p)),
    ):
        v = values.reshape(N, MC_SAMPLES)
        se = v.std(axis=1, ddof=1) / np.sqrt(MC_SAMPLES)
        assert np.all(np.abs(v.mean(axis=1) - target[::MC_SAMPLES]) <= MC_SIGMAS * se + 1e-12)


# ------------------------------------------------------------------------------ derivatives
@given(head_cases())
def test_score_matches_finite_differences(case):
    """∂log π/∂out and ∂log π/∂θ_h equal central differences of log π (features fixed)."""
    head, out, theta_h, z, rng = case
    a = head.sample(head.params(out, theta_h, z), rng)
    s_out, s_h = head.score(head.params(out, theta_h, z), a)
    f = lambda o, t: head.logp(head.params(o, t, z), a)  # noqa: E731
    scale = 1.0 + np.abs(f(out, theta_h)).max() + np.abs(s_out).max() + np.abs(s_h).max()
    for j in range(out.shape[1]):  # rows are independent: perturb a whole column at once
        e = np.zeros_like(out)
        e[:, j] = FD_EPS
        fd = (f(out + e, theta_h) - f(out - e, theta_h)) / (2 * FD_EPS)
        assert close(fd, s_out[:, j], FD_RTOL, scale)
    for k in range(head.num_params):
        e = np.zeros_like(theta_h)
        e[k] = FD_EPS
        fd = (f(out, theta_h + e) - f(out, theta_h - e)) / (2 * FD_EPS)
        assert close(fd, s_h[:, k], FD_RTOL, scale)


@given(head_cases())
def test_entropy_grad_matches_finite_differences(case):
    """∂H̄/∂θ_h equals central differences of the mean entropy; H does not depend on out."""
    head, out, theta_h, z, rng = case
    h_out, h_h = head.entropy_grad(head.params(out, theta_h, z))
    assert h_out is None
    H = lambda o, t: head.entropy(head.params(o, t, z)).mean()  # noqa: E731
    assert H(out + rng.standard_normal(out.shape), theta_h) == H(out, theta_h)
    fd = np.empty(head.num_params)
    for k in range(head.num_params):
        e = np.zeros_like(theta_h)
        e[k] = FD_EPS
        fd[k] = (H(out, theta_h + e) - H(out, theta_h - e)) / (2 * FD_EPS)
    assert close(fd, h_h, FD_RTOL)


def kl_hvp_fd(head, p, z, x0, u):
    """H u by mixed second differences of f(x) = mean_n KL(p_n ‖ q_n(x)), x = (out', θ_h')."""
    N, d = p.mean.shape

    def f(x):
        q = head.params(x[: N * d].reshape(N, d), x[N * d :], z)
        return head.kl(p, q).mean()

    Hu = np.empty_like(x0)
    for k in range(x0.size):
        e = np.zeros_like(x0)
        e[k] = HESS_EPS
        du = HESS_EPS * u
        Hu[k] = f(x0 + du + e) - f(x0 + du - e) - f(x0 - du + e) + f(x0 - du - e)
    return Hu / (4 * HESS_EPS**2)


@settings(max_examples=30)
@given(head_cases())
def test_metric_is_the_kl_hessian(case):
    """The metric equals the FD Hessian of the mean KL in (out, θ_h): both blocks, zero across."""
    head, out, theta_h, z, rng = case
    N, d = out.shape
    p = head.params(out, theta_h, z)
    apply = head.metric(p, N)
    x0 = np.concatenate([out.ravel(), theta_h])
    M = dense_metric(head, p)
    for block in ("out", "head", "both"):
        u = rng.standard_normal(x0.size)
        if block == "out":
            u[N * d :] = 0.0
        elif block == "head":
            u[: N * d] = 0.0
        u /= np.linalg.norm(u)
        m_out, m_h = apply(u[: N * d].reshape(N, d), u[N * d :])
        Mu = np.concatenate([m_out.ravel(), m_h])
        # the zero entries of Mu (the other block) are checked against the FD values too
        assert close(kl_hvp_fd(head, p, z, x0, u), Mu, HESS_RTOL, 1.0 + np.abs(M).max())
    assert close(M, M.T, EXACT_RTOL)


def gauss_hermite_fisher(head, out, theta_h, z):
    """E[s sᵀ] per state over a ~ π(·|s_n), s = (∂log π/∂out_n, ∂log π/∂θ_h), by quadrature."""
    N, d = out.shape
    x1, w1 = np.polynomial.hermite_e.hermegauss(GH_NODES)
    w1 = w1 / w1.sum()
    x = np.array(list(itertools.product(x1, repeat=d)))  # (K^d, d) standard-normal nodes
    w = np.prod(np.array(list(itertools.product(w1, repeat=d))), axis=1)
    F = []
    for n in range(N):
        dist = head.params(np.repeat(out[n : n + 1], len(w), 0), theta_h, z[[n] * len(w)])
        s_out, s_h = head.score(dist, dist.mean + np.sqrt(dist.var) * x)
        S = np.hstack([s_out, s_h])
        F.append((S * w[:, None]).T @ S)
    return np.array(F)  # (N, d + P, d + P)


@settings(max_examples=30)
@given(head_cases())
def test_metric_is_expected_score_outer_product(case):
    """The metric equals (1/N) Σ_n E[s_n s_nᵀ] (exact quadrature), scaled 1/d for "mean"."""
    head, out, theta_h, z, _ = case
    N, d = out.shape
    F = gauss_hermite_fisher(head, out, theta_h, z)
    expected = np.zeros((N * d + head.num_params,) * 2)
    for n in range(N):
        o = slice(n * d, (n + 1) * d)
        expected[o, o] = F[n, :d, :d]
        expected[o, N * d :] = F[n, :d, d:]
        expected[N * d :, o] = F[n, d:, :d]
    expected[N * d :, N * d :] = F[:, d:, d:].sum(axis=0)
    expected *= (1.0 if head.kl_reduction == "sum" else 1.0 / d) / N
    assert close(dense_metric(head, head.params(out, theta_h, z)), expected, EXACT_RTOL)


# ------------------------------------------------------------------------------ samplers
@settings(max_examples=20)
@given(head_cases())
def test_sampler_marginal_mean_and_variance(case):
    """``sample`` draws N(μ, v) per state: sample mean and variance within 5 standard errors."""
    head, out, theta_h, z, _ = case
    N, d = out.shape
    rep = np.repeat(np.arange(N), MC_SAMPLES)
    dist = head.params(out[rep], theta_h, z[rep])
    a = head.sample(dist, np.random.default_rng(MC_SEED)).reshape(N, MC_SAMPLES, d)
    v = dist.var[::MC_SAMPLES]
    assert np.all(np.abs(a.mean(1) - out) <= MC_SIGMAS * np.sqrt(v / MC_SAMPLES))
    # the sample variance of Gaussian draws has standard error v·sqrt(2/(M − 1))
    assert np.all(np.abs(a.var(1, ddof=1) - v) <= MC_SIGMAS * v * np.sqrt(2 / (MC_SAMPLES - 1)))


@settings(max_examples=20)
@given(head_cases())
def test_noise_matrix_gives_the_stated_variance(case):
    """E_ij ~ N(0, σ_ij²); a = μ + zᵀE has mean μ, variance v − ε and uncorrelated dims."""
    head, out, theta_h, z, _ = case
    rng = np.random.default_rng(MC_SEED)
    M, d = MC_SAMPLES, head.act_dim
    E = head.sample_noise(theta_h, rng, n=M)
    sigma = sigma_matrix(head, theta_h)
    assert E.shape == (M, head.n_features, d)
    assert np.all(np.abs(E.mean(0)) <= MC_SIGMAS * sigma / np.sqrt(M))
    assert np.all(np.abs(E.var(0) - sigma**2) <= MC_SIGMAS * sigma**2 * np.sqrt(2 / (M - 1)))
    dist = head.params(out[:1], theta_h, z[:1])
    a = head.noisy_action(out[[0] * M], z[[0] * M], E)
    v = dist.var[0] - head.epsilon
    assert np.all(np.abs(a.mean(0) - out[0]) <= MC_SIGMAS * np.sqrt(v / M))
    assert np.all(np.abs(a.var(0, ddof=1) - v) <= MC_SIGMAS * v * np.sqrt(2 / (M - 1)))
    corr = np.corrcoef(a.T) if d > 1 else np.ones((1, 1))
    assert np.all(np.abs(corr - np.eye(d)) <= MC_SIGMAS / np.sqrt(M))


@given(head_cases())
def test_one_noise_matrix_is_shared_and_linear_in_features(case):
    """A shared E acts as one linear map on every row: μ + zE, the same as E repeated per row."""
    head, out, theta_h, z, rng = case
    E = head.sample_noise(theta_h, rng)
    a = head.noisy_action(head.params(out, theta_h, z), z, E)
    assert close(a, head.noisy_action(out, z, np.repeat(E[None], len(z), 0)), 1e-14)
    assert close(head.noisy_action(out, 2.0 * z, E) - out, 2.0 * (a - out), 1e-13)


# ------------------------------------------------------------------------------ options
@given(head_cases())
def test_shared_std_is_full_std_with_tied_columns(case):
    """full_std=False with Λ_i equals full_std=True with Λ_ij = Λ_i; its derivatives sum over j."""
    head, out, _, z, rng = case
    kw = {"epsilon": head.epsilon, "kl_reduction": head.kl_reduction}
    shared = GSDEHead(head.n_features, head.act_dim, full_std=False, **kw)
    full = GSDEHead(head.n_features, head.act_dim, full_std=True, **kw)
    lam = rng.uniform(-1, 1, head.n_features)
    R = np.kron(np.eye(head.n_features), np.ones((head.act_dim, 1)))  # θ_full = R λ
    ds, df = shared.params(out, lam, z), full.params(out, R @ lam, z)
    a = shared.sample(ds, rng)
    assert shared.num_params == head.n_features and np.array_equal(ds.var, df.var)
    assert close(shared.score(ds, a)[1], full.score(df, a)[1] @ R, 1e-13)
    assert close(shared.entropy_grad(ds)[1], R.T @ full.entropy_grad(df)[1], 1e-13)
    u = rng.standard_normal(head.n_features)
    N = len(out)
    assert close(shared.metric(ds, N)(out, u)[1], R.T @ full.metric(df, N)(out, R @ u)[1], 1e-13)


@given(head_cases())
def test_kl_reduction_mean_divides_kl_and_metric_by_act_dim(case):
    """kl_reduction mean = sum / act_dim for KL and both metric blocks; score, entropy unchanged."""
    head, out, theta_h, z, rng = case
    kw = {"full_std": head.full_std, "epsilon": head.epsilon}
    hs = GSDEHead(head.n_features, head.act_dim, kl_reduction="sum", **kw)
    hm = GSDEHead(head.n_features, head.act_dim, kl_reduction="mean", **kw)
    p, q = hs.params(out, theta_h, z), hs.params(out + 1.0, theta_h - 0.5, z)
    d = head.act_dim
    assert close(hm.kl(p, q), hs.kl(p, q) / d, 1e-14)
    u_out, u_h = rng.standard_normal(out.shape), rng.standard_normal(head.num_params)
    for ms, mm in zip(hs.metric(p, 3)(u_out, u_h), hm.metric(p, 3)(u_out, u_h), strict=True):
        assert close(mm, ms / d, 1e-14)
    a = hs.sample(p, rng)
    assert np.array_equal(hm.score(p, a)[1], hs.score(p, a)[1])
    assert np.array_equal(hm.entropy(p), hs.entropy(p))


def test_epsilon_is_added_to_the_variance():
    """v = z²σ² + ε exactly (sb3: std = sqrt(z² @ σ² + ε)); ε = 0 and z = 0 is a clear error."""
    z, lam = np.array([[0.5, -2.0], [0.0, 0.0]]), np.array([0.1, -0.3, 0.2, 0.0])
    sigma2 = np.exp(2 * lam).reshape(2, 2)
    for eps in (0.0, 1e-6, 0.25):
        head = GSDEHead(2, 2, epsilon=eps)
        if eps == 0.0:
            with pytest.raises(ValueError, match="epsilon"):
                head.params(np.zeros((2, 2)), lam, z)
            continue
        var = head.params(np.zeros((2, 2)), lam, z).var
        assert np.allclose(var, z**2 @ sigma2 + eps, rtol=1e-15, atol=0)
    assert GSDEHead(2, 2).epsilon == 1e-6 and GSDEHead(2, 2).log_std_init == 0.0
    assert np.array_equal(GSDEHead(2, 3, log_std_init=-2.0).init_params(), np.full(6, -2.0))


def test_spec_round_trips_through_json():
    """spec() is JSON-able and rebuilds an identical head."""
    head = GSDEHead(4, 2, log_std_init=-2.0, full_std=False, epsilon=0.0, kl_reduction="mean")
    again = GSDEHead.from_spec(json.loads(json.dumps(head.spec())))
    assert again.spec() == head.spec() and again.num_params == 4
    with pytest.raises(ValueError, match="spec"):
        GSDEHead.from_spec({"kind": "gaussian"})


def test_bad_inputs_give_clear_errors():
    """Wrong kinds raise TypeError, wrong values ValueError, naming the argument."""
    for kwargs, err, name in [
        ({"n_features": 2.0, "act_dim": 1}, TypeError, "n_features"),
        ({"n_features": 0, "act_dim": 1}, ValueError, "n_features"),
        ({"n_features": 2, "act_dim": True}, TypeError, "act_dim"),
        ({"n_features": 2, "act_dim": 1, "log_std_init": np.nan}, ValueError, "log_std_init"),
        ({"n_features": 2, "act_dim": 1, "full_std": 1}, TypeError, "full_std"),
        ({"n_features": 2, "act_dim": 1, "epsilon": -1e-6}, ValueError, "epsilon"),
        ({"n_features": 2, "act_dim": 1, "kl_reduction": "max"}, ValueError, "kl_reduction"),
    ]:
        with pytest.raises(err, match=name):
            GSDEHead(**kwargs)
    head = GSDEHead(2, 2)
    th, z, out = head.init_params(), np.ones((3, 2)), np.zeros((3, 2))
    with pytest.raises(TypeError, match="actions"):
        head.check_actions(np.zeros((3, 2), dtype=int), 3)
    with pytest.raises(ValueError, match="actions"):
        head.check_actions(np.zeros((3, 1)), 3)
    with pytest.raises(ValueError, match="actions"):
        head.check_actions(np.full((3, 2), np.nan), 3)
    assert head.check_actions(np.zeros((3, 2), np.float32), 3).dtype == np.float64
    assert GSDEHead(2, 1).check_actions(np.zeros(3), 3).shape == (3, 1)
    for args, name in [
        ((np.zeros((3, 3)), th, z), "out"),
        ((out, th[:3], z), "theta_h"),
        ((out, th, np.ones((3, 3))), "features"),
        ((out, th, np.ones((2, 2))), "features"),
        ((out, th, np.full((3, 2), np.inf)), "features"),
    ]:
        with pytest.raises(ValueError, match=name):
            head.params(*args)
    with pytest.raises(ValueError, match="E"):
        head.noisy_action(out, z, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n"):
        head.sample_noise(th, np.random.default_rng(0), n=0)
    assert isinstance(head.params(out, th, z), GSDEDist)
