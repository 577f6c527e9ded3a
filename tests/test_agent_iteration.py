"""One TRPO iteration of npytrpo.agent against the same iteration written out by hand.

The agent's loop is "collect → GAE with V before the fit → policy step → value fit". These tests
rebuild one iteration from the library's public pieces (``rollout.collect``,
``advantages.gae``, ``trust_region.trpo_step``, ``ValueFunction.fit``) on an agent's own state
and compare the agent's θ and value θ with it. (Kept out of ``test_agent.py``, which is at the
size limit.)
"""

import numpy as np
import pytest

from npytrpo.advantages import gae
from npytrpo.agent import TRPO
from npytrpo.rollout import collect
from npytrpo.trust_region import trpo_step

# The hand iteration evaluates V(s_{t+1}) on the whole next_obs batch, the agent on a subset
# (the rest it reads off V(obs)); a matrix product over different rows may round the last bit
# differently (~1e-16 relative), which CG (10 steps on a damped Fisher, condition ≲ 1e3 here)
# and the line search carry to θ as ≲ 1e-12. The order mutants this guards against move θ by
# ≳ 1e-3 (checked below), nine orders of magnitude more.
ORDER_TOL = 1e-9


def agent_pair(**kw):
    """Two agents built alike: one to run ``learn``, one whose state the hand loop consumes."""
    opts = dict(n_envs=2, n_steps=64, hidden=(8,), value_hidden=(8,), vf_iters=5, seed=3)
    opts.update(kw)
    return TRPO("CartPole-v1", **opts), TRPO("CartPole-v1", **opts)


def hand_iteration(agent, fitted_value_for_gae=False):
    """One iteration from public pieces, on ``agent``'s state; returns (θ, value θ).

    With ``fitted_value_for_gae`` the advantages use the value function *after* its fit: the
    wrong order, used to show that the comparison can tell the two apart.
    """
    st, cfg = agent.state, agent.config
    ro, _, _ = collect(
        agent.env, agent.policy, st.theta, st.last_obs, cfg.n_steps, st.rng,
        tracker=st.tracker, autoreset_pending=st.autoreset_pending,
        noise_every=cfg.sde_sample_freq,
    )  # fmt: skip
    obs_dim, m = agent.policy.obs_dim, ro.valid

    def advantages(value_theta):
        V = agent.value.predict(value_theta, ro.obs.reshape(-1, obs_dim)).reshape(V_shape)
        V_next = agent.value.predict(value_theta, ro.next_obs.reshape(-1, obs_dim))
        return gae(
            ro.rewards,
            V,
            V_next.reshape(V_shape),
            ro.terminated,
            ro.truncated,
            gamma=cfg.gamma,
            lam=cfg.gae_lambda,
        )

    V_shape = (ro.n_steps, ro.n_envs)
    adv, targets = advantages(st.value_theta)  # GAE with V before the fit
    value_theta, _ = agent.value.fit(st.value_theta, ro.obs[m], targets[m])
    if fitted_value_for_gae:
        adv, _ = advantages(value_theta)
    res = trpo_step(agent.policy, st.theta, ro.obs[m], ro.actions[m], adv[m], cfg.step)
    return res.theta_new, value_theta


@pytest.mark.parametrize("parallel", [True, False])
def test_iteration_is_gae_with_prefit_value_then_policy_step_then_value_fit(parallel):
    """θ and value θ after one iteration equal the hand loop: GAE (pre-fit V) → step → fit."""
    agent, twin = agent_pair(parallel_value_fit=parallel)
    theta0 = agent.theta.copy()
    theta_hand, value_theta_hand = hand_iteration(twin)
    agent.learn(agent.batch_size, progress_bar=False)
    assert agent.iteration == 1
    np.testing.assert_allclose(agent.theta, theta_hand, rtol=0, atol=ORDER_TOL)
    np.testing.assert_allclose(agent.value_theta, value_theta_hand, rtol=0, atol=ORDER_TOL)
    assert np.max(np.abs(agent.theta - theta0)) > 1e3 * ORDER_TOL  # a step was accepted


def test_hand_iteration_tells_the_value_order_apart():
    """Advantages from the fitted V give a θ far (≫ ORDER_TOL) from the pre-fit-V iteration."""
    _, right = agent_pair()
    _, wrong = agent_pair()
    theta_right, _ = hand_iteration(right)
    theta_wrong, _ = hand_iteration(wrong, fitted_value_for_gae=True)
    assert np.max(np.abs(theta_right - theta_wrong)) > 1e3 * ORDER_TOL
