"""PPO with the gSDE head: the hand-derived KL gradient and the clipped-objective gradient
against central differences with the features detached, ``GSDEHead.var_vjp``, and the update's
first and second steps against the public gradients.

"Detached" (as everywhere for gSDE, and in sb3): the variance v = z(s)²σ² + ε_v uses the
network's last hidden features z, but no derivative flows through z. The finite differences
below therefore perturb θ with π_θ's features frozen at their values at the point of evaluation.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from npytrpo.gsde import GSDEHead
from npytrpo.policies import Policy
from npytrpo.ppo import (
    clip_objective_grad,
    mean_kl_grad,
    ppo_clip_update,
    ppo_kl_update,
)

EPS = np.finfo(np.float64).eps
# Central differences with step H: truncation H²·|f'''|/6 ≈ 2e-10 for |f'''| = O(10) (the
# variances stay ≥ ~0.03 on these cases), rounding eps·|f|/H ≈ 2e-11·|f|. Measured on 400
# random KL cases (200 policies × 2 directions, /tmp script, not committed): worst 4.3e-9 of
# 1e-3 + ‖∇D̄‖; on 200 clipped-objective cases: worst 1.1e-10 of its scale. RTOL = 1e-7 leaves
# ≥ 20x; a 1 % error in ∂KL/∂v alone shows as ≥ 1e-4 there, 1000x above it.
H = 1e-5
RTOL = 1e-7
# A sample is kept for the clipped-objective check only if its log-ratio is farther from
# log(1 ± ε) than MARGIN·H·|∂log r/∂t| + 1e-6 along the probed direction (the stencil cannot
# cross the kink).
MARGIN = 10.0
# The same gradient summed in another sample order (each epoch permutes the batch): rounding of
# N-term sums, ≤ N·eps relative to Σ|terms|; 1e-12 of the largest entry is margin for N ≤ 256.
RTOL_PERMUTED = 1e-12


def make_policy(obs_dim, act_dim, hidden, **head_options):
    n_features = hidden[-1] if hidden else obs_dim
    return Policy(obs_dim, GSDEHead(n_features, act_dim, **head_options), hidden)


def make_batch(pi, rng, N, spread=0.3):
    """θ_old (perturbed from init, Λ in [−0.5, 0.5]), states with |s_i| in [0.3, 1.5] (so the
    features, hence the variances, stay away from 0), actions from π_old, and Â."""
    theta = pi.init(rng) + spread * rng.standard_normal(pi.num_params)
    theta[pi.net.num_params :] = rng.uniform(-0.5, 0.5, pi.head.num_params)
    obs = rng.choice([-1.0, 1.0], (N, pi.obs_dim)) * rng.uniform(0.3, 1.5, (N, pi.obs_dim))
    return theta, obs, pi.sample(theta, obs, rng), rng.standard_normal(N)


@st.composite
def cases(draw):
    """A small gSDE policy (linear or one hidden layer; full or shared σ; sum or mean KL), θ_old,
    a batch, an rng."""
    hidden = draw(st.sampled_from([(), (3,), (5,)]))
    pi = make_policy(
        draw(st.integers(1, 4)),
        draw(st.integers(1, 3)),
        hidden,
        full_std=draw(st.booleans()),
        kl_reduction=draw(st.sampled_from(["sum", "mean"])),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (pi, *make_batch(pi, rng, draw(st.integers(2, 30))), rng)


def unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


def dist_detached(pi, t, obs, z):
    """π_t's distribution with the features held at ``z`` (the detached features)."""
    P0 = pi.net.num_params
    out, _ = pi.net.forward(t[:P0], obs)
    return pi.head.params(out, t[P0:], z)



def fd(f, theta, v):
    return (f(theta + H * v) - f(theta - H * v)) / (2 * H)


# ------------------------------------------------------------------------------ KL gradient
@given(cases(), st.floats(0.0, 0.5), st.sampled_from(["old_new", "new_old"]))
def test_gsde_mean_kl_grad_matches_central_differences(case, spread, direction):
    """∇D̄·v equals the central difference of the mean KL at θ ≠ θ_old with π_θ's features
    frozen at z(θ) (π_old's at z(θ_old)), both directions and reductions, full or shared σ."""
    pi, theta_old, obs, _, _, rng = case
    theta = theta_old + spread * rng.standard_normal(pi.num_params)
    p = pi.dist_at(theta_old, obs)[0]
    z = pi.dist_at(theta, obs)[1].inputs[-1].copy()

    def mean_kl(t):
        q = dist_detached(pi, t, obs, z)
        return pi.head.kl(*((p, q) if direction == "old_new" else (q, p))).mean()

    assert mean_kl(theta) == pytest.approx(pi.kl(theta_old, theta, obs, direction), rel=1e-14)
    grad = mean_kl_grad(pi, theta_old, theta, obs, direction)
    for _ in range(3):
        v = unit(rng, pi.num_params)
        assert abs(grad @ v - fd(mean_kl, theta, v)) <= RTOL * (1e-3 + np.linalg.norm(grad))


@pytest.mark.parametrize("direction", ["old_new", "new_old"])
@pytest.mark.parametrize("full_std", [True, False])
def test_gsde_mean_kl_grad_is_zero_at_theta_old(direction, full_std):
    """D̄ has its minimum 0 at θ = θ_old: the closed forms give exactly 0 there."""
    rng = np.random.default_rng(0)
    pi = make_policy(3, 2, (4,), full_std=full_std)
    theta, obs, _, _ = make_batch(pi, rng, 10)
    assert not np.any(mean_kl_grad(pi, theta, theta, obs, direction))


@pytest.mark.parametrize("direction", ["old_new", "new_old"])
def test_gsde_kl_gradient_has_a_head_part_and_a_network_part(direction):
    """Away from θ_old both blocks are nonzero, so the check above tests each of them."""
    rng = np.random.default_rng(1)
    pi = make_policy(3, 2, (4,))
    theta_old, obs, _, _ = make_batch(pi, rng, 20)
    theta = theta_old + 0.3 * rng.standard_normal(pi.num_params)
    g = mean_kl_grad(pi, theta_old, theta, obs, direction)
    P0 = pi.net.num_params
    assert np.abs(g[:P0]).max() > 1e-3 and np.abs(g[P0:]).max() > 1e-3


@given(cases(), st.integers(0, 2**32 - 1))
def test_var_vjp_matches_central_differences(case, seed):
    """``var_vjp(dist, c)`` is the gradient in θ_h of Σ_nj c_nj v_nj (features fixed)."""
    pi, theta, obs, _, _, _ = case
    head, P0 = pi.head, pi.net.num_params
    out, cache = pi.net.forward(theta[:P0], obs)
    z, th = cache.inputs[-1], theta[P0:]
    c = np.random.default_rng(seed).standard_normal(out.shape)
    g = head.var_vjp(head.params(out, th, z), c)
    f = lambda t: float(np.sum(c * head.params(out, t, z).var))  # noqa: E731
    numeric = np.array([fd(f, th, e) for e in np.eye(head.num_params)])
    assert np.abs(g - numeric).max() <= RTOL * (1e-3 + np.abs(g).max())


# ------------------------------------------------------------------------ clipped objective
@given(cases(), st.floats(0.02, 0.6), st.sampled_from([0.1, 0.2, 0.3]))
def test_gsde_clip_objective_grad_matches_central_differences(case, spread, eps):
    """∇L_clip·v equals the central difference of L_clip (features frozen at z(θ)) on the
    samples the stencil keeps on one side of the clip boundary."""
    pi, theta_old, obs, a, adv, rng = case
    logp_old = pi.logp(theta_old, obs, a)
    theta = theta_old + spread * rng.standard_normal(pi.num_params)
    v = unit(rng, pi.num_params)
    log_r = pi.logp(theta, obs, a) - logp_old
    slope = np.abs(pi.score_matrix(theta, obs, a) @ v)
    margin = MARGIN * H * slope + 1e-6
    far = (np.abs(log_r - math.log1p(eps)) > margin) & (np.abs(log_r - math.log1p(-eps)) > margin)
    assume(far.any())
    obs, a, adv, logp_old = obs[far], a[far], adv[far], logp_old[far]
    z = pi.dist_at(theta, obs)[1].inputs[-1].copy()

    def l_clip(t):
        r = np.exp(pi.head.logp(dist_detached(pi, t, obs, z), a) - logp_old)
        return float(np.mean(np.minimum(r * adv, np.clip(r, 1 - eps, 1 + eps) * adv)))

    g = clip_objective_grad(pi, theta, obs, a, adv, logp_old, eps)
    scale = np.mean(np.exp(pi.logp(theta, obs, a) - logp_old) * np.abs(adv)) + 1e-3
    assert abs(g @ v - fd(l_clip, theta, v)) <= RTOL * scale


# ------------------------------------------------------------------------ the update's steps
def full_batch(**kw):
    """One epoch of one full-batch step of plain gradient ascent, nothing else."""
    base = dict(n_epochs=1, optimizer="sgd", learning_rate=1.0, max_grad_norm=None)
    return {**base, "normalize_advantages": False, **kw}


@pytest.mark.parametrize("update", [ppo_clip_update, ppo_kl_update])
def test_gsde_first_full_batch_step_is_the_surrogate_gradient(update):
    """At θ_old every ratio is 1 and ∇D̄ = 0: one full-batch SGD step with α = 1 moves θ by
    g = policy.surrogate_grad(θ_old) (network and Λ parts)."""
    rng = np.random.default_rng(2)
    pi = make_policy(3, 2, (6,))
    theta, obs, a, adv = make_batch(pi, rng, 32)
    g = pi.surrogate_grad(theta, obs, a, adv)
    res = update(pi, theta, obs, a, adv, rng=0, batch_size=32, **full_batch())
    atol = 2 * EPS * np.abs(res.theta_new).max() + RTOL_PERMUTED * np.abs(g).max()
    np.testing.assert_allclose(res.theta_new - theta, g, rtol=0, atol=atol)
    assert np.abs(g[pi.net.num_params :]).max() > 1e-3  # the head's Λ moved too


def test_gsde_second_step_uses_the_rule_gradient_at_the_new_theta():
    """Epoch 2 of full-batch SGD steps along ∇L_clip(θ₁) (PPO-Clip) and ∇L(θ₁) − β∇D̄(θ₁)
    (PPO-KL) at the θ₁ epoch 1 reached, each the public gradient checked above."""
    lr = 1.0  # large enough that epoch 1 moves some ratios beyond 1 ± ε
    rng = np.random.default_rng(4)
    pi = make_policy(3, 2, (6,))
    theta, obs, a, adv = make_batch(pi, rng, 32)
    logp_old = pi.logp(theta, obs, a)
    for update in (ppo_clip_update, ppo_kl_update):
        kw = dict(rng=7, batch_size=32, **full_batch(learning_rate=lr))
        kw |= {"beta": 3.0} if update is ppo_kl_update else {}
        theta1 = update(pi, theta, obs, a, adv, **kw).theta_new
        res = update(pi, theta, obs, a, adv, **{**kw, "n_epochs": 2})
        if update is ppo_clip_update:
            g = clip_objective_grad(pi, theta1, obs, a, adv, logp_old, 0.2)
            assert res.clip_fraction > 0  # epoch 2 saw some ratios beyond 1 ± ε
        else:
            g = pi.surrogate_grad(theta1, obs, a, adv, logp_old)
            g = g - 3.0 * mean_kl_grad(pi, theta, theta1, obs)
        atol = 4 * EPS * np.abs(res.theta_new).max() + RTOL_PERMUTED * lr * np.abs(g).max()
        np.testing.assert_allclose(res.theta_new - theta1, lr * g, rtol=0, atol=atol)


@pytest.mark.parametrize("update", [ppo_clip_update, ppo_kl_update])
def test_gsde_update_reports_the_exact_kl_and_is_deterministic(update):
    """With SB3's defaults on a batch of 200: the reported KL is policy.kl(θ_old, θ_new), and
    one seed gives one θ bit for bit."""
    rng = np.random.default_rng(5)
    pi = make_policy(4, 2, (16,))
    theta, obs, a, adv = make_batch(pi, rng, 200)
    r1 = update(pi, theta, obs, a, adv, rng=3)
    r2 = update(pi, theta, obs, a, adv, rng=np.random.default_rng(3))
    assert r1.success and r1.theta_new.tobytes() == r2.theta_new.tobytes()
    assert 0 < r1.kl == pi.kl(theta, r1.theta_new, obs)


@pytest.mark.parametrize("update", ["ppo", "ppo_kl"])
def test_agent_runs_ppo_with_gsde_exploration(update, tmp_path):
    """``PPO(env, use_sde=True)`` builds a gSDE policy, makes its updates (KL > 0 logged) and
    resumes from a checkpoint to the same θ as an uninterrupted run."""
    from npytrpo import PPO

    opts = dict(update=update, use_sde=True, sde_sample_freq=4, n_envs=2, n_steps=64)
    opts |= dict(batch_size=32, n_epochs=2, seed=0)
    agent = PPO("Pendulum-v1", **opts)
    agent.learn(256, progress_bar=False)
    assert agent.policy.kind == "gsde" and all(row["kl"] > 0 for row in agent.history)
    first = PPO("Pendulum-v1", **opts)
    first.learn(128, progress_bar=False)
    first.save(tmp_path / "a.npz")
    resumed = PPO.load(tmp_path / "a.npz")
    resumed.learn(128, progress_bar=False)
    assert first.theta.tobytes() != agent.theta.tobytes()  # the last 128 steps changed θ
    # assert_array_equal, not a bytes ==: pytest's explanation of two unequal 30 kB byte
    # strings (a difflib diff) took over 10 minutes, a timeout in every mutation run.
    np.testing.assert_array_equal(resumed.theta, agent.theta)
