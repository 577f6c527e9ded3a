"""Tests for npytrpo.distributions: the categorical and diagonal-Gaussian heads.

Every derivative is judged by central differences of the quantity it differentiates; every
Fisher metric by a finite-difference Hessian of the KL at equality and by E[score scoreᵀ]
computed exactly (enumeration for the categorical, Gauss–Hermite quadrature for the Gaussian);
closed forms by SciPy or Monte Carlo with a stated statistical bound.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from npytrpo.distributions import CategoricalHead, GaussianHead, head_from_spec, log_softmax

# The tests below speak of functions of a head's outputs; each is the head class's own method,
# the very code the policy, the Fisher products and the step call (no second implementation).


def _cat(z):
    return CategoricalHead(z.shape[1])


def categorical_logp(z, a):
    return _cat(z).logp(z, a)


def categorical_score(z, a):
    return _cat(z).score(z, a)[0]


def categorical_entropy(z):
    return _cat(z).entropy(z)


def categorical_entropy_grad(z):
    return _cat(z).entropy_grad(z)[0]


def categorical_kl(z_p, z_q):
    return _cat(z_p).kl(z_p, z_q)


def categorical_fisher_vector(z, u):
    return _cat(z).metric(z, 1)(u, None)[0]


def categorical_sample(z, rng):
    return _cat(z).sample(z, rng)


def categorical_mode(z):
    return _cat(z).mode(z)


def _gau(log_std):
    return GaussianHead(log_std.shape[0])


def gaussian_logp(mu, log_std, a):
    return _gau(log_std).logp((mu, log_std), a)


def gaussian_score(mu, log_std, a):
    return _gau(log_std).score((mu, log_std), a)


def gaussian_entropy(log_std, n):
    return _gau(log_std).entropy((np.zeros((n, log_std.shape[0])), log_std))


def gaussian_kl(mu_p, log_std_p, mu_q, log_std_q):
    return _gau(log_std_p).kl_per_dim((mu_p, log_std_p), (mu_q, log_std_q))


def gaussian_fisher_vector(log_std, u_mu, u_log_std):
    return _gau(log_std).metric((None, log_std), 1)(u_mu, u_log_std)


def gaussian_sample(mu, log_std, rng):
    return _gau(log_std).sample((mu, log_std), rng)


def gaussian_mode(mu):
    return GaussianHead(mu.shape[1]).mode((mu, np.zeros(mu.shape[1])))


# First derivatives by central differences (f(x+εe) − f(x−εe)) / 2ε: truncation ε²/6·|f'''|
# (log-softmax, entropy and Gaussian log-prob have |f'''| ≲ 100 on the inputs below) plus
# rounding eps_machine·|f|/ε ≈ 2e-11·|f|. With ε = 1e-5 both stay below ~2e-9 relative to
# 1 + |f'| + |f| (worst of 1500 random cases: 6e-11); 1e-7 leaves a wide margin and still
# catches any wrong formula (an O(1) relative error).
FD_EPS = 1e-5
FD_RTOL = 1e-7
# Hessian-vector products by the mixed second difference
#   [f(x+εu+εe) − f(x+εu−εe) − f(x−εu+εe) + f(x−εu−εe)] / 4ε²
# err ≈ ε²·|f⁗|·|u|³ (truncation) + eps_machine·R/ε² (rounding, R the rounding scale of f).
# Categorical KL: a sum of differences of log-probs, each rounded to eps·|log p|, so R ~ |log p|
# and ε = 1e-4 ≈ eps^{1/4} balances the two at ~1e-8 (worst of 1500 random cases: 5e-9).
HESS_EPS = 1e-4
# Gaussian KL: built from expm1 and squared mean differences, so its rounding is only of order
# eps·|μ|/ε, while the curvature e^{−2ℓ} (up to e⁴ at ℓ = −2) makes truncation dominate:
# ε = 1e-5 brings it to ~2e-9 (worst observed; it scales as ε², 2e-7 at ε = 1e-4).
GAUSS_HESS_EPS = 1e-5
# Both stay ≥ 200x below this; any wrong Fisher entry is an O(1) relative error.
HESS_RTOL = 1e-6
# Two exact computations of the same finite sum (no differencing): rounding only, a few eps
# relative to the sum of the absolute values of the terms.
EXACT_RTOL = 1e-12
# Σ_k exp(log_softmax(z))_k = 1: at most 6 terms, each exp rounded to a few eps relative to its
# probability plus the error ~eps·|z − max z| carried from the shift (|z| ≲ 50 here): ≤ ~1e-14.
SUM_ATOL = 1e-13
# Monte Carlo: the estimate of a mean from M i.i.d. draws has standard error std/√M; a 5σ bound
# fails with probability < 6e-7 per check. The seed is fixed so the test is deterministic (the
# bound is probabilistic: a fresh seed every run would make a rare failure unreproducible).
MC_SEED = 20240611
MC_SAMPLES = 20_000
MC_SIGMAS = 5.0


# ------------------------------------------------------------------------------ strategies
@st.composite
def categorical_cases(draw):
    """(z, rng): N 1–64 rows of K logits (2 ≤ K ≤ 6: a head has ≥ 2 actions), scale 0.1–10."""
    n = draw(st.integers(1, 64))
    k = draw(st.integers(2, 6))
    scale = draw(st.floats(0.1, 10.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return scale * rng.standard_normal((n, k)), rng


@st.composite
def gaussian_cases(draw):
    """(mu, log_std, rng): N 1–64 means of dimension 1–5, log-stds in [−2, 2]."""
    n = draw(st.integers(1, 64))
    d = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mu = draw(st.floats(0.1, 5.0)) * rng.standard_normal((n, d))
    log_std = rng.uniform(-2.0, 2.0, d)
    return mu, log_std, rng


def fd_columns(f, x):
    """Central-difference derivative of a row-wise f (N, K) → (N,) w.r.t. every column of x."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = FD_EPS
        out[:, j] = (f(x + e) - f(x - e)) / (2 * FD_EPS)
    return out


def fd_hessian_vector(f, x, u, h=HESS_EPS):
    """Mixed second difference: (H u)[:, j] for a row-wise f (N, m) → (N,), H its row Hessians."""
    Hu = np.empty_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = h
        Hu[:, j] = (f(x + h * u + e) - f(x + h * u - e) - f(x - h * u + e) + f(x - h * u - e)) / (
            4 * h * h
        )
    return Hu


# ============================================================================ categorical
@given(categorical_cases())
def test_log_softmax_normalised_and_matches_scipy(case):
    """exp(log_softmax(z)) rows sum to 1, and log_softmax agrees with scipy.special.log_softmax."""
    z, _ = case
    logp = log_softmax(z)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=0, atol=SUM_ATOL)
    np.testing.assert_allclose(
        logp, scipy.special.log_softmax(z, axis=1), rtol=0, atol=EXACT_RTOL * (1 + np.abs(z).max())
    )


@given(categorical_cases())
def test_categorical_score_matches_fd_of_logp(case):
    """categorical_score(z, a) equals the central-difference gradient of logp(z, a) in z."""
    z, rng = case
    a = rng.integers(0, z.shape[1], z.shape[0])
    score = categorical_score(z, a)
    fd = fd_columns(lambda zz: categorical_logp(zz, a), z)
    scale = 1.0 + np.abs(categorical_logp(z, a)).max()
    np.testing.assert_allclose(score, fd, rtol=0, atol=FD_RTOL * scale)


@given(categorical_cases())
def test_categorical_entropy_grad_matches_fd(case):
    """categorical_entropy_grad(z) equals the central-difference gradient of the entropy."""
    z, _ = case
    fd = fd_columns(categorical_entropy, z)
    scale = 1.0 + np.log(z.shape[1])  # |H| ≤ log K, |∂H/∂z| ≤ 1 + log K
    np.testing.assert_allclose(categorical_entropy_grad(z), fd, rtol=0, atol=FD_RTOL * scale)


@given(categorical_cases())
def test_categorical_logp_entropy_kl_match_enumeration(case):
    """logp, entropy and KL(p‖q) equal sums over all K actions computed with SciPy."""
    z, rng = case
    z_q = z + rng.standard_normal(z.shape)
    n, k = z.shape
    p = scipy.special.softmax(z, axis=1)
    logp = scipy.special.log_softmax(z, axis=1)
    logq = scipy.special.log_softmax(z_q, axis=1)
    tol = EXACT_RTOL * (1 + np.abs(z).max() + np.abs(z_q).max())
    for a in range(k):
        np.testing.assert_allclose(categorical_logp(z, np.full(n, a)), logp[:, a], rtol=0, atol=tol)
    np.testing.assert_allclose(
        categorical_entropy(z), scipy.stats.entropy(p, axis=1), rtol=0, atol=tol
    )
    np.testing.assert_allclose(
        categorical_kl(z, z_q), (p * (logp - logq)).sum(axis=1), rtol=0, atol=tol
    )


@given(categorical_cases())
def test_categorical_kl_zero_on_equal_and_nonnegative(case):
    """KL(p‖p) = 0 exactly, KL is shift-invariant (≈ 0 for z + c), and KL ≥ 0 on random pairs."""
    z, rng = case
    np.testing.assert_array_equal(categorical_kl(z, z), 0.0)
    shifted = z + rng.uniform(-5, 5, (z.shape[0], 1))  # the same softmax
    np.testing.assert_allclose(
        categorical_kl(z, shifted), 0.0, atol=EXACT_RTOL * (1 + np.abs(shifted).max())
    )
    z_q = 3.0 * rng.standard_normal(z.shape)
    kl = categorical_kl(z, z_q)
    assert kl.shape == (z.shape[0],)
    assert np.all(kl >= 0.0)


@given(categorical_cases())
def test_categorical_fisher_vector_is_kl_hessian(case):
    """categorical_fisher_vector(z, u) = FD Hessian of z' ↦ KL(p‖softmax(z')) at z, times u."""
    z, rng = case
    u = rng.standard_normal(z.shape)
    Mu = categorical_fisher_vector(z, u)
    Hu = fd_hessian_vector(lambda zq: categorical_kl(z, zq), z.copy(), u)
    scale = np.abs(u).max() * (1 + np.abs(log_softmax(z)).max())
    np.testing.assert_allclose(Mu, Hu, rtol=0, atol=HESS_RTOL * scale)


@given(categorical_cases())
def test_categorical_fisher_vector_is_expected_score_outer_product(case):
    """categorical_fisher_vector(z, u) = Σ_a p_a s_a (s_aᵀ u), exactly, and (diag p − ppᵀ) u."""
    z, rng = case
    n, k = z.shape
    u = rng.standard_normal(z.shape)
    p = scipy.special.softmax(z, axis=1)
    expected = np.zeros_like(z)
    for a in range(k):
        s = categorical_score(z, np.full(n, a))
        expected += p[:, a, None] * s * (s * u).sum(axis=1, keepdims=True)
    dense = np.einsum(
        "nij,nj->ni", np.apply_along_axis(np.diag, 1, p) - p[:, :, None] * p[:, None], u
    )
    Mu = categorical_fisher_vector(z, u)
    np.testing.assert_allclose(Mu, expected, rtol=0, atol=EXACT_RTOL * np.abs(u).max())
    np.testing.assert_allclose(Mu, dense, rtol=0, atol=EXACT_RTOL * np.abs(u).max())


def test_categorical_sample_frequencies_match_softmax():
    """Sampled action frequencies match softmax(z) per class within a 5σ binomial bound."""
    rng = np.random.default_rng(MC_SEED)
    rows = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [1.0, -0.5, 2.0, 0.3],
            [3.0, -3.0, 0.0, 1.0],
            [0.0, 0.0, -1e3, 0.0],  # class 2 has probability 0: never drawn
        ]
    )
    z = np.repeat(rows, MC_SAMPLES, axis=0)
    a = categorical_sample(z, rng)
    assert a.shape == (z.shape[0],)
    assert a.dtype == np.int64
    p = scipy.special.softmax(rows, axis=1)
    for r in range(rows.shape[0]):
        freq = np.bincount(a[r * MC_SAMPLES : (r + 1) * MC_SAMPLES], minlength=4) / MC_SAMPLES
        bound = MC_SIGMAS * np.sqrt(p[r] * (1 - p[r]) / MC_SAMPLES) + 1.0 / MC_SAMPLES
        assert np.all(np.abs(freq - p[r]) <= bound), (r, freq, p[r])
    assert not np.any(a[3 * MC_SAMPLES :] == 2)


@given(categorical_cases())
def test_categorical_sample_valid_and_reproducible(case):
    """Samples are int64 actions in [0, K), identical for identically seeded generators."""
    z, _ = case
    a = categorical_sample(z, np.random.default_rng(7))
    assert a.dtype == np.int64 and a.shape == (z.shape[0],)
    assert np.all((a >= 0) & (a < z.shape[1]))
    np.testing.assert_array_equal(a, categorical_sample(z, np.random.default_rng(7)))


@given(categorical_cases())
def test_categorical_mode_is_argmax_probability(case):
    """categorical_mode(z) is the most probable action, as int64."""
    z, _ = case
    mode = categorical_mode(z)
    assert mode.dtype == np.int64
    p = np.exp(log_softmax(z))
    np.testing.assert_array_equal(p[np.arange(z.shape[0]), mode], p.max(axis=1))


# ============================================================================ Gaussian
@given(gaussian_cases())
def test_gaussian_logp_matches_scipy(case):
    """gaussian_logp equals the sum over dimensions of scipy.stats.norm.logpdf."""
    mu, log_std, rng = case
    a = gaussian_sample(mu, log_std, rng)
    expected = scipy.stats.norm.logpdf(a, loc=mu, scale=np.exp(log_std)).sum(axis=1)
    np.testing.assert_allclose(
        gaussian_logp(mu, log_std, a), expected, rtol=EXACT_RTOL, atol=EXACT_RTOL
    )


@given(gaussian_cases())
def test_gaussian_score_matches_fd_of_logp(case):
    """score_mu = ∂logp/∂μ per sample, score_log_std = per-sample ∂logp/∂ℓ (sum = shared ℓ grad)."""
    mu, log_std, rng = case
    a = gaussian_sample(mu, log_std, rng) + rng.standard_normal(mu.shape)  # off-mean too
    s_mu, s_l = gaussian_score(mu, log_std, a)
    scale = 1.0 + np.abs(gaussian_logp(mu, log_std, a)).max() + np.abs(s_l).max()
    scale_mu = scale + np.abs(s_mu).max()
    fd_mu = fd_columns(lambda m: gaussian_logp(m, log_std, a), mu)
    np.testing.assert_allclose(s_mu, fd_mu, rtol=0, atol=FD_RTOL * scale_mu)
    for i in range(log_std.shape[0]):
        e = np.zeros_like(log_std)
        e[i] = FD_EPS
        fd_l = (gaussian_logp(mu, log_std + e, a) - gaussian_logp(mu, log_std - e, a)) / (
            2 * FD_EPS
        )  # (N,): the derivative of each sample's logp in the shared ℓ_i
        np.testing.assert_allclose(s_l[:, i], fd_l, rtol=0, atol=FD_RTOL * scale)
        np.testing.assert_allclose(
            s_l[:, i].sum(), fd_l.sum(), rtol=0, atol=FD_RTOL * scale * mu.shape[0]
        )


@given(gaussian_cases())
def test_gaussian_kl_zero_nonnegative_and_closed_form(case):
    """KL(p‖p) = 0, KL ≥ 0 per dim, and the dim-sum equals the multivariate diagonal formula."""
    mu, log_std, rng = case
    np.testing.assert_array_equal(gaussian_kl(mu, log_std, mu, log_std), 0.0)
    mu_q = mu + rng.standard_normal(mu.shape)
    log_std_q = log_std + rng.uniform(-1, 1, log_std.shape)
    kl = gaussian_kl(mu, log_std, mu_q, log_std_q)
    assert kl.shape == mu.shape
    assert np.all(kl >= 0.0)
    # KL(N(μp, Σp) ‖ N(μq, Σq)) = ½[tr(Σq⁻¹Σp) + (μq−μp)ᵀΣq⁻¹(μq−μp) − d + log det Σq/det Σp]
    var_p, var_q = np.exp(2 * log_std), np.exp(2 * log_std_q)
    terms = [
        (var_p / var_q).sum(),
        ((mu_q - mu) ** 2 / var_q).sum(axis=1),
        -mu.shape[1],
        np.log(var_q).sum(),
        -np.log(var_p).sum(),
    ]
    expected = 0.5 * sum(terms)
    tol = EXACT_RTOL * sum(np.abs(t) for t in terms)  # the terms cancel; rounding scales with them
    assert np.all(np.abs(kl.sum(axis=1) - expected) <= tol), (kl.sum(axis=1), expected)


@given(gaussian_cases())
def test_gaussian_entropy_closed_form(case):
    """gaussian_entropy equals the sum of scipy.stats.norm entropies, one value per state."""
    _, log_std, _ = case
    H = gaussian_entropy(log_std, 3)
    assert H.shape == (3,)
    expected = scipy.stats.norm(scale=np.exp(log_std)).entropy().sum()
    np.testing.assert_allclose(H, expected, rtol=EXACT_RTOL, atol=EXACT_RTOL)


@given(gaussian_cases())
def test_gaussian_fisher_vector_is_kl_hessian(case):
    """gaussian_fisher_vector equals the FD Hessian of (μ', ℓ') ↦ Σ_i KL_i(p‖q) at equality."""
    mu, log_std, rng = case
    n, d = mu.shape
    u_mu = rng.standard_normal((n, d))
    u_l = rng.standard_normal(d)
    M_mu, M_l = gaussian_fisher_vector(log_std, u_mu, u_l)
    assert M_mu.shape == (n, d) and M_l.shape == (d,)

    def kl_rows(x):  # x = [μ'_n, ℓ'] per row; ℓ' is shared, so each row carries its own copy
        kl = np.empty(n)
        for r in range(n):
            kl[r] = gaussian_kl(mu[r : r + 1], log_std, x[r : r + 1, :d], x[r, d:]).sum()
        return kl

    x0 = np.hstack([mu, np.tile(log_std, (n, 1))])
    u = np.hstack([u_mu, np.tile(u_l, (n, 1))])
    Hu = fd_hessian_vector(kl_rows, x0, u, h=GAUSS_HESS_EPS)
    scale = np.abs(M_mu).max() + np.abs(M_l).max() + np.abs(u).max()
    np.testing.assert_allclose(Hu[:, :d], M_mu, rtol=0, atol=HESS_RTOL * scale)
    np.testing.assert_allclose(Hu[:, d:], np.tile(M_l, (n, 1)), rtol=0, atol=HESS_RTOL * scale)


@given(gaussian_cases())
def test_gaussian_fisher_vector_is_expected_score_outer_product(case):
    """gaussian_fisher_vector = E[s sᵀ] u with s = (score_mu, score_log_std), by Gauss–Hermite."""
    mu, log_std, rng = case
    mu = mu[:3]  # quadrature is per state; a few states suffice
    n, d = mu.shape
    # 5-point Gauss–Hermite is exact for polynomials of degree ≤ 9 and s sᵀ has degree 4 in the
    # standard-normal variable, so the quadrature is E[s sᵀ] up to rounding (EXACT_RTOL).
    nodes, weights = np.polynomial.hermite_e.hermegauss(5)
    weights = weights / weights.sum()
    grid = np.array(list(itertools.product(range(5), repeat=d)))  # (5^d, d)
    w_std = nodes[grid]  # standard-normal nodes
    w_prob = weights[grid].prod(axis=1)
    u_mu = rng.standard_normal((n, d))
    u_l = rng.standard_normal(d)
    M_mu, M_l = gaussian_fisher_vector(log_std, u_mu, u_l)
    for r in range(n):
        a = mu[r] + np.exp(log_std) * w_std
        s_mu, s_l = gaussian_score(np.broadcast_to(mu[r], a.shape), log_std, a)
        s = np.hstack([s_mu, s_l])  # (Q, 2d)
        Eu = (w_prob[:, None] * s * (s @ np.concatenate([u_mu[r], u_l]))[:, None]).sum(axis=0)
        scale = (1 + np.exp(-2 * log_std).max()) * (np.abs(u_mu[r]).max() + np.abs(u_l).max())
        np.testing.assert_allclose(Eu[:d], M_mu[r], rtol=0, atol=EXACT_RTOL * scale)
        np.testing.assert_allclose(Eu[d:], M_l, rtol=0, atol=EXACT_RTOL * scale)


def test_gaussian_kl_and_entropy_match_monte_carlo():
    """Closed-form KL and entropy agree with Monte Carlo estimates within a 5σ bound."""
    rng = np.random.default_rng(MC_SEED)
    for d in (1, 2, 4):
        mu_p, mu_q = rng.standard_normal(d), rng.standard_normal(d)
        l_p, l_q = rng.uniform(-1, 1, d), rng.uniform(-1, 1, d)
        mu_batch = np.broadcast_to(mu_p, (MC_SAMPLES, d))
        a = gaussian_sample(mu_batch, l_p, rng)
        logp = gaussian_logp(mu_batch, l_p, a)
        log_ratio = logp - gaussian_logp(np.broadcast_to(mu_q, (MC_SAMPLES, d)), l_q, a)
        kl = gaussian_kl(mu_p[None], l_p, mu_q[None], l_q).sum()
        bound = MC_SIGMAS * log_ratio.std() / np.sqrt(MC_SAMPLES) + 1e-12
        assert abs(log_ratio.mean() - kl) <= bound, (d, log_ratio.mean(), kl, bound)
        H = gaussian_entropy(l_p, 1)[0]
        bound = MC_SIGMAS * logp.std() / np.sqrt(MC_SAMPLES) + 1e-12
        assert abs(-logp.mean() - H) <= bound, (d, -logp.mean(), H, bound)


def test_gaussian_sample_mean_and_std():
    """Sample mean and std per dimension match μ and e^ℓ within 5σ sampling bounds."""
    rng = np.random.default_rng(MC_SEED)
    mu = np.array([0.0, 3.0, -1.5])
    log_std = np.array([0.0, -1.0, 1.2])
    a = gaussian_sample(np.broadcast_to(mu, (MC_SAMPLES, 3)), log_std, rng)
    assert a.shape == (MC_SAMPLES, 3)
    sigma = np.exp(log_std)
    assert np.all(np.abs(a.mean(axis=0) - mu) <= MC_SIGMAS * sigma / np.sqrt(MC_SAMPLES))
    # Var of the sample variance of a normal is 2σ⁴/(M−1).
    var_bound = MC_SIGMAS * sigma**2 * np.sqrt(2.0 / (MC_SAMPLES - 1))
    assert np.all(np.abs(a.var(axis=0, ddof=1) - sigma**2) <= var_bound)
    again = gaussian_sample(mu[None], log_std, np.random.default_rng(3))
    np.testing.assert_array_equal(
        again, gaussian_sample(mu[None], log_std, np.random.default_rng(3))
    )


@given(gaussian_cases())
def test_gaussian_mode_is_mean_copy(case):
    """gaussian_mode(mu) equals mu and is a new array (writing to it leaves mu unchanged)."""
    mu, _, _ = case
    mode = gaussian_mode(mu)
    np.testing.assert_array_equal(mode, mu)
    mode += 1.0
    assert not np.shares_memory(mode, mu)


# ============================================================================ extreme inputs
EXTREME_LOGITS = np.array(
    [
        [1e3, -1e3, 0.0],
        [-1e3, 1e3, 0.0],
        [-1e3, -1e3, -1e3],
        [1e3, 1e3, -1e3],
        [0.0, -1e3, 1e3],
    ]
)


def test_categorical_extreme_logits_finite_and_correct():
    """Logits of ±1e3 give finite logp, entropy, KL, score, Fisher vector and samples."""
    z = EXTREME_LOGITS
    n, k = z.shape
    u = np.random.default_rng(0).standard_normal(z.shape)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        logp = log_softmax(z)
        results = [logp, categorical_entropy(z), categorical_entropy_grad(z)]
        for a in range(k):
            acts = np.full(n, a)
            results += [categorical_logp(z, acts), categorical_score(z, acts)]
        for shift in range(n):
            results.append(categorical_kl(z, np.roll(z, shift, axis=0)))
        results.append(categorical_fisher_vector(z, u))
        samples = categorical_sample(np.repeat(z, 100, axis=0), np.random.default_rng(0))
        results += [samples, categorical_mode(z)]
    for r in results:
        assert np.all(np.isfinite(r))
    np.testing.assert_array_equal(logp[0], [0.0, -2000.0, -1000.0])
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=0, atol=SUM_ATOL)
    np.testing.assert_allclose(categorical_entropy(z)[[0, 1, 4]], 0.0, atol=1e-300)
    # p = onehot(0) against q with log q_0 = −2000: KL = 2000.
    np.testing.assert_allclose(categorical_kl(z[:1], z[1:2]), [2000.0], rtol=1e-15)
    # Near-one-hot rows sample their argmax only; the tied row [1e3, 1e3, −1e3] never samples 2.
    np.testing.assert_array_equal(samples[:100], 0)
    np.testing.assert_array_equal(samples[100:200], 1)
    np.testing.assert_array_equal(samples[400:500], 2)
    assert not np.any(samples[300:400] == 2)
    np.testing.assert_array_equal(categorical_mode(z)[[0, 1, 4]], [0, 1, 2])


@pytest.mark.parametrize("l_p", [20.0, -20.0, 0.0])
@pytest.mark.parametrize("l_q", [20.0, -20.0])
def test_gaussian_extreme_log_std_finite(l_p, l_q):
    """Log-stds of ±20 give finite logp, entropy, KL, score, Fisher vector and samples."""
    rng = np.random.default_rng(1)
    mu = rng.standard_normal((4, 2))
    log_p, log_q = np.array([l_p, -l_p]), np.array([l_q, l_q])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        a = gaussian_sample(mu, log_p, rng)
        results = [
            a,
            gaussian_logp(mu, log_q, a),
            gaussian_entropy(log_q, 4),
            gaussian_kl(mu, log_p, mu + 1.0, log_q),
            gaussian_kl(mu + 1.0, log_q, mu, log_p),
            *gaussian_score(mu, log_q, a),
            *gaussian_fisher_vector(log_q, rng.standard_normal((4, 2)), rng.standard_normal(2)),
        ]
    for r in results:
        assert np.all(np.isfinite(r))
    # Against the formula written with σ directly (these values are representable).
    sigma = np.exp(log_q)
    expected = (-0.5 * ((a - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)).sum(1)
    np.testing.assert_allclose(gaussian_logp(mu, log_q, a), expected, rtol=1e-12)


@given(categorical_cases())
def test_categorical_metric_factor_squares_to_metric(case):
    """BᵀB from ``metric_factor`` is the metric M = diag(p) − ppᵀ (applied to the identity)."""
    z = case[0]
    head = _cat(z)
    B = head.metric_factor(z)
    K = z.shape[1]
    cols = [head.metric(z, 1)(np.broadcast_to(e, z.shape).copy(), None)[0] for e in np.eye(K)]
    M = np.stack(cols, axis=-1)
    np.testing.assert_allclose(np.einsum("nrk,nrl->nkl", B, B), M, rtol=0, atol=EXACT_RTOL)


@given(gaussian_cases())
def test_gaussian_metric_factor_and_mean_reduction(case):
    """BᵀB is diag(1/σ²); ``kl_reduction="mean"`` scales KL, metric and factor by 1/d."""
    mu, log_std = case[0], case[1]
    d = log_std.shape[0]
    head, mean = GaussianHead(d), GaussianHead(d, kl_reduction="mean")
    B = head.metric_factor((mu, log_std))
    np.testing.assert_allclose(
        np.einsum("nrk,nrl->nkl", B, B)[0], np.diag(np.exp(-2 * log_std)), rtol=EXACT_RTOL
    )
    q = (mu + 0.5, log_std - 0.25)
    np.testing.assert_allclose(mean.kl((mu, log_std), q), head.kl((mu, log_std), q) / d,
                               rtol=EXACT_RTOL)
    u, v = np.ones_like(mu), np.ones(d)
    for a, b in zip(mean.metric((mu, log_std), 3)(u, v), head.metric((mu, log_std), 3)(u, v),
                    strict=True):
        np.testing.assert_allclose(a, b / d, rtol=EXACT_RTOL)


def test_heads_round_trip_through_spec_and_reject_bad_arguments():
    """``head_from_spec(h.spec())`` rebuilds each head; bad arguments name themselves."""
    for head in (CategoricalHead(3), GaussianHead(2, log_std_init=-0.5, kl_reduction="mean")):
        assert head_from_spec(head.spec()).spec() == head.spec()
    with pytest.raises(ValueError, match="n_actions"):
        CategoricalHead(1)
    with pytest.raises(TypeError, match="act_dim"):
        GaussianHead(1.5)
    with pytest.raises(ValueError, match="kl_reduction"):
        GaussianHead(1, kl_reduction="avg")
    with pytest.raises(ValueError, match="spec\\['policy'\\]"):
        head_from_spec({"policy": "beta"})
