"""``updates.policy_update``: each ``AgentConfig.update`` calls its own rule with the config's
settings, and the PPO rules carry their Adam moments and β in the agent state."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from npytrpo.agent_config import AgentConfig
from npytrpo.policies import CategoricalPolicy
from npytrpo.ppo import ppo_clip_update, ppo_kl_update
from npytrpo.trust_region import npg_step, trpo_step, vpg_step
from npytrpo.updates import policy_update

OPTS = dict(delta=0.02, damping=0.05, cg_iters=7, pg_lr=0.3, batch_size=16, n_epochs=2,
            learning_rate=3e-3, beta_init=0.7)  # fmt: skip


def _batch(seed=0):
    pi = CategoricalPolicy(3, 4, hidden=(5,))
    rng = np.random.default_rng(seed)
    theta = pi.init(rng)
    obs = rng.normal(size=(48, 3))
    return pi, theta, obs, pi.sample(theta, obs, rng), rng.normal(size=48)


def _state(theta, seed=9):
    return SimpleNamespace(theta=theta, rng=np.random.default_rng(seed), ppo_adam=None,
                           ppo_beta=None, other=1)  # fmt: skip


def _same(got, want):
    np.testing.assert_array_equal(got.theta_new, want.theta_new)
    assert got.kl == want.kl


@pytest.mark.parametrize("rule", ["trpo", "npg", "vpg"])
def test_the_step_rules_take_the_configs_step_settings(rule):
    """trpo, npg and vpg: the rule's result on the config's TRPOConfig (and pg_lr), with the
    state left as it was."""
    pi, theta, obs, act, adv = _batch()
    cfg = AgentConfig.from_options(None, "test", update=rule, **OPTS)
    state = _state(theta)
    got = policy_update(cfg, state, pi, obs, act, adv)
    if rule == "trpo":
        want = trpo_step(pi, theta, obs, act, adv, cfg.step)
    elif rule == "npg":
        want = npg_step(pi, theta, obs, act, adv, cfg.step)
    else:
        want = vpg_step(pi, theta, obs, act, adv, cfg.step, lr=0.3)
        assert not np.array_equal(want.theta_new, vpg_step(pi, theta, obs, act, adv, cfg.step,
                                                           lr=0.01).theta_new)  # fmt: skip
    _same(got, want)
    assert state.ppo_adam is None and state.ppo_beta is None and state.theta is theta
    assert state.rng.random() == np.random.default_rng(9).random()  # no draw taken


def test_ppo_clip_draws_from_the_state_and_carries_its_adam_moments():
    """ppo: minibatches from state.rng, Adam moments stored and handed to the next update."""
    pi, theta, obs, act, adv = _batch()
    cfg = AgentConfig.from_options(None, "test", update="ppo", **OPTS)
    state = _state(theta)
    got = policy_update(cfg, state, pi, obs, act, adv)
    want = ppo_clip_update(pi, theta, obs, act, adv, cfg.ppo, rng=np.random.default_rng(9))
    _same(got, want)
    assert state.ppo_adam is got.adam_state and state.ppo_adam.t > 0 and state.ppo_beta is None
    state.theta = got.theta_new
    again = policy_update(cfg, state, pi, obs, act, adv)
    rng = np.random.default_rng(9)
    first = ppo_clip_update(pi, theta, obs, act, adv, cfg.ppo, rng=rng)
    second = ppo_clip_update(pi, first.theta_new, obs, act, adv, cfg.ppo, rng=rng,
                             adam_state=first.adam_state)  # fmt: skip
    _same(again, second)
    assert state.ppo_adam.t == second.adam_state.t


def test_ppo_kl_carries_beta_and_adam_moments():
    """ppo_kl: β starts at beta_init (state.ppo_beta None), the next update uses beta_next."""
    pi, theta, obs, act, adv = _batch()
    cfg = AgentConfig.from_options(None, "test", update="ppo_kl", **OPTS)
    state = _state(theta)
    got = policy_update(cfg, state, pi, obs, act, adv)
    want = ppo_kl_update(pi, theta, obs, act, adv, cfg.ppo, rng=np.random.default_rng(9),
                         beta=None)  # fmt: skip
    _same(got, want)
    assert got.beta == 0.7 and state.ppo_beta == got.beta_next
    assert state.ppo_adam is got.adam_state
    state.ppo_beta, state.theta = 5.0, got.theta_new
    again = policy_update(cfg, state, pi, obs, act, adv)
    rng = np.random.default_rng(9)
    first = ppo_kl_update(pi, theta, obs, act, adv, cfg.ppo, rng=rng)
    second = ppo_kl_update(pi, first.theta_new, obs, act, adv, cfg.ppo, rng=rng, beta=5.0,
                           adam_state=first.adam_state)  # fmt: skip
    _same(again, second)
    assert again.beta == 5.0 and again.adam_state.t == second.adam_state.t
    assert state.ppo_beta == again.beta_next and state.ppo_adam is again.adam_state
