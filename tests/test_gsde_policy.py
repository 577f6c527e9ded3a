"""The gSDE head inside a stand-in policy: θ = [MLP params, head params], features detached.

This is what a Policy does with any head of the protocol: forward the MLP, take the features
from its last hidden layer (``cache.inputs[-1]``; the observation for ``hidden=()``), build the
head's distribution, then push the head's score and metric through the network's Jacobian.
Checked: the dense Fisher (per-sample Jacobians) equals the matrix-free product
(jvp → metric → vjp), both equal the finite-difference Hessian of the mean KL with the features
held at their θ_old values, and the policy score equals central differences of log π.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from npytrpo.gsde import GSDEHead
from npytrpo.nn import MLP

# Central first differences (step 1e-6; the log-prob of a tiny tanh MLP has |f'''| = O(10)):
# rounding eps·|f|/ε ≈ 2e-10 dominates; worst of 150 random cases 1.3e-10 relative to
# 1 + |f| + |f'|; 1e-8 leaves ~80x.
FD_EPS = 1e-6
FD_RTOL = 1e-8
# Mixed second differences of the mean KL with |v| = 1 and step 1e-4: truncation ε²·|f⁗| (the
# tanh layers make f⁗ O(1)) dominates rounding (eps·ε/ε² ≈ 2e-12); worst of 150 random cases
# 1.3e-8 of the largest Fisher entry; 1e-6 is ~80x above it and 1e6x below an O(1) error.
HESS_EPS = 1e-4
HESS_RTOL = 1e-6
# Dense F vs matrix-free F v: the same sums in a different order, rounding only (worst of 150
# random cases: 3.5e-16 of the largest entry).
EXACT_RTOL = 1e-13


class StandInPolicy:
    """MLP mean + gSDE head on a flat θ = [net params, Λ] (a sketch of the lead's Policy)."""

    def __init__(self, obs_dim, act_dim, hidden, **head_options):
        self.net = MLP([obs_dim, *hidden, act_dim])
        self.head = GSDEHead(hidden[-1] if hidden else obs_dim, act_dim, **head_options)
        self.P0 = self.net.num_params
        self.num_params = self.P0 + self.head.num_params

    def dist(self, theta, obs, features=None):
        """(distribution, cache); ``features`` overrides the network's (detached) features."""
        out, cache = self.net.forward(theta[: self.P0], obs)
        z = cache.inputs[-1] if features is None else features
        return self.head.params(out, theta[self.P0 :], z), cache

    def mean_kl(self, theta_old, theta, obs, features):
        """(1/N) Σ KL(π_old ‖ π_θ) with π_θ's features frozen at ``features`` (detached)."""
        p, _ = self.dist(theta_old, obs)
        q, _ = self.dist(theta, obs, features)
        return self.head.kl(p, q).mean()

    def fisher_operator(self, theta, obs):
        dist, cache = self.dist(theta, obs)
        apply = self.head.metric(dist, obs.shape[0])

        def fvp(v):
            m_out, m_h = apply(self.net.jvp(cache, v[: self.P0]), v[self.P0 :])
            return np.concatenate([self.net.vjp(cache, m_out), m_h])

        return fvp

    def fisher_matrix(self, theta, obs):
        """Dense F from per-sample Jacobians and an explicit ∂v/∂Λ (independent of ``metric``)."""
        dist, cache = self.dist(theta, obs)
        N, d = dist.mean.shape
        J = self.net.jacobian(cache)  # (N, d, P0)
        c = 1.0 if self.head.kl_reduction == "sum" else 1.0 / d
        A = J / np.sqrt(dist.var)[:, :, None]
        F = np.zeros((self.num_params, self.num_params))
        F[: self.P0, : self.P0] = np.einsum("njp,njq->pq", A, A) / N
        # ∂v_nj/∂Λ as an (N, d, P_h) array: 2 z² σ² in the (i, j) slot (summed over j if shared)
        nf = self.head.n_features
        dv = np.zeros((N, d, nf, d))
        for j in range(d):
            dv[:, j, :, j] = 2.0 * dist.z2 * dist.s2[None, :, j]
        dv = dv.reshape(N, d, nf * d) if self.head.full_std else dv.sum(axis=3)
        B = dv / (np.sqrt(2.0) * dist.var)[:, :, None]  # Fisher in v is 1/(2v²)
        F[self.P0 :, self.P0 :] = np.einsum("njp,njq->pq", B, B) / N
        return c * F


@st.composite
def policy_cases(draw):
    """(policy, θ, obs, rng): obs_dim 1–3, hidden () / (h,) / (h, h) with h ≤ 4, act_dim 1–2."""
    obs_dim, act_dim = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    hidden = draw(st.sampled_from([(), (3,), (4,), (2, 3)]))
    pi = StandInPolicy(
        obs_dim,
        act_dim,
        hidden,
        full_std=draw(st.booleans()),
        kl_reduction=draw(st.sampled_from(["sum", "mean"])),
        log_std_init=draw(st.floats(-1.0, 0.5)),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    theta = np.concatenate(
        [pi.net.init(rng, output_gain=1.0), pi.head.init_params()]
    ) + 0.1 * rng.standard_normal(pi.num_params)
    obs = rng.uniform(-1.5, 1.5, (draw(st.integers(1, 8)), obs_dim))
    return pi, theta, obs, rng


@settings(max_examples=25)
@given(policy_cases())
def test_dense_fisher_equals_matrix_free_and_kl_hessian(case):
    """Dense F = matrix-free F v (every basis vector) = FD Hessian of the mean KL, z detached."""
    pi, theta, obs, rng = case
    F = pi.fisher_matrix(theta, obs)
    fvp = pi.fisher_operator(theta, obs)
    FV = np.column_stack([fvp(e) for e in np.eye(pi.num_params)])
    scale = 1.0 + np.abs(F).max()
    assert np.abs(FV - F).max() <= EXACT_RTOL * scale
    z_old = pi.dist(theta, obs)[1].inputs[-1].copy()
    f = lambda t: pi.mean_kl(theta, t, obs, z_old)  # noqa: E731
    v = rng.standard_normal(pi.num_params)
    v /= np.linalg.norm(v)
    Hv = np.empty(pi.num_params)
    for k in range(pi.num_params):
        e = np.zeros(pi.num_params)
        e[k] = HESS_EPS
        dv = HESS_EPS * v
        Hv[k] = f(theta + dv + e) - f(theta + dv - e) - f(theta - dv + e) + f(theta - dv - e)
    assert np.abs(Hv / (4 * HESS_EPS**2) - F @ v).max() <= HESS_RTOL * scale


@settings(max_examples=25)
@given(policy_cases())
def test_policy_score_matches_finite_differences(case):
    """[J_nᵀ s_out, s_h] equals central differences of log π_θ(a_n|s_n) with z detached."""
    pi, theta, obs, rng = case
    dist, cache = pi.dist(theta, obs)
    a = pi.head.sample(dist, rng)
    s_out, s_h = pi.head.score(dist, a)
    S = np.hstack([np.einsum("njp,nj->np", pi.net.jacobian(cache), s_out), s_h])
    z = cache.inputs[-1].copy()
    f = lambda t: pi.head.logp(pi.dist(t, obs, z)[0], a)  # noqa: E731
    scale = 1.0 + np.abs(f(theta)).max() + np.abs(S).max()
    for k in range(pi.num_params):
        e = np.zeros(pi.num_params)
        e[k] = FD_EPS
        fd = (f(theta + e) - f(theta - e)) / (2 * FD_EPS)
        assert np.abs(fd - S[:, k]).max() <= FD_RTOL * scale
