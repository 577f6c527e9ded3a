"""What a PPO update reports and which options it honours (gaps found by issue 17's mutation run
on ``npytrpo/ppo.py``): the objectives in ``PPOResult``, the entropy bonus of PPO-KL, the config
and Adam options, minibatch slicing, and the failed update that keeps θ."""

import numpy as np
import pytest

from npytrpo import CategoricalPolicy
from npytrpo.optim import Adam
from npytrpo.ppo import clip_objective_grad, ppo_clip_update, ppo_kl_update
from npytrpo.ppo_config import PPOConfig
from npytrpo.ppo_objectives import clip_objective

EPS = np.finfo(float).eps


def batch(n=96, seed=0):
    rng = np.random.default_rng(seed)
    pi = CategoricalPolicy(3, 3, (6,))
    theta = pi.init(rng) + 0.3 * rng.standard_normal(pi.num_params)
    obs = rng.standard_normal((n, 3))
    actions = pi.sample(theta, obs, rng)
    adv = rng.standard_normal(n)
    return pi, theta, obs, actions, adv


@pytest.mark.parametrize("rule", ["clip", "kl"])
@pytest.mark.parametrize("direction", ["old_new", "new_old"])
def test_reported_objectives_are_the_documented_formulas(rule, direction):
    """surrogate = mean(r Â); PPO-Clip's objective = L_clip + c H̄; PPO-KL's = L − β D̄ + c H̄,
    D̄ in the configured direction; before the update r = 1; all with the advantages as passed."""
    pi, theta, obs, a, adv = batch()
    c, beta = 0.05, 2.5
    kw = dict(rng=1, entropy_coef=c, normalize_advantages=False, kl_direction=direction)
    res = (ppo_clip_update(pi, theta, obs, a, adv, **kw) if rule == "clip"
           else ppo_kl_update(pi, theta, obs, a, adv, beta=beta, **kw))  # fmt: skip
    assert res.success
    r = np.exp(pi.logp(res.theta_new, obs, a) - pi.logp(theta, obs, a))
    H1, H0 = pi.entropy(res.theta_new, obs).mean(), pi.entropy(theta, obs).mean()
    if rule == "clip":
        obj1 = clip_objective(r, adv, 0.2) + c * H1
        obj0 = adv.mean() + c * H0
        assert res.beta is None and res.beta_next is None
    else:
        obj1 = (r * adv).mean() - beta * pi.kl(theta, res.theta_new, obs, direction) + c * H1
        obj0 = adv.mean() + c * H0
        assert res.beta == beta
    tol = 1e-12 * (1 + np.abs(adv).mean())
    assert res.success is True and res.status == "completed"
    assert res.message == f"{res.n_epochs} epochs, {res.n_grad_steps} gradient steps"
    assert res.surrogate_after == pytest.approx((r * adv).mean(), rel=0, abs=tol)
    assert res.objective_after == pytest.approx(obj1, rel=0, abs=tol)
    assert res.surrogate_before == pytest.approx(adv.mean(), rel=0, abs=tol)
    assert res.objective_before == pytest.approx(obj0, rel=0, abs=tol)
    assert res.entropy == pytest.approx(H0, rel=1e-12)
    assert res.kl == pytest.approx(pi.kl(theta, res.theta_new, obs, direction), rel=1e-12)


def test_kl_rule_first_full_batch_step_includes_the_entropy_bonus():
    """At θ_old ∇D̄ = 0, so one full-batch SGD step (α = 1) of PPO-KL with bonus c moves θ by
    g + c ∇H̄ (policy.surrogate_grad and policy.entropy_grad)."""
    pi, theta, obs, a, adv = batch()
    c = 0.3
    res = ppo_kl_update(pi, theta, obs, a, adv, rng=0, batch_size=len(adv), n_epochs=1,
                        optimizer="sgd", learning_rate=1.0, max_grad_norm=None,
                        normalize_advantages=False, entropy_coef=c)  # fmt: skip
    want = pi.surrogate_grad(theta, obs, a, adv) + c * pi.entropy_grad(theta, obs)
    atol = 8 * EPS * (np.abs(theta).max() + np.abs(want).max())
    np.testing.assert_allclose(res.theta_new - theta, want, rtol=0, atol=atol)
    assert np.abs(c * pi.entropy_grad(theta, obs)).max() > 1e-3  # the bonus is visible


@pytest.mark.parametrize("update", [ppo_clip_update, ppo_kl_update])
def test_a_config_object_equals_the_same_options_as_keywords(update):
    pi, theta, obs, a, adv = batch()
    opts = dict(n_epochs=2, batch_size=16, learning_rate=3e-3, clip_range=0.1, entropy_coef=0.01,
                adam_beta1=0.5, adam_beta2=0.9, max_grad_norm=0.05)  # fmt: skip
    by_config = update(pi, theta, obs, a, adv, PPOConfig(**opts), rng=4)
    by_keywords = update(pi, theta, obs, a, adv, rng=4, **opts)
    default = update(pi, theta, obs, a, adv, rng=4)
    assert by_config.theta_new.tobytes() == by_keywords.theta_new.tobytes()
    assert by_config.theta_new.tobytes() != default.theta_new.tobytes()


@pytest.mark.parametrize("option", ["adam_beta1", "adam_beta2", "max_grad_norm"])
def test_adam_options_reach_the_optimizer(option):
    """One full-batch Adam step equals the hand-built ``optim.Adam`` step with the same options
    on the clipped gradient at θ_old (each option changes the step)."""
    pi, theta, obs, a, adv = batch()
    opts = {"adam_beta1": 0.5, "adam_beta2": 0.9, "max_grad_norm": 1e-3}
    kw = {option: opts[option]}
    res = ppo_clip_update(pi, theta, obs, a, adv, rng=0, batch_size=len(adv), n_epochs=2,
                          learning_rate=1e-2, normalize_advantages=False, **kw)  # fmt: skip
    logp_old = pi.logp(theta, obs, a)
    d = PPOConfig()
    adam_kw = {"beta1": d.adam_beta1, "beta2": d.adam_beta2, "eps": d.adam_eps,
               "max_grad_norm": d.max_grad_norm}  # fmt: skip
    adam_kw[{"adam_beta1": "beta1", "adam_beta2": "beta2"}.get(option, option)] = opts[option]
    opt = Adam(1e-2, **adam_kw)  # two steps: one step's bias correction cancels β₁ and β₂
    t1 = opt.step(theta, clip_objective_grad(pi, theta, obs, a, adv, logp_old, 0.2))
    want = opt.step(t1, clip_objective_grad(pi, t1, obs, a, adv, logp_old, 0.2))
    np.testing.assert_allclose(res.theta_new, want, rtol=0, atol=1e-12 * np.abs(want).max())
    assert res.adam_state.t == 2
    assert res.n_grad_clipped == (2 if option == "max_grad_norm" else 0)


@pytest.mark.parametrize("update", [ppo_clip_update, ppo_kl_update])
def test_adam_state_carries_over_between_updates(update):
    """Two updates of one epoch each, the second given the first's ``adam_state``, equal one
    update of two epochs on the same batch order (Adam's moments and t continue)."""
    pi, theta, obs, a, adv = batch()
    kw = dict(batch_size=len(adv), normalize_advantages=False, learning_rate=1e-2)
    kw |= {"beta": 1.0, "target_kl": 1e9} if update is ppo_kl_update else {}
    both = update(pi, theta, obs, a, adv, rng=0, n_epochs=2, **kw)
    first = update(pi, theta, obs, a, adv, rng=0, n_epochs=1, **kw)
    # epoch 2 of ``both`` sees θ₁ with θ_old = θ; a second update would take θ₁ as θ_old, so
    # compare the moments instead: t and m after two steps are those of the continued state
    second = update(pi, first.theta_new, obs, a, adv, rng=1, n_epochs=1,
                    adam_state=first.adam_state, **kw)  # fmt: skip
    fresh = update(pi, first.theta_new, obs, a, adv, rng=1, n_epochs=1, **kw)
    assert both.adam_state.t == second.adam_state.t == 2 and fresh.adam_state.t == 1
    assert second.theta_new.tobytes() != fresh.theta_new.tobytes()


def test_minibatches_partition_the_batch_each_epoch():
    """batch_size 16 on N = 48: 3 gradient steps per epoch, each on 16 distinct rows (a step
    on more rows, e.g. the rest of the batch, gives another θ)."""
    pi, theta, obs, a, adv = batch(48)
    kw = dict(rng=2, n_epochs=2, normalize_advantages=False, optimizer="sgd", learning_rate=0.5,
              max_grad_norm=None)
    res = ppo_clip_update(pi, theta, obs, a, adv, batch_size=16, **kw)
    assert res.n_grad_steps == 6
    gen = np.random.default_rng(2)  # the update's only randomness: one permutation per epoch
    perm = [gen.permutation(48) for _ in range(2)]
    t = theta.copy()
    logp_old = pi.logp(theta, obs, a)
    for p in perm:
        for k in range(3):
            rows = p[16 * k : 16 * (k + 1)]
            t = t + 0.5 * clip_objective_grad(pi, t, obs[rows], a[rows], adv[rows],
                                              logp_old[rows], 0.2)  # fmt: skip
    np.testing.assert_allclose(res.theta_new, t, rtol=0, atol=1e-12 * np.abs(t).max())


def test_an_update_that_overflows_keeps_theta_and_reports_it():
    """PPO-KL with SGD steps of α = 1e308: θ₁ is huge, the gradient at it is not finite, and
    the update fails cleanly: θ and the Adam state passed in come back unchanged, and the
    figures are those at θ_old (the shared failure path of both rules)."""
    update = ppo_kl_update
    pi, theta, obs, a, adv = batch()
    first = update(pi, theta, obs, a, adv, rng=0)
    res = update(pi, theta, obs, a, adv, rng=0, optimizer="sgd", learning_rate=1e308,
                 max_grad_norm=None, adam_state=first.adam_state)  # fmt: skip
    assert res.success is False and res.status == "nonfinite_gradient"
    assert res.theta_new.tobytes() == theta.tobytes() and res.kl == 0.0
    assert res.adam_state is first.adam_state
    assert res.message == "nonfinite_gradient in epoch 2; θ kept"
    assert res.surrogate_after == res.surrogate_before
    assert res.objective_after == res.objective_before
    assert res.beta_next == res.beta


def test_adam_state_must_be_an_adam_state():
    pi, theta, obs, a, adv = batch()
    with pytest.raises(TypeError, match="adam_state must be an AdamState, got dict"):
        ppo_clip_update(pi, theta, obs, a, adv, rng=0, adam_state={})


@pytest.mark.parametrize("bad", [0.0, -0.1])
def test_clip_objective_grad_refuses_a_clip_range_that_is_not_positive(bad):
    pi, theta, obs, a, adv = batch()
    with pytest.raises(ValueError, match="eps"):
        clip_objective_grad(pi, theta, obs, a, adv, pi.logp(theta, obs, a), bad)


def test_clip_objective_grad_names_its_vectors():
    pi, theta, obs, a, adv = batch()
    lp = pi.logp(theta, obs, a)
    with pytest.raises(ValueError, match="advantages"):
        clip_objective_grad(pi, theta, obs, a, adv[:-1], lp, 0.2)
    with pytest.raises(ValueError, match="logp_old"):
        clip_objective_grad(pi, theta, obs, a, adv, lp[:-1], 0.2)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_kl_update_refuses_a_beta_that_is_not_positive(bad):
    pi, theta, obs, a, adv = batch()
    with pytest.raises(ValueError, match="beta"):
        ppo_kl_update(pi, theta, obs, a, adv, rng=0, beta=bad)


def test_advantages_are_standardised_per_minibatch_of_two_or_more_rows():
    """normalize_advantages standardises each minibatch's Â (``standardize_advantages``) when it
    has at least 2 rows; a 1-row minibatch (N = 3, batch_size 2) keeps its Â as it is."""
    from npytrpo.trust_region import standardize_advantages

    pi, theta, obs, a, adv = batch(3)
    lr = 0.5
    res = ppo_clip_update(pi, theta, obs, a, adv, rng=5, batch_size=2, n_epochs=1,
                          optimizer="sgd", learning_rate=lr, max_grad_norm=None)  # fmt: skip
    perm = np.random.default_rng(5).permutation(3)
    logp_old = pi.logp(theta, obs, a)
    t = theta.copy()
    for rows in (perm[:2], perm[2:]):
        A = standardize_advantages(adv[rows]) if rows.size > 1 else adv[rows]
        t = t + lr * clip_objective_grad(pi, t, obs[rows], a[rows], A, logp_old[rows], 0.2)
    np.testing.assert_allclose(res.theta_new, t, rtol=0, atol=1e-12 * np.abs(t).max())
