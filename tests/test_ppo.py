"""PPO: the clipped objective's gradient and the KL gradient against central differences, the
update's first step against the surrogate gradient g, the adaptive β rule, the exact KL it
reports, determinism, and argument errors."""

import math

import numpy as np
import pytest
import scipy.special
from hypothesis import assume, event, given
from hypothesis import strategies as st

from npytrpo.optim import AdamState
from npytrpo.policies import CategoricalPolicy, GaussianPolicy
from npytrpo.ppo import (
    PPO_STATUSES,
    PPOConfig,
    adaptive_beta,
    clip_objective,
    clip_objective_grad,
    clip_weights,
    mean_kl_grad,
    ppo_clip_update,
    ppo_kl_update,
)

EPS = np.finfo(np.float64).eps
# Central differences with step H_GRAD: truncation O(H²·f''') ≈ 1e-10, rounding
# O(eps·|f|/H) ≈ 1e-11, so 1e-6 relative to the objective's scale leaves a wide margin (as in
# tests/test_policies.py).
H_GRAD = 1e-5
RTOL_FD_GRAD = 1e-6
# A sample is kept for the clipped-objective check only if its log-ratio is farther from
# log(1 ± ε) than BOUNDARY_MARGIN·H·|∂log r/∂t| + 1e-6 along the probed direction: the stencil
# θ ± H v moves log r by ≈ H·|s·v| (+ O(H²) curvature), so it cannot cross the kink.
BOUNDARY_MARGIN = 10.0
# The same gradient summed in another sample order (each epoch permutes the batch): rounding of
# N-term sums, ≤ N·eps relative to Σ|terms|; 1e-12 of the gradient's largest entry is margin for
# N ≤ 256.
RTOL_PERMUTED = 1e-12


# ------------------------------------------------------------------------------------ cases
def make_policy(kind, obs_dim, hidden, out, kl_reduction="sum"):
    if kind == "categorical":
        return CategoricalPolicy(obs_dim, max(out, 2), hidden)
    return GaussianPolicy(obs_dim, out, hidden, kl_reduction=kl_reduction)


def make_batch(pi, rng, N, spread=0.3):
    """θ_old (perturbed from init so the heads are not flat), a batch sampled by π_old, and Â."""
    theta = pi.init(rng) + spread * rng.standard_normal(pi.num_params)
    if pi.kind == "gaussian":
        theta[-pi.head.act_dim :] = rng.uniform(-0.5, 0.5, pi.head.act_dim)
    obs = rng.standard_normal((N, pi.obs_dim))
    return theta, obs, pi.sample(theta, obs, rng), rng.standard_normal(N)


@st.composite
def cases(draw):
    """A small policy of either head (linear or one hidden layer), θ_old, a batch, an rng."""
    kind = draw(st.sampled_from(["categorical", "gaussian"]))
    hidden = tuple(draw(st.lists(st.integers(1, 6), max_size=1)))
    pi = make_policy(
        kind,
        draw(st.integers(1, 4)),
        hidden,
        draw(st.integers(1, 3)),
        draw(st.sampled_from(["sum", "mean"])),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (pi, *make_batch(pi, rng, draw(st.integers(2, 40))), rng)


def unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


def clipped_objective(pi, theta, obs, a, adv, logp_old, eps):
    """The test's own L_clip = mean(min(r Â, clip(r, 1 − ε, 1 + ε) Â))."""
    r = np.exp(pi.logp(theta, obs, a) - logp_old)
    return float(np.mean(np.minimum(r * adv, np.clip(r, 1 - eps, 1 + eps) * adv)))


def far_from_kink(pi, theta, obs, a, adv, logp_old, eps, v):
    """Mask of the samples whose log-ratio the stencil θ ± H v cannot move across log(1 ± ε),
    and the mask of those where the clip is active."""
    slope = np.abs(pi.score_matrix(theta, obs, a) @ v)
    log_r = pi.logp(theta, obs, a) - logp_old
    margin = BOUNDARY_MARGIN * H_GRAD * slope + 1e-6
    far = (np.abs(log_r - math.log1p(eps)) > margin) & (np.abs(log_r - math.log1p(-eps)) > margin)
    active = ((adv > 0) & (log_r > math.log1p(eps))) | ((adv < 0) & (log_r < math.log1p(-eps)))
    return far, active


def fd(f, theta, v):
    return (f(theta + H_GRAD * v) - f(theta - H_GRAD * v)) / (2 * H_GRAD)


# ------------------------------------------------------------------------ clipped objective
@given(cases(), st.floats(0.02, 0.6), st.sampled_from([0.1, 0.2, 0.3]))
def test_clip_objective_grad_matches_central_differences(case, spread, eps):
    """∇L_clip·v equals the central difference of the test's own L_clip at θ ≠ θ_old, on the
    samples the stencil keeps on one side of the clip boundary."""
    pi, theta_old, obs, a, adv, rng = case
    logp_old = pi.logp(theta_old, obs, a)
    theta = theta_old + spread * rng.standard_normal(pi.num_params)
    v = unit(rng, pi.num_params)
    far, active = far_from_kink(pi, theta, obs, a, adv, logp_old, eps, v)
    assume(far.any())
    obs, a, adv, logp_old, active = obs[far], a[far], adv[far], logp_old[far], active[far]
    event(f"clip active on some samples: {bool(active.any())}")
    g = clip_objective_grad(pi, theta, obs, a, adv, logp_old, eps)
    numeric = fd(lambda t: clipped_objective(pi, t, obs, a, adv, logp_old, eps), theta, v)
    scale = np.mean(np.exp(pi.logp(theta, obs, a) - logp_old) * np.abs(adv)) + 1e-3
    assert abs(g @ v - numeric) <= RTOL_FD_GRAD * scale


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_clip_gradient_differs_from_unclipped_where_clip_is_active(kind):
    """On a batch with active and inactive clips, central differences agree with ∇L_clip and
    disagree with the unclipped ∇L (so the masking is what the check sees)."""
    rng = np.random.default_rng(3)
    pi = make_policy(kind, 3, (5,), 2)
    theta_old, obs, a, adv = make_batch(pi, rng, 40)
    logp_old = pi.logp(theta_old, obs, a)
    theta = theta_old + 0.4 * rng.standard_normal(pi.num_params)
    v = unit(rng, pi.num_params)
    far, active = far_from_kink(pi, theta, obs, a, adv, logp_old, 0.2, v)
    obs, a, adv, logp_old, active = obs[far], a[far], adv[far], logp_old[far], active[far]
    assert 0 < active.sum() < active.size  # the case exercises both branches
    numeric = fd(lambda t: clipped_objective(pi, t, obs, a, adv, logp_old, 0.2), theta, v)
    g = clip_objective_grad(pi, theta, obs, a, adv, logp_old, 0.2)
    g_unclipped = pi.surrogate_grad(theta, obs, a, adv, logp_old)
    assert abs(g @ v - numeric) <= RTOL_FD_GRAD * (np.mean(np.abs(adv)) + 1e-3)
    assert abs(g_unclipped @ v - numeric) > 1e3 * RTOL_FD_GRAD * np.mean(np.abs(adv))


def test_clip_weights_and_objective_at_and_beyond_the_boundary():
    """With ε = 1/4 (exact in binary): w = r Â up to and at r = 1 ± ε, 0 strictly beyond on the
    side the clip binds, r Â where the min picks the unclipped term; L_clip by hand."""
    d = 2.0**-10
    ratio = np.array([1.25, 1.25 + d, 0.75, 0.75 - d, 0.5, 1.5, 1.0])
    adv = np.array([1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 2.0])
    # min(r Â, clip(r) Â) per sample: 1.25, 1.25 (clipped), −0.75, −0.75 (clipped),
    # min(0.5, 0.75) = 0.5, min(−1.5, −1.25) = −1.5, 2.
    np.testing.assert_array_equal(
        clip_weights(ratio, adv, 0.25), [1.25, 0.0, -0.75, 0.0, 0.5, -1.5, 2.0]
    )
    assert clip_objective(ratio, adv, 0.25) == (1.25 + 1.25 - 0.75 - 0.75 + 0.5 - 1.5 + 2) / 7


# ------------------------------------------------------------------------------ KL gradient
@given(cases(), st.floats(0.0, 0.5), st.sampled_from(["old_new", "new_old"]))
def test_mean_kl_grad_matches_central_differences(case, spread, direction):
    """∇D̄·v equals the central difference of policy.kl(θ_old, ·) at θ ≠ θ_old, both heads,
    both directions, both Gaussian KL reductions."""
    pi, theta_old, obs, _, _, rng = case
    theta = theta_old + spread * rng.standard_normal(pi.num_params)
    grad = mean_kl_grad(pi, theta_old, theta, obs, direction)
    for _ in range(2):
        v = unit(rng, pi.num_params)
        numeric = fd(lambda t: pi.kl(theta_old, t, obs, direction), theta, v)
        assert abs(grad @ v - numeric) <= RTOL_FD_GRAD * (1e-3 + np.linalg.norm(grad))


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
@pytest.mark.parametrize("direction", ["old_new", "new_old"])
def test_mean_kl_grad_is_zero_at_theta_old(kind, direction):
    """D̄ has its minimum 0 at θ = θ_old: the closed forms give exactly 0 there."""
    rng = np.random.default_rng(0)
    pi = make_policy(kind, 3, (4,), 2)
    theta, obs, _, _ = make_batch(pi, rng, 10)
    assert not np.any(mean_kl_grad(pi, theta, theta, obs, direction))


# ------------------------------------------------------------------------ the update's steps
def full_batch(**kw):
    """One epoch of one full-batch step of plain gradient ascent, nothing else."""
    base = dict(n_epochs=1, optimizer="sgd", learning_rate=1.0, max_grad_norm=None)
    base["normalize_advantages"] = False
    return {**base, **kw}


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
@pytest.mark.parametrize("update", [ppo_clip_update, ppo_kl_update])
def test_first_full_batch_step_is_the_surrogate_gradient(kind, update):
    """At θ_old every ratio is 1 (no clip) and ∇D̄ = 0: one full-batch SGD step with α = 1 moves
    θ by g = policy.surrogate_grad(θ_old) exactly, and reports ‖g‖."""
    rng = np.random.default_rng(1)
    pi = make_policy(kind, 3, (6,), 2)
    theta, obs, a, adv = make_batch(pi, rng, 32)
    g = pi.surrogate_grad(theta, obs, a, adv)
    res = update(pi, theta, obs, a, adv, rng=0, batch_size=32, **full_batch())
    step = res.theta_new - theta
    # θ_new − θ rounds to eps·|θ_new|; g is summed in the permuted order.
    atol = 2 * EPS * np.abs(res.theta_new).max() + RTOL_PERMUTED * np.abs(g).max()
    np.testing.assert_allclose(step, g, rtol=0, atol=atol)
    assert res.n_grad_steps == 1 and res.clip_fraction == 0.0
    assert math.isclose(res.grad_norm, np.linalg.norm(g), rel_tol=RTOL_PERMUTED)


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_first_full_batch_step_with_the_options(kind):
    """One full-batch step with Â standardised, an entropy bonus c and a norm clip at ½‖g'‖:
    α·½·g' with g' = ∇L(standardised Â) + c∇H̄; with Adam, α g'/(|g'| + ε) (Algorithm 1, t = 1)."""
    rng = np.random.default_rng(2)
    pi = make_policy(kind, 3, (6,), 2)
    theta, obs, a, adv = make_batch(pi, rng, 24)
    c, lr = 0.05, 0.01
    g = pi.surrogate_grad(theta, obs, a, (adv - adv.mean()) / adv.std())
    g = g + c * pi.entropy_grad(theta, obs)
    half = 0.5 * np.linalg.norm(g)
    opts = full_batch(normalize_advantages=True, entropy_coef=c, learning_rate=lr)
    opts["max_grad_norm"] = half
    res = ppo_clip_update(pi, theta, obs, a, adv, rng=0, batch_size=24, **opts)
    atol = 2 * EPS * np.abs(theta).max() + RTOL_PERMUTED * lr * np.abs(g).max()
    np.testing.assert_allclose(res.theta_new - theta, lr * 0.5 * g, rtol=0, atol=atol)
    assert res.n_grad_clipped == 1
    opts["optimizer"], opts["max_grad_norm"] = "adam", None
    res = ppo_clip_update(pi, theta, obs, a, adv, rng=0, batch_size=24, **opts)
    adam_step = lr * g / (np.abs(g) + 1e-5)  # m̂₁ = g, v̂₁ = g², PPOConfig's ε = 1e-5
    np.testing.assert_allclose(res.theta_new - theta, adam_step, rtol=0, atol=atol + 1e-12 * lr)
    assert res.adam_state.t == 1 and res.n_grad_clipped == 0


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_second_step_uses_the_rule_gradient_at_the_new_theta(kind):
    """Epoch 2 of full-batch SGD steps along ∇L_clip(θ₁) (PPO-Clip) and ∇L(θ₁) − β∇D̄(θ₁)
    (PPO-KL) at the θ₁ epoch 1 reached, each the public gradient checked above."""
    rng = np.random.default_rng(4)
    pi = make_policy(kind, 3, (6,), 2)
    theta, obs, a, adv = make_batch(pi, rng, 32)
    logp_old = pi.logp(theta, obs, a)
    opts = full_batch(learning_rate=0.3)
    for update in (ppo_clip_update, ppo_kl_update):
        kw = dict(rng=7, batch_size=32, **opts) | ({"beta": 3.0} if update is ppo_kl_update else {})
        theta1 = update(pi, theta, obs, a, adv, **kw).theta_new
        res = update(pi, theta, obs, a, adv, **{**kw, "n_epochs": 2})
        if update is ppo_clip_update:
            g = clip_objective_grad(pi, theta1, obs, a, adv, logp_old, 0.2)
            assert res.clip_fraction > 0  # epoch 2 saw some ratios beyond 1 ± ε
        else:
            g = pi.surrogate_grad(theta1, obs, a, adv, logp_old)
            g = g - 3.0 * mean_kl_grad(pi, theta, theta1, obs)
        atol = 4 * EPS * np.abs(res.theta_new).max() + RTOL_PERMUTED * 0.3 * np.abs(g).max()
        np.testing.assert_allclose((res.theta_new - theta1), 0.3 * g, rtol=0, atol=atol)


# ------------------------------------------------------------------------------ adaptive β
def test_adaptive_beta_follows_the_rule_on_a_scripted_sequence():
    """d_targ = 1/4 (1.5·d_targ = 0.375 exact): β doubles only for d > 0.375, halves only for
    d < d_targ/1.5, and is kept at both thresholds."""
    target = 0.25
    script = [  # (measured KL, β after the rule), β starting at 1
        (0.5, 2.0),  # > 0.375: ×2
        (0.375, 2.0),  # = 1.5 d_targ: kept
        (0.3751, 4.0),  # > 0.375: ×2
        (0.25, 4.0),  # in the band: kept
        (target / 1.5, 4.0),  # = d_targ/1.5: kept
        (0.1, 2.0),  # < 0.1667: ÷2
        (0.0, 1.0),  # ÷2
        (1e9, 2.0),  # ×2
    ]
    beta = 1.0
    for kl, expected in script:
        beta = adaptive_beta(beta, kl, target)
        assert beta == expected


def test_ppo_kl_update_applies_the_rule_to_its_exact_kl():
    """A chain of PPO-KL updates: each beta_next is the rule applied to the update's own KL, and
    the next update uses it; the learning rates make the KL cross both thresholds."""
    rng = np.random.default_rng(5)
    pi = make_policy("categorical", 3, (6,), 3)
    theta, obs, a, adv = make_batch(pi, rng, 64)
    beta, moves = 1.0, set()
    for lr in (3e-2, 3e-2, 1e-4, 1e-4, 3e-3):
        res = ppo_kl_update(
            pi, theta, obs, a, adv, rng=0, beta=beta, learning_rate=lr, batch_size=16, n_epochs=4
        )
        assert res.beta == beta
        d = pi.kl(theta, res.theta_new, obs)
        expected = 2 * beta if d > 0.015 else beta / 2 if d < 0.01 / 1.5 else beta
        assert res.beta_next == expected
        moves.add(np.sign(expected - beta))
        beta = res.beta_next
    assert moves >= {1.0, -1.0}


# ------------------------------------------------------------------------- whole updates
def exact_kl(pi, theta_old, theta, obs):
    """KL(π_old‖π_θ) with the test's own textbook formulas (SciPy's log_softmax; the Gaussian
    ℓ_q − ℓ_p + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½)."""
    P0 = pi.net.num_params
    out_p, _ = pi.net.forward(theta_old[:P0], obs)
    out_q, _ = pi.net.forward(theta[:P0], obs)
    if pi.kind == "categorical":
        lp, lq = scipy.special.log_softmax(out_p, axis=1), scipy.special.log_softmax(out_q, axis=1)
        return float(np.mean((np.exp(lp) * (lp - lq)).sum(axis=1)))
    lp, lq = theta_old[P0:], theta[P0:]
    kl = lq - lp + (np.exp(2 * lp) + (out_p - out_q) ** 2) / (2 * np.exp(2 * lq)) - 0.5
    return float(np.mean(kl.sum(axis=1)))


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppo_clip_update_improves_the_clipped_objective_and_reports_the_exact_kl(kind, seed):
    """With SB3's defaults on a batch of 200 (four minibatches, the last of 8): L_clip rises,
    the reported objective and KL are the test's own, and 10·4 Adam steps were taken."""
    rng = np.random.default_rng(seed)
    pi = make_policy(kind, 4, (16,), 2)
    theta, obs, a, adv = make_batch(pi, rng, 200)
    logp_old = pi.logp(theta, obs, a)
    res = ppo_clip_update(pi, theta, obs, a, adv, rng=seed)
    assert res.success and res.status == "completed"
    after = clipped_objective(pi, res.theta_new, obs, a, adv, logp_old, 0.2)
    assert after > clipped_objective(pi, theta, obs, a, adv, logp_old, 0.2)
    assert math.isclose(res.objective_after, after, rel_tol=1e-13, abs_tol=1e-15)
    assert res.objective_before == pytest.approx(np.mean(adv), rel=1e-13)
    assert 0 < res.kl and math.isclose(
        res.kl, exact_kl(pi, theta, res.theta_new, obs), rel_tol=1e-10
    )
    assert res.n_epochs == 10 and res.n_grad_steps == 40 and res.adam_state.t == 40
    assert res.beta is None and res.beta_next is None
    chained = ppo_clip_update(pi, res.theta_new, obs, a, adv, rng=seed, adam_state=res.adam_state)
    assert chained.adam_state.t == 80


@pytest.mark.parametrize("update", [ppo_clip_update, ppo_kl_update])
def test_same_seed_same_theta_bit_for_bit(update):
    """The minibatch permutation is the only randomness: one seed, one θ; another seed, another
    θ; the inputs are not modified."""
    rng = np.random.default_rng(6)
    pi = make_policy("gaussian", 3, (8,), 2)
    theta, obs, a, adv = make_batch(pi, rng, 100)
    copies = [x.copy() for x in (theta, obs, a, adv)]
    r1 = update(pi, theta, obs, a, adv, rng=11, n_epochs=3)
    r2 = update(pi, theta, obs, a, adv, rng=np.random.default_rng(11), n_epochs=3)
    r3 = update(pi, theta, obs, a, adv, rng=12, n_epochs=3)
    assert r1.theta_new.tobytes() == r2.theta_new.tobytes()
    assert r1.adam_state.m.tobytes() == r2.adam_state.m.tobytes() and r1.kl == r2.kl
    assert r1.theta_new.tobytes() != r3.theta_new.tobytes()
    for x, y in zip(copies, (theta, obs, a, adv), strict=True):
        assert x.tobytes() == y.tobytes()


def test_nonfinite_step_keeps_theta():
    """A step so large that θ overflows ends with success False, a non-finite status and θ_old
    bit for bit."""
    rng = np.random.default_rng(7)
    pi = make_policy("categorical", 3, (4,), 2)
    theta, obs, a, adv = make_batch(pi, rng, 16)
    big = 1e4 * adv  # |g| ≫ 1, so α·g overflows
    res = ppo_clip_update(
        pi,
        theta,
        obs,
        a,
        big,
        rng=0,
        batch_size=16,
        optimizer="sgd",
        learning_rate=1e308,
        max_grad_norm=None,
        normalize_advantages=False,
    )
    assert not res.success and res.status in PPO_STATUSES[1:]
    assert res.theta_new.tobytes() == theta.tobytes() and res.kl == 0.0


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"clip_range": 0.0}, ValueError, "clip_range must be > 0.0, got 0.0"),
        ({"clip_range": -0.2}, ValueError, "clip_range must be > 0.0, got -0.2"),
        ({"clip_range": "0.2"}, TypeError, "clip_range must be a real number, got '0.2'"),
        ({"n_epochs": 0}, ValueError, "n_epochs must be >= 1, got 0"),
        ({"n_epochs": 2.0}, TypeError, "n_epochs must be an int, got 2.0"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"learning_rate": float("inf")}, ValueError, "learning_rate must be finite, got inf"),
        ({"max_grad_norm": 0}, ValueError, "max_grad_norm must be > 0.0, got 0"),
        ({"normalize_advantages": 1}, TypeError, "normalize_advantages must be a bool, got 1"),
        ({"entropy_coef": -1e-3}, ValueError, "entropy_coef must be >= 0.0, got -0.001"),
        ({"target_kl": 0.0}, ValueError, "target_kl must be > 0.0, got 0.0"),
        ({"beta_init": -1.0}, ValueError, "beta_init must be > 0.0, got -1.0"),
        ({"kl_direction": "forward"}, ValueError, "kl_direction must be one of"),
        ({"kl_direction": None}, TypeError, "kl_direction must be a str, got NoneType None"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer must be one of"),
        ({"adam_beta1": 1.0}, ValueError, "adam_beta1 must be < 1.0, got 1.0"),
        ({"adam_eps": 0.0}, ValueError, "adam_eps must be > 0.0, got 0.0"),
    ],
)
def test_config_bad_values(kwargs, exc, match):
    """TypeError for the wrong kind, ValueError for the wrong value, naming field and value;
    the same through the update's keyword overrides."""
    with pytest.raises(exc, match=match.replace("(", r"\(").replace(")", r"\)")):
        PPOConfig(**kwargs)
    pi = make_policy("categorical", 2, (), 2)
    theta, obs, a, adv = make_batch(pi, np.random.default_rng(0), 8)
    with pytest.raises(exc, match=match.replace("(", r"\(").replace(")", r"\)")):
        ppo_clip_update(pi, theta, obs, a, adv, rng=0, **kwargs)


def test_update_bad_arguments():
    """Minibatch larger than the batch, unknown options, wrong config/policy/β/Adam state."""
    pi = make_policy("gaussian", 2, (), 1)
    theta, obs, a, adv = make_batch(pi, np.random.default_rng(0), 10)
    with pytest.raises(
        ValueError, match="batch_size must be <= the number of samples N = 10, got 64"
    ):
        ppo_clip_update(pi, theta, obs, a, adv, rng=0)
    with pytest.raises(TypeError, match=r"unknown PPO option\(s\) \['clip'\]"):
        ppo_clip_update(pi, theta, obs, a, adv, rng=0, batch_size=5, clip=0.1)
    with pytest.raises(TypeError, match="config must be a PPOConfig or None, got dict"):
        ppo_clip_update(pi, theta, obs, a, adv, {"clip_range": 0.1}, rng=0)
    with pytest.raises(TypeError, match="policy must be a npytrpo Policy, got str"):
        ppo_kl_update("pi", theta, obs, a, adv, rng=0)
    with pytest.raises(ValueError, match="beta must be > 0.0, got 0.0"):
        ppo_kl_update(pi, theta, obs, a, adv, rng=0, batch_size=5, beta=0.0)
    with pytest.raises(ValueError, match=r"adam_state must hold moments of shape \(4,\)"):
        ppo_clip_update(
            pi,
            theta,
            obs,
            a,
            adv,
            rng=0,
            batch_size=5,
            adam_state=AdamState(np.zeros(3), np.zeros(3), 1),
        )
    with pytest.raises(ValueError, match=r"advantages must have shape \(10,\)"):
        ppo_clip_update(pi, theta, obs, a, adv[:5], rng=0, batch_size=5)
    with pytest.raises(ValueError, match="eps must be > 0.0, got -0.1"):
        clip_objective(np.ones(2), np.ones(2), -0.1)
    with pytest.raises(ValueError, match="kl must be >= 0.0, got -1.0"):
        adaptive_beta(1.0, -1.0, 0.01)
    with pytest.raises(ValueError, match="direction must be one of"):
        mean_kl_grad(pi, theta, theta, obs, "both")
